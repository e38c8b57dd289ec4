"""The last net: log what went wrong with its update, and tell the member kindly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.ui.i18n import t
from handlers.common import Context

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log first (with the update), then apologise in the chat if there is one."""
    log.error("error while handling %r", update, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await update.effective_chat.send_message(t("errors.generic"))
    except TelegramError:
        log.warning("could not apologise in chat %s", update.effective_chat.id)
