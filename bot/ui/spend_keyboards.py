"""Buttons for spending hours with partners (/spend) and adding what to spend them on
(/orgoffer), and the ask as the organisation's people see it: pure functions of ids, rows and
the catalogue."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup

from bot.ui.callbacks import Area, Callback
from bot.ui.i18n import Html, category_name, hours, t
from bot.ui.keyboards import button, grid
from storage.models import Organisation, PartnerOffer, Spend

# The prices /orgoffer offers, in minutes.
PRICES = (30, 60, 90, 120, 180, 240, 360, 480)


def categories(area: Area, named: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """One button per category: (its place in config, its name)."""
    return grid(
        [button(category_name(name), Callback(area, "cat", index)) for index, name in named]
    )


def offer_list(offers: Sequence[PartnerOffer]) -> InlineKeyboardMarkup:
    """One offer a row: what, and its price."""
    return InlineKeyboardMarkup(
        [
            [
                button(
                    t("spend.offer_button", title=offer.title, hours=hours(offer.price_minutes)),
                    Callback(Area.SPEND, "offer", offer.id),
                )
            ]
            for offer in offers
        ]
    )


def spend_sure(offer: PartnerOffer) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(t("spend.yes"), Callback(Area.SPEND, "ask", offer.id)),
                button(t("common.no"), Callback(Area.SPEND, "no", offer.id)),
            ]
        ]
    )


def close_offer(offer_id: int) -> InlineKeyboardMarkup:
    """Under an offer, for the people who act for its organisation."""
    return InlineKeyboardMarkup(
        [[button(t("spend.close_offer"), Callback(Area.SPEND, "close", offer_id))]]
    )


def withdraw(spend_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(t("spend.withdraw"), Callback(Area.SPEND, "withdraw", spend_id))]]
    )


def ask(spend: Spend, offer: PartnerOffer, name: str) -> tuple[Html, InlineKeyboardMarkup]:
    """A member's ask, with Confirm and Can't: in the notice, and again under /org."""
    text = t(
        "spend.ask_notice",
        name=name,
        hours=hours(spend.minutes),
        title=offer.title,
        organisation=offer.organisation_name,
    )
    return text, decide(spend.id)


def decide(spend_id: int) -> InlineKeyboardMarkup:
    """For the organisation's people: confirm the spend, or say they can't."""
    return InlineKeyboardMarkup(
        [
            [
                button(t("spend.confirm"), Callback(Area.SPEND, "confirm", spend_id)),
                button(t("spend.cant"), Callback(Area.SPEND, "decline", spend_id)),
            ]
        ]
    )


# --- /orgoffer ------------------------------------------------------------------------------


def organisations(choices: Sequence[Organisation]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(o.name, Callback(Area.SPEND_OFFER, "org", o.id))] for o in choices]
    )


def skip_details() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(t("post.skip"), Callback(Area.SPEND_OFFER, "skip"))]])


def prices() -> InlineKeyboardMarkup:
    return grid(
        [
            button(hours(minutes), Callback(Area.SPEND_OFFER, "price", 0, str(minutes)))
            for minutes in PRICES
        ],
        columns=4,
    )


def offer_preview() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(t("post.publish"), Callback(Area.SPEND_OFFER, "post"))],
            [button(t("orgoffer.start_again"), Callback(Area.SPEND_OFFER, "again"))],
        ]
    )
