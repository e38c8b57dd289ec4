"""The whole peer-visit loop through the real Application, with the clock moving on: a patient
asks by a ward's link; one visitor can't, the next doesn't answer in time, the third accepts;
the code word; the visit's time and reminders; a worrying check-in at night reaches the
coordinator at once and again until she is on it; the patient confirms and the visitor earns
an hour; a follow-up; weeks later the patient is asked to pay it forward, signs up, and is
approved. Every step as the people involved see it, and the rows it leaves."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.outbound.scheduler import tick
from bot.sandbox.standin import ChatMember
from bot.ui.i18n import t
from storage import ledger, matching
from storage.models import Referral
from tests.test_aftercare import answer_loneliness
from tests.test_checkins import check_in
from tests.test_exchanges import member_id
from tests.test_visitors import become_visitor, record_check

LINK = "/start visit-ward7"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 (London is on UTC then)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def count(person: ChatMember, words: str) -> int:
    return sum(words in message.text for message in person.messages)


async def the_referral(svc, referral_id: int) -> Referral:
    found = await matching.get_referral(svc.db, referral_id)
    assert found is not None
    return found


async def move_to(svc, clock, moment: datetime) -> None:
    clock.set(moment)
    await tick(svc)


async def ask_for_a_visit(patient: ChatMember) -> None:
    """A newcomer opens the ward's link and answers with taps (the address typed)."""
    await patient.says(LINK)
    await patient.taps("I agree")
    await patient.taps(patient.first_name)
    await patient.taps("Riverside")
    await patient.taps("Skip")  # no phone number: Telegram is how to reach them
    await patient.says("2 Mill Lane")
    await patient.taps("Today")
    await patient.taps("Food in the house")
    await patient.taps("Done")


async def test_the_whole_loop_from_a_ward_to_a_new_visitor(person, coordinator, svc, clock):
    bea, finn, gil = [await person(n, i) for n, i in (("Bea", 201), ("Finn", 202), ("Gil", 203))]
    for visitor in (bea, finn, gil):
        await become_visitor(visitor, coordinator)
    dan = await person("Dan", 301, joined=False)
    await ask_for_a_visit(dan)
    assert dan.last_text.startswith("Thank you, Dan!")
    referral = await svc.db.scalar("SELECT id FROM referrals WHERE state = 'matching'")

    # Offers, one at a time: Bea can't, Finn doesn't answer in time, Gil says yes.
    await tick(svc)
    assert bea.last_text.startswith("🏠 Can you visit someone")
    assert "2 Mill Lane" not in bea.last_text
    await bea.taps("Can't this time")
    assert finn.last_text.startswith("🏠 Can you visit someone")
    await move_to(svc, clock, clock.now() + svc.visits.offer_answer)
    assert gil.last_text.startswith("🏠 Can you visit someone")
    await finn.taps("Yes, I'll visit")
    assert finn.last_text == t("visit.offer_gone")
    await gil.taps("Yes, I'll visit")
    assert "2 Mill Lane" in gil.last_text
    word = (await the_referral(svc, referral)).code_word
    assert f"<b>{word}</b>" in gil.last_text
    assert dan.last_text.startswith("Good news: Gil will visit you")
    assert f"<b>{word}</b>" in dan.last_text
    for nobody in (bea, finn):
        assert count(nobody, "2 Mill Lane") == 0, "the address only after a yes"

    # The time, and the reminders the day and the hour before.
    await gil.taps("Set a time")
    await gil.taps("Wed 25 Nov")
    await gil.taps("14:00")
    assert dan.last_text.startswith("📅 Gil will visit you on Wednesday 25 November at 14:00")
    await move_to(svc, clock, at(24, 14))
    assert gil.last_text.startswith("⏰ Reminder: you're visiting Dan on Wednesday")
    assert dan.last_text.startswith("⏰ Reminder: Gil visits you on Wednesday")
    await move_to(svc, clock, at(25, 13))
    assert dan.last_text.startswith("⏰ In about an hour, Gil will visit you.")

    # The check-in, answered late at night: no food in. The coordinator hears at once, in
    # quiet hours, and again until she is on it.
    await move_to(svc, clock, at(25, 15))
    assert gil.inline_labels == ["📝 How did it go?", "Couldn't reach them"]
    clock.set(at(25, 23, 30))
    await check_in(gil, "Yes", "No", "Yes", "No")
    await gil.taps("Send")
    assert count(coordinator, "Not OK") == 1
    assert coordinator.inline_labels == ["🙋 I'm on it"]
    await move_to(svc, clock, at(25, 23, 30) + svc.visits.realert_after)
    assert count(coordinator, "Not OK") == 2
    await coordinator.taps("I'm on it")
    await move_to(svc, clock, at(26, 1))
    assert count(coordinator, "Not OK") == 2

    # Dan confirms; Gil earns an hour from the community account; the ward hears.
    assert count(dan, t("aftercare.did_they_visit", name="Gil")) == 1
    await dan.taps("Yes")
    gil_id = await member_id(svc, gil)
    assert await ledger.balance(svc.db, gil_id) == svc.visits.visit_minutes
    assert await ledger.total(svc.db) == 0
    assert count(gil, "Thank you") >= 1
    assert count(coordinator, "had their first visit") == 1
    found = await the_referral(svc, referral)
    assert found.state == "visited"
    await answer_loneliness(dan, "Often", "Often", "Some of the time")  # the first contact

    # The first follow-up comes on its day.
    await move_to(svc, clock, at(27, 10))
    assert gil.last_text.startswith("Time for a follow-up call or visit with Dan")

    # Weeks later: would Dan visit someone else? He would, and is approved.
    due = found.discharged_at + svc.visits.pay_forward_after
    await move_to(svc, clock, due.replace(hour=11))
    assert count(dan, t("aftercare.pay_forward", name="Gil")) == 1
    await answer_loneliness(dan, "Hardly ever", "Some of the time", "Hardly ever")  # the last
    scores = await svc.db.all(
        "SELECT stage, companionship + left_out + isolated FROM loneliness_scores"
    )
    assert sorted(tuple(row) for row in scores) == [("first", 8), ("last", 4)]
    await dan.taps("Yes, I'd like to")
    for label in ("I'd like to help", "Riverside", "Done", "Mornings", "Done", "✅ Send"):
        await dan.taps(label)
    await record_check(coordinator)
    dan_id = await member_id(svc, dan)
    visitor = await svc.db.one("SELECT status, source FROM visitors WHERE member_id = ?", (dan_id,))
    assert tuple(visitor) == ("approved", "paid_forward")
    assert (await the_referral(svc, referral)).pay_forward == "yes"
