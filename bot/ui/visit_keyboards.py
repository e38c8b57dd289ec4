"""The buttons of a home visit, as the visitor sees them: answering an offer, and what to do
next about a patient they are visiting."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.ui.callbacks import Area, Callback
from bot.ui.checkin_keyboards import how_did_it_go
from bot.ui.i18n import t
from bot.ui.keyboards import button
from storage.models import Referral, Visit


def offer(offer_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(t("visit.offer_yes"), Callback(Area.VISIT, "yes", offer_id))],
            [button(t("visit.offer_no"), Callback(Area.VISIT, "no", offer_id))],
        ]
    )


def visit_next(visit: Visit | None) -> InlineKeyboardMarkup | None:
    """What the visitor can do about the visit still to make: set (or move) its time, and
    tell how it went or that they couldn't reach the patient."""
    if visit is None or visit.state != "planned":
        return None
    return InlineKeyboardMarkup(
        [[set_time_button(visit.id)], *how_did_it_go(visit.id).inline_keyboard]
    )


def set_time_button(visit_id: int) -> InlineKeyboardButton:
    return button(t("visit.set_time"), Callback(Area.VISIT, "when", visit_id))


def show_details(referral_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(t("visit.show_details"), Callback(Area.VISIT, "card", referral_id))]]
    )


def my_visits(referrals: Sequence[Referral]) -> InlineKeyboardMarkup:
    """One button per patient the visitor is looking after."""
    return InlineKeyboardMarkup(
        [
            [button(f"{r.first_name} · {r.area}", Callback(Area.VISIT, "card", r.id))]
            for r in referrals
        ]
    )
