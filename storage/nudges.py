"""Nudges as promises: each is queued in the outbox, at the moment it becomes owed, with an
idempotency key so the same nudge is never queued twice. Whether it still applies is decided
when it is due (the exchange may have been confirmed meanwhile)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import guards, roles
from storage.db import Database, Row, Tx
from storage.kinds import OutboxKind
from storage.models import Exchange, to_db
from storage.outbox import Notice, enqueue

SCAN_BATCH = 50


@dataclass(frozen=True)
class Timings:
    unconfirmed_after: timedelta = timedelta(days=3)
    confirm_reminder_after: timedelta = timedelta(days=2)
    confirm_escalate_after: timedelta = timedelta(days=5)
    need_open_after: timedelta = timedelta(days=5)
    need_match_count: int = 5
    new_member_after: timedelta = timedelta(days=2)


DEFAULT_TIMINGS = Timings()


async def on_join(tx: Tx, member_id: int, now: datetime, timings: Timings) -> None:
    await enqueue(
        tx,
        Notice(
            member_id,
            OutboxKind.NUDGE_FIRST_POST,
            member_id,
            due_at=now + timings.new_member_after,
            idempotency_key=f"member:{member_id}:first_post",
        ),
        now,
    )


async def on_agreed(tx: Tx, exchange: Exchange, now: datetime, timings: Timings) -> None:
    for party in (exchange.giver_id, exchange.receiver_id):
        await enqueue(
            tx,
            Notice(
                party,
                OutboxKind.NUDGE_UNCONFIRMED,
                exchange.id,
                due_at=now + timings.unconfirmed_after,
                idempotency_key=f"ex:{exchange.id}:unconfirmed:{party}",
            ),
            now,
        )


async def on_proposed(tx: Tx, exchange: Exchange, now: datetime, timings: Timings) -> None:
    """Remind the other party later, and tell coordinators if it is still waiting after that."""
    assert exchange.proposed_by is not None
    since = to_db(exchange.updated_at)
    args = {"minutes": exchange.proposed_minutes, "since": since}
    other = exchange.other_party(exchange.proposed_by)
    await enqueue(
        tx,
        Notice(
            other,
            OutboxKind.NUDGE_CONFIRM_WAITING,
            exchange.id,
            args,
            due_at=now + timings.confirm_reminder_after,
            idempotency_key=f"ex:{exchange.id}:waiting:{since}",
        ),
        now,
    )
    for coordinator in await roles.coordinator_ids(
        tx, apart_from=(exchange.giver_id, exchange.receiver_id)
    ):
        await enqueue(
            tx,
            Notice(
                coordinator,
                OutboxKind.COORDINATOR_CONFIRM_STUCK,
                exchange.id,
                args,
                due_at=now + timings.confirm_escalate_after,
                idempotency_key=f"ex:{exchange.id}:stuck:{since}:{coordinator}",
            ),
            now,
        )


REMINDERS = (
    (OutboxKind.REMINDER_DAY_BEFORE, timedelta(days=1)),
    (OutboxKind.REMINDER_HOUR_BEFORE, timedelta(hours=1)),
)


def reminders_ahead(at: datetime, now: datetime) -> list[tuple[OutboxKind, timedelta]]:
    """The reminders still to come for help at `at`, set at `now` (the day before and an hour
    before, as long as that is still ahead): what members are promised, and what is queued."""
    return [(kind, ahead) for kind, ahead in REMINDERS if at - ahead > now]


async def on_scheduled(tx: Tx, exchange: Exchange, at: datetime, now: datetime) -> None:
    """Remind both parties the day before and an hour before; neither after the time itself."""
    stamp = to_db(at)
    for party in (exchange.giver_id, exchange.receiver_id):
        for kind, ahead in reminders_ahead(at, now):
            await enqueue(
                tx,
                Notice(
                    party,
                    kind,
                    exchange.id,
                    {"at": stamp},
                    due_at=at - ahead,
                    expires_at=at,
                    idempotency_key=f"ex:{exchange.id}:{kind}:{stamp}:{party}",
                ),
                now,
            )


async def queue_unmet_needs(db: Database, now: datetime, timings: Timings) -> int:
    """Needs open for a while with no response: ask the owner "still needed?" and tell a few
    members who offer that kind of help. Each need is handled once (listings.nudged_at), in
    small transactions so members' own writes are never held up for long."""
    cutoff = to_db(now - timings.need_open_after)
    queued = 0
    while True:
        async with db.transaction() as tx:
            needs = list(
                await tx.execute_fetchall(
                    "SELECT id, owner_id, category FROM listings WHERE kind = 'need'"
                    " AND status = 'open' AND nudged_at IS NULL AND created_at <= ?"
                    " ORDER BY created_at LIMIT ?",
                    (cutoff, SCAN_BATCH),
                )
            )
            for need in needs:
                if not await _has_response(tx, need["id"]):
                    queued += await _queue_need_nudges(tx, need, now, timings)
                await tx.execute(
                    "UPDATE listings SET nudged_at = ? WHERE id = ?", (to_db(now), need["id"])
                )
        if len(needs) < SCAN_BATCH:
            return queued


async def _has_response(tx: Tx, listing_id: int) -> bool:
    async with tx.execute(
        "SELECT 1 FROM responses WHERE listing_id = ? AND status <> 'withdrawn' LIMIT 1",
        (listing_id,),
    ) as cur:
        return await cur.fetchone() is not None


async def _queue_need_nudges(tx: Tx, need: Row, now: datetime, timings: Timings) -> int:
    need_id = need["id"]
    await enqueue(
        tx,
        Notice(
            need["owner_id"],
            OutboxKind.NEED_STILL_OPEN,
            need_id,
            idempotency_key=f"need:{need_id}:open",
        ),
        now,
    )
    # Driven from the open offers of that category (a partial index), not from all members;
    # never someone paused, or kept apart from the need's owner by a block.
    async with tx.execute(
        "SELECT DISTINCT o.owner_id FROM listings o JOIN members m ON m.id = o.owner_id"
        " WHERE o.kind = 'offer' AND o.status = 'open' AND o.category = :category"
        " AND o.owner_id != :owner AND m.status = 'active' AND m.nudges_enabled = 1"
        " AND m.unreachable_at IS NULL AND m.telegram_id IS NOT NULL AND m.paused_at IS NULL"
        f" AND {guards.apart(':owner', 'o.owner_id')}"
        " ORDER BY o.owner_id DESC LIMIT :k",
        {"owner": need["owner_id"], "category": need["category"], "k": timings.need_match_count},
    ) as cur:
        helpers = [row[0] for row in await cur.fetchall()]
    for helper in helpers:
        await enqueue(
            tx,
            Notice(
                helper,
                OutboxKind.NEED_MATCH,
                need_id,
                idempotency_key=f"need:{need_id}:match:{helper}",
            ),
            now,
        )
    return 1 + len(helpers)
