"""Browsing five a page, filtering by category, and word search."""

from __future__ import annotations

from storage import listings
from tests.conftest import post


async def post_many(svc, owner_id: int, count: int, kind="need", category="Garden") -> None:
    for number in range(1, count + 1):
        await listings.create(
            svc.db,
            owner_id=owner_id,
            kind=kind,
            category=category,
            body=f"{kind} number {number}",
            when_where=None,
            now=svc.clock.now(),
        )


async def test_browse_pages_newest_first(alice, bob, svc):
    await post_many(svc, owner_id=1, count=7)
    await bob.taps("Browse")
    await bob.taps("Help people need")
    await bob.taps("Garden")
    assert "Needs · Garden" in bob.last_text
    assert bob.inline_labels[:5] == [f"{i}. need number {8 - i}" for i in range(1, 6)]
    assert bob.inline_labels[-1] == "More ▶"
    await bob.taps("More ▶")
    assert "(page 2)" in bob.last_text
    assert bob.inline_labels == ["6. need number 2", "7. need number 1", "◀ Back"]
    await bob.taps("◀ Back")
    assert "(page 1)" in bob.last_text


async def test_category_filter_and_all(alice, bob, svc):
    await post_many(svc, owner_id=1, count=1, category="Garden")
    await post_many(svc, owner_id=1, count=1, category="Shopping")
    await bob.taps("Browse")
    await bob.taps("Help people need")
    await bob.taps("Shopping")
    assert len([b for b in bob.inline_labels if b[0].isdigit()]) == 1
    await bob.taps("Browse")
    await bob.taps("Help people need")
    await bob.taps("All")
    assert len([b for b in bob.inline_labels if b[0].isdigit()]) == 2


async def test_empty_category_says_so(bob):
    await bob.taps("Browse")
    await bob.taps("Help people offer")
    await bob.taps("Garden")
    assert "Nothing here yet." in bob.last_text


async def test_search_by_words_with_buttons(alice, bob):
    await alice.says("/offer Gardening help, I have my own tools")
    await alice.says("/offer Help with shopping")
    await bob.taps("Browse")
    await bob.taps("Search by words")
    await bob.says("garden")
    assert "Search: garden" in bob.last_text
    assert bob.inline_labels == ["1. Gardening help, I have my own tools"]


async def test_search_command_and_odd_characters(alice, bob):
    await alice.says("/need help with the shopping")
    await bob.says('/search "shop* (')
    assert bob.inline_labels == ["1. help with the shopping"]
    await bob.says("/search zebra")
    assert "Nothing here yet." in bob.last_text


async def test_viewing_a_listing_offers_the_right_button(alice, bob):
    await alice.says("/need a lift to the clinic")
    await bob.says("/search clinic")
    await bob.taps("1. a lift")
    assert "a lift to the clinic" in bob.last_text
    assert bob.inline_labels == ["🙋 I can help", "🚫 Block", "⚠️ Report"]
    await alice.says("/offer soup")
    await bob.says("/search soup")
    await bob.taps("1. soup")
    assert bob.inline_labels == ["🙌 I'd like this", "🚫 Block", "⚠️ Report"]


async def test_closed_listing_button_answers_kindly(alice, bob, svc):
    await alice.says("/need a lift to the clinic")
    await bob.says("/search clinic")
    await alice.taps("Close")
    await bob.taps("1. a lift")
    assert bob.last_text.startswith("Sorry, that isn't available any more")


async def test_browse_command_does_what_the_menu_button_does(alice, bob, svc):
    await post_many(svc, owner_id=1, count=1, kind="offer", category="Garden")
    await bob.says("/browse")
    assert bob.last_text == "What would you like to see?"
    assert bob.inline_labels == [
        "🤲 Help people offer",
        "🙋 Help people need",
        "🔎 Search by words",
    ]
    await bob.taps("Help people offer")
    await bob.taps("Garden")
    assert bob.inline_labels == ["1. offer number 1"]


async def test_browse_is_explained_in_help_and_listed_in_every_telegram_menu(bob, api):
    await bob.says("/help")
    assert "<b>Browse</b>: see what others offer and need" in bob.last_text
    assert set(api.commands) == {"", "en", "es"}
    for language, commands in api.commands.items():
        assert "browse" in [command["command"] for command in commands], language
    spanish = {command["command"]: command["description"] for command in api.commands["es"]}
    assert spanish["language"] == "elegir tu idioma"


