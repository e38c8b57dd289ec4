"""The stand-in refuses what Telegram refuses, in Telegram's words, through the real Bot: HTML
its parser can't read, texts too long or empty, bad buttons, edits that change nothing, late or
repeated callback answers, gone users; and it lets everything the bot really sends through."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.sandbox.standin import (
    BUTTON_DATA_INVALID,
    BUTTON_TEXT_INVALID,
    CAPTION_TOO_LONG,
    CHAT_NOT_FOUND,
    EDIT_NOT_FOUND,
    MARKUP_TOO_LONG,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    TEXT_BUTTON_INLINE,
    TEXT_EMPTY,
    TEXT_TOO_LONG,
    EntityError,
    parse_html,
)
from bot.ui.i18n import catalogue, hours, languages, link, t
from bot.ui.render import card, utf16_length
from storage import ledger
from tests.conftest import post

CHAT = 101
BUTTON = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
PHOTO = b"\x89PNG\r\n\x1a\n"
# What members type, with every character HTML cares about.
TRICKY = 'Fish & chips <3 "today" > 2'


async def refused(
    call: Awaitable[object], description: str, kind: type[TelegramError] = BadRequest
) -> None:
    """`call` fails as python-telegram-bot reports Telegram's `description` (it drops "Bad
    Request: " and lowercases the rest after a capital, so compare without case)."""
    with pytest.raises(kind) as caught:
        await call
    error: TelegramError = caught.value
    assert error.message.lower() == description.removeprefix("Bad Request: ").lower()


def entity_error(reason: str) -> str:
    return f"Bad Request: can't parse entities: {reason}"


# --- the parser, on its own ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "shown"),
    [
        ("Q&A: 3 > 2, see you at 5", "Q&A: 3 > 2, see you at 5"),
        ("<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins>", "bsieun"),
        ("<s>s</s><strike>k</strike><del>d</del>", "skd"),
        ('<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>', "xy"),
        (
            '<a href="https://example.org/?a=1&amp;b=2">site</a> <a href="tg://user?id=5">Al</a>',
            "site Al",
        ),
        (
            '<pre><code class="language-python">if x &lt; 1:</code></pre><code>y</code>',
            "if x < 1:y",
        ),
        ("<blockquote expandable>long</blockquote><blockquote>short</blockquote>", "longshort"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ("&lt;&gt;&amp;&quot; &#65;&#x1F600; &lt", '<>&" A😀 <'),
        ("&nbsp; &copy; &#0; &#X41; & alone", "&nbsp; &copy; &#0; &#X41; & alone"),
        ("<B>caps</b> <i>closed by</>", "caps closed by"),
        ("<b title = 'x'>extra attributes are ignored</b>", "extra attributes are ignored"),
    ],
)
def test_supported_html_gives_the_text_telegram_shows(html, shown):
    assert parse_html(html) == shown


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("x < y", 'Unsupported start tag "" at byte offset 2'),
        ("Hello <br> there", 'Unsupported start tag "br" at byte offset 6'),
        ("<p>para</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("Hi <b>there", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("é <b", "Unclosed start tag at byte offset 3"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<a href="x', "Unclosed start tag at byte offset 0"),
        ("<a href=", 'Unclosed start tag "a" at byte offset 0'),
        ("<a =x>", 'Empty attribute name in the tag "a" at byte offset 0'),
        ("<a href=tg://user?id=5>x</a>", "Unexpected end of name token at byte offset 8"),
        ('<tg-emoji emoji-id="07">x</tg-emoji>', "Invalid custom emoji identifier specified"),
        (
            "&#xD83D;",
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units",
        ),
    ],
)
def test_html_telegram_cant_parse_is_refused_in_its_words(html, reason):
    with pytest.raises(EntityError) as caught:
        parse_html(html)
    assert caught.value.description == entity_error(reason)


def test_lengths_are_counted_in_utf16_code_units():
    assert utf16_length("aé€") == 3
    assert utf16_length("👍") == 2


# --- through python-telegram-bot's Bot ----------------------------------------------------------


async def test_bad_html_is_refused_in_texts_edits_and_captions(app, api):
    reason = entity_error('Unsupported start tag "" at byte offset 2')
    await refused(app.bot.send_message(CHAT, "1 < 2"), reason)
    await refused(app.bot.send_photo(CHAT, PHOTO, caption="1 < 2"), reason)
    await refused(app.bot.send_document(CHAT, PHOTO, caption="1 < 2"), reason)
    sent = await app.bot.send_message(CHAT, "1 &lt; 2")
    await refused(app.bot.edit_message_text("1 < 2", CHAT, sent.message_id), reason)
    assert api.messages(CHAT)[-1].text == "1 &lt; 2"
    assert await app.bot.send_message(CHAT, "1 < 2", parse_mode=None)  # plain text isn't parsed


