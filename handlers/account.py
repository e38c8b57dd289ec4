"""A member's own view: balance and open exchanges, history, help, and the menu as fallback."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.services import services
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.commands import coordinator_help_lines
from bot.ui.i18n import Html, hours, t
from bot.ui.render import history_line, visit_line
from handlers.common import (
    Context,
    cmd_cancel,
    for_members,
    member_of,
    menu_filter,
    menu_tap,
    reply,
    show_menu,
)
from storage import aftercare, exchanges, ledger, organisations
from storage.models import Member

HISTORY_LINES = 10


@for_members
async def cmd_balance(update: Update, context: Context, member: Member) -> None:
    """ "My hours": the balance, and any exchange waiting for this member's tap."""
    db = services(context).db
    balance = await ledger.balance(db, member.id)
    waiting = await exchanges.open_for(db, member.id)
    rows = [
        [
            keyboards.button(
                t("account.finish_exchange", number=e.id), Callback(Area.EXCHANGE, "done", e.id)
            )
        ]
        for e in waiting
    ]
    rows.append(
        [
            keyboards.button(t("account.my_posts"), Callback(Area.LISTING, "mine")),
            keyboards.button(t("account.history"), Callback(Area.ACCOUNT, "history")),
        ]
    )
    rows.append([keyboards.button(t("account.settings"), Callback(Area.SETTINGS, "show"))])
    await reply(update, t("account.balance", balance=hours(balance)), InlineKeyboardMarkup(rows))


@for_members
async def cmd_history(update: Update, context: Context, member: Member) -> None:
    """The last ten exchanges and visits credited, newest first."""
    db = services(context).db
    lines = [(item.when, history_line(item)) for item in await exchanges.history(db, member.id)]
    lines += [
        (credit.when, visit_line(credit)) for credit in await aftercare.visit_credits(db, member.id)
    ]
    if not lines:
        await reply(update, t("history.empty"))
        return
    newest = sorted(lines, key=lambda line: line[0], reverse=True)[:HISTORY_LINES]
    await reply(update, Html("\n".join([t("history.title"), *(text for _, text in newest)])))


async def cmd_help(update: Update, context: Context) -> None:
    """How hours work and what each menu button does, in plain words (Telegram's / menu lists
    the commands); coordinators get their own commands in a second message."""
    member = await member_of(update, context)
    text = help_text()
    if member is not None and await organisations.of_member(services(context).db, member.id):
        text = Html(f"{text}\n\n{t('help.organisations')}")  # /org, for those who act for one
    await show_menu(update, text)
    if member is not None and member.is_coordinator:
        lines = [t("help.coordinators"), *coordinator_help_lines()]
        await reply(update, Html("\n".join(lines)))


def help_text() -> Html:
    return t(
        "help.guide",
        how=t("help.hours"),
        offer=t("menu.offer"),
        need=t("menu.need"),
        browse=t("menu.browse"),
        hours=t("menu.hours"),
    )


async def unknown_text(update: Update, context: Context) -> None:
    """Words we don't understand outside a conversation: show the menu, kindly (or, to
    someone who hasn't joined, how to join)."""
    if await member_of(update, context) is None:
        await reply(update, t("join.first"))
        return
    await show_menu(update, t("menu.not_understood"))


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        CommandHandler("balance", cmd_balance),
        CommandHandler("history", cmd_history),
        CommandHandler("help", cmd_help),
        CommandHandler("cancel", cmd_cancel),  # outside any conversation: nothing to stop
        CallbackQueryHandler(cmd_history, pattern=pattern(Area.ACCOUNT, "history")),
    ]


async def unknown_button(update: Update, context: Context) -> None:
    """A press no handler knows (an old button, forged data): answer it, and say so kindly."""
    await reply(update, t("errors.gone"))


def fallback_handlers() -> list[BaseHandler[Update, Context, Any]]:
    """Registered last: anything no other handler took."""
    return [
        MessageHandler(filters.TEXT & ~menu_filter(), unknown_text),
        CallbackQueryHandler(unknown_button),
    ]


def menu_handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        MessageHandler(menu_tap("menu.hours"), cmd_balance),
        MessageHandler(menu_tap("menu.help"), cmd_help),
    ]
