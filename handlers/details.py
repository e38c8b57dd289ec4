"""My details, from /settings: change one's name or neighbourhood, read the privacy note again.

    ⚙️ settings ─"👤 My details"─▶ details ─"✏️ Name"─▶ NAME ─(tapped or typed)─▶ saved
                                          ├"📍 Neighbourhood"─▶ PLACE ─(tapped or typed)─▶ saved
                                          └"🔒 Privacy"─▶ the privacy note again

The member changed is always the one pressing, so no button carries an id to forge.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, ConversationHandler, MessageHandler

from bot.services import services
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.i18n import Html, t
from bot.ui.render import privacy_note
from handlers.common import (
    Context,
    edit,
    for_members,
    on_button,
    reply,
    show_menu,
    text_input,
    typed,
)
from handlers.conversation import Conversation
from handlers.privacy import privacy_buttons
from storage import members
from storage.members import MAX_NAME
from storage.models import Member

NAME, PLACE = range(2)


@on_button
async def cb_details(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """What we keep about the member, with a button for each change."""
    await edit(update, details_text(member), details_buttons())


@on_button
async def cb_change_name(
    update: Update, context: Context, member: Member, callback: Callback
) -> int:
    await reply(update, t("details.ask_name", name=member.display_name))
    return NAME


@for_members
async def got_name(update: Update, context: Context, member: Member) -> int:
    name = await typed(update, MAX_NAME)
    if name is None:
        return NAME
    changed = await members.update_details(services(context).db, member.id, display_name=name)
    await show_menu(update, t("details.saved_name", name=changed.display_name))
    return ConversationHandler.END


@on_button
async def cb_change_place(
    update: Update, context: Context, member: Member, callback: Callback
) -> int:
    places = services(context).config.timebank.neighbourhoods
    buttons = [
        keyboards.button(place, Callback(Area.DETAILS, "setplace", index))
        for index, place in enumerate(places)
    ]
    await reply(update, t("details.ask_place"), keyboards.grid(buttons) if buttons else None)
    return PLACE


@on_button
async def cb_set_place(update: Update, context: Context, member: Member, callback: Callback) -> int:
    places = services(context).config.timebank.neighbourhoods
    if callback.id >= len(places):
        await reply(update, t("errors.gone"))
        return ConversationHandler.END
    return await _save_place(update, context, member, places[callback.id])


@for_members
async def got_place(update: Update, context: Context, member: Member) -> int:
    place = await typed(update, MAX_NAME)
    if place is None:
        return PLACE
    return await _save_place(update, context, member, place)


async def _save_place(update: Update, context: Context, member: Member, place: str) -> int:
    await members.update_details(services(context).db, member.id, neighbourhood=place)
    await show_menu(update, t("details.saved_place", place=place))
    return ConversationHandler.END


@on_button
async def cb_privacy(update: Update, context: Context, member: Member, callback: Callback) -> None:
    await reply(update, privacy_note(services(context).config.privacy), privacy_buttons())


def details_text(member: Member) -> Html:
    return t(
        "details.summary",
        name=member.display_name,
        place=member.neighbourhood or t("details.no_place"),
    )


def details_buttons() -> InlineKeyboardMarkup:
    def choice(key: str, action: str) -> list[Any]:
        return [keyboards.button(t(key), Callback(Area.DETAILS, action))]

    return InlineKeyboardMarkup(
        [
            choice("details.change_name", "name"),
            choice("details.change_place", "place"),
            choice("details.privacy", "privacy"),
        ]
    )


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        Conversation(
            "details",
            [
                CallbackQueryHandler(cb_change_name, pattern=pattern(Area.DETAILS, "name")),
                CallbackQueryHandler(cb_change_place, pattern=pattern(Area.DETAILS, "place")),
            ],
            {
                NAME: [MessageHandler(text_input(), got_name)],
                PLACE: [
                    CallbackQueryHandler(cb_set_place, pattern=pattern(Area.DETAILS, "setplace")),
                    MessageHandler(text_input(), got_place),
                ],
            },
        ),
        CallbackQueryHandler(cb_details, pattern=pattern(Area.DETAILS, "show")),
        # A second neighbourhood tapped on the same message, after the first ended the step.
        CallbackQueryHandler(cb_set_place, pattern=pattern(Area.DETAILS, "setplace")),
        CallbackQueryHandler(cb_privacy, pattern=pattern(Area.DETAILS, "privacy")),
    ]
