"""/mydata and /forget on real SQLite: the registry covers the live schema, a member's data is
all theirs and only theirs, and after /forget no cell, index or page of the file holds them,
while the ledger and everyone else's balance stay exactly as they were."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.outbound.scheduler import tick
from storage import (
    audit,
    broadcasts,
    exchanges,
    export,
    ledger,
    listings,
    members,
    organisations,
    roles,
    safety,
)
from storage.db import Database
from storage.errors import NotFound, OverdraftLimit, WrongState
from storage.forget import forget
from storage.kinds import OPEN_STATES, LedgerKind, OutboxKind
from storage.migrations import apply_migrations, discover
from storage.models import FORMER_MEMBER_ID, to_db
from storage.mydata import member_data, summary
from storage.privacy import RULES, problems
from tests.test_exchanges import agree as agree_through_bot
from tests.test_exchanges import member_id

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LIMIT = 600


@dataclass(frozen=True)
class Person:
    """A member as the test made them, with everything that identifies them."""

    id: int
    telegram_id: int
    name: str
    username: str
    place: str
    source: str
    words: tuple[str, ...] = ()  # unique words in their posts

    @property
    def needles(self) -> list[str]:
        return [self.name, self.username, self.place, self.source, *self.words]


@dataclass
class World:
    db: Database
    path: Path
    people: dict[str, Person] = field(default_factory=dict)
    clock: datetime = NOW

    def now(self) -> datetime:
        """Each step a minute after the last, so rows keep their order."""
        self.clock += timedelta(minutes=1)
        return self.clock

    def id(self, name: str) -> int:
        return self.people[name].id


async def join(
    world: World,
    key: str,
    telegram_id: int,
    name: str,
    *,
    coordinator: bool = False,
    approved: bool = True,
) -> Person:
    """A member whose name, username, place and how they heard of us are theirs alone."""
    person = Person(0, telegram_id, name, f"{key}_uname", f"{key.title()}moor", f"{key}'s aunt")
    member = await members.join(
        world.db,
        telegram_id=telegram_id,
        display_name=name,
        username=person.username,
        neighbourhood=person.place,
        join_source=person.source,
        coordinator=coordinator,
        approved=approved,
        now=world.now(),
    )
    world.people[key] = replace(person, id=member.id)
    return world.people[key]


async def post(world: World, owner: str, kind: Any, body: str, when: str | None = None) -> int:
    listing = await listings.create(
        world.db,
        owner_id=world.id(owner),
        kind=kind,
        category="Garden",
        body=body,
        when_where=when,
        now=world.now(),
    )
    return listing.id


async def agree(world: World, listing_id: int, responder: str, owner: str) -> int:
    response = await exchanges.respond(
        world.db, listing_id=listing_id, member_id=world.id(responder), now=world.now()
    )
    exchange = await exchanges.accept(
        world.db, response_id=response.id, member_id=world.id(owner), now=world.now()
    )
    return exchange.id


async def propose(world: World, exchange_id: int, by: str, minutes: int) -> None:
    await exchanges.propose(
        world.db, exchange_id=exchange_id, member_id=world.id(by), minutes=minutes, now=world.now()
    )


async def confirm(
    world: World, exchange_id: int, by: str, minutes: int, limit: int = LIMIT
) -> None:
    await exchanges.confirm(
        world.db,
        exchange_id=exchange_id,
        member_id=world.id(by),
        minutes=minutes,
        overdraft_limit=limit,
        now=world.now(),
    )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """Zephyrine has done a bit of everything, as a member and as a coordinator, with
    exchanges in every state; Cora and Dora coordinate too; Bob, Carl, Dan and Eve are the
    other members."""
    path = tmp_path / "privacy.sqlite3"
    db = await Database.open(path)
    w = World(db, path)
    try:
        await join(w, "cora", 7_770_900, "Coralind Vexley", coordinator=True)
        await join(w, "dora", 7_770_901, "Dorothea Plum", coordinator=True)
        await join(w, "ann", 7_770_001, "Zephyrine Quillfeather", approved=False)
        await join(w, "bob", 7_770_002, "Bobbin Threadgold")
        await join(w, "carl", 7_770_003, "Carlotta Wren")
        await join(w, "dan", 7_770_004, "Danforth Oakes")
        await join(w, "eve", 7_770_005, "Evangeline Moss")
        await run_the_story(w)
        yield w
    finally:
        await db.close()


async def run_the_story(w: World) -> None:
    db, ann, cora = w.db, w.id("ann"), w.id("cora")
    await members.decide_application(db, by=cora, member_id=ann, approve=True, now=w.now())
    offer = await post(w, "ann", "offer", "I mend xylobassoons and tune harps")
    need = await post(w, "ann", "need", "Help with my kumquatarium", "behind Mossgate Cottage")
    old = await post(w, "ann", "offer", "Quibblewick lessons")
    await listings.set_status(db, listing_id=old, member_id=ann, status="closed", now=w.now())
    bob_need = await post(w, "bob", "need", "Shelves put up")
    carl_need = await post(w, "carl", "need", "Weeding")
    carl_offer = await post(w, "carl", "offer", "Hedge trimming")
    eve_offer = await post(w, "eve", "offer", "Apples")
    dan_offer = await post(w, "dan", "offer", "Lifts to town")

    confirmed = await agree(w, bob_need, "ann", "bob")  # Ann gives Bob an hour
    await propose(w, confirmed, "ann", 60)
    await confirm(w, confirmed, "bob", 60)
    agreed = await agree(w, offer, "bob", "ann")  # open: Ann would give Bob, set for Friday
    at = NOW + timedelta(days=4)
    await exchanges.schedule(db, exchange_id=agreed, member_id=ann, at=at, now=w.now())
    proposed = await agree(w, carl_need, "ann", "carl")  # open: Ann said she helped Carl
    await propose(w, proposed, "ann", 45)
    held = await agree(w, need, "dan", "ann")  # open: Dan's 12 hours would pass Ann's limit
    await propose(w, held, "dan", 720)
    with pytest.raises(OverdraftLimit):
        await confirm(w, held, "ann", 720, limit=0)
    disputed = await agree(w, eve_offer, "ann", "eve")  # open: Ann asked a coordinator
    await exchanges.dispute(db, exchange_id=disputed, member_id=ann, now=w.now())
    cancelled = await agree(w, carl_offer, "ann", "carl")
    await exchanges.cancel(db, exchange_id=cancelled, member_id=w.id("carl"), now=w.now())
    await exchanges.respond(db, listing_id=offer, member_id=w.id("eve"), now=w.now())
    await exchanges.respond(db, listing_id=dan_offer, member_id=ann, now=w.now())
    await record(w, "cora", "ann", "dan", 30)
    await broadcasts.start(
        db, by=cora, text="Can anyone help?", audience_text="all", listing_id=need, now=w.now()
    )
    async with db.transaction() as tx:
        await audit.viewed(tx, cora, ann, "profile", w.now())

    # Ann as a coordinator: hours recorded for others, a broadcast, a look at Dan's data.
    await roles.promote(db, by=cora, member_id=ann, now=w.now())
    await record(w, "ann", "bob", "carl", 30)
    await broadcasts.start(
        db,
        by=ann,
        text="Spring fair on Saturday",
        audience_text="all",
        listing_id=None,
        now=w.now(),
    )
    async with db.transaction() as tx:
        await audit.viewed(tx, ann, w.id("dan"), "history", w.now())
    # Safety: Ann blocks Eve, reports Dan, handles Carl's report of Eve; Bob reports Ann,
    # and Cora pauses her for it.
    await safety.block(db, member_id=ann, other_id=w.id("eve"), now=w.now())
    await report(w, "ann", "dan", "Dan forgot the zorblefrack")
    about_eve = await report(w, "carl", "eve", None)
    await safety.dismiss(db, by=ann, report_id=about_eve, now=w.now())
    about_ann = await report(w, "bob", "ann", "Zephyrine was short with me")
    await safety.pause(db, by=cora, report_id=about_ann, now=w.now())
    await visit_story(w)
    await organisation_story(w)
    words = (
        "xylobassoons",
        "kumquatarium",
        "mossgate",
        "quibblewick",
        "zorblefrack",
        "plumtwig",
        "brittlewort",
        "snorkelberry",
        "quillspindle",
        "thistlemonth",
    )
    w.people["ann"] = replace(w.people["ann"], words=words)


async def visit_story(w: World) -> None:
    """Peer visits: Ann visits Bob after his discharge, and is herself visited by Dan after
    hers (her address and health notes on the referral); as a coordinator she was on the
    alert about Bob. Written as rows, the way the visit flows store them."""
    ann, bob, dan, cora = w.id("ann"), w.id("bob"), w.id("dan"), w.id("cora")
    at = to_db(w.now())
    async with w.db.transaction() as tx:
        for visitor, free in ((ann, "thistlemonth evenings"), (dan, "mornings")):
            await tx.execute(
                "INSERT INTO visitors (member_id, status, free_when, check_expires_on,"
                " applied_at, decided_by, decided_at, updated_at)"
                " VALUES (?, 'approved', ?, '2027-06-01', ?, ?, ?, ?)",
                (visitor, free, at, cora, at, at),
            )
            await tx.execute(
                "INSERT INTO visitor_areas (area, member_id) VALUES ('Riverside', ?)", (visitor,)
            )
            await tx.execute(
                "INSERT INTO visitor_checks (member_id, kind, checked_on, expires_on, note,"
                " recorded_by, created_at) VALUES (?, 'DBS', '2026-06-01', '2027-06-01', ?, ?, ?)",
                (visitor, "quillspindle reference" if visitor == ann else None, cora, at),
            )
        for patient, name, visitor, address, notes, note in (
            (bob, "Bobbin", ann, "1 Elm Row", None, "all well"),
            (ann, "Zephyrine", dan, "7 Plumtwig Lane", "brittlewort allergy", "snorkelberry tea"),
        ):
            cursor = await tx.execute(
                "INSERT INTO referrals (patient_id, first_name, area, contact, address, needs,"
                " notes, discharged_at, source, state, visitor_id, code_word, accepted_at,"
                " first_visit_at, created_at, updated_at) VALUES (?, ?, 'Riverside', '0700',"
                " ?, '[\"heating\"]', ?, ?, 'ward', 'visited', ?, 'apple', ?, ?, ?, ?)",
                (patient, name, address, notes, at, visitor, at, at, at, at),
            )
            referral = cursor.lastrowid
            await tx.execute(
                "INSERT INTO visit_offers (referral_id, visitor_id, state, offered_at,"
                " answer_by, answered_at) VALUES (?, ?, 'accepted', ?, ?, ?)",
                (referral, visitor, at, at, at),
            )
            cursor = await tx.execute(
                "INSERT INTO visits (referral_id, visitor_id, number, state, warm, food,"
                " medicines, worry, note, reported_at, confirmed_by, confirmed_at, created_at,"
                " updated_at) VALUES (?, ?, 1, 'done', 1, 0, 1, 0, ?, ?, ?, ?, ?, ?)",
                (referral, visitor, note, at, patient, at, at, at),
            )
            await tx.execute(
                "INSERT INTO visit_alerts (referral_id, visit_id, reason, raised_at,"
                " acknowledged_by, acknowledged_at) VALUES (?, ?, 'worry', ?, ?, ?)",
                (referral, cursor.lastrowid, at, ann if patient == bob else cora, at),
            )
            await tx.execute(
                "INSERT INTO loneliness_scores (referral_id, stage, companionship, left_out,"
                " isolated, created_at) VALUES (?, 'first', 2, 3, 2, ?)",
                (referral, at),
            )


async def organisation_story(w: World) -> None:
    """Organisations: Ann, a coordinator, creates the Riverside Garden and names Bob to act
    for it; Cora's Day Centre names Ann. Ann helped at the Day Centre's lunch (credited at the
    roll call she ran), is signed up for next week's, runs a Garden activity, posts something
    for hours, and spent hours on the Day Centre's course (another spend still asked). The
    ledger rows come through storage.ledger, the rest as the flows store them."""
    ann, bob, cora = w.id("ann"), w.id("bob"), w.id("cora")
    garden = await organisations.create(
        w.db,
        name="Riverside Garden",
        area="Riverside",
        description="Veg beds",
        by=ann,
        now=w.now(),
    )
    centre = await organisations.create(
        w.db, name="Day Centre", area="Town", description="Lunches", by=cora, now=w.now()
    )
    await organisations.add_member(
        w.db, organisation_id=garden.id, member_id=bob, by=ann, now=w.now()
    )
    await organisations.add_member(
        w.db, organisation_id=centre.id, member_id=ann, by=cora, now=w.now()
    )
    at, past, coming = (to_db(w.now() + timedelta(days=d)) for d in (0, -2, 7))
    async with w.db.transaction() as tx:
        activity = {}
        for key, org, title, starts, state, by in (
            ("lunch", centre.id, "Lunch club", past, "done", ann),
            ("next", centre.id, "Lunch club", coming, "open", cora),
            ("dig", garden.id, "Dig day", coming, "open", ann),
        ):
            cursor = await tx.execute(
                "INSERT INTO activities (organisation_id, title, starts_at, place,"
                " helpers_wanted, helper_minutes, state, created_by, credited_by, credited_at,"
                " created_at) VALUES (?, ?, ?, 'Hall', 3, 60, ?, ?, ?, ?, ?)",
                (org, title, starts, state, by, ann if state == "done" else None, at, at),
            )
            activity[key] = cursor.lastrowid
        for key, attended in (("lunch", 1), ("next", None)):
            await tx.execute(
                "INSERT INTO activity_signups (activity_id, member_id, role, state, queued_at,"
                " attended, marked_by, created_at, updated_at)"
                " VALUES (?, ?, 'helper', 'going', ?, ?, ?, ?, ?)",
                (activity[key], ann, at, attended, ann if attended else None, at, at),
            )
        centre_account = await organisations.account_id(tx, centre.id)
        (ann_account,) = (await ledger.accounts(tx, ann)).values()
        await ledger.post(
            tx,
            kind=LedgerKind.ACTIVITY,
            idempotency_key="activity:lunch",
            entries=[(ann_account.id, 60), (centre_account, -60)],
            now=w.now(),
            activity_id=activity["lunch"],
            recorded_by=ann,
        )
        cursor = await tx.execute(
            "INSERT INTO partner_offers (organisation_id, category, title, price_minutes,"
            " created_by, created_at) VALUES (?, 'Learning', 'Computer course', 120, ?, ?)",
            (centre.id, ann, at),
        )
        course = cursor.lastrowid
        for state in ("confirmed", "asked"):
            cursor = await tx.execute(
                "INSERT INTO spends (offer_id, member_id, minutes, state, decided_by,"
                " created_at, updated_at) VALUES (?, ?, 120, ?, ?, ?, ?)",
                (course, ann, state, cora if state == "confirmed" else None, at, at),
            )
        await ledger.post(
            tx,
            kind=LedgerKind.SPEND,
            idempotency_key="spend:course",
            entries=[(ann_account.id, -120), (centre_account, 120)],
            now=w.now(),
            spend_id=cursor.lastrowid,
            recorded_by=cora,
        )


async def report(w: World, by: str, about: str, note: str | None) -> int:
    filed = await safety.report(
        w.db,
        reporter_id=w.id(by),
        reported_id=w.id(about),
        reason="other",
        note=note,
        exchange_id=None,
        now=w.now(),
    )
    return filed.report.id


async def record(w: World, by: str, giver: str, receiver: str, minutes: int) -> None:
    await exchanges.record_by_coordinator(
        w.db,
        by=w.id(by),
        giver_id=w.id(giver),
        receiver_id=w.id(receiver),
        minutes=minutes,
        overdraft_limit=LIMIT,
        now=w.now(),
        key=exchanges.record_key(w.id(by), int(w.now().timestamp())),
    )


# --- the registry covers the schema --------------------------------------------------------


async def test_every_table_and_column_has_a_privacy_rule(world):
    assert await problems(world.db) == []


async def test_a_new_table_or_column_fails_until_its_author_writes_the_rule(world):
    async with world.db.transaction() as tx:
        await tx.execute(
            "CREATE TABLE peer_visits (id INTEGER PRIMARY KEY,"
            " visitor_id INTEGER REFERENCES members (id), address TEXT, health_note TEXT)"
        )
        await tx.execute("ALTER TABLE members ADD COLUMN phone TEXT")
        await tx.execute("ALTER TABLE exchanges ADD COLUMN witness_id INTEGER REFERENCES members")
        await tx.execute("ALTER TABLE broadcasts ADD COLUMN reply_to INTEGER REFERENCES listings")
    assert await problems(world.db) == [
        "peer_visits: no rule",
        "broadcasts.reply_to: unclassified",
        "broadcasts.reply_to: references listings, but no fate",
        "exchanges.witness_id: unclassified",
        "exchanges.witness_id: references members, but no fate",
        "members.phone: unclassified",
    ]


def test_personal_columns_stay_out_of_the_export_but_the_name_everyone_sees():
    personal = {f"{rule.table}.{column}" for rule in RULES for column in rule.personal}
    exported = {f"{spec.table}.{column}" for spec in export.EXPORTS for column in spec.exported}
    assert personal & exported == {"members.display_name"}


# --- /mydata ------------------------------------------------------------------------------


async def test_mydata_has_their_rows_of_every_table_and_no_one_elses_private_data(world):
    ann = world.people["ann"]
    data = await member_data(world.db, ann.id)
    text = json.dumps(data)  # JSON-serialisable as it is
    for rule in RULES:
        if rule.mydata is not None:
            assert data[rule.table], f"{rule.table}: none of Ann's rows"
    assert data["members"][0]["neighbourhood"] == ann.place
    assert {row["state"] for row in data["exchanges"]} == {
        "confirmed",
        "agreed",
        "proposed",
        "held",
        "disputed",
        "cancelled",
    }
    viewed = [
        (row["actor_name"], row["subject"], row["detail"])
        for row in data["audit_log"]
        if row["action"] == "viewed"
    ]
    assert viewed == [
        ("Coralind Vexley", f"member:{ann.id}", {"what": "profile"}),  # who saw Ann's data
        ("Zephyrine Quillfeather", f"member:{world.id('dan')}", {"what": "history"}),
    ]
    assert [row["text"] for row in data["broadcasts"]] == ["Spring fair on Saturday"]
    assert [row["blocked_id"] for row in data["blocks"]] == [world.id("eve")]
    made, about_her = data["member_reports"]
    assert made["note"] == "Dan forgot the zorblefrack"
    assert about_her["outcome"] == "paused"
    assert about_her["reporter_id"] is None  # who reported her stays with the coordinators
    assert about_her["note"] is None
    # the hours she recorded for Bob and Carl, and the roll call she ran
    assert [t["kind"] for t in data["ledger_transactions"]] == ["coordinator", "activity"]
    for other in ("dan", "bob", "cora", "eve"):
        person = world.people[other]
        for private in (person.username, str(person.telegram_id), person.place, person.source):
            assert private not in text, (other, private)


async def test_the_summary_counts_posts_exchanges_and_hours(world):
    found = await summary(world.db, world.id("ann"))
    assert found.listings == 3
    assert found.exchanges == 7
    # 90 in exchanges and 60 at the lunch club; 120 spent on a course
    assert (found.given_minutes, found.received_minutes) == (150, 120)
    assert found.balance_minutes == 30 == await ledger.balance(world.db, world.id("ann"))
    assert (await member_data(world.db, world.id("ann")))["summary"]["balance_minutes"] == 30


# --- /forget ------------------------------------------------------------------------------


async def test_after_forget_no_cell_index_or_page_holds_them(world):
    ann = world.people["ann"]
    await forget(world.db, ann.id, world.now())
    assert await traces(world, ann) == []


async def test_forget_keeps_the_books_true(world):
    ann = world.id("ann")
    before = await balances(world.db)
    entries = await world.db.all("SELECT * FROM ledger_entries ORDER BY id")
    result = await forget(world.db, ann, world.now())
    after = await balances(world.db)
    assert await world.db.all("SELECT * FROM ledger_entries ORDER BY id") == entries
    assert await ledger.total(world.db) == 0
    assert {m: b for m, b in after.items() if m != FORMER_MEMBER_ID} == {
        m: b for m, b in before.items() if m not in (ann, FORMER_MEMBER_ID)
    }
    assert after[FORMER_MEMBER_ID] == before[ann] == 30  # no one had left before her
    assert result.rows["accounts"] == 1  # her account, with Bob's hour and Dan's half hour
    states = await world.db.all(
        "SELECT state, COUNT(*) FROM exchanges WHERE ? IN (giver_id, receiver_id) GROUP BY state",
        (FORMER_MEMBER_ID,),
    )
    assert dict(map(tuple, states)) == {"confirmed": 2, "cancelled": 5}


async def test_open_exchanges_are_cancelled_and_everyone_waiting_is_told(world):
    open_ids = [
        row[0]
        for row in await world.db.all(
            f"SELECT id FROM exchanges WHERE ? IN (giver_id, receiver_id)"
            f" AND state IN ({', '.join('?' * len(OPEN_STATES))}) ORDER BY id",
            (world.id("ann"), *OPEN_STATES),
        )
    ]
    assert len(open_ids) == 4
    result = await forget(world.db, world.id("ann"), world.now())
    assert result.cancelled == tuple(open_ids)
    told = await world.db.all(
        "SELECT member_id, ref_id, args FROM outbox WHERE kind = ? ORDER BY ref_id",
        (OutboxKind.PARTNER_LEFT,),
    )
    assert [(row[0], row[1]) for row in told] == list(
        zip([world.id(p) for p in ("bob", "carl", "dan", "eve")], open_ids, strict=True)
    )
    assert {json.loads(row[2])["category"] for row in told} == {"Garden"}
    coordinators = await world.db.all(
        "SELECT member_id, ref_id, args FROM outbox WHERE kind = ? ORDER BY member_id",
        (OutboxKind.MEMBER_LEFT,),
    )
    assert [tuple(row) for row in coordinators] == [
        (world.id("cora"), None, '{"cancelled":4}'),
        (world.id("dora"), None, '{"cancelled":4}'),
    ]
    assert result.coordinators_told == 2


async def test_they_can_join_again_as_someone_new(world):
    ann = world.people["ann"]
    newest_post = await world.db.scalar("SELECT MAX(id) FROM listings")
    await forget(world.db, ann.id, world.now())
    assert await members.by_telegram_id(world.db, ann.telegram_id) is None
    history = await exchanges.history(world.db, world.id("bob"))
    assert sorted((item.other_name, item.other_left) for item in history) == [
        ("", True),  # Zephyrine's hour for Bob, and the help she would have given him
        ("", True),
        ("Carlotta Wren", False),
    ]
    again = await join(world, "zeph", ann.telegram_id, "Zeph")
    assert again.id > ann.id  # never a leaver's id: old buttons and rows meant them
    assert await ledger.balance(world.db, again.id) == 0
    assert await post(world, "zeph", "offer", "A new start") > newest_post


async def test_forgetting_twice_or_the_former_member_changes_nothing(world):
    ann = world.id("ann")
    await forget(world.db, ann, world.now())
    before = await snapshot(world.db)
    for nobody in (ann, FORMER_MEMBER_ID, 10_000):
        with pytest.raises(NotFound):
            await forget(world.db, nobody, world.now())
        with pytest.raises(NotFound):
            await member_data(world.db, nobody)
    assert await snapshot(world.db) == before


async def test_a_coordinator_can_be_forgotten(world):
    cora = world.people["cora"]
    offline = await members.record_offline(
        world.db, by=cora.id, display_name="Olive", now=world.now()
    )
    await exchanges.settle(
        world.db, by=cora.id, exchange_id=await disputed_id(world), minutes=30, now=world.now()
    )
    result = await forget(world.db, cora.id, world.now())
    assert result.coordinators_told == 2  # Dora and Zephyrine
    assert await traces(world, cora) == []
    olive = await members.get(world.db, offline.id)
    assert olive is not None
    assert olive.display_name == "Olive"
    assert (
        await world.db.scalar("SELECT recorded_by FROM members WHERE id = ?", (offline.id,))
        == FORMER_MEMBER_ID
    )
    keys = await world.db.all("SELECT record_key FROM exchanges WHERE record_key IS NOT NULL")
    assert [row[0].split(":")[1] for row in keys] == [str(world.id("ann"))]  # hers, not Cora's
    actors = {row[0] for row in await world.db.all("SELECT actor_id FROM audit_log")}
    assert cora.id not in actors
    assert FORMER_MEMBER_ID in actors
    assert await ledger.total(world.db) == 0


async def test_two_members_who_exchanged_can_both_be_forgotten(world):
    before = await balances(world.db)
    for key in ("ann", "bob"):
        await forget(world.db, world.id(key), world.now())
    between = await world.db.all(
        "SELECT giver_id, receiver_id, state FROM exchanges WHERE giver_id = receiver_id"
        " ORDER BY id"
    )
    assert [tuple(row) for row in between] == [
        (FORMER_MEMBER_ID, FORMER_MEMBER_ID, "confirmed"),
        (FORMER_MEMBER_ID, FORMER_MEMBER_ID, "cancelled"),
    ]
    after = await balances(world.db)
    gone = (world.id("ann"), world.id("bob"), FORMER_MEMBER_ID)
    assert {m: b for m, b in after.items() if m not in gone} == {
        m: b for m, b in before.items() if m not in gone
    }
    assert after[FORMER_MEMBER_ID] == before[world.id("ann")] + before[world.id("bob")]
    assert await ledger.total(world.db) == 0
    for key in ("ann", "bob"):
        assert await traces(world, world.people[key]) == []


async def test_no_one_records_or_settles_hours_for_people_who_have_left(world):
    for key in ("ann", "bob"):
        await forget(world.db, world.id(key), world.now())
    with pytest.raises(NotFound):
        await exchanges.record_by_coordinator(
            world.db,
            by=world.id("cora"),
            giver_id=FORMER_MEMBER_ID,
            receiver_id=world.id("dan"),
            minutes=30,
            overdraft_limit=LIMIT,
            now=world.now(),
        )
    between = await world.db.scalar("SELECT id FROM exchanges WHERE giver_id = receiver_id")
    with pytest.raises(WrongState):
        await exchanges.settle(
            world.db, by=world.id("cora"), exchange_id=between, minutes=30, now=world.now()
        )
    assert await ledger.total(world.db) == 0


async def test_a_member_who_is_not_on_telegram_can_be_forgotten(world):
    olive = await members.record_offline(
        world.db, by=world.id("cora"), display_name="Olivander Pemberton", now=world.now()
    )
    await forget(world.db, olive.id, world.now())
    assert await members.get(world.db, olive.id) is None
    names = {row[0] for row in await world.db.all("SELECT display_name FROM members")}
    assert "Olivander Pemberton" not in names


async def disputed_id(world: World) -> int:
    return int(await world.db.scalar("SELECT id FROM exchanges WHERE state = 'disputed'"))


# --- what the scans look at ----------------------------------------------------------------


async def traces(world: World, person: Person) -> list[str]:
    """Everywhere the person can still be found, one line each: any cell of any table (SQLite's
    own and FTS5's storage too) holding their words or Telegram id, or their id where an id
    names a member; the word index finding their words; the file's bytes, its write-ahead
    log included."""
    found: list[str] = []
    needles = [needle.lower() for needle in person.needles]
    async with aiosqlite.connect(world.path) as conn:
        tables = await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        for (table,) in tables:
            naming = await naming_members(conn, table)
            async with conn.execute(f'SELECT * FROM "{table}"') as cursor:
                columns = [d[0] for d in cursor.description]
                async for row in cursor:
                    for column, value in zip(columns, row, strict=True):
                        if holds(value, needles, person.telegram_id) or (
                            column in naming and names(column, value, person.id)
                        ):
                            found.append(f"{table}.{column} = {value!r}")
        for word in person.words:
            query = "SELECT rowid FROM listings_fts WHERE listings_fts MATCH ?"
            if await conn.execute_fetchall(query, (f'"{word}"*',)):
                found.append(f"listings_fts MATCH {word}")
    return found + in_files(world.path, needles)


def in_files(path: Path, needles: list[str]) -> list[str]:
    found = []
    for file in (path, Path(f"{path}-wal")):
        raw = file.read_bytes().lower() if file.exists() else b""
        found += [f"{file.name} bytes: {n}" for n in needles if n.encode() in raw]
    return found


def holds(value: Any, needles: list[str], telegram_id: int) -> bool:
    if isinstance(value, str):
        return any(needle in value.lower() for needle in needles)
    if isinstance(value, bytes):
        return any(needle.encode() in value.lower() for needle in needles)
    return isinstance(value, int) and value == telegram_id


async def naming_members(conn: aiosqlite.Connection, table: str) -> set[str]:
    """Columns that hold a member's id, read from the schema: foreign keys to members (and the
    members table's own id), besides the audit log's subject and detail."""
    keys = await conn.execute_fetchall(
        'SELECT "from" FROM pragma_foreign_key_list(?) WHERE "table" = ?', (table, "members")
    )
    found = {row[0] for row in keys} | ({"id"} if table == "members" else set())
    return found | ({"subject", "detail"} if table == "audit_log" else set())


def names(column: str, value: Any, member_id: int) -> bool:
    if column == "subject":
        return bool(value == audit.member_subject(member_id))
    if column == "detail":
        detail = json.loads(value)
        return any(detail.get(key) == member_id for key in audit.MEMBER_DETAIL_KEYS)
    return bool(value == member_id)


async def balances(db: Database) -> dict[int, int]:
    rows = await db.all(
        "SELECT a.member_id, COALESCE(SUM(e.minutes), 0) FROM accounts a"
        " LEFT JOIN ledger_entries e ON e.account_id = a.id WHERE a.member_id IS NOT NULL"
        " GROUP BY a.member_id"
    )
    return {row[0]: row[1] for row in rows}


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    tables = [row[0] for row in await db.all("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {t: [tuple(r) for r in await db.all(f'SELECT * FROM "{t}"')] for t in tables}


# --- upgrading a file from before --------------------------------------------------------


async def test_upgrading_keeps_everyone_and_their_posts_searchable(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    for migration in discover()[:7]:
        (old / migration.path.name).write_text(migration.path.read_text())
    path = tmp_path / "upgrade.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await apply_migrations(conn, old) == list(range(1, 8))
        await conn.executescript(
            "INSERT INTO members (id, telegram_id, display_name, consented_at, created_at)"
            " VALUES (1, 11, 'Ann', 'x', 'x'), (2, 12, 'Ben', 'x', 'x');"
            "INSERT INTO accounts (member_id, kind) VALUES (1, 'member'), (2, 'member');"
            "INSERT INTO listings (id, owner_id, kind, category, body, created_at, updated_at)"
            " VALUES (1, 1, 'need', 'Other', 'a lift to the dentist', 'x', 'x');"
            "INSERT INTO responses (id, listing_id, responder_id, status, created_at)"
            " VALUES (1, 1, 2, 'accepted', 'x');"
            "INSERT INTO exchanges (listing_id, response_id, giver_id, receiver_id, created_at,"
            " updated_at) VALUES (1, 1, 2, 1, 'x', 'x');"
        )
        assert await apply_migrations(conn) == list(range(8, len(discover()) + 1))
        assert await conn.execute_fetchall("PRAGMA foreign_key_check") == []
        rows = await conn.execute_fetchall(
            "SELECT id, display_name, status FROM members ORDER BY id"
        )
        assert [tuple(r) for r in rows] == [
            (0, "", "left"),
            (1, "Ann", "active"),
            (2, "Ben", "active"),
        ]
        hits = await conn.execute_fetchall(
            "SELECT rowid FROM listings_fts WHERE listings_fts MATCH 'dentist'"
        )
        assert [tuple(r) for r in hits] == [(1,)]
        await conn.execute("DELETE FROM responses WHERE id = 1")
        await conn.execute("UPDATE exchanges SET listing_id = NULL, response_id = NULL")
        await conn.execute("DELETE FROM listings WHERE id = 1")
        await conn.execute(
            "INSERT INTO listings (owner_id, kind, category, body, created_at, updated_at)"
            " VALUES (2, 'offer', 'Other', 'apples', 'x', 'x')"
        )
        newest = await conn.execute_fetchall("SELECT id FROM listings")
        assert [tuple(r) for r in newest] == [(2,)]  # not 1 again
        with pytest.raises(sqlite3.IntegrityError):
            await conn.execute("UPDATE exchanges SET giver_id = 1")  # still two people
        await conn.execute("UPDATE exchanges SET giver_id = 0, receiver_id = 0")
        with pytest.raises(sqlite3.IntegrityError):  # one account each, still
            await conn.execute("INSERT INTO accounts (member_id, kind) VALUES (1, 'member')")
        await conn.execute("UPDATE accounts SET member_id = 0 WHERE member_id IN (1, 2)")


# --- what the others hear, through the bot ------------------------------------------------


async def test_the_other_party_and_the_coordinator_hear_kindly(coordinator, alice, bob, svc):
    exchange_id = await agree_through_bot(alice, bob, svc)
    category = (await svc.db.one("SELECT category FROM listings"))[0]
    await forget(svc.db, await member_id(svc, bob), svc.clock.now())
    await tick(svc)
    assert alice.last_text == (
        f"Sorry, Alice: the person you were arranging help with ({category}) has left the"
        " timebank, so it is cancelled. Nothing is owed either way."
    )
    assert coordinator.last_text.startswith("A member has left the timebank.")
    assert "Bob" not in coordinator.last_text
    row = await svc.db.one("SELECT giver_id, state FROM exchanges WHERE id = ?", (exchange_id,))
    assert tuple(row) == (FORMER_MEMBER_ID, "cancelled")


async def test_no_one_hears_it_was_cancelled_once_a_coordinator_settled_it(
    coordinator, alice, bob, svc
):
    exchange_id = await agree_through_bot(alice, bob, svc)
    await forget(svc.db, await member_id(svc, bob), svc.clock.now())
    await exchanges.settle(
        svc.db,
        by=await member_id(svc, coordinator),
        exchange_id=exchange_id,
        minutes=60,
        now=svc.clock.now(),
    )
    await tick(svc)
    assert not any("has left the timebank" in text for text in alice.texts_since(0))
    assert await ledger.total(svc.db) == 0
