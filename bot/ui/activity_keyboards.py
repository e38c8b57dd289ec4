"""Buttons of group activities: a card's, a place offered, the roll call, and /activity's
steps. Pure functions of ids and the catalogue."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.ui.activity_words import ROLL_CALL_PAGE, roll_call_page
from bot.ui.callbacks import Area, Callback
from bot.ui.i18n import hours, t
from bot.ui.keyboards import button, grid
from storage.activities import Attendee, Card
from storage.models import Organisation

# A role as a button carries it: one letter, so the data stays short.
ROLE_ARGS = {"helper": "h", "participant": "p"}
ARG_ROLES = {arg: role for role, arg in ROLE_ARGS.items()}
TIMEBANK = 0  # "for whom" id of the timebank's own activity


def card(found: Card) -> InlineKeyboardMarkup | None:
    """What the member may do (see `_member_rows`) and, for its organisers, calling it off;
    nothing once it is over."""
    if found.activity.state != "open":
        return None
    rows = _member_rows(found)
    if found.may_run:
        rows.append(
            [button(t("activity.call_off"), Callback(Area.ACTIVITY, "off", found.activity.id))]
        )
    return InlineKeyboardMarkup(rows)


def _member_rows(found: Card) -> list[list[InlineKeyboardButton]]:
    """Help or take part (or wait for a place), take or turn down a place offered, or give
    theirs up."""
    activity, mine = found.activity, found.mine
    if mine is not None and mine.state == "offered":
        return [list(row) for row in offer(mine.id).inline_keyboard]
    if mine is not None and mine.state != "cancelled":
        key = "activity.leave_waiting" if mine.state == "waiting" else "activity.cancel_place"
        return [[button(t(key), Callback(Area.ACTIVITY, "cancel", activity.id))]]
    return [
        [
            button(
                t(f"activity.{'join' if found.left(role) else 'wait'}_{role}"),
                Callback(Area.ACTIVITY, "sign", activity.id, arg),
            )
        ]
        for role, arg in ROLE_ARGS.items()
        if activity.capacity(role)
    ]


def call_off(activity_id: int) -> InlineKeyboardMarkup:
    """Are you sure? Calling off tells everyone signed up, so it is asked once."""
    return InlineKeyboardMarkup(
        [
            [
                button(
                    t("activity.call_off_yes"), Callback(Area.ACTIVITY, "off", activity_id, "y")
                ),
                button(t("activity.call_off_no"), Callback(Area.ACTIVITY, "off", activity_id, "n")),
            ]
        ]
    )


def offer(signup_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(t("activity.take"), Callback(Area.ACTIVITY, "take", signup_id)),
                button(t("activity.decline"), Callback(Area.ACTIVITY, "decline", signup_id)),
            ]
        ]
    )


def roll_call(activity_id: int, people: Sequence[Attendee], page: int = 0) -> InlineKeyboardMarkup:
    """A button each, showing came (✅) or didn't (❌); a tap turns it over. A big activity's
    list comes a page at a time (a keyboard holds 100 buttons). Then the credit."""
    page = roll_call_page(people, page)
    shown = people[page * ROLL_CALL_PAGE : (page + 1) * ROLL_CALL_PAGE]
    rows = [
        [
            button(
                t("activity.came" if person.came else "activity.didnt_come", name=person.name),
                Callback(Area.ACTIVITY, "mark", person.signup.id, "0" if person.came else "1"),
            )
        ]
        for person in shown
    ]
    turns = [
        button(t(key), Callback(Area.ACTIVITY, "roll", activity_id, str(to)))
        for key, to, shows in (
            ("activity.roll_earlier", page - 1, page > 0),
            ("activity.roll_later", page + 1, (page + 1) * ROLL_CALL_PAGE < len(people)),
        )
        if shows
    ]
    if turns:
        rows.append(turns)
    rows.append([button(t("activity.credit"), Callback(Area.ACTIVITY, "credit", activity_id))])
    return InlineKeyboardMarkup(rows)


def for_whom(organisations: Sequence[Organisation], *, timebank: bool) -> InlineKeyboardMarkup:
    buttons = [
        button(organisation.name, Callback(Area.ACTIVITY, "for", organisation.id))
        for organisation in organisations
    ]
    if timebank:
        buttons.append(button(t("activity.for_timebank"), Callback(Area.ACTIVITY, "for", TIMEBANK)))
    return InlineKeyboardMarkup([[each] for each in buttons])


def numbers(
    action: str, values: Sequence[int], *, none_key: str | None = None
) -> InlineKeyboardMarkup:
    """Counts to pick from (helpers wanted, places), with a "none" button first if given."""
    buttons: list[InlineKeyboardButton] = []
    if none_key:
        buttons.append(button(t(none_key), Callback(Area.ACTIVITY, action, 0)))
    buttons += [button(str(value), Callback(Area.ACTIVITY, action, value)) for value in values]
    return grid(buttons, columns=4)


def minutes(
    action: str, values: Sequence[int], *, free_key: str | None = None
) -> InlineKeyboardMarkup:
    """Hours to pick from (each helper earns, each participant pays), "Free" first if given."""
    buttons: list[InlineKeyboardButton] = []
    if free_key:
        buttons.append(button(t(free_key), Callback(Area.ACTIVITY, action, 0)))
    buttons += [button(hours(value), Callback(Area.ACTIVITY, action, value)) for value in values]
    return grid(buttons, columns=3)


def preview() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(t("activity.post"), Callback(Area.ACTIVITY, "post")),
                button(t("activity.drop"), Callback(Area.ACTIVITY, "drop")),
            ]
        ]
    )
