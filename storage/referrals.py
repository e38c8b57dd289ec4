"""Referrals: a patient discharged from hospital who is promised a home visit.

A referral is made two ways, and both only create it (state 'matching'); the scheduler's tick
(storage/matching.py) finds it and offers it to visitors:
- a coordinator registers a discharge (`register`, the role checked here, audited);
- a patient opens a ward's link and gives their details (`from_ward`): they become an active
  member at once, whatever the timebank's `join` is, since the ward vouches for them, and the
  member and the referral are written in one transaction, so neither exists without the other.
Coordinators then watch the open ones by time waiting (`waiting`), open one (`card`, each
opening audited: it shows the address and health notes), record a re-admission, or close it
(an open offer withdrawn, planned visits called off, the accepted visitor told).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from storage import audit, members, roles
from storage.db import Database, Tx
from storage.errors import DomainError, NotFound, WrongState
from storage.kinds import OutboxKind
from storage.members import Newcomer
from storage.models import Referral, from_db, to_db
from storage.nudges import Timings
from storage.outbox import Notice, enqueue
from storage.visit_rules import NEEDS, VisitRules

# The schema's CHECKs on referrals, in characters.
MAX_FIRST_NAME = 60
MAX_CONTACT = 60
MAX_ADDRESS = 300
MAX_NOTES = 1000
OPEN_STATES = ("matching", "accepted")
# A re-admission counts in the figures within this many days of discharge; /visits keeps
# visited referrals within reach for that long, so one can be recorded.
READMISSION_WINDOW = timedelta(days=30)


class InvalidReferral(DomainError):
    """A detail the schema would refuse (too long, empty, an unknown need or ward, a discharge
    in the future): the handlers check first, so this is a forged or stale value."""


class AlreadyReferred(WrongState):
    """The patient has a referral still open: a second one would send two visitors."""

    def __init__(self, referral: Referral) -> None:
        super().__init__(f"referral {referral.id} is still open")
        self.referral = referral


@dataclass(frozen=True, slots=True)
class Details:
    """What a referral says about the patient, as typed and tapped."""

    first_name: str
    area: str
    address: str | None
    contact: str | None
    needs: Sequence[str]
    discharged_at: datetime
    notes: str | None = None
    ward: str | None = None


@dataclass(frozen=True, slots=True)
class Waiting:
    """A referral in a coordinator's /visits list."""

    id: int
    first_name: str
    area: str
    discharged_at: datetime
    state: str
    visitor_name: str | None

    def waited(self, now: datetime) -> timedelta:
        return now - self.discharged_at


@dataclass(frozen=True, slots=True)
class Card:
    """A referral as a coordinator opens it: everything, with who is visiting."""

    referral: Referral
    visitor_name: str | None
    readmitted_on: date | None
    address_deleted: bool


def _checked(details: Details, rules: VisitRules, now: datetime) -> str:
    """The needs as stored (JSON, in NEEDS' order), once every detail fits the schema."""
    sizes = (
        (details.first_name, MAX_FIRST_NAME, False),
        (details.address, MAX_ADDRESS, True),
        (details.contact, MAX_CONTACT, True),
        (details.notes, MAX_NOTES, True),
    )
    for value, limit, optional in sizes:
        if (value is None and not optional) or (value is not None and not 0 < len(value) <= limit):
            raise InvalidReferral(value)
    if set(details.needs) - set(NEEDS) or details.discharged_at > now:
        raise InvalidReferral(details.needs)
    if details.ward is not None and details.ward not in rules.wards:
        raise InvalidReferral(details.ward)
    return json.dumps([need for need in NEEDS if need in details.needs])


async def _insert(
    tx: Tx,
    details: Details,
    needs: str,
    *,
    source: str,
    patient_id: int | None,
    registered_by: int | None,
    now: datetime,
) -> Referral:
    async with tx.execute(
        "INSERT INTO referrals (patient_id, first_name, area, contact, address, needs, notes,"
        " discharged_at, ward, source, registered_by, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (
            patient_id,
            details.first_name,
            details.area,
            details.contact,
            details.address,
            needs,
            details.notes,
            to_db(details.discharged_at),
            details.ward,
            source,
            registered_by,
            to_db(now),
            to_db(now),
        ),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return Referral.from_row(row)


