"""Matching a discharged patient with a visitor: one offer at a time, moving on when a visitor
can't or doesn't answer, and telling the coordinators once when nobody has by the deadline.

    referral (matching) ─offer─▶ visitor ─Accept─▶ referral (accepted) + visit 1 (planned)
                                         ─Can't this time / no answer in time─▶ next visitor
    nobody accepted `match_deadline` after discharge ─▶ every coordinator told, once

Every step is a row before it is an action: an offer is a `visit_offers` row written with the
outbox row that asks the visitor, in one transaction. A visitor is offered a referral at most
once (UNIQUE (referral_id, visitor_id)) and a referral has at most one open offer (a partial
unique index), so a restart in the middle of matching loses no referral and asks nobody twice.

Candidates are approved visitors whose check is still valid, who can reach the patient's area,
active and not paused, never someone kept apart from the patient by a block, and never the
patient: fewest recent visits first (visits reported within `recent`, and visits still
planned, which keep a visitor busy), then whoever was offered something longest ago.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import audit, guards, roles
from storage.db import Database, Tx
from storage.errors import NotFound, NotYours, Unavailable, WrongState
from storage.kinds import OutboxKind
from storage.models import Referral, Visit, VisitOffer, to_db
from storage.nudges import reminders_ahead
from storage.outbox import Notice, enqueue, enqueue_many
from storage.visit_rules import VisitRules

# What a visitor is shown about a referral once they have accepted it, for the audit log.
DETAILS = "visit_details"


@dataclass(frozen=True, slots=True)
class MatchPass:
    """What one pass of `run_due` did, for the log and the tests."""

    timed_out: int = 0
    offered: int = 0
    unmatched: int = 0


@dataclass(frozen=True, slots=True)
class Accepted:
    referral: Referral
    visit: Visit


def referral_subject(referral_id: int) -> str:
    """The audit subject of a referral: who was shown its address, contact and notes."""
    return f"referral:{referral_id}"


_CANDIDATES = (
    "SELECT v.member_id FROM visitor_areas a"
    " JOIN visitors v ON v.member_id = a.member_id"
    " JOIN members m ON m.id = v.member_id"
    " WHERE a.area = :area AND v.status = 'approved' AND v.check_expires_on > :today"
    " AND m.status = 'active' AND m.paused_at IS NULL AND m.telegram_id IS NOT NULL"
    " AND m.id <> :patient"
    " AND NOT EXISTS (SELECT 1 FROM visit_offers o"
    "  WHERE o.referral_id = :referral AND o.visitor_id = v.member_id)"
    f" AND {guards.apart(':patient', 'v.member_id')}"
    " ORDER BY (SELECT COUNT(*) FROM visits x WHERE x.visitor_id = v.member_id"
    "  AND (x.reported_at >= :since OR x.state = 'planned')),"
    " (SELECT MAX(o.offered_at) FROM visit_offers o WHERE o.visitor_id = v.member_id)"
    " NULLS FIRST, v.member_id"
    " LIMIT :limit"
)


async def candidates(
    tx: Tx, referral: Referral, now: datetime, rules: VisitRules, limit: int = 1
) -> list[int]:
    """The visitors to offer this referral to, best first."""
    rows = await tx.execute_fetchall(
        _CANDIDATES,
        {
            "area": referral.area,
            "today": now.date().isoformat(),
            "patient": referral.patient_id if referral.patient_id is not None else -1,
            "referral": referral.id,
            "since": to_db(now - rules.recent),
            "limit": limit,
        },
    )
    return [row[0] for row in rows]


async def run_due(db: Database, now: datetime, rules: VisitRules) -> MatchPass:
    """One pass, from the scheduler's tick: offers whose time ran out are passed over, each
    referral still looking without an open offer is offered to its next visitor, and the
    coordinators hear of each referral nobody took by its deadline."""
    async with db.transaction() as tx:
        timed_out = await tx.execute_fetchall(
            "UPDATE visit_offers SET state = 'timed_out', answered_at = :now"
            " WHERE state = 'open' AND answer_by <= :now RETURNING id",
            {"now": to_db(now)},
        )
        offered = 0
        for referral in await _waiting_for_an_offer(tx):
            offered += await offer_next(tx, referral, now, rules)
        unmatched = await _alert_unmatched(tx, now, rules)
    return MatchPass(len(timed_out), offered, unmatched)


async def _waiting_for_an_offer(tx: Tx) -> list[Referral]:
    rows = await tx.execute_fetchall(
        "SELECT * FROM referrals r WHERE r.state = 'matching' AND NOT EXISTS"
        " (SELECT 1 FROM visit_offers o WHERE o.referral_id = r.id AND o.state = 'open')"
        " ORDER BY r.discharged_at, r.id"
    )
    return [Referral.from_row(row) for row in rows]


async def offer_next(tx: Tx, referral: Referral, now: datetime, rules: VisitRules) -> int:
    """Offer the referral to its best candidate; 0 when nobody is left to ask (the deadline
    alert tells the coordinators, and a visitor approved later is asked then)."""
    found = await candidates(tx, referral, now, rules)
    if not found:
        return 0
    answer_by = now + rules.offer_answer
    async with tx.execute(
        "INSERT INTO visit_offers (referral_id, visitor_id, offered_at, answer_by)"
        " VALUES (?, ?, ?, ?) RETURNING id",
        (referral.id, found[0], to_db(now), to_db(answer_by)),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    notice = Notice(
        found[0],
        OutboxKind.VISIT_OFFER,
        referral.id,
        {"offer": row[0]},
        expires_at=answer_by,
        idempotency_key=f"visit_offer:{row[0]}",
    )
    await enqueue(tx, notice, now)
    return 1


async def _alert_unmatched(tx: Tx, now: datetime, rules: VisitRules) -> int:
    """Referrals still looking at their deadline: one alert each (the partial unique index
    makes it once), told to every active coordinator."""
    rows = await tx.execute_fetchall(
        "INSERT INTO visit_alerts (referral_id, reason, raised_at)"
        " SELECT id, 'unmatched', :now FROM referrals"
        " WHERE state = 'matching' AND discharged_at <= :deadline"
        " ON CONFLICT (referral_id) WHERE reason = 'unmatched' DO NOTHING"
        " RETURNING id, referral_id",
        {"now": to_db(now), "deadline": to_db(now - rules.match_deadline)},
    )
    coordinators = await roles.coordinator_ids(tx)
    await enqueue_many(
        tx,
        [
            Notice(
                coordinator,
                OutboxKind.VISIT_UNMATCHED,
                row["referral_id"],
                {"alert": row["id"]},
                idempotency_key=f"visit_unmatched:{row['id']}:{coordinator}",
            )
            for row in rows
            for coordinator in coordinators
        ],
        now,
    )
    return len(rows)


# --- a visitor answers -----------------------------------------------------------------------


async def get_offer(db: Database, offer_id: int) -> VisitOffer | None:
    row = await db.one("SELECT * FROM visit_offers WHERE id = ?", (offer_id,))
    return VisitOffer.from_row(row) if row else None


async def get_referral(db: Database, referral_id: int) -> Referral | None:
    row = await db.one("SELECT * FROM referrals WHERE id = ?", (referral_id,))
    return Referral.from_row(row) if row else None


async def accept(
    db: Database, *, offer_id: int, visitor_id: int, code_word: str, now: datetime
) -> Accepted:
    """The visitor takes the referral: it is theirs, with a code word the patient will hear,
    and its first visit is planned. The patient (or, for a patient not on Telegram, the
    coordinator who registered them) hears who is coming; the visitor's first sight of the
    address, contact and notes is logged."""
    async with db.transaction() as tx:
        referral_id = await _answer(tx, offer_id, visitor_id, "accepted", now)
        await _require_still_a_visitor(tx, visitor_id, now)
        async with tx.execute(
            "UPDATE referrals SET state = 'accepted', visitor_id = ?, code_word = ?,"
            " accepted_at = ?, updated_at = ? WHERE id = ? AND state = 'matching' RETURNING *",
            (visitor_id, code_word, to_db(now), to_db(now), referral_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise WrongState(referral_id)  # closed or withdrawn meanwhile
        referral = Referral.from_row(row)
        # A first visit called off when an earlier visitor left is planned afresh.
        async with tx.execute(
            "INSERT INTO visits (referral_id, visitor_id, number, created_at, updated_at)"
            " VALUES (?, ?, 1, ?, ?) ON CONFLICT (referral_id, number) DO UPDATE SET"
            " visitor_id = excluded.visitor_id, state = 'planned', scheduled_at = NULL,"
            " reach_tries = 0, updated_at = excluded.updated_at WHERE visits.state = 'cancelled'"
            " RETURNING *",
            (referral.id, visitor_id, to_db(now), to_db(now)),
        ) as cursor:
            visit_row = await cursor.fetchone()
        if visit_row is None:
            raise WrongState(referral.id)
        await _tell_whoever_tells_the_patient(tx, referral, now)
        await log_details_shown(tx, visitor_id, referral.id, now)
    return Accepted(referral, Visit.from_row(visit_row))


async def decline(
    db: Database, *, offer_id: int, visitor_id: int, now: datetime, rules: VisitRules
) -> None:
    """ "Can't this time": no harm done, and the next visitor is asked at once."""
    async with db.transaction() as tx:
        referral_id = await _answer(tx, offer_id, visitor_id, "declined", now)
        row = await tx.one("SELECT * FROM referrals WHERE id = ?", referral_id)
        assert row is not None
        referral = Referral.from_row(row)
        if referral.state == "matching":
            await offer_next(tx, referral, now, rules)


async def _answer(tx: Tx, offer_id: int, visitor_id: int, state: str, now: datetime) -> int:
    """Close an open offer of this visitor's (compare-and-set); say why it can't be, else."""
    async with tx.execute(
        "UPDATE visit_offers SET state = ?, answered_at = ?"
        " WHERE id = ? AND visitor_id = ? AND state = 'open' RETURNING referral_id",
        (state, to_db(now), offer_id, visitor_id),
    ) as cursor:
        row = await cursor.fetchone()
    if row is not None:
        return int(row[0])
    current = await tx.one("SELECT visitor_id FROM visit_offers WHERE id = ?", offer_id)
    if current is None:
        raise NotFound(offer_id)
    if current[0] != visitor_id:
        raise NotYours(offer_id)
    raise WrongState(offer_id)  # answered already, or passed on to someone else


async def _require_still_a_visitor(tx: Tx, visitor_id: int, now: datetime) -> None:
    """An offer made while they could visit is only taken while they still can (a check
    that expired, or a pause, since)."""
    row = await tx.one(
        "SELECT 1 FROM visitors v JOIN members m ON m.id = v.member_id"
        " WHERE v.member_id = ? AND v.status = 'approved' AND v.check_expires_on > ?"
        " AND m.paused_at IS NULL",
        visitor_id,
        now.date().isoformat(),
    )
    if row is None:
        raise Unavailable(visitor_id)


async def _tell_whoever_tells_the_patient(tx: Tx, referral: Referral, now: datetime) -> None:
    """The patient hears the visitor's first name and the code word; a patient not on
    Telegram hears it from the coordinator who registered them (every coordinator, if that
    one is no longer one)."""
    if referral.patient_id is not None:
        await enqueue(
            tx,
            Notice(
                referral.patient_id,
                OutboxKind.VISIT_MATCHED,
                referral.id,
                idempotency_key=f"visit_matched:{referral.id}:{referral.visitor_id}",
            ),
            now,
        )
        return
    coordinators = await roles.coordinator_ids(tx)
    told = [referral.registered_by] if referral.registered_by in coordinators else coordinators
    await enqueue_many(
        tx,
        [
            Notice(
                coordinator,
                OutboxKind.VISIT_MATCHED_COORDINATOR,
                referral.id,
                idempotency_key=f"visit_matched:{referral.id}:{referral.visitor_id}:{coordinator}",
            )
            for coordinator in told
            if coordinator is not None
        ],
        now,
    )


async def log_details_shown(tx: Tx, visitor_id: int, referral_id: int, now: datetime) -> None:
    """Every showing of a patient's address, contact and notes to a visitor: who, when."""
    await audit.record(
        tx,
        actor_id=visitor_id,
        action=audit.VIEWED,
        subject=referral_subject(referral_id),
        now=now,
        detail={"what": DETAILS},
    )


