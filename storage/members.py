"""Members and their accounts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import aiosqlite

from storage.db import Database
from storage.models import Member, to_db


async def by_telegram_id(db: Database, telegram_id: int) -> Member | None:
    row = await db.one("SELECT * FROM members WHERE telegram_id = ?", (telegram_id,))
    return Member.from_row(row) if row else None


async def get(db: Database, member_id: int) -> Member | None:
    row = await db.one("SELECT * FROM members WHERE id = ?", (member_id,))
    return Member.from_row(row) if row else None


async def join(
    db: Database,
    *,
    telegram_id: int,
    display_name: str,
    username: str | None,
    neighbourhood: str | None,
    join_source: str | None,
    coordinator: bool,
    approved: bool,
    now: datetime,
) -> Member:
    """Record a member who has agreed to the privacy note, with their ledger account."""
    async with db.transaction() as tx:
        async with tx.execute(
            "INSERT INTO members (telegram_id, display_name, username, neighbourhood,"
            " join_source, status, role, consented_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (
                telegram_id,
                display_name,
                username,
                neighbourhood,
                join_source,
                "active" if approved or coordinator else "pending",
                "coordinator" if coordinator else "member",
                to_db(now),
                to_db(now),
            ),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        member = Member.from_row(row)
        await tx.execute(
            "INSERT INTO accounts (member_id, kind) VALUES (?, 'member')", (member.id,)
        )
    return member


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
