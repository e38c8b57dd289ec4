"""Picking the visitors to offer a home visit to, on a network with many of them.

Seeds 10,000 members, 5,000 of them visitors (approved, most with a valid check, some expired,
paused or retired) reaching one to three of 20 neighbourhoods, 50,000 past visits over the
last year, 2,000 blocks, and referrals each already offered to a few visitors. Then times
storage.matching.candidates (the query that picks the next visitor: area, check, status,
blocks, who was asked before, fewest recent visits first) for 2,000 referrals, each in its
own read transaction as matching runs it, best 3 candidates each.
Run: .venv/bin/python bench/matching.py   (last line: JSON with pick_ms, pick_p99_ms)
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import (
    Latencies,
    bulk_connection,
    db_time,
    migrate,
    peak_rss_mb,
    print_result,
    seed_members,
)

from storage import matching
from storage.db import Database
from storage.models import Referral
from storage.visit_rules import VisitRules

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
MEMBERS = 10_000
VISITORS = 5_000
PAST_VISITS = 50_000
BLOCKS = 2_000
REFERRALS = 2_000
AREAS = [f"Area {n}" for n in range(20)]
RULES = VisitRules()


def seed(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.execute("BEGIN")
    seed_members(conn, MEMBERS, NOW)
    stamp = db_time(NOW)
    visitors = range(1, VISITORS + 1)
    statuses = ["approved"] * 17 + ["paused", "retired", "applied"]
    conn.executemany(
        "INSERT INTO visitors (member_id, status, check_expires_on, applied_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            (v, rng.choice(statuses), "2026-10-01" if v % 10 == 0 else "2027-09-01", stamp, stamp)
            for v in visitors
        ),
    )
    conn.executemany(
        "INSERT INTO visitor_areas (area, member_id) VALUES (?, ?)",
        ((area, v) for v in visitors for area in rng.sample(AREAS, rng.randint(1, 3))),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)",
        (
            (rng.randint(VISITORS + 1, MEMBERS), rng.randint(1, VISITORS), stamp)
            for _ in range(BLOCKS)
        ),
    )
    seed_past_visits(conn, rng)
    seed_referrals(conn, rng)
    conn.execute("COMMIT")


def seed_past_visits(conn: sqlite3.Connection, rng: random.Random) -> None:
    """One referral each, visited, its visit done at some moment of the last year."""
    for n in range(PAST_VISITS):
        visitor = rng.randint(1, VISITORS)
        when = db_time(NOW - timedelta(minutes=rng.randint(60, 365 * 24 * 60)))
        cursor = conn.execute(
            "INSERT INTO referrals (first_name, area, discharged_at, source, state, visitor_id,"
            " code_word, created_at, updated_at)"
            " VALUES ('P', ?, ?, 'coordinator', 'visited', ?, 'w', ?, ?)",
            (AREAS[n % len(AREAS)], when, visitor, when, when),
        )
        conn.execute(
            "INSERT INTO visits (referral_id, visitor_id, number, state, reported_at,"
            " created_at, updated_at) VALUES (?, ?, 1, 'done', ?, ?, ?)",
            (cursor.lastrowid, visitor, when, when, when),
        )


def seed_referrals(conn: sqlite3.Connection, rng: random.Random) -> None:
    """Referrals still looking, each from a patient who is a member, offered to a few."""
    stamp = db_time(NOW - timedelta(hours=3))
    for n in range(REFERRALS):
        patient = VISITORS + 1 + n
        cursor = conn.execute(
            "INSERT INTO referrals (patient_id, first_name, area, discharged_at, source,"
            " created_at, updated_at) VALUES (?, 'Q', ?, ?, 'ward', ?, ?)",
            (patient, AREAS[n % len(AREAS)], stamp, stamp, stamp),
        )
        for visitor in rng.sample(range(1, VISITORS + 1), 3):
            conn.execute(
                "INSERT INTO visit_offers (referral_id, visitor_id, state, offered_at,"
                " answer_by) VALUES (?, ?, 'declined', ?, ?)",
                (cursor.lastrowid, visitor, stamp, stamp),
            )


async def time_picks(path: Path) -> tuple[Latencies, float]:
    db = await Database.open(path)
    try:
        rows = await db.all("SELECT * FROM referrals WHERE state = 'matching' ORDER BY id")
        referrals = [Referral.from_row(row) for row in rows]
        latencies = Latencies()
        found = 0
        for referral in referrals:
            started = time.perf_counter()
            async with db.transaction(durable=False) as tx:
                picked = await matching.candidates(tx, referral, NOW, RULES, limit=3)
            latencies.samples.append(time.perf_counter() - started)
            found += len(picked)
    finally:
        await db.close()
    return latencies, found / len(referrals)


def main() -> None:
    rng = random.Random(10)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "matching.sqlite3"
        migrate(path)
        started = time.perf_counter()
        conn = bulk_connection(path)
        seed(conn, rng)
        conn.execute("ANALYZE")
        conn.close()
        print(f"seeded {VISITORS:,} visitors, {PAST_VISITS:,} past visits,")
        print(f"{REFERRALS:,} referrals to match in {time.perf_counter() - started:.1f} s")
        latencies, per_referral = asyncio.run(time_picks(path))
    print(latencies.line("pick"))
    print(f"candidates found per referral (best 3 asked for): {per_referral:.2f}")
    print(f"peak memory (ru_maxrss): {peak_rss_mb():.0f} MB   (aim: pick under 5 ms median)")
    print_result(
        {
            "pick_ms": round(latencies.percentile_ms(50), 3),
            "pick_p99_ms": round(latencies.percentile_ms(99), 3),
            "visitors": VISITORS,
            "past_visits": PAST_VISITS,
            "referrals": REFERRALS,
        }
    )


if __name__ == "__main__":
    main()
