"""Reports and exports: every figure equals a value worked out by hand on a fixed history,
the CSV export walks the schema, and coordinators (only) get both through the bot.

The history (all 2026, UTC; "now" is Monday 23 Nov 10:00, the fake clock's start):

    members   Cora (coordinator) 1 Aug · Alice 15 Aug · Gina 31 Aug 23:30 (1 Sep 00:30 London)
              · Bob 10 Sep · Dan 2 Nov · Eve 5 Nov, still pending · Finn 10 Nov
    E1  Alice needs (1 Sep 10:00), Bob answers 12:00 (2 h), Bob gives Alice 60 min, 3 Sep
    E2  Bob needs (5 Oct 09:00), Alice answers next day (24 h), Alice gives Bob 90 min, 7 Oct
    E3  Alice offers (2 Nov), Dan would like it, Alice gives Dan 120 min, 4 Nov
    E4  Dan needs (9 Nov 10:00), Bob answers 10:30 (30 min), Alice 11:00 too;
        Bob gives Dan 45 min, 16 Nov
    E5  Cora records Dan giving Bob 30 min, 18 Nov (a 'coordinator' transaction)
    --  Cora corrects E2 from 90 to 60 min, 20 Nov (a 'correction': −30 min, no new exchange)
    --  Alice needs (20 Nov 09:00), Cora answers 13:00 (4 h), nothing agreed yet
    --  Bob needs (12 Nov), nobody answers; Dan offers (19 Nov), Alice agrees, Dan says it
        happened but Alice hasn't confirmed: neither counts
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.ui.charts import hours_chart_png
from handlers.reports import partner_figures_text, report_text, wait_text
from storage import (
    audit,
    exchanges,
    export,
    ledger,
    listings,
    members,
    organisations,
    partners,
    reports,
)
from storage.db import Database
from storage.kinds import LedgerKind
from storage.models import ListingKind, to_db
from storage.reports import Report

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REFUSED = "Sorry, only a coordinator can do that."
LIMIT = 600
# The exported tables, in the order their files come.
TABLES = (
    "exchanges",
    "ledger_transactions",
    "ledger_entries",
    "accounts",
    "members",
    "organisations",
    "activities",
    "activity_signups",
    "partner_offers",
    "spends",
)
PRIVATE = {"telegram_id", "username", "neighbourhood", "join_source", "quiet_hours"}


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# --- the fixed history ------------------------------------------------------------------


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "reports.sqlite3")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def history(db: Database) -> dict[str, int]:
    """The history in the module docstring; returns member and exchange ids by name."""
    ids: dict[str, int] = {}
    joins = [
        ("Cora", at(8, 1), True, True),
        ("Alice", at(8, 15), False, True),
        ("Gina", at(8, 31, 23, 30), False, True),
        ("Bob", at(9, 10), False, True),
        ("Dan", at(11, 2), False, True),
        ("Eve", at(11, 5), False, False),
        ("Finn", at(11, 10), False, True),
    ]
    for number, (name, when, coordinator, approved) in enumerate(joins):
        ids[name] = await _join(db, 500 + number, name, when, coordinator, approved)
    alice, bob, dan, cora = ids["Alice"], ids["Bob"], ids["Dan"], ids["Cora"]

    need = await _post(db, alice, "need", at(9, 1, 10))
    ids["E1"] = await _agree(db, need, owner=alice, helper=bob, when=at(9, 1, 12))
    await _confirm(db, ids["E1"], giver=bob, receiver=alice, minutes=60, when=at(9, 3))

    need = await _post(db, bob, "need", at(10, 5, 9))
    ids["E2"] = await _agree(db, need, owner=bob, helper=alice, when=at(10, 6, 9))
    await _confirm(db, ids["E2"], giver=alice, receiver=bob, minutes=90, when=at(10, 7))

    offer = await _post(db, alice, "offer", at(11, 2, 8))
    ids["E3"] = await _agree(db, offer, owner=alice, helper=dan, when=at(11, 3))
    await _confirm(db, ids["E3"], giver=alice, receiver=dan, minutes=120, when=at(11, 4))

    need = await _post(db, dan, "need", at(11, 9, 10))
    await exchanges.respond(db, listing_id=need, member_id=alice, now=at(11, 9, 11))
    ids["E4"] = await _agree(db, need, owner=dan, helper=bob, when=at(11, 9, 10, 30))
    await _confirm(db, ids["E4"], giver=bob, receiver=dan, minutes=45, when=at(11, 16))

    recorded = await exchanges.record_by_coordinator(
        db, by=cora, giver_id=dan, receiver_id=bob, minutes=30, overdraft_limit=600, now=at(11, 18)
    )
    ids["E5"] = recorded.id
    await exchanges.settle(db, by=cora, exchange_id=ids["E2"], minutes=60, now=at(11, 20))

    need = await _post(db, alice, "need", at(11, 20, 9))
    await exchanges.respond(db, listing_id=need, member_id=cora, now=at(11, 20, 13))
    await _post(db, bob, "need", at(11, 12))
    offer = await _post(db, dan, "offer", at(11, 19))
    unconfirmed = await _agree(db, offer, owner=dan, helper=alice, when=at(11, 19, 12))
    await exchanges.propose(db, exchange_id=unconfirmed, member_id=dan, minutes=60, now=at(11, 21))
    return ids


async def _join(
    db: Database, telegram_id: int, name: str, when: datetime, coordinator: bool, approved: bool
) -> int:
    member = await members.join(
        db,
        telegram_id=telegram_id,
        display_name=name,
        username=name.lower(),
        neighbourhood="Riverside",
        join_source="a friend",
        coordinator=coordinator,
        approved=approved,
        now=when,
    )
    return member.id


async def _post(db: Database, owner: int, kind: ListingKind, when: datetime) -> int:
    listing = await listings.create(
        db, owner_id=owner, kind=kind, category="Other", body="x", when_where=None, now=when
    )
    return listing.id


async def _agree(db: Database, listing_id: int, *, owner: int, helper: int, when: datetime) -> int:
    """The helper answers the listing and its owner accepts, at the same moment."""
    response = await exchanges.respond(db, listing_id=listing_id, member_id=helper, now=when)
    exchange = await exchanges.accept(db, response_id=response.id, member_id=owner, now=when)
    return exchange.id


async def _confirm(
    db: Database, exchange_id: int, *, giver: int, receiver: int, minutes: int, when: datetime
) -> None:
    await exchanges.propose(db, exchange_id=exchange_id, member_id=giver, minutes=minutes, now=when)
    await exchanges.confirm(
        db,
        exchange_id=exchange_id,
        member_id=receiver,
        minutes=minutes,
        overdraft_limit=LIMIT,
        now=when,
    )


# --- (a) the figures, worked out by hand ---------------------------------------------


async def test_this_month_figures(db, history):
    start, end = reports.this_month(NOW, LONDON)
    report = await reports.period_report(db, start=start, end=end)
    assert report == Report(
        start=datetime(2026, 11, 1, 0, 0, tzinfo=UTC),  # GMT in November: midnight is 00:00 UTC
        end=NOW,
        minutes=120 + 45 + 30 - 30,  # E3, E4, E5, and the correction of October's E2
        exchanges=3,  # E3, E4, E5; the correction is not an exchange; Dan's offer unconfirmed
        active_members=3,  # Alice, Bob, Dan
        new_members=2,  # Dan, Finn; Eve is still pending
        reciprocity=2 / 3,  # Bob and Dan gave and received; Alice only gave
        ties=2,  # Alice–Dan, Bob–Dan (E4 and E5 are the same pair)
        median_first_response=timedelta(hours=2, minutes=15),  # of 30 min and 4 h
        peer_visits=None,  # not running yet
        between_members=120 + 45 + 30 - 30,  # no organisation in any of them
    )


async def test_last_three_months_figures(db, history):
    start, end = reports.last_three_months(NOW, LONDON)
    report = await reports.period_report(db, start=start, end=end)
    assert start == datetime(2026, 8, 31, 23, 0, tzinfo=UTC)  # 1 Sep, midnight BST
    assert report.minutes == 60 + 90 + 120 + 45 + 30 - 30 == 315
    assert report.exchanges == 5
    assert report.active_members == 3
    assert report.new_members == 4  # Gina (1 Sep in London), Bob, Dan, Finn
    assert report.reciprocity == 1.0  # Alice, Bob and Dan each gave and received
    assert report.ties == 3  # Alice–Bob, Alice–Dan, Bob–Dan
    assert report.median_first_response == timedelta(hours=3)  # of 30 min, 2 h, 4 h, 24 h


async def test_all_time_figures(db, history):
    start, end = reports.all_time(NOW, LONDON)
    report = await reports.period_report(db, start=start, end=end)
    assert (report.start, report.end) == (None, NOW)
    assert report.minutes == 315
    assert report.exchanges == 5
    assert report.new_members == 6  # everyone but Eve
    assert (report.active_members, report.reciprocity, report.ties) == (3, 1.0, 3)
    assert report.median_first_response == timedelta(hours=3)


async def test_october_alone_keeps_its_hours_after_a_later_correction(db, history):
    report = await reports.period_report(db, start=at(10, 1, 0), end=at(11, 1, 0))
    assert (report.minutes, report.exchanges, report.active_members) == (90, 1, 2)
    assert report.reciprocity == 0.0  # Alice gave, Bob received
    assert report.ties == 1
    assert report.new_members == 0
    assert report.median_first_response == timedelta(hours=24)


async def test_a_quiet_period_has_no_shares_or_waits(db, history):
    report = await reports.period_report(db, start=at(1, 1, 0), end=at(2, 1, 0))
    assert (report.minutes, report.exchanges, report.active_members, report.ties) == (0, 0, 0, 0)
    assert report.reciprocity is None
    assert report.median_first_response is None


def test_month_boundaries_follow_the_timebanks_clock():
    just_after = datetime(2026, 9, 30, 23, 30, tzinfo=UTC)  # 00:30 on 1 Oct in London
    assert reports.this_month(just_after, LONDON)[0] == datetime(2026, 9, 30, 23, 0, tzinfo=UTC)
    assert reports.this_month(just_after, UTC)[0] == datetime(2026, 9, 1, tzinfo=UTC)
    january = datetime(2027, 1, 15, tzinfo=UTC)
    assert reports.last_three_months(january, LONDON)[0] == datetime(2026, 11, 1, tzinfo=UTC)


# --- (b) hours per week ----------------------------------------------------------------


async def test_hours_per_week_this_month(db, history):
    start, end = reports.this_month(NOW, LONDON)
    assert await reports.hours_per_week(db, start=start, end=end) == [
        (date(2026, 10, 26), 0),  # the week of Sunday 1 Nov; October's credits are outside
        (date(2026, 11, 2), 120),  # E3
        (date(2026, 11, 9), 0),
        (date(2026, 11, 16), 45 + 30 - 30),  # E4, E5, the correction
        (date(2026, 11, 23), 0),  # this week so far
    ]


async def test_hours_per_week_all_time_starts_at_the_first_credit(db, history):
    weeks = await reports.hours_per_week(db, start=None, end=NOW)
    assert weeks[0] == (date(2026, 8, 31), 60)  # E1 on Thursday 3 Sep
    assert weeks[-1] == (date(2026, 11, 23), 0)
    assert len(weeks) == 13
    assert sum(minutes for _, minutes in weeks) == 315
    assert all(b - a == timedelta(weeks=1) for (a, _), (b, _) in itertools.pairwise(weeks))


async def test_hours_per_week_with_no_credits_is_one_empty_week(db):
    assert await reports.hours_per_week(db, start=None, end=NOW) == [(date(2026, 11, 23), 0)]


# --- rendering -------------------------------------------------------------------------


async def test_report_text_reads_plainly(db, history):
    start, end = reports.this_month(NOW, LONDON)
    text = report_text(await reports.period_report(db, start=start, end=end), "This month", LONDON)
    assert text.splitlines() == [
        "📊 <b>This month</b>, 1 Nov 2026 to 23 Nov 2026",
        "Hours given: <b>2¾ hours</b>",
        "Exchanges: <b>3</b>",
        "Members who gave or received: <b>3</b>",
        "Both gave and received: <b>67%</b> of them",
        "Pairs of members who helped each other: <b>2</b>",
        "New members: <b>2</b>",
        "Typical wait for a first offer of help: <b>2¼ hours</b>",
    ]


def test_a_quiet_report_leaves_out_what_it_cannot_say():
    quiet = Report(None, NOW, 0, 0, 0, 0, None, 0, None, peer_visits=4)
    lines = report_text(quiet, "All time", LONDON).splitlines()
    assert lines[0] == "📊 <b>All time</b>, the start to 23 Nov 2026"
    assert not any("Both gave" in line for line in lines)
    assert "Typical wait for a first offer of help: no needs answered yet" in lines
    assert lines[-1] == "Peer visits: <b>4</b>"


@pytest.mark.parametrize(
    ("wait", "text"),
    [
        (timedelta(minutes=40), "40 min"),
        (timedelta(hours=2, minutes=14), "2¼ hours"),
        (timedelta(hours=47), "47 hours"),
        (timedelta(days=3, hours=12), "3.5 days"),
    ],
)
def test_waits_read_naturally(wait, text):
    assert wait_text(wait) == text


# --- (c) the chart -----------------------------------------------------------------------


def test_chart_is_a_png():
    weeks = [(date(2026, 10, 26) + timedelta(weeks=n), n * 45) for n in range(5)]
    png = hours_chart_png(weeks, "Hours given per week", hours_label="Hours")
    assert png.startswith(PNG_SIGNATURE)
    assert hours_chart_png([], "Nothing yet").startswith(PNG_SIGNATURE)


# --- (c2) organisations and partners -------------------------------------------------
#
# Beside the history above (all November, added only for these tests):
#   Riverside Day Centre (Alice acts for it) and Old Town Gym, nothing at the gym
#   A1  the centre's "Community lunch" 10 Nov: helpers Alice (came, credited 1 h) and Bob
#       (didn't come); participants Dan (came, charged ½ h) and Finn (cancelled). One
#       transaction: Alice +60, Dan −30, the centre −30 (its net).
#   A2  the timebank's own "Park clean-up" 12 Nov: Bob helped (came), 2 h from the community
#   A3  the centre's activity 15 Nov, cancelled; A4 on 30 Nov, still to come
#   X   Bob helps the centre (an exchange for it) 14 Nov: Bob +90, the centre −90
#   S   Dan spends 3 h on the centre's course 18 Nov; Gina asked for it too, not confirmed
#   Gus joined by A1's link 11 Nov; Hal by a link to an activity that isn't there


async def _activity(
    db: Database, organisation: int | None, title: str, when: datetime, by: int, state: str
) -> int:
    async with (
        db.transaction() as tx,
        tx.execute(
            "INSERT INTO activities (organisation_id, title, starts_at, place, helpers_wanted,"
            " helper_minutes, places, price_minutes, state, created_by, created_at)"
            " VALUES (?, ?, ?, 'The hall', 2, 60, 10, 30, ?, ?, ?) RETURNING id",
            (organisation, title, to_db(when), state, by, to_db(at(11, 1))),
        ) as cursor,
    ):
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def _signup(
    db: Database, activity: int, member: int, role: str, state: str, came: int | None
) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO activity_signups (activity_id, member_id, role, state, queued_at,"
            " attended, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                activity,
                member,
                role,
                state,
                to_db(at(11, 2)),
                came,
                to_db(at(11, 2)),
                to_db(at(11, 2)),
            ),
        )


async def _post_entries(
    db: Database,
    when: datetime,
    key: str,
    entries: list[tuple[str, int, int]],
    *,
    activity_id: int | None = None,
    exchange_id: int | None = None,
) -> None:
    """One ledger transaction of ("member" | "organisation" | "community", id, minutes), for
    an activity's roll call or an exchange."""
    kind = LedgerKind.ACTIVITY if activity_id else LedgerKind.EXCHANGE
    async with db.transaction() as tx:
        accounts = []
        for holder, number, minutes in entries:
            if holder == "member":
                account = (await ledger.accounts(tx, number))[number].id
            elif holder == "organisation":
                account = await organisations.account_id(tx, number)
            else:
                account = ledger.COMMUNITY_ACCOUNT
            accounts.append((account, minutes))
        assert await ledger.post(
            tx,
            kind=kind,
            idempotency_key=key,
            entries=accounts,
            now=when,
            activity_id=activity_id,
            exchange_id=exchange_id,
        )


