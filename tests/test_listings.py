"""Posting offers and needs, and owners editing, closing and reopening them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, parse_config
from storage import listings
from tests.conftest import make_config, post

ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = ["Shopping", "Company", "Garden", "Repairs", "Lifts", "Other"]
KEYWORDS = {
    "Repairs": ["tap", "leak", "fix", "plumbing", "drip"],
    "Lifts": ["lift", "drive", "clinic", "hospital"],
    "Company": ["cup of tea"],
}


async def test_post_a_need_step_by_step(alice, svc):
    await alice.taps("I need")
    assert alice.last_text == "What kind of help do you need?"
    await alice.taps("Garden")
    assert "what you need" in alice.last_text
    await alice.says("Someone to help me cut the hedge")
    assert "When or where?" in alice.last_text
    await alice.says("Saturday morning, Riverside")
    assert "Here's how it will look" in alice.last_text
    assert "Someone to help me cut the hedge" in alice.last_text
    assert "Saturday morning, Riverside" in alice.last_text
    await alice.taps("Publish")
    assert alice.last_text.startswith("Published!")
    assert alice.inline_labels == ["✏️ Edit", "Close", "🏷 Change category"]
    page = await listings.browse(svc.db, kind="need", category="Garden", offset=0)
    assert [item.body for item in page.items] == ["Someone to help me cut the hedge"]


async def test_post_an_offer_skipping_when_and_changing_words(alice, svc):
    await alice.taps("I can offer")
    await alice.taps("Company")
    await alice.says("A chat and a cup of tea")
    await alice.taps("Skip")
    await alice.taps("Change the words")
    await alice.says("A chat and a cup of tea, weekday afternoons")
    await alice.taps("Publish")
    page = await listings.browse(svc.db, kind="offer", category=None, offset=0)
    assert page.items[0].body == "A chat and a cup of tea, weekday afternoons"
    assert page.items[0].when_where is None


async def test_too_long_text_is_refused_with_the_count(alice):
    await alice.taps("I can offer")
    await alice.taps("Company")
    await alice.says("x" * 501)
    assert alice.last_text == "That's 501 letters. Please keep it to 500."
    await alice.says("Short and sweet")
    assert "When or where?" in alice.last_text


async def test_dont_post_keeps_nothing(alice, svc):
    await alice.taps("I need")
    await alice.taps("Shopping")
    await alice.says("Milk and bread")
    await alice.taps("Skip")
    await alice.taps("Don't post")
    assert alice.last_text == "OK, nothing was posted."
    page = await listings.browse(svc.db, kind=None, category=None, offset=0)
    assert page.items == []


async def test_quick_offer_command_posts_at_once(alice, svc):
    await alice.says("/offer dog walking on weekdays")
    assert alice.last_text.startswith("Published!")
    assert "Other" in alice.last_text
    page = await listings.search(svc.db, words="dog", offset=0)
    assert [item.body for item in page.items] == ["dog walking on weekdays"]


async def test_bare_need_command_starts_the_steps(alice):
    await alice.says("/need")
    assert alice.last_text == "What kind of help do you need?"


async def test_owner_closes_and_reopens(alice, svc):
    await alice.says("/need a lift to the clinic")
    await alice.taps("Close")
    assert alice.last_text.startswith("Closed.")
    assert alice.inline_labels == ["Reopen"]
    assert (await listings.browse(svc.db, kind="need", category=None, offset=0)).items == []
    await alice.taps("Reopen")
    assert alice.last_text.startswith("Open again.")
    assert len((await listings.browse(svc.db, kind="need", category=None, offset=0)).items) == 1


async def test_owner_edits_the_words(alice, svc):
    await alice.says("/need a lift to the clinic")
    await alice.taps("Edit")
    assert "Type the new words" in alice.last_text
    await alice.says("a lift to the clinic on Tuesday")
    assert alice.last_text.startswith("Saved!")
    page = await listings.search(svc.db, words="tuesday", offset=0)
    assert [item.body for item in page.items] == ["a lift to the clinic on Tuesday"]


async def test_tapping_the_menu_mid_post_leaves_the_draft(alice, svc):
    await alice.taps("I need")
    await alice.taps("Shopping")
    await alice.taps("My hours")
    assert "Your balance" in alice.last_text
    await alice.says("this is not a listing")
    assert "didn't understand" in alice.last_text
    assert (await listings.browse(svc.db, kind=None, category=None, offset=0)).items == []


async def test_others_cannot_close_or_edit_by_forging_buttons(alice, bob, svc):
    await alice.says("/need a lift to the clinic")
    listing_id = (await listings.browse(svc.db, kind="need", category=None, offset=0)).items[0].id
    for action in ("close", "edit", "reopen"):
        await bob.presses(f"ls:{action}:{listing_id}")
        assert bob.last_text == "Sorry, only the people involved can do that."
    listing = await listings.get(svc.db, listing_id)
    assert listing is not None
    assert listing.is_open
    assert listing.body == "a lift to the clinic"


async def test_my_posts_lists_own_open_listings(alice):
    await alice.says("/offer ironing")
    await alice.says("/need a ladder")
    await alice.taps("My hours")
    await alice.taps("My posts")
    assert alice.inline_labels == ["a ladder", "ironing"]
    await alice.taps("ironing")
    assert "ironing" in alice.last_text
    assert alice.inline_labels == ["✏️ Edit", "Close", "🏷 Change category"]


async def test_quick_post_finds_its_category_or_can_be_moved(alice, svc):
    await alice.says("/offer gardening on Saturdays")
    assert "Offer</b> · Garden" in alice.last_text
    await alice.says("/need a hand with something")
    assert "Need</b> · Other" in alice.last_text
    await alice.taps("Change category")
    await alice.taps("Company")
    assert alice.last_text.startswith("Saved!")
    assert "Need</b> · Company" in alice.last_text


async def test_search_finds_a_listing_by_its_category(alice, bob):
    await post(alice, "I can offer", "Garden", "Hedges trimmed, lawns mowed")
    await bob.says("/search garden")
    assert bob.inline_labels == ["1. Hedges trimmed, lawns mowed"]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("a dripping tap", "Repairs"),
        ("Two leaky TAPS in the kitchen", "Repairs"),
        ("lift to the clinic", "Lifts"),
        ("Lifts to the hospital on Mondays", "Lifts"),
        ("gardening on Saturdays", "Garden"),
        ("a cup of tea and a chat", "Company"),
        ("repairing bikes", "Repairs"),
        ("a lift to fix my tap", None),  # two categories: the caller falls back
        ("help with the tapestry", None),  # "tap" is too short to match as a prefix
        ("tea", None),  # a keyword of several words needs them all
        ("dog walking", None),
    ],
)
def test_guess_category_by_name_or_keyword(text, category):
    assert listings.guess_category(text, CATEGORIES, KEYWORDS) == category


def test_guess_category_by_name_alone_without_keywords():
    assert listings.guess_category("Gardening", CATEGORIES) == "Garden"
    assert listings.guess_category("a dripping tap", CATEGORIES) is None


def test_keywords_must_name_a_category():
    with pytest.raises(ConfigError) as caught:
        parse_config({"timebank": {"keywords": {"Plumbing": ["tap"]}}})
    assert str(caught.value) == (
        "config: timebank.keywords: 'Plumbing' is not one of the categories:"
        " Shopping, Company, Garden, Repairs, Lifts, Other"
    )
    with pytest.raises(ConfigError, match=r"timebank\.keywords: 'Repairs' has an empty word"):
        parse_config({"timebank": {"keywords": {"Repairs": ["tap", " "]}}})


def test_example_config_has_keywords_for_every_category():
    config = load_config(ROOT / "config.example.toml")
    assert set(config.timebank.keywords) == set(config.timebank.categories)
    names, keywords = config.timebank.categories, config.timebank.keywords
    assert listings.guess_category("a dripping tap", names, keywords) == "Repairs"
    assert listings.guess_category("a lift to the clinic", names, keywords) == "Lifts"


class TestQuickPostGuessesFromKeywords:
    @pytest.fixture
    def config(self, tmp_path):
        return make_config(tmp_path, categories=CATEGORIES, keywords=KEYWORDS)

    async def test_quick_posts_land_in_the_category_their_words_point_to(self, alice, svc):
        await alice.says("/need a dripping tap")
        assert "Need</b> · Repairs" in alice.last_text
        await alice.says("/need a lift to the clinic on Tuesday")
        assert "Need</b> · Lifts" in alice.last_text
        await alice.says("/offer gardening on Saturdays")
        assert "Offer</b> · Garden" in alice.last_text
        await alice.says("/need a lift to fix my tap")
        assert "Need</b> · Other" in alice.last_text
        rows = await svc.db.all("SELECT body, category FROM listings ORDER BY id")
        assert [tuple(row) for row in rows] == [
            ("a dripping tap", "Repairs"),
            ("a lift to the clinic on Tuesday", "Lifts"),
            ("gardening on Saturdays", "Garden"),
            ("a lift to fix my tap", "Other"),
        ]


async def test_cards_show_the_owners_neighbourhood(alice, person, svc):
    await alice.taps("I need")
    await alice.taps("Garden")
    await alice.says("Someone to help me cut the hedge")
    await alice.taps("Skip")
    assert "📍 Riverside" in alice.last_text, "the preview looks like the published listing"
    await alice.taps("Publish")
    assert "📍 Riverside" in alice.last_text
    dan = await person("Dan", 104, place="Old Town")
    await dan.says("/search hedge")
    await dan.taps("1. Someone")
    assert "Someone to help me cut the hedge\n📍 Riverside\n— Alice" in dan.last_text
    listing = (await listings.search(svc.db, words="hedge", offset=0)).items[0]
    assert listing.owner_neighbourhood == "Riverside"


async def test_a_card_without_a_neighbourhood_leaves_the_line_out(alice, bob, svc):
    await alice.says("/offer ironing")
    async with svc.db.transaction() as tx:
        await tx.execute("UPDATE members SET neighbourhood = NULL WHERE display_name = 'Alice'")
    await bob.says("/search ironing")
    await bob.taps("1. ironing")
    assert "📍" not in bob.last_text
    assert "— Alice" in bob.last_text


async def test_a_second_tap_on_publish_says_it_was_published(alice, svc):
    await alice.taps("I can offer")
    await alice.taps("Garden")
    await alice.says("weeding")
    await alice.taps("Skip")
    preview = alice.last
    publish = next(b["callback_data"] for b in preview.inline_buttons if "Publish" in b["text"])
    await alice.taps("Publish")
    await alice.presses(publish, preview)
    assert alice.last_text.startswith("That was published already.")
    assert len(await listings.open_by_owner(svc.db, 1)) == 1
