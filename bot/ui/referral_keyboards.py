"""Referrals' buttons, as pure functions of ids and the catalogue (see handlers/referrals.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from telegram import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.ui.callbacks import Area, Callback
from bot.ui.i18n import t, tn
from bot.ui.keyboards import button, grid
from bot.ui.render import day_words

DISCHARGE_DAYS = 4  # today, yesterday, 2 and 3 days ago
READMIT_PAGE = 9  # days of re-admission buttons at a time, newest first


def consent() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(t("join.agree"), Callback(Area.REFERRAL, "agree"))],
            [button(t("join.no_thanks"), Callback(Area.REFERRAL, "decline"))],
        ]
    )


def areas(names: Sequence[str]) -> InlineKeyboardMarkup:
    """One button per neighbourhood; the id is its place in config."""
    return grid(
        [button(name, Callback(Area.REFERRAL, "area", index)) for index, name in enumerate(names)]
    )


def skip(action: str) -> InlineKeyboardMarkup:
    """Skip a step that can be left out (its own action: an old Skip never skips another)."""
    return InlineKeyboardMarkup([[button(t("post.skip"), Callback(Area.REFERRAL, action))]])


def share_phone() -> ReplyKeyboardMarkup:
    """The phone's own "share my number" button (Telegram sends the contact), or Skip."""
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton(t("referral.share_phone"), request_contact=True)],
            [KeyboardButton(t("post.skip"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def discharge_days() -> InlineKeyboardMarkup:
    labels = [t("referral.today"), t("referral.yesterday")] + [
        tn("referral.days_ago", days) for days in range(2, DISCHARGE_DAYS)
    ]
    return grid(
        [button(label, Callback(Area.REFERRAL, "day", days)) for days, label in enumerate(labels)]
    )


def needs(names: Sequence[str], chosen: Sequence[str]) -> InlineKeyboardMarkup:
    """A toggle per need (✅ when chosen), then Done."""
    toggles = [
        button(
            ("✅ " if need in chosen else "") + t(f"referral.need_{need}"),
            Callback(Area.REFERRAL, "need", 0, need),
        )
        for need in names
    ]
    rows = list(grid(toggles).inline_keyboard)
    rows.append((button(t("referral.needs_done"), Callback(Area.REFERRAL, "needs")),))
    return InlineKeyboardMarkup(rows)


def wards(choices: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """(code, name) of each ward, then "No ward"."""
    rows = [[button(name, Callback(Area.REFERRAL, "ward", 0, code))] for code, name in choices]
    rows.append([button(t("referral.no_ward"), Callback(Area.REFERRAL, "ward"))])
    return InlineKeyboardMarkup(rows)


def preview() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(t("referral.save"), Callback(Area.REFERRAL, "save"))],
            [button(t("referral.dont_save"), Callback(Area.REFERRAL, "drop"))],
        ]
    )


def queue(lines: Sequence[tuple[int, str]], visited_lately: int) -> InlineKeyboardMarkup:
    """/visits: a button per referral (its id, its line), and the recently visited ones."""
    rows = [
        [button(label, Callback(Area.REFERRAL, "open", referral_id))]
        for referral_id, label in lines
    ]
    if visited_lately:
        label = t("referral.visited_lately", count=visited_lately)
        rows.append([button(label, Callback(Area.REFERRAL, "lately"))])
    return InlineKeyboardMarkup(rows)


def card_actions(referral_id: int, *, is_closed: bool) -> InlineKeyboardMarkup:
    rows = [[button(t("referral.readmit"), Callback(Area.REFERRAL, "readmit", referral_id))]]
    if not is_closed:
        rows.append([button(t("referral.close"), Callback(Area.REFERRAL, "close", referral_id))])
    return InlineKeyboardMarkup(rows)


def readmission_days(
    referral_id: int, days: Sequence[date], earlier: int | None
) -> InlineKeyboardMarkup:
    """A button per day (newest first); "Earlier" shows the page `earlier` when there is one."""
    buttons = [
        button(
            day_words(day, "time.short_day"),
            Callback(Area.REFERRAL, "readday", referral_id, day.strftime("%Y%m%d")),
        )
        for day in days
    ]
    rows = list(grid(buttons, columns=3).inline_keyboard)
    if earlier is not None:
        more = Callback(Area.REFERRAL, "readmit", referral_id, str(earlier))
        rows.append((button(t("referral.earlier"), more),))
    return InlineKeyboardMarkup(rows)


def close_sure(referral_id: int, name: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(
                    t("referral.close_yes", name=name),
                    Callback(Area.REFERRAL, "closeok", referral_id),
                )
            ],
            [button(t("referral.keep_open"), Callback(Area.REFERRAL, "keep", referral_id))],
        ]
    )
