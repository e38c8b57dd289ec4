"""Telegram as it really behaves: group chats, edited messages, its everyday refusals, and many
members tapping at once."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram import Update

from bot.outbound.scheduler import tick
from bot.sandbox.standin import Failure
from bot.ui.i18n import t
from storage import listings, members
from tests.test_exchanges import agree

GROUP_ID = -100123


async def process(app: Any, api: Any, payload: dict[str, Any]) -> None:
    payload["update_id"] = api.next_update_id()
    await app.process_update(Update.de_json(payload, app.bot))


def group_message(user_id: int, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": 5,
        "date": 1_790_000_000,
        "chat": {"id": GROUP_ID, "type": "group", "title": "Riverside neighbours"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Alice"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"message": message}


def edited(user_id: int, text: str) -> dict[str, Any]:
    message = group_message(user_id, text)["message"]
    message["chat"] = {"id": user_id, "type": "private", "first_name": "Alice"}
    message["edit_date"] = 1_790_000_100
    return {"edited_message": message}


# --- private chats only ------------------------------------------------------------------


async def test_a_group_gets_one_line_and_never_a_balance(app, api, alice, coordinator):
    for command in ("/balance", "/history", "/export", "/start", "/help"):
        await process(app, api, group_message(alice.user_id, command))
    await process(app, api, group_message(900, "/export"))
    said = [m.text for m in api.messages(GROUP_ID)]
    assert said == [t("group.private_only")] * 6
    assert not any(call.method == "sendDocument" for call in api.calls)


async def test_a_group_chatter_that_is_not_a_command_is_left_alone(app, api, alice):
    await process(app, api, group_message(alice.user_id, "lovely weather"))
    assert api.messages(GROUP_ID) == []


# --- edits never re-run ------------------------------------------------------------------


async def test_an_edited_command_never_runs_again(app, api, alice, svc):
    await alice.says("/offer dog walkin")
    await process(app, api, edited(alice.user_id, "/offer dog walking"))
    assert alice.last_text == t("common.edited")
    (offer,) = await listings.open_by_owner(svc.db, 1)
    assert offer.body == "dog walkin"


# --- Telegram's refusals ------------------------------------------------------------------


async def test_a_double_tap_on_an_edited_page_is_harmless(alice, bob, caplog):
    for n in range(7):
        await alice.says(f"/need help number {n}")
    await bob.says("/search help")
    await bob.taps("More")
    page = bob.last_text
    more = next(m for m in reversed(bob.messages) if "More" not in str(m.reply_markup))
    await bob.presses("sr:page:5:help", more)  # the same page again: "message is not modified"
    assert bob.last_text == page
    assert t("errors.generic") not in [m.text for m in bob.messages]
    assert "Traceback" not in caplog.text


async def test_a_button_answered_too_late_still_acts(alice, bob, api, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    too_old = Failure(400, "Bad Request: query is too old and response timeout expired")
    api.fail_next("answerCallbackQuery", too_old)
    await bob.taps("1 hour")
    assert bob.last_text == "Thanks! I've asked Alice to confirm 1 hour."
    exchange = await svc_exchange(svc, exchange_id)
    assert exchange.state == "proposed"


async def svc_exchange(svc, exchange_id: int) -> Any:
    from storage import exchanges

    found = await exchanges.get(svc.db, exchange_id)
    assert found is not None
    return found


async def test_chat_not_found_marks_the_member_unreachable_in_one_line(alice, api, svc, caplog):
    api.fail_next("sendMessage", Failure(400, "Bad Request: chat not found"), alice.user_id)
    with caplog.at_level(logging.INFO):
        await alice.says("/balance")
    member = await members.by_telegram_id(svc.db, alice.user_id)
    assert member is not None
    assert member.unreachable
    assert "Traceback" not in caplog.text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_refused_chat_action_never_stops_the_report(coordinator, api):
    api.fail_next("sendChatAction", Failure(400, "Bad Request: not enough rights"))
    await coordinator.says("/report")
    await coordinator.taps("All time")
    assert any(m.kind == "photo" for m in coordinator.messages)


async def test_a_blocked_member_in_the_middle_of_a_tap_is_not_apologised_to(alice, api, svc):
    api.blocked.add(alice.user_id)
    await alice.says("/balance")
    member = await members.by_telegram_id(svc.db, alice.user_id)
    assert member is not None
    assert member.unreachable


# --- many members at once ----------------------------------------------------------------


async def through_the_processor(app: Any, api: Any, member: Any, text: str) -> None:
    """As the Application's own loop does: each update through its update processor."""
    payload = {"update_id": api.next_update_id(), "message": member._incoming_message(text)}
    update = Update.de_json(payload, app.bot)
    await app.update_processor.process_update(update, app.process_update(update))


async def test_two_members_are_answered_side_by_side(app, api, alice, bob):
    """Alice's reply is held up at Telegram; Bob's tap is answered meanwhile."""
    release = asyncio.Event()
    order: list[int] = []

    async def slow_for_alice(method: str, params: dict[str, Any]) -> None:
        if method == "sendMessage":
            order.append(int(params["chat_id"]))
            if int(params["chat_id"]) == alice.user_id:
                await release.wait()

    api.after_call = slow_for_alice
    alice_task = asyncio.create_task(through_the_processor(app, api, alice, "/balance"))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(through_the_processor(app, api, bob, "/balance"), timeout=2)
    release.set()
    await alice_task
    assert order == [alice.user_id, bob.user_id]
    assert bob.last_text.startswith("⏳ Your balance")


async def test_one_members_updates_stay_in_order(app, api, alice):
    texts = [f"/offer thing number {n}" for n in range(8)]
    await asyncio.gather(*(through_the_processor(app, api, alice, text) for text in texts))
    published = [m.text for m in alice.messages if m.text.startswith("Published!")]
    assert [text.split("number ")[1][0] for text in published] == [str(n) for n in range(8)]


async def test_a_429_for_one_member_does_not_delay_anothers_answer(
    app, api, alice, bob, person, svc, clock
):
    """The sender is stuck on Carol's rate-limited nudge; Bob's tap, which queues a notice for
    Alice, is answered at once all the same, and Alice hears once the sender moves on."""
    carol = await person("Carol", 103)
    await alice.says("/need a lift to the clinic")
    clock.advance(timedelta(days=3))  # Carol, who posted nothing, is owed a friendly nudge
    stuck, released = asyncio.Event(), asyncio.Event()

    async def rate_limited_for_carol(method: str, params: dict[str, Any]) -> None:
        if method == "sendMessage" and int(params["chat_id"]) == carol.user_id:
            stuck.set()
            await released.wait()

    api.after_call = rate_limited_for_carol
    sending = asyncio.create_task(tick(svc))
    await asyncio.wait_for(stuck.wait(), timeout=2)
    await bob.says("/search clinic")
    await bob.taps("1. a lift")
    await asyncio.wait_for(bob.taps("I can help"), timeout=2)
    assert bob.last_text == "Thank you! I've told them. You'll hear back here."
    assert not alice.last_text.startswith("🙋 Bob can help")
    released.set()
    await sending
    await svc.sender.flush()
    assert alice.last_text.startswith("🙋 Bob can help")
