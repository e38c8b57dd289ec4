"""Visitors: a member offers to visit with buttons only, a coordinator records the check and
approves (or declines) once, pauses, resumes and retires them; a check's warnings reach the
visitor and the coordinators, and a renewal silences the old ones. Every press re-checked."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiosqlite
import pytest

from bot.outbound.scheduler import tick
from bot.sandbox.standin import ChatMember
from bot.ui.i18n import t
from storage import visitors
from storage.migrations import apply_migrations, discover
from storage.models import Visitor, to_db
from storage.visitors import NewCheck
from tests.conftest import COORDINATOR_ID, make_config
from tests.test_exchanges import member_id

REFUSED = "Sorry, only a coordinator can do that."
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path, coordinators=[COORDINATOR_ID, 901])


async def sign_up(
    member: ChatMember,
    areas: tuple[str, ...] = ("Riverside",),
    free: tuple[str, ...] = ("Mornings",),
    language: str = "en",
) -> None:
    """/visitor through its buttons: yes, the areas, the times, send."""
    await member.says("/visitor")
    await member.taps(t("visitor.yes", language))
    for area in areas:
        await member.taps(area)
    await member.taps(t("visitor.done", language))
    for time in free:
        await member.taps(time)
    await member.taps(t("visitor.done", language))
    await member.taps(t("visitor.send", language))


async def record_check(
    coordinator: ChatMember,
    start: str = "Record check & approve",
    when: str = "Today",
    years: str = "1 year",
    note: str | None = None,
) -> None:
    """A coordinator's check through its buttons: kind, when, how long, a note, confirm."""
    await coordinator.taps(start)
    await coordinator.taps("DBS check")
    await coordinator.taps(when)
    await coordinator.taps(years)
    if note:
        await coordinator.says(note)
    else:
        await coordinator.taps("Skip")
    await coordinator.taps("Confirm")


async def become_visitor(member: ChatMember, coordinator: ChatMember, **check: Any) -> None:
    await sign_up(member)
    await record_check(coordinator, **check)


async def row(svc, member: ChatMember) -> dict[str, Any]:
    found = await svc.db.one(
        "SELECT * FROM visitors WHERE member_id = ?", (await member_id(svc, member),)
    )
    return dict(found) if found else {}


def today(svc) -> date:
    local: date = svc.clock.now().astimezone(svc.config.zone).date()
    return local


async def can_visit(svc, visitor_id: int) -> bool:
    visitor = await visitors.get(svc.db, visitor_id)
    return visitor is not None and visitor.can_visit(today(svc))


def day(value: date) -> str:
    return value.strftime("%-d %b %Y")


@pytest.fixture
async def cora(person):
    return await person("Cora", COORDINATOR_ID)


@pytest.fixture
async def dan(person):
    return await person("Dan", 901)


# --- signing up ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
async def test_signing_up_takes_only_buttons_and_reaches_every_coordinator(
    person, cora, dan, svc, language
):
    alice = await person("Alice", 101, joined=False)
    alice.language_code = language
    await alice.says("/start")
    await alice.taps("Alice")
    await alice.taps("Riverside")
    await alice.taps(t("join.agree", language))
    await alice.says("/visitor")
    assert alice.last_text == t("visitor.intro", language)
    assert alice.inline_labels == [t("visitor.yes", language), t("visitor.not_now", language)]
    await alice.taps(t("visitor.yes", language))
    assert alice.last_text == t("visitor.ask_areas", language)
    assert alice.inline_labels == ["Riverside", "Old Town", t("visitor.done", language)]
    await alice.taps(t("visitor.done", language))
    assert alice.last_text == t("visitor.pick_one", language)
    await alice.taps("Riverside")
    await alice.taps("Old Town")
    await alice.taps("Old Town")  # a change of mind
    assert alice.inline_labels == ["✅ Riverside", "Old Town", t("visitor.done", language)]
    await alice.taps(t("visitor.done", language))
    mornings, weekends = t("visitor.free_mornings", language), t("visitor.free_weekends", language)
    await alice.taps(weekends)
    await alice.taps(mornings)
    await alice.taps(t("visitor.done", language))
    assert alice.last_text == t(
        "visitor.preview", language, areas="Riverside", free=f"{mornings}, {weekends}"
    )
    await alice.taps(t("visitor.send", language))
    assert alice.last_text == t("visitor.sent", language)
    stored = await row(svc, alice)
    assert (stored["status"], stored["free_when"], stored["source"]) == (
        "applied",
        "mornings,weekends",
        "volunteered",
    )
    areas = await svc.db.all("SELECT area FROM visitor_areas")
    assert [a[0] for a in areas] == ["Riverside"]
    for coordinator in (cora, dan):
        assert '<a href="tg://user?id=101">Alice</a> would like to visit' in coordinator.last_text
        assert "Areas: Riverside\nUsually free: Mornings, Weekends" in coordinator.last_text
        assert coordinator.inline_labels == ["✅ Record check & approve", "Decline"]
    await alice.says("/visitor")
    assert alice.last_text == t("visitor.status_applied", language)


