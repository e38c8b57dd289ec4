"""What the benchmarks under bench/ share: import path, seeding, timing, memory, the JSON line.

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
from datetime import datetime, timedelta
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
