"""Keeping safe: blocks keep two members apart both ways, reports reach every coordinator, and
a coordinator pauses and resumes a member; every press re-checked, every double tap harmless."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiosqlite
import pytest

from bot.app import build_application, running
from bot.outbound.scheduler import tick
from bot.sandbox.standin import ChatMember
from bot.ui.i18n import t
from storage import audit, broadcasts, exchanges, ledger, listings
from storage.migrations import apply_migrations, discover
from tests.conftest import COORDINATOR_ID, join, make_config, post
from tests.test_exchanges import agree, member_id
from tests.test_nudges import DAY, count

UNAVAILABLE = "Sorry, this one isn't available to you."
REFUSED = "Sorry, only a coordinator can do that."
PAUSED = t("errors.paused")


async def block(blocker, name: str) -> None:
    """From the latest message with a "🚫 Block" button: block, and say yes."""
    await blocker.taps("Block")
    assert blocker.last_text.startswith(f"Block {name}?")
    await blocker.taps(f"Yes, block {name}")


async def view(member, words: str) -> None:
    """Find a listing by its words and open it."""
    await member.says(f"/search {words}")
    await member.taps("1. ")


async def double_tap(member, label: str) -> None:
    """Two presses of one button, the second before its buttons are taken off."""
    message, button = next(
        (message, button)
        for message in reversed(member.messages)
        for button in message.inline_buttons
        if label in button["text"]
    )
    await member.presses(button["callback_data"], message)
    await member.presses(button["callback_data"], message)


async def blocks(svc) -> list[tuple[int, int]]:
    return [tuple(row) for row in await svc.db.all("SELECT blocker_id, blocked_id FROM blocks")]


async def reports(svc) -> list[dict[str, Any]]:
    return [dict(row) for row in await svc.db.all("SELECT * FROM member_reports ORDER BY id")]


# --- blocking -------------------------------------------------------------------------------


async def test_blocked_members_never_see_each_other_in_browse_or_search(alice, bob, person, svc):
    carol = await person("Carol", 103)
    await alice.says("/need a lift to the clinic")
    await bob.says("/offer a lift to the shops")
    await view(alice, "shops")
    assert alice.inline_labels == ["🙌 I'd like this", "🚫 Block", "⚠️ Report"]
    await block(alice, "Bob")
    assert alice.last_text.startswith("Done. You won't see Bob's posts any more")
    assert await blocks(svc) == [(await member_id(svc, alice), await member_id(svc, bob))]
    for searcher, words in ((alice, "shops"), (bob, "clinic")):
        await searcher.says(f"/search {words}")
        assert "Nothing here yet." in searcher.last_text
    await alice.says("/search lift")
    assert alice.inline_labels == ["1. a lift to the clinic"], "her own, not Bob's"
    await bob.says("/search lift")
    assert bob.inline_labels == ["1. a lift to the shops"], "his own, not Alice's"
    await bob.taps("Browse")
    await bob.taps("Help people need")
    await bob.taps("All")
    assert "clinic" not in bob.last_text
    await carol.says("/search lift")
    assert carol.inline_labels == ["1. a lift to the shops", "2. a lift to the clinic"]


async def test_blocked_pairs_cannot_answer_each_other_either_way(alice, bob, svc):
    await alice.says("/need a lift to the clinic")
    await bob.says("/offer a lift to the shops")
    need = (await listings.open_by_owner(svc.db, await member_id(svc, alice)))[0].id
    offer = (await listings.open_by_owner(svc.db, await member_id(svc, bob)))[0].id
    await view(bob, "clinic")  # Bob opened it before he was blocked
    await view(alice, "shops")
    await block(alice, "Bob")
    await bob.taps("I can help")  # the old card's button
    assert bob.last_text == UNAVAILABLE
    await alice.presses(f"ls:respond:{offer}")
    assert alice.last_text == UNAVAILABLE
    await bob.presses(f"ls:view:{need}")
    assert bob.last_text == UNAVAILABLE
    assert await svc.db.scalar("SELECT COUNT(*) FROM responses") == 0
    assert "blocked" not in " ".join(m.text for m in bob.messages).lower(), "never told"


async def test_a_block_from_an_answer_withdraws_it_unseen(alice, bob, svc):
    await alice.says("/need a lift to the clinic")
    await view(bob, "clinic")
    await bob.taps("I can help")
    assert alice.inline_labels == ["✅ Yes, please", "No, thanks", "🚫 Block", "⚠️ Report"]
    seen_by_bob = len(bob.messages)
    await block(alice, "Bob")
    assert bob.texts_since(seen_by_bob) == [], "Bob is not told"
    status = await svc.db.scalar("SELECT status FROM responses")
    assert status == "withdrawn"
    await alice.taps("Yes, please")  # the answer's old button
    assert alice.last_text == t("errors.moved_on")
    assert await exchanges.open_for(svc.db, await member_id(svc, alice)) == []


async def test_blocking_calls_off_agreed_help_and_says_so_first(alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await alice.taps("Block")  # on the introduction
    assert "will be called off" in alice.last_text
    await alice.taps("Yes, block Bob")
    assert "I've called off the help you'd agreed" in alice.last_text
    assert bob.last_text == (
        "Alice can't go ahead with the help you'd agreed, so it's called off. Nothing was credited."
    )
    exchange = await exchanges.get(svc.db, exchange_id)
    assert exchange is not None
    assert exchange.state == "cancelled"


async def test_blocking_keeps_help_already_done_so_nobody_loses_credit(alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("2 hours")
    await alice.presses(f"sf:block:{await member_id(svc, bob)}")
    assert "called off" not in alice.last_text
    await alice.taps("Yes, block Bob")
    await alice.presses(f"ex:yes:{exchange_id}:120")
    assert alice.last_text.startswith("Thank you! 2 hours confirmed.")
    assert await ledger.balance(svc.db, await member_id(svc, bob)) == 120


async def test_a_double_tap_blocks_once_and_no_keeps_it(alice, bob, svc):
    await bob.says("/offer soup")
    await view(alice, "soup")
    await alice.taps("Block")
    await alice.taps("No")
    assert alice.last_text == t("common.kept")
    assert await blocks(svc) == []
    await alice.taps("Block")
    await double_tap(alice, "Yes, block Bob")
    assert alice.last_text.startswith("You've already blocked Bob.")
    await alice.taps("Block")
    assert alice.last_text.startswith("You've already blocked Bob.")
    assert len(await blocks(svc)) == 1


async def test_unblocking_restores_and_a_second_tap_is_harmless(alice, bob, svc):
    await alice.says("/blocked")
    assert alice.last_text == "You haven't blocked anyone."
    await bob.says("/offer soup")
    await view(alice, "soup")
    await block(alice, "Bob")
    await alice.says("/blocked")
    assert alice.inline_labels == ["Unblock Bob"]
    await alice.taps("Unblock Bob")
    assert alice.last_text == "Bob is unblocked. You'll see each other's posts again."
    await alice.taps("Unblock Bob")
    assert alice.last_text == "Bob isn't blocked."
    await alice.says("/search soup")
    assert alice.inline_labels == ["1. soup"]
    await view(alice, "soup")
    await alice.taps("I'd like this")
    assert alice.last_text.startswith("Thank you! I've told them.")


async def test_nobody_lifts_someone_elses_block(alice, bob, person, svc):
    mallory = await person("Mallory", 666)
    await bob.says("/offer soup")
    await view(alice, "soup")
    await block(alice, "Bob")
    await mallory.presses(f"sf:unblock:{await member_id(svc, bob)}")
    assert mallory.last_text == "Bob isn't blocked."
    await bob.presses(f"sf:unblock:{await member_id(svc, alice)}")
    assert bob.last_text == "Alice isn't blocked."
    assert len(await blocks(svc)) == 1
    for forged in ("sf:block:0", f"sf:block:{await member_id(svc, mallory)}", "sf:blockok:999"):
        await mallory.presses(forged)
        assert mallory.last_text == t("errors.gone")


async def test_matching_nudges_and_broadcasts_skip_blocked_pairs(
    alice, bob, person, coordinator, svc, clock
):
    carol = await person("Carol", 103)
    await post(bob, "I can offer", "Garden", "Hedge trimming")
    await post(carol, "I can offer", "Garden", "Lawn mowing")
    await post(alice, "I need", "Garden", "Help with my hedge")
    await view(bob, "Help with my hedge")
    await block(bob, "Alice")
    clock.advance(5 * DAY)
    await tick(svc)
    assert count(carol, "Could you help? Alice needs:") == 1
    assert count(bob, "Could you help?") == 0
    need = (await listings.open_by_owner(svc.db, await member_id(svc, alice)))[0].id
    cora = await member_id(svc, coordinator)
    audience = broadcasts.audience(broadcasts.OFFERS, "Garden")
    assert await broadcasts.count_audience(svc.db, audience, cora, need) == 1, "Carol only"


# --- reporting ------------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path, coordinators=[COORDINATOR_ID, 901])


async def test_a_report_reaches_every_coordinator_with_the_exchange(alice, bob, person, svc):
    cora, dan = await person("Cora", COORDINATOR_ID), await person("Dan", 901)
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("Report")  # on his introduction to Alice
    assert bob.last_text.startswith("What happened with Alice?")
    assert bob.inline_labels == [
        "😟 Made me feel unsafe",
        "🕒 Didn't turn up",
        "💬 Something else",
        "Don't report",
    ]
    await bob.taps("Didn't turn up")
    await bob.says("She wasn't in, twice <again>")
    assert bob.last_text.startswith("Send this to the coordinators?")
    assert "Your words: She wasn't in, twice &lt;again&gt;" in bob.last_text
    await double_tap(bob, "Yes, send it")
    assert bob.last_text == "That was sent already. Thank you for telling us."
    assert bob.messages[-2].text.startswith("Thank you for telling us. A coordinator will")
    assert bob.inline_labels == ["🚫 Block Alice too"]
    assert len(await reports(svc)) == 1
    for each in (cora, dan):
        assert 'has reported <a href="tg://user?id=101">Alice</a>' in each.last_text
        assert "What happened: 🕒 Didn't turn up" in each.last_text
        assert f"exchange #{exchange_id} (agreed)" in each.last_text
        assert each.inline_labels == ["⏸ Pause Alice", "No action needed"]
    assert "reported" not in alice.last_text
    [row] = await reports(svc)
    assert (row["reason"], row["exchange_id"], row["handled_at"]) == ("no_show", exchange_id, None)
    assert row["note"] == "She wasn't in, twice <again>"


async def test_pausing_from_a_report_and_a_second_coordinator_is_told(alice, bob, person, svc):
    cora, dan = await person("Cora", COORDINATOR_ID), await person("Dan", 901)
    await alice.says("/offer soup")
    await view(bob, "soup")
    await bob.taps("Report")
    await bob.taps("Made me feel unsafe")
    await bob.taps("Skip")
    assert "Your words" not in bob.last_text
    await bob.taps("Yes, send it")
    await cora.taps("Pause Alice")
    assert cora.last_text.startswith("⏸ Alice is paused.")
    assert alice.last_text == t("safety.you_are_paused")
    await dan.taps("Pause Alice")
    assert dan.last_text == "Cora has already handled this: the member was paused."
    assert dan.inline_labels == [], "the report's buttons are gone"
    [row] = await reports(svc)
    await dan.presses(f"sf:noaction:{row['id']}")
    assert dan.last_text == "Cora has already handled this: the member was paused."
    [row] = await reports(svc)
    assert (row["outcome"], row["handled_by"]) == ("paused", await member_id(svc, cora))
    paused = await svc.db.one("SELECT paused_at, paused_by FROM members WHERE telegram_id = 101")
    assert paused[0] is not None
    assert paused[1] == await member_id(svc, cora)
    assert (await audit.actions(svc.db))[0][1] == "pause_member"
    assert sum(m.text == t("safety.you_are_paused") for m in alice.messages) == 1


async def test_no_action_needed_is_recorded_once(alice, bob, person, svc):
    cora, dan = await person("Cora", COORDINATOR_ID), await person("Dan", 901)
    await alice.says("/offer soup")
    await view(bob, "soup")
    await bob.taps("Report")
    await bob.taps("Something else")
    await bob.taps("Skip")
    await bob.taps("Yes, send it")
    await dan.taps("No action needed")
    assert dan.last_text == "OK, no action. I've noted that you looked at it."
    assert dan.inline_labels == []
    await cora.taps("Pause Alice")
    assert cora.last_text == "Dan has already handled this: no action needed."
    assert (await reports(svc))[0]["outcome"] == "no_action"
    assert not await svc.db.scalar("SELECT paused_at FROM members WHERE telegram_id = 101")


async def test_a_report_about_a_coordinator_goes_to_the_others(alice, person, svc):
    cora, dan = await person("Cora", COORDINATOR_ID), await person("Dan", 901)
    await cora.says("/offer tea")
    await view(alice, "tea")
    await alice.taps("Report")
    await alice.taps("Something else")
    await alice.taps("Skip")
    await alice.taps("Yes, send it")
    assert "has reported" in dan.last_text
    assert not any("has reported" in m.text for m in cora.messages)
    report_id = (await reports(svc))[0]["id"]
    await cora.presses(f"sf:pause:{report_id}")
    assert cora.last_text == "This is about you, so another coordinator needs to do it."


async def test_members_are_refused_the_coordinators_buttons(alice, bob, person, svc):
    await person("Cora", COORDINATOR_ID)
    await alice.says("/offer soup")
    await view(bob, "soup")
    await bob.taps("Report")
    await bob.taps("Something else")
    await bob.taps("Skip")
    await bob.taps("Yes, send it")
    report_id = (await reports(svc))[0]["id"]
    for forged in (f"sf:pause:{report_id}", f"sf:noaction:{report_id}", "sf:resume:1"):
        await bob.presses(forged)
        assert bob.last_text == REFUSED
    await bob.says("/paused")
    assert bob.last_text == REFUSED
    assert (await reports(svc))[0]["handled_at"] is None


async def test_a_report_about_someone_elses_exchange_is_refused(alice, bob, person, svc):
    mallory = await person("Mallory", 666)
    exchange_id = await agree(alice, bob, svc)
    await mallory.presses(f"sf:report:{await member_id(svc, alice)}:{exchange_id}")
    assert mallory.last_text == t("errors.not_yours")
    await mallory.presses(f"sf:report:{await member_id(svc, mallory)}")
    assert mallory.last_text == t("errors.gone")
    assert await reports(svc) == []


async def test_a_report_left_half_way_sends_nothing(alice, bob, person, svc):
    await person("Cora", COORDINATOR_ID)
    await alice.says("/offer soup")
    await view(bob, "soup")
    await bob.taps("Report")
    await bob.says("hello?")
    assert bob.last_text == t("conversation.use_buttons")
    await bob.taps("Made me feel unsafe")
    await bob.says("/balance")
    assert "Your balance" in bob.last_text
    await bob.says("He shouted at me")
    assert bob.last_text == t("menu.not_understood"), "the report was left"
    await bob.taps("Skip")  # the old report's button
    assert bob.last_text == t("post.draft_lost")
    await bob.taps("⚠️ Report")  # the card's: "Don't report" is a report's old button
    await bob.taps("Something else")
    await bob.taps("Skip")
    message = bob.messages[-1]
    send, dont = (button["callback_data"] for button in message.inline_buttons)
    await bob.presses(dont, message)
    assert bob.last_text == "OK, nothing was sent."
    assert message.inline_buttons == [], "the question's buttons are gone"
    await bob.presses(send, message)  # tapped before they went
    assert bob.last_text == "OK, nothing was sent."
    assert await reports(svc) == []


async def test_a_report_before_any_coordinator_waits_for_the_first(tmp_path, api, clock):
    app = build_application(make_config(tmp_path), request=api, clock=clock, background=False)
    async with running(app):
        alice, bob = ChatMember(app, api, 101, "Alice"), ChatMember(app, api, 102, "Bob")
        await join(alice)
        await join(bob)
        await alice.says("/offer soup")
        await view(bob, "soup")
        await bob.taps("Report")
        await bob.taps("Made me feel unsafe")
        await bob.taps("Skip")
        await bob.taps("Yes, send it")
        assert "I've kept it safe for a coordinator" in bob.last_text
        cora = ChatMember(app, api, COORDINATOR_ID, "Cora")
        await join(cora)
        assert any("Bob</a> has reported" in m.text for m in cora.messages)


# --- pausing --------------------------------------------------------------------------------


async def pause_alice(alice, bob, cora) -> None:
    await alice.says("/offer soup")
    await view(bob, "soup")
    await bob.taps("Report")
    await bob.taps("Made me feel unsafe")
    await bob.taps("Skip")
    await bob.taps("Yes, send it")
    await cora.taps("Pause Alice")


async def test_a_paused_member_cant_post_or_answer_but_can_confirm(alice, bob, person, svc):
    cora = await person("Cora", COORDINATOR_ID)
    exchange_id = await agree(alice, bob, svc)  # help agreed before the pause
    await bob.says("/need a hand with boxes")
    await pause_alice(alice, bob, cora)
    await alice.taps("I can offer")
    assert alice.last_text == PAUSED
    await alice.says("/need a lift")
    assert alice.last_text == PAUSED
    await alice.taps("My hours")
    await alice.taps("My posts")
    await alice.taps("soup")
    await alice.taps("Edit")
    await alice.says("soup, and call me on 0700 000000")
    assert alice.last_text == PAUSED  # a hidden post can't come back in new words
    await view(alice, "boxes")
    await alice.taps("I can help")
    assert alice.last_text == PAUSED
    await alice.says("/balance")
    assert "Your balance" in alice.last_text
    await bob.taps("It happened")
    await bob.taps("1 hour")
    await alice.presses(f"ex:yes:{exchange_id}:60")
    assert alice.last_text.startswith("Thank you! 1 hour confirmed.")
    await bob.says("/search soup")
    assert "Nothing here yet." in bob.last_text, "a paused member's posts are out of sight"
    soup = (await listings.open_by_owner(svc.db, await member_id(svc, alice)))[0].id
    await bob.presses(f"ls:respond:{soup}")
    assert bob.last_text == UNAVAILABLE
    assert await svc.db.scalar("SELECT COUNT(*) FROM listings") == 3


async def test_resuming_lets_them_post_again_and_tells_them(alice, bob, person, svc, clock):
    cora = await person("Cora", COORDINATOR_ID)
    await pause_alice(alice, bob, cora)
    clock.advance(timedelta(hours=1))
    await cora.says("/paused")
    assert cora.last_text.startswith("Paused now.")
    assert "• Alice, since " in cora.last_text
    assert cora.last_text.endswith(", by Cora")
    await cora.taps("Resume Alice")
    assert cora.last_text == "Alice can post and answer posts again. I've told them."
    assert alice.last_text == t("safety.you_are_resumed")
    await cora.taps("Resume Alice")
    assert cora.last_text == "Alice isn't paused."
    await cora.says("/paused")
    assert cora.last_text == "Nobody is paused."
    await alice.says("/offer jam")
    assert alice.last_text.startswith(t("post.published", card="")[:10])
    actions = [a for _, a, _ in await audit.actions(svc.db)]
    assert actions[:3] == ["resume_member", "viewed", "pause_member"]  # /paused showed Alice


async def test_a_pause_undone_before_it_was_sent_is_never_sent(alice, bob, person, svc):
    cora = await person("Cora", COORDINATOR_ID)
    await alice.says("/offer soup")
    await view(bob, "soup")
    await bob.taps("Report")
    await bob.taps("Made me feel unsafe")
    await bob.taps("Skip")
    await bob.taps("Yes, send it")
    cora.settle = False  # the sender is slow today
    await cora.taps("Pause Alice")
    await cora.says("/paused")
    await cora.taps("Resume Alice")
    before = len(alice.messages)
    await tick(svc)
    assert alice.texts_since(before) == [t("safety.you_are_resumed")]


async def test_nobody_is_introduced_to_or_by_a_paused_member(alice, bob, person, svc):
    cora, carol = await person("Cora", COORDINATOR_ID), await person("Carol", 103)
    await alice.says("/need a lift to the clinic")
    await view(carol, "clinic")
    await carol.taps("I can help")  # Carol's answer waits for Alice
    await bob.says("/need help with the shopping")
    await view(alice, "shopping")
    await alice.taps("I can help")  # Alice's answer waits for Bob
    await pause_alice(alice, bob, cora)
    await alice.taps("Yes, please")  # Carol's answer, on Alice's phone
    assert alice.last_text == PAUSED
    await bob.taps("Yes, please")  # Alice's answer, on Bob's phone
    assert bob.last_text == UNAVAILABLE
    await alice.taps("No, thanks")
    assert alice.last_text == "OK, I've let them know kindly.", "saying no still works"
    assert await svc.db.scalar("SELECT COUNT(*) FROM exchanges") == 0


async def test_upgrading_keeps_the_outbox_and_learns_the_new_kinds(tmp_path):
    """A file made by the previous release: its outbox rows survive the rebuild in 0009."""
    old = tmp_path / "old"
    old.mkdir()
    for migration in discover()[:8]:
        (old / migration.path.name).write_text(migration.path.read_text())
    async with aiosqlite.connect(tmp_path / "upgrade.sqlite3", isolation_level=None) as conn:
        assert await apply_migrations(conn, old) == list(range(1, 9))
        await conn.executescript(
            "INSERT INTO members (id, telegram_id, display_name, consented_at, created_at)"
            " VALUES (1, 11, 'Ann', 'x', 'x');"
            "INSERT INTO outbox (member_id, kind, due_at, created_at, state, lease_until,"
            " idempotency_key) VALUES (1, 'nudge_first_post', 'd', 'c', 'sending', 'l', 'k');"
        )
        assert await apply_migrations(conn) == [m.version for m in discover()[8:]]
        async with conn.execute(
            "SELECT member_id, kind, state, lease_until, idempotency_key FROM outbox"
        ) as cursor:
            assert [tuple(row) for row in await cursor.fetchall()] == [
                (1, "nudge_first_post", "sending", "l", "k")
            ]
        await conn.execute(
            "INSERT INTO outbox (member_id, kind, due_at, created_at) VALUES"
            " (1, 'member_paused', 'd', 'c')"
        )
        async with conn.execute("SELECT paused_at FROM members WHERE id = 1") as cursor:
            assert [tuple(row) for row in await cursor.fetchall()] == [(None,)]
        async with conn.execute("PRAGMA foreign_key_check") as cursor:
            assert await cursor.fetchall() == []
