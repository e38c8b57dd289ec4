"""Keyboards as pure functions of ids and the catalogue, testable without Telegram."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot.ui.callbacks import Area, Callback
from bot.ui.i18n import category_name, hours, t
from bot.ui.render import day_words
from storage.exchanges import OVERRIDE_REASONS
from storage.models import MAX_MINUTES, MIN_MINUTES, Exchange, Listing, ListingKind

QUICK_MINUTES = (30, 60, 90, 120, 180)
PICKER_HOURS = range(8, 21)  # the time picker offers 08:00 to 20:00
# The callback area of each kind's category buttons when posting ("po:cat:2" starts an offer).
POST_AREAS: dict[ListingKind, Area] = {"offer": Area.POST_OFFER, "need": Area.POST_NEED}


def button(text: str, callback: Callback) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=callback.pack())


def main_menu() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [
            [t("menu.offer"), t("menu.need")],
            [t("menu.browse"), t("menu.hours")],
            [t("menu.activities"), t("menu.spend")],
            [t("menu.help")],
        ],
        resize_keyboard=True,
    )


def choices(labels: Sequence[str], columns: int = 2) -> ReplyKeyboardMarkup:
    """A one-time reply keyboard of plain choices, for steps that expect a typed answer."""
    rows = [list(labels[i : i + columns]) for i in range(0, len(labels), columns)]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def grid(buttons: Sequence[InlineKeyboardButton], columns: int = 2) -> InlineKeyboardMarkup:
    rows = [list(buttons[i : i + columns]) for i in range(0, len(buttons), columns)]
    return InlineKeyboardMarkup(rows)


def categories(
    area: Area, names: Sequence[str], *, with_all: bool = False, arg: str = ""
) -> InlineKeyboardMarkup:
    """One button per category; the id is the category's place in config (`arg` is carried
    along: whom a post is for)."""
    buttons = [
        button(category_name(name), Callback(area, "cat", index, arg))
        for index, name in enumerate(names)
    ]
    if with_all:
        buttons.append(button(t("browse.all_categories"), Callback(area, "cat", len(names))))
    return grid(buttons)


def listing_actions(listing: Listing, viewer_id: int) -> InlineKeyboardMarkup | None:
    """What the viewer may do with a listing: answer it, or manage it if it is theirs."""
    if listing.owner_id == viewer_id:
        if not listing.is_open:
            return InlineKeyboardMarkup(
                [[button(t("listing.reopen"), Callback(Area.LISTING, "reopen", listing.id))]]
            )
        return InlineKeyboardMarkup(
            [
                [
                    button(t("listing.edit"), Callback(Area.LISTING, "edit", listing.id)),
                    button(t("listing.close"), Callback(Area.LISTING, "close", listing.id)),
                ],
                [button(t("listing.change_category"), Callback(Area.LISTING, "recat", listing.id))],
            ]
        )
    if not listing.is_open:
        return None
    label = t("listing.can_help") if listing.kind == "need" else t("listing.would_like")
    return InlineKeyboardMarkup([[button(label, Callback(Area.LISTING, "respond", listing.id))]])


def browsed_listing(listing: Listing, viewer_id: int) -> InlineKeyboardMarkup | None:
    """A listing opened from browse or search: what the viewer may do with it and, when it is
    someone else's, a way to block or report its owner."""
    actions = listing_actions(listing, viewer_id)
    if listing.owner_id == viewer_id:
        return actions
    rows = list(actions.inline_keyboard) if actions else []
    return InlineKeyboardMarkup([*rows, safety_row(listing.owner_id)])


def safety_row(member_id: int, exchange_id: int | None = None) -> list[InlineKeyboardButton]:
    """ "🚫 Block" and "⚠️ Report" for another member (and the exchange a report concerns),
    under whatever brought the two together."""
    about = str(exchange_id) if exchange_id else ""
    return [
        button(t("safety.block"), Callback(Area.SAFETY, "block", member_id)),
        button(t("safety.report"), Callback(Area.SAFETY, "report", member_id, about)),
    ]


def response_choice(response_id: int, responder_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(t("response.accept"), Callback(Area.RESPONSE, "accept", response_id)),
                button(t("response.decline"), Callback(Area.RESPONSE, "decline", response_id)),
            ],
            safety_row(responder_id),
        ]
    )


