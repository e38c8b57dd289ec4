"""/forget on a big timebank: how long a busy member's leaving holds the one writer.

Seeds 10,000 members, about 1,000,000 ledger entries (500,000 confirmed exchanges, two entries
each), 20,000 searchable posts with an answer each, 100,000 finished outbox rows and 20,000
audit rows. Three members are busy: 1,000 exchanges each (100 still open, so 100 other parties
are told), 40 posts, 40 answers given and 40 received, 200 messages and 30 audit rows about
them. Then times storage.forget.forget for each of the three:
- with the app's pragmas (secure_delete on), then on a copy of the same file without
  secure_delete, to show what overwriting deleted bytes costs;
- the write-ahead-log checkpoint that ends each forget, shown apart.
Run: .venv/bin/python bench/forget.py   (last line: JSON with forget_ms, entries, ...)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import bulk_connection, db_time, migrate, print_result, seed_members

import storage.db
from storage import ledger
from storage.db import Database
from storage.forget import forget
from storage.kinds import OPEN_STATES

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
MEMBERS = 10_000
EXCHANGES = 500_000
LISTINGS = 20_000
OUTBOX = 100_000
AUDIT = 20_000
COORDINATORS = (1, 2)
BUSY = (MEMBERS - 2, MEMBERS - 1, MEMBERS)  # everyone else is 1..MEMBERS - 3
PER_BUSY, OPEN_PER_BUSY, POSTS_PER_BUSY = 1_000, 100, 40
WORDS = [
    "lift",
    "clinic",
    "shopping",
    "garden",
    "hedge",
    "weeding",
    "tea",
    "chat",
    "walk",
    "dog",
    "shelf",
    "tap",
    "leak",
    "paint",
    "letter",
    "form",
    "phone",
    "laptop",
    "soup",
    "bread",
    "ironing",
    "sewing",
    "bike",
    "pram",
    "ramp",
    "fence",
    "gutter",
    "bins",
]
OTHERS = MEMBERS - len(BUSY)
ALL = EXCHANGES + len(BUSY) * PER_BUSY
STRIDE = ALL // (len(BUSY) * PER_BUSY)  # every STRIDE-th exchange is a busy member's


# --- seeding ---------------------------------------------------------------------------------


def seed(path: Path) -> float:
    """The whole file, through plain SQL; returns seconds taken."""
    started = time.perf_counter()
    migrate(path)
    conn = bulk_connection(path)
    rng = random.Random(9)
    conn.execute("BEGIN")
    seed_members(conn, MEMBERS, NOW - timedelta(days=400))
    conn.execute(f"UPDATE members SET role = 'coordinator' WHERE id IN {COORDINATORS}")
    _seed_listings(conn, rng)
    _seed_exchanges(conn)
    for member in BUSY:
        _seed_busy(conn, member)
    _seed_ledger(conn)
    _seed_outbox_and_audit(conn)
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def _seed_listings(conn: sqlite3.Connection, rng: random.Random) -> None:
    """Through the normal INSERT, so the triggers index every body for search; the busy
    members' posts come last. One answer to each post from someone else."""

    def rows() -> Iterator[tuple[Any, ...]]:
        owners = [*(rng.randint(1, OTHERS) for _ in range(LISTINGS))]
        owners += [member for member in BUSY for _ in range(POSTS_PER_BUSY)]
        for listing_id, owner in enumerate(owners, start=1):
            body = " ".join(rng.choices(WORDS, k=12))
            when = db_time(NOW - timedelta(minutes=len(owners) - listing_id))
            yield (listing_id, owner, rng.choice(("offer", "need")), body, when, when)

    conn.executemany(
        "INSERT INTO listings (id, owner_id, kind, category, body, created_at, updated_at)"
        " VALUES (?, ?, ?, 'Garden', ?, ?, ?)",
        rows(),
    )
    conn.execute(
        "INSERT INTO responses (listing_id, responder_id, status, created_at)"
        f" SELECT id, owner_id % {OTHERS} + 1, 'pending', created_at FROM listings"
    )
    for member in BUSY:  # and 40 answers of their own
        conn.execute(
            "INSERT INTO responses (listing_id, responder_id, status, created_at)"
            f" SELECT id, ?, 'pending', created_at FROM listings WHERE id <= {POSTS_PER_BUSY}"
            " AND owner_id <> ?",
            (member, member),
        )


