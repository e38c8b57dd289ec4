"""Group activities: organisers post them; members sign up, wait for a place, take one offered;
after it, the organisers' roll call credits everyone who came.

    /activity ─▶ FOR (their organisations, "The timebank" for coordinators; asked only if
        more than one) ─▶ TITLE (typed) ─▶ WHEN (a day, then an hour) ─▶ PLACE (typed)
        ─▶ HELPERS (buttons, or None) ─▶ HOURS each (buttons; only with helpers)
        ─▶ PLACES for participants (buttons, or None) ─▶ PRICE (Free or hours; only with
        places) ─▶ PREVIEW ─Post─▶ posted, with its link to share (/start act-ID)
    /activities, "Activities" ─▶ a card each ─▶ Help · Take part · Waiting list · Cancel my place
    a place offered (notice) ─▶ Take it · No thanks
    the roll call (notice, after it) ─▶ ✅/❌ a name (turns over) · Credit everyone who came
Storage re-checks every press: who may post for whom, whose place it is, who runs the roll
call; a forged button is answered kindly and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler

from bot.services import services
from bot.ui import activity_keyboards as kb
from bot.ui import keyboards
from bot.ui.activity_words import card_text, page_of, roll_call_text
from bot.ui.callbacks import Area, Callback
from bot.ui.i18n import Html, hours, t, tn
from bot.ui.render import local_time
from handlers.common import (
    Context,
    button_handler,
    draft_lost,
    drop_buttons,
    edit,
    for_members,
    menu_tap,
    on_button,
    pressed,
    reply,
    text_input,
    typed,
)
from handlers.conversation import END, Conversation
from handlers.timepick import TimePicker
from storage import activities, organisations
from storage.activities import MAX_PLACE, MAX_TITLE, AlreadyCredited, Attendee, Card
from storage.errors import NotFound, OverdraftLimit
from storage.models import Activity, Member, from_db, to_db

FOR, TITLE, WHEN, PLACE, HELPERS, HOURS, PLACES, PRICE, PREVIEW = range(9)
DRAFT = "activity"
LINK = "act-"
HELPER_COUNTS = (1, 2, 3, 5, 10, 20)
HELPER_MINUTES = (60, 120, 180, 240)
PLACE_COUNTS = (5, 10, 15, 20, 30, 50)
PRICES = (30, 60, 120)
Draft = dict[str, Any]


# --- the link -------------------------------------------------------------------------------


def link_id(args: Sequence[str] | None) -> int | None:
    """The activity a /start payload names ("act-12" → 12), or None."""
    if not args or not args[0].lower().startswith(LINK):
        return None
    number = args[0][len(LINK) :]
    return int(number) if number.isascii() and number.isdigit() and len(number) <= 12 else None


def join_source(activity_id: int) -> str:
    """What a newcomer who came by an activity's link is recorded as having joined through."""
    return f"activity:{activity_id}"


def share_link(bot_username: str, activity_id: int) -> str:
    return f"https://t.me/{bot_username}?start={LINK}{activity_id}"


async def show_card(update: Update, context: Context, member: Member, activity_id: int) -> None:
    """An activity's card with what the member may do (a link's landing, and /activities)."""
    svc = services(context)
    found = await activities.card(svc.db, activity_id, member.id)
    if found is None:
        await reply(update, t("errors.gone"))
        return
    await reply(update, card_text(found, svc.config.zone), kb.card(found))


# --- browsing and signing up ----------------------------------------------------------------


@for_members
async def cmd_activities(update: Update, context: Context, member: Member) -> None:
    """/activities and "Activities": the coming ones, a card each."""
    svc = services(context)
    cards = await activities.coming(svc.db, svc.clock.now(), member.id)
    if not cards:
        await reply(update, t("activity.none_coming"))
        return
    await reply(update, t("activity.coming_title"))
    for found in cards:
        await reply(update, card_text(found, svc.config.zone), kb.card(found))


