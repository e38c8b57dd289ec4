"""The message catalogue, the callback codec, keyboards and the command table, without Telegram."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from telegram.ext import CommandHandler

from bot.app import build_application
from bot.config import parse_config
from bot.ui import keyboards
from bot.ui.callbacks import Callback, parse
from bot.ui.commands import COMMANDS
from bot.ui.i18n import catalogue, hours, languages, t
from handlers.conversation import Conversation

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*ROOT.glob("bot/*.py"), *ROOT.glob("handlers/*.py")]
# t("key"), t(f"prefix_{x}") and keys named in tables ("errors.gone").
LITERAL_KEY = re.compile(r"""["']([a-z_]+\.[a-z_]+)["']""")
FSTRING_KEY = re.compile(r"""t\(\s*f["']([a-z_]+\.[a-z_]+)\{""")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


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
        missing = keys_used_in_code() - set(catalogue(language))
        assert not missing, f"{language} lacks {sorted(missing)}"
        for prefix in prefixes_used_in_code():
            assert any(key.startswith(prefix) for key in catalogue(language)), prefix


def test_placeholders_match_across_languages():
    english = catalogue("en")
    for language in languages():
        for key, text in catalogue(language).items():
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), key


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
    ],
)
def test_hours_read_naturally(minutes, text):
    assert hours(minutes) == text


def test_callback_codec_round_trips_and_refuses_junk():
    assert parse(Callback("ex", "yes", 42, "60").pack()) == Callback("ex", "yes", 42, "60")
    assert parse(Callback("br", "page", 5, "need.2").pack()) == Callback("br", "page", 5, "need.2")
    for junk in (None, "", "ex", "ex:yes", "EX:yes:1", "ex:yes:-1", "ex:yes:1" + "1" * 20):
        assert parse(junk) is None
    with pytest.raises(ValueError, match="64 bytes"):
        Callback("sr", "page", 0, "ö" * 40).pack()


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
