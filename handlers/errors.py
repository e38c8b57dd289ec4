"""The last net: tell Telegram's everyday refusals from real faults, log each as one line, and
apologise to the member only when something really failed on our side.

- "message is not modified", "query is too old": harmless (a double tap, a late answer).
- 403, "chat not found", "user is deactivated": the member can't be reached; they are marked
  unreachable (as the sender does), and there is nobody to apologise to.
- 429 or the network down while replying: logged; an apology would be refused too.
- Anything else: logged with its traceback and the update's kind (not its text: logs carry no
  member's words), and the member gets a kind apology.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import NetworkError, RetryAfter, TelegramError

from bot.refusals import is_gone, is_not_modified, is_stale_query
from bot.services import services
from bot.ui.i18n import t
from handlers.common import Context
from storage import members

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    error = context.error
    where = describe(update)
    if error is None or is_not_modified(error) or is_stale_query(error):
        log.debug("harmless refusal while handling %s: %s", where, error)
        return
    if is_gone(error):
        log.info("can't reach the member of %s: %s", where, error)
        await _mark_unreachable(update, context)
        return
    if isinstance(error, RetryAfter | NetworkError):
        log.warning("Telegram could not be answered for %s: %s", where, error)
        return
    log.error("error while handling %s", where, exc_info=error)
    await _apologise(update)


def describe(update: object) -> str:
    """Which update, and what kind, without anything a member wrote."""
    if not isinstance(update, Update):
        return "a job"
    kind = next(
        (name for name in ("message", "edited_message", "callback_query") if getattr(update, name)),
        "other",
    )
    return f"update {update.update_id} ({kind})"


async def _mark_unreachable(update: object, context: Context) -> None:
    if not isinstance(update, Update) or update.effective_user is None:
        return
    svc = services(context)
    member = await members.by_telegram_id(svc.db, update.effective_user.id)
    if member is not None:
        await members.mark_unreachable(svc.db, member.id, svc.clock.now())


async def _apologise(update: object) -> None:
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await update.effective_chat.send_message(t("errors.generic"))
    except TelegramError as error:
        log.warning("could not apologise in %s: %s", describe(update), error)
