"""The last net: tell Telegram's everyday refusals from real faults, log each as one line, and
apologise to the member only when something really failed on our side.

- "message is not modified", "query is too old": harmless (a double tap, a late answer).
- 403, "chat not found", "user is deactivated": the member can't be reached; they are marked
  unreachable (as the sender does), and there is nobody to apologise to.
- 429 or the network down while replying: logged; an apology would be refused too.
- Anything else: logged, and the member gets a kind apology.

A line says which update (its number and kind), which handler, our member id and the error's
type with a traceback (bot/logs.py keeps messages and locals out of it): never the update
itself, which holds what the member wrote, their name and their Telegram ids.
"""

from __future__ import annotations

import contextlib
import logging
import traceback

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TelegramError
from telegram.ext import BaseHandler

from bot.refusals import is_gone, is_not_modified, is_stale_query
from bot.services import services
from bot.ui.i18n import t
from handlers.common import Context
from storage import members
from storage.models import Member

log = logging.getLogger(__name__)

UPDATE_KINDS = ("message", "edited_message", "callback_query")


async def on_error(update: object, context: Context) -> None:
    error = context.error
    if error is None or is_not_modified(error) or is_stale_query(error):
        log.debug("harmless refusal: %s", error, extra=describe(update))
        return
    member = await _member(update, context)
    about = {
        **describe(update),
        "handler": handler_of(error),
        "member": member.id if member else None,
    }
    if is_gone(error):
        log.info("the member can't be reached: %s", error, extra=about)
        if member is not None:
            svc = services(context)
            await members.mark_unreachable(svc.db, member.id, svc.clock.now())
        return
    if isinstance(error, RetryAfter | NetworkError):
        log.warning("Telegram could not be answered: %s", error, extra=about)
        return
    log.error("a handler failed", extra=about, exc_info=error)
    await _apologise(update, about)


def describe(update: object) -> dict[str, object]:
    """Which update, and what kind, without anything a member wrote: for a log line's fields."""
    if not isinstance(update, Update):
        return {"update": None, "kind": "job"}
    kind = next((name for name in UPDATE_KINDS if getattr(update, name)), "other")
    return {"update": update.update_id, "kind": kind}


def handler_of(error: BaseException) -> str | None:
    """The handler whose callback raised `error` (`handlers.spend.cb_confirm`): python-telegram-
    bot's handle_update is a frame of the traceback, and the handler is its `self`."""
    for frame, _ in traceback.walk_tb(error.__traceback__):
        handler = frame.f_locals.get("self")
        if isinstance(handler, BaseHandler):
            callback = handler.callback
            return f"{callback.__module__}.{callback.__qualname__}"
    return None


async def _member(update: object, context: Context) -> Member | None:
    """Who was being answered, by our id: a help to whoever reads the log, so a database too
    broken to say must not stop the apology."""
    if not isinstance(update, Update) or update.effective_user is None:
        return None
    with contextlib.suppress(Exception):
        return await members.by_telegram_id(services(context).db, update.effective_user.id)
    return None


async def _apologise(update: object, about: dict[str, object]) -> None:
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await update.effective_chat.send_message(t("errors.generic"))
    except TelegramError as error:
        log.warning("could not apologise: %s", error, extra=about)
