"""Texts built from several catalogue entries: listing cards, snippets, history lines."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, tzinfo

from babel.dates import format_date, format_time

from bot.config import PrivacySection
from bot.ui.i18n import Html, category_name, current_language, hours, number, t, tn
from storage.aftercare import VisitCredit
from storage.broadcasts import Progress
from storage.models import HistoryItem, Listing
from storage.nudges import reminders_ahead

SNIPPET_WIDTH = 48
# Letters that show nothing although Unicode calls them letters or symbols: a name made of
# them looks empty on every phone.
BLANK_LOOKING = frozenset("\u115f\u1160\u2800\u3164\uffa0")


def local_time(moment: datetime, zone: tzinfo, language: str | None = None) -> Html:
    """A moment as members say it, in the timebank's timezone: "Thursday 26 November at 14:00",
    "jueves 26 de noviembre a las 14:00"."""
    language = language or current_language()
    local = moment.astimezone(zone)
    return t(
        "time.at",
        language,
        day=day_words(local.date(), "time.long_day", language),
        time=format_time(local, "HH:mm", locale=language),
    )


def day_words(day: date, pattern_key: str, language: str | None = None) -> str:
    """A date in the language's words, by the catalogue's CLDR pattern for the purpose
    (`time.long_day`: "Thursday 26 November"; `time.short_day`: "Thu 26 Nov"; `time.day`:
    "26 Nov"; `time.day_year`: "26 Nov 2026"); Babel supplies the names of days and months."""
    language = language or current_language()
    return format_date(day, t(pattern_key, language), locale=language)


def privacy_note(kept: PrivacySection) -> Html:
    """What we keep, who sees it, for how long, and how to see it or leave: the note a newcomer
    agrees to, and a member can read again."""
    return t(
        "privacy.note",
        listings=tn("privacy.months", kept.closed_listings_months),
        notices=tn("privacy.months", kept.finished_outbox_months),
        records=tn("privacy.months", kept.audit_months),
    )


def reminder_words(at: datetime, set_at: datetime, *, nudges_enabled: bool = True) -> str:
    """Which reminders a time set at `set_at` promises its reader, as the catalogue names the
    sentence: "both" (the day before and an hour before), "hour", "none" (it is too soon), or
    "off" (their nudges are off, so none will come: promising them would be untrue)."""
    ahead = len(reminders_ahead(at, set_at))
    if ahead and not nudges_enabled:
        return "off"
    return {2: "both", 1: "hour", 0: "none"}[ahead]


def utf16_length(text: str) -> int:
    """Telegram counts lengths in UTF-16 code units: an emoji beyond the BMP counts two."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def visible_text(text: str) -> str:
    """The words without the spaces and invisible characters (zero-width spaces, direction
    marks, blank-looking letters) around them; empty when nothing visible is left."""
    start, end = 0, len(text)
    while start < end and not _visible(text[start]):
        start += 1
    while end > start and not _visible(text[end - 1]):
        end -= 1
    return text[start:end]


def _visible(char: str) -> bool:
    kind = unicodedata.category(char)
    return not (kind[0] in "ZC" or char in BLANK_LOOKING)


PLACE_WIDTH = 20  # a neighbourhood in a browse line; longer names are cut short


def card(
    kind: str,
    category: str,
    body: str,
    when_where: str | None,
    owner: str | None = None,
    closed: bool = False,
    place: str | None = None,
    organisation: str | None = None,
) -> Html:
    """A listing as members read it; the preview and the published listing look the same.
    `place` is the owner's neighbourhood, shown when known; a post for an `organisation`
    names it as the poster, and the member who posted it beside it."""
    lines = [
        t(f"listing.card_{kind}", category=category_name(category)),
        t("listing.body", body=body),
    ]
    if when_where:
        lines.append(t("listing.when_where", when_where=when_where))
    if place:
        lines.append(t("listing.place", place=place))
    if organisation and owner:
        lines.append(t("listing.by_organisation", organisation=organisation, name=owner))
    elif organisation:
        lines.append(t("listing.for_organisation", organisation=organisation))
    elif owner:
        lines.append(t("listing.by", name=owner))
    if closed:
        lines.append(t("listing.closed_mark"))
    return Html("\n".join(lines))


def listing_card(listing: Listing) -> Html:
    return card(
        listing.kind,
        listing.category,
        listing.body,
        listing.when_where,
        owner=listing.owner_name,
        closed=not listing.is_open,
        place=listing.owner_neighbourhood,
        organisation=listing.organisation_name,
    )


def snippet(listing: Listing, number: int | None = None, width: int = SNIPPET_WIDTH) -> str:
    """A short one-line label for a button."""
    text = shorten(listing.body, width)
    return f"{number}. {text}" if number is not None else text


def shorten(text: str, width: int) -> str:
    """The text on one line, cut with "…" if it is longer than `width`."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def browse_line(listing: Listing, number: int) -> Html:
    """One listing in a browse page: what, by whom and (when known) where. The words are cut
    shorter when a neighbourhood is shown, so the line is no longer on a phone."""
    kind = t(f"browse.kind_{listing.kind}")
    if not listing.owner_neighbourhood:
        return t(
            "browse.line", number=number, kind=kind, body=snippet(listing), name=listing.poster
        )
    place = shorten(listing.owner_neighbourhood, PLACE_WIDTH)
    return t(
        "browse.line_place",
        number=number,
        kind=kind,
        body=snippet(listing, width=max(SNIPPET_WIDTH - len(place) - 4, 24)),
        name=listing.poster,
        place=place,
    )


def history_line(item: HistoryItem) -> Html:
    key = "history.gave" if item.gave else "history.received"
    amount = hours(item.minutes) if item.minutes else "–"
    return t(
        key,
        name=t("member.former") if item.other_left else item.other_name,
        hours=amount,
        state=t(f"history.state_{item.state}"),
        date=day_words(item.when.date(), "time.day"),
    )


def visit_line(credit: VisitCredit) -> Html:
    """A visit's credit in /history, read like an exchange's line."""
    return t(
        "aftercare.history_visit",
        name=credit.patient_name or t("member.former"),
        hours=hours(credit.minutes),
        date=day_words(credit.when.date(), "time.day"),
    )


def progress_text(progress: Progress, *, done: bool = False) -> Html:
    """A broadcast's progress ("Sending… 340 of 1,200"), or its end."""
    key = "broadcast.finished" if done else "broadcast.progress"
    return t(key, sent=number(progress.sent), total=number(progress.total))
