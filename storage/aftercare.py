"""After a visit is done: confirming it, the visitor's credit, the first visit's news,
follow-ups, pay it forward and the loneliness check.

    visit done (check-ins) ─▶ on_visit_done ─▶ "Did Bob visit you?" to the patient
                                              (or "Confirm visit" to coordinators)
      number 1 also: referral 'visited', the ward's coordinator told, follow-ups planned
    confirm ─▶ the visitor's credit (once), thanked with their balance
      number 1 also: the loneliness check offered now, and at discharge + pay_forward_after
      the pay-it-forward question with the loneliness check again (once: pay_forward 'asked')
    deny ("No") ─▶ each coordinator told, with "Confirm visit" should it turn out it happened

Who may press is checked here, whatever the button said: a visit is confirmed by its patient
or a coordinator (never its own visitor); only the patient says it didn't happen, answers the
loneliness check or turns down paying it forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from storage import ledger, roles
from storage.db import Database, Row, Tx
from storage.errors import AlreadyConfirmed, NotFound, NotYours, WrongState
from storage.kinds import LedgerKind, OutboxKind
from storage.ledger import COMMUNITY_ACCOUNT
from storage.models import Referral, Visit, from_db, to_db
from storage.outbox import Notice, enqueue
from storage.visit_rules import VisitRules

STAGES = ("first", "last")
# The three UCLA-3 questions, in the order asked, each answered 1 (hardly ever) to 3 (often).
QUESTIONS = ("companionship", "left_out", "isolated")
ANSWERS = (1, 2, 3)
# The pay-it-forward question waits for this local hour of its day: weeks later, it can wait
# for the late morning rather than reach someone at night.
ASK_AT = time(11, 0)


@dataclass(frozen=True, slots=True)
class VisitCase:
    """A visit with its referral and its visitor's name: what each notice about it shows."""

    visit: Visit
    referral: Referral
    visitor_name: str

    @property
    def confirmed(self) -> bool:
        return self.visit.confirmed_at is not None


@dataclass(frozen=True, slots=True)
class VisitCredit:
    """A visit's credit as its visitor's /history shows it."""

    visit_id: int
    patient_name: str  # '' once the patient left
    minutes: int
    when: datetime


# --- when a visit is done -------------------------------------------------------------------


async def on_visit_done(tx: Tx, visit_id: int, now: datetime, rules: VisitRules) -> None:
    """Called in the transaction that marks a visit done: ask for its confirmation, and after
    a first visit move the referral on, tell the ward and plan the follow-ups. Calling it
    again queues and plans nothing twice (idempotency keys, compare-and-set, UNIQUE)."""
    row = await tx.one(
        "SELECT v.*, m.id AS patient_on_telegram FROM visits v"
        " JOIN referrals r ON r.id = v.referral_id"
        " LEFT JOIN members m ON m.id = r.patient_id AND m.status = 'active'"
        "  AND m.telegram_id IS NOT NULL"
        " WHERE v.id = ? AND v.state = 'done'",
        visit_id,
    )
    if row is None:
        raise NotFound(visit_id)  # the caller marks it done first, in this transaction
    visit = Visit.from_row(row)
    patient = row["patient_on_telegram"]
    if patient is not None:
        ask = Notice(
            patient,
            OutboxKind.VISIT_CONFIRM_PATIENT,
            visit.id,
            idempotency_key=f"visit:{visit.id}:ask",
        )
        await enqueue(tx, ask, now)
    else:
        await _tell_coordinators(tx, visit, OutboxKind.VISIT_CONFIRM_COORDINATOR, "ask", now)
    if visit.number == 1:
        await _first_visit(tx, visit, now, rules)


async def _tell_coordinators(
    tx: Tx, visit: Visit, kind: OutboxKind, what: str, now: datetime
) -> int:
    """A notice about a visit to each coordinator but its visitor (nobody confirms their own
    visit); returns how many were told."""
    coordinators = await roles.coordinator_ids(tx, apart_from=(visit.visitor_id,))
    for coordinator in coordinators:
        key = f"visit:{visit.id}:{what}:{coordinator}"
        await enqueue(tx, Notice(coordinator, kind, visit.id, idempotency_key=key), now)
    return len(coordinators)


