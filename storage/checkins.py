"""Check-ins and alerts: what happens at and after a visit until it is reported, and keeping a
coordinator in the loop whenever something is wrong.

    planned ─"How did it go?" (the visitor)─▶ done      any "no", or a worry: a 'worry' alert
    planned ─"Couldn't reach them" (the visitor)─▶ unreached
        patient on Telegram: asked reach_tries times over reach_over (every try a row at once)
            "I'm OK, please come again" ─▶ planned again, no time; the visitor picks a new one
            "I need help"               ─▶ the waiting alert becomes a 'worry', told at once
            no answer                   ─▶ the waiting alert ('unreached') is told at its time
        not on Telegram: an 'unreached' alert at once

An alert (visit_alerts) goes to every active coordinator at once, day or night (its notice is
a direct kind, never held by quiet hours or a digest), and again every realert_after until one
taps "I'm on it" (compare-and-set: a second learns who). An alert with times_told = 0 is one
still waiting for the patient's answer: nobody has heard of it, and that answer may drop it;
its raised_at is the round's start until it is told, and from then on when coordinators first
heard of it (what the figures count minutes to "I'm on it" from).

A prompt to check in is queued for every planned visit (`queue_prompts`, from the scheduler's
tick): due an hour after the visit's time, or on a follow-up's day; it is dropped when sent if
the visit was reported, or its time changed, meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from storage import aftercare, audit, roles
from storage.db import Database, Row, Tx
from storage.errors import NotFound, NotYours, OwnCase, WrongState
from storage.kinds import OutboxKind
from storage.models import Visit, from_row, to_db
from storage.outbox import Notice, enqueue
from storage.visit_rules import VisitRules

MAX_NOTE = 500
# The check-in's questions, in the order asked (each a column of visits, 1 yes, 0 no).
QUESTIONS = ("warm", "food", "medicines", "worry")
# The visitor is asked how it went this long after the time they set…
PROMPT_AFTER_VISIT = timedelta(hours=1)
# …or, for a follow-up with a day and no time, at this hour (local) of its day.
PROMPT_HOUR = time(10)
SCAN_BATCH = 50
# A visit a visitor may still report: its referral neither withdrawn nor closed.
_OPEN = "state IN ('accepted', 'visited')"


class AlreadyReported(WrongState):
    """The visit was reported already (a second tap on Send), or is no longer planned."""

    def __init__(self, visit_id: int, state: str) -> None:
        super().__init__(f"visit {visit_id} is {state}")
        self.state = state


class AlreadyOnIt(WrongState):
    """Another coordinator (or a first tap) is on this alert already."""

    def __init__(self, alert_id: int, name: str) -> None:
        super().__init__(f"alert {alert_id} acknowledged by {name}")
        self.name = name


class AlreadyAnswered(WrongState):
    """The patient answered already, or the time to answer is over (a coordinator knows)."""


@dataclass(frozen=True, slots=True)
class Answers:
    """The visitor's check-in: warm enough, food in the house, medicines sorted, anything
    worrying (True = yes), and a note of their own."""

    warm: bool
    food: bool
    medicines: bool
    worry: bool
    note: str | None = None

    @property
    def noes(self) -> tuple[str, ...]:
        """The questions answered "no" that should have been "yes"."""
        return tuple(
            name
            for name, yes in (
                ("warm", self.warm),
                ("food", self.food),
                ("medicines", self.medicines),
            )
            if not yes
        )

    @property
    def worrying(self) -> bool:
        return bool(self.noes) or self.worry


@dataclass(frozen=True, slots=True)
class VisitView:
    """A visit with what its check-in shows: whom it was for, and who visited."""

    visit: Visit
    first_name: str
    area: str
    patient_id: int | None  # None: a patient a coordinator registered, not on Telegram
    contact: str | None
    referral_open: bool
    visitor_name: str
    visitor_telegram_id: int | None
    visitor_username: str | None

    @property
    def answers(self) -> Answers | None:
        """The check-in, once reported."""
        v = self.visit
        if v.warm is None or v.food is None or v.medicines is None or v.worry is None:
            return None
        return Answers(v.warm, v.food, v.medicines, v.worry, v.note)


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    referral_id: int
    visit_id: int | None
    reason: str  # worry · unreached · unmatched
    raised_at: datetime
    times_told: int
    next_alert_at: datetime | None
    acknowledged_by: int | None
    acknowledged_at: datetime | None

    @property
    def open(self) -> bool:
        """Told, and nobody on it yet."""
        return self.times_told > 0 and self.acknowledged_at is None


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert and what a coordinator is shown of it (the visit, for a worry or an unreached
    patient; only the referral's first name and area for one nobody accepted)."""

    alert: Alert
    first_name: str
    area: str
    visit: VisitView | None


