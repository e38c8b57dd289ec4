"""Reminders at scale: start-up, memory, and claiming 10k due reminders for the sender.

Seeds 10,000 members and 100,000 pending reminders (10,000 due now, 90,000 later, plus 1,000
left 'sending' as if the last process died mid-send), then measures:
- start-up: building the Application and entering it (migrations check, crash recovery of the
  in-flight rows, services, scheduler) on that file;
- claim_10k_s: claiming the 10,000 due rows in the sender's batches, as the sender does,
  Telegram's pacing excluded;
- handover_10k_s: the same rows through the whole sender (policy, render, send to the
  stand-in Bot API, mark) with pacing switched off, for comparison;
- peak memory of the process.
Run: .venv/bin/python bench/reminders.py   (last line: JSON with start_s, peak_mb, claim_10k_s)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import (
    bulk_connection,
    db_time,
    migrate,
    peak_rss_mb,
    print_result,
    seed_members,
)

from bot.app import SCHEDULER_KEY, build_application, running
from bot.clock import FakeClock
from bot.config import parse_config
from bot.outbound.pacing import Pacer
from bot.sandbox.standin import StandInBotAPI
from bot.services import services_of
from storage import outbox
from storage.db import Database
from storage.outbox import OutboxItem

BATCH = 200  # rows a claim takes at a time, as the scheduler's own passes did
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 10:00 in London: outside quiet hours
MEMBERS = 10_000
PENDING = 100_000
DUE = 10_000
IN_FLIGHT = 1_000


def seed(path: Path, pending: int, due: int) -> float:
    """Members and reminder rows, written directly; returns seconds taken."""
    started = time.perf_counter()
    migrate(path)
    conn = bulk_connection(path)
    conn.execute("BEGIN")
    seed_members(conn, MEMBERS, NOW - timedelta(days=30))
    conn.executemany(
        "INSERT INTO outbox (member_id, kind, ref_id, due_at, state, lease_until,"
        " idempotency_key, created_at) VALUES (?, 'nudge_first_post', ?, ?, ?, ?, ?, ?)",
        (_reminder(n, due) for n in range(pending)),
    )
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def _reminder(n: int, due: int) -> tuple[object, ...]:
    member = n % MEMBERS + 1
    if n < due:
        due_at = NOW - timedelta(seconds=n % 3600)
    else:
        due_at = NOW + timedelta(minutes=1 + n % (60 * 24 * 14))
    in_flight = due <= n < due + IN_FLIGHT  # claimed by a process that died: leases still held
    state, lease = (
        ("sending", db_time(NOW + timedelta(minutes=1))) if in_flight else ("pending", None)
    )
    created = db_time(NOW - timedelta(days=1))
    return (member, member, db_time(due_at), state, lease, f"bench:{n}", created)


async def measure(path: Path) -> dict[str, float]:
    config = parse_config({"bot": {"database": str(path)}})
    api = StandInBotAPI(record_calls=False)
    clock = FakeClock(NOW)
    started = time.perf_counter()
    app = build_application(config, request=api, clock=clock, background=True)
    async with running(app):
        start_s = time.perf_counter() - started
        await app.bot_data[SCHEDULER_KEY].stop()  # its first tick would start sending

        svc = services_of(app)
        claim_s, claimed = await claim_all_due(svc.db)
        await release(svc.db, claimed)
        unpaced = 10**9
        svc.sender.pacer = Pacer(
            clock, per_second=unpaced, per_chat_interval=0, paid_per_second=unpaced
        )
        handed = time.perf_counter()
        sent = await svc.sender.flush()
        handover_s = time.perf_counter() - handed
    return {
        "start_s": start_s,
        "claim_s": claim_s,
        "claimed": len(claimed),
        "handover_s": handover_s,
        "sent": sent,
    }


async def claim_all_due(db: Database) -> tuple[float, list[OutboxItem]]:
    """Claim every due row in the sender's batch size, timing only the claims."""
    claimed: list[OutboxItem] = []
    started = time.perf_counter()
    while items := await outbox.claim_due(db, NOW, BATCH):
        claimed.extend(items)
    return time.perf_counter() - started, claimed


async def release(db: Database, items: list[OutboxItem]) -> None:
    """Put the claimed rows back, so the full-sender figure starts from the same state."""
    await outbox.release(db, [item.id for item in items], NOW)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=PENDING)
    parser.add_argument("--due", type=int, default=DUE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reminders.sqlite3"
        seed_s = seed(path, args.pending, args.due)
        print(f"seeded {MEMBERS:,} members and {args.pending:,} reminders in {seed_s:.1f} s")
        figures = asyncio.run(measure(path))
    peak = peak_rss_mb()
    claim_10k = figures["claim_s"] * 10_000 / max(1, figures["claimed"])
    print(
        f"start-up (build + enter, {IN_FLIGHT:,} in-flight rows recovered): "
        f"{figures['start_s']:.2f} s   (aim: under 2 s)"
    )
    print(
        f"claimed {figures['claimed']:,} due rows (of {args.due:,} due) in "
        f"{figures['claim_s']:.2f} s: {claim_10k:.2f} s per 10k   (aim: under 1 s)"
    )
    print(f"whole sender, pacing off: {figures['sent']:,} sent in {figures['handover_s']:.2f} s")
    print(f"peak memory (process ru_maxrss, seeding included): {peak:.0f} MB   (aim: under 150)")
    print_result(
        {
            "start_s": round(figures["start_s"], 3),
            "peak_mb": round(peak, 1),
            "claim_10k_s": round(claim_10k, 3),
            "handover_10k_s": round(figures["handover_s"] * 10_000 / max(1, figures["sent"]), 3),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