async def register(
    db: Database, *, by: int, details: Details, rules: VisitRules, now: datetime
) -> Referral:
    """A coordinator registers a discharge (their role checked here; audited)."""
    needs = _checked(details, rules, now)
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        referral = await _insert(
            tx, details, needs, source="coordinator", patient_id=None, registered_by=by, now=now
        )
        await audit.record(
            tx, actor_id=by, action="register_referral", subject=subject(referral.id), now=now
        )
    return referral


async def from_ward(
    db: Database,
    *,
    telegram_id: int,
    newcomer: Newcomer | None,
    details: Details,
    rules: VisitRules,
    now: datetime,
    timings: Timings,
) -> Referral:
    """A patient who opened a ward's link asks for a visit. Someone not yet a member joins as
    `newcomer` (active at once: the ward is the referral); a member already (a second tap, or
    someone who joined before) is referred as they are, and one who was waiting for approval
    is let in. One open referral per patient: a second raises AlreadyReferred."""
    if details.ward is None:
        raise InvalidReferral(None)
    needs = _checked(details, rules, now)
    async with db.transaction() as tx:
        row = await tx.one("SELECT id FROM members WHERE telegram_id = ?", telegram_id)
        if row is not None:
            patient_id = int(row[0])
            await tx.execute(
                "UPDATE members SET status = 'active' WHERE id = ? AND status = 'pending'",
                (patient_id,),
            )
        elif newcomer is not None:
            patient_id = (await members.add(tx, newcomer, now, timings)).id
        else:
            raise NotFound(telegram_id)
        already = await _open_for(tx, patient_id)
        if already is not None:
            raise AlreadyReferred(already)
        return await _insert(
            tx, details, needs, source="ward", patient_id=patient_id, registered_by=None, now=now
        )


_OPEN_FOR_PATIENT = (
    "SELECT * FROM referrals WHERE patient_id = ? AND state IN ('matching', 'accepted')"
    " ORDER BY id DESC LIMIT 1"
)


async def _open_for(tx: Tx, patient_id: int) -> Referral | None:
    row = await tx.one(_OPEN_FOR_PATIENT, patient_id)
    return Referral.from_row(row) if row else None


async def open_for_patient(db: Database, patient_id: int) -> Referral | None:
    """The patient's referral still waiting for its first visit, if any."""
    row = await db.one(_OPEN_FOR_PATIENT, (patient_id,))
    return Referral.from_row(row) if row else None


def subject(referral_id: int) -> str:
    """The audit log's name for a referral."""
    return f"referral:{referral_id}"


# --- coordinators watching and deciding -----------------------------------------------------


async def waiting(
    db: Database, *, seen_by: int, now: datetime, visited: bool = False, limit: int = 30
) -> list[Waiting]:
    """Open referrals, longest since discharge first (the role checked here). With `visited`,
    those visited within READMISSION_WINDOW of discharge instead, so a re-admission can still
    be recorded on one."""
    where = (
        "r.state = 'visited' AND r.discharged_at >= :since"
        if visited
        else "r.state IN ('matching', 'accepted')"
    )
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, seen_by)
        rows = await tx.execute_fetchall(
            "SELECT r.id, r.first_name, r.area, r.discharged_at, r.state,"
            " m.display_name AS visitor_name FROM referrals r"
            f" LEFT JOIN members m ON m.id = r.visitor_id WHERE {where}"
            " ORDER BY r.discharged_at, r.id LIMIT :limit",
            {"since": to_db(now - READMISSION_WINDOW), "limit": limit},
        )
    return [
        Waiting(
            row["id"],
            row["first_name"],
            row["area"],
            from_db(row["discharged_at"]),
            row["state"],
            row["visitor_name"],
        )
        for row in rows
    ]