# --- the accepted visitor ----------------------------------------------------------------


async def details_for_visitor(
    db: Database, *, referral_id: int, visitor_id: int, now: datetime
) -> Referral:
    """The referral with its address, contact and notes, for its own visitor only (while it
    is theirs and open or visited); the showing is logged."""
    async with db.transaction() as tx:
        row = await tx.one("SELECT * FROM referrals WHERE id = ?", referral_id)
        if row is None:
            raise NotFound(referral_id)
        referral = Referral.from_row(row)
        if referral.visitor_id != visitor_id or referral.state not in ("accepted", "visited"):
            raise NotYours(referral_id)
        await log_details_shown(tx, visitor_id, referral_id, now)
    return referral


async def current_visit(db: Database, referral_id: int) -> Visit | None:
    """The visit to plan or report next: the earliest still planned (or unreached)."""
    row = await db.one(
        "SELECT * FROM visits WHERE referral_id = ? AND state IN ('planned', 'unreached')"
        " ORDER BY number LIMIT 1",
        (referral_id,),
    )
    return Visit.from_row(row) if row else None


async def get_visit(db: Database, visit_id: int) -> Visit | None:
    row = await db.one("SELECT * FROM visits WHERE id = ?", (visit_id,))
    return Visit.from_row(row) if row else None