def exchange_next_step(exchange: Exchange) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(t("exchange.it_happened"), Callback(Area.EXCHANGE, "done", exchange.id))],
            [button(t("exchange.set_time"), Callback(Area.EXCHANGE, "when", exchange.id))],
            [button(t("exchange.didnt_happen"), Callback(Area.EXCHANGE, "cancel", exchange.id))],
        ]
    )


def introduced(exchange: Exchange, viewer_id: int) -> InlineKeyboardMarkup:
    """Help agreed, the two just introduced: the next steps, and blocking or reporting the
    other party about this exchange. (Later reminders carry only the steps: in a daily
    round-up of several, a bare "Block" wouldn't say whom.)"""
    steps = exchange_next_step(exchange).inline_keyboard
    return InlineKeyboardMarkup([*steps, safety_row(exchange.other_party(viewer_id), exchange.id)])


def still_needed(listing_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(t("nudge.keep_open"), Callback(Area.LISTING, "keep", listing_id)),
                button(t("nudge.close_it"), Callback(Area.LISTING, "close", listing_id)),
            ]
        ]
    )


def close_met_need(listing: Listing | None, viewer_id: int) -> InlineKeyboardMarkup | None:
    """Help with a need was confirmed: offer its owner to close it, so nobody else answers."""
    if listing is None or not listing.is_open or listing.kind != "need":
        return None
    if listing.owner_id != viewer_id:
        return None
    return close_need(listing.id)


def close_need(listing_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[button(t("listing.close_need"), Callback(Area.LISTING, "close", listing_id))]]
    )


def days_ahead(area: Area, item_id: int, now: datetime, count: int = 7) -> InlineKeyboardMarkup:
    """The next days that still have an hour to pick, as buttons ("Thu 26 Nov"), so a member
    picks a date with one tap. `now` is in the timebank's timezone; today is left out when
    its last hour has gone."""
    first = now.date() if hours_left(now.date(), now) else now.date() + timedelta(days=1)
    days = [first + timedelta(days=offset) for offset in range(count)]
    return grid(
        [
            button(
                day_words(day, "time.short_day"),
                Callback(area, "day", item_id, day.strftime("%Y%m%d")),
            )
            for day in days
        ],
        columns=3,
    )


def hours_of_day(
    area: Area, item_id: int, day: date, now: datetime | None = None
) -> InlineKeyboardMarkup:
    """The hours of `day` to pick from; with `now` (timebank time), only those still ahead."""
    stamp = day.strftime("%Y%m%d")
    offered = hours_left(day, now) if now is not None else list(PICKER_HOURS)
    return grid(
        [
            button(f"{hour:02d}:00", Callback(area, "at", item_id, f"{stamp}{hour:02d}"))
            for hour in offered
        ],
        columns=4,
    )


def hours_left(day: date, now: datetime) -> list[int]:
    """The picker's hours on `day` that are still after `now` (aware, in the timebank's zone)."""
    return [hour for hour in PICKER_HOURS if datetime.combine(day, time(hour), now.tzinfo) > now]


def hours_picker(exchange_id: int) -> InlineKeyboardMarkup:
    buttons = [
        button(hours(minutes), Callback(Area.EXCHANGE, "hours", exchange_id, str(minutes)))
        for minutes in QUICK_MINUTES
    ]
    buttons.append(
        button(t("exchange.other_hours"), Callback(Area.EXCHANGE, "more", exchange_id, "240"))
    )
    return grid(buttons, columns=3)


def hours_stepper(exchange_id: int, minutes: int) -> InlineKeyboardMarkup:
    """Pick any quarter hour up to 12 by tapping − and +, with no typing."""
    steps = [
        (t("exchange.step_down_hour"), -60),
        (t("exchange.step_down_quarter"), -15),
        (t("exchange.step_up_quarter"), 15),
        (t("exchange.step_up_hour"), 60),
    ]
    row = [
        button(label, Callback(Area.EXCHANGE, "more", exchange_id, str(minutes + delta)))
        for label, delta in steps
        if MIN_MINUTES <= minutes + delta <= MAX_MINUTES
    ]
    use = button(
        t("exchange.use_hours", hours=hours(minutes)),
        Callback(Area.EXCHANGE, "hours", exchange_id, str(minutes)),
    )
    return InlineKeyboardMarkup([row, [use]])