async def test_not_now_and_leaving_half_way_keep_nothing(alice, cora, svc):
    await alice.says("/visitor")
    await alice.taps("Not now")
    assert alice.last_text == t("visitor.not_now_done")
    await alice.says("/visitor")
    await alice.taps("I'd like to help")
    await alice.taps("Riverside")
    await alice.says("/balance")
    assert "Your balance" in alice.last_text
    await alice.taps("Done")  # the old sign-up's button
    assert alice.last_text == t("post.draft_lost")
    await alice.says("Riverside please")
    assert alice.last_text == t("menu.not_understood")
    assert await row(svc, alice) == {}
    assert not any("would like to visit" in m.text for m in cora.messages)


async def test_a_sign_up_waits_for_the_first_coordinator(alice, person, svc):
    await sign_up(alice)
    assert alice.last_text == t("visitor.sent_kept")
    cora = await person("Cora", COORDINATOR_ID)
    assert "Alice</a> would like to visit" in cora.last_text


async def test_pay_it_forward_yes_signs_up_and_keeps_the_answer(alice, bob, cora, svc):
    alice_id = await member_id(svc, alice)
    async with svc.db.transaction() as tx:
        cursor = await tx.execute(
            "INSERT INTO referrals (patient_id, first_name, area, discharged_at, source, state,"
            " pay_forward, created_at, updated_at) VALUES (?, 'Alice', 'Riverside', ?, 'ward',"
            " 'closed', 'asked', ?, ?)",
            (alice_id, *[to_db(svc.clock.now())] * 3),
        )
        referral = cursor.lastrowid
    await bob.presses(f"vo:signup:{referral}:fwd")  # not his referral: a plain volunteer
    await bob.taps("I'd like to help")
    await bob.taps("Old Town")
    await bob.taps("Done")
    await bob.taps("Evenings")
    await bob.taps("Done")
    await bob.taps("✅ Send")
    assert (await row(svc, bob))["source"] == "volunteered"
    assert "give back" not in cora.last_text
    await alice.presses(f"vo:signup:{referral}:fwd")
    assert alice.last_text == t("visitor.intro")
    await alice.taps("I'd like to help")
    await alice.taps("Riverside")
    await alice.taps("Done")
    await alice.taps("Mornings")
    await alice.taps("Done")
    await alice.taps("✅ Send")
    assert (await row(svc, alice))["source"] == "paid_forward"
    answer = await svc.db.scalar("SELECT pay_forward FROM referrals WHERE id = ?", (referral,))
    assert answer == "yes"
    assert cora.last_text.endswith(t("visitor.applied_paid_forward"))


async def test_a_plain_sign_up_button_works_too(alice, cora, svc):
    await alice.presses("vo:signup:0")
    assert alice.last_text == t("visitor.intro")


# --- approval ---------------------------------------------------------------------------