def _seed_exchanges(conn: sqlite3.Connection) -> None:
    """Confirmed exchanges between everyone but the busy members, an hour each, leaving every
    STRIDE-th id for the busy members, whose exchanges are spread over years like anyone's."""
    conn.execute(
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ALL})"
        " INSERT INTO exchanges (id, listing_id, giver_id, receiver_id, state, proposed_minutes,"
        " proposed_by, created_at, updated_at)"
        " SELECT i, i % :listings + 1, g, CASE WHEN r = g THEN g % :others + 1 ELSE r END,"
        " 'confirmed', 60, g, :t, :t FROM (SELECT i, (i * 7919) % :others + 1 AS g,"
        f" (i * 104729 + 17) % :others + 1 AS r FROM n WHERE i % {STRIDE} <> 0)",
        {"listings": LISTINGS, "others": OTHERS, "t": db_time(NOW - timedelta(days=30))},
    )


def _seed_busy(conn: sqlite3.Connection, member: int) -> None:
    """1,000 exchanges with 1,000 different people, giving and receiving in turn; the last
    100 still open, from the member's own posts."""
    posts = [
        row[0] for row in conn.execute("SELECT id FROM listings WHERE owner_id = ?", (member,))
    ]
    slots = range(STRIDE * (1 + BUSY.index(member)), ALL + 1, STRIDE * len(BUSY))
    when = db_time(NOW - timedelta(days=10))

    def rows() -> Iterator[tuple[Any, ...]]:
        for k, exchange_id in zip(range(PER_BUSY), slots, strict=False):
            other = (k * 37 + member) % OTHERS + 1
            giver, receiver = (member, other) if k % 2 else (other, member)
            still_open = k >= PER_BUSY - OPEN_PER_BUSY
            state = OPEN_STATES[k % len(OPEN_STATES)] if still_open else "confirmed"
            minutes = None if state == "agreed" else 60
            listing = posts[k % len(posts)]
            yield (exchange_id, listing, giver, receiver, state, minutes, giver, when, when)

    conn.executemany(
        "INSERT INTO exchanges (id, listing_id, giver_id, receiver_id, state, proposed_minutes,"
        " proposed_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )


def _seed_ledger(conn: sqlite3.Connection) -> None:
    """A balanced transaction per confirmed exchange, keyed as the app keys them."""
    conn.execute(
        "INSERT INTO ledger_transactions (id, kind, exchange_id, idempotency_key, created_at)"
        " SELECT id, 'exchange', id, 'exchange:' || id, updated_at FROM exchanges"
        " WHERE state = 'confirmed'"
    )
    for party, sign in (("giver_id", 1), ("receiver_id", -1)):
        conn.execute(
            "INSERT INTO ledger_entries (transaction_id, account_id, minutes)"
            f" SELECT e.id, a.id, {sign} * e.proposed_minutes FROM exchanges e"
            f" JOIN accounts a ON a.member_id = e.{party} WHERE e.state = 'confirmed'"
        )


def _seed_outbox_and_audit(conn: sqlite3.Connection) -> None:
    long_ago = db_time(NOW - timedelta(days=20))
    conn.execute(
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {OUTBOX})"
        " INSERT INTO outbox (member_id, kind, ref_id, state, due_at, created_at, sent_at)"
        f" SELECT i % {OTHERS} + 1, 'exchange_confirmed', i, 'sent', :t, :t, :t FROM n",
        {"t": long_ago},
    )
    conn.execute(
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {AUDIT})"
        " INSERT INTO audit_log (actor_id, action, subject, detail, created_at)"
        f" SELECT 1, 'viewed', 'member:' || (i % {OTHERS} + 1), '{{\"what\":\"profile\"}}', :t"
        " FROM n",
        {"t": long_ago},
    )
    for member in BUSY:
        conn.executemany(
            "INSERT INTO outbox (member_id, kind, ref_id, state, due_at, created_at)"
            " VALUES (?, 'nudge_unconfirmed', ?, ?, ?, ?)",
            [(member, k, ("sent", "pending")[k % 2], long_ago, long_ago) for k in range(200)],
        )
        conn.executemany(
            "INSERT INTO audit_log (actor_id, action, subject, detail, created_at)"
            " VALUES (1, ?, ?, ?, ?)",
            [("viewed", f"member:{member}", '{"what":"history"}', long_ago)] * 20
            + [("record_exchange", "exchange:1", f'{{"giver":{member},"receiver":3}}', long_ago)]
            * 10,
        )