@dataclass(frozen=True, slots=True)
class Reported:
    view: VisitView
    alert_id: int | None  # the worry alert raised, if any


@dataclass(frozen=True, slots=True)
class Unreached:
    view: VisitView
    asking_patient: bool  # False: not on Telegram, so coordinators were alerted at once


# --- reading ------------------------------------------------------------------------------

_VIEW = (
    "SELECT v.*, r.first_name, r.area, r.patient_id, r.contact,"
    f" r.{_OPEN} AS referral_open, m.display_name AS visitor_name,"
    " m.telegram_id AS visitor_telegram_id, m.username AS visitor_username"
    " FROM visits v JOIN referrals r ON r.id = v.referral_id"
    " JOIN members m ON m.id = v.visitor_id WHERE v.id = ?"
)


def _view(row: Row) -> VisitView:
    return from_row(
        VisitView, row, visit=Visit.from_row(row), referral_open=bool(row["referral_open"])
    )


async def get_visit(db: Database, visit_id: int) -> VisitView | None:
    row = await db.one(_VIEW, (visit_id,))
    return _view(row) if row else None


async def _visit_in(tx: Tx, visit_id: int) -> VisitView:
    row = await tx.one(_VIEW, visit_id)
    if row is None:
        raise NotFound(visit_id)
    return _view(row)


async def visit_to_report(db: Database, *, visit_id: int, visitor_id: int) -> VisitView:
    """The visit its visitor is about to check in on: theirs, planned, its referral open."""
    view = await get_visit(db, visit_id)
    if view is None or not view.referral_open:
        raise NotFound(visit_id)
    if view.visit.visitor_id != visitor_id:
        raise NotYours(visit_id)
    if view.visit.state != "planned":
        raise AlreadyReported(visit_id, view.visit.state)
    return view


_ALERT_VIEW = (
    "SELECT a.*, r.first_name, r.area FROM visit_alerts a"
    " JOIN referrals r ON r.id = a.referral_id WHERE a.id = ?"
)


async def get_alert(db: Database, alert_id: int) -> AlertView | None:
    row = await db.one(_ALERT_VIEW, (alert_id,))
    if row is None:
        return None
    alert = from_row(Alert, row)
    visit = await get_visit(db, alert.visit_id) if alert.visit_id is not None else None
    return from_row(AlertView, row, alert=alert, visit=visit)


# The alert that waits for an unreached patient's answer (told to nobody yet), by :visit.
_WAITING = (
    "SELECT id FROM visit_alerts WHERE visit_id = :visit AND reason = 'unreached'"
    " AND times_told = 0 AND acknowledged_at IS NULL"
)


async def waiting_alert(db: Database, visit_id: int) -> Alert | None:
    row = await db.one(f"SELECT * FROM visit_alerts WHERE id IN ({_WAITING})", {"visit": visit_id})
    return from_row(Alert, row) if row else None


# --- the visitor's check-in ---------------------------------------------------------------


