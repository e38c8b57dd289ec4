"""Coordinators: roles checked everywhere, approvals, broadcasts that survive a crash, unmet
needs, and hours recorded or settled by hand, all audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram import InlineKeyboardMarkup

from bot.app import build_application, running
from bot.outbound.scheduler import tick
from bot.sandbox.standin import ChatMember
from bot.services import services_of
from bot.ui import keyboards
from bot.ui.commands import COMMANDS
from storage import audit, exchanges, ledger, listings, members, roles
from storage.errors import NotCoordinator, NotFound, OverdraftLimit, OwnExchange
from tests.conftest import COORDINATOR_ID, join, make_config, post
from tests.test_exchanges import agree, exchange_row, member_id
from tests.test_nudges import DAY, count

REFUSED = "Sorry, only a coordinator can do that."
OWN = "You gave or received this help yourself, so another coordinator needs to do it."


async def compose(coordinator, text: str, *audience: str) -> None:
    """/broadcast, the words, then the audience buttons, up to the preview."""
    await coordinator.says("/broadcast")
    await coordinator.says(text)
    for choice in audience:
        await coordinator.taps(choice)


@pytest.mark.parametrize("command", [f"/{c.name} x" for c in COMMANDS if c.coordinator_only])
async def test_members_are_refused_every_coordinator_command(coordinator, alice, command):
    await alice.says(command)
    assert alice.last_text == REFUSED


@pytest.mark.parametrize(
    "data",
    [
        "cr:promote:2",
        "cr:demote:1",
        "cr:demoteok:1",
        "cr:promoteok:2",
        "cr:approve:2",
        "cr:decline:2",
        "cr:settle:1:60",
        "cr:rgiver:1",
        "cr:rrecv:1",
        "cr:rhours:0:60",
        "bc:aud:0:all",
        "bc:pick:0:area",
        "bc:need:1",
        "bc:help:0:on",
        "bc:send:0",
        "bc:drop:0",
        "bc:stop:1",
        "co:allow:1",
        "rp:period:0:all",
        "vo:approve:2",
        "vo:check:2",
        "vo:decline:2",
        "vo:card:2",
        "vo:pause:2",
        "vo:retire:2",
        "vo:keep:2",
        "vo:ckind:2:dbs",
        "vo:cdrop:2",
        "cr:keep:1",
        "cr:fix:1",
        "cr:rwhy:1:agreed_with_them",
        "cr:rwhy:1:drop",
    ],
)
async def test_members_are_refused_every_coordinator_button(coordinator, alice, bob, data):
    await alice.presses(data)
    assert alice.last_text == REFUSED


async def test_storage_rechecks_the_role_itself(alice, bob, svc, clock):
    with pytest.raises(NotCoordinator):
        await roles.promote(svc.db, by=await member_id(svc, alice), member_id=2, now=clock.now())


async def test_promote_and_demote_are_audited(coordinator, alice, svc):
    await coordinator.says("/promote ali")
    await coordinator.taps("Alice")
    await coordinator.taps("Yes, make Alice a coordinator")
    assert coordinator.last_text == "Alice is now a coordinator."
    assert "You're now a coordinator" in alice.last_text
    await alice.says("/demote Cora")
    await alice.taps("Cora")
    assert alice.last_text.startswith("Stop Cora being a coordinator?")
    await alice.taps("Yes, stop Cora being a coordinator")
    assert alice.last_text == "Cora is no longer a coordinator."
    await alice.taps("Yes, stop Cora being a coordinator")
    assert alice.last_text == "Cora isn't a coordinator.", "a second tap finds it done"
    await alice.says("/demote Alice")
    await alice.taps("Alice")
    await alice.taps("Yes, stop Alice being a coordinator")
    assert alice.last_text.startswith("This has changed"), "the last coordinator stays"
    actions = [action for _, action, _ in await audit.actions(svc.db)]
    assert actions[:2] == ["demote", "promote"]


async def test_newcomers_wait_for_a_coordinator_in_approval_mode(tmp_path, api, clock):
    app = build_application(
        make_config(tmp_path, join="approval"), request=api, clock=clock, background=False
    )
    async with running(app):
        cora = ChatMember(app, api, COORDINATOR_ID, "Cora")
        await join(cora)
        jo, kim = ChatMember(app, api, 301, "Jo"), ChatMember(app, api, 302, "Kim")
        await join(jo)
        await join(kim)
        assert "Jo</a> would like to join (area: Riverside" in cora.messages[-2].text
        await cora.taps("Approve")  # the newest applicant's message first: Kim
        assert cora.last_text == "Approved. Kim has been welcomed."
        assert "A coordinator has said yes" in kim.last_text
        assert "I can offer" in kim.reply_buttons
        jo_message = next(m for m in cora.messages if "Jo</a> would like" in m.text)
        await cora.presses(jo_message.inline_buttons[1]["callback_data"], jo_message)
        assert "can't welcome you" in jo.last_text
        await cora.presses(jo_message.inline_buttons[0]["callback_data"], jo_message)
        assert cora.last_text.startswith("This has changed"), "decided once"
        await jo.says("/balance")
        assert "/start" not in jo.last_text


async def test_broadcast_to_everyone_with_progress_and_report(coordinator, alice, bob, svc):
    await compose(coordinator, "Community lunch on Friday <all welcome>", "Everyone")
    assert "<b>2 people</b> will get it" in coordinator.last_text
    assert "&lt;all welcome&gt;" in coordinator.last_text
    await coordinator.taps("Send to 2 people")
    progress_message = coordinator.last
    assert progress_message.text == "📣 Sending… 0 of 2"
    await tick(svc)
    for person in (alice, bob):
        assert person.last_text == "📣 Community lunch on Friday &lt;all welcome&gt;"
    assert progress_message.text == "📣 Finished: sent 2 of 2."
    assert "Delivered: 2 of 2" in coordinator.last_text
    assert "Blocked the bot: 0" in coordinator.last_text


async def test_broadcast_answers_reach_the_coordinator(coordinator, alice, bob, svc):
    await compose(
        coordinator,
        "Can anyone drive Mrs Patel to the clinic on Monday?",
        "People in one area",
        "Riverside",
    )
    await coordinator.taps("Add an “I can help” button")
    assert "answers come to you" in coordinator.last_text
    await coordinator.taps("Send to 2 people")
    await tick(svc)
    await alice.taps("I can help")
    assert "Alice can help with your need" in coordinator.last_text
    await coordinator.taps("Yes, please")
    assert "Say hello to" in coordinator.last_text


async def test_broadcast_audiences_count_the_right_people(coordinator, alice, bob, person, svc):
    await person("Dee", 104, place="Old Town")
    await alice.says("/offer garden tidying")
    listing = (await listings.open_by_owner(svc.db, await member_id(svc, alice)))[0]
    await listings.create(
        svc.db,
        owner_id=listing.owner_id,
        kind="offer",
        category="Garden",
        body="weeding",
        when_where=None,
        now=svc.clock.now(),
    )
    await compose(coordinator, "Hello", "People in one area", "Old Town")
    assert "<b>1 person</b>" in coordinator.last_text
    await coordinator.taps("Don't send")
    await compose(coordinator, "Hello", "People offering a kind of help", "Garden")
    assert "<b>1 person</b>" in coordinator.last_text
    await coordinator.taps("Don't send")
    assert coordinator.last_text == "OK, nothing was sent."


async def make_members(svc, number: int) -> list[int]:
    telegram_ids = [5000 + n for n in range(number)]
    for telegram_id in telegram_ids:
        await members.join(
            svc.db,
            telegram_id=telegram_id,
            display_name=f"M{telegram_id}",
            username=None,
            neighbourhood="Riverside",
            join_source=None,
            coordinator=False,
            approved=True,
            now=svc.clock.now(),
        )
    return telegram_ids


class Crash(BaseException):
    """The process dying: not an error the sender may catch."""


def broadcast_copies(api, telegram_id: int) -> int:
    return sum(m.text == "📣 Stay warm" for m in api.messages(telegram_id))


async def test_a_killed_broadcast_resumes_without_resending(tmp_path, api, clock):
    config = make_config(tmp_path)
    first = build_application(config, request=api, clock=clock, background=False)
    async with running(first):
        svc = services_of(first)
        cora = ChatMember(first, api, COORDINATOR_ID, "Cora")
        await join(cora)
        recipients = await make_members(svc, 40)
        await compose(cora, "Stay warm", "Everyone")
        await cora.taps("Send to 40 people")
        sent = 0

        async def die_after_twelve(method, params):
            nonlocal sent
            sent += method == "sendMessage"
            if sent == 12:
                raise Crash

        api.after_call = die_after_twelve
        with pytest.raises(Crash):
            await tick(svc)
        api.after_call = None
    second = build_application(config, request=api, clock=clock, background=False)
    async with running(second):
        await tick(services_of(second))
    copies = [broadcast_copies(api, telegram_id) for telegram_id in recipients]
    assert min(copies) == 1, "everyone got it"
    assert sum(copies) - len(recipients) <= 1, "at most the one in flight twice"
    assert "Delivered: 40 of 40" in cora.last_text


async def test_a_stopped_broadcast_sends_no_more(coordinator, svc, api):
    recipients = await make_members(svc, 30)
    await compose(coordinator, "Stay warm", "Everyone")
    await coordinator.taps("Send to 30 people")

    async def stop_after_ten(method, params):
        delivered = sum(broadcast_copies(api, telegram_id) for telegram_id in recipients)
        if method == "sendMessage" and delivered == 10:
            api.after_call = None
            await coordinator.taps("Stop sending")

    api.after_call = stop_after_ten
    await tick(svc)
    delivered = sum(broadcast_copies(api, telegram_id) for telegram_id in recipients)
    assert delivered == 10
    assert any(m.text.startswith("Stopped.") for m in coordinator.messages)
    assert "Delivered: 10 of 30" in coordinator.last_text
    assert "Not sent: 20" in coordinator.last_text


async def test_open_needs_to_matching_helpers_in_two_taps(coordinator, alice, bob, svc, clock):
    await bob.says("/offer lifts in my car")
    await post(alice, "I need", "Other", "A lift to the dentist")
    await coordinator.says("/open_needs")
    assert coordinator.last_text == "No need has waited more than 5 days without an answer. 🎉"
    clock.advance(6 * DAY)
    await coordinator.says("/open_needs")
    await coordinator.taps("1. A lift to the dentist")
    assert "<b>1 person</b> will get it" in coordinator.last_text
    await coordinator.taps("Send to 1 person")
    await tick(svc)
    broadcast = next(m for m in bob.messages if m.text.startswith("📣 Could you help with this?"))
    await bob.presses(broadcast.inline_buttons[0]["callback_data"], broadcast)
    assert "Bob can help with your need" in alice.last_text


async def test_hours_recorded_by_hand_for_someone_not_on_telegram(coordinator, bob, svc):
    await coordinator.says("/record")
    await coordinator.says("Mrs Jones")
    await coordinator.taps("Add “Mrs Jones”")
    await coordinator.says("Bob")
    await coordinator.taps("Bob")
    await coordinator.taps("2 hours")
    assert coordinator.last_text == "Recorded: 2 hours, marked as added by a coordinator."
    mrs_jones = (await members.find(svc.db, "Jones"))[0]
    assert mrs_jones.telegram_id is None
    assert await ledger.balance(svc.db, mrs_jones.id) == 120
    assert await ledger.balance(svc.db, await member_id(svc, bob)) == -120
    assert await ledger.total(svc.db) == 0
    assert "A coordinator recorded 2 hours Mrs Jones gave you" in bob.last_text
    recorded_by = await svc.db.scalar("SELECT recorded_by FROM ledger_transactions")
    assert recorded_by == await member_id(svc, coordinator)


async def test_disputed_hours_are_settled_then_corrected_by_new_transactions(
    coordinator, alice, bob, svc
):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("3 hours")
    await alice.taps("Not quite")
    await alice.taps("Ask a coordinator")
    await coordinator.taps("1 hour")
    assert coordinator.last_text.startswith(f"Done. Exchange #{exchange_id} now counts 1 hour")
    assert await ledger.balance(svc.db, await member_id(svc, bob)) == 60
    await coordinator.says(f"/correct {exchange_id}")
    assert coordinator.last_text == (
        f"Exchange #{exchange_id}: Bob helped Alice (confirmed). It counts 1 hour now."
        " Change the hours?"
    )
    await coordinator.taps("Yes, change the hours")
    assert coordinator.last_text == f"How many hours should exchange #{exchange_id} count?"
    await coordinator.taps("1½ hours")
    await coordinator.taps("1½ hours")  # a double tap changes nothing more, and says so
    assert coordinator.last_text == (
        f"Already done: exchange #{exchange_id} counts 1½ hours. Nothing changed."
    )
    assert await ledger.balance(svc.db, await member_id(svc, bob)) == 90
    assert await ledger.total(svc.db) == 0
    kinds = await svc.db.all(
        "SELECT kind FROM ledger_transactions WHERE exchange_id = ? ORDER BY id", (exchange_id,)
    )
    assert [row[0] for row in kinds] == ["coordinator", "correction"]
    exchange = await exchanges.get(svc.db, exchange_id)
    assert exchange is not None
    assert exchange.state == "confirmed"
    assert bob.last_text == (
        "A coordinator set your help for Alice to 1½ hours. Your balance is now 1½ hours."
    )
    assert alice.last_text == (
        "A coordinator set Bob's help for you to 1½ hours. Your balance is now −1½ hours."
    )


async def test_a_coordinator_never_judges_their_own_exchange(coordinator, alice, svc):
    exchange_id = await agree(alice, coordinator, svc)
    await coordinator.taps("It happened")
    await coordinator.taps("3 hours")
    await alice.taps("Not quite")
    await alice.taps("Ask a coordinator")
    assert count(coordinator, "can't agree the hours") == 0, "not asked about their own"
    await coordinator.presses(f"cr:settle:{exchange_id}:180")
    assert coordinator.last_text == OWN
    assert await ledger.total(svc.db) == 0
    assert await ledger.balance(svc.db, await member_id(svc, coordinator)) == 0


async def test_a_broadcast_to_nobody_is_not_offered(coordinator, alice):
    await compose(coordinator, "Visitors, thank you!", "Peer visitors")
    assert coordinator.last_text == "Nobody is in that group yet, so there is no one to send it to."


async def test_record_refuses_the_same_person_twice(coordinator, bob):
    await coordinator.says("/record")
    await coordinator.says("Bob")
    await coordinator.taps("Bob")
    await coordinator.says("Bob")
    await coordinator.taps("Bob")
    await coordinator.taps("1 hour")
    assert coordinator.last_text == "The giver and the receiver need to be two different people."


async def audit_rows(svc, action: str) -> list[tuple[str, dict[str, Any]]]:
    rows = await svc.db.all(
        "SELECT subject, detail FROM audit_log WHERE action = ? ORDER BY id", (action,)
    )
    return [(row[0], json.loads(row[1])) for row in rows]


async def record(coordinator, giver: str, receiver: str, hours: str, *, new: bool = False) -> None:
    """/record through its buttons: the giver (added as new, or picked), the receiver, hours."""
    await coordinator.says("/record")
    await coordinator.says(giver)
    await coordinator.taps(f"Add “{giver}”" if new else giver)
    await coordinator.says(receiver)
    await coordinator.taps(receiver)
    await coordinator.taps(hours)


# --- settling cancelled and disputed exchanges --------------------------------------------------


async def test_a_cancelled_exchange_can_be_settled_by_a_coordinator(coordinator, alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It didn't happen")
    await bob.taps("Yes, it didn't happen")
    await coordinator.says(f"/correct {exchange_id}")
    assert coordinator.last_text == (
        f"Exchange #{exchange_id}: Bob helped Alice (cancelled). It counts 0 hours now."
        " Change the hours?"
    )
    await coordinator.taps("Yes, change the hours")
    await coordinator.taps("2 hours")
    assert coordinator.last_text == (
        f"Done. Exchange #{exchange_id} now counts 2 hours; both have been told."
    )
    assert bob.last_text == (
        "A coordinator set your help for Alice to 2 hours. Your balance is now 2 hours."
    )
    assert (await exchange_row(svc, exchange_id))["state"] == "confirmed"
    assert await ledger.balance(svc.db, await member_id(svc, bob)) == 120
    assert await ledger.balance(svc.db, await member_id(svc, alice)) == -120
    assert await ledger.total(svc.db) == 0
    settled = await audit_rows(svc, "settle_exchange")
    assert settled == [
        (f"exchange:{exchange_id}", {"minutes": 120, "change": 120, "from_state": "cancelled"})
    ]


async def test_no_credit_tells_both_plainly_without_thanks(coordinator, alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("2 hours")
    await alice.taps("Yes")
    await coordinator.says(f"/correct {exchange_id}")
    await coordinator.taps("Yes, change the hours")
    await coordinator.taps("No credit")
    assert coordinator.last_text == (
        f"Done. Exchange #{exchange_id} now counts 0 hours; both have been told."
    )
    for person, other in ((bob, "Alice"), (alice, "Bob")):
        assert person.last_text == (
            f"A coordinator looked at your exchange with {other}: no hours count for it."
            " Your balance is 0 hours."
        )
        assert not any("recorded 0 hours" in m.text for m in person.messages)
    assert (await exchange_row(svc, exchange_id))["state"] == "cancelled"
    assert await ledger.total(svc.db) == 0
    kinds = await svc.db.all("SELECT kind FROM ledger_transactions ORDER BY id")
    assert [row[0] for row in kinds] == ["exchange", "correction"]


async def test_a_dispute_settled_with_no_credit_is_told_to_both(coordinator, alice, bob, svc):
    await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("3 hours")
    await alice.taps("Not quite")
    await alice.taps("Ask a coordinator")
    await coordinator.taps("No credit")
    assert bob.last_text.startswith("A coordinator looked at your exchange with Alice")
    assert alice.last_text.startswith("A coordinator looked at your exchange with Bob")
    assert await svc.db.scalar("SELECT COUNT(*) FROM ledger_transactions") == 0


# --- nobody records or settles their own hours ----------------------------------------------------


async def test_a_coordinator_cannot_record_their_own_hours(coordinator, bob, svc):
    await coordinator.says("/record")
    await coordinator.says("Cora")
    await coordinator.taps("Cora")
    assert coordinator.last_text == OWN
    await coordinator.says("Bob")  # still asking for the giver
    await coordinator.taps("Bob")
    await coordinator.says("Cora")
    await coordinator.taps("Cora")
    assert coordinator.last_text == OWN
    assert await svc.db.scalar("SELECT COUNT(*) FROM exchanges") == 0
    cora, bob_id = await member_id(svc, coordinator), await member_id(svc, bob)
    for giver, receiver in ((cora, bob_id), (bob_id, cora)):
        with pytest.raises(OwnExchange):
            await exchanges.record_by_coordinator(
                svc.db,
                by=cora,
                giver_id=giver,
                receiver_id=receiver,
                minutes=60,
                overdraft_limit=600,
                now=svc.clock.now(),
            )
    assert await svc.db.scalar("SELECT COUNT(*) FROM ledger_transactions") == 0
    assert await audit_rows(svc, "record_exchange") == []


async def test_correct_on_ones_own_exchange_is_refused_before_any_tap(coordinator, alice, svc):
    exchange_id = await agree(alice, coordinator, svc)
    await coordinator.says(f"/correct {exchange_id}")
    assert coordinator.last_text == OWN
    await coordinator.presses(f"cr:fix:{exchange_id}")
    assert coordinator.last_text == OWN


# --- the overdraft limit on hours recorded by hand ----------------------------------------------


async def test_a_record_past_the_limit_needs_a_reason_and_is_audited(coordinator, bob, svc):
    bob_id = await member_id(svc, bob)
    await record(coordinator, "Mrs Jones", "Bob", "6 hours", new=True)
    assert coordinator.last_text == "Recorded: 6 hours, marked as added by a coordinator."
    await record(coordinator, "Mrs Jones", "Bob", "6 hours")
    assert coordinator.last_text == (
        "This would take Bob to −12 hours, below the −10 hours limit.\n"
        "Record it anyway? Tap the reason:"
    )
    assert coordinator.inline_labels == [
        "Agreed with them",
        "Correcting a mistake",
        "Don't record",
    ]
    assert await ledger.balance(svc.db, bob_id) == -360, "nothing recorded yet"
    assert len(await audit_rows(svc, "record_exchange")) == 1
    await coordinator.taps("Agreed with them")
    assert coordinator.last_text == "Recorded: 6 hours, marked as added by a coordinator."
    assert await ledger.balance(svc.db, bob_id) == -720
    assert await ledger.total(svc.db) == 0
    _, detail = (await audit_rows(svc, "record_exchange"))[-1]
    assert detail["override"] == "agreed_with_them"
    assert (detail["balance_after"], detail["limit"], detail["minutes"]) == (-720, -600, 360)
    await coordinator.taps("Correcting a mistake")  # the same question, tapped again
    assert coordinator.last_text == "Already recorded: 6 hours, Mrs Jones → Bob."
    assert await ledger.balance(svc.db, bob_id) == -720


async def test_dont_record_past_the_limit_records_nothing(coordinator, bob, svc):
    bob_id = await member_id(svc, bob)
    await record(coordinator, "Mrs Jones", "Bob", "8 hours", new=True)
    await record(coordinator, "Mrs Jones", "Bob", "3 hours")
    assert coordinator.last_text.startswith("This would take Bob to −11 hours")
    await coordinator.taps("Don't record")
    assert coordinator.last_text == "OK, nothing was recorded."
    await coordinator.taps("Agreed with them")  # an old button after "Don't record"
    assert coordinator.last_text == "Sorry, I lost what you were writing. Please start again."
    assert await ledger.balance(svc.db, bob_id) == -480
    assert len(await audit_rows(svc, "record_exchange")) == 1
    assert await svc.db.scalar("SELECT COUNT(*) FROM exchanges") == 1


async def test_storage_refuses_a_record_past_the_limit_without_a_known_reason(
    coordinator, alice, bob, svc
):
    cora, alice_id, bob_id = [await member_id(svc, p) for p in (coordinator, alice, bob)]
    args: dict[str, Any] = {"by": cora, "giver_id": alice_id, "receiver_id": bob_id, "minutes": 120}
    with pytest.raises(OverdraftLimit):
        await exchanges.record_by_coordinator(
            svc.db, **args, overdraft_limit=60, now=svc.clock.now()
        )
    with pytest.raises(NotFound):
        await exchanges.record_by_coordinator(
            svc.db, **args, overdraft_limit=60, now=svc.clock.now(), override="I said so"
        )
    assert await ledger.balance(svc.db, bob_id) == 0
    await exchanges.record_by_coordinator(
        svc.db, **args, overdraft_limit=60, now=svc.clock.now(), override="correcting_a_mistake"
    )
    assert await ledger.balance(svc.db, bob_id) == -120


# --- a finished /record says it was done ----------------------------------------------------------


async def test_retapping_a_finished_record_says_what_was_recorded(coordinator, bob, svc):
    await record(coordinator, "Mrs Jones", "Bob", "2 hours", new=True)
    hours_message = next(m for m in coordinator.messages if m.text == "How long was the help?")
    two_hours = next(b for b in hours_message.inline_buttons if b["text"] == "2 hours")
    await coordinator.presses(two_hours["callback_data"], hours_message)
    assert coordinator.last_text == "Already recorded: 2 hours, Mrs Jones → Bob."
    await coordinator.says("/record")  # a new /record does not take the old buttons
    await coordinator.presses(two_hours["callback_data"], hours_message)
    assert coordinator.last_text == "Already recorded: 2 hours, Mrs Jones → Bob."
    pick = next(m for m in coordinator.messages if m.text == "Tap the right person:")
    await coordinator.presses(pick.inline_buttons[0]["callback_data"], pick)
    assert coordinator.last_text == "Already recorded: 2 hours, Mrs Jones → Bob."
    assert await svc.db.scalar("SELECT COUNT(*) FROM ledger_transactions") == 1
    assert await ledger.balance(svc.db, await member_id(svc, bob)) == -120
    assert len(await audit_rows(svc, "record_exchange")) == 1


# --- one more tap before /correct and /promote --------------------------------------------------


async def test_correct_asks_first_and_no_keeps_the_hours(coordinator, alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("1 hour")
    await alice.taps("Yes")
    await coordinator.says(f"/correct #{exchange_id}")
    assert coordinator.inline_labels == ["Yes, change the hours", "No, keep it"]
    await coordinator.taps("No, keep it")
    assert coordinator.last_text == "OK, nothing was changed."
    assert await ledger.balance(svc.db, await member_id(svc, bob)) == 60
    assert await audit_rows(svc, "settle_exchange") == []


async def test_promote_asks_first_and_a_second_yes_says_it_was_done(coordinator, alice, svc):
    await coordinator.says("/promote ali")
    await coordinator.taps("Alice")
    assert coordinator.last_text.startswith("Make Alice a coordinator? They'll be able to")
    assert coordinator.inline_labels == ["Yes, make Alice a coordinator", "No"]
    await coordinator.taps("No")
    assert coordinator.last_text == "OK, nothing was changed."
    assert (await role_of(svc, await member_id(svc, alice))) == "member"
    await coordinator.taps("Yes, make Alice a coordinator")
    assert coordinator.last_text == "Alice is now a coordinator."
    await coordinator.taps("Yes, make Alice a coordinator")
    assert coordinator.last_text == "Alice is already a coordinator."
    assert [s for s, _ in await audit_rows(svc, "promote")] == [
        f"member:{await member_id(svc, alice)}"
    ]
    assert sum("You're now a coordinator" in m.text for m in alice.messages) == 1


async def test_promote_refuses_someone_not_on_telegram(coordinator, svc):
    await coordinator.says("/record")
    await coordinator.says("Mrs Jones")
    await coordinator.taps("Add “Mrs Jones”")
    jones = (await members.find(svc.db, "Jones"))[0]
    await coordinator.presses(f"cr:promote:{jones.id}")
    assert coordinator.last_text.startswith("Sorry, that isn't available any more")
    await coordinator.presses(f"cr:promoteok:{jones.id}")
    assert coordinator.last_text.startswith("Sorry, that isn't available any more")
    assert (await role_of(svc, jones.id)) == "member"


# --- /open_needs asks others, and says where answers go ----------------------------------------


async def test_open_needs_never_asks_the_owner_and_names_who_answers_go_to(
    coordinator, alice, bob, svc, clock
):
    await post(alice, "I can offer", "Garden", "Weeding")
    await post(bob, "I can offer", "Garden", "Hedges")
    await post(alice, "I need", "Garden", "Help with my hedge")
    clock.advance(6 * DAY)
    await coordinator.says("/open_needs")
    await coordinator.taps("1. Help with my hedge")
    assert "<b>1 person</b> will get it" in coordinator.last_text
    assert "answers go to Alice, who can accept." in coordinator.last_text
    assert "answers come to you" not in coordinator.last_text
    await coordinator.taps("Send to 1 person")
    await tick(svc)
    assert count(alice, "Could you help with this?") == 0
    assert count(bob, "Could you help with this?") == 1
    recipients = await svc.db.all("SELECT member_id FROM outbox WHERE kind = 'broadcast'")
    assert [row[0] for row in recipients] == [await member_id(svc, bob)]


# --- numbers typed after /correct ----------------------------------------------------------------


@pytest.mark.parametrize("number", ["²", "٣", "#²", "99999999999999999999", "-1", "0", "1²"])
async def test_correct_takes_only_plain_numbers(coordinator, alice, bob, svc, number, caplog):
    await agree(alice, bob, svc)
    await coordinator.says(f"/correct {number}")
    assert coordinator.last_text == (
        "Type the exchange number after the command, e.g. <i>/correct 42</i>."
    )
    await coordinator.presses("cr:settle:1:²")
    assert coordinator.last_text == "Please choose between ¼ hour and 12 hours."
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_the_new_buttons_fit_telegrams_limit():
    big = 999_999_999_999
    markups = [
        keyboards.record_override(big),
        keyboards.record_hours(big),
        keyboards.correct_sure(big),
        keyboards.role_sure("promote", big, "Sam"),
        keyboards.role_sure("demote", big, "Sam"),
        keyboards.didnt_happen_sure(big, "proposed"),
        InlineKeyboardMarkup([keyboards.record_person("Sam", "rrecv", big, big)]),
    ]
    for markup in markups:
        for row in markup.inline_keyboard:
            for button in row:
                assert len(str(button.callback_data).encode()) <= 64


async def role_of(svc, member_id: int) -> str:
    member = await members.get(svc.db, member_id)
    assert member is not None
    return member.role


async def test_a_second_tap_on_send_says_it_was_sent(coordinator, alice, svc):
    await compose(coordinator, "Stay warm", "Everyone")
    preview = coordinator.last
    send = next(b["callback_data"] for b in preview.inline_buttons if "Send" in b["text"])
    await coordinator.taps("Send to 1 person")
    await coordinator.presses(send, preview)
    assert coordinator.last_text == "That message was sent already: 0 of 1 so far."
    assert await svc.db.scalar("SELECT COUNT(*) FROM broadcasts") == 1
    shown = coordinator.api.find(coordinator.user_id, preview.message_id)
    assert shown is not None
    assert shown.inline_buttons == [], "the preview's buttons are taken off once it is sent"


async def test_a_broadcast_that_grows_when_made_safe_is_refused_kindly(coordinator, alice, svc):
    await coordinator.says("/broadcast")
    await coordinator.says("&" * 1000)  # 1,000 letters typed; 5,000 once made safe HTML
    assert coordinator.last_text.startswith("That's 5,000 letters.")
    await coordinator.says("Tea & cake at two")
    await coordinator.taps("Everyone")
    await coordinator.taps("Send to 1 person")
    assert await svc.db.scalar("SELECT text FROM broadcasts") == "Tea &amp; cake at two"


async def test_an_old_audience_button_never_acts_on_a_new_draft(coordinator, alice, caplog):
    await coordinator.says("/broadcast")
    await coordinator.says("hello")
    old_picker = coordinator.last
    await coordinator.says("/broadcast")
    everyone = next(b for b in old_picker.inline_buttons if b["text"] == "Everyone")
    await coordinator.presses(everyone["callback_data"], old_picker)
    assert coordinator.last_text == "Sorry, I lost what you were writing. Please start again."
    assert "Traceback" not in caplog.text


async def test_a_name_too_long_to_look_for_is_refused_kindly(coordinator):
    await coordinator.says("/promote " + "x" * 4000)
    assert coordinator.last_text.startswith("That's 4,000 letters.")


async def test_a_coordinator_demoted_mid_record_sees_no_names(coordinator, person, alice, svc):
    dan = await person("Dan", 130)
    await coordinator.says("/promote Dan")
    await coordinator.taps("Dan")
    await coordinator.taps("Yes, make Dan a coordinator")
    await dan.says("/record")
    await coordinator.says("/demote Dan")
    await coordinator.taps("Dan")
    await coordinator.taps("Yes, stop Dan being a coordinator")
    await dan.says("Alice")
    assert dan.last_text == REFUSED


async def test_a_forged_member_in_record_is_refused(coordinator, alice):
    await coordinator.says("/record")
    await coordinator.says("Alice")
    data = next(b["callback_data"] for b in coordinator.last.inline_buttons)
    draft = data.rsplit(":", 1)[-1]
    await coordinator.presses(f"cr:rgiver:777:{draft}")
    assert (
        coordinator.last_text
        == "Sorry, that isn't available any more. It may have been closed or finished."
    )


async def test_only_members_on_telegram_are_offered_as_coordinators(coordinator, alice):
    await coordinator.says("/record")
    await coordinator.says("Doris")
    await coordinator.taps("Add “Doris”")  # someone not on Telegram, recorded by hand
    await coordinator.says("/promote Doris")
    assert coordinator.last_text == "Nobody called “Doris”. Try part of the name."
