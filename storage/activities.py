"""Group activities: an organisation (or the timebank's coordinators) posts one; members sign
up to help or to take part; a waiting list when it is full; reminders; the roll call; and the
credit, one ledger transaction for everyone who came.

Every rule lives here, each act one transaction with compare-and-set on state:
- Posting for an organisation needs someone who acts for it (organisations.require_acts_for);
  a timebank activity (organisation_id NULL) needs a coordinator and is paid from the
  community account.
- A place is 'going' while there is room for that role, else 'waiting'. A 'going' (or
  'offered') place given up offers itself to the first 'waiting' of that role, until
  offer_expires_at; an offer let lapse (run_due, from the scheduler's tick) moves on.
- A participant's price is checked against their balance and the members' overdraft limit
  when they sign up and when they take an offered place.
- Reminders (the day and the hour before) are outbox rows written as the place is taken, and
  deleted when it is given up; the renderer skips any that no longer apply.
- An organiser may call it off before it starts: open -> cancelled, every place and place on
  the waiting list given up, and each of those people told (nobody had paid: prices are
  charged at the roll call).
- The roll call goes to each organiser once the activity has run (run_due, roll_call_at). The
  credit moves state open -> done and posts ONE ledger transaction keyed f"activity:{id}", so
  a second tap, or a restart between marking and crediting, credits nobody twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import audit, ledger, organisations
from storage.db import Database, Tx
from storage.errors import NotFound, NotYours, OverdraftLimit, Paused, WrongState
from storage.kinds import LedgerKind, OutboxKind
from storage.models import Activity, Signup, to_db
from storage.nudges import reminders_ahead
from storage.outbox import Notice, enqueue_many
from storage.roles import require_coordinator

ROLES = ("helper", "participant")
MAX_TITLE = 100
MAX_PLACE = 200
# The roll call goes this long after the start: the organisers know by then who came.
ROLL_CALL_AFTER = timedelta(hours=1)
# Places still held (a 'going' place, or one offered and not yet answered).
HELD = ("going", "offered")
AHEAD_WORDS = {OutboxKind.REMINDER_DAY_BEFORE: "day", OutboxKind.REMINDER_HOUR_BEFORE: "hour"}


class AlreadyCredited(WrongState):
    """The roll call was credited already (a second tap, another organiser, a restart)."""


@dataclass(frozen=True, slots=True)
class Card:
    """An activity as one member sees it: who runs it, places taken, first names going, and
    the member's own place (None if they never signed up)."""

    activity: Activity
    organisation: str | None
    taken: dict[str, int]  # places held, by role
    waiting: dict[str, int]  # on the waiting list, by role
    names: tuple[str, ...]  # first names of those going
    mine: Signup | None
    may_run: bool = False  # the viewer is one of its organisers (may call it off)

    def left(self, role: str) -> int:
        return max(self.activity.capacity(role) - self.taken.get(role, 0), 0)


@dataclass(frozen=True, slots=True)
class Attendee:
    """One person going, as the roll call lists them."""

    signup: Signup
    name: str

    @property
    def came(self) -> bool:
        return self.signup.attended is not False


@dataclass(frozen=True, slots=True)
class Credited:
    """What one roll call's credit moved: helpers credited, participants charged."""

    activity: Activity
    helpers: int
    participants: int
    earned: int  # minutes to helpers, in all
    paid: int  # minutes from participants, in all


@dataclass(frozen=True, slots=True)
class DuePass:
    lapsed: int
    offered: int
    roll_calls: int


# --- posting --------------------------------------------------------------------------------


async def post(
    db: Database,
    *,
    by: int,
    organisation_id: int | None,
    title: str,
    starts_at: datetime,
    place: str,
    helpers_wanted: int,
    helper_minutes: int,
    places: int | None,
    price_minutes: int,
    now: datetime,
    organisation_limit: Callable[[str], int],
) -> Activity:
    """Post an activity for an organisation (someone who acts for it) or for the timebank (a
    coordinator). The schema's checks hold the numbers to their steps and limits; an
    organisation must be able to pay its helpers within its overdraft limit
    (`organisation_limit` of its name, in minutes), counting what its other activities not
    yet credited may cost."""
    if starts_at <= now or not (helpers_wanted > 0 or places):
        raise WrongState(0)
    async with db.transaction() as tx:
        if organisation_id is None:
            await require_coordinator(tx, by)
        else:
            organisation = await organisations.require_acts_for(tx, by, organisation_id)
            await _require_can_promise(
                tx,
                organisation_id,
                helpers_wanted * helper_minutes,
                organisation_limit(organisation.name),
            )
        async with tx.execute(
            "INSERT INTO activities (organisation_id, title, starts_at, place, helpers_wanted,"
            " helper_minutes, places, price_minutes, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (
                organisation_id,
                title.strip(),
                to_db(starts_at),
                place.strip(),
                helpers_wanted,
                helper_minutes if helpers_wanted else 0,
                places,
                price_minutes if places else 0,
                by,
                to_db(now),
            ),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        activity = Activity.from_row(row)
        await audit.record(
            tx, actor_id=by, action="activity_posted", subject=subject(activity.id), now=now
        )
    return activity