async def test_text_length_is_what_telegram_shows_after_parsing(app):
    assert await app.bot.send_message(CHAT, "a" * 4096)
    assert await app.bot.send_message(CHAT, "<b>" + "a" * 4096 + "</b>")
    assert await app.bot.send_message(CHAT, "&amp;" * 4096)
    assert await app.bot.send_message(CHAT, "👍" * 2048)
    await refused(app.bot.send_message(CHAT, "a" * 4097), TEXT_TOO_LONG.description)
    await refused(app.bot.send_message(CHAT, "👍" * 2049), TEXT_TOO_LONG.description)
    sent = await app.bot.send_message(CHAT, "short")
    await refused(
        app.bot.edit_message_text("a" * 4097, CHAT, sent.message_id), TEXT_TOO_LONG.description
    )


@pytest.mark.parametrize("text", [" \n ", "<b> </b>", "<i></i>", "&#32;"])
async def test_a_text_with_nothing_to_show_is_refused(app, text):
    await refused(app.bot.send_message(CHAT, text), TEXT_EMPTY.description)


async def test_an_empty_text_is_read_as_it_travels(app, api):
    async with Bot(app.bot.token, request=api) as plain:
        await refused(plain.send_message(CHAT, ""), TEXT_EMPTY.description)
    # With Defaults, python-telegram-bot's ExtBot sends "" as [], which Telegram gets as "[]".
    assert await app.bot.send_message(CHAT, "")
    assert api.messages(CHAT)[-1].text == "[]"


async def test_captions_may_be_empty_but_not_over_1024(app):
    assert await app.bot.send_photo(CHAT, PHOTO)
    assert await app.bot.send_photo(CHAT, PHOTO, caption="<i>" + "a" * 1024 + "</i>")
    assert await app.bot.send_document(CHAT, PHOTO, caption="a" * 1024)
    await refused(app.bot.send_photo(CHAT, PHOTO, caption="a" * 1025), CAPTION_TOO_LONG.description)
    await refused(
        app.bot.send_document(CHAT, PHOTO, caption="👍" * 513), CAPTION_TOO_LONG.description
    )


def inline(text: str, **action: Any) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, **action)]])


def grid(*, rows: int, columns: int, spare: int = 0) -> InlineKeyboardMarkup:
    """rows × columns buttons, and `spare` more, one to a row."""
    button = InlineKeyboardButton("Go", callback_data="go")
    return InlineKeyboardMarkup([[button] * columns] * rows + [[button]] * spare)


async def test_a_full_keyboard_of_a_hundred_buttons_is_fine(app):
    assert await app.bot.send_message(CHAT, "Pick", reply_markup=grid(rows=12, columns=8, spare=4))


@pytest.mark.parametrize(
    ("markup", "failure"),
    [
        (inline("Go", callback_data="é" * 33), BUTTON_DATA_INVALID),  # 66 bytes
        (inline("Go", callback_data=""), BUTTON_DATA_INVALID),
        (inline("", callback_data="go"), BUTTON_TEXT_INVALID),
        (inline("  ", url="https://example.org"), BUTTON_TEXT_INVALID),
        (inline("Go"), TEXT_BUTTON_INLINE),
        (ReplyKeyboardMarkup([["Yes", ""]]), BUTTON_TEXT_INVALID),
        (grid(rows=9, columns=8, spare=29), MARKUP_TOO_LONG),  # 101 buttons
        (grid(rows=1, columns=9), MARKUP_TOO_LONG),  # 9 in a row
    ],
)
async def test_bad_buttons_are_refused_when_sent_or_edited(app, markup, failure):
    await refused(app.bot.send_message(CHAT, "Pick", reply_markup=markup), failure.description)
    if isinstance(markup, InlineKeyboardMarkup):
        sent = await app.bot.send_message(CHAT, "Pick")
        edit = app.bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=markup)
        await refused(edit, failure.description)
        edit_text = app.bot.edit_message_text("Now", CHAT, sent.message_id, reply_markup=markup)
        await refused(edit_text, failure.description)


async def test_callback_data_of_exactly_64_bytes_is_fine(app):
    assert await app.bot.send_message(
        CHAT, "Pick", reply_markup=inline("Go", callback_data="é" * 32)
    )


async def test_edits_that_change_nothing_are_refused(app, api):
    sent = await app.bot.send_message(CHAT, "Pick", reply_markup=BUTTON)
    same_markup = app.bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=BUTTON)
    await refused(same_markup, NOT_MODIFIED.description)
    same_text = app.bot.edit_message_text("Pick", CHAT, sent.message_id, reply_markup=BUTTON)
    await refused(same_text, NOT_MODIFIED.description)
    assert await app.bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
    no_markup_again = app.bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=None)
    await refused(no_markup_again, NOT_MODIFIED.description)
    assert await app.bot.edit_message_text("Picked", CHAT, sent.message_id)
    assert api.messages(CHAT)[-1].text == "Picked"


