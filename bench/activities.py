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
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import bulk_connection, db_time, migrate, print_result, seed_members

from storage import activities, ledger, reports
from storage.db import Database
from storage.visit_rules import VisitRules

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
MEMBERS = 10_000
ORGANISATIONS = 200
EXCHANGES = 415_000
PAST_ACTIVITIES, HELPERS_EACH = 2_000, 40
SPENDS = 50_000
ORG_EXCHANGES = 5_000
BIG = 500  # helpers of each timed activity
RUNS = 5
COORDINATOR = 1
UNLIMITED = 10**9  # minutes


def seed(path: Path) -> float:
    """The whole file, through plain SQL; returns seconds taken."""
    started = time.perf_counter()
    migrate(path)
    conn = bulk_connection(path)
    conn.execute("BEGIN")
    seed_members(conn, MEMBERS, NOW - timedelta(days=700))
    conn.execute("UPDATE members SET role = 'coordinator' WHERE id = ?", (COORDINATOR,))
    conn.execute("UPDATE members SET join_source = 'activity:' || (id % 50 + 1) WHERE id % 7 = 0")
    _seed_organisations(conn)
    _seed_exchanges(conn)
    _seed_activities(conn)
    _seed_spends(conn)
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def _seed_organisations(conn: sqlite3.Connection) -> None:
    when = db_time(NOW - timedelta(days=700))
    conn.executemany(
        "INSERT INTO organisations (id, name, area, description, created_by, created_at)"
        " VALUES (?, ?, 'Riverside', 'A service', ?, ?)",
        ((n, f"Organisation {n}", COORDINATOR, when) for n in range(1, ORGANISATIONS + 1)),
    )
    conn.execute(
        "INSERT INTO accounts (organisation_id, kind) SELECT id, 'organisation' FROM organisations"
    )
    conn.execute(
        "INSERT INTO organisation_members (organisation_id, member_id, added_by, added_at)"
        " SELECT id, id + 1, ?, ? FROM organisations",
        (COORDINATOR, when),
    )


def _numbers(count: int) -> str:
    return f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})"


def _seed_exchanges(conn: sqlite3.Connection) -> None:
    """Confirmed exchanges spread over two years, an hour each; the last ORG_EXCHANGES of them
    for an organisation (the receiver's side), as posts for organisations make them."""
    conn.execute(
        f"{_numbers(EXCHANGES)}"
        " INSERT INTO exchanges (id, giver_id, receiver_id, state, proposed_minutes, proposed_by,"
        " created_at, updated_at, organisation_id, organisation_side)"
        " SELECT i, g, CASE WHEN r = g THEN g % :m + 1 ELSE r END, 'confirmed', 60, g, t, t,"
        " CASE WHEN i > :plain THEN i % :orgs + 1 END,"
        " CASE WHEN i > :plain THEN 'receiver' END"
        " FROM (SELECT i, (i * 7919) % :m + 1 AS g, (i * 104729 + 17) % :m + 1 AS r,"
        " strftime('%Y-%m-%dT%H:%M:%S.000000Z', :start, '+' || (i * 150 / 1000) || ' minutes')"
        " AS t FROM n)",
        {
            "m": MEMBERS,
            "orgs": ORGANISATIONS,
            "plain": EXCHANGES - ORG_EXCHANGES,
            "start": (NOW - timedelta(days=700)).strftime("%Y-%m-%d %H:%M:%S"),
        },
    )
    conn.execute(
        "INSERT INTO ledger_transactions (id, kind, exchange_id, idempotency_key, created_at)"
        " SELECT id, 'exchange', id, 'exchange:' || id, updated_at FROM exchanges"
    )
    conn.execute(
        "INSERT INTO ledger_entries (transaction_id, account_id, minutes)"
        " SELECT e.id, a.id, 60 FROM exchanges e JOIN accounts a ON a.member_id = e.giver_id"
    )
    conn.execute(
        "INSERT INTO ledger_entries (transaction_id, account_id, minutes)"
        " SELECT e.id, a.id, -60 FROM exchanges e JOIN accounts a"
        " ON (e.organisation_id IS NULL AND a.member_id = e.receiver_id)"
        " OR a.organisation_id = e.organisation_id"
    )


