"""Organisations through the real Application: a coordinator creates one and names who acts
for it; those members post for it, and the exchange that follows moves the organisation's
hours, within its own limit; taken off it, they can no longer post or accept in its name."""

from __future__ import annotations

import pytest

from bot.ui.i18n import t
from storage import exchanges, ledger, listings, organisations
from storage.errors import NotCoordinator
from tests.conftest import make_config
from tests.test_exchanges import member_id

CENTRE = "Riverside Day Centre"
GARDEN = "Riverside Garden"  # its own overdraft limit in this module's config: 1 hour
REFUSED = "Sorry, only a coordinator can do that."


async def new_org(coordinator, name: str = CENTRE, area: str = "Riverside") -> None:
    await coordinator.says("/neworg")
    await coordinator.says(name)
    await coordinator.taps(area)
    await coordinator.says("Lunches and company for older people")
    await coordinator.taps("Create")


async def add_member(coordinator, name: str) -> None:
    """From an organisation's card: "Add a member", a part of their name, their button."""
    await coordinator.taps("Add a member")
    await coordinator.says(name[:3])
    await coordinator.taps(name)


async def org_id(svc, name: str = CENTRE) -> int:
    return next(o.id for o in await organisations.active(svc.db) if o.name == name)


async def post_for(member, menu: str, words: str, org: str = CENTRE) -> None:
    await member.taps(menu)
    await member.taps(org)
    await member.taps("Company")
    await member.says(words)
    await member.taps("Skip")
    await member.taps("Publish")


async def help_for_org(alice, bob, coordinator, svc, org: str = CENTRE) -> int:
    """Cora creates the organisation and names Alice; Alice asks for help for it; Bob helps
    and says it took 2 hours. Returns the exchange's id."""
    await new_org(coordinator, org)
    await add_member(coordinator, "Alice")
    await post_for(alice, "I need", "someone to chat with our guests", org)
    await bob.says("/search guests")
    await bob.taps("1. ")
    await bob.taps("I can help")
    await alice.taps("Yes, please")
    exchange = (await exchanges.open_for(svc.db, await member_id(svc, bob)))[0]
    await bob.taps("It happened")
    await bob.taps("2 hours")
    return exchange.id


async def test_a_coordinator_creates_an_organisation_with_its_account(coordinator, svc):
    await coordinator.says("/neworg")
    assert coordinator.last_text == t("org.ask_name")
    await coordinator.says(CENTRE)
    assert coordinator.last_text == t("org.ask_area")
    assert coordinator.inline_labels == ["Riverside", "Old Town"]
    await coordinator.taps("Old Town")
    await coordinator.says("Lunches and company")
    assert coordinator.last_text.startswith(f"🏢 <b>{CENTRE}</b>\n📍 Old Town\nLunches")
    assert coordinator.inline_labels == ["✅ Create", "↩️ Start again"]
    await coordinator.taps("Create")
    assert coordinator.texts_since(len(coordinator.messages) - 2)[0].startswith("Done.")
    assert "Hours: <b>0 hours</b>\nActing for it: nobody yet" in coordinator.last_text
    assert coordinator.inline_labels == ["➕ Add a member"]
    organisation = (await organisations.active(svc.db))[0]
    assert (organisation.name, organisation.area) == (CENTRE, "Old Town")
    async with svc.db.transaction() as tx:
        assert await organisations.account_id(tx, organisation.id) > 0


async def test_a_name_taken_is_asked_again_and_the_rest_kept(coordinator, svc):
    await new_org(coordinator)
    await coordinator.says("/neworg")
    await coordinator.says(CENTRE.upper())
    await coordinator.taps("Riverside")
    await coordinator.says("Another one")
    await coordinator.taps("Create")
    assert coordinator.last_text.startswith("There is already an organisation called")
    await coordinator.says("Riverside Garden")
    assert coordinator.last_text.startswith("🏢 <b>Riverside Garden</b>\n📍 Riverside\nAnother one")
    await coordinator.taps("Create")
    assert [o.name for o in await organisations.active(svc.db)] == [CENTRE, "Riverside Garden"]


