"""The visitors' keyboards (signing up; a coordinator's checks, pauses and retirements), as
pure functions of ids and the catalogue."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.ui.callbacks import Area, Callback
from bot.ui.i18n import t, tn
from bot.ui.keyboards import button, grid
from storage.visitors import CHECK_KINDS, CHECK_YEARS

# "When was it done?": how many days ago each button means (visitor.ago_<days>).
CHECK_DAYS_AGO = (0, 1, 7, 30, 91, 182, 365)


def _one(text: str, action: str, member_id: int = 0, arg: str = "") -> InlineKeyboardButton:
    return button(text, Callback(Area.VISITOR, action, member_id, arg))


def intro() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_one(t("visitor.yes"), "yes")], [_one(t("visitor.not_now"), "no")]]
    )


def toggles(
    action: str, labels: Sequence[str], chosen: Collection[int], done: str
) -> InlineKeyboardMarkup:
    """One button per choice (its place in `labels`), ✅ on those chosen, then Done."""
    buttons = [
        _one(t("visitor.chosen", label=label) if index in chosen else label, action, index)
        for index, label in enumerate(labels)
    ]
    rows = grid(buttons).inline_keyboard
    return InlineKeyboardMarkup([*rows, [_one(t("visitor.done"), done)]])


def send_or_not() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_one(t("visitor.send"), "send"), _one(t("visitor.dont_send"), "drop")]]
    )


def application(member_id: int) -> InlineKeyboardMarkup:
    """Under an offer to visit, for a coordinator."""
    return InlineKeyboardMarkup(
        [
            [_one(t("visitor.approve_button"), "approve", member_id)],
            [_one(t("visitor.decline_button"), "decline", member_id)],
        ]
    )


def record_check(member_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_one(t("visitor.record_check_button"), "check", member_id)]])


def check_kinds(member_id: int) -> InlineKeyboardMarkup:
    return grid(
        [_one(t(f"visitor.check_{kind}"), "ckind", member_id, kind) for kind in CHECK_KINDS]
    )


def check_dates(member_id: int) -> InlineKeyboardMarkup:
    return grid(
        [_one(t(f"visitor.ago_{days}"), "cdate", member_id, str(days)) for days in CHECK_DAYS_AGO]
    )


def check_years(member_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_one(tn("visitor.years", n), "cyears", member_id, str(n)) for n in CHECK_YEARS]]
    )


def note_skip(member_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_one(t("visitor.skip"), "cskip", member_id)]])


def check_sure(member_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [_one(t("visitor.confirm"), "csave", member_id)],
            [_one(t("visitor.dont_record"), "cdrop", member_id)],
        ]
    )


def visitors_list(people: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    return grid([_one(name, "card", member_id) for member_id, name in people])


def card_actions(member_id: int, status: str, name: str) -> InlineKeyboardMarkup | None:
    """What a coordinator may do with a visitor, by where they stand."""
    if status == "applied":
        return application(member_id)
    if status not in ("approved", "paused"):
        return None
    pause = (
        _one(t("visitor.pause_button"), "pause", member_id)
        if status == "approved"
        else _one(t("visitor.resume_button"), "resume", member_id)
    )
    return InlineKeyboardMarkup(
        [
            [_one(t("visitor.record_check_button"), "check", member_id)],
            [pause, _one(t("visitor.retire_button", name=name), "retire", member_id)],
        ]
    )


def retire_sure(member_id: int, name: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [_one(t("visitor.retire_yes", name=name), "retireok", member_id)],
            [_one(t("visitor.keep"), "keep", member_id)],
        ]
    )
