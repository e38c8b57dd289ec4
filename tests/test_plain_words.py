"""Plain words: every member flow works by tapping buttons, typing only where a member
describes something, and every message fits a small phone's screen without scrolling."""

from __future__ import annotations

import math
import re
from datetime import timedelta

import pytest

from bot.sandbox.standin import ChatMember, SentMessage
from bot.ui.i18n import catalogue, hours, languages, messages, t
from bot.ui.render import day_words
from storage import ledger
from storage.models import FORMER_MEMBER_ID
from tests.test_exchanges import member_id

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
    """A member who only taps buttons, named by catalogue key in their own language;
    `describes` is the one place they type."""

    def __init__(self, member: ChatMember, language: str) -> None:
        self.member, self.language = member, language

    async def taps(self, *keys: str) -> None:
        for key in keys:
            await self.member.taps(self.label(key))

    def label(self, key: str, **params: str) -> str:
        """A catalogue key's text, or a label that isn't ours (a name, a listing, a category)."""
        return t(key, self.language, **params) if key in messages() else key

    async def picks_from_menu(self, command: str) -> None:
        """A command tapped in Telegram's own / menu (sent as text, but chosen, not typed)."""
        await self.member.says(command)

    async def describes(self, words: str) -> None:
        await self.member.says(words)


async def walk_every_member_flow(a: ButtonsOnly, b: ButtonsOnly, garden: str, shop: str) -> None:
    """Join, post an offer and a need, browse, answer, agree a time, confirm the hours; look at
    one's hours, posts, history, settings and details, take one's data; block and unblock,
    report, offer to visit people home from hospital, leave: buttons all the way."""
    for member in (a, b):
        await member.member.says("/start")  # what Telegram's own START button sends
        await member.taps(member.member.first_name, "Riverside", "join.agree")
    await a.taps("menu.offer", garden)
    await a.describes("Weeding and mowing small gardens")
    await a.taps("post.skip", "post.publish")
    await b.taps("menu.need", shop)
    await b.describes("Someone to fetch my prescription on Fridays")
    await b.taps("post.skip", "post.publish")
    await b.taps("menu.browse", "browse.offers", garden, "1. Weeding", "listing.would_like")
    await a.taps("response.accept")
    await a.taps("menu.browse", "browse.needs", "browse.all_categories", "1. Someone")
    await a.taps("listing.can_help")
    await b.taps("response.accept", "exchange.set_time")
    await b.taps(b.member.inline_labels[1], "10:00")  # tomorrow at ten
    await a.taps("exchange.it_happened", hours(60, a.language))
    await b.taps("exchange.yes")
    await a.taps("menu.hours", "account.history")
    await a.taps("menu.hours", "account.my_posts", "listing.close", "listing.reopen")
    await a.taps("menu.hours", "account.settings", "settings.turn_off", "settings.use_digest")
    await a.taps("menu.hours", "account.settings", "settings.details_button")
    await a.taps("details.change_place", "Old Town")
    await a.taps("menu.hours", "account.settings", "settings.details_button")
    await a.taps("details.privacy", "details.data")
    await a.taps("menu.browse", "browse.needs", "browse.all_categories", "1. Someone")
    await a.taps("safety.block", a.label("safety.block_yes", name="Bob"))
    await a.picks_from_menu("/blocked")
    await a.taps(a.label("safety.unblock", name="Bob"))
    await b.taps("menu.browse", "browse.offers", garden, "1. Weeding", "safety.report")
    await b.taps("safety.reason_no_show", "safety.skip_note", "safety.send")
    await a.picks_from_menu("/visitor")
    await a.taps("visitor.yes", "Riverside", "visitor.done", "visitor.free_evenings")
    await a.taps("visitor.done", "visitor.send")
    await b.taps("menu.hours", "account.settings", "settings.details_button", "details.privacy")
    await b.taps("details.leave", "forget.yes")
    await a.taps("settings.language_button", "Español")
    a.language = "es"
    await a.taps("menu.help")


async def walk_the_wards_link(c: ButtonsOnly) -> None:
    """A patient opens a ward's link (what its QR code sends) and asks for a home visit: agree,
    their name, their area, their number shared by the phone, the address typed, the day, a
    need, done."""
    await c.member.says("/start visit-ward7")  # what the ward's link or QR code sends
    await c.taps("join.agree", c.member.first_name, "Riverside", "referral.share_phone")
    await c.describes("2 Mill Lane, the green door")
    await c.taps("referral.yesterday", "referral.need_heating", "referral.needs_done")


@pytest.mark.parametrize(
    ("language", "garden", "shop"), [("en", "Garden", "Shopping"), ("es", "Jardín", "Compras")]
)
async def test_every_member_flow_works_with_buttons_only(
    person, svc, clock, api, language, garden, shop
):
    """Members whose Telegram is in English or Spanish walk every flow in their language, see
    dates in it, and every message fits the screen."""
    alice = await person("Alice", 101, joined=False)
    bob = await person("Bob", 102, joined=False)
    cal = await person("Cal", 103, joined=False)
    for member in (alice, bob, cal):
        member.language_code = language
    await walk_every_member_flow(
        ButtonsOnly(alice, language), ButtonsOnly(bob, language), garden, shop
    )
    await walk_the_wards_link(ButtonsOnly(cal, language))

    alice_id = await member_id(svc, alice)
    assert await ledger.balance(svc.db, alice_id) == 60
    assert await ledger.balance(svc.db, FORMER_MEMBER_ID) == -60  # Bob left at the end
    assert api.uploads[0][1].startswith("my-timebank-data-")
    assert alice.texts_since(0).count(t("visitor.sent_kept", language)) == 1
    tomorrow = (clock.now().astimezone(svc.config.zone) + timedelta(days=1)).date()
    assert any(
        day_words(tomorrow, "time.long_day", language) in text for text in bob.texts_since(0)
    )
    assert alice.last_text.startswith(t("help.hours", "es"))  # she chose Español at the end
    assert cal.last_text == t("referral.patient_done", language, name="Cal")
    assert await svc.db.scalar("SELECT COUNT(*) FROM referrals WHERE source = 'ward'") == 1
    seen = [message for member in (alice, bob, cal) for message in member.messages]
    assert max(lines_of(message) for message in seen) <= SCREEN_LINES
