"""Visitors: members who offered to visit someone just home from hospital, and the checks and
briefings a coordinator records before any referral reaches them.

    (none) | declined | retired ─apply─▶ applied ─approve (a check recorded)─▶ approved
                                         applied ─decline─▶ declined
    approved ─pause─▶ paused ─resume─▶ approved;  approved | paused ─retire─▶ retired

- Every decision is a compare-and-set on the status by a coordinator (the role checked here,
  never their own), audited under the visitor's member subject, and the visitor is told kindly
  by an outbox row in the same transaction. A second coordinator learns who decided
  (AlreadyDecided).
- `check_expires_on` is always the latest expiry of the visitor's checks: matching reads it
  there (models.Visitor.can_visit), so a paused, retired or unchecked visitor, or one whose
  check ran out, is never offered a referral.
- Recording a check queues its warnings for the visitor and every coordinator
  (rules.check_warning_days before it runs out, and on the day itself); each carries the expiry
  it is about, so a renewal silences the old ones when they are rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from storage import audit, roles
from storage.db import Database, Row, Tx
from storage.errors import DomainError, NotFound, OwnCase, WrongState
from storage.kinds import OutboxKind
from storage.models import Member, Visitor, to_db
from storage.outbox import Notice, enqueue, enqueue_many
from storage.visit_rules import VisitRules

# When someone is usually free, as stored (comma-joined in this order) and worded by the
# catalogue as visitor.free_<key>.
FREE_TIMES = ("mornings", "afternoons", "evenings", "weekends")
# The kinds of check a coordinator records (visitor.check_<key>), and how long one holds.
CHECK_KINDS = ("dbs", "reference", "other")
CHECK_YEARS = (1, 2, 3)
MAX_NOTE = 500
MAX_AREA = 60
# Statuses from which someone may offer to visit again (a fresh application).
REAPPLY_FROM = ("declined", "retired")
# What a coordinator's button does to a visitor: from which statuses, to which, and what the
# visitor is told.
MOVES: dict[str, tuple[tuple[str, ...], str, OutboxKind]] = {
    "pause": (("approved",), "paused", OutboxKind.VISITOR_PAUSED),
    "resume": (("paused",), "approved", OutboxKind.VISITOR_RESUMED),
    "retire": (("approved", "paused"), "retired", OutboxKind.VISITOR_RETIRED),
}
# /visitors: who waits for a coordinator first, then who visits, then who is paused.
LISTED = ("applied", "approved", "paused")


class AlreadyVisitor(WrongState):
    """They have offered already (or visit already): `status` says where they stand."""

    def __init__(self, status: str) -> None:
        super().__init__(f"already a visitor: {status}")
        self.status = status


class AlreadyDecided(WrongState):
    """Another coordinator (or a first tap) decided this application already."""

    def __init__(self, member_id: int, decided_by: str | None, status: str) -> None:
        super().__init__(f"visitor {member_id} already {status}")
        self.decided_by = decided_by
        self.status = status


class CheckRunOut(DomainError):
    """The check as described has already run out: it can't make anyone a visitor."""


@dataclass(frozen=True, slots=True)
class NewCheck:
    """A check and briefing as a coordinator describes it, before it is recorded."""

    kind: str
    checked_on: date
    years: int
    note: str | None = None

    @property
    def expires_on(self) -> date:
        return add_years(self.checked_on, self.years)


@dataclass(frozen=True, slots=True)
class Check:
    """A check recorded, for the visitor's card."""

    id: int
    kind: str
    checked_on: date
    expires_on: date
    note: str | None
    recorded_by: str | None  # the coordinator's name (None: they left)


@dataclass(frozen=True, slots=True)
class Applied:
    """An application sent: `told` counts the coordinators told (0: kept for the first);
    `paid_forward` when it answered the pay-it-forward question of the visitor's own visit."""

    visitor: Visitor
    told: int
    paid_forward: bool


@dataclass(frozen=True, slots=True)
class Change:
    """A visitor as now stored after a decision, and whether this one changed them (False: a
    second tap, or another coordinator first)."""

    visitor: Visitor
    name: str
    changed: bool


