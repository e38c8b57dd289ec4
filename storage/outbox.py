"""The outbox: a row per message the bot owes someone, written in the same transaction as the
event that makes it owed, and marked once it is sent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiosqlite

from storage.db import Database
from storage.models import from_db, to_db


@dataclass(frozen=True, slots=True)
class Notice:
    """What to tell whom; rendered to text only when it is sent."""

    member_id: int
    kind: str
    ref_id: int | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    due_at: datetime | None = None
    expires_at: datetime | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    member_id: int
    telegram_id: int
    kind: str
    ref_id: int | None
    args: Mapping[str, Any]
    due_at: datetime
    attempts: int


async def enqueue(tx: aiosqlite.Connection, notice: Notice, now: datetime) -> None:
    """Add a notice inside the caller's transaction; a repeated idempotency key is ignored."""
    await tx.execute(
        "INSERT INTO outbox (member_id, kind, ref_id, args, due_at, expires_at,"
        " idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (idempotency_key) DO NOTHING",
        (
            notice.member_id,
            notice.kind,
            notice.ref_id,
            json.dumps(dict(notice.args), separators=(",", ":")),
            to_db(notice.due_at or now),
            to_db(notice.expires_at) if notice.expires_at else None,
            notice.idempotency_key,
            to_db(now),
        ),
    )


async def claim_due(db: Database, now: datetime, limit: int) -> list[OutboxItem]:
    """Mark up to `limit` due rows as sending and return them, oldest due first."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE outbox SET state = 'skipped' WHERE state = 'pending'"
            " AND expires_at IS NOT NULL AND expires_at <= ?",
            (to_db(now),),
        )
        async with tx.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1"
            " WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND due_at <= ?"
            " ORDER BY due_at, id LIMIT ?)"
            " RETURNING id",
            (to_db(now), limit),
        ) as cursor:
            ids = [row[0] for row in await cursor.fetchall()]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        async with tx.execute(
            "SELECT o.id, o.member_id, m.telegram_id, o.kind, o.ref_id, o.args, o.due_at,"
            " o.attempts FROM outbox o JOIN members m ON m.id = o.member_id"
            f" WHERE o.id IN ({marks}) ORDER BY o.due_at, o.id",
            ids,
        ) as cursor:
            rows = await cursor.fetchall()
    return [
        OutboxItem(
            id=row["id"],
            member_id=row["member_id"],
            telegram_id=row["telegram_id"],
            kind=row["kind"],
            ref_id=row["ref_id"],
            args=json.loads(row["args"]),
            due_at=from_db(row["due_at"]),
            attempts=row["attempts"],
        )
        for row in rows
    ]


async def mark(db: Database, item_id: int, state: str, now: datetime) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE outbox SET state = ?, sent_at = ? WHERE id = ?",
            (state, to_db(now) if state == "sent" else None, item_id),
        )


async def release(db: Database, item_id: int, due_at: datetime) -> None:
    """Put a claimed row back to wait until `due_at` (rate limited, network down)."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE outbox SET state = 'pending', due_at = ? WHERE id = ?", (to_db(due_at), item_id)
        )


async def recover_in_flight(db: Database) -> int:
    """Put rows claimed by a process that died back in the queue.

    A row is 'sending' from its claim until it is marked, so after a crash only the messages
    that were in flight are sent again: at most one duplicate each, never a lost one."""
    async with db.transaction() as tx:
        cur = await tx.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sending'")
        return cur.rowcount