@pytest.fixture
async def partner_history(db: Database, history: dict[str, int]) -> dict[str, int]:
    ids = dict(history)
    alice, bob, dan, finn, cora = (ids[n] for n in ("Alice", "Bob", "Dan", "Finn", "Cora"))
    centre = await organisations.create(
        db,
        name="Riverside Day Centre",
        area="Riverside",
        description="Days",
        by=cora,
        now=at(11, 1),
    )
    await organisations.create(
        db, name="Old Town Gym", area="Old Town", description="Gym", by=cora, now=at(11, 1)
    )
    await organisations.add_member(
        db, organisation_id=centre.id, member_id=alice, by=cora, now=at(11, 1)
    )
    ids["centre"] = centre.id
    lunch = await _activity(db, centre.id, "Community lunch", at(11, 10), alice, "done")
    for member, role, state, came in (
        (alice, "helper", "going", 1),
        (bob, "helper", "going", 0),
        (dan, "participant", "going", 1),
        (finn, "participant", "cancelled", None),
    ):
        await _signup(db, lunch, member, role, state, came)
    await _post_entries(
        db,
        at(11, 10, 15),
        f"activity:{lunch}",
        [("member", alice, 60), ("member", dan, -30), ("organisation", centre.id, -30)],
        activity_id=lunch,
    )
    park = await _activity(db, None, "Park clean-up", at(11, 12), cora, "done")
    await _signup(db, park, bob, "helper", "going", 1)
    await _post_entries(
        db,
        at(11, 12, 15),
        f"activity:{park}",
        [("member", bob, 120), ("community", 0, -120)],
        activity_id=park,
    )
    cancelled = await _activity(db, centre.id, "Quiz", at(11, 15), alice, "cancelled")
    await _signup(db, cancelled, dan, "participant", "going", None)
    coming = await _activity(db, centre.id, "Walk", at(11, 30), alice, "open")
    await _signup(db, coming, dan, "participant", "going", None)
    async with (
        db.transaction() as tx,
        tx.execute(
            "INSERT INTO exchanges (giver_id, receiver_id, state, proposed_minutes, created_at,"
            " updated_at, organisation_id) VALUES (?, ?, 'confirmed', 90, ?, ?, ?) RETURNING id",
            (bob, alice, to_db(at(11, 14)), to_db(at(11, 14)), centre.id),
        ) as cursor,
    ):
        row = await cursor.fetchone()
    assert row is not None
    await _post_entries(
        db,
        at(11, 14),
        f"exchange:{row[0]}",
        [("member", bob, 90), ("organisation", centre.id, -90)],
        exchange_id=int(row[0]),
    )
    offer = await partners.add_offer(
        db,
        organisation_id=centre.id,
        by=alice,
        category="Other",
        title="Course",
        details=None,
        price_minutes=180,
        categories=["Other"],
        now=at(11, 16),
    )
    for member in (dan, ids["Gina"]):
        await partners.ask(
            db, offer_id=offer.id, member_id=member, overdraft_limit=LIMIT, now=at(11, 17)
        )
    spend = await db.scalar("SELECT id FROM spends WHERE member_id = ?", (dan,))
    await partners.confirm(db, spend_id=spend, by=alice, overdraft_limit=LIMIT, now=at(11, 18))
    for number, (name, source) in enumerate(
        (("Gus", f"activity:{lunch}"), ("Hal", "activity:999"))
    ):
        await members.join(
            db,
            telegram_id=600 + number,
            display_name=name,
            username=None,
            neighbourhood=None,
            join_source=source,
            coordinator=False,
            approved=True,
            now=at(11, 11),
        )
    ids["lunch"] = lunch
    return ids


async def test_organisation_and_partner_figures_all_time(db, partner_history):
    report = await reports.period_report(db, start=None, end=NOW)
    assert (report.minutes, report.between_members) == (315 + 90, 315)  # X was for the centre
    figures = await reports.partner_figures(db, start=None, end=NOW)
    centre = partner_history["centre"]
    assert figures == reports.PartnerFigures(
        given_to_organisations=90 + 60,  # X, and Alice at the lunch (Bob didn't come)
        at_timebank_activities=120,  # Bob at the park
        spent_with_partners=180,
        spends=1,  # Gina's ask isn't confirmed
        organisations=(
            reports.OrganisationFlow(2, "Old Town Gym", 0, 0, 0, 0, 0, 0),
            # −30 at the lunch, −90 for X, +180 of Dan's course; the lunch: three had a
            # place (Finn cancelled), Alice and Dan came; the quiz was called off
            reports.OrganisationFlow(centre, "Riverside Day Centre", 60, 180, 120, 1, 3, 2),
            reports.OrganisationFlow(None, None, 0, 0, 0, 1, 1, 1),  # the timebank's own
        ),
        joined=(
            reports.JoinSource("a friend", None, 6),
            reports.JoinSource(f"activity:{partner_history['lunch']}", "Community lunch", 1),
            reports.JoinSource("activity:999", None, 1),
        ),
    )
    assert figures.any
    assert await ledger.total(db) == 0


async def test_organisation_figures_of_a_shorter_period(db, partner_history):
    report = await reports.period_report(db, start=at(11, 16, 0), end=NOW)
    assert report.between_members == 45 + 30 - 30
    figures = await reports.partner_figures(db, start=at(11, 16, 0), end=NOW)
    assert figures.given_to_organisations == 0
    assert (figures.spent_with_partners, figures.spends, figures.at_timebank_activities) == (
        180,
        1,
        0,
    )
    centre = next(f for f in figures.organisations if f.name == "Riverside Day Centre")
    assert (centre.balance, centre.came_in, centre.went_out, centre.activities) == (60, 180, 0, 0)
    assert figures.joined == ()


async def test_a_timebank_without_organisations_has_no_partner_block(db, history):
    figures = await reports.partner_figures(db, start=at(11, 16, 0), end=NOW)
    assert not figures.any
    assert figures.organisations == ()


async def test_partner_figures_read_plainly(db, partner_history):
    report = await reports.period_report(db, start=None, end=NOW)
    text = partner_figures_text(report, await reports.partner_figures(db, start=None, end=NOW))
    assert text.splitlines() == [
        "🤝 <b>Organisations and partners</b>",
        "Hours between members: <b>5¼ hours</b>",
        "Hours given to organisations: <b>2½ hours</b>",
        "Hours given at the timebank's own activities: <b>2 hours</b>",
        "Hours spent with partners: <b>3 hours</b>",
        "<b>Old Town Gym</b>: balance 0 hours, in 0 hours, out 0 hours",
        "<b>Riverside Day Centre</b>: balance 1 hour, in 3 hours, out 2 hours",
        "  1 activity: 3 signed up, 2 came",
        "<b>The timebank's own activities</b>",
        "  1 activity: 1 signed up, 1 came",
        "New members by how they came:",
        "a friend: <b>6</b>",
        "Activity “Community lunch”: <b>1</b>",
        "activity:999: <b>1</b>",
    ]


