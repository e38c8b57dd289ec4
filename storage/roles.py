"""Who is a coordinator: listed in config, or promoted by another coordinator.

Every change of role is checked here (the presser must be a coordinator now) and audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from storage import audit
from storage.db import Database, Tx
from storage.errors import NotCoordinator, NotFound, WrongState
from storage.kinds import OutboxKind
from storage.models import Member, from_db
from storage.outbox import Notice, enqueue

if TYPE_CHECKING:
    from storage.nudges import Timings


async def ensure_coordinators(
    db: Database,
    telegram_ids: Iterable[int],
    now: datetime | None = None,
    timings: Timings | None = None,
) -> None:
    """Give the coordinator role to members listed in config (run at start), and bring each
    the cases that wait for a coordinator and reached nobody."""
    ids = list(telegram_ids)
    if not ids:
        return
    now = now or datetime.now(UTC)
    marks = ",".join("?" * len(ids))
    async with db.transaction() as tx:
        async with tx.execute(
            f"UPDATE members SET role = 'coordinator' WHERE telegram_id IN ({marks})"
            " RETURNING id, status",
            ids,
        ) as cursor:
            coordinators = [row[0] for row in await cursor.fetchall() if row[1] == "active"]
        for coordinator in sorted(coordinators):
            await queue_waiting_cases(tx, coordinator, now, timings)


def case_key(exchange_id: int, kind: OutboxKind, coordinator_id: int) -> str:
    """The idempotency key of a case (a dispute, a hold) put to one coordinator."""
    return f"ex:{exchange_id}:{kind}:{coordinator_id}"


async def queue_waiting_cases(
    tx: Tx, coordinator_id: int, now: datetime, timings: Timings | None = None
) -> int:
    """A member has just become a coordinator: queue for them every exchange that waits for a
    coordinator (disputed, held, or proposed and to be chased) and that no active coordinator
    apart from its parties was told of, so a case raised when there was nobody is not lost.
    Reports of members still open come too (safety.queue_open_reports), and offers to visit
    waiting for a check (visitors.queue_open_applications). Keys as the first
    telling used, so nothing is queued twice. Returns how many were queued."""
    if timings is None:
        from storage.nudges import DEFAULT_TIMINGS  # nudges imports this module

        timings = DEFAULT_TIMINGS
    rows = await tx.execute_fetchall(
        "SELECT e.id, e.state, e.proposed_minutes, e.updated_at FROM exchanges e"
        " WHERE e.state IN ('disputed', 'held', 'proposed')"
        " AND :me NOT IN (e.giver_id, e.receiver_id)"
        " AND NOT EXISTS (SELECT 1 FROM outbox o JOIN members m ON m.id = o.member_id"
        "  WHERE o.ref_id = e.id AND m.role = 'coordinator' AND m.status = 'active'"
        "  AND m.id NOT IN (e.giver_id, e.receiver_id)"
        "  AND ((e.state <> 'proposed' AND o.kind = 'exchange_' || e.state)"
        "   OR (e.state = 'proposed' AND o.kind = 'coordinator_confirm_stuck'"
        "    AND json_extract(o.args, '$.since') = e.updated_at)))"
        " ORDER BY e.id",
        {"me": coordinator_id},
    )
    for row in rows:
        if row["state"] == "proposed":
            # As nudges.on_proposed would have: due once the wait is long, now if it is.
            since = row["updated_at"]
            due = max(now, from_db(since) + timings.confirm_escalate_after)
            notice = Notice(
                coordinator_id,
                OutboxKind.COORDINATOR_CONFIRM_STUCK,
                row["id"],
                {"minutes": row["proposed_minutes"], "since": since},
                due_at=due,
                idempotency_key=f"ex:{row['id']}:stuck:{since}:{coordinator_id}",
            )
        else:
            kind = OutboxKind(f"exchange_{row['state']}")
            notice = Notice(
                coordinator_id,
                kind,
                row["id"],
                idempotency_key=case_key(row["id"], kind, coordinator_id),
            )
        await enqueue(tx, notice, now)
    from storage import safety, visitors  # both import this module

    reports = await safety.queue_open_reports(tx, coordinator_id, now)
    applications = await visitors.queue_open_applications(tx, coordinator_id, now)
    return len(rows) + reports + applications


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


async def promote(
    db: Database, *, by: int, member_id: int, now: datetime, timings: Timings | None = None
) -> Member:
    """Make a member a coordinator; cases waiting for one are brought to them."""
    return await _set_role(
        db, by=by, member_id=member_id, role="coordinator", now=now, timings=timings
    )


async def demote(db: Database, *, by: int, member_id: int, now: datetime) -> Member:
    """Demote a coordinator; the last one can't be, or nobody could promote again."""
    return await _set_role(db, by=by, member_id=member_id, role="member", now=now)


async def _set_role(
    db: Database,
    *,
    by: int,
    member_id: int,
    role: str,
    now: datetime,
    timings: Timings | None = None,
) -> Member:
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
        await audit.record(
            tx, actor_id=by, action=action, subject=audit.member_subject(member_id), now=now
        )
        await enqueue(tx, Notice(member_id, OutboxKind(f"role_{action}d"), member_id), now)
        if role == "coordinator":
            await queue_waiting_cases(tx, member_id, now, timings)
    return Member.from_row(row)
