"""The core loop: "I can help", accept, "It happened", confirm, credits move once."""

from __future__ import annotations

import pytest

from storage import exchanges, ledger, listings, members


async def agree(alice, bob, svc) -> int:
    """Alice needs a lift; Bob offers to help; Alice accepts. Returns the exchange id."""
    await alice.says("/need a lift to the clinic")
    await bob.says("/search clinic")
    await bob.taps("1. a lift")
    await bob.taps("I can help")
    await alice.taps("Yes, please")
    return (await exchanges.open_for(svc.db, await member_id(svc, alice)))[0].id


async def member_id(svc, person) -> int:
    member = await members.by_telegram_id(svc.db, person.user_id)
    assert member is not None
    return member.id


async def test_responding_tells_the_owner_who_accepts(alice, bob, svc):
    await alice.says("/need a lift to the clinic")
    await bob.says("/search clinic")
    await bob.taps("1. a lift")
    await bob.taps("I can help")
    assert bob.last_text == "Thank you! I've told them. You'll hear back here."
    assert alice.last_text.startswith("🙋 Bob can help with your need:")
    assert alice.inline_labels == ["✅ Yes, please", "No, thanks"]
    await alice.taps("Yes, please")
    assert "Say hello to" in alice.last_text
    assert 'href="tg://user?id=102"' in alice.last_text
    assert "Good news!" in bob.last_text
    assert 'href="tg://user?id=101"' in bob.last_text
    assert bob.inline_labels == ["✅ It happened", "📅 Set a time", "It didn't happen"]


async def test_declining_tells_the_helper_kindly(alice, bob):
    await alice.says("/need a lift to the clinic")
    await bob.says("/search clinic")
    await bob.taps("1. a lift")
    await bob.taps("I can help")
    await alice.taps("No, thanks")
    assert alice.last_text == "OK, I've let them know kindly."
    assert bob.last_text == "Alice has found help already. Thank you so much for offering!"
    await alice.says("/offer soup on Sundays")
    await bob.says("/search soup")
    await bob.taps("1. soup")
    await bob.taps("I'd like this")
    await alice.taps("No, thanks")
    assert bob.last_text.startswith("Alice can't help with this one just now.")


async def test_answering_twice_or_own_listing_is_refused_kindly(alice, bob, svc):
    await alice.says("/need a lift to the clinic")
    await alice.taps("Close")
    await alice.taps("Reopen")
    listing_id = (await listings.open_by_owner(svc.db, 1))[0].id
    await alice.presses(f"ls:respond:{listing_id}")
    assert alice.last_text == "That's your own post, so you can't answer it."
    await bob.presses(f"ls:respond:{listing_id}")
    await bob.presses(f"ls:respond:{listing_id}")
    assert bob.last_text == "You've already said so. The owner will reply here."