async def test_only_coordinators_create_or_name_members(alice, bob, coordinator, svc):
    await alice.says("/neworg")
    assert alice.last_text == REFUSED
    await alice.says("/orgs")
    assert alice.last_text == REFUSED
    await new_org(coordinator)
    centre, bob_id = await org_id(svc), await member_id(svc, bob)
    await bob.presses(f"og:addm:{bob_id}:{centre}")  # forged: Bob names himself
    assert bob.last_text == REFUSED
    await bob.presses(f"og:card:{centre}")
    assert bob.last_text == REFUSED
    with pytest.raises(NotCoordinator):
        await organisations.add_member(
            svc.db, organisation_id=centre, member_id=bob_id, by=bob_id, now=svc.clock.now()
        )
    standing = await organisations.standing(svc.db, centre)
    assert standing is not None
    assert standing.member_ids == ()


async def test_orgs_lists_balances_and_a_card_names_a_member_who_is_told(alice, coordinator, svc):
    await new_org(coordinator)
    await new_org(coordinator, "Riverside Garden")
    await coordinator.says("/orgs")
    assert coordinator.inline_labels == [f"🏢 {CENTRE} · 0 hours", "🏢 Riverside Garden · 0 hours"]
    await coordinator.taps(CENTRE)
    assert "Acting for it: nobody yet" in coordinator.last_text
    await coordinator.taps("Add a member")
    assert coordinator.last_text == t("org.ask_member", name=CENTRE)
    await coordinator.says("Zed")
    assert coordinator.last_text.startswith("Nobody called")
    await coordinator.says("Ali")
    assert coordinator.inline_labels == ["Alice"]
    await coordinator.taps("Alice")
    assert "Acting for it: Alice" in coordinator.last_text
    assert coordinator.inline_labels == ["➕ Add a member", "➖ Remove a member"]
    assert alice.last_text.startswith(f"🏢 You can now act for {CENTRE}.")
    await coordinator.presses(f"og:addm:{await member_id(svc, alice)}:{await org_id(svc)}")
    assert "Alice already acts for it." in coordinator.texts_since(len(coordinator.messages) - 2)
    assert len([m for m in alice.messages if "You can now act" in m.text]) == 1


async def test_posting_for_an_organisation_names_it_as_the_poster(alice, bob, coordinator, svc):
    await new_org(coordinator, area="Old Town")
    await add_member(coordinator, "Alice")
    await bob.taps("I need")
    assert bob.last_text == t("post.ask_category_need"), "no org: no question"
    await alice.taps("I need")
    assert alice.last_text == "Who is this for?"
    assert alice.inline_labels == ["🙋 Me", CENTRE]
    await alice.taps(CENTRE)
    await alice.taps("Company")
    await alice.says("someone to chat with our guests")
    await alice.taps("Skip")
    assert f"📍 Old Town\n— for {CENTRE}" in alice.last_text, "where the organisation is"
    await alice.taps("Publish")
    assert f"📍 Old Town\n— {CENTRE} (posted by Alice)" in alice.last_text
    listing = (await listings.open_by_owner(svc.db, await member_id(svc, alice)))[0]
    assert (listing.organisation_id, listing.poster) == (await org_id(svc), CENTRE)
    await bob.says("/search guests")
    assert f"— {CENTRE}" in bob.last_text
    await alice.says("/org")
    assert alice.last_text.startswith(f"🏢 <b>{CENTRE}</b>\nHours: <b>0 hours</b>\nPosted for it:")
    assert alice.inline_labels == ["someone to chat with our guests"]
    await alice.says("/help")
    assert "/org" in alice.last_text
    await post_for(alice, "I can offer", "tea for two", org="Me")
    assert "posted by" not in alice.last_text


