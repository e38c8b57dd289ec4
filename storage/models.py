"""Frozen values that storage returns: plain data, no Telegram types, no connections."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any, Generic, Literal, TypeVar

import aiosqlite

from storage.kinds import ExchangeState

ListingKind = Literal["offer", "need"]
T = TypeVar("T")

# The reserved members row (migration 0008) that stands for everyone who left: their hours and
# exchanges stay, naming it. No name, no Telegram id, status 'left'; renderers show it as
# "a former member" (Member.is_former).
FORMER_MEMBER_ID = 0

MIN_MINUTES = 15
MAX_MINUTES = 12 * 60
MINUTE_STEP = 15


def to_db(moment: datetime) -> str:
    """Store times as fixed-width UTC text so string order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text)  # C-fast, and reads the trailing Z as UTC


def from_row(cls: type[T], row: aiosqlite.Row, **computed: Any) -> T:
    """A frozen value from a row: each field from the column of the same name (times parsed,
    flags as bools), unless given in `computed`; a field with no column keeps its default."""
    columns = set(row.keys())
    values: dict[str, Any] = {}
    for spec in fields(cls):  # type: ignore[arg-type]
        if spec.name in computed:
            values[spec.name] = computed[spec.name]
        elif spec.name in columns:
            values[spec.name] = _convert(row[spec.name], str(spec.type))
    return cls(**values)


def _convert(value: Any, annotation: str) -> Any:
    if value is not None and annotation.startswith("datetime"):
        return from_db(value)
    if annotation == "bool":
        return bool(value)
    return value


def valid_minutes(minutes: int) -> bool:
    return MIN_MINUTES <= minutes <= MAX_MINUTES and minutes % MINUTE_STEP == 0


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    telegram_id: int | None
    display_name: str
    username: str | None
    neighbourhood: str | None
    join_source: str | None
    status: str
    role: str
    created_at: datetime
    nudges_enabled: bool = True
    nudge_digest: bool = False
    quiet_hours: str | None = None
    unreachable: bool = False
    language: str | None = None
    paused_at: datetime | None = None

    @property
    def is_coordinator(self) -> bool:
        return self.role == "coordinator"

    @property
    def paused(self) -> bool:
        """A coordinator paused them: no posting or answering posts for now."""
        return self.paused_at is not None

    @property
    def is_former(self) -> bool:
        """The anonymous stand-in for members who left: show "a former member", not a name."""
        return self.id == FORMER_MEMBER_ID

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Member:
        return from_row(cls, row, unreachable=row["unreachable_at"] is not None)


@dataclass(frozen=True, slots=True)
class Listing:
    id: int
    owner_id: int
    owner_name: str
    kind: ListingKind
    category: str
    body: str
    when_where: str | None
    status: str
    created_at: datetime
    owner_neighbourhood: str | None = None
    organisation_id: int | None = None  # posted for an organisation, by the owner
    organisation_name: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def poster(self) -> str:
        """Whom members see as posting it: the organisation, when it is for one."""
        return self.organisation_name or self.owner_name

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Listing:
        return from_row(cls, row)


@dataclass(frozen=True, slots=True)
class Response:
    id: int
    listing_id: int
    responder_id: int
    status: str

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Response:
        return from_row(cls, row)


@dataclass(frozen=True, slots=True)
class Exchange:
    id: int
    listing_id: int | None
    giver_id: int
    receiver_id: int
    state: ExchangeState
    proposed_minutes: int | None
    proposed_by: int | None
    updated_at: datetime
    scheduled_at: datetime | None = None
    disputed_by: int | None = None
    dispute_reason: str | None = None  # 'hours' or 'didnt_happen', while it waits
    organisation_id: int | None = None  # the listing was posted for an organisation
    organisation_side: str | None = None  # 'giver' or 'receiver': whose account is the org's

    def involves(self, member_id: int) -> bool:
        return member_id in (self.giver_id, self.receiver_id)

    def for_organisation(self, member_id: int) -> bool:
        """Whether this party acts for the exchange's organisation: its hours are the
        organisation's, not their own."""
        side = self.giver_id if self.organisation_side == "giver" else self.receiver_id
        return self.organisation_id is not None and member_id == side

    def other_party(self, member_id: int) -> int:
        return self.receiver_id if member_id == self.giver_id else self.giver_id

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Exchange:
        return from_row(cls, row, state=ExchangeState(row["state"]))


@dataclass(frozen=True, slots=True)
class Report:
    """A member's report of another, for the coordinators; `outcome` once one handled it."""

    id: int
    reporter_id: int
    reported_id: int
    exchange_id: int | None
    reason: str
    note: str | None
    created_at: datetime
    handled_by: int | None = None
    outcome: str | None = None

    @property
    def handled(self) -> bool:
        return self.outcome is not None

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Report:
        return from_row(cls, row)


@dataclass(frozen=True, slots=True)
class Visitor:
    """A member who offered to visit patients at home (storage/visitors.py)."""

    member_id: int
    status: str  # applied · approved · paused · retired · declined
    free_when: str | None
    source: str  # volunteered · paid_forward
    check_expires_on: str | None  # ISO date of the latest check's expiry
    applied_at: datetime
    areas: tuple[str, ...] = ()

    def can_visit(self, today: date) -> bool:
        """Approved, with a check still valid today: only then is anyone referred to them."""
        return (
            self.status == "approved"
            and self.check_expires_on is not None
            and date.fromisoformat(self.check_expires_on) > today
        )

    @classmethod
    def from_row(cls, row: aiosqlite.Row, areas: Sequence[str] = ()) -> Visitor:
        return from_row(cls, row, areas=tuple(areas))


