"""Nudges fire once, at the right time, never in quiet hours, and obey each member's settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.outbound.scheduler import tick
from storage import listings, members
from tests.conftest import post
from tests.test_exchanges import agree, member_id

DAY = timedelta(days=1)


async def set_time(person, day: str, hour: str) -> None:
    """Tap through "Set a time": the day's button, then the hour's."""
    await person.taps("Set a time")
    await person.taps(day)
    await person.taps(hour)


async def run_tick(svc) -> int:
    return await tick(svc)


def count(person, text: str) -> int:
    return sum(text in message.text for message in person.messages)


async def test_unconfirmed_exchange_asks_both_once_after_three_days(alice, bob, svc, clock):
    await agree(alice, bob, svc)
    clock.advance(3 * DAY - timedelta(minutes=1))
    await run_tick(svc)
    assert count(alice, "Did your help with Bob happen?") == 0
    clock.advance(timedelta(minutes=1))
    await run_tick(svc)
    await run_tick(svc)
    assert count(alice, "Did your help with Bob happen?") == 1
    assert count(bob, "Did your help with Alice happen?") == 1
    assert "It happened" in bob.inline_labels[0]


async def test_confirmed_exchange_is_not_nudged(alice, bob, svc, clock):
    await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("1 hour")
    await alice.taps("Yes")
    clock.advance(10 * DAY)
    await run_tick(svc)
    assert count(alice, "Did your help") == 0
    assert count(alice, "is waiting for you to confirm") == 0


async def test_nudge_due_in_quiet_hours_waits_for_the_morning(alice, bob, svc, clock):
    clock.set(datetime(2026, 11, 23, 22, 0, tzinfo=UTC))  # 22:00 in London
    await agree(alice, bob, svc)
    clock.advance(3 * DAY)
    await run_tick(svc)
    assert count(alice, "Did your help") == 0
    clock.set(datetime(2026, 11, 27, 7, 59, tzinfo=UTC))
    await run_tick(svc)
    assert count(alice, "Did your help") == 0
    clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    await run_tick(svc)
    assert count(alice, "Did your help") == 1


async def test_member_who_turned_nudges_off_is_left_alone(alice, bob, svc, clock):
    await bob.says("/settings")
    await bob.taps("Turn nudges off")
    assert "Nudges: off" in bob.last_text
    await agree(alice, bob, svc)
    clock.advance(3 * DAY)
    await run_tick(svc)
    assert count(bob, "Did your help") == 0
    assert count(alice, "Did your help") == 1


async def test_daily_digest_merges_pending_nudges_into_one_message(alice, bob, person, svc, clock):
    carol = await person("Carol", 103)
    await alice.says("/settings")
    await alice.taps("One daily round-up instead")
    assert "How: one daily round-up" in alice.last_text
    await agree(alice, bob, svc)
    clock.advance(timedelta(hours=2))
    await agree(alice, carol, svc)
    clock.set(datetime(2026, 11, 26, 12, 30, tzinfo=UTC))  # both due, past today's 09:00
    await run_tick(svc)
    assert count(alice, "Did your help") == 0
    assert count(bob, "Did your help") == 1, "immediate members are not held back"
    clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    await run_tick(svc)
    digests = [m for m in alice.messages if "Your daily round-up" in m.text]
    assert len(digests) == 1
    assert "Did your help with Bob happen?" in digests[0].text
    assert "Did your help with Carol happen?" in digests[0].text
    assert len(digests[0].inline_buttons) == 6


async def test_quiet_hours_can_be_changed_or_switched_off(alice, bob, svc, clock):
    await alice.says("/settings")
    await alice.taps("No quiet hours")
    assert "Quiet hours: none" in alice.last_text
    clock.set(datetime(2026, 11, 23, 23, 0, tzinfo=UTC))
    await agree(alice, bob, svc)
    clock.advance(3 * DAY)
    await run_tick(svc)
    assert count(alice, "Did your help") == 1
    assert count(bob, "Did your help") == 0


async def test_waiting_confirmation_reminds_then_tells_a_coordinator(
    coordinator, alice, bob, svc, clock
):
    await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("2 hours")
    clock.advance(2 * DAY)
    await run_tick(svc)
    assert count(alice, "Bob is waiting for you to confirm <b>2 hours</b>") == 1
    assert count(coordinator, "still not confirmed") == 0
    clock.advance(3 * DAY)
    await run_tick(svc)
    assert count(coordinator, "still not confirmed") == 1
    await alice.taps("Yes")
    assert "2 hours confirmed" in alice.last_text


async def test_changed_hours_restart_the_waiting_clock(coordinator, alice, bob, svc, clock):
    await agree(alice, bob, svc)
    await bob.taps("It happened")
    await bob.taps("2 hours")
    clock.advance(1 * DAY)
    await bob.taps("It happened")
    await bob.taps("1 hour")
    clock.advance(1 * DAY)
    await run_tick(svc)
    assert count(alice, "is waiting for you to confirm") == 0, "the 2-hour reminder is stale"
    clock.advance(1 * DAY)
    await run_tick(svc)
    assert count(alice, "is waiting for you to confirm <b>1 hour</b>") == 1


async def test_unanswered_need_asks_owner_and_tells_matching_helpers(
    alice, bob, person, svc, clock
):
    carol = await person("Carol", 103)
    dora = await person("Dora", 104)
    await post(carol, "I can offer", "Garden", "Hedge trimming")
    await dora.says("/settings")
    await dora.taps("Turn nudges off")
    await post(dora, "I can offer", "Garden", "Lawn mowing")
    await post(alice, "I need", "Garden", "Help with my hedge")
    clock.advance(5 * DAY)
    await run_tick(svc)
    await run_tick(svc)
    assert count(alice, "Is this still needed?") == 1
    assert alice.inline_labels == ["Yes, still needed", "No, close it"]
    assert count(carol, "Could you help? Alice needs:") == 1
    assert carol.inline_labels == ["🙋 I can help"]
    assert count(dora, "Could you help?") == 0, "nudges off"
    assert count(bob, "Could you help?") == 0, "offers nothing in Garden"
    await alice.taps("No, close it")
    assert alice.last_text.startswith("Closed.")


async def test_a_need_with_a_response_is_not_chased(alice, bob, svc, clock):
    await alice.says("/need a lift to the clinic")
    await bob.says("/search clinic")
    await bob.taps("1. a lift")
    await bob.taps("I can help")
    clock.advance(6 * DAY)
    await run_tick(svc)
    assert count(alice, "Is this still needed?") == 0


async def test_a_set_time_reminds_both_the_day_before_and_an_hour_before(alice, bob, svc, clock):
    await agree(alice, bob, svc)
    await set_time(bob, "Thu 26 Nov", "14:00")
    assert bob.last_text.startswith("Set for Thursday 26 November at 14:00.")
    assert "Bob set a time for your help: Thursday 26 November at 14:00" in alice.last_text
    clock.set(datetime(2026, 11, 25, 13, 59, tzinfo=UTC))
    await run_tick(svc)
    assert count(alice, "Reminder: your help with Bob") == 0
    clock.set(datetime(2026, 11, 25, 14, 0, tzinfo=UTC))
    await run_tick(svc)
    assert count(alice, "Reminder: your help with Bob is on Thursday 26 November at 14:00") == 1
    assert count(bob, "Reminder: your help with Alice") == 1
    clock.set(datetime(2026, 11, 26, 13, 0, tzinfo=UTC))
    await run_tick(svc)
    assert count(alice, "In about an hour") == 1
    assert count(bob, "In about an hour") == 1


async def test_a_moved_time_drops_the_old_reminders(alice, bob, svc, clock):
    await agree(alice, bob, svc)
    await set_time(bob, "Thu 26 Nov", "14:00")
    await set_time(bob, "Sat 28 Nov", "10:00")
    clock.set(datetime(2026, 11, 25, 14, 0, tzinfo=UTC))
    await run_tick(svc)
    assert count(alice, "Reminder") == 0
    clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    await run_tick(svc)
    assert count(alice, "Reminder: your help with Bob is on Saturday 28 November at 10:00") == 1


async def test_a_time_in_the_past_is_refused(alice, bob, svc):
    exchange_id = await agree(alice, bob, svc)
    await bob.presses(f"ex:at:{exchange_id}:2026112309")
    assert bob.last_text == "That time has already passed. Please pick a later one."
    assert bob.inline_labels[0] == "Mon 23 Nov", "the days to pick again come with it"


async def test_the_picker_offers_only_hours_still_ahead_today(alice, bob, svc, clock):
    await agree(alice, bob, svc)
    clock.set(datetime(2026, 11, 23, 10, 30, tzinfo=UTC))  # Monday, 10:30 in London
    await bob.taps("Set a time")
    assert bob.inline_labels == [
        "Mon 23 Nov",
        "Tue 24 Nov",
        "Wed 25 Nov",
        "Thu 26 Nov",
        "Fri 27 Nov",
        "Sat 28 Nov",
        "Sun 29 Nov",
    ]
    await bob.taps("Mon 23 Nov")
    assert bob.inline_labels == [f"{hour}:00" for hour in range(11, 21)]
    await bob.taps("Tue 24 Nov")
    assert bob.inline_labels == [f"{hour:02d}:00" for hour in range(8, 21)]


async def test_today_is_not_offered_once_its_last_hour_has_gone(alice, bob, svc, clock):
    await agree(alice, bob, svc)
    clock.set(datetime(2026, 11, 23, 20, 0, tzinfo=UTC))  # 20:00: no hour after now is left
    await bob.taps("Set a time")
    assert bob.inline_labels[0] == "Tue 24 Nov"
    assert bob.inline_labels[-1] == "Mon 30 Nov"
    assert len(bob.inline_labels) == 7


async def test_the_picker_counts_hours_in_the_timebanks_timezone(alice, bob, svc, clock):
    await agree(alice, bob, svc)
    clock.set(datetime(2026, 7, 1, 18, 30, tzinfo=UTC))  # 19:30 in London's summer time
    await bob.taps("Set a time")
    await bob.taps("Wed 1 Jul")
    assert bob.inline_labels == ["20:00"]
    await set_time(bob, "Wed 1 Jul", "20:00")
    assert bob.last_text.startswith("Set for Wednesday")
    assert "July at 20:00," in bob.last_text
    clock.set(datetime(2026, 7, 1, 19, 30, tzinfo=UTC))  # 20:30 in London
    await bob.taps("Set a time")
    assert bob.inline_labels[0] == "Thu 2 Jul"


async def test_an_old_day_button_tapped_too_late_offers_the_days_again(alice, bob, svc, clock):
    await agree(alice, bob, svc)
    await bob.taps("Set a time")
    clock.set(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))
    await bob.taps("Mon 23 Nov")
    assert bob.last_text == "That time has already passed. Please pick a later one."
    assert bob.inline_labels[0] == "Tue 24 Nov"
    await bob.taps("Tue 24 Nov")
    assert bob.inline_labels[0] == "08:00"


async def test_newcomer_who_posted_nothing_gets_one_suggestion(alice, bob, svc, clock):
    await bob.says("/offer ironing")
    clock.advance(2 * DAY)
    await run_tick(svc)
    clock.advance(2 * DAY)
    await run_tick(svc)
    assert count(alice, "Is there something small you could offer") == 1
    assert count(bob, "Is there something small you could offer") == 0


async def test_blocked_member_is_marked_unreachable_until_they_write(alice, bob, svc, clock, api):
    await agree(alice, bob, svc)
    api.blocked.add(bob.user_id)
    clock.advance(3 * DAY)
    await run_tick(svc)
    bob_member = await members.by_telegram_id(svc.db, bob.user_id)
    assert bob_member is not None
    assert bob_member.unreachable
    api.blocked.clear()
    await bob.says("/balance")
    bob_member = await members.by_telegram_id(svc.db, bob.user_id)
    assert bob_member is not None
    assert not bob_member.unreachable


async def test_unreachable_members_get_no_nudges(alice, bob, svc, clock):
    await agree(alice, bob, svc)
    await members.mark_unreachable(svc.db, await member_id(svc, bob), clock.now())
    clock.advance(3 * DAY)
    await run_tick(svc)
    assert count(bob, "Did your help") == 0
    assert count(alice, "Did your help") == 1


async def test_only_open_listings_are_closed_from_a_nudge(alice, bob, svc):
    await alice.says("/need a ladder")
    listing_id = (await listings.open_by_owner(svc.db, await member_id(svc, alice)))[0].id
    await bob.presses(f"ls:keep:{listing_id}")
    assert bob.last_text == "Sorry, only the people involved can do that."


async def test_a_time_later_today_promises_only_the_reminders_to_come(alice, bob, svc, clock):
    await agree(alice, bob, svc)  # Monday 23 November, 10:00
    await set_time(bob, "Mon 23 Nov", "12:00")
    assert bob.last_text.endswith("I'll remind you an hour before, and tell Alice.")
    assert alice.last_text.endswith("I'll remind you an hour before.")
    await set_time(bob, "Mon 23 Nov", "11:00")
    assert bob.last_text.endswith("That's very soon, so there won't be a reminder.")
    clock.advance(timedelta(minutes=59))
    await tick(svc)
    assert count(alice, "In about an hour") == 0


async def test_the_same_time_tapped_twice_tells_the_other_once(alice, bob, svc):
    await agree(alice, bob, svc)
    await set_time(bob, "Thu 26 Nov", "14:00")
    await bob.taps("14:00")  # the hour's button, still there, tapped again
    assert count(alice, "Bob set a time for your help") == 1
    assert bob.last_text.startswith("Set for Thursday 26 November at 14:00.")


async def test_a_reminder_quiet_hours_would_make_too_late_goes_all_the_same(alice, bob, svc, clock):
    """08:00 tomorrow, quiet hours until 08:00: the hour-before reminder can't wait for them."""
    await agree(alice, bob, svc)
    await set_time(bob, "Thu 26 Nov", "08:00")
    assert "an hour before" in bob.last_text
    clock.set(datetime(2026, 11, 26, 7, 0, tzinfo=UTC))
    await run_tick(svc)
    assert count(alice, "In about an hour") == 1
    assert count(bob, "In about an hour") == 1


async def test_no_reminder_is_promised_to_someone_whose_nudges_are_off(alice, bob, svc):
    await agree(alice, bob, svc)
    await alice.says("/settings")
    await alice.taps("Turn nudges off")
    await set_time(bob, "Thu 26 Nov", "14:00")
    assert "I'll remind you the day before and an hour before" in bob.last_text
    assert "Your nudges are off, so I won't remind you" in alice.last_text
