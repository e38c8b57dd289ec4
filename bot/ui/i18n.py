"""The message catalogue: every sentence a member sees, by key, one TOML file per language.

Keys are dotted (`join.welcome`); placeholders are `{name}`. A test checks that every key used
in the code exists in every language with the same placeholders.
"""

from __future__ import annotations

import html
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DEFAULT_LANGUAGE = "en"


@cache
def catalogue(language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    with (LOCALES_DIR / f"{language}.toml").open("rb") as handle:
        return _flatten(tomllib.load(handle))


class Html(str):
    """A value that is already safe HTML (a link we built), so `t` leaves it unescaped."""

    __slots__ = ()


def t(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> Html:
    """The text for `key`, placeholders filled in; what members typed is HTML-escaped.
    The result is Html, so a text placed inside another is not escaped twice."""
    text = catalogue(language)[key]
    if not params:
        return Html(text)
    return Html(text.format(**{name: _safe(value) for name, value in params.items()}))


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
    whole, quarter = divmod(abs(minutes), 60)
    fraction = {0: "", 15: "¼", 30: "½", 45: "¾"}.get(quarter - quarter % 15, "")
    number = f"{whole or ''}{fraction}" or "0"
    key = "hours.one" if abs(minutes) <= 60 and minutes != 0 else "hours.many"
    return t(key, language, n=f"{sign}{number}")


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat
