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
from handlers.reports import report_text, wait_text
from storage import audit, exchanges, export, listings, members, reports
from storage.db import Database
from storage.models import ListingKind
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