@dataclass(frozen=True, slots=True)
class Listed:
    """One visitor in /visitors."""

    member_id: int
    name: str
    status: str
    check_expires_on: date | None


@dataclass(frozen=True, slots=True)
class Card:
    """What a coordinator sees of one visitor (seeing it is audited)."""

    visitor: Visitor
    member: Member
    checks: tuple[Check, ...]


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def free_times(visitor: Visitor) -> tuple[str, ...]:
    """The keys of when they are usually free, as stored."""
    return tuple(key for key in (visitor.free_when or "").split(",") if key in FREE_TIMES)


# --- reading ------------------------------------------------------------------------------


async def get(db: Database, member_id: int) -> Visitor | None:
    """The visitor row of a member, with their areas; None if they never offered."""
    row = await db.one("SELECT * FROM visitors WHERE member_id = ?", (member_id,))
    if row is None:
        return None
    areas = await db.all(
        "SELECT area FROM visitor_areas WHERE member_id = ? ORDER BY area", (member_id,)
    )
    return Visitor.from_row(row, [area[0] for area in areas])


async def _visitor(tx: Tx, row: Row) -> Visitor:
    areas = await tx.execute_fetchall(
        "SELECT area FROM visitor_areas WHERE member_id = ? ORDER BY area", (row["member_id"],)
    )
    return Visitor.from_row(row, [area[0] for area in areas])


async def listing(db: Database, *, seen_by: int, limit: int = 60) -> list[Listed]:
    """/visitors: applied first (oldest first), then approved (soonest check expiry first),
    then paused. Names and statuses only; opening a card is what is audited."""
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, seen_by)
        rows = await tx.execute_fetchall(
            "SELECT v.member_id, m.display_name, v.status, v.check_expires_on FROM visitors v"
            " JOIN members m ON m.id = v.member_id WHERE v.status IN ('applied', 'approved',"
            " 'paused') ORDER BY CASE v.status WHEN 'applied' THEN 0 WHEN 'approved' THEN 1"
            " ELSE 2 END, CASE v.status WHEN 'applied' THEN v.applied_at"
            " ELSE coalesce(v.check_expires_on, '') END, m.display_name LIMIT ?",
            (limit,),
        )
    return [
        Listed(row[0], row[1], row[2], date.fromisoformat(row[3]) if row[3] else None)
        for row in rows
    ]


async def card(db: Database, *, seen_by: int, member_id: int, now: datetime) -> Card:
    """One visitor for a coordinator (role checked here): their areas, times and checks. The
    coordinator is logged as having seen them, so the visitor's /mydata says so."""
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, seen_by)
        row = await tx.one("SELECT * FROM visitors WHERE member_id = ?", member_id)
        member = await tx.one("SELECT * FROM members WHERE id = ?", member_id)
        if row is None or member is None:
            raise NotFound(member_id)
        checks = await tx.execute_fetchall(
            "SELECT c.id, c.kind, c.checked_on, c.expires_on, c.note, m.display_name"
            " FROM visitor_checks c LEFT JOIN members m ON m.id = c.recorded_by AND m.id <> 0"
            " WHERE c.member_id = ? ORDER BY c.expires_on DESC, c.id DESC LIMIT 3",
            (member_id,),
        )
        if seen_by != member_id:
            await audit.viewed(tx, seen_by, member_id, "visitor", now)
        visitor = await _visitor(tx, row)
    return Card(
        visitor,
        Member.from_row(member),
        tuple(
            Check(
                c[0], c[1], date.fromisoformat(c[2]), date.fromisoformat(c[3]), c[4], c[5] or None
            )
            for c in checks
        ),
    )


# Where an offer stands, and who decided it (None: nobody yet, or they left).
_DECIDED = (
    "SELECT v.status, m.display_name FROM visitors v"
    " LEFT JOIN members m ON m.id = v.decided_by AND m.id <> 0 WHERE v.member_id = ?"
)


async def name_of(db: Database, member_id: int) -> str:
    """A visitor's name, for a coordinator's question about them; NotFound if not a visitor."""
    name = await db.scalar(
        "SELECT m.display_name FROM visitors v JOIN members m ON m.id = v.member_id"
        " WHERE v.member_id = ?",
        (member_id,),
    )
    if name is None:
        raise NotFound(member_id)
    return str(name)