async def test_approval_records_the_check_and_tells_the_visitor(alice, cora, svc):
    await sign_up(alice)
    await cora.taps("Record check & approve")
    assert cora.last_text == "The check and briefing for Alice. What kind of check was it?"
    await cora.taps("DBS check")
    await cora.taps("Yesterday")
    assert cora.inline_labels == ["1 year", "2 years", "3 years"]
    await cora.taps("3 years")
    await cora.says("Briefed on <safeguarding> & the door code word")
    checked = today(svc) - timedelta(days=1)
    until = checked.replace(year=checked.year + 3)
    assert cora.last_text == (
        f"Record this for Alice?\n\nCheck: DBS check\nDone: {day(checked)}\n"
        f"Valid until: {day(until)}\n"
        "Note: Briefed on &lt;safeguarding&gt; &amp; the door code word\n"
        "\nThey'll be told they're a visitor now."
    )
    await cora.taps("Confirm")
    assert cora.last_text == (
        f"✅ Alice is a visitor now, with a check valid until {day(until)}. I've told them."
    )
    assert alice.last_text == t("visitor.you_are_approved")
    stored = await row(svc, alice)
    assert stored["status"] == "approved"
    assert stored["check_expires_on"] == until.isoformat()
    assert stored["decided_by"] == await member_id(svc, cora)
    check = await svc.db.one("SELECT * FROM visitor_checks")
    assert (check["kind"], check["checked_on"], check["expires_on"]) == (
        "dbs",
        checked.isoformat(),
        until.isoformat(),
    )
    assert check["note"] == "Briefed on <safeguarding> & the door code word"
    audit = await svc.db.one("SELECT * FROM audit_log WHERE action = 'approve_visitor'")
    assert audit["subject"] == f"member:{await member_id(svc, alice)}"
    visitor = await visitors.get(svc.db, await member_id(svc, alice))
    assert visitor is not None
    assert visitor.areas == ("Riverside",)
    assert visitor.can_visit(today(svc))


async def test_a_check_that_has_run_out_is_refused(alice, cora, svc):
    await sign_up(alice)
    await record_check(cora, when="A year ago", years="1 year")
    assert cora.last_text == t("visitor.check_run_out")
    assert (await row(svc, alice))["status"] == "applied"


async def test_declining_tells_them_kindly_and_they_may_offer_again(alice, cora, dan, svc):
    await sign_up(alice)
    await cora.taps("Decline")
    assert cora.last_text == "OK, Alice's offer is declined. I've told them kindly."
    assert alice.last_text == t("visitor.you_are_declined")
    assert (await row(svc, alice))["status"] == "declined"
    await dan.taps("Record check & approve")
    assert dan.last_text == "Cora has already declined this."
    await sign_up(alice)
    assert (await row(svc, alice))["status"] == "applied"
    assert (await row(svc, alice))["decided_by"] is None


async def test_two_coordinators_approving_at_once_decide_once(alice, cora, dan, svc):
    await sign_up(alice)
    await dan.taps("Record check & approve")
    await dan.taps("Reference")
    await record_check(cora)
    await dan.taps("Today")
    await dan.taps("2 years")
    await dan.taps("Skip")
    await dan.taps("Confirm")
    assert dan.last_text == "Cora has already approved this."
    await dan.taps("Decline")
    assert dan.last_text == "Cora has already approved this."
    assert dan.inline_labels == [], "the offer's buttons are gone"
    await dan.presses(f"vo:approve:{await member_id(svc, alice)}")
    assert dan.last_text == "Cora has already approved this."
    assert await svc.db.scalar("SELECT COUNT(*) FROM visitor_checks") == 1
    assert (await row(svc, alice))["status"] == "approved"
    assert sum(m.text == t("visitor.you_are_approved") for m in alice.messages) == 1