def confirm_choice(exchange_id: int, minutes: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(
                    t("exchange.yes"), Callback(Area.EXCHANGE, "yes", exchange_id, str(minutes))
                ),
                button(t("exchange.not_quite"), Callback(Area.EXCHANGE, "no", exchange_id)),
            ]
        ]
    )


def didnt_happen_sure(exchange_id: int, state: str) -> InlineKeyboardMarkup:
    """ "It didn't happen": one more tap, for the state the member saw."""
    return InlineKeyboardMarkup(
        [
            [
                button(
                    t("exchange.yes_didnt_happen"),
                    Callback(Area.EXCHANGE, "nohelp", exchange_id, state),
                ),
                button(t("common.keep_it"), Callback(Area.EXCHANGE, "keep", exchange_id)),
            ]
        ]
    )


def not_quite_choice(exchange_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(t("exchange.fix_hours"), Callback(Area.EXCHANGE, "done", exchange_id))],
            [button(t("exchange.ask_coordinator"), Callback(Area.EXCHANGE, "flag", exchange_id))],
        ]
    )


def settle(exchange_id: int, proposed: int | None = None) -> InlineKeyboardMarkup:
    """A coordinator's choice of hours for an exchange (the hours proposed among them), or no
    credit at all."""
    choices = sorted({*QUICK_MINUTES, 240, 360, *([proposed] if proposed else [])})
    buttons = [
        button(hours(minutes), Callback(Area.COORDINATOR, "settle", exchange_id, str(minutes)))
        for minutes in choices
    ]
    buttons.append(
        button(t("coordinator.no_credit"), Callback(Area.COORDINATOR, "settle", exchange_id, "0"))
    )
    return grid(buttons, columns=4)


def correct_sure(exchange_id: int) -> InlineKeyboardMarkup:
    """/correct: change the hours of this exchange, or keep them."""
    return InlineKeyboardMarkup(
        [
            [
                button(
                    t("coordinator.change_hours"), Callback(Area.COORDINATOR, "fix", exchange_id)
                ),
                button(t("common.keep_it"), Callback(Area.COORDINATOR, "keep", exchange_id)),
            ]
        ]
    )


def role_sure(action: str, member_id: int, name: str) -> InlineKeyboardMarkup:
    """Yes or No to /promote or /demote (`action`) of one member."""
    return InlineKeyboardMarkup(
        [
            [
                button(
                    t(f"coordinator.{action}_yes", name=name),
                    Callback(Area.COORDINATOR, f"{action}ok", member_id),
                )
            ],
            [button(t("common.no"), Callback(Area.COORDINATOR, "keep", member_id))],
        ]
    )


def record_person(
    name: str, action: str, person_id: int, draft_id: int
) -> list[InlineKeyboardButton]:
    """One person to pick in /record (id 0: add the typed name), for this /record only."""
    return [button(name, Callback(Area.COORDINATOR, action, person_id, str(draft_id)))]


def record_hours(draft_id: int) -> InlineKeyboardMarkup:
    return grid(
        [
            button(hours(minutes), Callback(Area.COORDINATOR, "rhours", draft_id, str(minutes)))
            for minutes in (*QUICK_MINUTES, 240, 360, 480)
        ],
        columns=4,
    )


def record_override(draft_id: int) -> InlineKeyboardMarkup:
    """Past the overdraft limit: record anyway for a reason (audited), or don't."""
    rows = [
        [
            button(
                t(f"coordinator.override_{reason}"),
                Callback(Area.COORDINATOR, "rwhy", draft_id, reason),
            )
        ]
        for reason in OVERRIDE_REASONS
    ]
    rows.append(
        [button(t("coordinator.dont_record"), Callback(Area.COORDINATOR, "rwhy", draft_id, "drop"))]
    )
    return InlineKeyboardMarkup(rows)


def application(member_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(t("coordinator.approve"), Callback(Area.COORDINATOR, "approve", member_id)),
                button(t("coordinator.decline"), Callback(Area.COORDINATOR, "decline", member_id)),
            ]
        ]
    )


def approve_held(exchange_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(t("coordinator.approve"), Callback(Area.HELD, "allow", exchange_id)),
                button(
                    t("coordinator.no_credit"),
                    Callback(Area.COORDINATOR, "settle", exchange_id, "0"),
                ),
            ]
        ]
    )