async def test_the_export_sums_up_each_organisation(db, partner_history):
    files = await export.export_csv(db)
    rows = read_csv(files["organisation_figures.csv"])
    assert [(r["name"], r["balance"], r["came_in"], r["went_out"], r["came"]) for r in rows] == [
        ("Old Town Gym", "0", "0", "0", "0"),
        ("Riverside Day Centre", "60", "180", "120", "2"),
        ("", "0", "0", "0", "1"),
    ]
    spends = read_csv(files["spends.csv"])
    assert [s["state"] for s in spends] == ["confirmed", "asked"]
    signups = read_csv(files["activity_signups.csv"])
    assert "display_name" not in signups[0]
    assert signups[0]["member_id"]


# --- (d) the export --------------------------------------------------------------------


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


async def test_export_has_headers_and_rows_but_no_private_columns(db, history):
    files = await export.export_csv(db)
    assert set(files) == {f"{name}.csv" for name in TABLES} | {"organisation_figures.csv"}
    people = read_csv(files["members.csv"])
    assert list(people[0]) == [
        "id",
        "display_name",
        "status",
        "role",
        "consented_at",
        "created_at",
        "recorded_by",
    ]
    assert [p["display_name"] for p in people] == [
        "",  # the former member (id 0), whom the hours of everyone who left now name
        "Cora",
        "Alice",
        "Gina",
        "Bob",
        "Dan",
        "Eve",
        "Finn",
    ]
    for name, data in files.items():
        header = set(data.decode("utf-8-sig").splitlines()[0].split(","))
        assert not header & PRIVATE, name
        assert b"a friend" not in data, name
        assert b"Riverside" not in data, name
    assert len(read_csv(files["exchanges.csv"])) == 6
    entries = read_csv(files["ledger_entries.csv"])
    assert sum(int(e["minutes"]) for e in entries) == 0
    assert len(entries) == 2 * 6  # five credits and one correction, two entries each
    transactions = read_csv(files["ledger_transactions.csv"])
    assert [t["kind"] for t in transactions].count("correction") == 1


