"""Figures for a coordinator's /report: what the timebank did in a period, read from SQLite.

Why the figures come from the ledger rather than from `exchanges.state`: the ledger is
append-only, so a report for a closed period reads the same next year as it did the day it was
sent (to a funder, say). Concretely:

- An exchange counts in the period in which it was first credited: the `created_at` of its
  ledger transaction of kind 'exchange' (both parties confirmed) or 'coordinator' (recorded or
  settled by a coordinator). An exchange has at most one of those.
- Hours are the minutes credited to givers by transactions dated in the period, of every kind.
  So a 'correction' (a coordinator changing the hours of an exchange already credited) adjusts
  the hours of the period in which it was made, but is not a new exchange and changes no count.
  A correction back to zero therefore shows as negative hours in its own period; summing the
  periods always gives the ledger's total.
- Active members, reciprocity and network ties are read from the exchanges counted in the period.
- "New members" are members who joined in the period and are active now (a pending or declined
  applicant is not a member yet).
- The time to a first response is measured for needs posted in the period that have at least
  one response ("I can help", whatever came of it), however late that response came.

Periods are half-open, [start, end), in UTC; `start=None` means since the beginning.

Organisations and partners (`partner_figures`), each a few aggregate queries that go down an
index, so /report stays quick over a million ledger entries:
- Hours between members (in `Report`, read in the same pass as the hours given): minutes
  credited to givers for exchanges no organisation took part in.
- Hours given to organisations: minutes that left an organisation's account for help in an
  exchange (it received help), and minutes credited to helpers at its activities. Helpers at the
  timebank's own activities (run by coordinators, paid from the community account) are counted
  apart.
- Hours spent with partners: minutes members spent on organisations' offers (spends confirmed).
- Each organisation's balance is all its history; what came in and went out is the period's.
- Activities count in the period they started in (cancelled ones never): how many, how many
  people had a place ('going'), and how many the roll call marked as having come.
- New members by join source, where an activity's link ('activity:ID') is named by its title.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from storage import visit_figures
from storage.db import Database, Row, Tx
from storage.models import from_db, to_db
from storage.visit_figures import VisitFigures
from storage.visit_rules import VisitRules

Span = tuple[datetime | None, datetime]

# The givers' hours in each week of a period, one correlated read per week (`:weeks` is a JSON
# list of [monday, from, until]): each read walks its own stretch of the time index, so no
# sort of every entry of the period is needed to group them.
_GIVEN_BY_WEEK = (
    "WITH given AS MATERIALIZED (SELECT w.value ->> 0 AS week,"
    " (SELECT json_array(COALESCE(SUM(le.minutes), 0),"
    " COALESCE(SUM(le.minutes) FILTER (WHERE e.organisation_id IS NULL), 0))"
    " FROM ledger_transactions t"
    " JOIN exchanges e ON e.id = t.exchange_id"
    " JOIN accounts a ON a.member_id = e.giver_id"
    " JOIN ledger_entries le ON le.transaction_id = t.id AND le.account_id = a.id"
    " WHERE t.created_at >= w.value ->> 1 AND t.created_at < w.value ->> 2) AS sums"
    " FROM json_each(:weeks) AS w)"
    " SELECT week, sums ->> 0 AS minutes, sums ->> 1 AS between_members FROM given"
)

# The exchanges counted in a period: first credited in it.
# The exchanges credited in a period (by a member or a coordinator), folded into who gave to
# whom and how many exchanges each pair had. The kind is read from the time index (`+t.kind`),
# not looked up by kind, so a period walks only its own stretch of that index.
_PAIRS = (
    "WITH pairs AS MATERIALIZED (SELECT e.giver_id, e.receiver_id, COUNT(DISTINCT e.id) AS n"
    " FROM ledger_transactions t JOIN exchanges e ON e.id = t.exchange_id"
    " WHERE +t.kind IN ('exchange', 'coordinator')"
    " AND t.created_at >= :start AND t.created_at < :end GROUP BY e.giver_id, e.receiver_id)"
)


@dataclass(frozen=True, slots=True)
class Report:
    """What the timebank did between `start` (None: the beginning) and `end`."""

    start: datetime | None
    end: datetime
    minutes: int
    exchanges: int
    active_members: int
    new_members: int
    # Share of active members who both gave and received; None when nobody was active.
    reciprocity: float | None
    # Distinct unordered pairs of members who exchanged.
    ties: int
    # Median wait from a need being posted to its first response; None when none was answered.
    median_first_response: timedelta | None
    # Extension point: peer visits are not recorded yet (no table). None means "not running
    # yet", which is not the same as 0; fill it in `period_report` once visits are stored.
    peer_visits: int | None = None
    # The part of `minutes` given in exchanges no organisation took part in.
    between_members: int = 0


async def period_report(db: Database, *, start: datetime | None, end: datetime) -> Report:
    """Every figure for one period, each from one small query."""
    bounds = _bounds(start, end)
    return await _period_report(db, bounds, start, end, await _given_by_week(db, start, end))


async def _period_report(
    db: Database,
    bounds: dict[str, str],
    start: datetime | None,
    end: datetime,
    given: list[Given],
) -> Report:
    exchanges, ties, active, both = await _exchanges_ties_and_active(db, bounds)
    minutes = sum(week.minutes for week in given)
    between_members = sum(week.between_members for week in given)
    return Report(
        start=start,
        end=end,
        minutes=minutes,
        exchanges=exchanges,
        active_members=active,
        new_members=await _new_members(db, bounds),
        reciprocity=both / active if active else None,
        ties=ties,
        median_first_response=await _median_first_response(db, bounds),
        between_members=between_members,
    )


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything /report shows for a period: the timebank's figures, its hours week by week,
    peer visits, and organisations and partners."""

    report: Report
    weeks: list[tuple[date, int]]
    visits: VisitFigures
    partners: PartnerFigures