async def report(
    db: Database,
    *,
    visit_id: int,
    visitor_id: int,
    answers: Answers,
    now: datetime,
    rules: VisitRules,
) -> Reported:
    """Store the visitor's check-in, once (compare-and-set planned -> done); any "no" or a
    worry alerts every coordinator at once."""
    if answers.note is not None and not 0 < len(answers.note) <= MAX_NOTE:
        raise NotFound(visit_id)
    async with db.transaction() as tx:
        view = await _visit_in(tx, visit_id)
        await _leave_planned(
            tx,
            view,
            visitor_id,
            "state = 'done', warm = ?, food = ?, medicines = ?, worry = ?, note = ?,"
            " reported_at = ?, updated_at = ?",
            (
                int(answers.warm),
                int(answers.food),
                int(answers.medicines),
                int(answers.worry),
                answers.note,
                to_db(now),
                to_db(now),
            ),
        )
        alert_id = None
        if answers.worrying:
            alert_id = await _raise(tx, view, "worry", now, rules)
        # The patient's confirmation, the visitor's hours, the follow-ups: in this same
        # transaction, so a visit reported is never one nobody is asked to confirm.
        await aftercare.on_visit_done(tx, visit_id, now, rules)
        reported = await _visit_in(tx, visit_id)
    return Reported(reported, alert_id)


async def _leave_planned(
    tx: Tx, view: VisitView, visitor_id: int, changes: str, params: tuple[object, ...]
) -> None:
    """Compare-and-set the visit out of planned (`changes`, an UPDATE's SET), only for its own
    visitor and while its referral is open; else raise what it is instead."""
    visit_id = view.visit.id
    if view.visit.visitor_id != visitor_id:
        raise NotYours(visit_id)
    cursor = await tx.execute(
        f"UPDATE visits SET {changes} WHERE id = ? AND visitor_id = ? AND state = 'planned'"
        f" AND EXISTS (SELECT 1 FROM referrals r WHERE r.id = visits.referral_id AND r.{_OPEN})",
        (*params, visit_id, visitor_id),
    )
    if cursor.rowcount == 0:
        if not view.referral_open:
            raise NotFound(visit_id)
        raise AlreadyReported(visit_id, view.visit.state)


# --- alerts -------------------------------------------------------------------------------


