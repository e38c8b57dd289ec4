"""The message catalogue, the callback codec, keyboards and the command table, without Telegram."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.plurals import get_plural
from telegram import InlineKeyboardMarkup
from telegram.ext import CommandHandler

from bot.app import build_application
from bot.config import parse_config
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, parse
from bot.ui.commands import COMMANDS
from bot.ui.i18n import (
    Message,
    hours,
    languages,
    messages,
    plural_forms_header,
    plural_forms_needed,
    plural_keys,
    t,
)
from handlers.conversation import Conversation

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/*.py")]
# t("key"), tn("key", n), t(f"prefix_{x}") and keys named in tables ("errors.gone").
LITERAL_KEY = re.compile(r"""["']([a-z_]+\.[a-z_]+)["']""")
FSTRING_KEY = re.compile(r"""\btn?\(\s*f["']([a-z_]+\.[a-z_]+)\{""")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# A number placeholder followed by a word that changes with the number: a plural message's job.
COUNTED_NOUN = re.compile(
    r"\{(?:count|total|sent|blocked|failed|skipped|limit|days|minutes|number|page|n)\}"
    r"(?:</b>)?\s+(?:people|persons?|letters?|days?|hours?|members?|needs|offers|exchanges"
    r"|times|weeks?|months?)\b"
)
# Plain messages allowed a counted noun, and why that is still grammatical.
COUNTED_NOUN_ALLOWED = {
    "report.wait_days": "handlers/reports.py only shows days for waits of two days or more",
}


def keys_used_in_code() -> set[str]:
    keys: set[str] = set()
    for path in SOURCES:
        text = path.read_text()
        keys |= {k for k in LITERAL_KEY.findall(text) if k.split(".")[0] in _sections()}
    return keys


def prefixes_used_in_code() -> set[str]:
    return {p for path in SOURCES for p in FSTRING_KEY.findall(path.read_text())}


def _sections() -> set[str]:
    return {key.split(".")[0] for key in messages("en")}


def test_every_key_used_in_code_exists_in_every_language():
    for language in languages():
        missing = keys_used_in_code() - set(messages(language))
        assert not missing, f"{language} lacks {sorted(missing)}"
        for prefix in prefixes_used_in_code():
            assert any(key.startswith(prefix) for key in messages(language)), prefix


def test_every_language_translates_every_message_and_nothing_else():
    english = set(messages("en"))
    for language in languages():
        translated = set(messages(language))
        assert not english - translated, f"{language} misses {sorted(english - translated)}"
        assert not translated - english, f"{language} has unknown {sorted(translated - english)}"


def placeholder_problems(translation: dict[str, Message]) -> list[str]:
    """Messages whose placeholders differ from English: a form with one English lacks, or a
    message (all its forms together) missing one English has."""
    english = messages("en")
    problems = []
    for key, message in sorted(translation.items()):
        wanted = {name for form in english[key].forms for name in PLACEHOLDER.findall(form)}
        found = [set(PLACEHOLDER.findall(form)) for form in message.forms]
        if any(names - wanted for names in found) or set().union(*found) != wanted:
            problems.append(key)
    return problems


def test_placeholders_match_english():
    for language in languages():
        assert placeholder_problems(messages(language)) == [], language


def test_a_placeholder_that_differs_is_caught():
    assert placeholder_problems({"join.welcome": Message("join.welcome", ("Hola {time}",))}) == [
        "join.welcome"
    ]
    assert placeholder_problems({"join.welcome": Message("join.welcome", ("Hola",))}) == [
        "join.welcome"
    ]


def plural_problems(translation: dict[str, Message], needed: int) -> list[str]:
    """Plural messages without exactly the forms the language's Plural-Forms asks for."""
    return [
        f"{key} has {len(message.forms)} forms, needs {needed}"
        for key, message in sorted(translation.items())
        if key in plural_keys() and (len(message.forms) != needed or not all(message.forms))
    ]


def test_every_plural_message_has_the_forms_its_language_needs():
    for language in languages():
        assert plural_problems(messages(language), plural_forms_needed(language)) == [], language


def test_a_plural_message_missing_a_form_is_caught():
    one_form = {"broadcast.send": Message("broadcast.send", ("Enviar a {count} persona",))}
    assert plural_problems(one_form, 2) == ["broadcast.send has 1 forms, needs 2"]


def test_plural_rules_are_babels_not_our_own():
    for language in languages()[1:]:
        assert plural_forms_header(language) == get_plural(language).plural_forms, language


def test_counts_in_plain_messages_are_plural_messages_instead():
    for language in languages():
        for key, message in messages(language).items():
            if key not in plural_keys() and COUNTED_NOUN.search(message.forms[0]):
                assert key in COUNTED_NOUN_ALLOWED, f"{language}: {key} needs plural forms"


def test_member_text_is_escaped_but_our_links_are_not():
    assert t("listing.body", body="<b>hi</b> & bye") == "&lt;b&gt;hi&lt;/b&gt; &amp; bye"
    nested = t("post.preview", card=t("listing.body", body="a<b"))
    assert nested.endswith("a&lt;b")


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (15, "¼ hour"),
        (30, "½ hour"),
        (60, "1 hour"),
        (90, "1½ hours"),
        (0, "0 hours"),
        (-45, "−¾ hour"),
        (-600, "−10 hours"),
        (735, "12¼ hours"),
        (-60, "−1 hour"),
        (75, "1¼ hours"),
        (120, "2 hours"),
        (72_000, "1,200 hours"),
    ],
)
def test_hours_read_naturally(minutes, text):
    assert hours(minutes) == text