# --- measuring -------------------------------------------------------------------------------


async def forget_each(path: Path) -> list[dict[str, Any]]:
    """Forget every busy member in turn; per member: ms for the whole call, of which the
    checkpoint, and what it did."""
    db = await Database.open(path)
    checkpoints: list[float] = []
    checkpoint = db.checkpoint

    async def timed_checkpoint() -> None:
        started = time.perf_counter()
        await checkpoint()
        checkpoints.append(time.perf_counter() - started)

    db.checkpoint = timed_checkpoint  # type: ignore[method-assign]
    runs = []
    try:
        for member in BUSY:
            started = time.perf_counter()
            result = await forget(db, member, NOW)
            runs.append(
                {
                    "ms": 1000 * (time.perf_counter() - started),
                    "checkpoint_ms": 1000 * checkpoints[-1],
                    "cancelled": len(result.cancelled),
                    "rows": sum(result.rows.values()),
                }
            )
        if await ledger.total(db) != 0:
            raise SystemExit("the ledger no longer sums to zero: no figures")
    finally:
        await db.close()
    return runs


def without_secure_delete() -> None:
    """The app's pragmas, less secure_delete, for every connection opened from now on."""
    storage.db.PRAGMAS = tuple(p for p in storage.db.PRAGMAS if "secure_delete" not in p)


def count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def describe(label: str, runs: list[dict[str, Any]]) -> str:
    each = ", ".join(f"{run['ms']:.0f}" for run in runs)
    checkpoints = ", ".join(f"{run['checkpoint_ms']:.0f}" for run in runs)
    return (
        f"{label:<24} median {median(runs, 'ms'):6.1f} ms  (each: {each} ms;"
        f" of which checkpoint: {checkpoints} ms)"
    )


def median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(run[key] for run in runs))


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "forget.sqlite3"
        seed_s = seed(path)
        entries = count(path, "ledger_entries")
        size_mb = path.stat().st_size / 2**20
        print(
            f"seeded {MEMBERS:,} members, {entries:,} ledger entries, {LISTINGS:,} posts"
            f" ({size_mb:.0f} MB) in {seed_s:.1f} s"
        )
        copy = Path(folder) / "forget-copy.sqlite3"
        shutil.copyfile(path, copy)
        secure = asyncio.run(forget_each(path))
        without_secure_delete()
        plain = asyncio.run(forget_each(copy))
    first = secure[0]
    print(
        f"each busy member: {PER_BUSY:,} exchanges, {first['cancelled']} open (cancelled, the"
        f" other party told); {first['rows']:,} rows deleted or re-pointed in all"
    )
    print(describe("forget, secure_delete on", secure) + "   (aim: under 200 ms)")
    print(describe("forget, secure_delete off", plain))
    print_result(
        {
            "forget_ms": round(median(secure, "ms"), 1),
            "forget_ms_without_secure_delete": round(median(plain, "ms"), 1),
            "checkpoint_ms": round(median(secure, "checkpoint_ms"), 1),
            "exchanges_of_member": PER_BUSY,
            "entries": entries,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
