"""Who is a coordinator. Coordinators come from config and from /promote by another one."""

from __future__ import annotations

from collections.abc import Iterable

import aiosqlite

from storage.db import Database


async def ensure_coordinators(db: Database, telegram_ids: Iterable[int]) -> None:
    """Give the coordinator role to members listed in config (run at start)."""
    ids = list(telegram_ids)
    if not ids:
        return
    marks = ",".join("?" * len(ids))
    async with db.transaction() as tx:
        await tx.execute(
            f"UPDATE members SET role = 'coordinator' WHERE telegram_id IN ({marks})", ids
        )


async def coordinator_ids(tx: aiosqlite.Connection) -> list[int]:
    async with tx.execute(
        "SELECT id FROM members WHERE role = 'coordinator' AND status = 'active' ORDER BY id"
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]
