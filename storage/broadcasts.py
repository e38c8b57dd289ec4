"""Broadcasts: a coordinator's message to an audience, one outbox row per recipient.

All rows are written in the transaction that starts the broadcast, so a crash or restart
resumes it without re-sending what was sent (each row is marked once it goes). Cancelling
skips the rows not yet sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import audit, guards, roles
from storage.db import Database, Row, Tx
from storage.errors import NotFound, WrongState
from storage.kinds import OutboxKind
from storage.models import from_row, to_db
from storage.outbox import Notice, enqueue

AREA, OFFERS, EVERYONE, VISITORS = "area", "offers", "all", "visitors"


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    coordinator_id: int
    text: str
    audience: str
    listing_id: int | None
    state: str
    recipients: int
    progress_message_id: int | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Broadcast:
        return from_row(cls, row)


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    sent: int
    blocked: int
    failed: int
    waiting: int

    @property
    def finished(self) -> bool:
        return self.waiting == 0


def audience(kind: str, value: str = "") -> str:
    """An audience as stored: 'all', 'visitors', 'area:Riverside', 'offers:Garden'."""
    return f"{kind}:{value}" if value else kind


def _audience_sql(audience_text: str) -> tuple[str, dict[str, object]]:
    """The WHERE clause choosing recipients: active members on Telegram, except the sender
    and the owner of the listing it asks help for (never asked to help with their own need;
    the answers go to them) and anyone a block keeps apart from that owner."""
    kind, _, value = audience_text.partition(":")
    base = (
        "m.status = 'active' AND m.telegram_id IS NOT NULL AND m.id != :sender"
        " AND m.id IS NOT (SELECT owner_id FROM listings WHERE id = :listing)"
        f" AND {guards.apart('(SELECT owner_id FROM listings WHERE id = :listing)', 'm.id')}"
    )
    if kind == EVERYONE:
        return base, {}
    if kind == VISITORS:
        return (
            f"{base} AND EXISTS (SELECT 1 FROM visitors v WHERE v.member_id = m.id"
            " AND v.status = 'approved')",
            {},
        )
    if kind == AREA:
        return f"{base} AND m.neighbourhood = :value", {"value": value}
    if kind == OFFERS:
        return (
            f"{base} AND EXISTS (SELECT 1 FROM listings o WHERE o.owner_id = m.id"
            " AND o.kind = 'offer' AND o.status = 'open' AND o.category = :value)",
            {"value": value},
        )
    raise ValueError(f"unknown audience {audience_text!r}")


async def count_audience(
    db: Database, audience_text: str, sender_id: int, listing_id: int | None = None
) -> int:
    where, params = _audience_sql(audience_text)
    return int(
        await db.scalar(
            f"SELECT COUNT(*) FROM members m WHERE {where}",
            {**params, "sender": sender_id, "listing": listing_id},
        )
    )


async def start(
    db: Database,
    *,
    by: int,
    text: str,
    audience_text: str,
    listing_id: int | None,
    now: datetime,
) -> Broadcast:
    """Write the broadcast and every recipient's outbox row in one transaction."""
    where, params = _audience_sql(audience_text)
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        async with tx.execute(
            "INSERT INTO broadcasts (coordinator_id, text, audience, listing_id, created_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (by, text, audience_text, listing_id, to_db(now)),
        ) as created:
            row = await created.fetchone()
        assert row is not None
        broadcast_id = int(row[0])
        tx.queued_outbox = True  # the sender starts on it at once, not at the next tick
        cursor = await tx.execute(
            "INSERT INTO outbox (member_id, kind, ref_id, due_at, idempotency_key, created_at)"
            " SELECT m.id, 'broadcast', :broadcast, :now,"
            " 'broadcast:' || :broadcast || ':' || m.id, :now"
            f" FROM members m WHERE {where} ORDER BY m.id",
            {
                **params,
                "sender": by,
                "listing": listing_id,
                "broadcast": broadcast_id,
                "now": to_db(now),
            },
        )
        await tx.execute(
            "UPDATE broadcasts SET recipients = ? WHERE id = ?", (cursor.rowcount, broadcast_id)
        )
        await audit.record(
            tx,
            actor_id=by,
            action="broadcast",
            subject=f"broadcast:{broadcast_id}",
            now=now,
            detail={"audience": audience_text, "recipients": cursor.rowcount},
        )
    found = await get(db, broadcast_id)
    assert found is not None
    return found