def subject(activity_id: int) -> str:
    return f"activity:{activity_id}"


# --- reading --------------------------------------------------------------------------------


async def get(db: Database, activity_id: int) -> Activity | None:
    row = await db.one("SELECT * FROM activities WHERE id = ?", (activity_id,))
    return Activity.from_row(row) if row else None


async def get_signup(db: Database, signup_id: int) -> Signup | None:
    row = await db.one("SELECT * FROM activity_signups WHERE id = ?", (signup_id,))
    return Signup.from_row(row) if row else None


async def coming(db: Database, now: datetime, viewer_id: int, limit: int = 10) -> list[Card]:
    """The open activities still ahead, soonest first, each as the viewer sees it."""
    rows = await db.all(
        "SELECT id FROM activities WHERE state = 'open' AND starts_at > ?"
        " ORDER BY starts_at, id LIMIT ?",
        (to_db(now), limit),
    )
    cards = [await card(db, row[0], viewer_id) for row in rows]
    return [found for found in cards if found is not None]


async def card(db: Database, activity_id: int, viewer_id: int) -> Card | None:
    activity = await get(db, activity_id)
    if activity is None:
        return None
    organisation = (
        await organisations.get(db, activity.organisation_id) if activity.organisation_id else None
    )
    counts = await db.all(
        "SELECT role, state, COUNT(*) FROM activity_signups WHERE activity_id = ?"
        " AND state <> 'cancelled' GROUP BY role, state",
        (activity_id,),
    )
    taken = {role: 0 for role in ROLES}
    waiting = {role: 0 for role in ROLES}
    for role, state, count in counts:
        (waiting if state == "waiting" else taken)[role] += count
    going = await db.all(
        "SELECT m.display_name FROM activity_signups s JOIN members m ON m.id = s.member_id"
        " WHERE s.activity_id = ? AND s.state = 'going' AND m.status = 'active'"
        " ORDER BY s.queued_at, s.id",
        (activity_id,),
    )
    mine = await db.one(
        "SELECT * FROM activity_signups WHERE activity_id = ? AND member_id = ?",
        (activity_id, viewer_id),
    )
    return Card(
        activity,
        organisation.name if organisation else None,
        taken,
        waiting,
        tuple(first_name(row[0]) for row in going),
        Signup.from_row(mine) if mine else None,
        await organisations.may_act_for(db, viewer_id, activity.organisation_id),
    )


def first_name(display_name: str) -> str:
    return (display_name.split() or [display_name])[0]


async def attendees(db: Database, activity_id: int) -> list[Attendee]:
    """Everyone going, in the order they signed up: the roll call's list."""
    rows = await db.all(
        "SELECT s.*, m.display_name FROM activity_signups s JOIN members m"
        " ON m.id = s.member_id WHERE s.activity_id = ? AND s.state = 'going'"
        " ORDER BY s.queued_at, s.id",
        (activity_id,),
    )
    return [Attendee(Signup.from_row(row), row["display_name"]) for row in rows]


# --- signing up -----------------------------------------------------------------------------