@on_button
async def cb_sign(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Help, Take part, or the waiting list: the card shows where they now stand."""
    role = kb.ARG_ROLES.get(callback.arg)
    if role is None:
        raise NotFound(callback.id)
    svc = services(context)
    try:
        await activities.sign_up(
            svc.db,
            activity_id=callback.id,
            member_id=member.id,
            role=role,
            now=svc.clock.now(),
            overdraft_limit=svc.config.timebank.overdraft_limit_minutes,
        )
    except OverdraftLimit:
        await reply(update, t("activity.cant_afford"))
        return
    await _show_again(update, context, member, callback.id)


@on_button
async def cb_cancel(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Cancel my place (or leave the waiting list): the next in line is offered it."""
    svc = services(context)
    await activities.cancel(
        svc.db,
        activity_id=callback.id,
        member_id=member.id,
        now=svc.clock.now(),
        offer_for=offer_for(context),
    )
    await _show_again(update, context, member, callback.id)


@on_button
async def cb_take(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Take it": the place offered is theirs, while the offer stands."""
    svc = services(context)
    try:
        signup = await activities.take(
            svc.db,
            signup_id=callback.id,
            member_id=member.id,
            now=svc.clock.now(),
            overdraft_limit=svc.config.timebank.overdraft_limit_minutes,
        )
    except OverdraftLimit:
        await reply(update, t("activity.cant_afford"))
        return
    await _show_again(update, context, member, signup.activity_id)


@on_button
async def cb_decline(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "No thanks": the place goes to the next in line."""
    svc = services(context)
    await activities.decline(
        svc.db,
        signup_id=callback.id,
        member_id=member.id,
        now=svc.clock.now(),
        offer_for=offer_for(context),
    )
    await drop_buttons(update)
    await reply(update, t("activity.declined"))


@on_button
async def cb_call_off(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Call it off (organisers only): asked once on the card, then everyone signed up is
    told; "No, keep it" shows the card again."""
    svc = services(context)
    if callback.arg == "n":
        await _show_again(update, context, member, callback.id)
        return
    if callback.arg != "y":
        activity = await activities.organised(svc.db, activity_id=callback.id, by=member.id)
        when = local_time(activity.starts_at, svc.config.zone)
        ask = t("activity.call_off_ask", title=activity.title, when=when)
        await edit(update, ask, kb.call_off(activity.id))
        return
    told = await activities.call_off(
        svc.db, activity_id=callback.id, by=member.id, now=svc.clock.now()
    )
    await edit(update, _called_off(told))


def _called_off(told: int | None) -> str:
    if told is None:
        return t("activity.already_called_off")
    if told == 0:
        return t("activity.called_off_nobody")
    return tn("activity.called_off", told)


async def _show_again(update: Update, context: Context, member: Member, activity_id: int) -> None:
    """The pressed card, as it now stands for the member."""
    svc = services(context)
    found = await activities.card(svc.db, activity_id, member.id)
    if found is None:
        raise NotFound(activity_id)
    await edit(update, card_text(found, svc.config.zone), kb.card(found))


def offer_for(context: Context) -> timedelta:
    """How long a place that came free is kept for the next in line (config)."""
    return timedelta(hours=services(context).config.organisations.waiting_offer_hours)


# --- the roll call --------------------------------------------------------------------------


@on_button
async def cb_mark(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """A name on the roll call turned over: came ⇄ didn't."""
    svc = services(context)
    came = callback.arg == "1"
    people = await activities.mark(
        svc.db, signup_id=callback.id, came=came, by=member.id, now=svc.clock.now()
    )
    signup = await activities.get_signup(svc.db, callback.id)
    activity = await activities.get(svc.db, signup.activity_id) if signup else None
    if activity is None:
        raise NotFound(callback.id)
    await _show_roll_call(update, activity, people, page_of(people, callback.id))


@on_button
async def cb_roll(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Another page of a big activity's roll call (only for its organisers)."""
    activity, people = await activities.roll_call(
        services(context).db, activity_id=callback.id, by=member.id
    )
    if activity.state != "open":
        await drop_buttons(update)
        await reply(update, t("activity.already_credited"))
        return
    await _show_roll_call(update, activity, people, callback.arg_int or 0)


async def _show_roll_call(
    update: Update, activity: Activity, people: list[Attendee], page: int
) -> None:
    await edit(
        update, roll_call_text(activity, people, page), kb.roll_call(activity.id, people, page)
    )


@on_button
async def cb_credit(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Credit everyone who came": once, however often it is pressed, by whichever organiser."""
    svc = services(context)
    try:
        done = await activities.credit(
            svc.db, activity_id=callback.id, by=member.id, now=svc.clock.now()
        )
    except AlreadyCredited:
        await drop_buttons(update)
        await reply(update, t("activity.already_credited"))
        return
    await drop_buttons(update)
    await reply(
        update,
        t(
            "activity.credited",
            title=done.activity.title,
            helpers=str(done.helpers),
            participants=str(done.participants),
            earned=hours(done.earned),
            paid=hours(done.paid),
        ),
    )


# --- posting --------------------------------------------------------------------------------


@for_members
async def cmd_activity(update: Update, context: Context, member: Member) -> int:
    """/activity: post one for an organisation they act for (or, a coordinator, for the
    timebank)."""
    choices = await organisations.of_member(services(context).db, member.id)
    if not choices and not member.is_coordinator:
        await reply(update, t("activity.not_organiser"))
        return END
    assert context.user_data is not None
    draft: Draft = {}
    context.user_data[DRAFT] = draft
    if len(choices) + member.is_coordinator > 1:
        await reply(
            update, t("activity.ask_for"), kb.for_whom(choices, timebank=member.is_coordinator)
        )
        return FOR
    _set_for(draft, choices[0].id if choices else None, choices[0].name if choices else None)
    await reply(update, t("activity.ask_title"))
    return TITLE


def _set_for(draft: Draft, organisation_id: int | None, name: str | None) -> None:
    draft["org"], draft["org_name"] = organisation_id, name


@for_members
async def cb_for(update: Update, context: Context, member: Member) -> int:
    callback, draft = pressed(update), _draft(context)
    if callback is None or draft is None:
        return await draft_lost(update)
    if callback.id == kb.TIMEBANK and member.is_coordinator:
        _set_for(draft, None, None)
    else:
        choices = await organisations.of_member(services(context).db, member.id)
        chosen = next((each for each in choices if each.id == callback.id), None)
        if chosen is None:
            return await draft_lost(update)
        _set_for(draft, chosen.id, chosen.name)
    await drop_buttons(update)
    await reply(update, t("activity.ask_title"))
    return TITLE


@for_members
async def got_title(update: Update, context: Context, member: Member) -> object:
    draft = _draft(context)
    if draft is None:
        return await draft_lost(update)
    title = await typed(update, MAX_TITLE)
    if title is None:
        return None
    draft["title"] = title
    svc = services(context)
    local_now = svc.clock.now().astimezone(svc.config.zone)
    await reply(update, t("activity.ask_day"), keyboards.days_ahead(Area.ACTIVITY, 0, local_now))
    return WHEN


async def _anyone(context: Context, item_id: int, member: Member) -> None:
    """The picker's check: the time of a draft is the drafter's own to set."""


async def _picked(
    update: Update, context: Context, member: Member, item_id: int, when: datetime
) -> object:
    draft = _draft(context)
    if draft is None:
        return await draft_lost(update)
    draft["at"] = to_db(when)
    await reply(update, t("activity.ask_place"))
    return PLACE


PICKER = TimePicker(Area.ACTIVITY, _anyone, _picked)


@for_members
async def got_place(update: Update, context: Context, member: Member) -> object:
    draft = _draft(context)
    if draft is None:
        return await draft_lost(update)
    place = await typed(update, MAX_PLACE)
    if place is None:
        return None
    draft["place"] = place
    return await _ask_helpers(update)


async def _ask_helpers(update: Update) -> int:
    await reply(
        update,
        t("activity.ask_helpers"),
        kb.numbers("helpers", HELPER_COUNTS, none_key="activity.none"),
    )
    return HELPERS


def _picked_number(update: Update, allowed: Sequence[int]) -> int | None:
    """The number a step's button carries, if it is one that step offers (0: none)."""
    callback = pressed(update)
    if callback is None or callback.id not in (0, *allowed):
        return None
    return callback.id


@for_members
async def cb_helpers(update: Update, context: Context, member: Member) -> object:
    draft, count = _draft(context), _picked_number(update, HELPER_COUNTS)
    if draft is None or count is None:
        return await draft_lost(update)
    draft["helpers"], draft["helper_minutes"] = count, 0
    await drop_buttons(update)
    if count:
        await reply(update, t("activity.ask_hours"), kb.minutes("hrs", HELPER_MINUTES))
        return HOURS
    return await _ask_places(update, draft)


@for_members
async def cb_hours(update: Update, context: Context, member: Member) -> object:
    draft, minutes = _draft(context), _picked_number(update, HELPER_MINUTES)
    if draft is None or not minutes:
        return await draft_lost(update)
    draft["helper_minutes"] = minutes
    await drop_buttons(update)
    return await _ask_places(update, draft)


async def _ask_places(update: Update, draft: Draft) -> int:
    """Places for participants; "None" only when helpers are wanted (it must need someone)."""
    none_key = "activity.none" if draft["helpers"] else None
    await reply(
        update, t("activity.ask_places"), kb.numbers("places", PLACE_COUNTS, none_key=none_key)
    )
    return PLACES


@for_members
async def cb_places(update: Update, context: Context, member: Member) -> object:
    draft, count = _draft(context), _picked_number(update, PLACE_COUNTS)
    if draft is None or count is None or not (count or draft["helpers"]):
        return await draft_lost(update)
    draft["places"], draft["price"] = count or None, 0
    await drop_buttons(update)
    if count:
        await reply(
            update, t("activity.ask_price"), kb.minutes("price", PRICES, free_key="activity.free")
        )
        return PRICE
    return await _ask_preview(update, context, member, draft)


@for_members
async def cb_price(update: Update, context: Context, member: Member) -> object:
    draft, price = _draft(context), _picked_number(update, PRICES)
    if draft is None or price is None:
        return await draft_lost(update)
    draft["price"] = price
    await drop_buttons(update)
    return await _ask_preview(update, context, member, draft)


async def _ask_preview(update: Update, context: Context, member: Member, draft: Draft) -> int:
    """The card as members will see it, before it is posted."""
    svc = services(context)
    now = svc.clock.now()
    activity = Activity(
        id=0, state="open", created_by=member.id, created_at=now, **_as_posted(draft)
    )
    empty = {role: 0 for role in activities.ROLES}
    found = Card(activity, draft["org_name"], empty, empty, (), None)
    text = Html("\n\n".join([t("activity.preview_title"), card_text(found, svc.config.zone)]))
    await reply(update, text, kb.preview())
    return PREVIEW


def _as_posted(draft: Draft) -> dict[str, Any]:
    """The draft's answers under the names an activity has (the preview, the post)."""
    return {
        "organisation_id": draft["org"],
        "title": draft["title"],
        "starts_at": from_db(draft["at"]),
        "place": draft["place"],
        "helpers_wanted": draft["helpers"],
        "helper_minutes": draft["helper_minutes"],
        "places": draft["places"],
        "price_minutes": draft["price"],
    }


@for_members
async def cb_post(update: Update, context: Context, member: Member) -> int:
    """Post, or drop the draft; either ends it."""
    callback = pressed(update)
    assert context.user_data is not None
    draft = context.user_data.pop(DRAFT, None)
    await drop_buttons(update)
    if callback is None or callback.action != "post":
        await reply(update, t("activity.dropped"), keyboards.main_menu())
        return END
    if not draft or "price" not in draft:
        return await draft_lost(update)
    svc = services(context)
    try:
        activity = await activities.post(
            svc.db,
            by=member.id,
            now=svc.clock.now(),
            **_as_posted(draft),
            organisation_limit=svc.config.organisations.overdraft_limit_minutes,
        )
    except OverdraftLimit as refused:
        context.user_data[DRAFT] = draft  # kept: only the helpers change
        can = hours(max(refused.balance + refused.limit, 0))
        await reply(
            update, t("activity.org_cant_promise", organisation=draft["org_name"], hours=can)
        )
        return await _ask_helpers(update)
    link = share_link(context.bot.username, activity.id)
    await reply(
        update, t("activity.posted", title=activity.title, link=link), keyboards.main_menu()
    )
    return END


def _draft(context: Context) -> Draft | None:
    return context.user_data.get(DRAFT) if context.user_data is not None else None


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    def on(callback: Any, *actions: str) -> BaseHandler[Update, Context, Any]:
        return button_handler(Area.ACTIVITY, callback, *actions)

    return [
        Conversation(
            "activity",
            [CommandHandler("activity", cmd_activity)],
            {
                FOR: [on(cb_for, "for")],
                TITLE: [MessageHandler(text_input(), got_title)],
                WHEN: PICKER.handlers(),
                PLACE: [MessageHandler(text_input(), got_place)],
                HELPERS: [on(cb_helpers, "helpers")],
                HOURS: [on(cb_hours, "hrs")],
                PLACES: [on(cb_places, "places")],
                PRICE: [on(cb_price, "price")],
                PREVIEW: [on(cb_post, "post", "drop")],
            },
            drafts=[DRAFT],
            keeps_draft_on_earlier_buttons=True,
        ),
        CommandHandler("activities", cmd_activities),
        on(cb_sign, "sign"),
        on(cb_cancel, "cancel"),
        on(cb_take, "take"),
        on(cb_decline, "decline"),
        on(cb_mark, "mark"),
        on(cb_credit, "credit"),
        on(cb_roll, "roll"),
        on(cb_call_off, "off"),
    ]


def menu_handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [MessageHandler(menu_tap("menu.activities"), cmd_activities)]
