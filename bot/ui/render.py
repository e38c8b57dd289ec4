"""Texts built from several catalogue entries: listing cards, snippets, history lines."""

from __future__ import annotations

from bot.ui.i18n import Html, hours, t
from storage.models import HistoryItem, Listing

SNIPPET_WIDTH = 48


def card(
    kind: str,
    category: str,
    body: str,
    when_where: str | None,
    owner: str | None = None,
    closed: bool = False,
) -> Html:
    """A listing as members read it; the preview and the published listing look the same."""
    lines = [t(f"listing.card_{kind}", category=category), t("listing.body", body=body)]
    if when_where:
        lines.append(t("listing.when_where", when_where=when_where))
    if owner:
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
    )


def snippet(listing: Listing, number: int | None = None) -> str:
    """A short one-line label for a button."""
    text = " ".join(listing.body.split())
    if len(text) > SNIPPET_WIDTH:
        text = text[: SNIPPET_WIDTH - 1].rstrip() + "…"
    return f"{number}. {text}" if number is not None else text


def history_line(item: HistoryItem) -> Html:
    key = "history.gave" if item.gave else "history.received"
    amount = hours(item.minutes) if item.minutes else "–"
    return t(
        key,
        name=item.other_name,
        hours=amount,
        state=t(f"history.state_{item.state}"),
        date=item.when.strftime("%d %b"),
    )
