"""What every flow shares: who is asking, replying, and turning domain errors into kind words."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from telegram import Chat, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, ContextTypes, ConversationHandler, filters

from bot.refusals import cant_edit, is_not_modified
from bot.services import services
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, parse, pattern
from bot.ui.i18n import languages, t, tn
from bot.ui.render import utf16_length, visible_text
from storage import errors, members
from storage.models import Member

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Coroutine[Any, Any, Any]]
MemberHandler = Callable[[Update, Context, Member], Awaitable[Any]]
CallbackHandler = Callable[[Update, Context, Member, Callback], Awaitable[Any]]

# user_data key: the language someone picked before joining (nothing is stored until they do).
PICKED_LANGUAGE = "language"

# Which catalogue key explains each domain error to a member.
ERROR_TEXT: dict[type[errors.DomainError], str] = {
    errors.NotFound: "errors.gone",
    errors.NotYours: "errors.not_yours",
    errors.AlreadyConfirmed: "errors.already_confirmed",
    errors.WithCoordinator: "errors.with_coordinator",
    errors.WrongState: "errors.moved_on",
    errors.OwnListing: "errors.own_listing",
    errors.AlreadyResponded: "errors.already_responded",
    errors.InvalidMinutes: "errors.invalid_minutes",
    errors.NotCoordinator: "errors.not_coordinator",
    errors.SamePerson: "errors.same_person",
    errors.OwnExchange: "errors.own_exchange",
    errors.AlreadyAsked: "errors.already_asked",
    errors.AlreadyRecorded: "errors.already_recorded",
    errors.Unavailable: "errors.unavailable",
    errors.Paused: "errors.paused",
    errors.OwnCase: "errors.own_case",
    errors.NotForOrganisation: "errors.not_for_organisation",
}


def explain(error: errors.DomainError) -> str:
    for kind in type(error).__mro__:
        if kind in ERROR_TEXT:
            return t(ERROR_TEXT[kind])
    return t("errors.generic")


async def reply(update: Update, text: str, markup: Any = None) -> Message:
    """Send `text` into the chat the update came from."""
    chat = update.effective_chat
    assert chat is not None
    return await chat.send_message(text, reply_markup=markup)


async def edit(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Show `text` in place of the message whose button was pressed. If it already says that
    (a double tap) there is nothing to do; if it can't be edited (deleted, too old), it comes
    as a new message instead."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        try:
            await query.edit_message_text(text, reply_markup=markup)
            return
        except BadRequest as error:
            if is_not_modified(error):
                return
            if not cant_edit(error):
                raise
    await reply(update, text, markup)


async def drop_buttons(update: Update) -> None:
    """Take the buttons off the pressed message, so they can't be pressed again; harmless if
    they are gone already."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as error:
        if not (is_not_modified(error) or cant_edit(error)):
            raise


def pressed(update: Update) -> Callback | None:
    """The button pressed, read from its data; None for data no button of ours carries."""
    query = update.callback_query
    return parse(query.data if query else None)


def pressed_message_id(update: Update) -> int:
    """The message whose button was pressed (0 if none): how a step's old button finds what
    became of the draft it belonged to."""
    query = update.callback_query
    return query.message.message_id if query is not None and query.message is not None else 0


async def draft_lost(update: Update) -> int:
    """A conversation's step whose draft is gone (a restart, or a button from before): said
    kindly, and the conversation ends."""
    await reply(update, t("post.draft_lost"))
    return ConversationHandler.END


async def show_busy(chat: Chat, action: str) -> None:
    """ "Sending a photo…" while a chart is drawn: a nicety, so a refusal never stops the work."""
    try:
        await chat.send_action(action)
    except TelegramError as error:
        log.info("chat action %s not shown: %s", action, error)


async def typed(update: Update, limit: int) -> str | None:
    """What the member typed, trimmed; None, after saying so kindly, when it is empty,
    invisible or too long."""
    message = update.effective_message
    return await words_within(update, (message.text or "") if message else "", limit)


async def words_within(update: Update, text: str, limit: int) -> str | None:
    """`text` without invisible edges, if something is left and it fits `limit` (counted as
    Telegram counts); else None, after telling the member kindly."""
    words = visible_text(text)
    if not words:
        await reply(update, t("common.empty"))
        return None
    length = utf16_length(words)
    if length > limit:
        await reply(update, tn("common.too_long", length, limit=limit))
        return None
    return words


