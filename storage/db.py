"""The timebank's SQLite file: one writer connection, serialised, and one reader of its own.

A single writer is what SQLite wants anyway; the asyncio lock keeps two coroutines from
interleaving statements inside one transaction. Reads go to a second connection: in WAL mode it
sees only committed data, so a member's read never shows another task's half-made write, and
reads never queue behind a write transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Generator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.migrations import apply_migrations

PRAGMAS: tuple[str, ...] = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA busy_timeout = 5000",
    # FULL: a committed promise (a credit, a reminder) survives power loss, not only a crash.
    "PRAGMA synchronous = FULL",
    # A deleted row's bytes are overwritten, not left in free pages: when a member leaves,
    # their name and posts must be gone from the file, not only from every query.
    "PRAGMA secure_delete = ON",
)

Params = Iterable[Any] | dict[str, Any]
Row = aiosqlite.Row


class Tx:
    """One open write transaction: its statements, and whether it queued outbox rows (so the
    sender is woken once it commits, never before: a woken sender must find the rows)."""

    __slots__ = ("_conn", "queued_outbox")

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self.queued_outbox = False

    def execute(self, sql: str, params: Params = ()) -> Statement:
        """`await` it for a cursor (its rowcount), or `async with` it for the rows."""
        return Statement(self._conn, sql, params)

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        await self._conn.executemany(sql, rows)

    async def one(self, sql: str, *params: object) -> Row | None:
        return next(iter(await self._conn.execute_fetchall(sql, params)), None)


class Statement:
    """One statement of a transaction, in one trip to aiosqlite's thread either way.

    aiosqlite's own `async with conn.execute(...) as cursor` takes three trips (execute,
    fetch, close); each is a thread switch, which costs more than a small statement. Here
    `async with` fetches every row in the one trip (statements here return a few rows), and
    `await` runs it and gives the cursor, for its rowcount."""

    __slots__ = ("_conn", "_params", "_sql")

    def __init__(self, conn: aiosqlite.Connection, sql: str, params: Params) -> None:
        self._conn, self._sql, self._params = conn, sql, params

    def __await__(self) -> Generator[Any, None, aiosqlite.Cursor]:
        return self._conn.execute(self._sql, self._params).__await__()

    async def __aenter__(self) -> Fetched:
        return Fetched(list(await self._conn.execute_fetchall(self._sql, self._params)))

    async def __aexit__(self, *_: object) -> None:
        return None


class Fetched:
    """A statement's rows, already read: fetching them again costs no trip."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Row]) -> None:
        self._rows = rows

    async def fetchone(self) -> Row | None:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Row]:
        return self._rows


class Database:
    """Reads anywhere (committed data only), writes inside `transaction()`."""

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._outbox_listeners: list[Callable[[], None]] = []

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        writer = await _connect(path)
        try:
            # Migrations run with foreign keys off so a table can be rebuilt (SQLite's
            # documented way to change a column); each checks them itself before it commits.
            await apply_migrations(writer)
            await writer.execute("PRAGMA foreign_keys = ON")
            reader = await _connect(path)
            await reader.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            await writer.close()  # its worker thread would otherwise keep the process alive
            raise
        return cls(writer, reader)

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    def on_outbox(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every commit that queued outbox rows (the sender's wake-up)."""
        self._outbox_listeners.append(listener)

    @asynccontextmanager
    async def transaction(self, *, durable: bool = True) -> AsyncIterator[Tx]:
        """Run the block as one IMMEDIATE transaction: all of it lands, or none of it.

        `durable=False` is for bookkeeping that is not a promise (the sender claiming outbox
        rows): it commits without waiting for the disk, and the next durable commit flushes
        it. Power loss can then only undo a claim, which puts the row back in the queue."""
        tx = Tx(self._writer)
        async with self._write_lock:
            await self._begin(durable)
            try:
                yield tx
            except BaseException:
                await self._writer.execute("ROLLBACK")
                if not durable:
                    await self._writer.execute("PRAGMA synchronous = FULL")
                raise
            await self._commit(durable)
        if tx.queued_outbox:
            for listener in self._outbox_listeners:
                listener()

    # Beginning and committing take one trip each to aiosqlite's thread, durable or not: a trip
    # is a thread switch, which costs more than a small transaction's statements.
    async def _begin(self, durable: bool) -> None:
        if durable:
            await self._writer.execute("BEGIN IMMEDIATE")
        else:
            await self._writer.executescript("PRAGMA synchronous = NORMAL; BEGIN IMMEDIATE;")

    async def _commit(self, durable: bool) -> None:
        if durable:
            await self._writer.execute("COMMIT")
        else:
            # executescript commits the open transaction first (still under NORMAL: no fsync),
            # then puts the connection back to FULL for the next, durable, transaction.
            await self._writer.executescript("PRAGMA synchronous = FULL;")

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the file and empty it, so the pages as they were
        before a deletion (a leaver's name, their posts) don't stay in the -wal file until it
        is next reused. Best effort: a reader still on an older snapshot leaves it for later."""
        async with self._write_lock:
            await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # Reads use execute_fetchall: one trip to aiosqlite's thread instead of three
    # (execute, fetch, close), which is most of a small query's cost.
    async def one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._reader.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def all(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._reader.execute_fetchall(sql, params))

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]


async def _connect(path: str | Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    try:
        for pragma in PRAGMAS:
            await conn.execute(pragma)
    except BaseException:
        await conn.close()
        raise
    return conn
