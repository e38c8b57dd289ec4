"""The message catalogue: every sentence a member sees, in gettext PO files, the format
translators' tools (Poedit, Weblate, Crowdin, Lokalize) read.

- `locales/messages.pot` is the English source and the template a new language starts from
  (`pybabel init -i bot/ui/locales/messages.pot -l fr -o bot/ui/locales/fr.po`). Each message's
  msgctxt is the key the code uses (`join.welcome`); its msgid is the English text; a message
  with a count has a msgid_plural too. Placeholders are `{name}` (flagged python-brace-format).
- `locales/<language>.po` translates it. Its Plural-Forms header, which picks a plural form for
  a count, is Babel's rule for the language (a test holds it to that); numbers are written the
  language's way by Babel ("1,200", "1.200").

The language of the update being handled is a context variable, set once per update by the gate
(and per notice by the sender), so `t("key")` speaks the member's language without every call
passing it; passing `language=` still wins.
"""

from __future__ import annotations

import gettext
import html
import io
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
TEMPLATE = LOCALES_DIR / "messages.pot"
SOURCE_LANGUAGE = "en"
DEFAULT_LANGUAGE = SOURCE_LANGUAGE

_speaking: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)
# The timebank's own words (its categories, named in config) in the language being spoken.
_own_words: ContextVar[Mapping[str, str]] = ContextVar("own_words", default=MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a catalogue: its key and its text, or its plural forms in the order of
    the language's Plural-Forms (English: singular, plural)."""

    key: str
    forms: tuple[str, ...]

    @property
    def is_plural(self) -> bool:
        return self.key in plural_keys()


class Html(str):
    """A value that is already safe HTML (a link we built), so `t` leaves it unescaped."""

    __slots__ = ()


def current_language() -> str:
    """The language of the member this update or notice is for."""
    return _speaking.get()


@contextmanager
def speaking(language: str, own_words: Mapping[str, str] | None = None) -> Iterator[None]:
    """Speak `language` inside the block (a notice rendered for its recipient), naming the
    timebank's categories with `own_words` (config's names in that language)."""
    tokens = (_speaking.set(language), _own_words.set(own_words or {}))
    try:
        yield
    finally:
        _speaking.reset(tokens[0])
        _own_words.reset(tokens[1])


def speak(language: str, own_words: Mapping[str, str] | None = None) -> None:
    """Speak `language` for the rest of this update: each update runs in a task of its own, so
    the setting ends with it."""
    _speaking.set(language)
    _own_words.set(own_words or {})


def category_name(category: str) -> str:
    """A category as the member reads it: the timebank's name for it in their language (from
    config), else the name as configured."""
    return _own_words.get().get(category, category)


@cache
def languages() -> tuple[str, ...]:
    """Every language with a catalogue, English first."""
    return (SOURCE_LANGUAGE, *sorted(path.stem for path in LOCALES_DIR.glob("*.po")))


def supported(code: str | None) -> str | None:
    """Our language for a Telegram `language_code` ("es-419" → "es"), or None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    return base if base in languages() else None


def usable(language: str | None) -> str | None:
    """`language` if it still has a catalogue (a member's choice outlives a removed one)."""
    return language if language in languages() else None


def language_name(language: str) -> str:
    """The language's name in itself ("English", "Español"), for a button."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def t(key: str, language: str | None = None, **params: Any) -> Html:
    """The text for `key`, placeholders filled in; what members typed is HTML-escaped.
    The result is Html, so a text placed inside another is not escaped twice.

    A plural message takes its form from `count` (as `tn`), or else from its one whole-number
    parameter (`days=5`)."""
    language = language or current_language()
    source = _source()[key]
    if len(source.forms) > 1:
        name = "count" if "count" in params else _the_one_number(key, params)
        return _plural(key, language, name, params)
    text = _translations(language).pgettext(key, source.forms[0])
    return _fill(text, params)


def tn(key: str, count: int | float | Decimal, language: str | None = None, **params: Any) -> Html:
    """The plural message `key` in the form the language gives `count` ("1 person",
    "2 people"), with {count} written the language's way ("1,200")."""
    return _plural(key, language or current_language(), "count", {**params, "count": count})


def number(value: int | float | Decimal, language: str | None = None) -> str:
    """A number written the language's way: 1200 → "1,200" in English, "1200" in Spanish."""
    return format_decimal(value, locale=language or current_language())


def hours(minutes: int, language: str | None = None) -> Html:
    """Minutes shown as hours in quarters: 90 -> "1½ hours", -15 -> "−¼ hour"."""
    language = language or current_language()
    sign = "−" if minutes < 0 else ""
    whole, rest = divmod(abs(minutes), 60)
    quarters = rest // 15
    fraction = ("", "¼", "½", "¾")[quarters]
    amount = f"{number(whole, language) if whole else ''}{fraction}" or "0"
    # A part of one hour reads like one ("¾ hour"); otherwise the amount itself decides
    # (1 hour, 1½ hours, 0 hours).
    counted = 1 if not whole and quarters else Decimal(whole) + Decimal(quarters) / 4
    singular, plural = _source()["hours"].forms
    text = _translations(language).npgettext("hours", singular, plural, _whole(counted))
    return _fill(text, {"n": f"{sign}{amount}"})


def link(name: str, telegram_id: int | None, username: str | None) -> Html:
    """A tappable link to a member's Telegram chat (just the name if they have none; "a former
    member" for someone who left, whose name is gone)."""
    if not name:
        return t("member.former")
    if telegram_id is None:
        return Html(html.escape(name))
    if username:
        return Html(f'<a href="https://t.me/{html.escape(username)}">{html.escape(name)}</a>')
    return Html(f'<a href="tg://user?id={telegram_id}">{html.escape(name)}</a>')


# The catalogue as data, for tests, the fuzzer and translators' checks.


def messages(language: str = SOURCE_LANGUAGE) -> dict[str, Message]:
    """The language's messages by key; a message it hasn't translated (or marked fuzzy) is
    missing, so a test can name it."""
    if language == SOURCE_LANGUAGE:
        return _source()
    return _translated(language)


def catalogue(language: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """Every text of the language by key; a plural message's forms as `key.0`, `key.1`, …"""
    flat: dict[str, str] = {}
    for key, message in messages(language).items():
        if message.is_plural:
            flat.update({f"{key}.{index}": form for index, form in enumerate(message.forms)})
        else:
            flat[key] = message.forms[0]
    return flat


@cache
def plural_keys() -> frozenset[str]:
    """The plural messages: those with a msgid_plural in the English source."""
    return frozenset(key for key, message in _source().items() if len(message.forms) > 1)


def plural_forms_header(language: str) -> str:
    """The Plural-Forms header of the language's catalogue, as written in its PO file."""
    return _catalog(language).plural_forms


def plural_forms_needed(language: str) -> int:
    """How many forms each plural message of the language needs, by its Plural-Forms."""
    return _catalog(language).num_plurals


@cache
def _source() -> dict[str, Message]:
    return {
        str(message.context): Message(str(message.context), _as_forms(message.id))
        for message in _catalog(SOURCE_LANGUAGE)
        if message.id
    }


@cache
def _translated(language: str) -> dict[str, Message]:
    found: dict[str, Message] = {}
    for message in _catalog(language):
        forms = _as_forms(message.string)
        if message.id and not message.fuzzy and all(forms):
            found[str(message.context)] = Message(str(message.context), forms)
    return found


@cache
def _catalog(language: str) -> Catalog:
    path = TEMPLATE if language == SOURCE_LANGUAGE else LOCALES_DIR / f"{language}.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=None if language == SOURCE_LANGUAGE else language)


@cache
def _translations(language: str) -> gettext.NullTranslations:
    """gettext's own lookup: a translated message, else the English one. English is the
    source, so its lookups return the msgids, its plural rule the source's (singular for 1)."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, _catalog(language))
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _as_forms(text: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if isinstance(text, str):
        return (text,)
    return tuple(text or ("",))


def _plural(key: str, language: str, name: str, params: dict[str, Any]) -> Html:
    """The form the language gives params[name]; every number in it written its way."""
    singular, plural = _source()[key].forms
    text = _translations(language).npgettext(key, singular, plural, _whole(params[name]))
    written = {
        param: number(value, language) if _is_number(value) else value
        for param, value in params.items()
    }
    return _fill(text, written)


def _whole(count: int | float | Decimal) -> int:
    """gettext's plural rules take whole numbers: a fraction counts as the next one up, so
    1½ reads like 2 ("1½ hours")."""
    return math.ceil(count)


def _fill(text: str, params: dict[str, Any]) -> Html:
    if not params:
        return Html(text)
    return Html(text.format(**{name: _safe(value) for name, value in params.items()}))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _the_one_number(key: str, params: dict[str, Any]) -> str:
    numbers = [name for name, value in params.items() if _is_number(value)]
    if len(numbers) != 1:
        raise KeyError(f"{key} is a plural message: give it count=")
    return numbers[0]


def _safe(value: Any) -> Any:
    if isinstance(value, Html) or not isinstance(value, str):
        return value
    return html.escape(value, quote=False)