async def require_applied(db: Database, member_id: int) -> None:
    """Raise AlreadyDecided (naming who decided) unless this offer still waits, so a second
    coordinator learns it at the first tap, not after recording a whole check."""
    row = await db.one(_DECIDED, (member_id,))
    if row is None:
        raise NotFound(member_id)
    if row[0] != "applied":
        raise AlreadyDecided(member_id, row[1] or None, row[0])


# --- signing up ---------------------------------------------------------------------------


async def apply(
    db: Database,
    *,
    member_id: int,
    areas: Sequence[str],
    free_when: Sequence[str],
    now: datetime,
    referral_id: int | None = None,
) -> Applied:
    """Offer to visit: an application every coordinator is told of. From the pay-it-forward
    question (`referral_id`), a former patient's yes is kept on their referral in the same
    transaction; anyone else's referral id signs them up as a plain volunteer. Someone who
    applied, visits or is paused already raises AlreadyVisitor; one declined or retired
    before may offer again."""
    places = sorted(set(areas))
    chosen = [key for key in FREE_TIMES if key in set(free_when)]
    if any(not 0 < len(place) <= MAX_AREA for place in places) or set(free_when) - set(chosen):
        raise NotFound(member_id)
    at = to_db(now)
    async with db.transaction() as tx:
        if (
            await tx.one("SELECT 1 FROM members WHERE id = ? AND status = 'active'", member_id)
            is None
        ):
            raise NotFound(member_id)
        paid_forward = referral_id is not None and await _pay_forward(
            tx, referral_id, member_id, at
        )
        async with tx.execute(
            "INSERT INTO visitors (member_id, status, free_when, source, applied_at, updated_at)"
            " VALUES (:me, 'applied', :free, :source, :at, :at)"
            " ON CONFLICT (member_id) DO UPDATE SET status = 'applied', free_when = :free,"
            " source = :source, applied_at = :at, decided_by = NULL, decided_at = NULL,"
            " updated_at = :at WHERE visitors.status IN ('declined', 'retired') RETURNING *",
            {
                "me": member_id,
                "free": ",".join(chosen) or None,
                "source": "paid_forward" if paid_forward else "volunteered",
                "at": at,
            },
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            current = await tx.one("SELECT status FROM visitors WHERE member_id = ?", member_id)
            assert current is not None
            raise AlreadyVisitor(current[0])
        await tx.execute("DELETE FROM visitor_areas WHERE member_id = ?", (member_id,))
        await tx.executemany(
            "INSERT INTO visitor_areas (area, member_id) VALUES (?, ?)",
            [(place, member_id) for place in places],
        )
        coordinators = await roles.coordinator_ids(tx, apart_from=(member_id,))
        await enqueue_many(tx, (_application_notice(member_id, at, c) for c in coordinators), now)
    return Applied(Visitor.from_row(row, places), len(coordinators), paid_forward)


async def _pay_forward(tx: Tx, referral_id: int, member_id: int, at: str) -> bool:
    """The patient of this referral said yes to visiting someone else: kept, once."""
    row = await tx.one(
        "UPDATE referrals SET pay_forward = 'yes', updated_at = ?"
        " WHERE id = ? AND patient_id = ? AND pay_forward IN ('asked', 'yes') RETURNING id",
        at,
        referral_id,
        member_id,
    )
    return row is not None


def _application_notice(member_id: int, applied_at: str, coordinator_id: int) -> Notice:
    return Notice(
        coordinator_id,
        OutboxKind.VISITOR_APPLIED,
        member_id,
        {"at": applied_at},
        idempotency_key=f"visitor:{member_id}:applied:{applied_at}:{coordinator_id}",
    )


async def queue_open_applications(tx: Tx, coordinator_id: int, now: datetime) -> int:
    """A new coordinator hears of every application still waiting (keys as the first telling
    used, so nobody hears of one twice). Returns how many were waiting."""
    rows = await tx.execute_fetchall(
        "SELECT member_id, applied_at FROM visitors WHERE status = 'applied' AND member_id <> ?"
        " ORDER BY applied_at",
        (coordinator_id,),
    )
    await enqueue_many(tx, (_application_notice(r[0], r[1], coordinator_id) for r in rows), now)
    return len(rows)


# --- deciding -----------------------------------------------------------------------------


async def approve(
    db: Database,
    *,
    by: int,
    member_id: int,
    check: NewCheck,
    now: datetime,
    today: date,
    rules: VisitRules,
) -> Change:
    """Approve an application with the check and briefing done (audited); the visitor is told.
    `today` is the timebank's local date, which check dates count from."""
    _require_valid(check, member_id, today)
    async with db.transaction() as tx:
        row = await _decide(tx, by, member_id, "approved", now)
        visitor = await _add_check(tx, by, row, check, now, today, rules)
        await audit.record(
            tx,
            actor_id=by,
            action="approve_visitor",
            subject=audit.member_subject(member_id),
            now=now,
            detail=_check_detail(check),
        )
        await enqueue(tx, Notice(member_id, OutboxKind.VISITOR_APPROVED, member_id), now)
        name = await _name(tx, member_id)
    return Change(visitor, name, changed=True)


async def decline(db: Database, *, by: int, member_id: int, now: datetime) -> Change:
    """Decline an application (audited); they are told kindly."""
    async with db.transaction() as tx:
        row = await _decide(tx, by, member_id, "declined", now)
        await audit.record(
            tx,
            actor_id=by,
            action="decline_visitor",
            subject=audit.member_subject(member_id),
            now=now,
        )
        await enqueue(tx, Notice(member_id, OutboxKind.VISITOR_DECLINED, member_id), now)
        visitor = await _visitor(tx, row)
        name = await _name(tx, member_id)
    return Change(visitor, name, changed=True)


async def _decide(tx: Tx, by: int, member_id: int, status: str, now: datetime) -> Row:
    """Decide an application, once: a decided one raises AlreadyDecided, naming who."""
    await _require_coordinator_for(tx, by, member_id)
    row = await tx.one(
        "UPDATE visitors SET status = ?, decided_by = ?, decided_at = ?, updated_at = ?"
        " WHERE member_id = ? AND status = 'applied' RETURNING *",
        status,
        by,
        to_db(now),
        to_db(now),
        member_id,
    )
    if row is not None:
        return row
    earlier = await tx.one(_DECIDED, member_id)
    if earlier is None:
        raise NotFound(member_id)
    raise AlreadyDecided(member_id, earlier[1] or None, earlier[0])


async def _require_coordinator_for(tx: Tx, by: int, member_id: int) -> None:
    await roles.require_coordinator(tx, by)
    if by == member_id:
        raise OwnCase(member_id)  # nobody decides about themselves


def _require_valid(check: NewCheck, member_id: int, today: date) -> None:
    note_ok = check.note is None or 0 < len(check.note) <= MAX_NOTE
    if check.kind not in CHECK_KINDS or check.years not in CHECK_YEARS or not note_ok:
        raise NotFound(member_id)
    if check.checked_on > today:
        raise NotFound(member_id)
    if check.expires_on <= today:
        raise CheckRunOut(member_id)


def _check_detail(check: NewCheck) -> dict[str, str]:
    return {"kind": check.kind, "expires_on": check.expires_on.isoformat()}


async def record_check(
    db: Database,
    *,
    by: int,
    member_id: int,
    check: NewCheck,
    now: datetime,
    today: date,
    rules: VisitRules,
) -> Change:
    """A new check for an approved or paused visitor (a renewal; audited); they are told.
    An application is approved with its check instead (`approve`)."""
    _require_valid(check, member_id, today)
    async with db.transaction() as tx:
        await _require_coordinator_for(tx, by, member_id)
        row = await tx.one(
            "SELECT * FROM visitors WHERE member_id = ? AND status IN ('approved', 'paused')",
            member_id,
        )
        if row is None:
            raise WrongState(member_id)
        visitor = await _add_check(tx, by, row, check, now, today, rules)
        await audit.record(
            tx,
            actor_id=by,
            action="record_visitor_check",
            subject=audit.member_subject(member_id),
            now=now,
            detail=_check_detail(check),
        )
        notice = Notice(
            member_id,
            OutboxKind.VISITOR_CHECKED,
            member_id,
            {"expires": check.expires_on.isoformat()},
        )
        await enqueue(tx, notice, now)
        name = await _name(tx, member_id)
    return Change(visitor, name, changed=True)


async def _add_check(
    tx: Tx,
    by: int,
    row: Row,
    check: NewCheck,
    now: datetime,
    today: date,
    rules: VisitRules,
) -> Visitor:
    """Write the check, keep the visitor's expiry the latest of their checks, and queue the
    warnings of this check if it is that latest one."""
    member_id = row["member_id"]
    await tx.execute(
        "INSERT INTO visitor_checks (member_id, kind, checked_on, expires_on, note,"
        " recorded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            member_id,
            check.kind,
            check.checked_on.isoformat(),
            check.expires_on.isoformat(),
            check.note,
            by,
            to_db(now),
        ),
    )
    updated = await _keep_latest_expiry(tx, member_id, now)
    assert updated is not None
    if updated["check_expires_on"] == check.expires_on.isoformat():
        await _queue_expiry(tx, member_id, check.expires_on, now, today, rules)
    return await _visitor(tx, updated)


async def _keep_latest_expiry(tx: Tx, member_id: int, now: datetime) -> Row | None:
    async with tx.execute(
        "UPDATE visitors SET updated_at = :at, check_expires_on ="
        " (SELECT max(expires_on) FROM visitor_checks WHERE member_id = :me)"
        " WHERE member_id = :me RETURNING *",
        {"at": to_db(now), "me": member_id},
    ) as cursor:
        return await cursor.fetchone()


async def _queue_expiry(
    tx: Tx, member_id: int, expires_on: date, now: datetime, today: date, rules: VisitRules
) -> None:
    """The warnings of a check, for the visitor and every coordinator: `check_warning_days`
    before it runs out and on the day, each at the time of day it was recorded (a coordinator
    was awake then). Only those still ahead are queued."""
    people = [member_id, *await roles.coordinator_ids(tx, apart_from=(member_id,))]
    expires = expires_on.isoformat()
    ahead = [(days, OutboxKind.VISITOR_CHECK_EXPIRING) for days in rules.check_warning_days]
    ahead.append((0, OutboxKind.VISITOR_CHECK_EXPIRED))
    notices = [
        Notice(
            person,
            kind,
            member_id,
            {"expires": expires, "days": days},
            due_at=due,
            idempotency_key=f"visitor:{member_id}:check:{expires}:{days}:{person}",
        )
        for days, kind in ahead
        if (due := now + (expires_on - timedelta(days=days) - today)) > now
        for person in people
    ]
    await enqueue_many(tx, notices, now)