async def show_menu(update: Update, text: str | None = None) -> Message:
    return await reply(update, text or t("menu.prompt"), keyboards.main_menu())


# The member row the gate read for this update (to speak their language), handed to the first
# member_of so an update reads it once. Each update runs in a task of its own, so this is the
# update's alone; later calls read afresh, in case the handler changed the member meanwhile.
_read_by_gate: ContextVar[tuple[int, Member | None] | None] = ContextVar(
    "read_by_gate", default=None
)


async def look_up_member(update: Update, context: Context) -> Member | None:
    """Read the member behind this update once, at the gate, for what follows to use."""
    user = update.effective_user
    if user is None:
        return None
    member = await members.by_telegram_id(services(context).db, user.id)
    _read_by_gate.set((user.id, member))
    return member


async def member_of(update: Update, context: Context) -> Member | None:
    """The member behind this update. Writing to us again makes a blocked member reachable."""
    user = update.effective_user
    if user is None:
        return None
    db = services(context).db
    read = _read_by_gate.get()
    _read_by_gate.set(None)
    if read is not None and read[0] == user.id:
        member = read[1]
    else:
        member = await members.by_telegram_id(db, user.id)
    if member is not None and member.unreachable:
        await members.mark_reachable(db, member.id)
    return member


def for_members(handler: MemberHandler) -> Handler:
    """Run `handler` only for active members; others are told how to join, kindly."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: Context) -> Any:
        member = await member_of(update, context)
        if member is None:
            await reply(update, t("join.first"))
            return None
        if member.status != "active":
            await reply(update, t("join.still_pending"))
            return None
        try:
            return await handler(update, context, member)
        except errors.DomainError as error:
            await reply(update, explain(error))
            return None

    return wrapper


def for_coordinators(handler: MemberHandler) -> Handler:
    """Run `handler` only for coordinators; everyone else is told so, kindly.

    This is the front door; storage re-checks the role for anything that changes data."""

    @for_members
    @functools.wraps(handler)
    async def wrapper(update: Update, context: Context, member: Member) -> Any:
        if not member.is_coordinator:
            await reply(update, t("errors.not_coordinator"))
            return None
        return await handler(update, context, member)

    return wrapper


def on_coordinator_button(
    handler: CallbackHandler,
) -> Handler:
    """A button only coordinators may press; its data parsed, forged data answered kindly."""

    @for_coordinators
    @functools.wraps(handler)
    async def wrapper(update: Update, context: Context, member: Member) -> Any:
        return await _with_callback(update, context, member, handler)

    return wrapper


async def _with_callback(
    update: Update, context: Context, member: Member, handler: CallbackHandler
) -> Any:
    query = update.callback_query
    callback = parse(query.data if query else None)
    if callback is None:
        await reply(update, t("errors.gone"))
        return None
    return await handler(update, context, member, callback)


def on_button(handler: CallbackHandler) -> Handler:
    """A button press from an active member, its data parsed; forged data gets a kind reply."""

    @for_members
    @functools.wraps(handler)
    async def wrapper(update: Update, context: Context, member: Member) -> Any:
        return await _with_callback(update, context, member, handler)

    return wrapper


MENU_KEYS = (
    "menu.offer",
    "menu.need",
    "menu.browse",
    "menu.hours",
    "menu.help",
    "menu.activities",
    "menu.spend",
)


def menu_filter() -> filters.BaseFilter:
    """Matches a tap on any main-menu button (in any language of the catalogue)."""
    labels = {t(key, language) for key in MENU_KEYS for language in languages()}
    return filters.Text(sorted(labels))


def menu_tap(key: str) -> filters.BaseFilter:
    """Matches a tap on one main-menu button, in whichever language the member reads."""
    return filters.Text(sorted({t(key, language) for language in languages()}))


def text_input() -> filters.BaseFilter:
    """Typed words for a conversation step: not a command, not a menu tap."""
    return filters.TEXT & ~filters.COMMAND & ~menu_filter()


async def cmd_cancel(update: Update, context: Context) -> None:
    """/cancel outside any conversation (inside one, the Leaver in handlers/conversation.py
    ends it and says so): there is nothing to stop, and the menu is what comes next."""
    await show_menu(update, t("common.nothing_to_cancel"))


def button_handler(area: Area, callback: Any, *actions: str) -> CallbackQueryHandler[Context, Any]:
    """The handler of a flow's buttons with these actions: every flow's handler list names
    its callbacks this one way."""
    return CallbackQueryHandler(callback, pattern=pattern(area, *actions))