async def test_every_column_of_an_exported_table_is_exported_or_private(db):
    """Fails when a migration adds a column to an exported table without saying which it is."""
    assert await export.unclassified_columns(db) == {}
    async with db.transaction() as tx:
        for spec in export.EXPORTS:
            columns = set(await export.table_columns(tx, spec.table))
            assert set(spec.exported) <= columns, f"{spec.table}: listed but gone"
            assert set(spec.private) <= columns, f"{spec.table}: listed but gone"
            assert not set(spec.exported) & set(spec.private), spec.table


async def test_a_new_column_is_caught_and_kept_out_until_classified(db, history):
    async with db.transaction() as tx:
        await tx.execute("ALTER TABLE members ADD COLUMN phone TEXT")
        await tx.execute("UPDATE members SET phone = '07700 900123'")
    assert await export.unclassified_columns(db) == {"members": ["phone"]}
    files = await export.export_csv(db)
    assert b"phone" not in files["members.csv"]
    assert b"07700" not in files["members.csv"]


async def test_spreadsheet_formulas_in_names_are_defused(db):
    await _join(db, 1, "=HYPERLINK(0)", at(11, 1), False, True)
    files = await export.export_csv(db)
    assert read_csv(files["members.csv"])[1]["display_name"] == "'=HYPERLINK(0)"


