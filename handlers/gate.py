"""The door every update passes first: private chats only, and nothing runs twice.

- In a group the bot never shows member data: a command, a mention or a button there gets one
  line pointing to a private chat, and nothing else happens.
- An edited message never re-runs a command or re-answers a step: Telegram sends edits as
  updates of their own, so a member who fixes a typo in "/offer dog walkin" would otherwise
  post twice. They are told, once per edit, to send it again instead.
- Channel posts and other updates with no person behind them are ignored.
- Everything after speaks the person's language: the one they chose, else their Telegram's,
  else the timebank's default.
- Every button press is answered here, first, so a handler never does it (twice) and a
  refused answer never drops the action; a press whose data isn't ours (an old client, a
  forgery, no data at all) gets a kind "no longer available" and reaches no handler.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.services import services
from bot.ui.callbacks import parse
from bot.ui.i18n import speak, supported, t, usable
from handlers.common import PICKED_LANGUAGE, Context, look_up_member

log = logging.getLogger(__name__)


async def gate(update: Update, context: Context) -> None:
    """Let private messages and button presses through; answer or drop everything else."""
    chat = update.effective_chat
    if update.effective_user is None or chat is None:
        raise ApplicationHandlerStop
    await _speak_their_language(update, context)
    if chat.type != Chat.PRIVATE:
        await _point_to_private_chat(update, context)
        raise ApplicationHandlerStop
    if update.edited_message is not None:
        await _say_send_again(update)
        raise ApplicationHandlerStop
    if update.callback_query is not None:
        await answer_button(update)
        if parse(update.callback_query.data) is None:
            await _say_gone(update)  # not our data: an old client, or forged
            raise ApplicationHandlerStop
    elif update.message is None:
        raise ApplicationHandlerStop  # joins, polls, reactions…: nothing to do


async def _speak_their_language(update: Update, context: Context) -> None:
    user = update.effective_user
    assert user is not None
    svc = services(context)
    member = await look_up_member(update, context)
    chosen = member.language if member is not None else None
    picked = (context.user_data or {}).get(PICKED_LANGUAGE)  # before joining, in memory
    timebank = svc.config.timebank
    language = (
        usable(chosen) or usable(picked) or supported(user.language_code) or timebank.language
    )
    speak(language, timebank.own_words(language))


async def answer_button(update: Update) -> None:
    """Stop the button's loading clock first, for every press, in one place. If Telegram
    refuses (the press is too old, after a restart), the action it asked for still runs."""
    assert update.callback_query is not None
    try:
        await update.callback_query.answer()
    except TelegramError as error:
        log.info("a button press could not be answered: %s", error)


async def _say_gone(update: Update) -> None:
    assert update.effective_chat is not None
    await update.effective_chat.send_message(t("errors.gone"))


async def _point_to_private_chat(update: Update, context: Context) -> None:
    """One line, only when spoken to (a command, a button), never member data."""
    addressed = update.callback_query is not None or (
        update.message is not None and (update.message.text or "").startswith("/")
    )
    if not addressed:
        return
    link = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t("group.open_private"), url=f"https://t.me/{context.bot.username}"
                )
            ]
        ]
    )
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(t("group.private_only"), show_alert=True)
        elif update.effective_chat is not None:
            await update.effective_chat.send_message(t("group.private_only"), reply_markup=link)
    except TelegramError as error:  # the group may not let the bot speak: nothing to add
        log.info("could not point a group to a private chat: %s", error)


async def _say_send_again(update: Update) -> None:
    if update.edited_message is None or update.edited_message.text is None:
        return
    assert update.effective_chat is not None
    await update.effective_chat.send_message(t("common.edited"))


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [TypeHandler(Update, gate)]