async def referrals_of_visitor(db: Database, visitor_id: int) -> list[Referral]:
    """The patients a visitor is looking after now, soonest discharged first."""
    rows = await db.all(
        "SELECT * FROM referrals WHERE visitor_id = ? AND state IN ('accepted', 'visited')"
        " AND EXISTS (SELECT 1 FROM visits x WHERE x.referral_id = referrals.id"
        "  AND x.state IN ('planned', 'unreached'))"
        " ORDER BY discharged_at, id",
        (visitor_id,),
    )
    return [Referral.from_row(row) for row in rows]


async def schedule(
    db: Database, *, visit_id: int, visitor_id: int, at: datetime, now: datetime
) -> Visit:
    """The visitor sets (or moves) the visit's time: the patient hears it, and both are
    reminded the day and the hour before (reminders of an earlier time stop applying)."""
    if at <= now:
        raise WrongState(visit_id)
    async with db.transaction() as tx:
        async with tx.execute(
            "UPDATE visits SET scheduled_at = ?, updated_at = ?"
            " WHERE id = ? AND visitor_id = ? AND state = 'planned' RETURNING *",
            (to_db(at), to_db(now), visit_id, visitor_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            await _why_not_planned(tx, visit_id, visitor_id)
        assert row is not None
        visit = Visit.from_row(row)
        patient = await tx.one(
            "SELECT patient_id FROM referrals WHERE id = ? AND state IN ('accepted', 'visited')",
            visit.referral_id,
        )
        if patient is None:
            raise WrongState(visit_id)
        await _queue_time_notices(tx, visit, patient[0], at, now)
    return visit


async def _why_not_planned(tx: Tx, visit_id: int, visitor_id: int) -> None:
    row = await tx.one("SELECT visitor_id FROM visits WHERE id = ?", visit_id)
    if row is None:
        raise NotFound(visit_id)
    if row[0] != visitor_id:
        raise NotYours(visit_id)
    raise WrongState(visit_id)


async def _queue_time_notices(
    tx: Tx, visit: Visit, patient_id: int | None, at: datetime, now: datetime
) -> None:
    stamp = to_db(at)
    args = {"at": stamp}
    notices = []
    if patient_id is not None:
        notices.append(
            Notice(
                patient_id,
                OutboxKind.VISIT_TIME_SET,
                visit.id,
                args,
                idempotency_key=f"visit_time:{visit.id}:{stamp}",
            )
        )
    for person in (visit.visitor_id, patient_id):
        if person is None:
            continue
        for kind, ahead in reminders_ahead(at, now):
            notices.append(
                Notice(
                    person,
                    OutboxKind.VISIT_REMINDER,
                    visit.id,
                    {**args, "ahead": kind},
                    due_at=at - ahead,
                    expires_at=at,
                    idempotency_key=f"visit_reminder:{visit.id}:{kind}:{stamp}:{person}",
                )
            )
    await enqueue_many(tx, notices, now)


# --- someone leaves ----------------------------------------------------------------------------


async def tell_those_left_waiting(tx: Tx, member_id: int, now: datetime) -> int:
    """Before /forget takes a member's referrals apart: the visitor of a patient who leaves
    hears the visit is no longer needed, and the patient of a visitor who leaves hears they
    are finding someone else (the referral goes back to matching). Returns how many told."""
    rows = await tx.execute_fetchall(
        "SELECT id, visitor_id AS told, 'withdrawn' AS why FROM referrals"
        " WHERE patient_id = :me AND state = 'accepted' AND visitor_id IS NOT NULL"
        " UNION ALL SELECT id, patient_id, 'visitor_left' FROM referrals"
        " WHERE visitor_id = :me AND state = 'accepted' AND patient_id IS NOT NULL",
        {"me": member_id},
    )
    kinds = {"withdrawn": OutboxKind.VISIT_WITHDRAWN, "visitor_left": OutboxKind.VISIT_VISITOR_LEFT}
    await enqueue_many(
        tx,
        [Notice(row["told"], kinds[row["why"]], row["id"]) for row in rows],
        now,
    )
    return len(rows)