async def _raise(tx: Tx, view: VisitView, reason: str, now: datetime, rules: VisitRules) -> int:
    """A new alert about this visit, told to every coordinator now."""
    async with tx.execute(
        "INSERT INTO visit_alerts (referral_id, visit_id, reason, raised_at, times_told,"
        " next_alert_at) VALUES (?, ?, ?, ?, 1, ?) RETURNING id",
        (
            view.visit.referral_id,
            view.visit.id,
            reason,
            to_db(now),
            to_db(now + rules.realert_after),
        ),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    await _tell(tx, row[0], 1, view.patient_id, now)
    return int(row[0])


async def _tell(tx: Tx, alert_id: int, round_: int, patient_id: int | None, now: datetime) -> None:
    """Queue round `round_` of an alert to every active coordinator (never to the patient it is
    about); a key per round, so each round is told once."""
    for coordinator in await roles.coordinator_ids(
        tx, apart_from=() if patient_id is None else (patient_id,)
    ):
        notice = Notice(
            coordinator,
            OutboxKind.CHECKIN_ALERT,
            alert_id,
            {"round": round_},
            idempotency_key=f"alert:{alert_id}:{round_}:{coordinator}",
        )
        await enqueue(tx, notice, now)


async def realert_due(db: Database, now: datetime, rules: VisitRules) -> int:
    """Tell again every alert nobody is on whose time has come (and, for the first time, an
    unreached patient's whose answer never came): times_told and next_alert_at move on in the
    same transaction as the notices. Alerts nobody accepted have no next time: never here.
    Returns how many alerts were told."""
    told = 0
    while True:
        async with db.transaction() as tx:
            async with tx.execute(
                "UPDATE visit_alerts SET times_told = times_told + 1, next_alert_at = :next,"
                " raised_at = CASE times_told WHEN 0 THEN :now ELSE raised_at END"
                " WHERE id IN (SELECT id FROM visit_alerts WHERE acknowledged_at IS NULL"
                " AND next_alert_at <= :now ORDER BY next_alert_at LIMIT :batch)"
                " RETURNING id, times_told, referral_id",
                {
                    "next": to_db(now + rules.realert_after),
                    "now": to_db(now),
                    "batch": SCAN_BATCH,
                },
            ) as cursor:
                due = await cursor.fetchall()
            for alert_id, round_, referral_id in due:
                patient = await tx.one("SELECT patient_id FROM referrals WHERE id = ?", referral_id)
                await _tell(tx, alert_id, round_, patient[0] if patient else None, now)
        told += len(due)
        if len(due) < SCAN_BATCH:
            return told


async def acknowledge(db: Database, *, by: int, alert_id: int, now: datetime) -> AlertView:
    """ "I'm on it": the alert is a coordinator's (role re-checked here), once; it is told
    again to nobody. A second tap, or another coordinator's, raises AlreadyOnIt naming who."""
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        row = await tx.one(
            "SELECT a.times_told, r.patient_id FROM visit_alerts a"
            " JOIN referrals r ON r.id = a.referral_id WHERE a.id = ?",
            alert_id,
        )
        if row is None or row["times_told"] == 0:
            raise NotFound(alert_id)
        if row["patient_id"] == by:
            raise OwnCase(alert_id)
        async with tx.execute(
            "UPDATE visit_alerts SET acknowledged_by = ?, acknowledged_at = ?"
            " WHERE id = ? AND acknowledged_at IS NULL RETURNING referral_id",
            (by, to_db(now), alert_id),
        ) as cursor:
            taken = await cursor.fetchone()
        if taken is None:
            earlier = await tx.one(
                "SELECT m.display_name FROM visit_alerts a"
                " JOIN members m ON m.id = a.acknowledged_by WHERE a.id = ?",
                alert_id,
            )
            raise AlreadyOnIt(alert_id, earlier[0] if earlier else "")
        await audit.record(
            tx,
            actor_id=by,
            action="visit_alert_on_it",
            subject=f"referral:{taken[0]}",
            now=now,
            detail={"alert": alert_id},
        )
    view = await get_alert(db, alert_id)
    assert view is not None
    return view


# --- "couldn't reach them" ----------------------------------------------------------------


async def unreached(
    db: Database, *, visit_id: int, visitor_id: int, now: datetime, rules: VisitRules
) -> Unreached:
    """The visitor couldn't reach the patient (compare-and-set planned -> unreached). A
    patient on Telegram is asked if they are OK reach_tries times over reach_over, every try
    queued now, and an alert waits for the end of that time; anyone else, coordinators hear
    at once."""
    async with db.transaction() as tx:
        view = await _visit_in(tx, visit_id)
        patient = await _reachable_patient(tx, view)
        tries = rules.reach_tries if patient is not None else 0
        await _leave_planned(
            tx,
            view,
            visitor_id,
            "state = 'unreached', reach_tries = reach_tries + ?, updated_at = ?",
            (tries, to_db(now)),
        )
        if patient is None:
            await _raise(tx, view, "unreached", now, rules)
        else:
            await _ask_patient(tx, view, patient, now, rules)
        current = await _visit_in(tx, visit_id)
    return Unreached(current, asking_patient=patient is not None)


async def _reachable_patient(tx: Tx, view: VisitView) -> int | None:
    """The patient's member id, if the bot can write to them."""
    if view.patient_id is None:
        return None
    row = await tx.one(
        "SELECT id FROM members WHERE id = ? AND status = 'active' AND telegram_id IS NOT NULL",
        view.patient_id,
    )
    return row[0] if row else None


async def _ask_patient(
    tx: Tx, view: VisitView, patient_id: int, now: datetime, rules: VisitRules
) -> None:
    """Every try, spread over reach_over, and the alert to tell if no answer comes, as rows now
    (a restart loses none). Tries name the round (`since`), so an old round's never go."""
    since = to_db(now)
    await tx.execute(
        "INSERT INTO visit_alerts (referral_id, visit_id, reason, raised_at, times_told,"
        " next_alert_at) VALUES (?, ?, 'unreached', ?, 0, ?)",
        (view.visit.referral_id, view.visit.id, since, to_db(now + rules.reach_over)),
    )
    for attempt in range(rules.reach_tries):
        notice = Notice(
            patient_id,
            OutboxKind.CHECKIN_REACH,
            view.visit.id,
            {"since": since},
            due_at=now + rules.reach_over * attempt / rules.reach_tries,
            idempotency_key=f"visit:{view.visit.id}:reach:{since}:{attempt}",
        )
        await enqueue(tx, notice, now)


async def patient_answer(
    db: Database, *, visit_id: int, patient_id: int, ok: bool, now: datetime, rules: VisitRules
) -> VisitView:
    """The patient's answer to "your visitor couldn't reach you": OK puts the visit back to
    planned with no time (the visitor is asked to pick one) and drops the waiting alert; "I
    need help" makes that alert a worry, told at once. Only while the alert still waits."""
    async with db.transaction() as tx:
        view = await _visit_in(tx, visit_id)
        if view.patient_id is None or view.patient_id != patient_id:
            raise NotYours(visit_id)
        if ok:
            async with tx.execute(
                f"DELETE FROM visit_alerts WHERE id IN ({_WAITING}) RETURNING raised_at",
                {"visit": visit_id},
            ) as cursor:
                waited = await cursor.fetchone()
            if waited is None:
                raise AlreadyAnswered(visit_id)
            await tx.execute(
                "UPDATE visits SET state = 'planned', scheduled_at = NULL, updated_at = ?"
                " WHERE id = ? AND state = 'unreached'",
                (to_db(now), visit_id),
            )
            notice = Notice(
                view.visit.visitor_id,
                OutboxKind.CHECKIN_COME_AGAIN,
                visit_id,
                idempotency_key=f"visit:{visit_id}:again:{waited[0]}",
            )
            await enqueue(tx, notice, now)
        else:
            async with tx.execute(
                "UPDATE visit_alerts SET reason = 'worry', raised_at = :now, times_told = 1,"
                f" next_alert_at = :next WHERE id IN ({_WAITING}) RETURNING id",
                {"visit": visit_id, "now": to_db(now), "next": to_db(now + rules.realert_after)},
            ) as cursor:
                raised = await cursor.fetchone()
            if raised is None:
                raise AlreadyAnswered(visit_id)
            await _tell(tx, raised[0], 1, patient_id, now)
        current = await _visit_in(tx, visit_id)
    return current


# --- the scheduler's pass ----------------------------------------------------------------


async def queue_due(db: Database, now: datetime, rules: VisitRules) -> int:
    """What time makes owed: check-in prompts, and alerts to tell again. Returns how many."""
    return await queue_prompts(db, now, rules.zone) + await realert_due(db, now, rules)


# --- prompts ------------------------------------------------------------------------------


async def queue_prompts(db: Database, now: datetime, zone: tzinfo) -> int:
    """Queue the check-in prompt of every planned visit that has a time (due an hour after
    it) or a follow-up day (due that day at PROMPT_HOUR), as soon as it has one: a row per
    time, so a visit whose time changes gets a new prompt and the old one is dropped. Reads
    first, so a pass with nothing new writes nothing. Returns how many were queued."""
    rows = await db.all(
        "SELECT v.id, v.visitor_id, v.scheduled_at, v.due_on FROM visits v"
        " JOIN referrals r ON r.id = v.referral_id"
        " WHERE v.state = 'planned' AND coalesce(v.scheduled_at, v.due_on) IS NOT NULL"
        f" AND r.{_OPEN}"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key ="
        " 'visit:' || v.id || ':prompt:' || coalesce(v.scheduled_at, v.due_on))"
        " ORDER BY v.id"
    )
    if not rows:
        return 0
    async with db.transaction() as tx:
        for row in rows:
            await enqueue(tx, _prompt(row, zone), now)
    return len(rows)


def _prompt(row: Row, zone: tzinfo) -> Notice:
    if row["scheduled_at"] is not None:
        stamp = row["scheduled_at"]
        due = datetime.fromisoformat(stamp) + PROMPT_AFTER_VISIT
        args = {"at": stamp}
    else:
        stamp = row["due_on"]
        due = datetime.combine(date.fromisoformat(stamp), PROMPT_HOUR, tzinfo=zone)
        args = {"on": stamp}
    return Notice(
        row["visitor_id"],
        OutboxKind.CHECKIN_PROMPT,
        row["id"],
        args,
        due_at=due,
        idempotency_key=f"visit:{row['id']}:prompt:{stamp}",
    )