def test_callback_codec_round_trips_and_refuses_junk():
    for callback in (
        Callback(Area.EXCHANGE, "yes", 42, "60"),
        Callback(Area.BROWSE, "page", 5, "need.2"),
    ):
        assert parse(callback.pack()) == callback
    for junk in (None, "", "ex", "ex:yes", "EX:yes:1", "ex:yes:-1", "ex:yes:1" + "1" * 20):
        assert parse(junk) is None
    with pytest.raises(ValueError, match="64 bytes"):
        Callback(Area.SEARCH, "page", 0, "ö" * 40).pack()


def test_every_keyboard_button_fits_telegrams_limit():
    markups = [
        keyboards.hours_picker(999_999_999),
        keyboards.hours_stepper(999_999_999, 720),
        keyboards.confirm_choice(999_999_999, 720),
        keyboards.not_quite_choice(999_999_999),
        keyboards.response_choice(999_999_999, 999_999_999),
        keyboards.approve_held(999_999_999),
        InlineKeyboardMarkup([keyboards.safety_row(999_999_999_999, 999_999_999_999)]),
        keyboards.report_actions(999_999_999_999, "x" * 64),
        keyboards.block_sure(999_999_999_999, "x" * 64),
    ]
    for markup in markups:
        for row in markup.inline_keyboard:
            for button in row:
                assert len(str(button.callback_data).encode()) <= 64


def test_stepper_never_offers_hours_outside_the_limits():
    def labels(minutes: int) -> list[str]:
        markup = keyboards.hours_stepper(1, minutes)
        return [b.text for row in markup.inline_keyboard for b in row]

    assert labels(15) == ["+ ¼", "+ 1 h", "✅ ¼ hour"]
    assert labels(720) == ["− 1 h", "− ¼", "✅ 12 hours"]


def test_every_registered_command_is_in_the_help_table(tmp_path):
    app = build_application(parse_config({"bot": {"database": str(tmp_path / "x.sqlite3")}}))
    registered: set[str] = set()
    for handlers in app.handlers.values():
        for handler in handlers:
            inner = handler.all_handlers() if isinstance(handler, Conversation) else [handler]
            for each in inner:
                if isinstance(each, CommandHandler):
                    registered |= set(each.commands)
    assert registered == {command.name for command in COMMANDS}