async def test_an_exchange_moves_the_organisations_hours(alice, bob, coordinator, svc):
    exchange_id = await help_for_org(alice, bob, coordinator, svc)
    await alice.taps("Yes")
    assert alice.last_text.startswith(f"Thank you! 2 hours confirmed for {CENTRE}.")
    assert f"{CENTRE} now has −2 hours." in alice.last_text
    assert "Alice confirmed 2 hours" in bob.last_text
    exchange = await exchanges.get(svc.db, exchange_id)
    assert exchange is not None
    assert (exchange.organisation_id, exchange.organisation_side) == (
        await org_id(svc),
        "receiver",
    )
    assert await organisations.balance(svc.db, await org_id(svc)) == -120
    assert await ledger.balance(svc.db, await member_id(svc, bob)) == 120
    assert await ledger.balance(svc.db, await member_id(svc, alice)) == 0
    assert await ledger.total(svc.db) == 0
    assert await exchanges.credited(svc.db, exchange_id) == 120
    await coordinator.says("/orgs")
    assert coordinator.inline_labels == [f"🏢 {CENTRE} · −2 hours"]


async def test_an_organisation_offering_help_is_credited(alice, bob, coordinator, svc):
    await new_org(coordinator)
    await add_member(coordinator, "Alice")
    await post_for(alice, "I can offer", "a computer course")
    await bob.says("/search computer")
    await bob.taps("1. ")
    await bob.taps("I'd like this")
    await alice.taps("Yes, please")
    await alice.taps("It happened")
    await alice.taps("1 hour")
    await bob.taps("Yes")
    assert f"Bob confirmed 1 hour for {CENTRE}" in alice.last_text
    assert f"{CENTRE} now has 1 hour." in alice.last_text
    assert await organisations.balance(svc.db, await org_id(svc)) == 60
    assert await ledger.balance(svc.db, await member_id(svc, bob)) == -60
    assert await ledger.total(svc.db) == 0
    exchange = (await exchanges.history(svc.db, await member_id(svc, bob)))[0]
    await exchanges.settle(
        svc.db,
        by=await member_id(svc, coordinator),
        exchange_id=exchange.exchange_id,
        minutes=90,
        now=svc.clock.now(),
    )
    assert await exchanges.credited(svc.db, exchange.exchange_id) == 90, "corrected, org's side"
    assert await organisations.balance(svc.db, await org_id(svc)) == 90
    assert await ledger.total(svc.db) == 0


@pytest.fixture
def config(tmp_path):
    config = make_config(tmp_path)
    return config.model_copy(
        update={
            "organisations": config.organisations.model_copy(
                update={"overdraft_limit_hours_for": {GARDEN.lower(): 1}}
            )
        }
    )


async def test_an_organisation_past_its_own_limit_waits_for_a_coordinator(
    alice, bob, coordinator, svc
):
    exchange_id = await help_for_org(alice, bob, coordinator, svc, GARDEN)
    await alice.taps("Yes")
    assert alice.last_text.startswith("Thank you! This would take the balance below")
    exchange = await exchanges.get(svc.db, exchange_id)
    assert exchange is not None
    assert exchange.state == "held"
    assert await ledger.total(svc.db) == 0
    assert await organisations.balance(svc.db, await org_id(svc, GARDEN)) == 0


async def test_a_removed_member_can_no_longer_post_or_accept_for_it(alice, bob, coordinator, svc):
    await new_org(coordinator)
    await add_member(coordinator, "Alice")
    await post_for(alice, "I need", "someone to chat with our guests")
    await bob.says("/search guests")
    await bob.taps("1. ")
    await bob.taps("I can help")
    centre, alice_id = await org_id(svc), await member_id(svc, alice)
    await coordinator.taps("Remove a member")
    await coordinator.taps("Alice")
    assert "Acting for it: nobody yet" in coordinator.last_text
    assert alice.last_text == t("org.you_no_longer_act", name=CENTRE)
    await alice.taps("Yes, please")
    assert alice.last_text == t("errors.not_for_organisation")
    assert await exchanges.open_for(svc.db, alice_id) == []
    await alice.taps("I need")
    assert alice.last_text == t("post.ask_category_need")
    await alice.presses(f"pn:for:{centre}")  # an old "Who is this for?" button
    assert alice.last_text == t("errors.not_for_organisation")
    await alice.presses(f"pn:cat:2:{centre}")  # an old category button, carrying the org
    await alice.says("more chats")
    await alice.taps("Skip")
    await alice.taps("Publish")
    assert alice.last_text == t("errors.not_for_organisation")
    assert [x.body for x in await listings.open_by_owner(svc.db, alice_id)] == [
        "someone to chat with our guests"
    ]