async def test_a_deleted_message_cannot_be_edited(app):
    sent = await app.bot.send_message(CHAT, "Soon gone", reply_markup=BUTTON)
    assert await app.bot.delete_message(CHAT, sent.message_id)
    await refused(
        app.bot.edit_message_text("Back?", CHAT, sent.message_id), EDIT_NOT_FOUND.description
    )
    await refused(
        app.bot.edit_message_reply_markup(CHAT, sent.message_id), EDIT_NOT_FOUND.description
    )


async def test_a_callback_query_is_answered_once_within_15_seconds(app, api, clock):
    query = api.new_callback_query()
    assert await app.bot.answer_callback_query(query, text="Saved")
    assert api.callback_answers[query]["text"] == "Saved"
    await refused(app.bot.answer_callback_query(query), QUERY_TOO_OLD.description)
    await refused(app.bot.answer_callback_query("never-made"), QUERY_TOO_OLD.description)
    assert await app.bot.answer_callback_query(api.new_callback_query(age_seconds=15))
    await refused(
        app.bot.answer_callback_query(api.new_callback_query(age_seconds=16)),
        QUERY_TOO_OLD.description,
    )
    waiting = api.new_callback_query()
    clock.advance(timedelta(seconds=16))
    await refused(app.bot.answer_callback_query(waiting), QUERY_TOO_OLD.description)


async def test_a_late_press_reaches_the_bot_with_an_expired_query(alice, api):
    await alice.says("/settings")
    answered = len(api.callback_answers)
    await alice.taps("Turn nudges off")
    assert len(api.callback_answers) == answered + 1
    settings = alice.last
    await alice.presses(settings.inline_buttons[0]["callback_data"], settings, age_seconds=20)
    call, failure = api.refusals[-1]
    assert (call.method, failure) == ("answerCallbackQuery", QUERY_TOO_OLD)
    assert len(api.callback_answers) == answered + 1


async def test_gone_users_are_refused_like_telegram_refuses_them(app, api):
    api.deactivated.add(CHAT)
    await refused(app.bot.send_message(CHAT, "Hi"), "Forbidden: user is deactivated", Forbidden)
    api.deactivated.clear()
    api.blocked.add(CHAT)
    await refused(
        app.bot.send_message(CHAT, "Hi"), "Forbidden: bot was blocked by the user", Forbidden
    )
    api.blocked.clear()
    api.fail_next("sendMessage", CHAT_NOT_FOUND, chat_id=CHAT)
    await refused(app.bot.send_message(CHAT, "Hi"), CHAT_NOT_FOUND.description)
    assert await app.bot.send_message(CHAT, "Hi")


async def test_refusals_are_kept_with_their_call(app, api):
    await refused(app.bot.send_message(CHAT, "<b> </b>"), TEXT_EMPTY.description)
    call, failure = api.refusals[-1]
    assert (call.method, call.params["text"], failure) == ("sendMessage", "<b> </b>", TEXT_EMPTY)


async def test_a_round_trip_delays_every_answer(app, api):
    api.rtt = 0.05
    loop = asyncio.get_running_loop()
    started = loop.time()
    await app.bot.send_message(CHAT, "Hi")
    await app.bot.send_chat_action(CHAT, "typing")
    assert loop.time() - started >= 2 * api.rtt


# --- what the bot really sends -----------------------------------------------------------------


async def test_the_core_loop_sends_nothing_telegram_would_refuse(alice, bob, svc, api):
    await post(alice, "I need", "Shopping", TRICKY)
    await bob.says("/search chips")
    await bob.taps("1. Fish")
    await bob.taps("I can help")
    await alice.taps("Yes, please")
    await bob.taps("It happened")
    await bob.taps("1 hour")
    await alice.taps("Yes")
    assert await ledger.balance(svc.db, 2) == 60
    assert api.refusals == []


PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Placeholders the app fills with HTML it built itself; every other value is what a member
# typed, which `t` escapes.
BUILT = {
    "card": card("need", "Garden", TRICKY, TRICKY, owner=TRICKY, closed=True),
    "who": link(TRICKY, 5, None),
    "title": t("browse.title_search", words=TRICKY, page=2),
    "hours": hours(90),
    "balance": hours(-45),
}


@pytest.mark.parametrize(
    ("language", "key"),
    [(language, key) for language in languages() for key in sorted(catalogue(language))],
)
def test_every_catalogue_text_is_html_telegram_accepts(language, key):
    """Every form of every message, filled the way `t` fills it, parses as Telegram's HTML."""
    form = catalogue(language)[key]
    values = {name: BUILT.get(name, html.escape(TRICKY)) for name in PLACEHOLDER.findall(form)}
    assert parse_html(form.format(**values)).strip(), key
