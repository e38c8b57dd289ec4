"""The whole loop of issue 11 through the real Application, with buttons as members press them:
a coordinator creates an organisation and names who acts for it; it posts an activity; three
members sign up (one from the waiting list after a cancellation); the roll call credits
everyone who came from the organisation's account in one transaction; a member spends hours on
what the organisation offers. Balances, the ledger's zero sum and /report are checked."""

from __future__ import annotations

from datetime import timedelta

from bot.outbound.scheduler import tick
from bot.sandbox.standin import ChatMember
from bot.ui.i18n import t
from storage import ledger, organisations
from tests.test_activities import STARTS, post_activity, signs_up
from tests.test_exchanges import member_id
from tests.test_organisations import add_member, new_org, org_id
from tests.test_spend import ask_for


async def balances(svc, *people) -> list[int]:
    return [await ledger.balance(svc.db, await member_id(svc, person)) for person in people]


async def test_an_organisation_s_activity_credits_its_helpers_who_then_spend_with_it(
    coordinator, alice, bob, person, svc, clock
):
    ann, carol = await person("Ann", 110), await person("Carol", 103)
    await new_org(coordinator)
    await add_member(coordinator, "Ann")
    centre = await org_id(svc)

    await post_activity(ann, helpers="2", each="2 hours")
    await signs_up(alice)
    await signs_up(bob)
    await signs_up(carol, t("activity.wait_helper"))
    await bob.taps("Cancel my place")
    await carol.taps("Take it")
    assert "Going: Alice, Carol" in carol.last_text

    clock.set(STARTS + timedelta(hours=1))
    await tick(svc)
    assert ann.inline_labels == ["✅ Alice", "✅ Carol", t("activity.credit")]
    roll = next(m for m in reversed(ann.messages) if m.inline_buttons)
    credit = roll.inline_buttons[-1]["callback_data"]
    await ann.taps(t("activity.credit"))
    await ann.presses(credit, roll)  # the same button again, as a slow phone may send it
    assert ann.last_text == t("activity.already_credited")
    await tick(svc)
    assert await balances(svc, alice, bob, carol) == [120, 0, 120]
    assert await organisations.balance(svc.db, centre) == -240
    assert await ledger.total(svc.db) == 0
    assert "2 hours" in carol.last_text

    await offers_a_course(ann)
    await ask_for(carol, "Computer course")
    await tick(svc)
    await ann.taps("✅ Confirm")
    await tick(svc)
    assert carol.last_text.endswith("You spent 1 hour, and now have 1 hour.")
    assert await balances(svc, alice, bob, carol) == [120, 0, 60]
    assert await organisations.balance(svc.db, centre) == -180
    assert await ledger.total(svc.db) == 0

    clock.advance(timedelta(minutes=5))  # periods end at "now", exclusive
    await coordinator.says("/report")
    await coordinator.taps("All time")
    text = next(m.text for m in reversed(coordinator.messages) if m.kind == "text")
    assert "Hours given to organisations: <b>4 hours</b>" in text
    assert "Hours spent with partners: <b>1 hour</b>" in text
    assert "<b>Riverside Day Centre</b>: balance −3 hours, in 1 hour, out 4 hours" in text


async def offers_a_course(ann: ChatMember) -> None:
    """Ann adds what members can spend their hours on, with buttons, as in test_spend."""
    await ann.says("/orgoffer")
    await ann.taps("Other")
    await ann.says("Computer course")
    await ann.says("Tuesdays 10:00 at the library")
    await ann.taps("1 hour")
    await ann.taps("Publish")
