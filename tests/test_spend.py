"""Spending hours with partners, through the real Application: an organisation's member adds an
offer (/orgoffer), a member spends hours on it (/spend, the menu), the organisation confirms or
can't; every press re-checked, a double tap and a forged press harmless, the ledger balanced."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.outbound.scheduler import tick
from bot.sandbox.standin import ChatMember
from bot.ui.i18n import t
from storage import ledger, organisations, partners
from storage.errors import NotForOrganisation
from storage.kinds import LedgerKind
from tests.test_exchanges import member_id
from tests.test_safety import double_tap

CENTRE = "Riverside Day Centre"
CATEGORIES = ["Shopping", "Garden", "Company", "Other"]
NOT_FOR_IT = t("errors.not_for_organisation")


@pytest.fixture
async def centre(svc: Any, coordinator: ChatMember, alice: ChatMember) -> int:
    """An organisation Alice acts for (named by the coordinator)."""
    cora = await member_id(svc, coordinator)
    created = await organisations.create(
        svc.db, name=CENTRE, area="Riverside", description="Days out", by=cora, now=svc.clock.now()
    )
    await organisations.add_member(
        svc.db,
        organisation_id=created.id,
        member_id=await member_id(svc, alice),
        by=cora,
        now=svc.clock.now(),
    )
    await tick(svc)  # Alice hears she acts for it now, before the test speaks
    return created.id


async def add_offer(svc: Any, centre: int, by: ChatMember, title: str, minutes: int) -> int:
    offer = await partners.add_offer(
        svc.db,
        organisation_id=centre,
        by=await member_id(svc, by),
        category="Other",
        title=title,
        details="Tuesdays at the library",
        price_minutes=minutes,
        categories=CATEGORIES,
        now=svc.clock.now(),
    )
    return offer.id


async def ask_for(member: ChatMember, title: str) -> None:
    """From the menu to "Yes": the category, the offer, its card, the question."""
    await member.taps("Spend my hours")
    assert member.last_text == t("spend.choose_category")
    await member.taps("Other")
    await member.taps(title)
    await member.taps("✅ Yes")


async def spends(svc: Any) -> list[tuple[Any, ...]]:
    rows = await svc.db.all("SELECT state, minutes, decided_by FROM spends ORDER BY id")
    return [tuple(row) for row in rows]


async def spend_transactions(svc: Any) -> int:
    return int(
        await svc.db.scalar(
            "SELECT COUNT(*) FROM ledger_transactions WHERE kind = ?", (LedgerKind.SPEND,)
        )
    )


async def balance_of(svc: Any, centre: int) -> int:
    async with svc.db.transaction() as tx:
        return await organisations.balance_in(tx, centre)


# --- adding offers ------------------------------------------------------------------------


async def test_an_organisations_member_adds_an_offer_with_buttons(svc, alice, centre):
    await alice.says("/orgoffer")
    assert alice.last_text == t("orgoffer.ask_category", organisation=CENTRE)
    await alice.taps("Other")
    await alice.says("Computer course")
    await alice.says("Tuesdays 10:00 at the library")
    await alice.taps("2 hours")
    assert alice.last_text.startswith(t("orgoffer.preview"))
    assert "<b>Computer course</b>\nfrom Riverside Day Centre" in alice.last_text
    assert "Price: <b>2 hours</b>" in alice.last_text
    await alice.taps("Publish")
    assert alice.last_text == t("orgoffer.posted", organisation=CENTRE)
    (offer,) = await partners.offers(svc.db, "Other")
    assert (offer.title, offer.details, offer.price_minutes, offer.created_by) == (
        "Computer course",
        "Tuesdays 10:00 at the library",
        120,
        await member_id(svc, alice),
    )


async def test_someone_acting_for_several_chooses_which_and_may_skip_the_details(
    svc, coordinator, centre
):
    cora = await member_id(svc, coordinator)
    now = svc.clock.now()
    await organisations.create(
        svc.db, name="Old Town Gym", area="Old Town", description="Gym", by=cora, now=now
    )
    await coordinator.says("/orgoffer")
    assert coordinator.inline_labels == ["Old Town Gym", CENTRE]
    await coordinator.taps("Old Town Gym")
    await coordinator.taps("Other")
    await coordinator.says("A gym session")
    await coordinator.taps("Skip")
    await coordinator.taps("1 hour")
    await coordinator.taps("Start again")
    assert coordinator.inline_labels == ["Old Town Gym", CENTRE]
    await coordinator.taps(CENTRE)
    await coordinator.taps("Garden")
    await coordinator.says("Seeds to sow")
    await coordinator.taps("Skip")
    await coordinator.taps("½ hour")
    await coordinator.taps("Publish")
    (offer,) = await partners.offers(svc.db, "Garden")
    assert (offer.organisation_name, offer.details, offer.price_minutes) == (CENTRE, None, 30)
    assert await partners.offers(svc.db, "Other") == []


async def test_members_who_act_for_no_organisation_cannot_add_offers(svc, bob, centre):
    await bob.says("/orgoffer")
    assert bob.last_text == t("orgoffer.none")
    with pytest.raises(NotForOrganisation):
        await add_offer(svc, centre, bob, "Forged", 60)


# --- spending -----------------------------------------------------------------------------


async def test_a_member_spends_hours_and_the_organisation_confirms_once(svc, alice, bob, centre):
    await add_offer(svc, centre, alice, "Computer course", 120)
    await ask_for(bob, "Computer course")
    assert bob.last_text.startswith("Asked! Riverside Day Centre will confirm soon")
    assert bob.inline_labels == ["Take it back"]
    await tick(svc)
    asked = {"name": "Bob", "hours": "2 hours", "title": "Computer course"}
    assert alice.last_text == t("spend.ask_notice", organisation=CENTRE, **asked)
    assert alice.inline_labels == ["✅ Confirm", "Can't"]
    await double_tap(alice, "Confirm")
    assert t("spend.confirmed", name="Bob", hours="2 hours", organisation=CENTRE) in [
        m.text for m in alice.messages
    ]
    assert alice.last_text == t("errors.already_confirmed")
    assert await spend_transactions(svc) == 1
    bob_id = await member_id(svc, bob)
    assert await ledger.balance(svc.db, bob_id) == -120
    assert await balance_of(svc, centre) == 120
    assert await ledger.total(svc.db) == 0
    assert await spends(svc) == [("confirmed", 120, await member_id(svc, alice))]
    await tick(svc)
    assert bob.last_text == t(
        "spend.confirmed_notice",
        organisation=CENTRE,
        title="Computer course",
        hours="2 hours",
        balance="−2 hours",
    )


async def test_org_shows_asks_still_waiting_with_their_buttons(svc, alice, bob, centre):
    """An ask whose notice scrolled away is answered from /org."""
    await add_offer(svc, centre, alice, "Computer course", 120)
    await ask_for(bob, "Computer course")
    await alice.says("/org")
    asked = {"name": "Bob", "hours": "2 hours", "title": "Computer course"}
    assert alice.last_text == t("spend.ask_notice", organisation=CENTRE, **asked)
    await alice.taps("Confirm")
    assert await spends(svc) == [("confirmed", 120, await member_id(svc, alice))]
    await alice.says("/org")
    assert alice.last_text.startswith(f"🏢 <b>{CENTRE}</b>"), "nothing waiting now"


async def test_asking_twice_asks_once(svc, alice, bob, centre):
    offer = await add_offer(svc, centre, alice, "Computer course", 120)
    await ask_for(bob, "Computer course")
    await bob.presses(f"sp:ask:{offer}")
    assert bob.last_text.startswith("You asked Riverside Day Centre for this already")
    await tick(svc)
    assert [m.text for m in alice.messages].count(alice.last_text) == 1
    assert len(await spends(svc)) == 1


async def test_the_organisation_cant_and_the_member_is_told_kindly(svc, alice, bob, centre):
    await add_offer(svc, centre, alice, "A ride to the shops", 60)
    await ask_for(bob, "A ride to the shops")
    await tick(svc)
    await alice.taps("Can't")
    assert alice.last_text == t("spend.declined", name="Bob")
    await tick(svc)
    assert bob.last_text == t(
        "spend.declined_notice", organisation=CENTRE, title="A ride to the shops"
    )
    assert await spend_transactions(svc) == 0
    assert await ledger.balance(svc.db, await member_id(svc, bob)) == 0


async def test_a_forged_confirm_by_someone_not_acting_for_it_is_refused(
    svc, person, alice, bob, centre
):
    carol = await person("Carol", 103)
    await add_offer(svc, centre, alice, "Computer course", 120)
    await ask_for(bob, "Computer course")
    (spend_id,) = [row[0] for row in await svc.db.all("SELECT id FROM spends")]
    for forger in (carol, bob):  # a stranger, and the member spending
        await forger.presses(f"sp:confirm:{spend_id}")
        assert forger.last_text == NOT_FOR_IT
        await forger.presses(f"sp:decline:{spend_id}")
        assert forger.last_text == NOT_FOR_IT
    assert await spends(svc) == [("asked", 120, None)]
    assert await spend_transactions(svc) == 0


async def test_spending_past_the_limit_is_refused_kindly(svc, alice, bob, centre):
    """The limit is 10 hours below zero; what Bob already asked for counts."""
    await add_offer(svc, centre, alice, "A week of lunches", 360)
    await add_offer(svc, centre, alice, "A computer course", 360)
    await ask_for(bob, "A week of lunches")
    await ask_for(bob, "A computer course")
    assert bob.last_text == t("spend.not_enough", balance="−6 hours", limit="10 hours")
    assert [row[0] for row in await spends(svc)] == ["asked"]


async def test_a_member_takes_an_ask_back_and_nobody_is_asked_any_more(svc, alice, bob, centre):
    await add_offer(svc, centre, alice, "Computer course", 120)
    await ask_for(bob, "Computer course")
    await bob.taps("Take it back")
    assert bob.last_text == t("spend.withdrawn")
    seen = len(alice.messages)
    await tick(svc)
    assert alice.texts_since(seen) == [], "the notice no longer applies"
    (spend_id,) = [row[0] for row in await svc.db.all("SELECT id FROM spends")]
    await alice.presses(f"sp:confirm:{spend_id}")
    assert alice.last_text == t("errors.moved_on")
    assert await spend_transactions(svc) == 0


async def test_an_organisations_own_people_close_its_offer_instead_of_spending(
    svc, alice, bob, centre
):
    offer = await add_offer(svc, centre, alice, "Computer course", 120)
    await alice.says("/spend")
    await alice.taps("Other")
    await alice.taps("Computer course")
    assert alice.inline_labels == ["Close this offer"]
    await alice.presses(f"sp:ask:{offer}")
    assert alice.last_text == t("errors.own_listing")
    await bob.presses(f"sp:close:{offer}")
    assert bob.last_text == NOT_FOR_IT
    await alice.taps("Close this offer")
    assert alice.last_text == t("spend.offer_closed")
    await bob.says("/spend")
    assert bob.last_text == t("spend.nothing_yet")
    await bob.presses(f"sp:ask:{offer}")
    assert bob.last_text == t("errors.moved_on")


async def test_report_shows_what_was_spent_with_partners(
    svc, clock, coordinator, alice, bob, centre
):
    await add_offer(svc, centre, alice, "Computer course", 120)
    await ask_for(bob, "Computer course")
    await tick(svc)
    await alice.taps("Confirm")
    clock.advance(timedelta(minutes=5))  # periods end at "now", exclusive
    await coordinator.says("/report")
    await coordinator.taps("This month")
    block = next(m.text for m in coordinator.messages if m.text.startswith("🤝"))
    assert "Hours spent with partners: <b>2 hours</b>" in block
    assert "<b>Riverside Day Centre</b>: balance 2 hours, in 2 hours, out 0 hours" in block
