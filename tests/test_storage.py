"""Storage on real SQLite files: migrations, pragmas, and the ledger's own rules."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from storage import ledger, members
from storage.db import Database
from storage.kinds import LedgerKind
from storage.migrations import apply_migrations, current_version, discover

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_migrations_build_the_schema_from_an_empty_file(tmp_path: Path):
    db = await Database.open(tmp_path / "empty.sqlite3")
    try:
        tables = {row[0] for row in await db.all("SELECT name FROM sqlite_master")}
        assert {"members", "accounts", "listings", "listings_fts", "exchanges"} <= tables
        assert {"ledger_transactions", "ledger_entries", "outbox"} <= tables
        assert await db.scalar("PRAGMA user_version") == len(discover())
        assert await db.scalar("PRAGMA journal_mode") == "wal"
        assert await db.scalar("PRAGMA foreign_keys") == 1
        assert await db.scalar("PRAGMA synchronous") == 2  # FULL
    finally:
        await db.close()


async def test_reopening_applies_nothing_twice(tmp_path: Path):
    path = tmp_path / "twice.sqlite3"
    await (await Database.open(path)).close()
    async with aiosqlite.connect(path) as conn:
        assert await apply_migrations(conn) == []


async def test_a_failing_migration_rolls_back_whole(tmp_path: Path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_ok.sql").write_text("CREATE TABLE kept (id INTEGER);")
    (folder / "0002_broken.sql").write_text(
        "CREATE TABLE half_done (id INTEGER);\nINSERT INTO missing_table VALUES (1);"
    )
    async with aiosqlite.connect(tmp_path / "db.sqlite3", isolation_level=None) as conn:
        with pytest.raises(sqlite3.OperationalError):
            await apply_migrations(conn, folder)
        assert await current_version(conn) == 1
        async with conn.execute("SELECT name FROM sqlite_master") as cursor:
            names = {row[0] for row in await cursor.fetchall()}
        assert names == {"kept"}
        (folder / "0002_broken.sql").write_text("CREATE TABLE fixed (id INTEGER);")
        assert await apply_migrations(conn, folder) == [2]


def test_migration_numbers_must_not_have_gaps(tmp_path: Path):
    (tmp_path / "0001_a.sql").write_text("")
    (tmp_path / "0003_c.sql").write_text("")
    with pytest.raises(RuntimeError, match="without gaps"):
        discover(tmp_path)


async def test_unbalanced_transactions_are_refused(tmp_path: Path):
    db = await Database.open(tmp_path / "ledger.sqlite3")
    try:
        member = await members.join(
            db,
            telegram_id=1,
            display_name="A",
            username=None,
            neighbourhood=None,
            join_source=None,
            coordinator=False,
            approved=True,
            now=NOW,
        )
        async with db.transaction() as tx:
            account = (await ledger.accounts(tx, member.id))[member.id].id
        with pytest.raises(ledger.UnbalancedTransaction):
            async with db.transaction() as tx:
                await ledger.post(
                    tx,
                    kind=LedgerKind.COORDINATOR,
                    idempotency_key="x",
                    entries=[(account, 60)],
                    now=NOW,
                )
        assert await ledger.total(db) == 0
        assert await db.scalar("SELECT COUNT(*) FROM ledger_transactions") == 0
    finally:
        await db.close()


async def test_reads_never_see_a_write_that_has_not_committed(tmp_path):
    db = await Database.open(tmp_path / "reads.sqlite3")
    try:
        inside, finish = asyncio.Event(), asyncio.Event()

        async def half_made_write() -> None:
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO members (telegram_id, display_name, consented_at, created_at)"
                    " VALUES (1, 'Half', '2026', '2026')"
                )
                inside.set()
                await finish.wait()

        writing = asyncio.create_task(half_made_write())
        await inside.wait()
        half = "SELECT COUNT(*) FROM members WHERE display_name = 'Half'"
        assert await db.scalar(half) == 0
        finish.set()
        await writing
        assert await db.scalar(half) == 1
    finally:
        await db.close()