async def test_forged_presses_from_a_member_are_refused(alice, bob, cora, svc):
    await sign_up(alice)
    alice_id = await member_id(svc, alice)
    for action in ("approve", "decline", "check", "card", "pause", "resume", "retireok", "csave"):
        await bob.presses(f"vo:{action}:{alice_id}")
        assert bob.last_text == REFUSED
    await bob.says("/visitors")
    assert bob.last_text == REFUSED
    await alice.presses(f"vo:approve:{alice_id}")
    assert alice.last_text == REFUSED
    assert (await row(svc, alice))["status"] == "applied"
    assert await svc.db.scalar("SELECT COUNT(*) FROM visitor_checks") == 0


async def test_a_coordinator_never_approves_themselves(cora, dan, svc):
    await sign_up(cora)
    assert "Cora</a> would like to visit" in dan.last_text
    await cora.presses(f"vo:approve:{await member_id(svc, cora)}")
    assert cora.last_text == t("errors.own_case")
    await cora.presses(f"vo:decline:{await member_id(svc, cora)}")
    assert cora.last_text == t("errors.own_case")


# --- /visitors, cards, pausing and retiring ----------------------------------------------------


async def test_visitors_lists_applied_then_approved_then_paused(alice, bob, cora, person, svc):
    carol = await person("Carol", 103)
    await cora.says("/visitors")
    assert cora.last_text == t("visitor.list_empty")
    await become_visitor(bob, cora)
    await become_visitor(carol, cora, years="2 years")
    await cora.says("/visitors")
    await cora.taps("Carol")
    await cora.taps("Pause")
    await sign_up(alice)
    await cora.says("/visitors")
    until = day(today(svc).replace(year=today(svc).year + 1))
    assert cora.last_text == (
        "<b>Visitors</b> (tap a name to see more)\n"
        "\nWaiting for a check:\n• Alice\n"
        f"\nVisiting:\n• Bob, check until {until}\n"
        "\nPaused:\n• Carol"
    )
    assert cora.inline_labels == ["Alice", "Bob", "Carol"]


async def test_a_card_is_logged_and_pause_resume_retire_tell_the_visitor(alice, cora, svc):
    await become_visitor(alice, cora, note="Knows the estate well")
    alice_id = await member_id(svc, alice)
    await cora.says("/visitors")
    await cora.taps("Alice")
    assert cora.last_text.startswith(
        "<b>Alice</b>: visiting\nAreas: Riverside\nUsually free: Mornings\nCheck: DBS check"
    )
    assert "Note: Knows the estate well" in cora.last_text
    assert cora.inline_labels == ["📋 Record a check", "⏸ Pause", "Retire Alice"]
    viewed = await svc.db.all(
        "SELECT detail FROM audit_log WHERE action = 'viewed' AND subject = ?",
        (f"member:{alice_id}",),
    )
    assert [json.loads(v[0]) for v in viewed] == [{"what": "visitor_applied"}, {"what": "visitor"}]
    await cora.taps("Pause")
    assert cora.last_text == "⏸ Alice is paused: nobody will be referred to them. I've told them."
    assert alice.last_text == t("visitor.you_are_paused")
    assert not await can_visit(svc, alice_id)
    await cora.presses(f"vo:pause:{alice_id}", cora.last)  # a second tap
    assert cora.last_text == "Alice is paused already."
    await alice.says("/visitor")
    assert alice.last_text == t("visitor.status_paused")
    await cora.taps("Alice")  # the list's button again
    assert cora.inline_labels == ["📋 Record a check", "▶️ Resume", "Retire Alice"]
    await cora.taps("Resume")
    assert alice.last_text == t("visitor.you_are_resumed")
    assert await can_visit(svc, alice_id)
    await cora.taps("Alice")
    await cora.taps("Retire Alice")
    assert cora.last_text.startswith("Retire Alice as a visitor?")
    assert cora.inline_labels == ["Yes, retire Alice", "No, keep them"]
    await cora.taps("No, keep them")
    assert (await row(svc, alice))["status"] == "approved"
    await cora.taps("Retire Alice")
    await cora.taps("Yes, retire Alice")
    assert cora.last_text == "Alice is retired as a visitor. I've thanked them."
    assert alice.last_text == t("visitor.you_are_retired")
    await cora.presses(f"vo:resume:{alice_id}", cora.last)
    assert cora.last_text == t("errors.moved_on")
    assert (await row(svc, alice))["status"] == "retired"
    actions = await svc.db.all(
        "SELECT action FROM audit_log WHERE action LIKE '%_visitor' ORDER BY id"
    )
    assert [a[0] for a in actions] == [
        "approve_visitor",
        "pause_visitor",
        "resume_visitor",
        "retire_visitor",
    ]