@dataclass(frozen=True, slots=True)
class Referral:
    """A patient discharged from hospital who was promised a home visit. contact, address and
    notes are for coordinators and the accepted visitor only."""

    id: int
    patient_id: int | None  # theirs when they joined by a ward's link
    first_name: str
    area: str
    contact: str | None
    address: str | None
    needs: tuple[str, ...]
    notes: str | None
    discharged_at: datetime
    ward: str | None
    source: str  # coordinator · ward
    registered_by: int | None
    state: str  # matching · accepted · visited · closed · withdrawn
    visitor_id: int | None
    code_word: str | None
    accepted_at: datetime | None
    first_visit_at: datetime | None
    created_at: datetime
    pay_forward: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in ("matching", "accepted")

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Referral:
        return from_row(cls, row, needs=tuple(json.loads(row["needs"])))


@dataclass(frozen=True, slots=True)
class VisitOffer:
    id: int
    referral_id: int
    visitor_id: int
    state: str  # open · accepted · declined · timed_out · withdrawn
    offered_at: datetime
    answer_by: datetime

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> VisitOffer:
        return from_row(cls, row)


@dataclass(frozen=True, slots=True)
class Visit:
    """A visit (number 1 the first, then follow-ups) and the visitor's check-in of it."""

    id: int
    referral_id: int
    visitor_id: int
    number: int
    state: str  # planned · done · unreached · cancelled
    due_on: str | None = None
    scheduled_at: datetime | None = None
    warm: bool | None = None
    food: bool | None = None
    medicines: bool | None = None
    worry: bool | None = None
    note: str | None = None
    reported_at: datetime | None = None
    reach_tries: int = 0
    confirmed_at: datetime | None = None

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Visit:
        flags = {name: _flag(row[name]) for name in ("warm", "food", "medicines", "worry")}
        return from_row(cls, row, **flags)


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One exchange as a member sees it in /history."""

    exchange_id: int
    gave: bool
    other_name: str
    state: str
    minutes: int | None
    when: datetime
    other_left: bool = False  # the other party is the former member: show "a former member"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    offset: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.offset > 0


@dataclass(frozen=True, slots=True)
class Organisation:
    """A service taking part in the timebank (storage/organisations.py): it has its own
    account, and members who act for it."""

    id: int
    name: str
    area: str
    description: str
    status: str  # active · closed
    created_by: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Organisation:
        return from_row(cls, row)


@dataclass(frozen=True, slots=True)
class Activity:
    """A group activity (storage/activities.py): run by an organisation, or by the timebank's
    coordinators when organisation_id is None. Helpers earn helper_minutes each; participants,
    when there are places, pay price_minutes each."""

    id: int
    organisation_id: int | None
    title: str
    starts_at: datetime
    place: str
    helpers_wanted: int
    helper_minutes: int
    places: int | None
    price_minutes: int
    state: str  # open · cancelled · done
    created_by: int
    created_at: datetime
    roll_call_at: datetime | None = None
    credited_at: datetime | None = None
    credited_by: int | None = None

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Activity:
        return from_row(cls, row)

    def capacity(self, role: str) -> int:
        """How many of this role it takes: helpers wanted, or places for participants."""
        return self.helpers_wanted if role == "helper" else self.places or 0

    def minutes_for(self, role: str) -> int:
        """What one person of this role moves: earned by a helper, paid by a participant."""
        return self.helper_minutes if role == "helper" else self.price_minutes


@dataclass(frozen=True, slots=True)
class Signup:
    """One member's place at an activity: going, waiting (in queued_at order), offered a
    place that came free (until offer_expires_at), or cancelled. attended is the roll call's
    mark: None until an organiser says otherwise, which counts as came."""

    id: int
    activity_id: int
    member_id: int
    role: str  # helper · participant
    state: str  # going · waiting · offered · cancelled
    queued_at: datetime
    created_at: datetime
    updated_at: datetime
    offer_expires_at: datetime | None = None
    attended: bool | None = None
    marked_by: int | None = None

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Signup:
        return from_row(cls, row, attended=_flag(row["attended"]))


@dataclass(frozen=True, slots=True)
class PartnerOffer:
    """Something an organisation offers for hours (storage/partners.py), with its name."""

    id: int
    organisation_id: int
    organisation_name: str
    category: str
    title: str
    details: str | None
    price_minutes: int
    status: str  # open · closed
    created_by: int
    created_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> PartnerOffer:
        return from_row(cls, row)


@dataclass(frozen=True, slots=True)
class Spend:
    """A member spending hours on a partner's offer: asked, then confirmed or declined by
    someone acting for the organisation, or withdrawn by the member. `minutes` is the price
    when they asked."""

    id: int
    offer_id: int
    member_id: int
    minutes: int
    state: str  # asked · confirmed · declined · withdrawn
    decided_by: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Spend:
        return from_row(cls, row)
