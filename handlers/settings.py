"""/settings: nudges on or off, each nudge at once or one daily digest, and quiet hours.

Every choice is a button on one message that is edited in place; the member changed is always
the one pressing, so there is no id in the data to forge.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.services import services
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.i18n import Html, t
from bot.ui.keyboards import button
from handlers.common import Context, edit, for_members, on_button, reply
from storage import members
from storage.models import Member

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
    text, markup = settings_view(member, services(context).config.nudges.quiet_hours)
    if callback.action != "show":
        await edit(update, Html(f"{t('settings.saved')}\n\n{text}"), markup)
    else:
        await reply(update, text, markup)


def settings_view(member: Member, default_quiet: str) -> tuple[Html, InlineKeyboardMarkup]:
    quiet = default_quiet if member.quiet_hours is None else member.quiet_hours
    text = t(
        "settings.summary",
        nudges=t("settings.on") if member.nudges_enabled else t("settings.off"),
        mode=t("settings.digest") if member.nudge_digest else t("settings.immediate"),
        quiet=_quiet_label(quiet),
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
    return text, InlineKeyboardMarkup([[toggle_nudges], [toggle_digest], presets[:2], presets[2:]])


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
    ]