# --- a check running out ------------------------------------------------------------------


async def expiry_texts(member: ChatMember, since: int) -> list[str]:
    return [text for text in member.texts_since(since) if "check" in text]


async def test_warnings_before_a_check_runs_out_and_on_the_day(alice, cora, dan, svc, clock):
    await become_visitor(alice, cora)  # checked today, for a year
    start = today(svc)
    expires = start.replace(year=start.year + 1)
    for days in (60, 30, 7):
        seen = {who: len(who.messages) for who in (alice, cora, dan)}
        clock.advance((expires - timedelta(days=days)) - today(svc))
        await tick(svc)
        assert await expiry_texts(alice, seen[alice]) == [
            f"Your visitor check runs out in {days} days, on {day(expires)}."
            " A coordinator will be in touch to renew it."
        ]
        for coordinator in (cora, dan):
            assert await expiry_texts(coordinator, seen[coordinator]) == [
                f"Alice's visitor check runs out in {days} days, on {day(expires)}."
                " Record a new one to keep visits coming."
            ]
            assert coordinator.inline_labels == ["📋 Record a check"]
    visitor = await visitors.get(svc.db, await member_id(svc, alice))
    assert visitor is not None
    assert visitor.can_visit(today(svc))
    seen_alice, seen_cora = len(alice.messages), len(cora.messages)
    clock.advance(expires - today(svc))
    await tick(svc)
    assert await expiry_texts(alice, seen_alice) == [t("visitor.expired_you")]
    assert await expiry_texts(cora, seen_cora) == [
        "Alice's visitor check ran out today."
        " Nobody will be referred to them until a new check is recorded."
    ]
    assert not visitor.can_visit(today(svc))
    await cora.taps("Record a check")  # from the notice: a renewal
    await cora.taps("DBS check")
    await cora.taps("Today")
    await cora.taps("3 years")
    await cora.taps("Skip")
    assert "They'll be told" not in cora.last_text
    await cora.taps("Confirm")
    renewed = today(svc).replace(year=today(svc).year + 3)
    assert cora.last_text == (
        f"✅ The check for Alice is recorded, valid until {day(renewed)}. I've told them."
    )
    assert alice.last_text == t("visitor.you_are_checked", until=day(renewed))
    visitor = await visitors.get(svc.db, await member_id(svc, alice))
    assert visitor is not None
    assert visitor.can_visit(today(svc))


async def test_a_renewal_silences_the_old_warnings(alice, cora, svc, clock):
    await become_visitor(alice, cora)
    expires = today(svc).replace(year=today(svc).year + 1)
    clock.advance((expires - timedelta(days=60)) - today(svc))
    await tick(svc)
    assert "runs out in 60 days" in (await expiry_texts(alice, 0))[-1]
    await cora.taps("Record a check")
    await cora.taps("Reference")
    await cora.taps("Today")
    await cora.taps("2 years")
    await cora.taps("Skip")
    await cora.taps("Confirm")
    seen_alice, seen_cora = len(alice.messages), len(cora.messages)
    clock.advance(expires - today(svc) + timedelta(days=1))
    await tick(svc)
    assert await expiry_texts(alice, seen_alice) == []
    assert await expiry_texts(cora, seen_cora) == []
    skipped = await svc.db.scalar(
        "SELECT COUNT(*) FROM outbox WHERE kind LIKE 'visitor_check_%' AND state = 'skipped'"
    )
    assert skipped == 3 * 2  # 30 and 7 days before and the day, to Alice and Cora


