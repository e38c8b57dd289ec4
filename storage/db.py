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
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block as one IMMEDIATE transaction: all of it lands, or none of it."""
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        async with self._conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]
