"""What a health check asks of the database: which schema it is at, read live, so an answer
also shows that the database still answers."""

from __future__ import annotations

from storage.db import Database


async def schema_version(db: Database) -> int:
    """The open database's schema version (the last migration applied)."""
    return int(await db.scalar("PRAGMA user_version"))
