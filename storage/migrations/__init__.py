"""Numbered SQL migrations, applied in order and recorded in PRAGMA user_version.

Each file `NNNN_name.sql` runs in one transaction together with its user_version bump, so a
failing migration leaves the file exactly as it was and a rerun applies nothing twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

MIGRATIONS_DIR = Path(__file__).parent
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    path: Path


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = [
        Migration(int(match.group(1)), path)
        for path in directory.iterdir()
        if (match := _NAME.match(path.name))
    ]
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


async def current_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def apply_migrations(
    conn: aiosqlite.Connection, directory: Path = MIGRATIONS_DIR
) -> list[int]:
    """Apply every migration newer than the file's user_version; return the versions applied."""
    applied = []
    for migration in discover(directory):
        if migration.version <= await current_version(conn):
            continue
        script = migration.path.read_text(encoding="utf-8")
        # executescript commits any open transaction first, so BEGIN and COMMIT live inside it.
        try:
            await conn.executescript(f"BEGIN IMMEDIATE;\n{script}")
            await _check_foreign_keys(conn, migration)
            await conn.execute(f"PRAGMA user_version = {migration.version}")
            await conn.execute("COMMIT")
        except Exception:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
        applied.append(migration.version)
    return applied


class ForeignKeyViolation(RuntimeError):
    """A migration left rows pointing at nothing; it is rolled back."""


async def _check_foreign_keys(conn: aiosqlite.Connection, migration: Migration) -> None:
    async with conn.execute("PRAGMA foreign_key_check") as cursor:
        broken = list(await cursor.fetchall())
    if broken:
        raise ForeignKeyViolation(f"{migration.path.name}: {[tuple(row) for row in broken[:5]]}")