# --- (e) through the bot -----------------------------------------------------------------


async def test_a_coordinator_taps_through_to_figures_and_a_chart(
    coordinator, alice, bob, svc, api, clock
):
    await exchanges.record_by_coordinator(
        svc.db,
        by=await _member_id(svc, coordinator),
        giver_id=await _member_id(svc, alice),
        receiver_id=await _member_id(svc, bob),
        minutes=90,
        overdraft_limit=600,
        now=svc.clock.now(),
    )
    clock.advance(timedelta(minutes=5))  # periods end at "now", exclusive
    await coordinator.says("/report")
    assert coordinator.last_text == "📊 Which period would you like to see?"
    assert coordinator.inline_labels == ["This month", "Last 3 months", "All time"]
    await coordinator.taps("This month")
    text = next(m.text for m in reversed(coordinator.messages) if m.kind == "text")
    assert text.startswith("📊 <b>This month</b>, 1 Nov 2026 to 23 Nov 2026")
    assert "Hours given: <b>1½ hours</b>" in text
    assert "Exchanges: <b>1</b>" in text
    assert "New members: <b>3</b>" in text
    assert coordinator.last.kind == "photo"
    assert coordinator.last_text == "📈 This month: hours given each week"
    assert [(method, data[:8]) for method, _, data in api.uploads] == [("sendPhoto", PNG_SIGNATURE)]
    await coordinator.taps("All time")
    assert coordinator.last.kind == "photo"
    assert len(api.sent("sendPhoto")) == 2


async def test_export_sends_one_csv_per_table_and_is_audited(coordinator, alice, svc, api):
    await coordinator.says("/export")
    files = [*TABLES, "organisation_figures"]
    assert coordinator.messages[-len(files) - 1].text.startswith("📎 Here are the timebank's")
    assert [m.kind for m in coordinator.messages[-len(files) :]] == ["document"] * len(files)
    names = [name for _, name, _ in api.uploads]
    assert names == [f"{name}-2026-11-23.csv" for name in files]
    people = read_csv(dict((name, data) for _, name, data in api.uploads)["members-2026-11-23.csv"])
    assert [p["display_name"] for p in people] == ["", "Cora", "Alice"]  # "": the former member
    assert "telegram_id" not in people[0]
    coordinator_id = await _member_id(svc, coordinator)
    assert (coordinator_id, "export_csv", audit.EVERY_MEMBER) in await audit.actions(svc.db)


@pytest.mark.parametrize("words", ["/report", "/export"])
async def test_members_are_refused_reports_and_exports(coordinator, alice, api, words):
    await alice.says(words)
    assert alice.last_text == REFUSED
    assert not api.sent("sendDocument")
    assert not api.sent("sendPhoto")


async def test_a_forged_period_press_is_refused(coordinator, alice, api):
    await alice.presses("rp:period:0:all")
    assert alice.last_text == REFUSED
    await coordinator.presses("rp:period:0:decade")
    assert coordinator.last_text.startswith("Sorry, that isn't available any more.")
    assert not api.sent("sendPhoto")


async def _member_id(svc: Any, person: Any) -> int:
    member = await members.by_telegram_id(svc.db, person.user_id)
    assert member is not None
    return member.id
