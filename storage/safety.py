"""Blocks, reports and pauses: how a member keeps someone away or tells the coordinators, and
how a coordinator pauses a member while they look into it.

- A block is the blocker's own row (only they can lift it). It keeps the two apart both ways
  (storage/guards.py), calls off help agreed between them (exchanges.part) and is never told
  to the other person.
- A report reaches every active coordinator but the one reported, as an outbox row; with no
  coordinator yet it waits for the first (roles.queue_waiting_cases).
- A report is handled once, compare-and-set on handled_at: its member paused, or no action
  needed; a second coordinator learns who handled it. Pausing and resuming are audited, and
  the member is told kindly either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import audit, exchanges, roles
from storage.db import Database, Tx
from storage.errors import (
    AlreadyHandled,
    NotFound,
    NotYours,
    OwnCase,
    SamePerson,
)
from storage.kinds import OutboxKind
from storage.models import Member, Report, from_db, to_db
from storage.outbox import Notice, enqueue

MAX_NOTE = 500
REASONS = ("unsafe", "no_show", "other")
PAUSED, NO_ACTION = "paused", "no_action"


@dataclass(frozen=True, slots=True)
class Blocked:
    """Someone a member has blocked, for their /blocked list."""

    member_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Blocking:
    """What a block did: `added` is False when it stood already (a second tap)."""

    added: bool
    called_off: int = 0


@dataclass(frozen=True, slots=True)
class Filed:
    """A report written; `asked` counts the coordinators told (0: kept for the first)."""

    report: Report
    asked: int


@dataclass(frozen=True, slots=True)
class PausedMember:
    id: int
    name: str
    since: datetime
    by_name: str | None


@dataclass(frozen=True, slots=True)
class PauseChange:
    """A member as now stored after a pause or a resume, and whether this one changed them
    (False: they were already so, by a second tap or another coordinator first)."""

    member: Member
    changed: bool


# --- blocks -------------------------------------------------------------------------------


async def block(db: Database, *, member_id: int, other_id: int, now: datetime) -> Blocking:
    """Block someone (an active member on Telegram); blocking them again changes nothing."""
    if member_id == other_id:
        raise SamePerson(member_id)
    async with db.transaction() as tx:
        await _require_member(tx, other_id)
        cursor = await tx.execute(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
            (member_id, other_id, to_db(now)),
        )
        if cursor.rowcount == 0:
            return Blocking(added=False)
        called_off = await exchanges.part(tx, member_id, other_id, now)
    return Blocking(added=True, called_off=called_off)


async def unblock(db: Database, *, member_id: int, other_id: int) -> bool:
    """Lift the member's own block of someone; False if there was none. Only their own row is
    ever touched, so a forged button can't lift anybody else's block."""
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?", (member_id, other_id)
        )
        return bool(cursor.rowcount)


async def has_blocked(db: Database, member_id: int, other_id: int) -> bool:
    found = await db.scalar(
        "SELECT 1 FROM blocks WHERE blocker_id = ? AND blocked_id = ?", (member_id, other_id)
    )
    return found is not None


async def blocked_by(db: Database, member_id: int, limit: int = 30) -> list[Blocked]:
    """The people the member has blocked, latest first."""
    rows = await db.all(
        "SELECT m.id, m.display_name FROM blocks b JOIN members m ON m.id = b.blocked_id"
        " WHERE b.blocker_id = ? ORDER BY b.id DESC LIMIT ?",
        (member_id, limit),
    )
    return [Blocked(row[0], row[1]) for row in rows]


async def _require_member(tx: Tx, member_id: int) -> None:
    """Someone a member can block or report: active, on Telegram (never an applicant, or a
    person a coordinator records by hand)."""
    row = await tx.one(
        "SELECT 1 FROM members WHERE id = ? AND status = 'active' AND telegram_id IS NOT NULL",
        member_id,
    )
    if row is None:
        raise NotFound(member_id)


# --- reports ------------------------------------------------------------------------------


async def report(
    db: Database,
    *,
    reporter_id: int,
    reported_id: int,
    reason: str,
    note: str | None,
    exchange_id: int | None,
    now: datetime,
) -> Filed:
    """Tell the coordinators about someone. An exchange named must be one between the two."""
    if reason not in REASONS or (note is not None and not 0 < len(note) <= MAX_NOTE):
        raise NotFound(reported_id)
    if reporter_id == reported_id:
        raise SamePerson(reporter_id)
    async with db.transaction() as tx:
        await _require_member(tx, reported_id)
        if exchange_id is not None:
            await _require_their_exchange(tx, exchange_id, reporter_id, reported_id)
        async with tx.execute(
            "INSERT INTO member_reports (reporter_id, reported_id, exchange_id, reason, note,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
            (reporter_id, reported_id, exchange_id, reason, note, to_db(now)),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        filed = Report.from_row(row)
        coordinators = await roles.coordinator_ids(tx, apart_from=(reported_id,))
        for coordinator in coordinators:
            await _tell_coordinator(tx, filed.id, coordinator, now)
    return Filed(filed, len(coordinators))


async def _require_their_exchange(tx: Tx, exchange_id: int, one: int, other: int) -> None:
    row = await tx.one("SELECT giver_id, receiver_id FROM exchanges WHERE id = ?", exchange_id)
    if row is None:
        raise NotFound(exchange_id)
    if {row[0], row[1]} != {one, other}:
        raise NotYours(exchange_id)


async def _tell_coordinator(tx: Tx, report_id: int, coordinator_id: int, now: datetime) -> None:
    notice = Notice(
        coordinator_id,
        OutboxKind.MEMBER_REPORTED,
        report_id,
        idempotency_key=f"report:{report_id}:{coordinator_id}",
    )
    await enqueue(tx, notice, now)


async def queue_open_reports(tx: Tx, coordinator_id: int, now: datetime) -> int:
    """A new coordinator hears of every report still open that isn't about them (keys as the
    first telling used, so nobody hears of one twice). Returns how many were open."""
    rows = await tx.execute_fetchall(
        "SELECT id FROM member_reports WHERE handled_at IS NULL AND reported_id <> ? ORDER BY id",
        (coordinator_id,),
    )
    for row in rows:
        await _tell_coordinator(tx, row[0], coordinator_id, now)
    return len(rows)


async def get_report(db: Database, report_id: int) -> Report | None:
    row = await db.one("SELECT * FROM member_reports WHERE id = ?", (report_id,))
    return Report.from_row(row) if row else None


# --- pausing ------------------------------------------------------------------------------


async def pause(db: Database, *, by: int, report_id: int, now: datetime) -> PauseChange:
    """Handle a report by pausing its member (the coordinator's role checked here); they are
    told kindly. A member already paused stays so, and hears nothing twice. Returns the member
    and whether this pause was the one that paused them."""
    async with db.transaction() as tx:
        handled = await _handle(tx, by, report_id, PAUSED, now)
        async with tx.execute(
            "UPDATE members SET paused_at = ?, paused_by = ? WHERE id = ? AND paused_at IS NULL"
            " RETURNING *",
            (to_db(now), by, handled.reported_id),
        ) as cursor:
            row = await cursor.fetchone()
        await audit.record(
            tx,
            actor_id=by,
            action="pause_member",
            subject=f"member:{handled.reported_id}",
            now=now,
            detail={"report": report_id, "already_paused": row is None},
        )
        if row is not None:
            notice = Notice(handled.reported_id, OutboxKind.MEMBER_PAUSED, handled.reported_id)
            await enqueue(tx, notice, now)
        member = row or await tx.one("SELECT * FROM members WHERE id = ?", handled.reported_id)
        assert member is not None
    return PauseChange(Member.from_row(member), changed=row is not None)


async def dismiss(db: Database, *, by: int, report_id: int, now: datetime) -> Report:
    """Handle a report with no action needed (audited)."""
    async with db.transaction() as tx:
        handled = await _handle(tx, by, report_id, NO_ACTION, now)
        await audit.record(
            tx, actor_id=by, action="dismiss_report", subject=f"report:{report_id}", now=now
        )
    return handled


async def _handle(tx: Tx, by: int, report_id: int, outcome: str, now: datetime) -> Report:
    """Mark the report handled, once: a report handled already raises AlreadyHandled, naming
    who handled it and how."""
    await roles.require_coordinator(tx, by)
    row = await tx.one("SELECT reported_id FROM member_reports WHERE id = ?", report_id)
    if row is None:
        raise NotFound(report_id)
    if row[0] == by:
        raise OwnCase(report_id)  # nobody decides a report about themselves
    async with tx.execute(
        "UPDATE member_reports SET handled_by = ?, handled_at = ?, outcome = ?"
        " WHERE id = ? AND handled_at IS NULL RETURNING *",
        (by, to_db(now), outcome, report_id),
    ) as cursor:
        handled = await cursor.fetchone()
    if handled is None:
        earlier = await tx.one(
            "SELECT m.display_name, r.outcome FROM member_reports r"
            " JOIN members m ON m.id = r.handled_by WHERE r.id = ?",
            report_id,
        )
        assert earlier is not None
        raise AlreadyHandled(report_id, earlier[0], earlier[1])
    return Report.from_row(handled)


async def resume(db: Database, *, by: int, member_id: int, now: datetime) -> PauseChange:
    """Let a paused member post and answer again (audited); they are told kindly. Resuming
    someone not paused changes nothing."""
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        if member_id == by:
            raise OwnCase(member_id)
        async with tx.execute(
            "UPDATE members SET paused_at = NULL, paused_by = NULL"
            " WHERE id = ? AND paused_at IS NOT NULL RETURNING *",
            (member_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            current = await tx.one("SELECT * FROM members WHERE id = ?", member_id)
            if current is None:
                raise NotFound(member_id)
            return PauseChange(Member.from_row(current), changed=False)
        await audit.record(
            tx, actor_id=by, action="resume_member", subject=f"member:{member_id}", now=now
        )
        await enqueue(tx, Notice(member_id, OutboxKind.MEMBER_RESUMED, member_id), now)
    return PauseChange(Member.from_row(row), changed=True)


async def paused_members(
    db: Database, *, seen_by: int, now: datetime, limit: int = 30
) -> list[PausedMember]:
    """Who is paused now, longest first, and by whom; the coordinator looking (role checked
    here) is logged as having seen each one's pause, a safeguarding matter."""
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, seen_by)
        rows = await tx.execute_fetchall(
            "SELECT m.id, m.display_name, m.paused_at, c.display_name AS by_name FROM members m"
            " LEFT JOIN members c ON c.id = m.paused_by"
            " WHERE m.paused_at IS NOT NULL ORDER BY m.paused_at, m.id LIMIT ?",
            (limit,),
        )
        for row in rows:
            await audit.viewed(tx, seen_by, row["id"], "paused", now)
    return [
        PausedMember(row["id"], row["display_name"], from_db(row["paused_at"]), row["by_name"])
        for row in rows
    ]
