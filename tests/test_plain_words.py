"""Plain words: every member flow works by tapping buttons, typing only where a member
describes something, and every message fits a small phone's screen without scrolling."""

from __future__ import annotations

import math
import re

import pytest

from bot.sandbox.standin import ChatMember, SentMessage
from bot.ui.i18n import catalogue, languages

# A small phone (a 4.7-inch screen, Telegram's default text size): about 36 letters to a line
# and room for 22 lines of a message; a row of buttons under it takes about two.
LETTERS_PER_LINE = 36
SCREEN_LINES = 22
TAG = re.compile(r"<[^>]+>")


def screen_lines(text: str, button_rows: int = 0) -> int:
    """How many lines of a small phone's screen a message takes, with its buttons."""
    visible = TAG.sub("", text)
    wrapped = sum(max(1, math.ceil(len(line) / LETTERS_PER_LINE)) for line in visible.split("\n"))
    return wrapped + 2 * button_rows


def lines_of(message: SentMessage) -> int:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return screen_lines(message.text, len(rows))


@pytest.mark.parametrize("language", languages())
def test_every_catalogue_message_is_short_enough_for_a_phone(language):
    """A single message leaves room on the screen for what is filled into it."""
    too_long = {
        key: screen_lines(text)
        for key, text in catalogue(language).items()
        if screen_lines(text) > SCREEN_LINES // 2
    }
    assert too_long == {}


class ButtonsOnly:
    """A member who taps; `describes` is the one place they type, and says so."""

    def __init__(self, member: ChatMember) -> None:
        self.member = member

    async def taps(self, *labels: str) -> None:
        for label in labels:
            await self.member.taps(label)

    async def describes(self, words: str) -> None:
        await self.member.says(words)


async def walk_every_member_flow(alice: ChatMember, bob: ChatMember) -> None:
    """Join, post an offer and a need, browse, answer, agree a time, confirm the hours, look at
    one's hours, posts, history and settings: buttons all the way."""
    a, b = ButtonsOnly(alice), ButtonsOnly(bob)
    for member in (alice, bob):
        await member.says("/start")  # what Telegram's own START button sends
        await ButtonsOnly(member).taps(member.first_name, "Riverside", "I agree")
    await a.taps("I can offer", "Garden")
    await a.describes("Weeding and mowing small gardens")
    await a.taps("Skip", "Publish")
    await b.taps("I need", "Shopping")
    await b.describes("Someone to fetch my prescription on Fridays")
    await b.taps("Skip", "Publish")
    await b.taps("Browse", "Offers", "Garden", "1. Weeding", "I'd like this")
    await a.taps("Yes, please")
    await a.taps("Browse", "Needs", "All", "1. Someone", "I can help")
    await b.taps("Yes, please")
    await b.taps("Set a time")
    await b.taps(bob.inline_labels[1])  # tomorrow
    await b.taps("10:00")
    await a.taps("It happened", "1 hour")
    await b.taps("Yes")
    await a.taps("My hours", "History")
    await a.taps("My hours", "My posts")
    await a.taps("Close")
    await a.taps("Reopen")
    await a.taps("My hours", "Settings")
    await a.taps("Turn nudges off")
    await a.taps("One daily round-up")
    await a.taps("Quiet 22")
    await a.taps("Language", "English")
    await a.taps("Help")


async def test_every_member_flow_works_with_buttons_only(alice_and_bob):
    alice, bob = alice_and_bob
    await walk_every_member_flow(alice, bob)
    assert "Thank you" in bob.texts_since(0)[-1] or bob.last_text