async def test_full_loop_moves_credits_and_thanks_both(alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    assert bob.last_text == "Lovely! How long did it take?"
    assert bob.inline_labels == ["½ hour", "1 hour", "1½ hours", "2 hours", "3 hours", "Other"]
    await bob.taps("1½ hours")
    assert bob.last_text == "Thanks! I've asked Alice to confirm 1½ hours."
    assert "Bob says they helped you for <b>1½ hours</b>" in alice.last_text
    await alice.taps("Yes")
    assert alice.last_text.startswith("Thank you! 1½ hours confirmed.")
    assert alice.inline_labels[-1] == "✅ My need is met: close my post"
    assert "Your balance is now −1½ hours." in alice.last_text
    assert "Alice confirmed 1½ hours" in bob.last_text
    assert "Your balance is now 1½ hours." in bob.last_text
    assert await ledger.balance(svc.db, 1) == -90
    assert await ledger.balance(svc.db, 2) == 90
    assert await ledger.total(svc.db) == 0
    exchange = await exchanges.get(svc.db, exchange_id)
    assert exchange is not None
    assert exchange.state == "confirmed"


async def test_confirming_twice_credits_once(alice, bob, svc):
    await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("1 hour")
    await alice.taps("Yes")
    await alice.taps("Yes")
    assert alice.last_text == "All done already: this was confirmed. Thank you!"
    assert await ledger.balance(svc.db, 2) == 60
    assert await ledger.total(svc.db) == 0


async def test_proposer_cannot_confirm_their_own_hours(alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("3 hours")
    await bob.presses(f"ex:yes:{exchange_id}:180")
    assert bob.last_text == "Sorry, only the people involved can do that."
    assert await ledger.balance(svc.db, 2) == 0


@pytest.mark.parametrize(
    "forged",
    [
        "ex:yes:{id}:60",
        "ex:done:{id}",
        "ex:hours:{id}:600",
        "ex:cancel:{id}",
        "ex:flag:{id}",
        "ex:no:{id}",
        "ex:more:{id}:120",
        "rs:accept:1",
        "rs:decline:1",
        "co:allow:{id}",
    ],
)
async def test_an_outsider_cannot_move_someone_elses_exchange(person, alice, bob, svc, forged):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("1 hour")
    mallory = await person("Mallory", 666)
    await mallory.presses(forged.format(id=exchange_id))
    assert mallory.last_text in (
        "Sorry, only the people involved can do that.",
        "Sorry, only a coordinator can do that.",
        "This has changed since that button was shown. Please check your latest messages.",
    )
    exchange = await exchanges.get(svc.db, exchange_id)
    assert exchange is not None
    assert (exchange.state, exchange.proposed_minutes, exchange.proposed_by) == ("proposed", 60, 2)
    assert await ledger.balance(svc.db, 2) == 0


@pytest.mark.parametrize("data", ["nonsense", "ex:yes:abc", "zz:top:1", "ex:yes:99:60", ""])
async def test_garbage_callback_data_answers_kindly(bob, data):
    before = len(bob.messages)
    await bob.presses(data)
    assert bob.texts_since(before) == [
        "Sorry, that isn't available any more. It may have been closed or finished."
    ]


async def test_impossible_hours_in_callback_data_are_refused(alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    for minutes in ("x9", "0", "725", "50", "-60"):
        await bob.presses(f"ex:hours:{exchange_id}:{minutes}")
        assert bob.last_text == "Please choose between ¼ hour and 12 hours."


async def test_stale_confirm_button_after_hours_changed_is_refused(alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("1 hour")
    await alice.taps("Not quite")
    await alice.taps("Change the hours")
    await alice.taps("2 hours")
    assert "Alice says you helped them for <b>2 hours</b>" in bob.last_text
    await bob.presses(f"ex:yes:{exchange_id}:60")
    assert bob.last_text.startswith("This has changed since that button was shown.")
    await bob.taps("Yes")
    assert await ledger.balance(svc.db, 2) == 120


async def test_other_hours_with_the_stepper(alice, bob, svc):
    await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("Other")
    assert "Now: <b>4 hours</b>" in bob.last_text
    await bob.taps("+ 1 h")
    await bob.taps("+ ¼")
    assert "Now: <b>5¼ hours</b>" in bob.last_text
    await bob.taps("✅ 5¼ hours")
    await alice.taps("Yes")
    assert await ledger.balance(svc.db, 2) == 315


async def test_not_quite_can_ask_a_coordinator(coordinator, alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("3 hours")
    await alice.taps("Not quite")
    await alice.taps("Ask a coordinator")
    assert alice.last_text.startswith("I've asked a coordinator")
    assert "can't agree the hours (3 hours was proposed)" in coordinator.last_text
    assert "Alice asked a coordinator" in bob.last_text
    exchange = await exchanges.get(svc.db, exchange_id)
    assert exchange is not None
    assert exchange.state == "disputed"


async def test_it_didnt_happen_credits_nothing(alice, bob, svc):
    await agree(alice, bob, svc)
    await bob.taps("It didn't happen")
    assert bob.last_text == "Are you sure it didn't happen? Nothing will be credited."
    await bob.taps("Yes, it didn't happen")
    assert bob.last_text.startswith("OK, nothing was credited.")
    assert alice.last_text == "Bob says the help didn't happen, so nothing was credited."
    await bob.taps("It happened")
    assert bob.last_text.startswith("Sorry, that isn't available any more")


async def test_overdraft_is_held_for_a_coordinator_who_approves(
    tmp_path, api, clock, coordinator, alice, bob, svc
):
    for _ in range(2):  # Alice receives 12 h, going past the 10 h limit on the second
        exchange_id = await agree(alice, bob, svc)
        await bob.presses(f"ex:hours:{exchange_id}:360")
        await alice.presses(f"ex:yes:{exchange_id}:360")
    assert alice.last_text.startswith("Thank you! This would take the balance below the 10 hours")
    alice_id = await member_id(svc, alice)
    assert await ledger.balance(svc.db, alice_id) == -360
    assert "but it would take Alice below the limit" in coordinator.last_text
    assert "A coordinator will check it" in bob.last_text
    await bob.presses(f"co:allow:{exchange_id}")
    assert bob.last_text == "Sorry, only a coordinator can do that."
    await coordinator.taps("Approve")
    assert coordinator.last_text == "Approved. 6 hours moved, and both have been told."
    assert await ledger.balance(svc.db, alice_id) == -720
    assert await ledger.total(svc.db) == 0
    assert "Your balance is now −12 hours." in alice.last_text


async def test_balance_and_history(alice, bob, svc):
    await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("2 hours")
    await alice.taps("Yes")
    await bob.says("/balance")
    assert bob.last_text == "⏳ Your balance: <b>2 hours</b>"
    await bob.says("/history")
    assert "you helped Alice · 2 hours · confirmed" in bob.last_text
    await alice.taps("My hours")
    await alice.taps("History")
    assert "Bob helped you · 2 hours · confirmed" in alice.last_text


async def test_my_hours_offers_to_finish_open_exchanges(alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("My hours")
    await bob.taps(f"Finish exchange #{exchange_id}")
    assert bob.last_text == "Lovely! How long did it take?"


async def test_an_unexpected_failure_gets_a_kind_reply_not_silence(alice, monkeypatch, caplog):
    async def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("storage.ledger.balance", broken)
    await alice.says("/balance")
    assert alice.last_text == "Sorry, something went wrong on our side. Please try again."
    assert "disk on fire" in caplog.text, "logged with its context for us"
