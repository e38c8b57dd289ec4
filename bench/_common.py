"""What the benchmarks under bench/ share: import path, seeding (a big ledger too), timing,
memory, the JSON line.

Importing this module puts the repository root first on `sys.path`. That matters because a
script run as `python bench/NAME.py` gets `bench/` as `sys.path[0]`, where `bench/handlers.py`
would shadow the app's own `handlers` package (the editable install's finder comes later).

Not a benchmark itself: run directly, it only says so.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import resource
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if sys.path[:1] != [str(REPO_ROOT)]:
    sys.path.insert(0, str(REPO_ROOT))

from storage.db import Database  # noqa: E402  (needs the path above)
from storage.models import to_db  # noqa: E402

TELEGRAM_ID_BASE = 5_000_000_000
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Cleo",
    "Dev",
    "Elif",
    "Femi",
    "Gus",
    "Hana",
    "Ivo",
    "Jo",
    "Kemal",
    "Lin",
    "Mo",
    "Nia",
    "Omar",
    "Pia",
    "Raj",
    "Sam",
    "Tess",
    "Uma",
]


# --- database ---------------------------------------------------------------------------------


def migrate(path: Path) -> None:
    """Create the schema exactly as the app does, by opening the file through storage.db."""

    async def open_and_close() -> None:
        db = await Database.open(path)
        await db.close()

    asyncio.run(open_and_close())


def bulk_connection(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection for seeding: no fsync, explicit transactions.

    Seeding writes hundreds of thousands of rows; the app's FULL sync would only measure the
    disk, and none of it is what the benchmark times."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def telegram_id_of(member_id: int) -> int:
    """Seeded members get Telegram ids derived from their row id, so drivers need no lookup."""
    return TELEGRAM_ID_BASE + member_id


def db_time(moment: datetime) -> str:
    return to_db(moment)


def seed_members(conn: sqlite3.Connection, count: int, now: datetime) -> None:
    """Active members 1..count with a 'member' account each (ids 2..count+1; 1 is community).

    Call inside the caller's transaction."""
    conn.executemany(
        "INSERT INTO members (id, telegram_id, display_name, username, neighbourhood,"
        " join_source, status, role, consented_at, created_at)"
        " VALUES (?, ?, ?, NULL, ?, NULL, 'active', 'member', ?, ?)",
        _member_rows(count, now),
    )
    conn.executemany(
        "INSERT INTO accounts (member_id, kind) VALUES (?, 'member')",
        ((member_id,) for member_id in range(1, count + 1)),
    )


def _member_rows(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    places = ("Riverside", "Old Town", "Hillside", None)
    for member_id in range(1, count + 1):
        joined = db_time(now - timedelta(minutes=member_id))
        name = f"{FIRST_NAMES[member_id % len(FIRST_NAMES)]} {member_id}"
        place = places[member_id % len(places)]
        yield (member_id, telegram_id_of(member_id), name, place, joined, joined)


# --- a big ledger -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BigLedger:
    """What `seed_big_ledger` writes: about 1,000,000 ledger entries over two years, from
    exchanges between members, past group activities with their helpers (one transaction to
    many each), spends on partner organisations' offers and exchanges with organisations."""

    now: datetime = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    members: int = 10_000
    organisations: int = 200
    exchanges: int = 415_000
    past_activities: int = 2_000
    helpers_each: int = 40
    spends: int = 50_000
    org_exchanges: int = 5_000
    coordinator: int = 1  # a member id


BIG_LEDGER = BigLedger()


def seed_big_ledger(path: Path, shape: BigLedger = BIG_LEDGER) -> float:
    """The whole file, through plain SQL; returns seconds taken."""
    started = time.perf_counter()
    migrate(path)
    conn = bulk_connection(path)
    conn.execute("BEGIN")
    seed_members(conn, shape.members, shape.now - timedelta(days=700))
    conn.execute("UPDATE members SET role = 'coordinator' WHERE id = ?", (shape.coordinator,))
    conn.execute("UPDATE members SET join_source = 'activity:' || (id % 50 + 1) WHERE id % 7 = 0")
    _seed_organisations(conn, shape)
    _seed_exchanges(conn, shape)
    _seed_activities(conn, shape)
    _seed_spends(conn, shape)
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def _seed_organisations(conn: sqlite3.Connection, shape: BigLedger) -> None:
    when = db_time(shape.now - timedelta(days=700))
    conn.executemany(
        "INSERT INTO organisations (id, name, area, description, created_by, created_at)"
        " VALUES (?, ?, 'Riverside', 'A service', ?, ?)",
        (
            (n, f"Organisation {n}", shape.coordinator, when)
            for n in range(1, shape.organisations + 1)
        ),
    )
    conn.execute(
        "INSERT INTO accounts (organisation_id, kind) SELECT id, 'organisation' FROM organisations"
    )
    conn.execute(
        "INSERT INTO organisation_members (organisation_id, member_id, added_by, added_at)"
        " SELECT id, id + 1, ?, ? FROM organisations",
        (shape.coordinator, when),
    )


def _count_to(count: int) -> str:
    return f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})"


