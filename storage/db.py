"""One SQLite connection per process, with writes serialised and wrapped in BEGIN IMMEDIATE.

A single writer connection is what SQLite wants anyway; the asyncio lock keeps two coroutines
from interleaving statements inside one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.migrations import apply_migrations

PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA busy_timeout = 5000",
    # FULL: a committed promise (a credit, a reminder) survives power loss, not only a crash.
    "PRAGMA synchronous = FULL",
)

Params = Iterable[Any] | dict[str, Any]


class Database:
    """The timebank's SQLite file: reads anywhere, writes inside `transaction()`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        try:
            for pragma in PRAGMAS:
                await conn.execute(pragma)
            # Migrations run with foreign keys off so a table can be rebuilt (SQLite's
            # documented way to change a column); each checks them itself before it commits.
            await apply_migrations(conn)
            await conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            await conn.close()  # its worker thread would otherwise keep the process alive
            raise
        return cls(conn)

    async def close(self) -> None:
        await self._conn.close()

    @asynccontextmanager
    async def transaction(self, *, durable: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block as one IMMEDIATE transaction: all of it lands, or none of it.

        `durable=False` is for bookkeeping that is not a promise (the sender claiming and
        marking outbox rows): it commits without waiting for the disk, and the next durable
        commit flushes it. Power loss can then only undo a mark, so a message may be sent
        twice; a promise, a credit, is never lost."""
        async with self._write_lock:
            if not durable:
                await self._conn.execute("PRAGMA synchronous = NORMAL")
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    await self._conn.execute("ROLLBACK")
                    raise
                await self._conn.execute("COMMIT")
            finally:
                if not durable:
                    await self._conn.execute("PRAGMA synchronous = FULL")

    # Reads use execute_fetchall: one trip to aiosqlite's thread instead of three
    # (execute, fetch, close), which is most of a small query's cost.
    async def one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        rows = await self._conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]