async def test_browse_lines_show_where_and_stay_short(alice, person, svc):
    dan = await person("Dan", 104, place="Old Town")
    long_body = "Help carrying heavy shopping bags up three flights of stairs on Fridays"
    await listings.create(
        svc.db,
        owner_id=1,
        kind="need",
        category="Shopping",
        body=long_body,
        when_where=None,
        now=svc.clock.now(),
    )
    await dan.says("/browse")
    await dan.taps("Help people need")
    await dan.taps("Shopping")
    line = dan.last_text.splitlines()[1]
    assert line.endswith("— Alice · 📍 Riverside")
    assert line.startswith("1. 🙋 Help carrying heavy")
    assert "…" in line
    assert len(line) <= len("1. 🙋 ") + 48 + len(" — Alice")


async def test_an_empty_category_offers_next_steps(alice, bob, svc):
    await post_many(svc, owner_id=1, count=1, kind="offer", category="Shopping")
    await bob.taps("Browse")
    await bob.taps("Help people offer")
    await bob.taps("Garden")
    assert "Nothing here yet." in bob.last_text
    assert bob.inline_labels == ["🔎 Search other words", "🤲 See all offers", "🙋 Ask for it"]
    await bob.taps("See all offers")
    assert "Offers · All" in bob.last_text
    assert bob.inline_labels == ["1. offer number 1"]
    await bob.says("/browse")
    await bob.taps("Help people offer")
    await bob.taps("Garden")
    await bob.taps("Ask for it")
    assert bob.last_text.startswith("Garden: tell us in a few words what you need")
    await bob.says("Someone to mow the lawn")
    await bob.taps("Skip")
    await bob.taps("Publish")
    rows = await svc.db.all("SELECT kind, category, body FROM listings WHERE owner_id = 2")
    assert [tuple(row) for row in rows] == [("need", "Garden", "Someone to mow the lawn")]


async def test_no_needs_in_a_category_offers_to_offer_it(bob):
    await bob.says("/browse")
    await bob.taps("Help people need")
    await bob.taps("Company")
    assert bob.inline_labels == ["🔎 Search other words", "🙋 See all needs", "🤲 Offer it"]
    await bob.taps("Offer it")
    assert bob.last_text.startswith("Company: tell us in a few words what you can offer")


async def test_nothing_at_all_of_a_kind_still_has_a_way_on(bob):
    await bob.says("/browse")
    await bob.taps("Help people offer")
    await bob.taps("All")
    assert bob.inline_labels == ["🔎 Search other words", "🙋 Ask for it"]
    await bob.taps("Ask for it")
    assert bob.last_text == "What kind of help do you need?"
    assert bob.inline_labels == ["Shopping", "Garden", "Company", "Other"]


async def test_an_empty_search_offers_other_words_everything_or_asking(alice, bob, svc):
    await alice.says("/offer Help with shopping")
    await bob.says("/search hedge trimming")
    assert "Nothing here yet." in bob.last_text
    assert bob.inline_labels == ["🔎 Search other words", "🤲 See all offers", "🙋 Ask for it"]
    await bob.taps("Search other words")
    assert bob.last_text.startswith("Type a few words")
    await bob.says("shopping")
    assert bob.inline_labels == ["1. Help with shopping"]
    await bob.says("/search hedge trimming")
    await bob.taps("Ask for it")
    assert bob.last_text == "What kind of help do you need?"
    await bob.taps("Garden")
    assert bob.last_text.startswith("Garden: tell us")


async def test_an_empty_search_that_names_a_category_offers_its_offers(alice, bob, svc):
    await post(alice, "I can offer", "Garden", "Hedges trimmed, lawns mowed")
    await bob.says("/search gardening tools")
    assert bob.inline_labels == [
        "🔎 Search other words",
        "🤲 See all Garden offers",
        "🙋 Ask for it",
    ]
    await bob.taps("See all Garden offers")
    assert "Offers · Garden" in bob.last_text
    assert bob.inline_labels == ["1. Hedges trimmed, lawns mowed"]
    await bob.says("/search gardening tools")
    await bob.taps("Ask for it")
    assert bob.last_text.startswith("Garden: tell us in a few words what you need")
