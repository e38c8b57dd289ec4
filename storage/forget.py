"""/forget: a member leaves, and what they gave the timebank as a person goes with them.

One transaction, so a member is either all there or all gone. First their open exchanges are
cancelled, and whoever was waiting on them told; then every rule of the privacy registry
(storage.privacy) runs, in its order. What stays (the ledger, exchanges, what coordinators
did) names the former member (models.FORMER_MEMBER_ID). Their ledger account passes to the
former member with its entries untouched, so the ledger still sums to zero and no other
member's balance changes.

Afterwards the write-ahead log is emptied into the file; with `PRAGMA secure_delete` (db.py)
the deleted bytes are overwritten, so their name and posts are gone from the disk, not only
from every query.

Forgetting someone who isn't there (already forgotten, never joined, the former member
itself) raises NotFound and changes nothing: a second tap of "Leave" is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from storage import roles
from storage.db import Database, Tx
from storage.kinds import OPEN_STATES, OutboxKind
from storage.models import FORMER_MEMBER_ID, to_db
from storage.outbox import Notice, enqueue_many
from storage.privacy import RULES, params_for, require_member


@dataclass(frozen=True, slots=True)
class ForgetResult:
    member_id: int
    cancelled: tuple[int, ...]  # open exchanges cancelled; each other party got partner_left
    coordinators_told: int  # member_left notices queued
    rows: Mapping[str, int]  # rows deleted or changed, by table


async def forget(db: Database, member_id: int, now: datetime) -> ForgetResult:
    """Delete the member and everything that is theirs alone; keep the books true."""
    async with db.transaction() as tx:
        status = await require_member(tx, member_id)
        cancelled = await _cancel_open_exchanges(tx, member_id, now)
        told = (
            await _tell_coordinators(tx, member_id, len(cancelled), now)
            if status == "active"
            else 0
        )
        params = {**params_for(member_id), "now": now}
        rows = {rule.table: 0 for rule in RULES if rule.forget}
        for rule in RULES:
            for step in rule.forget:
                rows[rule.table] += await step(tx, params)
    await db.checkpoint()
    return ForgetResult(member_id, cancelled, told, rows)


async def _cancel_open_exchanges(tx: Tx, member_id: int, now: datetime) -> tuple[int, ...]:
    """Cancel every exchange of theirs still under way, and tell each other party. Nothing
    was credited for any of them, so nothing is owed; the category says which it was (the
    post itself may be theirs, and go)."""
    marks = ", ".join("?" * len(OPEN_STATES))
    rows = await tx.execute_fetchall(
        "UPDATE exchanges SET state = 'cancelled', updated_at = ?"
        f" WHERE (giver_id = ? OR receiver_id = ?) AND state IN ({marks})"
        " RETURNING id, CASE giver_id WHEN ? THEN receiver_id ELSE giver_id END AS other,"
        " (SELECT category FROM listings WHERE id = listing_id) AS category",
        (to_db(now), member_id, member_id, *OPEN_STATES, member_id),
    )
    notices = [
        Notice(row["other"], OutboxKind.PARTNER_LEFT, row["id"], {"category": row["category"]})
        for row in rows
        if row["other"] != FORMER_MEMBER_ID  # who had left before: nobody to tell
    ]
    await enqueue_many(tx, notices, now)
    return tuple(sorted(row["id"] for row in rows))


async def _tell_coordinators(tx: Tx, member_id: int, cancelled: int, now: datetime) -> int:
    """Each active coordinator hears that a member left (never who, or why), and how many
    open exchanges that cancelled."""
    coordinators = await roles.coordinator_ids(tx, apart_from=(member_id,))
    args = {"cancelled": cancelled}
    await enqueue_many(
        tx, [Notice(c, OutboxKind.MEMBER_LEFT, args=args) for c in coordinators], now
    )
    return len(coordinators)