def pager(
    area: Area, offset: int, arg: str, *, has_prev: bool, has_next: bool, size: int
) -> list[InlineKeyboardButton]:
    row = []
    if has_prev:
        row.append(button(t("browse.previous"), Callback(area, "page", max(0, offset - size), arg)))
    if has_next:
        row.append(button(t("browse.next"), Callback(area, "page", offset + size, arg)))
    return row


def nothing_found(
    kind: ListingKind, category: int | None, named: str | None, *, searched: bool
) -> InlineKeyboardMarkup:
    """Next steps when a browse page or a search finds nothing: other words, everything of
    that kind (in the category, after a search that points to one), or posting it yourself:
    a need when offers were missing ("Ask for it"), an offer when needs were."""
    rows = [[button(t("browse.search_other"), Callback(Area.SEARCH, "ask"))]]
    if searched and category is not None:
        label = t(f"browse.see_category_{kind}", category=category_name(named or ""))
        rows.append([button(label, Callback(Area.BROWSE, "page", 0, f"{kind}.{category}"))])
    elif searched or category is not None:
        rows.append([button(t(f"browse.see_all_{kind}"), Callback(Area.BROWSE, "page", 0, kind))])
    post_kind: ListingKind = "need" if kind == "offer" else "offer"
    area = POST_AREAS[post_kind]
    post = Callback(area, "cat", category) if category is not None else Callback(area, "ask")
    rows.append([button(t(f"browse.post_{post_kind}"), post)])
    return InlineKeyboardMarkup(rows)


def report_periods(choices: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """One button per report period: (callback arg, label key)."""
    return InlineKeyboardMarkup(
        [[button(t(label), Callback(Area.REPORT, "period", 0, arg))] for arg, label in choices]
    )


def stop_button(broadcast_id: int) -> InlineKeyboardMarkup:
    """Under a broadcast's progress: stop sending what hasn't gone yet."""
    return InlineKeyboardMarkup(
        [[button(t("broadcast.stop"), Callback(Area.BROADCAST, "stop", broadcast_id))]]
    )


# --- keeping safe: blocks, reports, pauses ----------------------------------------------------


def block_sure(member_id: int, name: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(t("safety.block_yes", name=name), Callback(Area.SAFETY, "blockok", member_id))],
            [button(t("common.no"), Callback(Area.SAFETY, "keep", member_id))],
        ]
    )


def block_too(member_id: int, name: str) -> InlineKeyboardMarkup:
    """After a report: blocking the same person is one more tap away."""
    return InlineKeyboardMarkup(
        [[button(t("safety.block_too", name=name), Callback(Area.SAFETY, "block", member_id))]]
    )


def unblock_each(people: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """/blocked: one "Unblock" per person (their member id; storage lifts only your block)."""
    return InlineKeyboardMarkup(
        [
            [button(t("safety.unblock", name=name), Callback(Area.SAFETY, "unblock", member_id))]
            for member_id, name in people
        ]
    )


def report_reasons(reasons: Sequence[str]) -> InlineKeyboardMarkup:
    rows = [
        [button(t(f"safety.reason_{reason}"), Callback(Area.SAFETY, "why", 0, reason))]
        for reason in reasons
    ]
    rows.append([button(t("safety.dont_report"), Callback(Area.SAFETY, "drop"))])
    return InlineKeyboardMarkup(rows)


def report_note_skip() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(t("safety.skip_note"), Callback(Area.SAFETY, "skip"))]])


def report_sure() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(t("safety.send"), Callback(Area.SAFETY, "send"))],
            [button(t("safety.dont_send"), Callback(Area.SAFETY, "drop"))],
        ]
    )


def report_actions(report_id: int, name: str) -> InlineKeyboardMarkup:
    """Under a report, for coordinators: pause the member, or no action needed."""
    return InlineKeyboardMarkup(
        [
            [button(t("safety.pause", name=name), Callback(Area.SAFETY, "pause", report_id))],
            [button(t("safety.no_action"), Callback(Area.SAFETY, "noaction", report_id))],
        ]
    )


def resume_each(people: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """/paused: one "Resume" per paused member."""
    return InlineKeyboardMarkup(
        [
            [button(t("safety.resume", name=name), Callback(Area.SAFETY, "resume", member_id))]
            for member_id, name in people
        ]
    )