def _seed_activities(conn: sqlite3.Connection) -> None:
    """Past activities, credited: each helper an hour from the organisation's account, in one
    transaction per activity."""
    conn.execute(
        f"{_numbers(PAST_ACTIVITIES)}"
        " INSERT INTO activities (id, organisation_id, title, starts_at, place, helpers_wanted,"
        " helper_minutes, state, created_by, credited_at, credited_by, roll_call_at, created_at)"
        " SELECT i, i % :orgs + 1, 'Lunch club', t, 'Hall', :each, 60, 'done', :by, t, :by, t, t"
        " FROM (SELECT i, strftime('%Y-%m-%dT%H:%M:%S.000000Z', :start,"
        " '+' || (i * 8) || ' hours') AS t FROM n)",
        {
            "orgs": ORGANISATIONS,
            "each": HELPERS_EACH,
            "by": COORDINATOR,
            "start": (NOW - timedelta(days=690)).strftime("%Y-%m-%d %H:%M:%S"),
        },
    )
    conn.execute(
        f"{_numbers(HELPERS_EACH)}"
        " INSERT INTO activity_signups (activity_id, member_id, role, state, queued_at, attended,"
        " created_at, updated_at)"
        " SELECT a.id, (a.id * 97 + n.i * 131) % :m + 1, 'helper', 'going', a.created_at,"
        " CASE WHEN n.i % 10 = 0 THEN 0 ELSE 1 END, a.created_at, a.created_at"
        " FROM activities a CROSS JOIN n",
        {"m": MEMBERS},
    )
    first = EXCHANGES + 1
    conn.execute(
        "INSERT INTO ledger_transactions (id, kind, activity_id, idempotency_key, created_at)"
        " SELECT :first + id, 'activity', id, 'activity:' || id, credited_at FROM activities",
        {"first": first},
    )
    conn.execute(
        "INSERT INTO ledger_entries (transaction_id, account_id, minutes)"
        " SELECT :first + s.activity_id, a.id, 60 FROM activity_signups s"
        " JOIN accounts a ON a.member_id = s.member_id WHERE s.attended = 1",
        {"first": first},
    )
    conn.execute(
        "INSERT INTO ledger_entries (transaction_id, account_id, minutes)"
        " SELECT :first + s.activity_id, o.id, -60 * COUNT(*) FROM activity_signups s"
        " JOIN activities v ON v.id = s.activity_id"
        " JOIN accounts o ON o.organisation_id = v.organisation_id"
        " WHERE s.attended = 1 GROUP BY s.activity_id",
        {"first": first},
    )


def _seed_spends(conn: sqlite3.Connection) -> None:
    """Members spending hours on organisations' offers: member -> organisation."""
    when = db_time(NOW - timedelta(days=30))
    conn.execute(
        "INSERT INTO partner_offers (id, organisation_id, category, title, price_minutes,"
        " created_by, created_at) SELECT id, id, 'Other', 'Computer course', 120, :by, :t"
        " FROM organisations",
        {"by": COORDINATOR, "t": when},
    )
    conn.execute(
        f"{_numbers(SPENDS)}"
        " INSERT INTO spends (id, offer_id, member_id, minutes, state, decided_by, created_at,"
        " updated_at) SELECT i, i % :orgs + 1, (i * 313) % :m + 1, 120, 'confirmed', :by, :t, :t"
        " FROM n",
        {"orgs": ORGANISATIONS, "m": MEMBERS, "by": COORDINATOR, "t": when},
    )
    first = EXCHANGES + PAST_ACTIVITIES + 1
    conn.execute(
        "INSERT INTO ledger_transactions (id, kind, spend_id, idempotency_key, created_at)"
        " SELECT :first + id, 'spend', id, 'spend:' || id, created_at FROM spends",
        {"first": first},
    )
    for account, sign in (
        ("a.member_id = s.member_id", -1),
        ("a.organisation_id = o.organisation_id", 1),
    ):
        conn.execute(
            "INSERT INTO ledger_entries (transaction_id, account_id, minutes)"
            f" SELECT :first + s.id, a.id, {sign} * s.minutes FROM spends s"
            f" JOIN partner_offers o ON o.id = s.offer_id JOIN accounts a ON {account}",
            {"first": first},
        )


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


def count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "activities.sqlite3"
        seed_s = seed(path)
        entries = count(path, "ledger_entries")
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