async def _first_visit(tx: Tx, visit: Visit, now: datetime, rules: VisitRules) -> None:
    """The referral is visited, at the visit's time (or when it was reported): the ward's
    coordinator hears, and the follow-ups are planned from that day."""
    at = visit.scheduled_at or visit.reported_at or now
    async with tx.execute(
        "UPDATE referrals SET state = 'visited', first_visit_at = ?, updated_at = ?"
        " WHERE id = ? AND state = 'accepted' RETURNING ward",
        (to_db(at), to_db(now), visit.referral_id),
    ) as cursor:
        moved = await cursor.fetchone()
    if moved is None:
        return  # visited already (or withdrawn meanwhile): nothing to tell or plan again
    await _tell_ward(tx, visit.referral_id, moved["ward"], now, rules)
    first_day = at.astimezone(rules.zone).date()
    await tx.executemany(
        "INSERT INTO visits (referral_id, visitor_id, number, due_on, state, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, 'planned', ?, ?)"
        " ON CONFLICT (referral_id, number) DO NOTHING",
        [
            (
                visit.referral_id,
                visit.visitor_id,
                number,
                (first_day + timedelta(days=days)).isoformat(),
                to_db(now),
                to_db(now),
            )
            for number, days in enumerate(rules.follow_up_days, start=2)
        ],
    )


async def _tell_ward(
    tx: Tx, referral_id: int, ward: str | None, now: datetime, rules: VisitRules
) -> None:
    """The ward's coordinator (config names them by Telegram id) hears of a first visit, if
    they have joined; a ward with none named, or a referral from no ward, tells nobody."""
    name, telegram_id = rules.wards.get(ward or "", ("", None))
    if telegram_id is None:
        return
    row = await tx.one(
        "SELECT id FROM members WHERE telegram_id = ? AND status = 'active'", telegram_id
    )
    if row is None:
        return
    notice = Notice(
        row["id"],
        OutboxKind.FIRST_VISIT_DONE,
        referral_id,
        {"ward": name},
        idempotency_key=f"referral:{referral_id}:first_visit",
    )
    await enqueue(tx, notice, now)


# --- confirming -----------------------------------------------------------------------------


async def confirm(
    db: Database, *, visit_id: int, by: int, now: datetime, rules: VisitRules
) -> VisitCase:
    """The patient, or a coordinator for them, says the visit happened: the visitor earns
    `visit_minutes` from the community account, once, and is thanked. A first visit's
    confirmation also brings the loneliness check and, later, the pay-it-forward question.
    A second confirmation raises AlreadyConfirmed and credits nothing."""
    async with db.transaction() as tx:
        case = await _case(tx, visit_id)
        await _may_confirm(tx, case, by)
        cursor = await tx.execute(
            "UPDATE visits SET confirmed_by = ?, confirmed_at = ?, updated_at = ?"
            " WHERE id = ? AND state = 'done' AND confirmed_at IS NULL",
            (by, to_db(now), to_db(now), visit_id),
        )
        if cursor.rowcount == 0:
            raise _not_open(case)
        visit = case.visit
        minutes = rules.visit_minutes
        account = (await ledger.accounts(tx, visit.visitor_id))[visit.visitor_id]
        await ledger.post(
            tx,
            kind=LedgerKind.VISIT,
            visit_id=visit.id,
            idempotency_key=f"visit:{visit.id}",
            entries=[(COMMUNITY_ACCOUNT, -minutes), (account.id, minutes)],
            now=now,
        )
        thanks = Notice(
            visit.visitor_id,
            OutboxKind.VISIT_CREDITED,
            visit.id,
            {"minutes": minutes},
            idempotency_key=f"visit:{visit.id}:credited",
        )
        await enqueue(tx, thanks, now)
        if visit.number == 1:
            await _ask_the_patient(tx, case.referral, now, rules)
    return case