async def sign_up(
    db: Database,
    *,
    activity_id: int,
    member_id: int,
    role: str,
    now: datetime,
    overdraft_limit: int,
) -> Signup:
    """A place to help or take part, or a place on the waiting list when it is full. Already
    signed up (a double tap): their place as it is."""
    if role not in ROLES:
        raise NotFound(activity_id)
    async with db.transaction() as tx:
        activity = await _ahead(tx, activity_id, now)
        if activity.capacity(role) == 0:
            raise NotFound(activity_id)
        await _require_free_to_join(tx, member_id)
        mine = await _signup_of(tx, activity_id, member_id)
        if mine is not None and mine.state != "cancelled":
            return mine
        if role == "participant":
            await _require_afford(tx, member_id, activity.price_minutes, overdraft_limit)
        room = await _taken(tx, activity_id, role) < activity.capacity(role)
        state = "going" if room else "waiting"
        stamp = to_db(now)
        if mine is None:
            sql = (
                "INSERT INTO activity_signups (activity_id, member_id, role, state, queued_at,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *"
            )
            params: tuple[object, ...] = (
                activity_id,
                member_id,
                role,
                state,
                stamp,
                stamp,
                stamp,
            )
        else:
            sql = (
                "UPDATE activity_signups SET role = ?, state = ?, queued_at = ?, updated_at = ?,"
                " attended = NULL, marked_by = NULL WHERE id = ? AND state = 'cancelled'"
                " RETURNING *"
            )
            params = (role, state, stamp, stamp, mine.id)
        async with tx.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise WrongState(activity_id)
        signup = Signup.from_row(row)
        if signup.state == "going":
            await _remind(tx, activity, signup, now)
    return signup


async def cancel(
    db: Database, *, activity_id: int, member_id: int, now: datetime, offer_for: timedelta
) -> Signup | None:
    """Give up a place (or leave the waiting list, or turn down a place offered); a place given
    up is offered to the next in line. None when there was nothing to give up."""
    async with db.transaction() as tx:
        activity = await _ahead(tx, activity_id, now)
        mine = await _signup_of(tx, activity_id, member_id)
        if mine is None or mine.state == "cancelled":
            return None
        return await _give_up(tx, activity, mine, now, offer_for)