async def count_visited_lately(db: Database, now: datetime) -> int:
    """How many referrals `waiting(visited=True)` would list (a button's count)."""
    return int(
        await db.scalar(
            "SELECT COUNT(*) FROM referrals WHERE state = 'visited' AND discharged_at >= ?",
            (to_db(now - READMISSION_WINDOW),),
        )
    )


async def card(db: Database, *, referral_id: int, seen_by: int, now: datetime) -> Card:
    """Open a referral for a coordinator (role checked here). It shows the address, contact
    and health notes, so each opening is written to the audit log."""
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, seen_by)
        found = await _card(tx, referral_id)
        await audit.record(
            tx,
            actor_id=seen_by,
            action=audit.VIEWED,
            subject=subject(referral_id),
            now=now,
            detail={"what": "referral"},
        )
    return found


async def _card(tx: Tx, referral_id: int) -> Card:
    row = await tx.one(
        "SELECT r.*, m.display_name AS visitor_name FROM referrals r"
        " LEFT JOIN members m ON m.id = r.visitor_id WHERE r.id = ?",
        referral_id,
    )
    if row is None:
        raise NotFound(referral_id)
    readmitted = row["readmitted_on"]
    return Card(
        Referral.from_row(row),
        row["visitor_name"],
        date.fromisoformat(readmitted) if readmitted else None,
        row["address_deleted_at"] is not None,
    )


async def record_readmission(
    db: Database, *, by: int, referral_id: int, on: date, now: datetime
) -> bool:
    """A coordinator records that the patient went back into hospital on `on` (a day from
    their discharge to today; audited). A correction replaces the day; the same day again
    (a double tap) changes nothing and returns False."""
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        referral = (await _card(tx, referral_id)).referral
        # A day either side of the UTC dates: the buttons are days in the timebank's timezone.
        earliest = (referral.discharged_at - timedelta(days=1)).date()
        if not earliest <= on <= (now + timedelta(days=1)).date():
            raise InvalidReferral(on)
        cursor = await tx.execute(
            "UPDATE referrals SET readmitted_on = ?, readmission_by = ?, updated_at = ?"
            " WHERE id = ? AND readmitted_on IS NOT ?",
            (on.isoformat(), by, to_db(now), referral_id, on.isoformat()),
        )
        if not cursor.rowcount:
            return False
        await audit.record(
            tx,
            actor_id=by,
            action="record_readmission",
            subject=subject(referral_id),
            now=now,
            detail={"on": on.isoformat()},
        )
    return True


async def close(db: Database, *, by: int, referral_id: int, now: datetime) -> Referral:
    """A coordinator closes a referral (audited): no visitor is looked for any more, an offer
    still open is withdrawn, visits still planned are called off, and a visitor who had
    accepted is told. Closed already (a double tap, another coordinator): WrongState."""
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        async with tx.execute(
            "UPDATE referrals SET state = 'closed', updated_at = ?"
            " WHERE id = ? AND state IN ('matching', 'accepted', 'visited') RETURNING *",
            (to_db(now), referral_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            if await tx.one("SELECT 1 FROM referrals WHERE id = ?", referral_id) is None:
                raise NotFound(referral_id)
            raise WrongState(referral_id)
        closed = Referral.from_row(row)
        await tx.execute(
            "UPDATE visit_offers SET state = 'withdrawn', answered_at = ?"
            " WHERE referral_id = ? AND state = 'open'",
            (to_db(now), referral_id),
        )
        await tx.execute(
            "UPDATE visits SET state = 'cancelled', updated_at = ?"
            " WHERE referral_id = ? AND state = 'planned'",
            (to_db(now), referral_id),
        )
        await audit.record(
            tx, actor_id=by, action="close_referral", subject=subject(referral_id), now=now
        )
        if closed.visitor_id is not None:
            notice = Notice(closed.visitor_id, OutboxKind.REFERRAL_CLOSED, referral_id)
            await enqueue(tx, notice, now)
    return closed


async def get(db: Database, referral_id: int) -> Referral | None:
    row = await db.one("SELECT * FROM referrals WHERE id = ?", (referral_id,))
    return Referral.from_row(row) if row else None
