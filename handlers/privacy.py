"""Your data and leaving: /mydata, /forget, and their buttons under the privacy note.

    /mydata ─▶ a short summary (who has looked at it too) and a JSON file of every row
    /forget or "🚪 Leave" ─▶ "Leave the timebank?" ─"Yes"─▶ forgotten: the profile, posts and
                                                            settings go; the hours stay, anonymous
                                                   └"No"─▶ nothing changed

Both work for anyone we keep something about, joined or still waiting for a coordinator.
Leaving is also how consent is withdrawn. The presser is always the member acted on, so no
button carries an id to forge; a second "Yes" finds nobody to forget and says so kindly.
"""

from __future__ import annotations

import json
from typing import Any

from telegram import InlineKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.services import services
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.i18n import Html, hours, t, tn
from handlers.common import Context, drop_buttons, edit, member_of, reply
from storage import audit, mydata
from storage.errors import NotFound
from storage.forget import forget
from storage.models import Member


async def cmd_mydata(update: Update, context: Context) -> None:
    """A few lines on what we keep, then all of it as a file they can take with them."""
    member = await member_of(update, context)
    if member is None:
        await reply(update, t("mydata.nothing"))
        return
    svc = services(context)
    data = await mydata.member_data(svc.db, member.id)
    await reply(update, summary_text(member, data))
    day = svc.clock.now().astimezone(svc.config.zone).date()
    chat = update.effective_chat
    assert chat is not None
    await chat.send_document(
        json.dumps(data, ensure_ascii=False, indent=2).encode(),
        filename=f"my-timebank-data-{day.isoformat()}.json",
        caption=t("mydata.caption"),
    )


def summary_text(member: Member, data: dict[str, Any]) -> Html:
    found = data["summary"]
    views = [
        row
        for row in data.get("audit_log", [])
        if row["action"] == audit.VIEWED and row["subject"] == audit.member_subject(member.id)
    ]
    return t(
        "mydata.summary",
        name=member.display_name,
        place=member.neighbourhood or t("details.no_place"),
        posts=found["listings"],
        exchanges=found["exchanges"],
        given=hours(found["given_minutes"]),
        received=hours(found["received_minutes"]),
        balance=hours(found["balance_minutes"]),
        viewed=tn("mydata.viewed", len(views)) if views else t("mydata.not_viewed"),
    )


async def cmd_forget(update: Update, context: Context) -> None:
    """Ask once, plainly, what leaving deletes and what it keeps."""
    if await member_of(update, context) is None:
        await reply(update, t("forget.nothing"))
        return
    await reply(update, t("forget.ask"), leave_choice())


def leave_choice() -> InlineKeyboardMarkup:
    """Staying comes first: a hurried tap on the top button must not delete anyone."""
    return InlineKeyboardMarkup(
        [
            [keyboards.button(t("forget.no"), Callback(Area.PRIVACY, "no"))],
            [keyboards.button(t("forget.yes"), Callback(Area.PRIVACY, "yes"))],
        ]
    )


async def cb_forget_yes(update: Update, context: Context) -> None:
    member = await member_of(update, context)
    await drop_buttons(update)
    if member is None:
        await reply(update, t("forget.already"))
        return
    svc = services(context)
    try:
        await forget(svc.db, member.id, svc.clock.now())
    except NotFound:
        await reply(update, t("forget.already"))
        return
    if context.user_data is not None:
        context.user_data.clear()
    await reply(update, t("forget.done"), ReplyKeyboardRemove())


async def cb_forget_no(update: Update, context: Context) -> None:
    await edit(update, t("forget.kept"))


async def cb_leave(update: Update, context: Context) -> None:
    """ "🚪 Leave the timebank" under the privacy note: the same question as /forget."""
    await cmd_forget(update, context)


async def cb_data(update: Update, context: Context) -> None:
    await cmd_mydata(update, context)


def privacy_buttons() -> InlineKeyboardMarkup:
    """Under the privacy note: take your data, or leave (which also withdraws consent)."""
    return InlineKeyboardMarkup(
        [
            [keyboards.button(t("details.data"), Callback(Area.PRIVACY, "data"))],
            [keyboards.button(t("details.leave"), Callback(Area.PRIVACY, "leave"))],
        ]
    )


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        CommandHandler("mydata", cmd_mydata),
        CommandHandler("forget", cmd_forget),
        CallbackQueryHandler(cb_data, pattern=pattern(Area.PRIVACY, "data")),
        CallbackQueryHandler(cb_leave, pattern=pattern(Area.PRIVACY, "leave")),
        CallbackQueryHandler(cb_forget_yes, pattern=pattern(Area.PRIVACY, "yes")),
        CallbackQueryHandler(cb_forget_no, pattern=pattern(Area.PRIVACY, "no")),
    ]