async def get(db: Database, broadcast_id: int) -> Broadcast | None:
    row = await db.one("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
    return Broadcast.from_row(row) if row else None


async def _exists(tx: Tx, broadcast_id: int) -> bool:
    async with tx.execute("SELECT 1 FROM broadcasts WHERE id = ?", (broadcast_id,)) as cursor:
        return await cursor.fetchone() is not None


async def unreported(db: Database) -> list[Broadcast]:
    """Broadcasts still going, or stopped, whose delivery report is not yet queued."""
    rows = await db.all("SELECT * FROM broadcasts WHERE reported_at IS NULL ORDER BY id")
    return [Broadcast.from_row(row) for row in rows]


async def set_progress_message(db: Database, broadcast_id: int, message_id: int) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE broadcasts SET progress_message_id = ? WHERE id = ?", (message_id, broadcast_id)
        )


async def progress(db: Database, broadcast_id: int) -> Progress:
    rows = await db.all(
        "SELECT state, COUNT(*) FROM outbox WHERE kind = 'broadcast' AND ref_id = ? GROUP BY state",
        (broadcast_id,),
    )
    counts = {row[0]: row[1] for row in rows}
    return Progress(
        total=sum(counts.values()),
        sent=counts.get("sent", 0),
        blocked=counts.get("blocked", 0),
        failed=counts.get("failed", 0),
        waiting=counts.get("pending", 0) + counts.get("sending", 0),
    )


async def cancel(db: Database, *, by: int, broadcast_id: int, now: datetime) -> Progress:
    """Stop a running broadcast: rows not yet sent are skipped; the sender also re-checks
    the state of each row it had already claimed."""
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        cursor = await tx.execute(
            "UPDATE broadcasts SET state = 'cancelled', finished_at = ?"
            " WHERE id = ? AND state = 'sending'",
            (to_db(now), broadcast_id),
        )
        if cursor.rowcount != 1:
            raise (
                WrongState(broadcast_id)
                if await _exists(tx, broadcast_id)
                else NotFound(broadcast_id)
            )
        await tx.execute(
            "UPDATE outbox SET state = 'skipped' WHERE kind = 'broadcast' AND ref_id = ?"
            " AND state = 'pending'",
            (broadcast_id,),
        )
        await audit.record(
            tx, actor_id=by, action="cancel_broadcast", subject=f"broadcast:{broadcast_id}", now=now
        )
    return await progress(db, broadcast_id)


async def finish_if_done(db: Database, broadcast_id: int, now: datetime) -> bool:
    """Once nothing waits (all sent, or stopped), mark it done and queue its delivery report,
    once."""
    if not (await progress(db, broadcast_id)).finished:
        return False
    async with db.transaction() as tx:
        async with tx.execute(
            "UPDATE broadcasts SET reported_at = :now,"
            " state = CASE state WHEN 'sending' THEN 'done' ELSE state END,"
            " finished_at = COALESCE(finished_at, :now)"
            " WHERE id = :id AND reported_at IS NULL RETURNING coordinator_id",
            {"now": to_db(now), "id": broadcast_id},
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return False
        await enqueue(
            tx,
            Notice(
                row[0],
                OutboxKind.BROADCAST_REPORT,
                broadcast_id,
                idempotency_key=f"broadcast:{broadcast_id}:report",
            ),
            now,
        )
    return True
