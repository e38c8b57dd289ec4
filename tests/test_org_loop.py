"""The whole loop of issue 11 through the real Application, with buttons as members press them:
a coordinator creates an organisation and names who acts for it; it posts an activity; three
members sign up (one from the waiting list after a cancellation); the roll call credits
everyone who came from the organisation's account in one transaction; a member spends hours on
what the organisation offers. Balances, the ledger's zero sum and /report are checked."""

from __future__ import annotations

from datetime import timedelta

from bot.outbound.scheduler import tick
from bot.ui.i18n import t
from storage import ledger, organisations
from tests.test_activities import STARTS, post_activity, signs_up
from tests.test_exchanges import member_id
from tests.test_organisations import add_member, new_org, org_id


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
