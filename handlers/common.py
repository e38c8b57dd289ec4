"""What every flow shares: who is asking, replying, and turning domain errors into kind words."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.services import services
from bot.ui import keyboards
from bot.ui.callbacks import Callback, parse
from bot.ui.i18n import languages, t
from storage import errors, members
from storage.models import Member

Context = ContextTypes.DEFAULT_TYPE
MemberHandler = Callable[[Update, Context, Member], Awaitable[Any]]
CallbackHandler = Callable[[Update, Context, Member, Callback], Awaitable[Any]]

# Which catalogue key explains each domain error to a member.
ERROR_TEXT: dict[type[errors.DomainError], str] = {
    errors.NotFound: "errors.gone",
    errors.NotYours: "errors.not_yours",
    errors.AlreadyConfirmed: "errors.already_confirmed",
    errors.WrongState: "errors.moved_on",
    errors.OwnListing: "errors.own_listing",
    errors.AlreadyResponded: "errors.already_responded",
    errors.InvalidMinutes: "errors.invalid_minutes",
    errors.NotCoordinator: "errors.not_coordinator",
    errors.SamePerson: "errors.same_person",
    errors.OwnExchange: "errors.own_exchange",
    errors.AlreadyAsked: "errors.already_asked",
    errors.AlreadyRecorded: "errors.already_recorded",
}


def explain(error: errors.DomainError) -> str:
    for kind in type(error).__mro__:
        if kind in ERROR_TEXT:
            return t(ERROR_TEXT[kind])  # type: ignore[index]
    return t("errors.generic")


async def reply(update: Update, text: str, markup: Any = None) -> Message:
    """Send `text` into the chat the update came from."""
    chat = update.effective_chat
    assert chat is not None
    return await chat.send_message(text, reply_markup=markup)


async def typed(update: Update, limit: int) -> str | None:
    """What the member typed, trimmed; None, after saying so kindly, when it is too long."""
    message = update.effective_message
    text = (message.text or "").strip() if message else ""
    if len(text) > limit:
        await reply(update, t("common.too_long", count=len(text), limit=limit))
        return None
    return text


async def show_menu(update: Update, text: str | None = None) -> Message:
    return await reply(update, text or t("menu.prompt"), keyboards.main_menu())


async def member_of(update: Update, context: Context) -> Member | None:
    """The member behind this update. Writing to us again makes a blocked member reachable."""
    user = update.effective_user
    if user is None:
        return None
    db = services(context).db
    member = await members.by_telegram_id(db, user.id)
    if member is not None and member.unreachable:
        await members.mark_reachable(db, member.id)
    return member


def for_members(handler: MemberHandler) -> Callable[[Update, Context], Awaitable[Any]]:
    """Run `handler` only for active members; others are told how to join, kindly."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: Context) -> Any:
        if update.callback_query:
            await update.callback_query.answer()
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


def for_coordinators(handler: MemberHandler) -> Callable[[Update, Context], Awaitable[Any]]:
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
) -> Callable[[Update, Context], Awaitable[Any]]:
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


def on_button(handler: CallbackHandler) -> Callable[[Update, Context], Awaitable[Any]]:
    """A button press from an active member, its data parsed; forged data gets a kind reply."""

    @for_members
    @functools.wraps(handler)
    async def wrapper(update: Update, context: Context, member: Member) -> Any:
        return await _with_callback(update, context, member, handler)

    return wrapper


MENU_KEYS = ("menu.offer", "menu.need", "menu.browse", "menu.hours", "menu.help")


def menu_filter() -> filters.BaseFilter:
    """Matches a tap on any main-menu button (in any language of the catalogue)."""
    labels = {t(key, language) for key in MENU_KEYS for language in languages()}
    return filters.Text(sorted(labels))


def text_input() -> filters.BaseFilter:
    """Typed words for a conversation step: not a command, not a menu tap."""
    return filters.TEXT & ~filters.COMMAND & ~menu_filter()


async def end_quietly(update: Update, context: Context) -> int:
    """Leave a conversation when the member taps the menu; the menu handler (group 1) acts."""
    return ConversationHandler.END


async def cmd_cancel(update: Update, context: Context) -> int:
    """Leave any conversation, keeping nothing half-done."""
    context.user_data.clear() if context.user_data is not None else None
    await show_menu(update, t("common.cancelled"))
    return ConversationHandler.END


def conversation(
    name: str,
    entry_points: list[BaseHandler[Update, Context, Any]],
    states: dict[object, list[BaseHandler[Update, Context, Any]]],
) -> ConversationHandler[Context]:
    """A conversation with the fallbacks every one shares: /cancel, and tapping the menu.

    Buttons inside a conversation are tracked per chat and user, not per message
    (per_message=False), on purpose: a member's steps may answer any of the bot's messages.
    python-telegram-bot warns about that choice; the warning is silenced here only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
        return ConversationHandler(
            name=name,
            entry_points=entry_points,
            states=states,
            fallbacks=[
                CommandHandler("cancel", cmd_cancel),
                MessageHandler(menu_filter(), end_quietly),
            ],
            allow_reentry=True,
        )