async def move(db: Database, *, by: int, member_id: int, action: str, now: datetime) -> Change:
    """Pause, resume or retire a visitor (audited); they are told kindly. One who is already
    so changes nothing and hears nothing twice."""
    if action not in MOVES:
        raise NotFound(member_id)
    allowed, status, kind = MOVES[action]
    marks = ",".join("?" * len(allowed))
    async with db.transaction() as tx:
        await _require_coordinator_for(tx, by, member_id)
        row = await tx.one(
            "UPDATE visitors SET status = ?, updated_at = ?"
            f" WHERE member_id = ? AND status IN ({marks}) RETURNING *",
            status,
            to_db(now),
            member_id,
            *allowed,
        )
        changed = row is not None
        if row is None:
            row = await tx.one("SELECT * FROM visitors WHERE member_id = ?", member_id)
            if row is None:
                raise NotFound(member_id)
            if row["status"] != status:
                raise WrongState(member_id)
        else:
            await audit.record(
                tx,
                actor_id=by,
                action=f"{action}_visitor",
                subject=audit.member_subject(member_id),
                now=now,
            )
            await enqueue(tx, Notice(member_id, kind, member_id), now)
        visitor = await _visitor(tx, row)
        name = await _name(tx, member_id)
    return Change(visitor, name, changed)


async def _name(tx: Tx, member_id: int) -> str:
    row = await tx.one("SELECT display_name FROM members WHERE id = ?", member_id)
    return str(row[0]) if row else ""


def applied_at(visitor: Visitor) -> str:
    """The application's stamp, as its notices carry it (to tell a new one from an old)."""
    return to_db(visitor.applied_at)
