"""Telegram's everyday refusals, told apart by what they mean for us.

Telegram answers some requests with an error that is no fault at all (an edit that changes
nothing, a button pressed twice), and some with an error that means a person can't be reached
any more. Handlers, the error handler and the sender all ask these questions, so they live in
one place. Telegram gives no codes beyond 400/403 for these, only its descriptions.
"""

from __future__ import annotations

from telegram.error import BadRequest, Forbidden, TelegramError

# Telegram's words for a chat we can never reach again (alongside 403 Forbidden).
GONE_PHRASES = ("chat not found", "user is deactivated", "bot was blocked", "peer_id_invalid")
NOT_MODIFIED = "message is not modified"
STALE_QUERY = "query is too old"
# An edit that can't happen: the message was deleted, is too old, or isn't ours to edit.
CANT_EDIT = ("message to edit not found", "message can't be edited", "message_id_invalid")


def is_gone(error: BaseException) -> bool:
    """The chat can never be reached: the member blocked the bot, or their account is gone."""
    if isinstance(error, Forbidden):
        return True
    return isinstance(error, BadRequest) and _says(error, *GONE_PHRASES)


def is_not_modified(error: BaseException) -> bool:
    """An edit to what the message already says: a double tap, harmless."""
    return isinstance(error, BadRequest) and _says(error, NOT_MODIFIED)


def is_stale_query(error: BaseException) -> bool:
    """A button press answered too late (after a restart or a slow moment): the action it
    asked for still runs; only the little "loading" clock on the button could not be stopped."""
    return isinstance(error, BadRequest) and _says(error, STALE_QUERY)


def cant_edit(error: BaseException) -> bool:
    return isinstance(error, BadRequest) and _says(error, *CANT_EDIT)


def _says(error: TelegramError, *phrases: str) -> bool:
    text = error.message.lower()
    return any(phrase in text for phrase in phrases)
