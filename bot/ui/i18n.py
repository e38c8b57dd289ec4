"""The message catalogue: every sentence a member sees, by key, one TOML file per language.

Keys are dotted (`join.welcome`); placeholders are `{name}`. A test checks that every key used
in the code exists in every language with the same placeholders.

A message with a count is a plural message: one sub-key per CLDR plural category the language
uses (`broadcast.send.one`, `broadcast.send.other`; English needs one and other, other
languages more). `tn(key, count)` picks the form by Babel's CLDR rules and writes the count the
language's way ("1,200").
"""

from __future__ import annotations

import html
import tomllib
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import format_decimal

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LANGUAGE = "en"
# CLDR's plural categories, the only sub-keys a plural message may have.
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")


@cache
def catalogue(language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    with (LOCALES_DIR / f"{language}.toml").open("rb") as handle:
        return _flatten(tomllib.load(handle))


class Html(str):
    """A value that is already safe HTML (a link we built), so `t` leaves it unescaped."""

    __slots__ = ()


def t(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> Html:
    """The text for `key`, placeholders filled in; what members typed is HTML-escaped.
    The result is Html, so a text placed inside another is not escaped twice.

    A plural message takes its form from `count` (as `tn`), or else from its one whole-number
    parameter (`days=5`)."""
    messages = catalogue(language)
    if key not in messages and key in plural_keys(language):
        name = "count" if "count" in params else _the_one_number(key, params)
        return _plural(key, language, name, params)
    text = messages[key]
    if not params:
        return Html(text)
    return Html(text.format(**{name: _safe(value) for name, value in params.items()}))


def tn(
    key: str, count: int | float | Decimal, language: str = DEFAULT_LANGUAGE, **params: Any
) -> Html:
    """The plural message `key` in the form CLDR gives `count` in this language ("1 person",
    "2 people"), with {count} written the language's way ("1,200")."""
    return _plural(key, language, "count", {**params, "count": count})


def number(value: int | float | Decimal, language: str = DEFAULT_LANGUAGE) -> str:
    """A number written the language's way: 1200 → "1,200" in English."""
    return format_decimal(value, locale=language)


def plural_form(count: int | float | Decimal, language: str = DEFAULT_LANGUAGE) -> str:
    """CLDR's plural category of `count` in the language: "one", "other", "few", …"""
    return _locale(language).plural_form(count)


def plural_forms_needed(language: str) -> frozenset[str]:
    """The plural categories the language's CLDR rules use; each plural message needs them all."""
    return frozenset(_locale(language).plural_form.tags | {"other"})


@cache
def plural_keys(language: str = DEFAULT_LANGUAGE) -> frozenset[str]:
    """The plural messages of a language: keys whose sub-keys are CLDR plural categories."""
    return frozenset(
        key.rpartition(".")[0]
        for key in catalogue(language)
        if key.rpartition(".")[2] in PLURAL_CATEGORIES
    )


def _plural(key: str, language: str, name: str, params: dict[str, Any]) -> Html:
    """The form CLDR gives params[name]; every number in it written the language's way."""
    form = f"{key}.{plural_form(params[name], language)}"
    chosen = form if form in catalogue(language) else f"{key}.other"
    written = {
        param: number(value, language) if _is_number(value) else value
        for param, value in params.items()
    }
    return t(chosen, language, **written)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _the_one_number(key: str, params: dict[str, Any]) -> str:
    numbers = [name for name, value in params.items() if _is_number(value)]
    if len(numbers) != 1:
        raise KeyError(f"{key} is a plural message: give it count=")
    return numbers[0]


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


def link(name: str, telegram_id: int | None, username: str | None) -> Html:
    """A tappable link to a member's Telegram chat (just the name if they have none)."""
    if telegram_id is None:
        return Html(html.escape(name))
    if username:
        return Html(f'<a href="https://t.me/{html.escape(username)}">{html.escape(name)}</a>')
    return Html(f'<a href="tg://user?id={telegram_id}">{html.escape(name)}</a>')


def _safe(value: Any) -> Any:
    if isinstance(value, Html) or not isinstance(value, str):
        return value
    return html.escape(value, quote=False)


def languages() -> list[str]:
    return sorted(path.stem for path in LOCALES_DIR.glob("*.toml"))


def hours(minutes: int, language: str = DEFAULT_LANGUAGE) -> Html:
    """Minutes shown as hours in quarters: 90 -> "1½ hours", -15 -> "−¼ hour"."""
    sign = "−" if minutes < 0 else ""
    whole, rest = divmod(abs(minutes), 60)
    quarters = rest // 15
    fraction = ("", "¼", "½", "¾")[quarters]
    amount = f"{number(whole, language) if whole else ''}{fraction}" or "0"
    # A part of one hour reads like one ("¾ hour"); otherwise the language's rule decides
    # for the amount itself (1 hour, 1½ hours, 0 hours).
    counted = 1 if not whole and quarters else Decimal(whole) + Decimal(quarters) / 4
    form = f"hours.{plural_form(counted, language)}"
    key = form if form in catalogue(language) else "hours.other"
    return t(key, language, n=f"{sign}{amount}")


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat
