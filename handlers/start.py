"""Joining: welcome, name, neighbourhood, then consent before anything is stored.

    /start [CODE] ─▶ NAME ─(typed or tapped)─▶ PLACE ─▶ CONSENT ─"I agree"─▶ member, menu
                                                             └─"No thanks"─▶ nothing kept
    /start visit-WARD ─▶ a patient's own steps (handlers/referrals.py), in this conversation
    /start act-ID ─▶ a member sees the activity's card; a newcomer joins (the activity kept as
                     their join source), then lands on its card to sign up with one tap
Until "I agree", what the person typed lives only in memory (user_data).
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)

from bot.services import services
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.i18n import current_language, t
from bot.ui.render import privacy_note
from handlers import activities, referrals
from handlers.common import Context, drop_buttons, member_of, reply, show_menu, text_input, typed
from handlers.conversation import Conversation
from storage import members
from storage.members import MAX_NAME

NAME, PLACE, CONSENT = range(3)
JOIN = "join"


async def cmd_start(update: Update, context: Context) -> object:
    """Welcome a newcomer and ask their name; greet a returning member with the menu. A ward's
    link (visit-CODE) asks for a home visit instead; an unknown ward is said kindly, and then
    this is the usual start."""
    code = referrals.ward_code(context.args)
    if code is not None:
        if code in services(context).visits.wards:
            return await referrals.begin_ward(update, context, code)
        await reply(update, t("referral.unknown_ward"))
    activity_id = activities.link_id(context.args)
    member = await member_of(update, context)
    if member is not None:
        key = "join.welcome_back" if member.status == "active" else "join.still_pending"
        await show_menu(update, t(key, name=member.display_name))
        if activity_id is not None and member.status == "active":
            await activities.show_card(update, context, member, activity_id)
        return ConversationHandler.END
    user = update.effective_user
    assert user is not None
    assert context.user_data is not None
    source = context.args[0][:64] if context.args else None
    if activity_id is not None:
        source = activities.join_source(activity_id)
    context.user_data[JOIN] = {"source": source, "activity": activity_id}
    timebank = services(context).config.timebank.name
    await reply(update, t("join.welcome", timebank=timebank, how=t("help.hours")))
    await reply(update, t("join.ask_name"), keyboards.choices([user.first_name]))
    return NAME


async def got_name(update: Update, context: Context) -> int:
    name = await typed(update, MAX_NAME)
    if name is None:
        return NAME
    assert context.user_data is not None
    context.user_data.setdefault(JOIN, {})["name"] = name
    places = services(context).config.timebank.neighbourhoods
    if not places:
        return await ask_consent(update, context)
    await reply(update, t("join.ask_place", name=name), keyboards.choices(places))
    return PLACE


async def got_place(update: Update, context: Context) -> int:
    place = await typed(update, MAX_NAME)
    if place is None:
        return PLACE
    assert context.user_data is not None
    context.user_data.setdefault(JOIN, {})["place"] = place
    return await ask_consent(update, context)


async def ask_consent(update: Update, context: Context) -> int:
    await reply(update, t("join.privacy_intro"), ReplyKeyboardRemove())
    await reply(
        update,
        t("join.privacy", note=privacy_note(services(context).config.privacy)),
        InlineKeyboardMarkup(
            [
                [keyboards.button(t("join.agree"), Callback(Area.JOIN, "agree"))],
                [keyboards.button(t("join.no_thanks"), Callback(Area.JOIN, "decline"))],
            ]
        ),
    )
    return CONSENT


async def cb_consent(update: Update, context: Context) -> int:
    """Store the member only now that they agreed; "No thanks" keeps nothing."""
    query = update.callback_query
    assert query is not None
    assert context.user_data is not None
    answers = context.user_data.pop(JOIN, None)
    await drop_buttons(update)
    if query.data != Callback(Area.JOIN, "agree").pack():
        await reply(update, t("join.declined"))
        return ConversationHandler.END
    if not answers or "name" not in answers:
        await reply(update, t("join.start_again"))
        return ConversationHandler.END
    await _join(update, context, answers)
    return ConversationHandler.END


async def _join(update: Update, context: Context, answers: dict[str, Any]) -> None:
    user = update.effective_user
    assert user is not None
    svc = services(context)
    existing = await members.by_telegram_id(svc.db, user.id)
    member = existing or await members.join(
        svc.db,
        telegram_id=user.id,
        display_name=answers["name"],
        username=user.username,
        neighbourhood=answers.get("place"),
        join_source=answers.get("source"),
        coordinator=user.id in svc.config.timebank.coordinators,
        approved=svc.config.timebank.join == "open",
        now=svc.clock.now(),
        language=current_language(),
        timings=svc.timings,
    )
    if member.status == "active":
        await show_menu(update, t("join.done", name=member.display_name))
        if answers.get("activity") is not None:
            await activities.show_card(update, context, member, answers["activity"])
    else:
        await reply(update, t("join.pending", name=member.display_name))


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        Conversation(
            "join",
            [CommandHandler("start", cmd_start)],
            {
                NAME: [MessageHandler(text_input(), got_name)],
                PLACE: [MessageHandler(text_input(), got_place)],
                CONSENT: [CallbackQueryHandler(cb_consent, pattern=pattern(Area.JOIN))],
                **referrals.steps(),
            },
            drafts=[JOIN, referrals.DRAFT],
            keeps_draft_on_earlier_buttons=True,
        ),
        # Outside the conversation (it was left, timed out, or the bot restarted).
        CallbackQueryHandler(cb_consent_later, pattern=pattern(Area.JOIN)),
    ]


async def cb_consent_later(update: Update, context: Context) -> None:
    """ "I agree" after the answers were put aside: say so, and how to begin again."""
    member = await member_of(update, context)
    if member is not None:
        await show_menu(update, t("join.welcome_back", name=member.display_name))
        return
    await reply(update, t("join.start_again"))
