"""The message catalogue, the callback codec, keyboards and the command table, without Telegram."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from telegram.ext import CommandHandler

from bot.app import build_application
from bot.config import parse_config
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, parse
from bot.ui.commands import COMMANDS
from bot.ui.i18n import (
    PLURAL_CATEGORIES,
    catalogue,
    hours,
    languages,
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
    return {key.split(".")[0] for key in catalogue("en")}


def test_every_key_used_in_code_exists_in_every_language():
    for language in languages():
        missing = keys_used_in_code() - set(catalogue(language)) - plural_keys(language)
        assert not missing, f"{language} lacks {sorted(missing)}"
        for prefix in prefixes_used_in_code():
            assert any(key.startswith(prefix) for key in catalogue(language)), prefix


def test_placeholders_match_across_languages():
    english = catalogue("en")

    def reference(key: str) -> set[str]:
        """A message's placeholders in English; for a plural form, its English forms' all."""
        group, _, form = key.rpartition(".")
        if form in PLURAL_CATEGORIES and group in plural_keys("en"):
            forms = [text for name, text in english.items() if name.startswith(f"{group}.")]
            return {name for text in forms for name in PLACEHOLDER.findall(text)}
        return set(PLACEHOLDER.findall(english[key]))

    for language in languages():
        for key, text in catalogue(language).items():
            assert set(PLACEHOLDER.findall(text)) <= reference(key), key


def plural_problems(messages: dict[str, str], language: str) -> list[str]:
    """What is wrong with the plural messages of one language: a form its CLDR rules need
    is missing, or a sub-key is not a form the language has."""
    needed = plural_forms_needed(language)
    groups: dict[str, set[str]] = {}
    for key in messages:
        group, _, form = key.rpartition(".")
        if form in PLURAL_CATEGORIES:
            groups.setdefault(group, set())
    for key in messages:
        group, _, form = key.rpartition(".")
        if group in groups:
            groups[group].add(form)
    problems = []
    for group, forms in sorted(groups.items()):
        if missing := needed - forms:
            problems.append(f"{language}: {group} lacks {', '.join(sorted(missing))}")
        if extra := forms - needed:
            problems.append(f"{language}: {group} has {', '.join(sorted(extra))}, not a form here")
    return problems


def test_every_plural_message_has_the_forms_its_language_needs():
    for language in languages():
        assert plural_problems(catalogue(language), language) == []


def test_a_plural_message_missing_a_cldr_form_is_caught():
    assert plural_problems({"a.send.one": "{count} person"}, "en") == ["en: a.send lacks other"]
    assert plural_problems({"a.send.one": "x", "a.send.other": "y"}, "ru") == [
        "ru: a.send lacks few, many"
    ]
    assert plural_problems({"a.send.other": "y", "a.send.many": "z"}, "en") == [
        "en: a.send lacks one",
        "en: a.send has many, not a form here",
    ]
    assert plural_problems({"a.send.one": "x", "a.send.other": "y", "a.b": "z"}, "en") == []


def test_counts_in_plain_messages_are_plural_messages_instead():
    for language in languages():
        for key, text in catalogue(language).items():
            group, _, form = key.rpartition(".")
            if form in PLURAL_CATEGORIES and group in plural_keys(language):
                continue
            if COUNTED_NOUN.search(text):
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
        keyboards.response_choice(999_999_999),
        keyboards.approve_held(999_999_999),
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
