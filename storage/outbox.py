"""The outbox: a row per message the bot owes someone, written in the same transaction as the
event that makes it owed, and marked once it is sent."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from storage import audit
from storage.db import Database, Row, Tx
from storage.kinds import OutboxKind, OutboxState
from storage.models import from_row, to_db

# How long a claimed row may stay unmarked before it is due again: longer than any send waits
# for pacing and Telegram's answer, short enough that a stranded row is soon retried.
LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Notice:
    """What to tell whom; rendered to text only when it is sent."""

    member_id: int
    kind: OutboxKind
    ref_id: int | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    due_at: datetime | None = None
    expires_at: datetime | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    member_id: int
    telegram_id: int | None
    kind: OutboxKind
    ref_id: int | None
    args: Mapping[str, Any]
    due_at: datetime
    attempts: int
    nudges_enabled: bool = True
    digest: bool = False
    quiet_hours: str | None = None
    unreachable: bool = False
    language: str | None = None
    expires_at: datetime | None = None  # after this it is no use (a reminder of a past time)


async def enqueue(tx: Tx, notice: Notice, now: datetime) -> None:
    """Add a notice inside the caller's transaction; a repeated idempotency key is ignored."""
    await enqueue_many(tx, (notice,), now)


async def enqueue_many(tx: Tx, notices: Iterable[Notice], now: datetime) -> None:
    """Add notices in one trip to the database (a member leaving may owe a hundred)."""
    rows = [
        (
            notice.member_id,
            notice.kind,
            notice.ref_id,
            json.dumps(dict(notice.args), separators=(",", ":")),
            to_db(notice.due_at or now),
            to_db(notice.expires_at) if notice.expires_at else None,
            notice.idempotency_key,
            to_db(now),
        )
        for notice in notices
    ]
    if rows:
        tx.queued_outbox = True
        await tx.executemany(
            "INSERT INTO outbox (member_id, kind, ref_id, args, due_at, expires_at,"
            " idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (idempotency_key) DO NOTHING",
            rows,
        )


async def claim_due(
    db: Database,
    now: datetime,
    limit: int,
    *,
    skip_kinds: Collection[str] = (),
    lease: timedelta = LEASE,
) -> list[OutboxItem]:
    """Mark up to `limit` due rows as sending, under a lease, and return them, oldest due
    first, leaving rows of `skip_kinds` for another pass.

    Rows whose lease ran out (their sender died or erred between claim and mark) are due
    again first, so nothing waits for a restart."""
    skipped = {f"skip{i}": kind for i, kind in enumerate(skip_kinds)}
    not_these = f"AND kind NOT IN ({', '.join(':' + name for name in skipped)})" if skipped else ""
    async with db.transaction(durable=False) as tx:
        if not skipped:  # only the scheduler's full pass: direct notices never expire
            await tx.execute(
                "UPDATE outbox SET state = 'skipped'"
                " WHERE state = 'pending' AND due_at <= :now AND expires_at <= :now",
                {"now": to_db(now)},
            )
        # Two walks, each down its own index in due order, so a backlog of thousands costs
        # no more per batch than an empty queue: due rows, and rows whose lease ran out.
        async with tx.execute(
            "UPDATE outbox SET state = 'sending', lease_until = :lease WHERE id IN ("
            " SELECT id FROM (SELECT id, due_at FROM (SELECT id, due_at FROM outbox"
            f" WHERE state = 'pending' AND due_at <= :now {not_these}"
            " ORDER BY due_at, id LIMIT :limit)"
            " UNION ALL SELECT id, due_at FROM (SELECT id, due_at"
            " FROM outbox INDEXED BY outbox_leases"
            f" WHERE state = 'sending' AND lease_until <= :now {not_these} LIMIT :limit)"
            " ORDER BY due_at, id LIMIT :limit))"
            " RETURNING id",
            {"lease": to_db(now + lease), "now": to_db(now), "limit": limit, **skipped},
        ) as cursor:
            ids = [row[0] for row in await cursor.fetchall()]
        rows = await _select_items(tx, ids)
    return [_item(row) for row in rows]


async def claim_member_nudges(
    db: Database, member_id: int, kinds: Iterable[str], now: datetime, lease: timedelta = LEASE
) -> list[OutboxItem]:
    """Claim every due nudge of one member, to merge them into a single digest message."""
    kind_list = list(kinds)
    marks = ",".join("?" * len(kind_list))
    async with db.transaction(durable=False) as tx:
        async with tx.execute(
            "UPDATE outbox SET state = 'sending', lease_until = ?"
            f" WHERE member_id = ? AND state = 'pending' AND due_at <= ? AND kind IN ({marks})"
            " RETURNING id",
            (to_db(now + lease), member_id, to_db(now), *kind_list),
        ) as cursor:
            ids = [row[0] for row in await cursor.fetchall()]
        rows = await _select_items(tx, ids)
    return [_item(row) for row in rows]


async def _select_items(tx: Tx, ids: list[int]) -> list[Row]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    async with tx.execute(
        "SELECT o.id, o.member_id, m.telegram_id, o.kind, o.ref_id, o.args, o.due_at,"
        " o.attempts, m.nudges_enabled, m.nudge_digest, m.quiet_hours, m.unreachable_at,"
        " m.language, o.expires_at"
        " FROM outbox o JOIN members m ON m.id = o.member_id"
        f" WHERE o.id IN ({marks}) ORDER BY o.due_at, o.id",
        ids,
    ) as cursor:
        return list(await cursor.fetchall())


def _item(row: Row) -> OutboxItem:
    return from_row(
        OutboxItem,
        row,
        kind=OutboxKind(row["kind"]),
        args=json.loads(row["args"]),
        digest=bool(row["nudge_digest"]),
        unreachable=row["unreachable_at"] is not None,
    )


async def mark(db: Database, item_ids: Iterable[int], state: OutboxState, now: datetime) -> None:
    """Record what became of claimed rows. Durable: after a power cut, the only message sent
    again is the one that was in flight (the sender has one at a time)."""
    ids = list(item_ids)
    async with db.transaction() as tx:
        await tx.executemany(
            "UPDATE outbox SET state = ?, sent_at = ?, lease_until = NULL"
            " WHERE id = ? AND state = 'sending'",
            [(state, to_db(now) if state == "sent" else None, item_id) for item_id in ids],
        )
        if state == "sent":
            await audit.record_shown(tx, ids, now)


async def release(
    db: Database, item_ids: Iterable[int], due_at: datetime, *, failed_attempt: bool = False
) -> None:
    """Put claimed rows back to wait until `due_at`: quiet hours, or a failed attempt
    (rate limited, network down) that counts towards giving up."""
    async with db.transaction() as tx:
        await tx.executemany(
            "UPDATE outbox SET state = 'pending', lease_until = NULL, due_at = ?,"
            " attempts = attempts + ? WHERE id = ? AND state = 'sending'",
            [(to_db(due_at), int(failed_attempt), item_id) for item_id in item_ids],
        )


async def recover_in_flight(db: Database) -> int:
    """At start, put back rows claimed by a process that died, without waiting for their lease.

    A row is 'sending' from its claim until it is marked, so after a crash only the message
    that was in flight is sent again: at most one duplicate, never a lost one."""
    async with db.transaction() as tx:
        cur = await tx.execute(
            "UPDATE outbox SET state = 'pending', lease_until = NULL WHERE state = 'sending'"
        )
        return int(cur.rowcount)
