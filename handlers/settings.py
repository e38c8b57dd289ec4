"""/settings: nudges on or off, each nudge at once or one daily digest, quiet hours, and the
language (also /language, which works before joining too: the choice is kept in memory until
the person agrees to the privacy note, then stored with them).

Every choice is a button on one message that is edited in place; the member changed is always
the one pressing, so there is no id in the data to forge.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommandScopeChat, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.services import services
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, parse, pattern
from bot.ui.commands import bot_commands
from bot.ui.i18n import Html, current_language, language_name, languages, speak, t, usable
from bot.ui.keyboards import button
from handlers.common import (
    PICKED_LANGUAGE,
    Context,
    drop_buttons,
    edit,
    for_members,
    member_of,
    on_button,
    reply,
    show_menu,
)
from storage import members
from storage.models import Member

log = logging.getLogger(__name__)

# Quiet-hours choices, by their place in this list ('' = none).
QUIET_PRESETS = ("21:00-08:00", "22:00-07:00", "20:00-09:00", "")


@for_members
async def cmd_settings(update: Update, context: Context, member: Member) -> None:
    """Show the member's nudge settings with a button for each change."""
    text, markup = settings_view(member, services(context).config.nudges.quiet_hours)
    await reply(update, text, markup)


@on_button
async def cb_setting(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Apply one change and redraw the same message."""
    db = services(context).db
    if callback.action == "nudges":
        member = await members.update_settings(db, member.id, nudges_enabled=callback.arg == "on")
    elif callback.action == "digest":
        member = await members.update_settings(db, member.id, digest=callback.arg == "on")
    elif callback.action == "quiet" and callback.arg_int in range(len(QUIET_PRESETS)):
        preset = QUIET_PRESETS[callback.arg_int or 0]
        member = await members.update_settings(db, member.id, quiet_hours=preset)
    elif callback.action == "languages":
        await edit(update, t("language.choose"), language_choice())
        return
    text, markup = settings_view(member, services(context).config.nudges.quiet_hours)
    if callback.action != "show":
        await edit(update, Html(f"{t('settings.saved')}\n\n{text}"), markup)
    else:
        await reply(update, text, markup)


async def cmd_language(update: Update, context: Context) -> None:
    """Offer every language we have, each named in itself."""
    await reply(update, t("language.choose"), language_choice())


async def cb_language(update: Update, context: Context) -> None:
    """Speak the chosen language from now on: stored for a member, kept in memory for someone
    who hasn't joined yet. The main menu's buttons change too, so it is sent again."""
    callback = parse(update.callback_query.data if update.callback_query else None)
    language = usable(callback.arg if callback else None)
    if language is None:
        await reply(update, t("errors.gone"))
        return
    member = await member_of(update, context)
    if member is not None:
        await members.set_language(services(context).db, member.id, language)
    elif context.user_data is not None:
        context.user_data[PICKED_LANGUAGE] = language
    speak(language, services(context).config.timebank.own_words(language))
    await drop_buttons(update)
    await _command_menu_in(language, update, context)
    if member is not None and member.status == "active":
        await show_menu(update, t("language.saved"))
    else:
        await reply(update, t("language.saved_newcomer"))


async def _command_menu_in(language: str, update: Update, context: Context) -> None:
    """Telegram's / menu in this chat, in the language chosen (by default it follows the
    phone's). A nicety: if Telegram refuses, the choice still stands."""
    chat = update.effective_chat
    assert chat is not None
    try:
        await context.bot.set_my_commands(bot_commands(), scope=BotCommandScopeChat(chat.id))
    except TelegramError as error:
        log.info("the command menu of a chat stays as it was: %s", error)


def language_choice() -> InlineKeyboardMarkup:
    return keyboards.grid(
        [
            keyboards.button(language_name(code), Callback(Area.LANGUAGE, "set", 0, code))
            for code in languages()
        ]
    )


def settings_view(member: Member, default_quiet: str) -> tuple[Html, InlineKeyboardMarkup]:
    quiet = default_quiet if member.quiet_hours is None else member.quiet_hours
    text = t(
        "settings.summary",
        nudges=t("settings.on") if member.nudges_enabled else t("settings.off"),
        mode=t("settings.digest") if member.nudge_digest else t("settings.immediate"),
        quiet=_quiet_label(quiet),
        language_name=language_name(current_language()),
    )
    toggle_nudges = (
        button(t("settings.turn_off"), Callback(Area.SETTINGS, "nudges", 0, "off"))
        if member.nudges_enabled
        else button(t("settings.turn_on"), Callback(Area.SETTINGS, "nudges", 0, "on"))
    )
    toggle_digest = (
        button(t("settings.use_immediate"), Callback(Area.SETTINGS, "digest", 0, "off"))
        if member.nudge_digest
        else button(t("settings.use_digest"), Callback(Area.SETTINGS, "digest", 0, "on"))
    )
    presets = [
        button(_quiet_button(preset), Callback(Area.SETTINGS, "quiet", 0, str(index)))
        for index, preset in enumerate(QUIET_PRESETS)
        if preset != quiet
    ]
    language = button(t("settings.language_button"), Callback(Area.SETTINGS, "languages"))
    details = button(t("settings.details_button"), Callback(Area.DETAILS, "show"))
    return text, InlineKeyboardMarkup(
        [[toggle_nudges], [toggle_digest], presets[:2], presets[2:], [language, details]]
    )


def _quiet_label(window: str) -> str:
    return t("settings.quiet_none") if not window else window.replace("-", "–")


def _quiet_button(window: str) -> str:
    if not window:
        return t("settings.no_quiet_button")
    return t("settings.quiet_button", window=_quiet_label(window))


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        CommandHandler("settings", cmd_settings),
        CallbackQueryHandler(cb_setting, pattern=pattern(Area.SETTINGS)),
        CommandHandler("language", cmd_language),
        CallbackQueryHandler(cb_language, pattern=pattern(Area.LANGUAGE)),
    ]