def _seed_exchanges(conn: sqlite3.Connection, shape: BigLedger) -> None:
    """Confirmed exchanges spread over two years, an hour each; the last `org_exchanges` of
    them for an organisation (the receiver's side), as posts for organisations make them."""
    conn.execute(
        f"{_count_to(shape.exchanges)}"
        " INSERT INTO exchanges (id, giver_id, receiver_id, state, proposed_minutes, proposed_by,"
        " created_at, updated_at, organisation_id, organisation_side)"
        " SELECT i, g, CASE WHEN r = g THEN g % :m + 1 ELSE r END, 'confirmed', 60, g, t, t,"
        " CASE WHEN i > :plain THEN i % :orgs + 1 END,"
        " CASE WHEN i > :plain THEN 'receiver' END"
        " FROM (SELECT i, (i * 7919) % :m + 1 AS g, (i * 104729 + 17) % :m + 1 AS r,"
        " strftime('%Y-%m-%dT%H:%M:%S.000000Z', :start, '+' || (i * 150 / 1000) || ' minutes')"
        " AS t FROM n)",
        {
            "m": shape.members,
            "orgs": shape.organisations,
            "plain": shape.exchanges - shape.org_exchanges,
            "start": (shape.now - timedelta(days=700)).strftime("%Y-%m-%d %H:%M:%S"),
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


def _seed_activities(conn: sqlite3.Connection, shape: BigLedger) -> None:
    """Past activities, credited: each helper an hour from the organisation's account, in one
    transaction per activity."""
    conn.execute(
        f"{_count_to(shape.past_activities)}"
        " INSERT INTO activities (id, organisation_id, title, starts_at, place, helpers_wanted,"
        " helper_minutes, state, created_by, credited_at, credited_by, roll_call_at, created_at)"
        " SELECT i, i % :orgs + 1, 'Lunch club', t, 'Hall', :each, 60, 'done', :by, t, :by, t, t"
        " FROM (SELECT i, strftime('%Y-%m-%dT%H:%M:%S.000000Z', :start,"
        " '+' || (i * 8) || ' hours') AS t FROM n)",
        {
            "orgs": shape.organisations,
            "each": shape.helpers_each,
            "by": shape.coordinator,
            "start": (shape.now - timedelta(days=690)).strftime("%Y-%m-%d %H:%M:%S"),
        },
    )
    conn.execute(
        f"{_count_to(shape.helpers_each)}"
        " INSERT INTO activity_signups (activity_id, member_id, role, state, queued_at, attended,"
        " created_at, updated_at)"
        " SELECT a.id, (a.id * 97 + n.i * 131) % :m + 1, 'helper', 'going', a.created_at,"
        " CASE WHEN n.i % 10 = 0 THEN 0 ELSE 1 END, a.created_at, a.created_at"
        " FROM activities a CROSS JOIN n",
        {"m": shape.members},
    )
    first = shape.exchanges + 1
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


def _seed_spends(conn: sqlite3.Connection, shape: BigLedger) -> None:
    """Members spending hours on organisations' offers: member -> organisation."""
    when = db_time(shape.now - timedelta(days=30))
    conn.execute(
        "INSERT INTO partner_offers (id, organisation_id, category, title, price_minutes,"
        " created_by, created_at) SELECT id, id, 'Other', 'Computer course', 120, :by, :t"
        " FROM organisations",
        {"by": shape.coordinator, "t": when},
    )
    conn.execute(
        f"{_count_to(shape.spends)}"
        " INSERT INTO spends (id, offer_id, member_id, minutes, state, decided_by, created_at,"
        " updated_at) SELECT i, i % :orgs + 1, (i * 313) % :m + 1, 120, 'confirmed', :by, :t, :t"
        " FROM n",
        {"orgs": shape.organisations, "m": shape.members, "by": shape.coordinator, "t": when},
    )
    first = shape.exchanges + shape.past_activities + 1
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


def count_rows(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


# --- timing and memory ------------------------------------------------------------------------


@dataclass
class Latencies:
    """Durations in seconds of individually timed operations."""

    samples: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def total_s(self) -> float:
        return math.fsum(self.samples)

    @property
    def mean_ms(self) -> float:
        return 1000 * self.total_s / self.count if self.samples else 0.0

    @property
    def per_s(self) -> float:
        """Throughput if the operations ran back to back: count / summed time."""
        return self.count / self.total_s if self.total_s else 0.0

    def percentile_ms(self, q: float) -> float:
        return 1000 * percentile(sorted(self.samples), q)

    def line(self, label: str) -> str:
        return (
            f"{label:<10} n={self.count:<6} {self.per_s:8.0f}/s  mean {self.mean_ms:6.2f} ms"
            f"  p50 {self.percentile_ms(50):6.2f} ms  p99 {self.percentile_ms(99):6.2f} ms"
            f"  max {1000 * max(self.samples, default=0):6.2f} ms"
        )


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (p99 of 4,000 is the 3,960th)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MiB (ru_maxrss: KiB on Linux, bytes
    on macOS). It covers everything the process did, seeding included."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def pin_to_one_core() -> int | None:
    """Run on one CPU (the targets are per core), including aiosqlite's worker thread.
    Returns the CPU chosen, or None where affinity can't be set."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


class Timer:
    """Wall and CPU seconds spent inside `with timer:` blocks, summed over every block, to show
    how much of a core the timed work really used."""

    def __init__(self) -> None:
        self.wall_s = self.cpu_s = 0.0
        self._wall = self._cpu = 0.0

    def __enter__(self) -> Timer:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall_s += time.perf_counter() - self._wall
        self.cpu_s += time.process_time() - self._cpu


class ErrorCounter(logging.Handler):
    """Counts ERROR records (the app's error handler logs every failed update), so a
    benchmark can refuse to report figures for flows that silently failed."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            self.first = f"{record.getMessage()[:300]} ({record.exc_info and record.exc_info[1]!r})"

    @classmethod
    def install(cls) -> ErrorCounter:
        counter = cls()
        logging.getLogger().addHandler(counter)
        return counter


def print_result(result: dict[str, Any]) -> None:
    """The machine-readable figures: one JSON object, always the last line of output."""
    sys.stdout.flush()
    print(json.dumps(result, separators=(", ", ": ")), flush=True)


if __name__ == "__main__":
    print("bench/_common.py holds shared helpers; it is not a benchmark.", file=sys.stderr)