async def take(
    db: Database, *, signup_id: int, member_id: int, now: datetime, overdraft_limit: int
) -> Signup:
    """ "Take it": the place offered becomes theirs, while the offer stands."""
    async with db.transaction() as tx:
        mine = await _own_signup(tx, signup_id, member_id)
        activity = await _ahead(tx, mine.activity_id, now)
        if mine.state == "going":
            return mine
        if mine.role == "participant":
            await _require_afford(tx, member_id, activity.price_minutes, overdraft_limit)
        async with tx.execute(
            "UPDATE activity_signups SET state = 'going', offer_expires_at = NULL,"
            " updated_at = ? WHERE id = ? AND state = 'offered' AND offer_expires_at > ?"
            " RETURNING *",
            (to_db(now), signup_id, to_db(now)),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise WrongState(signup_id)  # the offer lapsed, or was turned down
        signup = Signup.from_row(row)
        await _remind(tx, activity, signup, now)
    return signup


async def decline(
    db: Database, *, signup_id: int, member_id: int, now: datetime, offer_for: timedelta
) -> Signup | None:
    """ "No thanks" to a place offered: it goes to the next in line. None if already answered."""
    async with db.transaction() as tx:
        mine = await _own_signup(tx, signup_id, member_id)
        if mine.state != "offered":
            return None
        activity = await _ahead(tx, mine.activity_id, now)
        return await _give_up(tx, activity, mine, now, offer_for)


async def _give_up(
    tx: Tx, activity: Activity, mine: Signup, now: datetime, offer_for: timedelta
) -> Signup | None:
    async with tx.execute(
        "UPDATE activity_signups SET state = 'cancelled', offer_expires_at = NULL,"
        " updated_at = ? WHERE id = ? AND state = ? RETURNING *",
        (to_db(now), mine.id, mine.state),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    await tx.execute(
        "DELETE FROM outbox WHERE kind = ? AND ref_id = ? AND state = 'pending'",
        (OutboxKind.ACTIVITY_REMINDER, mine.id),
    )
    if mine.state in HELD:
        await _offer_next(tx, activity, mine.role, now, offer_for)
    return Signup.from_row(row)


async def _offer_next(
    tx: Tx, activity: Activity, role: str, now: datetime, offer_for: timedelta
) -> int:
    """Offer each free place of this role to the first waiting for one, until the offer's
    time (never past the start). Returns how many were offered."""
    expires = min(now + offer_for, activity.starts_at)
    offered: list[Notice] = []
    while expires > now and await _taken(tx, activity.id, role) < activity.capacity(role):
        async with tx.execute(
            "UPDATE activity_signups SET state = 'offered', offer_expires_at = ?, updated_at = ?"
            " WHERE id = (SELECT id FROM activity_signups WHERE activity_id = ? AND role = ?"
            " AND state = 'waiting' ORDER BY queued_at, id LIMIT 1) RETURNING id, member_id",
            (to_db(expires), to_db(now), activity.id, role),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            break
        stamp = to_db(expires)
        offered.append(
            Notice(
                row["member_id"],
                OutboxKind.ACTIVITY_OFFERED,
                row["id"],
                {"until": stamp},
                expires_at=expires,
                idempotency_key=f"signup:{row['id']}:offered:{stamp}",
            )
        )
    await enqueue_many(tx, offered, now)
    return len(offered)


async def _remind(tx: Tx, activity: Activity, signup: Signup, now: datetime) -> None:
    """The day before and the hour before, as long as that is still ahead."""
    stamp = to_db(activity.starts_at)
    await enqueue_many(
        tx,
        (
            Notice(
                signup.member_id,
                OutboxKind.ACTIVITY_REMINDER,
                signup.id,
                {"at": stamp, "ahead": AHEAD_WORDS[kind]},
                due_at=activity.starts_at - ahead,
                expires_at=activity.starts_at,
                idempotency_key=f"signup:{signup.id}:{AHEAD_WORDS[kind]}:{stamp}",
            )
            for kind, ahead in reminders_ahead(activity.starts_at, now)
        ),
        now,
    )


# --- calling it off -------------------------------------------------------------------------


async def call_off(db: Database, *, activity_id: int, by: int, now: datetime) -> int | None:
    """An organiser calls the activity off before it starts: everyone with a place, offered a
    place or waiting for one is told. Returns how many; None if it was already called off
    (a second tap)."""
    async with db.transaction() as tx:
        activity = await _activity(tx, activity_id)
        await _require_organiser(tx, activity, by)
        if activity.state == "cancelled":
            return None
        activity = await _ahead(tx, activity_id, now)
        await tx.execute(
            "UPDATE activities SET state = 'cancelled' WHERE id = ? AND state = 'open'",
            (activity_id,),
        )
        told = await tx.execute_fetchall(
            "UPDATE activity_signups SET state = 'cancelled', offer_expires_at = NULL,"
            " updated_at = ? WHERE activity_id = ? AND state <> 'cancelled'"
            " RETURNING id, member_id",
            (to_db(now), activity_id),
        )
        notices = [
            Notice(
                row["member_id"],
                OutboxKind.ACTIVITY_CALLED_OFF,
                row["id"],
                idempotency_key=f"signup:{row['id']}:called_off",
            )
            for row in told
        ]
        await enqueue_many(tx, notices, now)
        await audit.record(
            tx,
            actor_id=by,
            action="activity_called_off",
            subject=subject(activity_id),
            now=now,
            detail={"told": len(told)},
        )
    return len(told)


# --- the scheduler's pass -------------------------------------------------------------------


async def run_due(db: Database, now: datetime, offer_for: timedelta) -> DuePass:
    """From the scheduler's tick: offers not answered in time lapse, every free place is
    offered to the next in line, and each activity that has run sends its organisers the roll
    call, once."""
    async with db.transaction() as tx:
        lapsed = await tx.execute_fetchall(
            "UPDATE activity_signups SET state = 'cancelled', offer_expires_at = NULL,"
            " updated_at = :now WHERE state = 'offered' AND offer_expires_at <= :now"
            " RETURNING id",
            {"now": to_db(now)},
        )
        offered = await _fill_free_places(tx, now, offer_for)
        ran = await tx.execute_fetchall(
            "UPDATE activities SET roll_call_at = ? WHERE state = 'open'"
            " AND roll_call_at IS NULL AND starts_at <= ? RETURNING *",
            (to_db(now), to_db(now - ROLL_CALL_AFTER)),
        )
        calls = [
            Notice(
                organiser,
                OutboxKind.ACTIVITY_ROLL_CALL,
                activity.id,
                idempotency_key=f"activity:{activity.id}:roll_call:{organiser}",
            )
            for activity in map(Activity.from_row, ran)
            for organiser in await _organisers(tx, activity)
        ]
        await enqueue_many(tx, calls, now)
    return DuePass(len(lapsed), offered, len(ran))


async def _fill_free_places(tx: Tx, now: datetime, offer_for: timedelta) -> int:
    """Offer the free places of every activity still ahead to whoever waits for one: places
    freed by an offer lapsing, and by a member leaving the timebank (/forget gives their places
    up in bulk, knowing nothing of waiting lists). Returns how many were offered."""
    waiting = await tx.execute_fetchall(
        "SELECT DISTINCT s.activity_id, s.role FROM activities a"
        " JOIN activity_signups s ON s.activity_id = a.id AND s.state = 'waiting'"
        " WHERE a.state = 'open' AND a.starts_at > ? ORDER BY 1, 2",
        (to_db(now),),
    )
    offered = 0
    for activity_id, role in waiting:
        offered += await _offer_next(tx, await _activity(tx, activity_id), role, now, offer_for)
    return offered


async def _organisers(tx: Tx, activity: Activity) -> list[int]:
    """Who runs it: the organisation's members and whoever posted it (a coordinator, for the
    timebank's own)."""
    rows = await tx.execute_fetchall(
        "SELECT member_id FROM organisation_members WHERE organisation_id = ?"
        " UNION SELECT ? ORDER BY 1",
        (activity.organisation_id, activity.created_by),
    )
    return [row[0] for row in rows]


# --- the roll call --------------------------------------------------------------------------


async def roll_call(db: Database, *, activity_id: int, by: int) -> tuple[Activity, list[Attendee]]:
    """The roll call as an organiser turns its pages; refused to anyone else, as it names
    everyone going."""
    return await organised(db, activity_id=activity_id, by=by), await attendees(db, activity_id)


async def organised(db: Database, *, activity_id: int, by: int) -> Activity:
    """The activity, for one of its organisers only (NotForOrganisation, NotCoordinator
    otherwise): what a button only organisers see checks before it shows anything."""
    async with db.transaction() as tx:
        activity = await _activity(tx, activity_id)
        await _require_organiser(tx, activity, by)
    return activity


async def mark(
    db: Database, *, signup_id: int, came: bool, by: int, now: datetime
) -> list[Attendee]:
    """An organiser marks someone as came or didn't; returns the roll call as it now is."""
    async with db.transaction() as tx:
        row = await tx.one("SELECT * FROM activity_signups WHERE id = ?", signup_id)
        if row is None:
            raise NotFound(signup_id)
        activity = await _activity(tx, row["activity_id"])
        await _require_organiser(tx, activity, by)
        _require_uncredited(activity, now)
        await tx.execute(
            "UPDATE activity_signups SET attended = ?, marked_by = ?, updated_at = ?"
            " WHERE id = ? AND state = 'going'",
            (int(came), by, to_db(now), signup_id),
        )
    return await attendees(db, activity.id)


async def credit(db: Database, *, activity_id: int, by: int, now: datetime) -> Credited:
    """ "Credit everyone who came": in one transaction, the activity is done, every helper who
    came earns helper_minutes from the organisation's account (or the community's), every
    participant who came pays price_minutes to it, and each is thanked. Built in one pass and
    written with executemany, so hundreds of helpers cost milliseconds. A second call raises
    AlreadyCredited and moves nothing (state CAS, and the ledger's idempotency key)."""
    async with db.transaction() as tx:
        activity = await _activity(tx, activity_id)
        await _require_organiser(tx, activity, by)
        _require_uncredited(activity, now)
        async with tx.execute(
            "UPDATE activities SET state = 'done', credited_at = ?, credited_by = ?"
            " WHERE id = ? AND state = 'open' RETURNING *",
            (to_db(now), by, activity_id),
        ) as cursor:
            done = await cursor.fetchone()
        if done is None:
            raise AlreadyCredited(activity_id)
        came: list[tuple[int, str, int]] = [
            (row[0], row[1], row[2])
            for row in await tx.execute_fetchall(
                "SELECT s.member_id, s.role, MIN(a.id) FROM activity_signups s"
                " JOIN accounts a ON a.member_id = s.member_id WHERE s.activity_id = ?"
                " AND s.state = 'going' AND COALESCE(s.attended, 1) = 1 GROUP BY s.id",
                (activity_id,),
            )
        ]
        await tx.execute(
            "UPDATE activity_signups SET attended = 1, marked_by = ?, updated_at = ?"
            " WHERE activity_id = ? AND state = 'going' AND attended IS NULL",
            (by, to_db(now), activity_id),
        )
        entries, helpers, participants = _entries(activity, came)
        if entries:
            source = (
                ledger.COMMUNITY_ACCOUNT
                if activity.organisation_id is None
                else await organisations.account_id(tx, activity.organisation_id)
            )
            flow = -sum(minutes for _, minutes in entries)
            await ledger.post(
                tx,
                kind=LedgerKind.ACTIVITY,
                idempotency_key=f"activity:{activity_id}",
                entries=[*entries, (source, flow)] if flow else entries,
                now=now,
                activity_id=activity_id,
                recorded_by=by,
            )
        await enqueue_many(
            tx,
            (
                Notice(
                    member_id,
                    OutboxKind.ACTIVITY_THANKS,
                    activity_id,
                    {"role": role},
                    idempotency_key=f"activity:{activity_id}:thanks:{member_id}",
                )
                for member_id, role, _ in came
            ),
            now,
        )
        await audit.record(
            tx,
            actor_id=by,
            action="activity_credited",
            subject=subject(activity_id),
            now=now,
            detail={"helpers": helpers, "participants": participants},
        )
    return Credited(
        Activity.from_row(done),
        helpers,
        participants,
        helpers * activity.helper_minutes,
        participants * activity.price_minutes,
    )


def _entries(
    activity: Activity, came: Sequence[tuple[int, str, int]]
) -> tuple[list[tuple[int, int]], int, int]:
    """Each person's entry, in one pass: + for a helper, − for a participant (none when it
    moves no minutes), with how many of each came."""
    entries: list[tuple[int, int]] = []
    helpers = participants = 0
    earn, pay = activity.helper_minutes, activity.price_minutes
    for _, role, account in came:
        if role == "helper":
            helpers += 1
            if earn:
                entries.append((account, earn))
        else:
            participants += 1
            if pay:
                entries.append((account, -pay))
    return entries, helpers, participants


# --- checks ---------------------------------------------------------------------------------


async def _activity(tx: Tx, activity_id: int) -> Activity:
    row = await tx.one("SELECT * FROM activities WHERE id = ?", activity_id)
    if row is None:
        raise NotFound(activity_id)
    return Activity.from_row(row)


async def _ahead(tx: Tx, activity_id: int, now: datetime) -> Activity:
    """The activity, if it is open and still to come (places change only before it starts)."""
    activity = await _activity(tx, activity_id)
    if activity.state != "open" or activity.starts_at <= now:
        raise WrongState(activity_id)
    return activity


async def _require_organiser(tx: Tx, activity: Activity, member_id: int) -> None:
    """Its organisation's members and coordinators; a coordinator, for the timebank's own."""
    if activity.organisation_id is None:
        await require_coordinator(tx, member_id)
    else:
        await organisations.require_acts_for(tx, member_id, activity.organisation_id)


def _require_uncredited(activity: Activity, now: datetime) -> None:
    if activity.state == "done":
        raise AlreadyCredited(activity.id)
    if activity.state != "open" or activity.starts_at > now:
        raise WrongState(activity.id)  # the roll call is for after it has begun


async def _require_can_promise(tx: Tx, organisation_id: int, cost: int, limit: int) -> None:
    """What the organisation has, less what its activities not yet credited may cost, must
    cover `cost` within its limit (OverdraftLimit: that remainder as `balance`)."""
    if not cost:
        return
    row = await tx.one(
        "SELECT COALESCE(SUM(helpers_wanted * helper_minutes), 0) FROM activities"
        " WHERE organisation_id = ? AND state = 'open'",
        organisation_id,
    )
    free = await organisations.balance_in(tx, organisation_id) - (int(row[0]) if row else 0)
    if free - cost < -limit:
        raise OverdraftLimit(free, limit)


async def _require_free_to_join(tx: Tx, member_id: int) -> None:
    row = await tx.one("SELECT status, paused_at FROM members WHERE id = ?", member_id)
    if row is None or row[0] != "active":
        raise NotFound(member_id)
    if row[1] is not None:
        raise Paused(member_id)


async def _require_afford(tx: Tx, member_id: int, price: int, overdraft_limit: int) -> None:
    if not price:
        return
    balance = await ledger.balance_in(tx, member_id)
    if balance - price < -overdraft_limit:
        raise OverdraftLimit(balance, overdraft_limit)


async def _signup_of(tx: Tx, activity_id: int, member_id: int) -> Signup | None:
    row = await tx.one(
        "SELECT * FROM activity_signups WHERE activity_id = ? AND member_id = ?",
        activity_id,
        member_id,
    )
    return Signup.from_row(row) if row else None


async def _own_signup(tx: Tx, signup_id: int, member_id: int) -> Signup:
    row = await tx.one("SELECT * FROM activity_signups WHERE id = ?", signup_id)
    if row is None:
        raise NotFound(signup_id)
    signup = Signup.from_row(row)
    if signup.member_id != member_id:
        raise NotYours(signup_id)
    return signup


async def _taken(tx: Tx, activity_id: int, role: str) -> int:
    row = await tx.one(
        "SELECT COUNT(*) FROM activity_signups WHERE activity_id = ? AND role = ?"
        " AND state IN ('going', 'offered')",
        activity_id,
        role,
    )
    return int(row[0]) if row else 0
