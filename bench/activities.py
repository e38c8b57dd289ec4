"""Organisations at scale: crediting a big activity's helpers, and /report over a big ledger.

Seeds 10,000 members, 200 organisations and about 1,000,000 ledger entries: 415,000 exchanges
between members, 2,000 past activities with 40 helpers each (one transaction each, one to
many), 50,000 spends with partners and a few thousand exchanges with organisations. Then:
- credit: RUNS activities with 500 helpers each, signed up and marked as came; each is
  credited through storage.activities.credit (one transaction, 501 entries, 500 thank-yous),
  with the app's pragmas (synchronous FULL, secure_delete), as the roll call's button does;
- report: the figures /report shows for all time (storage.reports), timed RUNS times.
Run: .venv/bin/python bench/activities.py   (last line: JSON with credit_500_ms, report_1m_s)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _common import BIG_LEDGER, count_rows, db_time, print_result, seed_big_ledger

from storage import activities, ledger, reports
from storage.db import Database
from storage.visit_rules import VisitRules

NOW = BIG_LEDGER.now
MEMBERS = BIG_LEDGER.members
ORGANISATIONS = BIG_LEDGER.organisations
COORDINATOR = BIG_LEDGER.coordinator
BIG = 500  # helpers of each timed activity
RUNS = 5
UNLIMITED = 10**9  # minutes


async def credit_big_activities(path: Path) -> list[float]:
    """RUNS activities of BIG helpers each, credited one after another; milliseconds each."""
    db = await Database.open(path)
    try:
        timings = []
        for run in range(RUNS):
            activity = await activities.post(
                db,
                by=COORDINATOR,
                organisation_id=run % ORGANISATIONS + 1,
                title="Big clean-up",
                starts_at=NOW + timedelta(days=1),
                place="The park",
                helpers_wanted=BIG,
                helper_minutes=60,
                places=None,
                price_minutes=0,
                now=NOW,
                organisation_limit=lambda name: UNLIMITED,  # timed: the credit, not the limit
            )
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO activity_signups (activity_id, member_id, role, state,"
                    " queued_at, attended, created_at, updated_at)"
                    " SELECT ?, id, 'helper', 'going', ?, 1, ?, ? FROM members"
                    " WHERE id > 1 AND id % ? = 0 LIMIT ?",
                    (activity.id, db_time(NOW), db_time(NOW), db_time(NOW), RUNS + run, BIG),
                )
            later = NOW + timedelta(days=1, hours=2)
            started = time.perf_counter()
            done = await activities.credit(db, activity_id=activity.id, by=COORDINATOR, now=later)
            timings.append(1000 * (time.perf_counter() - started))
            if done.helpers != BIG:
                raise SystemExit(f"credited {done.helpers} helpers, not {BIG}: no figures")
        if await ledger.total(db) != 0:
            raise SystemExit("the ledger no longer sums to zero: no figures")
        return timings
    finally:
        await db.close()


async def time_reports(path: Path) -> list[float]:
    """The all-time /report figures, RUNS times; seconds each."""
    db = await Database.open(path)
    try:
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            await reports.figures(db, start=None, end=NOW, rules=VisitRules())
            timings.append(time.perf_counter() - started)
        return timings
    finally:
        await db.close()


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "activities.sqlite3"
        seed_s = seed_big_ledger(path)
        entries = count_rows(path, "ledger_entries")
        size_mb = path.stat().st_size / 2**20
        print(
            f"seeded {MEMBERS:,} members, {ORGANISATIONS} organisations, {entries:,} ledger"
            f" entries ({size_mb:.0f} MB) in {seed_s:.1f} s"
        )
        credits = asyncio.run(credit_big_activities(path))
        reports = asyncio.run(time_reports(path))
    print(
        f"credit {BIG} helpers in one transaction: median {statistics.median(credits):.1f} ms"
        f" (runs {', '.join(f'{ms:.0f}' for ms in credits)} ms; aim: under 100 ms)"
    )
    print(
        f"/report, all time, {entries:,} entries: median {statistics.median(reports):.3f} s"
        f" (runs {', '.join(f'{s:.2f}' for s in reports)} s; aim: under 1 s)"
    )
    print_result(
        {
            "credit_500_ms": round(statistics.median(credits), 1),
            "report_1m_s": round(statistics.median(reports), 3),
            "entries": entries,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
