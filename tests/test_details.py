"""My details, from /settings: a member corrects their name or neighbourhood with a few taps,
and reads the privacy note again."""

from __future__ import annotations

from storage import members
from tests.conftest import post


async def open_details(member) -> None:
    await member.says("/settings")
    await member.taps("My details")


async def test_a_member_changes_their_name_and_their_posts_show_it(alice, bob, svc):
    await post(alice, "I can offer", "Garden", "Weeding on Saturdays")
    await open_details(alice)
    assert "Name: Alice\nNeighbourhood: Riverside" in alice.last_text
    await alice.taps("Change my name")
    assert alice.last_text == (
        "Your name here is Alice. Type the name you'd like instead, or tap /cancel to keep it."
    )
    await alice.says("Alice B.")
    assert alice.last_text == "Saved ✅ From now on, members see you as Alice B.."
    await bob.says("/search weeding")
    await bob.taps("1. Weeding")
    assert "Alice B." in bob.last_text


async def test_a_member_changes_their_neighbourhood_with_one_tap(alice, svc):
    await open_details(alice)
    await alice.taps("Change my neighbourhood")
    assert alice.inline_labels == ["Riverside", "Old Town"]
    await alice.taps("Old Town")
    assert alice.last_text == "Saved ✅ Your neighbourhood is now Old Town."
    member = await members.by_telegram_id(svc.db, alice.user_id)
    assert member is not None
    assert member.neighbourhood == "Old Town"


async def test_a_name_left_half_way_changes_nothing(alice, svc):
    await open_details(alice)
    await alice.taps("Change my name")
    await alice.taps("My hours")
    assert alice.last_text.startswith("⏳ Your balance")
    await alice.says("Not my name")
    member = await members.by_telegram_id(svc.db, alice.user_id)
    assert member is not None
    assert member.display_name == "Alice"


async def test_an_empty_or_overlong_name_is_refused_kindly(alice):
    await open_details(alice)
    await alice.taps("Change my name")
    await alice.says("\u2800 ")
    assert alice.last_text == "I didn't see any words there. Please type a few."
    await alice.says("x" * 65)
    assert alice.last_text == "That's 65 letters. Please keep it to 64."
    await alice.says("Al")
    assert alice.last_text.startswith("Saved ✅")


async def test_the_privacy_note_says_how_long_things_are_kept(alice):
    await open_details(alice)
    await alice.taps("Privacy and my data")
    note = alice.last_text
    assert "Closed posts go after 12 months, our messages to you after 3 months" in note
    assert "/mydata" in note
    assert "/forget" in note


async def test_a_second_neighbourhood_tapped_on_the_same_message_is_saved(alice, svc):
    await open_details(alice)
    await alice.taps("Change my neighbourhood")
    choice = alice.last
    await alice.taps("Old Town")
    await alice.presses("dt:setplace:0", choice)  # Riverside, on the same message
    assert alice.last_text == "Saved ✅ Your neighbourhood is now Riverside."