async def deny(db: Database, *, visit_id: int, by: int, now: datetime) -> VisitCase:
    """The patient says the visit didn't happen: each coordinator is told (once), to look
    into it. Only the patient may say so, and only while it is unconfirmed."""
    async with db.transaction() as tx:
        case = await _case(tx, visit_id)
        if by != case.referral.patient_id:
            raise NotYours(visit_id)
        if case.confirmed or case.visit.state != "done":
            raise _not_open(case)
        await _tell_coordinators(tx, case.visit, OutboxKind.VISIT_DENIED, "denied", now)
    return case


def _not_open(case: VisitCase) -> WrongState:
    return AlreadyConfirmed(case.visit.id) if case.confirmed else WrongState(case.visit.id)


async def _may_confirm(tx: Tx, case: VisitCase, by: int) -> None:
    """The patient, or a coordinator who isn't the visitor."""
    if by == case.visit.visitor_id:
        raise NotYours(case.visit.id)
    if by != case.referral.patient_id:
        await roles.require_coordinator(tx, by)


async def _ask_the_patient(tx: Tx, referral: Referral, now: datetime, rules: VisitRules) -> None:
    """On a patient's first visit confirmed: the loneliness check now; the pay-it-forward
    question and the check again once they have had time to recover. pay_forward is 'asked'
    as the question is queued, not sent: the row is the promise, and the compare-and-set
    makes sure there is only ever one. Patients not on Telegram are asked by no one here."""
    patient = await _patient_on_telegram(tx, referral)
    if patient is None:
        return
    await _offer_loneliness(tx, patient, referral.id, "first", now, now)
    cursor = await tx.execute(
        "UPDATE referrals SET pay_forward = 'asked', updated_at = ?"
        " WHERE id = ? AND pay_forward IS NULL",
        (to_db(now), referral.id),
    )
    if cursor.rowcount == 0:
        return
    due = max(now, pay_forward_due(referral, rules))
    ask = Notice(
        patient,
        OutboxKind.PAY_FORWARD_ASK,
        referral.id,
        due_at=due,
        idempotency_key=f"referral:{referral.id}:pay_forward",
    )
    await enqueue(tx, ask, now)
    await _offer_loneliness(tx, patient, referral.id, "last", due, now)


async def _offer_loneliness(
    tx: Tx, patient: int, referral_id: int, stage: str, due: datetime, now: datetime
) -> None:
    offer = Notice(
        patient,
        OutboxKind.LONELINESS_OFFER,
        referral_id,
        {"stage": stage},
        due_at=due,
        idempotency_key=f"referral:{referral_id}:loneliness:{stage}",
    )
    await enqueue(tx, offer, now)


def pay_forward_due(referral: Referral, rules: VisitRules) -> datetime:
    """When the pay-it-forward question is due: `pay_forward_after` from discharge, at
    ASK_AT on that local day."""
    day = (referral.discharged_at + rules.pay_forward_after).astimezone(rules.zone).date()
    return datetime.combine(day, ASK_AT, tzinfo=rules.zone)


async def _patient_on_telegram(tx: Tx, referral: Referral) -> int | None:
    if referral.patient_id is None:
        return None
    row = await tx.one(
        "SELECT id FROM members WHERE id = ? AND status = 'active' AND telegram_id IS NOT NULL",
        referral.patient_id,
    )
    return None if row is None else int(row["id"])


# --- pay it forward and the loneliness check ------------------------------------------------


async def decline_pay_forward(db: Database, *, referral_id: int, by: int, now: datetime) -> bool:
    """ "No, thank you": never asked again. False when they had said so already (a second
    tap); a yes given since can't be undone from the old question."""
    async with db.transaction() as tx:
        referral = await _patients_referral(tx, referral_id, by)
        cursor = await tx.execute(
            "UPDATE referrals SET pay_forward = 'no', updated_at = ?"
            " WHERE id = ? AND pay_forward = 'asked'",
            (to_db(now), referral_id),
        )
        if cursor.rowcount:
            return True
        if referral.pay_forward == "no":
            return False
        raise WrongState(referral_id)


async def loneliness_open(
    db: Database, *, referral_id: int, by: int, stage: str, now: datetime, rules: VisitRules
) -> bool:
    """May this member answer this stage's loneliness check now? Only the patient, and only
    once it was offered (a first visit; the pay-it-forward time); False once answered."""
    async with db.transaction() as tx:
        await _check_may_answer(tx, referral_id, by, stage, now, rules)
        row = await tx.one(
            "SELECT 1 FROM loneliness_scores WHERE referral_id = ? AND stage = ?",
            referral_id,
            stage,
        )
    return row is None


