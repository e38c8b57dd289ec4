"""The core loop: "I can help", accept, "It happened", confirm, credits move once."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import aiosqlite
import pytest

from bot.outbound.scheduler import tick
from bot.ui.callbacks import plain_int
from storage import exchanges, ledger, listings, members, roles
from storage.migrations import apply_migrations, discover
from tests.conftest import COORDINATOR_ID

DAY = timedelta(days=1)
NOBODY_YET = (
    "No coordinator has started using the bot yet. I've kept this, and the first one will see it."
)


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
        "ex:nohelp:{id}:proposed",
        "ex:nohelp:{id}:agreed",
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


async def outbox_rows(svc, kind: str, ref_id: int) -> list[int]:
    """Members an outbox row of `kind` about `ref_id` was queued for, in order."""
    rows = await svc.db.all(
        "SELECT member_id FROM outbox WHERE kind = ? AND ref_id = ? ORDER BY id", (kind, ref_id)
    )
    return [row[0] for row in rows]


async def exchange_row(svc, exchange_id: int):
    return await svc.db.one("SELECT * FROM exchanges WHERE id = ?", (exchange_id,))


# --- "It didn't happen": one more tap, and after hours were proposed a dispute ----------------


async def test_it_didnt_happen_asks_first_and_no_keeps_it(alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    alice_messages = len(alice.messages)
    await bob.taps("It didn't happen")
    assert bob.last_text == "Are you sure it didn't happen? Nothing will be credited."
    assert bob.inline_labels == ["Yes, it didn't happen", "No, keep it"]
    await bob.taps("No, keep it")
    assert bob.last_text == "OK, nothing was changed."
    assert (await exchange_row(svc, exchange_id))["state"] == "agreed"
    assert alice.texts_since(alice_messages) == [], "Alice is told nothing"
    await bob.taps("It happened")
    assert bob.last_text == "Lovely! How long did it take?", "still open"


async def test_it_didnt_happen_after_hours_were_proposed_goes_to_a_coordinator(
    coordinator, alice, bob, svc
):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("3 hours")
    await alice.taps("It didn't happen")  # the button under "Say hello to Bob"
    assert alice.last_text == (
        "Are you sure? 3 hours was already proposed, so a coordinator will help you both"
        " decide. Nothing is credited until then."
    )
    await alice.taps("Yes, it didn't happen")
    assert alice.last_text == (
        "OK. As 3 hours had been proposed, I've asked a coordinator to help you both."
        " Nothing is credited until then."
    )
    assert bob.last_text == (
        "Alice says the help didn't happen, though 3 hours had been proposed."
        " A coordinator will help you both. Nothing is credited until then."
    )
    assert "3 hours was proposed, but Alice says the help didn't happen" in coordinator.last_text
    assert "No credit" in coordinator.inline_labels
    row = await exchange_row(svc, exchange_id)
    assert (row["state"], row["dispute_reason"], row["disputed_by"]) == (
        "disputed",
        "didnt_happen",
        await member_id(svc, alice),
    )
    assert await svc.db.scalar("SELECT COUNT(*) FROM ledger_transactions") == 0
    assert await ledger.total(svc.db) == 0
    await coordinator.taps("No credit")
    assert coordinator.last_text.startswith(f"Done. Exchange #{exchange_id} now counts 0 hours")
    assert (await exchange_row(svc, exchange_id))["state"] == "cancelled"


async def test_a_sure_button_is_refused_once_the_exchange_moved_on(alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await alice.taps("It didn't happen")  # asked while nothing was proposed
    sure = alice.last
    await bob.taps("It happened")
    await bob.taps("1 hour")
    await alice.presses(sure.inline_buttons[0]["callback_data"], sure)
    assert alice.last_text.startswith("This has changed since that button was shown.")
    assert (await exchange_row(svc, exchange_id))["state"] == "proposed"
    await alice.presses(f"ex:nohelp:{exchange_id}:whatever")
    assert alice.last_text.startswith("Sorry, that isn't available any more")
    assert (await exchange_row(svc, exchange_id))["state"] == "proposed"


# --- no coordinator yet: kept, told truthfully, brought to the first one ----------------------


async def test_a_dispute_with_no_coordinator_is_kept_for_the_first_one(person, alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("3 hours")
    await alice.taps("Not quite")
    await alice.taps("Ask a coordinator")
    assert alice.last_text == f"Thank you. {NOBODY_YET}"
    assert bob.last_text == f"Alice asked a coordinator to help agree the hours.\n{NOBODY_YET}"
    assert (await exchange_row(svc, exchange_id))["state"] == "disputed"
    assert await outbox_rows(svc, "exchange_disputed", exchange_id) == []
    cora = await person("Cora", COORDINATOR_ID)  # the coordinator named in config joins
    assert "can't agree the hours (3 hours was proposed)" in cora.last_text
    cora_id = await member_id(svc, cora)
    assert await outbox_rows(svc, "exchange_disputed", exchange_id) == [cora_id]
    await roles.ensure_coordinators(svc.db, [COORDINATOR_ID], svc.clock.now())  # a restart
    assert await outbox_rows(svc, "exchange_disputed", exchange_id) == [cora_id], "once"
    await cora.taps("1 hour")
    assert await ledger.balance(svc.db, await member_id(svc, bob)) == 60
    assert await ledger.total(svc.db) == 0


async def test_it_didnt_happen_with_no_coordinator_says_so(alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("1 hour")
    await alice.taps("It didn't happen")
    await alice.taps("Yes, it didn't happen")
    assert alice.last_text == (
        "OK. As 1 hour had been proposed, a coordinator will decide. Nothing is credited until"
        f" then.\n{NOBODY_YET}"
    )
    assert bob.last_text == (
        "Alice says the help didn't happen, though 1 hour had been proposed. Nothing is"
        f" credited for now.\n{NOBODY_YET}"
    )
    assert (await exchange_row(svc, exchange_id))["state"] == "disputed"


async def test_a_hold_with_no_coordinator_reaches_the_first_one_promoted(person, alice, bob, svc):
    cora = await person("Cora", COORDINATOR_ID)
    for _ in range(2):  # Alice receives 12 h, past the 10 h limit on the second
        exchange_id = await agree(alice, cora, svc)
        await cora.presses(f"ex:hours:{exchange_id}:360")
        await alice.presses(f"ex:yes:{exchange_id}:360")
    assert alice.last_text == (
        "Thank you! This would take the balance below the 10 hours limit, so a coordinator must"
        f" check it first. Nothing is lost.\n{NOBODY_YET}"
    )
    assert cora.last_text.startswith("Alice confirmed. A coordinator must check it")
    assert cora.last_text.endswith(NOBODY_YET), "Cora is a party: she can't approve it"
    assert await outbox_rows(svc, "exchange_held", exchange_id) == []
    await cora.says("/promote bob")
    await cora.taps("Bob")
    await cora.taps("Yes, make Bob a coordinator")
    assert "but it would take Alice below the limit" in bob.last_text
    await bob.taps("Approve")
    assert bob.last_text == "Approved. 6 hours moved, and both have been told."
    assert await ledger.balance(svc.db, await member_id(svc, alice)) == -720
    assert await ledger.total(svc.db) == 0
    await cora.says("/demote bob")
    await cora.taps("Bob")
    await cora.taps("Yes, stop Bob being a coordinator")
    await cora.says("/promote bob")
    await cora.taps("Bob")
    await cora.taps("Yes, make Bob a coordinator")
    assert await outbox_rows(svc, "exchange_held", exchange_id) == [await member_id(svc, bob)], (
        "queued once, and not again once approved"
    )


async def test_a_stuck_confirmation_with_no_coordinator_reaches_the_first_one(
    person, alice, bob, svc, clock
):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("2 hours")
    clock.advance(6 * DAY)
    await tick(svc)
    assert await outbox_rows(svc, "coordinator_confirm_stuck", exchange_id) == []
    cora = await person("Cora", COORDINATOR_ID)
    await tick(svc)
    await tick(svc)
    assert sum("still not confirmed" in m.text for m in cora.messages) == 1
    await roles.ensure_coordinators(svc.db, [COORDINATOR_ID], clock.now())
    await tick(svc)
    assert sum("still not confirmed" in m.text for m in cora.messages) == 1


async def test_a_member_named_coordinator_in_config_gets_the_waiting_cases_at_start(
    person, alice, bob, svc
):
    carol = await person("Carol", 103)
    exchange_id = await agree(alice, carol, svc)
    await carol.taps("It happened")
    await carol.taps("2 hours")
    await alice.taps("Not quite")
    await alice.taps("Ask a coordinator")
    assert await outbox_rows(svc, "exchange_disputed", exchange_id) == []
    await roles.ensure_coordinators(svc.db, [bob.user_id], svc.clock.now())  # config, at start
    bob_id = await member_id(svc, bob)
    assert await outbox_rows(svc, "exchange_disputed", exchange_id) == [bob_id]
    await roles.ensure_coordinators(svc.db, [bob.user_id], svc.clock.now())
    assert await outbox_rows(svc, "exchange_disputed", exchange_id) == [bob_id]
    audit = await svc.db.scalar("SELECT COUNT(*) FROM audit_log")
    assert audit == 0


# --- an answer withdrawn when the help didn't happen ------------------------------------------


async def test_after_it_didnt_happen_the_helper_can_offer_again(alice, bob, svc):
    first = await agree(alice, bob, svc)
    listing_id = (await listings.open_by_owner(svc.db, await member_id(svc, alice)))[0].id
    await bob.taps("It didn't happen")
    await bob.taps("Yes, it didn't happen")
    await bob.presses(f"ls:respond:{listing_id}")
    assert bob.last_text == "Thank you! I've told them. You'll hear back here."
    assert alice.last_text.startswith("🙋 Bob can help with your need:")
    await bob.presses(f"ls:respond:{listing_id}")
    assert bob.last_text == "You've already said so. The owner will reply here."
    await alice.taps("Yes, please")
    second = (await exchanges.open_for(svc.db, await member_id(svc, alice)))[0].id
    assert second != first
    statuses = await svc.db.all(
        "SELECT status FROM responses WHERE listing_id = ? ORDER BY id", (listing_id,)
    )
    assert [row[0] for row in statuses] == ["withdrawn", "accepted"]


async def test_a_declined_answer_still_stands(alice, bob, svc):
    await alice.says("/need a lift to the clinic")
    listing_id = (await listings.open_by_owner(svc.db, await member_id(svc, alice)))[0].id
    await bob.presses(f"ls:respond:{listing_id}")
    await alice.taps("No, thanks")
    await bob.presses(f"ls:respond:{listing_id}")
    assert bob.last_text == "You've already said so. The owner will reply here."


async def test_upgrading_keeps_answers_and_lets_only_withdrawn_ones_repeat(tmp_path):
    """A file made by the previous release: its responses survive migration 0007, and the
    partial unique index allows a second answer only beside a withdrawn one."""
    old = tmp_path / "old"
    old.mkdir()
    for migration in discover()[:6]:
        (old / migration.path.name).write_text(migration.path.read_text())
    path = tmp_path / "upgrade.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await apply_migrations(conn, old) == [1, 2, 3, 4, 5, 6]
        await conn.executescript(
            "INSERT INTO members (id, telegram_id, display_name, consented_at, created_at)"
            " VALUES (1, 11, 'Ann', 'x', 'x'), (2, 12, 'Ben', 'x', 'x');"
            "INSERT INTO listings (id, owner_id, kind, category, body, created_at, updated_at)"
            " VALUES (1, 1, 'need', 'Other', 'a lift', 'x', 'x');"
            "INSERT INTO responses (id, listing_id, responder_id, status, created_at)"
            " VALUES (1, 1, 2, 'accepted', 'x');"
            "INSERT INTO exchanges (listing_id, response_id, giver_id, receiver_id, created_at,"
            " updated_at) VALUES (1, 1, 2, 1, 'x', 'x');"
        )
        assert await apply_migrations(conn) == list(range(7, len(discover()) + 1))
        insert = (
            "INSERT INTO responses (listing_id, responder_id, status, created_at)"
            " VALUES (1, 2, 'pending', 'x')"
        )
        with pytest.raises(sqlite3.IntegrityError):
            await conn.execute(insert)
        await conn.execute("UPDATE responses SET status = 'withdrawn' WHERE id = 1")
        await conn.execute(insert)
        async with conn.execute("SELECT id, status FROM responses ORDER BY id") as cursor:
            assert [tuple(row) for row in await cursor.fetchall()] == [
                (1, "withdrawn"),
                (2, "pending"),
            ]
        async with conn.execute("PRAGMA foreign_key_check") as cursor:
            assert await cursor.fetchall() == []


# --- a double tap on the hours asks once ------------------------------------------------------


async def test_a_double_tap_on_the_hours_asks_the_other_party_once(alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("1 hour")
    await bob.taps("1 hour")
    assert bob.last_text == "I've already asked them to confirm those hours. You'll hear back here."
    assert sum("helped you for <b>1 hour</b>" in m.text for m in alice.messages) == 1
    alice_id = await member_id(svc, alice)
    assert await outbox_rows(svc, "exchange_proposed", exchange_id) == [alice_id]
    assert await outbox_rows(svc, "nudge_confirm_waiting", exchange_id) == [alice_id]
    await bob.taps("2 hours")  # other hours are a change, and do ask again
    assert bob.last_text == "Thanks! I've asked Alice to confirm 2 hours."
    assert "helped you for <b>2 hours</b>" in alice.last_text
    await alice.taps("Yes")
    assert await ledger.balance(svc.db, alice_id) == -120


# --- numbers from buttons are plain ASCII digits ------------------------------------------------


@pytest.mark.parametrize("number", ["²", "٣٠", "--60", "6 0", "60²", "1" * 40, "+60", "６０"])
async def test_odd_digits_in_buttons_are_refused_kindly(alice, bob, svc, number, caplog):
    exchange_id = await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("1 hour")
    for data in (f"ex:hours:{exchange_id}:{number}", f"ex:more:{exchange_id}:{number}"):
        await bob.presses(data)
        assert bob.last_text == "Please choose between ¼ hour and 12 hours."
    await alice.presses(f"ex:yes:{exchange_id}:{number}")
    assert alice.last_text == "Please choose between ¼ hour and 12 hours."
    await alice.presses(f"ex:yes:{number}:60")
    await alice.presses(f"br:page:0:need.{number}")
    await alice.presses(f"st:quiet:0:{number}")
    texts = [m.text for m in alice.messages + bob.messages]
    assert not any("something went wrong" in text for text in texts)
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert await ledger.balance(svc.db, await member_id(svc, bob)) == 0


def test_plain_int_takes_ascii_digits_within_bounds():
    assert plain_int("42") == 42
    assert plain_int("0") == 0
    for text in ("²", "٣", "-1", "", " 1", "1 ", "1e3", "０", "9" * 13):
        assert plain_int(text) is None, text
    assert plain_int("-15", low=-60) == -15
    assert plain_int("61", high=60) is None


async def test_changing_hours_while_a_coordinator_looks_says_so(alice, bob, svc):
    await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("2 hours")
    await alice.taps("Not quite")
    await alice.taps("Ask a coordinator")
    await alice.taps("Change the hours")
    assert alice.last_text.startswith("A coordinator is looking at this one now")


async def test_no_keep_it_after_yes_does_not_claim_nothing_changed(alice, bob, svc):
    await agree(alice, bob, svc)
    await bob.taps("It didn't happen")
    sure = bob.last
    keep = next(b["callback_data"] for b in sure.inline_buttons if "keep" in b["text"].lower())
    await bob.taps("Yes, it didn't happen")
    await bob.presses(keep, sure)
    assert bob.last_text != "OK, nothing was changed."
