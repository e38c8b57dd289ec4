"""Counts in messages: the plural form by the catalogue's Plural-Forms, numbers written the
language's way."""

from __future__ import annotations

import pytest

from bot.config import parse_config
from bot.ui.i18n import hours, number, t, tn
from tests.conftest import make_config
from tests.test_coordinators import compose


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "📣 Send to 0 people"),
        (1, "📣 Send to 1 person"),
        (2, "📣 Send to 2 people"),
        (1200, "📣 Send to 1,200 people"),
    ],
)
def test_tn_picks_the_form_for_the_count(count, text):
    assert tn("broadcast.send", count) == text


def test_every_number_in_a_plural_message_is_written_the_languages_way():
    assert t("common.too_long", count=1, limit=2000) == "That's 1 letter. Please keep it to 2,000."
    assert t("common.too_long", count=2001, limit=2000) == (
        "That's 2,001 letters. Please keep it to 2,000."
    )
    assert tn("broadcast.ask_text", 2000) == "Type the message to send (up to 2,000 letters)."


def test_t_takes_a_plural_messages_form_from_its_one_number():
    assert "more than 1 day without" in t("coordinator.no_open_needs", days=1)
    assert "more than 5 days without" in t("coordinator.no_open_needs", days=5)
    with pytest.raises(KeyError, match="give it count="):
        t("common.too_long", length=3, limit=2)


def test_numbers_are_written_the_languages_way():
    assert number(1200) == "1,200"
    assert number(1200, "de") == "1.200"
    assert number(12000, "es") == "12.000"


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(15, "¼ hour"), (60, "1 hour"), (90, "1½ hours"), (-45, "−¾ hour"), (0, "0 hours")],
)
def test_hours_still_read_naturally(minutes, text):
    assert hours(minutes) == text


async def test_a_broadcast_to_one_person_says_person(coordinator, alice, bob, person):
    await person("Dan", 104, place="Old Town")
    await coordinator.says("/broadcast")
    assert coordinator.last_text == "Type the message to send (up to 2,000 letters)."
    await coordinator.says("x" * 2001)
    assert coordinator.last_text == "That's 2,001 letters. Please keep it to 2,000."
    await compose(coordinator, "Street party on Saturday!", "People in one area", "Old Town")
    assert "<b>1 person</b> will get it." in coordinator.last_text
    assert "📣 Send to 1 person" in coordinator.inline_labels


async def test_posting_says_how_many_letters_fit(alice):
    await alice.taps("I can offer")
    await alice.taps("Company")
    assert alice.last_text == (
        "Company: tell us in a few words what you can offer (up to 500 letters)."
    )


class TestOneDay:
    @pytest.fixture
    def config(self, tmp_path):
        base = make_config(tmp_path).model_dump()
        return parse_config({**base, "nudges": {**base["nudges"], "need_open_after_days": 1}})

    async def test_open_needs_after_one_day_says_day(self, coordinator):
        await coordinator.says("/open_needs")
        assert coordinator.last_text == "No need has waited more than 1 day without an answer. 🎉"
