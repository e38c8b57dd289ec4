"""Who is a coordinator: listed in config, or promoted by another coordinator.

Every change of role is checked here (the presser must be a coordinator now) and audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage import audit
from storage.db import Database, Tx
from storage.errors import NotCoordinator, NotFound, WrongState
from storage.kinds import OutboxKind
from storage.models import Member
from storage.outbox import Notice, enqueue


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


async def coordinator_ids(tx: Tx, *, apart_from: Iterable[int] = ()) -> list[int]:
    """Active coordinators, leaving out `apart_from` (the people a decision is about: nobody
    judges their own exchange)."""
    async with tx.execute(
        "SELECT id FROM members WHERE role = 'coordinator' AND status = 'active' ORDER BY id"
    ) as cursor:
        excluded = set(apart_from)
        return [row[0] for row in await cursor.fetchall() if row[0] not in excluded]


async def require_coordinator(tx: Tx, member_id: int) -> None:
    async with tx.execute("SELECT role FROM members WHERE id = ?", (member_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None or row[0] != "coordinator":
        raise NotCoordinator(member_id)


async def promote(db: Database, *, by: int, member_id: int, now: datetime) -> Member:
    return await _set_role(db, by=by, member_id=member_id, role="coordinator", now=now)


async def demote(db: Database, *, by: int, member_id: int, now: datetime) -> Member:
    """Demote a coordinator; the last one can't be, or nobody could promote again."""
    return await _set_role(db, by=by, member_id=member_id, role="member", now=now)


async def _set_role(db: Database, *, by: int, member_id: int, role: str, now: datetime) -> Member:
    async with db.transaction() as tx:
        await require_coordinator(tx, by)
        if role == "member" and await coordinator_ids(tx) == [member_id]:
            raise WrongState(member_id)
        async with tx.execute(
            "UPDATE members SET role = ? WHERE id = ? AND status = 'active' AND role != ?"
            " AND telegram_id IS NOT NULL RETURNING *",
            (role, member_id, role),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(member_id)
        action = "promote" if role == "coordinator" else "demote"
        await audit.record(tx, actor_id=by, action=action, subject=f"member:{member_id}", now=now)
        await enqueue(tx, Notice(member_id, OutboxKind(f"role_{action}d"), member_id), now)
    return Member.from_row(row)


async def set_peer_visitor(
    db: Database, *, by: int, member_id: int, visitor: bool, now: datetime
) -> Member:
    """Mark (or unmark) a member as a peer visitor, the audience of visit requests."""
    async with db.transaction() as tx:
        await require_coordinator(tx, by)
        async with tx.execute(
            "UPDATE members SET peer_visitor = ? WHERE id = ? AND status = 'active' RETURNING *",
            (int(visitor), member_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise NotFound(member_id)
        action = "add_peer_visitor" if visitor else "remove_peer_visitor"
        await audit.record(tx, actor_id=by, action=action, subject=f"member:{member_id}", now=now)
    return Member.from_row(row)