async def record_loneliness(
    db: Database,
    *,
    referral_id: int,
    by: int,
    stage: str,
    answers: tuple[int, ...],
    now: datetime,
    rules: VisitRules,
) -> bool:
    """Keep the three answers, once per stage: False (nothing kept) if this stage was
    answered already."""
    if len(answers) != len(QUESTIONS) or any(answer not in ANSWERS for answer in answers):
        raise NotFound(referral_id)
    async with db.transaction() as tx:
        await _check_may_answer(tx, referral_id, by, stage, now, rules)
        cursor = await tx.execute(
            "INSERT INTO loneliness_scores (referral_id, stage, companionship, left_out,"
            " isolated, created_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (referral_id, stage) DO NOTHING",
            (referral_id, stage, *answers, to_db(now)),
        )
        return bool(cursor.rowcount)


async def _check_may_answer(
    tx: Tx, referral_id: int, by: int, stage: str, now: datetime, rules: VisitRules
) -> None:
    referral = await _patients_referral(tx, referral_id, by)
    if stage == "first":
        offered = referral.first_visit_at is not None
    elif stage == "last":
        offered = referral.pay_forward is not None and now >= pay_forward_due(referral, rules)
    else:
        offered = False
    if not offered:
        raise NotFound(referral_id)


async def _patients_referral(tx: Tx, referral_id: int, by: int) -> Referral:
    row = await tx.one(_REFERRAL, referral_id)
    if row is None:
        raise NotFound(referral_id)
    referral = Referral.from_row(row)
    if referral.patient_id != by:
        raise NotYours(referral_id)
    return referral


# --- reading --------------------------------------------------------------------------------


async def _case(tx: Tx, visit_id: int) -> VisitCase:
    visit = await tx.one(_VISIT, visit_id)
    if visit is None:
        raise NotFound(visit_id)
    referral = await tx.one(_REFERRAL, visit["referral_id"])
    assert referral is not None
    return _case_of(visit, referral)


async def case(db: Database, visit_id: int) -> VisitCase | None:
    """A visit, its referral and its visitor's name (for the notices about it)."""
    visit = await db.one(_VISIT, (visit_id,))
    if visit is None:
        return None
    referral = await db.one(_REFERRAL, (visit["referral_id"],))
    assert referral is not None
    return _case_of(visit, referral)


def _case_of(visit: Row, referral: Row) -> VisitCase:
    return VisitCase(Visit.from_row(visit), Referral.from_row(referral), visit["visitor_name"])


_VISIT = (
    "SELECT v.*, m.display_name AS visitor_name FROM visits v"
    " JOIN members m ON m.id = v.visitor_id WHERE v.id = ?"
)
_REFERRAL = "SELECT * FROM referrals WHERE id = ?"


async def referral(db: Database, referral_id: int) -> Referral | None:
    row = await db.one(_REFERRAL, (referral_id,))
    return Referral.from_row(row) if row else None


async def answered(db: Database, referral_id: int, stage: str) -> bool:
    found = await db.scalar(
        "SELECT 1 FROM loneliness_scores WHERE referral_id = ? AND stage = ?",
        (referral_id, stage),
    )
    return found is not None


async def visit_credits(db: Database, member_id: int, limit: int = 10) -> list[VisitCredit]:
    """The visits a member was credited for, newest first (for /history)."""
    rows = await db.all(
        "SELECT v.id, r.first_name, e.minutes, t.created_at FROM accounts a"
        " JOIN ledger_entries e ON e.account_id = a.id"
        " JOIN ledger_transactions t ON t.id = e.transaction_id AND t.kind = 'visit'"
        " JOIN visits v ON v.id = t.visit_id"
        " JOIN referrals r ON r.id = v.referral_id"
        " WHERE a.member_id = ? ORDER BY t.id DESC LIMIT ?",
        (member_id, limit),
    )
    return [VisitCredit(row[0], row[1], row[2], from_db(row[3])) for row in rows]