async def figures(
    db: Database, *, start: datetime | None, end: datetime, rules: VisitRules
) -> Figures:
    """All of /report's figures for one period (what bench/activities.py times): the hours
    given are read once, by week, for both the totals and the chart."""
    bounds = _bounds(start, end)
    given = await _given_by_week(db, start, end)
    return Figures(
        report=await _period_report(db, bounds, start, end, given),
        weeks=[(each.week, each.minutes) for each in given],
        visits=await visit_figures.for_period(db, start=start, end=end, rules=rules),
        partners=await partner_figures(db, start=start, end=end),
    )


async def hours_per_week(
    db: Database, *, start: datetime | None, end: datetime
) -> list[tuple[date, int]]:
    """Minutes credited to givers per week (Mondays, UTC), with empty weeks as 0, for a chart.

    With no start, the weeks begin at the first credit (or at `end` when there is none)."""
    return [(each.week, each.minutes) for each in await _given_by_week(db, start, end)]


@dataclass(frozen=True, slots=True)
class Given:
    """Minutes credited to givers in one week (its Monday, UTC), and the part of them given
    in exchanges no organisation took part in."""

    week: date
    minutes: int
    between_members: int


async def _given_by_week(db: Database, start: datetime | None, end: datetime) -> list[Given]:
    """The givers' hours in every week of the period, empty weeks as 0: the costliest read of
    /report, so both its totals and its chart come from it."""
    first = start or await _first_credit(db) or end
    weeks = _week_spans(first, end)
    rows = await db.all(_GIVEN_BY_WEEK, {"weeks": json.dumps(weeks)})
    return [
        Given(date.fromisoformat(row["week"]), int(row["minutes"]), int(row["between_members"]))
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class OrganisationFlow:
    """One organisation in a period (id None: the timebank's own activities)."""

    organisation_id: int | None
    name: str | None
    balance: int  # now, all history
    came_in: int
    went_out: int
    activities: int
    signed_up: int
    came: int


@dataclass(frozen=True, slots=True)
class JoinSource:
    """How many members joined one way (None: straight to the bot); an activity's title when
    they came by its link."""

    source: str | None
    activity_title: str | None
    count: int


@dataclass(frozen=True, slots=True)
class PartnerFigures:
    given_to_organisations: int
    at_timebank_activities: int
    spent_with_partners: int
    spends: int
    organisations: tuple[OrganisationFlow, ...]
    joined: tuple[JoinSource, ...]

    @property
    def any(self) -> bool:
        """Something to say: an organisation, an activity, a spend, or a member who came by a
        link or told us how they heard of us."""
        return bool(self.organisations or self.spends or any(j.source for j in self.joined))


# Reads for figures come from the reader connection (a report) or inside the caller's
# transaction (an export, which must agree with the files read beside it).
Source = Database | Tx

# Minutes in and out of each organisation's account in the period, by why they moved: down
# ledger_entries_account (which holds each entry's transaction) for each of the few
# organisation accounts, then each transaction by id. CROSS JOIN keeps that order: left to
# itself, SQLite walks every transaction in the period by time (five seconds over a million
# entries, all time, against a twentieth of that).
_ORGANISATION_FLOWS = (
    "SELECT a.organisation_id AS organisation_id, t.kind AS kind,"
    " SUM(MAX(le.minutes, 0)) AS came_in, SUM(MAX(-le.minutes, 0)) AS went_out,"
    " COUNT(DISTINCT t.id) AS transactions"
    " FROM accounts a CROSS JOIN ledger_entries le ON le.account_id = a.id"
    " CROSS JOIN ledger_transactions t ON t.id = le.transaction_id"
    " WHERE a.organisation_id IS NOT NULL"
    " AND t.created_at >= :start AND t.created_at < :end"
    " GROUP BY a.organisation_id, t.kind"
)
# Helpers credited at activities in the period, the organisations' and the timebank's own:
# down the partial index of activity transactions (a few thousand), which SQLite would
# otherwise pass over for the time index and its hundreds of thousands of rows.
_ACTIVITY_HELPERS = (
    "SELECT ac.organisation_id IS NULL AS own, COALESCE(SUM(le.minutes), 0) AS minutes"
    " FROM ledger_transactions t INDEXED BY ledger_transactions_activity"
    " JOIN activities ac ON ac.id = t.activity_id"
    " JOIN ledger_entries le ON le.transaction_id = t.id"
    " JOIN accounts a ON a.id = le.account_id"
    " WHERE t.activity_id IS NOT NULL AND a.kind = 'member' AND le.minutes > 0"
    " AND t.created_at >= :start AND t.created_at < :end GROUP BY own"
)
_BALANCES = (
    "SELECT o.id, o.name, (SELECT COALESCE(SUM(le.minutes), 0) FROM ledger_entries le"
    " WHERE le.account_id = a.id) AS balance"
    " FROM organisations o JOIN accounts a ON a.organisation_id = o.id ORDER BY o.name"
)
_ATTENDANCE = (
    "SELECT ac.organisation_id AS organisation_id, COUNT(DISTINCT ac.id) AS activities,"
    " COALESCE(SUM(s.state = 'going'), 0) AS signed_up,"
    " COALESCE(SUM(s.state = 'going' AND s.attended = 1), 0) AS came"
    " FROM activities ac LEFT JOIN activity_signups s ON s.activity_id = ac.id"
    " WHERE ac.state <> 'cancelled' AND ac.starts_at >= :start AND ac.starts_at < :end"
    " GROUP BY ac.organisation_id"
)
_JOINED = (
    "SELECT m.join_source AS source, ac.title AS title, COUNT(*) AS count FROM members m"
    " LEFT JOIN activities ac ON m.join_source GLOB 'activity:[0-9]*'"
    " AND ac.id = CAST(substr(m.join_source, 10) AS INTEGER)"
    " WHERE m.status = 'active' AND m.created_at >= :start AND m.created_at < :end"
    " GROUP BY m.join_source ORDER BY count DESC, m.join_source"
)
# Kinds of transaction that come of an exchange.
_EXCHANGE_KINDS = ("exchange", "coordinator", "correction")


async def partner_figures(
    source: Source, *, start: datetime | None, end: datetime
) -> PartnerFigures:
    """Organisations, partners and join sources for one period, in five aggregate queries."""
    bounds = _bounds(start, end)
    flows: dict[int, list[int]] = {}
    given = spent = spends = 0
    for row in await _rows(source, _ORGANISATION_FLOWS, bounds):
        totals = flows.setdefault(row["organisation_id"], [0, 0])
        totals[0] += row["came_in"]
        totals[1] += row["went_out"]
        if row["kind"] in _EXCHANGE_KINDS:
            given += row["went_out"]
        elif row["kind"] == "spend":
            spent += row["came_in"] - row["went_out"]
            spends += row["transactions"]
    helpers = {
        bool(row["own"]): int(row["minutes"])
        for row in await _rows(source, _ACTIVITY_HELPERS, bounds)
    }
    attendance = {row["organisation_id"]: row for row in await _rows(source, _ATTENDANCE, bounds)}
    organisations = [
        _flow(row[0], row[1], row[2], flows.get(row[0], [0, 0]), attendance.get(row[0]))
        for row in await _rows(source, _BALANCES, {})
    ]
    if None in attendance:
        organisations.append(_flow(None, None, 0, [0, 0], attendance[None]))
    joined = [
        JoinSource(row["source"], row["title"], int(row["count"]))
        for row in await _rows(source, _JOINED, bounds)
    ]
    return PartnerFigures(
        given_to_organisations=given + helpers.get(False, 0),
        at_timebank_activities=helpers.get(True, 0),
        spent_with_partners=spent,
        spends=spends,
        organisations=tuple(organisations),
        joined=tuple(joined),
    )


def _flow(
    organisation_id: int | None, name: str | None, balance: int, flow: list[int], seen: Row | None
) -> OrganisationFlow:
    return OrganisationFlow(
        organisation_id,
        name,
        int(balance),
        flow[0],
        flow[1],
        int(seen["activities"]) if seen else 0,
        int(seen["signed_up"]) if seen else 0,
        int(seen["came"]) if seen else 0,
    )


async def _rows(source: Source, sql: str, params: dict[str, str]) -> list[Row]:
    if isinstance(source, Database):
        return await source.all(sql, params)
    return await source.execute_fetchall(sql, params)


# --- periods, with month boundaries in the timebank's own timezone --------------------------


def this_month(now: datetime, zone: tzinfo) -> Span:
    """From the first of this month (local midnight) until now."""
    return _months_back(now, zone, 0), now


def last_three_months(now: datetime, zone: tzinfo) -> Span:
    """This month so far and the two whole months before it."""
    return _months_back(now, zone, 2), now


def all_time(now: datetime, zone: tzinfo) -> Span:
    """Everything until now (the zone is unused; it keeps the helpers interchangeable)."""
    return None, now


def _months_back(now: datetime, zone: tzinfo, months: int) -> datetime:
    local = now.astimezone(zone)
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    return datetime(year, month + 1, 1, tzinfo=zone).astimezone(UTC)


# --- one query per figure ----------------------------------------------------------------


def _bounds(start: datetime | None, end: datetime) -> dict[str, str]:
    # '' sorts before every stored time, so "no start" needs no separate SQL.
    return {"start": to_db(start) if start else "", "end": to_db(end)}


async def _exchanges_ties_and_active(db: Database, bounds: dict[str, str]) -> tuple[int, ...]:
    """From the exchanges credited in the period, read once as who-gave-to-whom pairs
    (thousands, not hundreds of thousands of rows): how many exchanges, the distinct pairs of
    members, how many members gave or received, and how many of them did both."""
    row = await db.one(
        f"{_PAIRS}, sides AS (SELECT giver_id AS member_id, 1 AS gave, 0 AS got FROM pairs"
        " UNION ALL SELECT receiver_id, 0, 1 FROM pairs),"
        " active AS (SELECT MAX(gave) AND MAX(got) AS both_ways FROM sides GROUP BY member_id)"
        " SELECT (SELECT COALESCE(SUM(n), 0) FROM pairs),"
        " (SELECT COUNT(*) FROM (SELECT DISTINCT MIN(giver_id, receiver_id),"
        " MAX(giver_id, receiver_id) FROM pairs)),"
        " (SELECT COUNT(*) FROM active), (SELECT COALESCE(SUM(both_ways), 0) FROM active)",
        bounds,
    )
    assert row is not None
    return tuple(int(value) for value in row)


async def _new_members(db: Database, bounds: dict[str, str]) -> int:
    return int(
        await db.scalar(
            "SELECT COUNT(*) FROM members WHERE status = 'active'"
            " AND created_at >= :start AND created_at < :end",
            bounds,
        )
    )


async def _median_first_response(db: Database, bounds: dict[str, str]) -> timedelta | None:
    rows = await db.all(
        "SELECT l.created_at AS posted, MIN(r.created_at) AS answered"
        " FROM listings l JOIN responses r ON r.listing_id = l.id"
        " WHERE l.kind = 'need' AND l.created_at >= :start AND l.created_at < :end"
        " GROUP BY l.id",
        bounds,
    )
    waits = [(from_db(row["answered"]) - from_db(row["posted"])).total_seconds() for row in rows]
    return timedelta(seconds=statistics.median(waits)) if waits else None


async def _first_credit(db: Database) -> datetime | None:
    first = await db.scalar(
        "SELECT MIN(created_at) FROM ledger_transactions WHERE exchange_id IS NOT NULL"
    )
    return from_db(first) if first else None


def _monday(moment: datetime) -> date:
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def _week_spans(first: datetime, end: datetime) -> list[list[str]]:
    """Each week (Monday, UTC) from `first` until `end` as [monday, from, until], the first
    and last cut to the period; one week when the period is empty."""
    last = end - timedelta(microseconds=1) if end > first else first
    return [
        [
            monday.isoformat(),
            to_db(max(first, _midnight(monday))),
            to_db(min(end, _midnight(monday + timedelta(weeks=1)))),
        ]
        for monday in _mondays(_monday(first), _monday(last))
    ]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _mondays(first: date, last: date) -> list[date]:
    count = (last - first).days // 7 + 1
    return [first + timedelta(weeks=n) for n in range(max(count, 1))]