async def test_only_warnings_still_ahead_are_queued(alice, cora, svc):
    await sign_up(alice)
    now, local = svc.clock.now(), today(svc)
    await visitors.approve(
        svc.db,
        by=await member_id(svc, cora),
        member_id=await member_id(svc, alice),
        check=NewCheck("other", local - timedelta(days=340), 1),
        now=now,
        today=local,
        rules=svc.visits,
    )
    rows = await svc.db.all(
        "SELECT DISTINCT json_extract(args, '$.days') FROM outbox"
        " WHERE kind LIKE 'visitor_check_%' ORDER BY 1"
    )
    assert [r[0] for r in rows] == [0, 7]


# --- upgrading, /mydata and /forget -------------------------------------------------------------


async def test_upgrading_makes_peer_visitors_approved_visitors_with_no_check(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    for migration in discover()[:11]:
        (old / migration.path.name).write_text(migration.path.read_text())
    async with aiosqlite.connect(tmp_path / "upgrade.sqlite3", isolation_level=None) as conn:
        assert await apply_migrations(conn, old) == list(range(1, 12))
        await conn.executescript(
            "INSERT INTO members (id, telegram_id, display_name, neighbourhood, peer_visitor,"
            " consented_at, created_at) VALUES (1, 11, 'Ann', 'Riverside', 1, 'x', :at),"
            " (2, 12, 'Ben', 'Old Town', 0, 'x', :at);".replace(":at", f"'{to_db(NOW)}'")
        )
        assert await apply_migrations(conn) == [m.version for m in discover()[11:]]
        conn.row_factory = aiosqlite.Row
        rows = await conn.execute_fetchall(
            "SELECT member_id, status, check_expires_on FROM visitors"
        )
        assert [tuple(r) for r in rows] == [(1, "approved", None)]
        areas = await conn.execute_fetchall("SELECT area, member_id FROM visitor_areas")
        assert [tuple(r) for r in areas] == [("Riverside", 1)]
        columns = await conn.execute_fetchall("SELECT name FROM pragma_table_info('members')")
        assert "peer_visitor" not in {c[0] for c in columns}
        (visitor,) = await conn.execute_fetchall("SELECT * FROM visitors")
        assert not Visitor.from_row(visitor).can_visit(date(2026, 11, 23))
        assert await conn.execute_fetchall("PRAGMA foreign_key_check") == []


async def test_mydata_has_their_visitor_rows_and_forget_removes_them(alice, cora, api, svc):
    await become_visitor(alice, cora, note="Lovely")
    alice_id = await member_id(svc, alice)
    await alice.says("/mydata")
    data = json.loads(api.uploads[-1][2])
    assert [r["status"] for r in data["visitors"]] == ["approved"]
    assert [r["area"] for r in data["visitor_areas"]] == ["Riverside"]
    assert [r["note"] for r in data["visitor_checks"]] == ["Lovely"]
    waiting = "SELECT COUNT(*) FROM outbox WHERE ref_id = ? AND kind LIKE 'visitor_%'"
    assert await svc.db.scalar(waiting, (alice_id,)) > 0  # Cora's and Dan's warnings to come
    await alice.says("/forget")
    await alice.taps("Yes, delete my details")
    for table in ("visitors", "visitor_areas", "visitor_checks"):
        assert await svc.db.scalar(f"SELECT COUNT(*) FROM {table}") == 0, table
    assert await svc.db.scalar(waiting, (alice_id,)) == 0


async def test_a_peer_visitors_broadcast_reaches_approved_visitors_only(alice, bob, cora, svc):
    await become_visitor(bob, cora)
    await sign_up(alice)  # applied, not yet approved
    await cora.says("/broadcast")
    await cora.says("Can anyone visit Mr Green on Tuesday?")
    await cora.taps("Peer visitors")
    assert "<b>1 person</b> will get it" in cora.last_text
    await cora.taps("Send to 1 person")
    await tick(svc)
    assert bob.last_text == "📣 Can anyone visit Mr Green on Tuesday?"
    assert not any("Mr Green" in m.text for m in alice.messages)
