"""Keeping safe: a member blocks someone, or reports them to the coordinators.

    "🚫 Block" (on a listing, an answer, help agreed) ─▶ "Block Bob?" ─Yes─▶ blocked
    /blocked ─▶ "Unblock Bob" ─▶ unblocked
    "⚠️ Report" ─▶ REASON (unsafe · didn't turn up · something else) ─▶ NOTE (type, or Skip)
               ─▶ CONFIRM ("Send this?") ─Yes─▶ every coordinator told; "Block Bob too?"
The buttons name the other member (and the exchange a report is about); storage re-checks it
all: a block is only ever the presser's own row, and an exchange named in a report must be
one between the two. Blocking is never told to the person blocked.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)

from bot.services import services
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, pattern, plain_int
from bot.ui.i18n import Html, t
from handlers.common import (
    Context,
    draft_lost,
    drop_buttons,
    for_members,
    on_button,
    pressed,
    pressed_message_id,
    reply,
    text_input,
    typed,
)
from handlers.conversation import Conversation
from storage import exchanges, members, safety
from storage.db import Database
from storage.errors import NotFound, NotYours
from storage.models import Member
from storage.safety import MAX_NOTE, REASONS

REASON, NOTE, CONFIRM = range(3)
DRAFT = "report"
# Report confirmations already answered, by message id: True sent, False not.
FINISHED = "reports_finished"


async def _someone(db: Database, member_id: int, me: Member) -> Member:
    """The other member a button names: someone active on Telegram who isn't the presser."""
    other = await members.get(db, member_id)
    if other is None or other.id == me.id or other.status != "active" or not other.telegram_id:
        raise NotFound(member_id)
    return other


# --- blocking -----------------------------------------------------------------------------


@on_button
async def cb_block(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "🚫 Block": say what it does and ask once; nothing changes yet."""
    db = services(context).db
    other = await _someone(db, callback.id, member)
    if await safety.has_blocked(db, member.id, other.id):
        await reply(update, t("safety.already_blocked", name=other.display_name))
        return
    lines = [t("safety.block_sure", name=other.display_name)]
    if await exchanges.agreed_between(db, member.id, other.id):
        lines.append(t("safety.block_calls_off", name=other.display_name))
    await reply(
        update, Html("\n\n".join(lines)), keyboards.block_sure(other.id, other.display_name)
    )


@on_button
async def cb_block_sure(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """ "Yes, block Bob": the block, once; help agreed between them is called off. The
    question's buttons go, so it reads as answered."""
    svc = services(context)
    other = await _someone(svc.db, callback.id, member)
    done = await safety.block(svc.db, member_id=member.id, other_id=other.id, now=svc.clock.now())
    await drop_buttons(update)
    if not done.added:
        await reply(update, t("safety.already_blocked", name=other.display_name))
        return
    lines = [t("safety.blocked_done", name=other.display_name)]
    if done.called_off:
        lines.append(t("safety.blocked_called_off", name=other.display_name))
    await reply(update, Html("\n\n".join(lines)))


@on_button
async def cb_keep(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "No" to blocking: nothing changes."""
    await drop_buttons(update)
    await reply(update, t("common.kept"))


@for_members
async def cmd_blocked(update: Update, context: Context, member: Member) -> None:
    """/blocked: the people this member blocked, each with "Unblock"."""
    people = await safety.blocked_by(services(context).db, member.id)
    if not people:
        await reply(update, t("safety.blocked_none"))
        return
    await reply(
        update,
        t("safety.blocked_title"),
        keyboards.unblock_each([(person.member_id, person.name) for person in people]),
    )


@on_button
async def cb_unblock(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Lift the presser's own block of this person (storage touches no one else's)."""
    db = services(context).db
    other = await members.get(db, callback.id)
    if other is None:
        raise NotFound(callback.id)
    lifted = await safety.unblock(db, member_id=member.id, other_id=other.id)
    key = "safety.unblocked" if lifted else "safety.not_blocked"
    await reply(update, t(key, name=other.display_name))


# --- reporting ----------------------------------------------------------------------------


@on_button
async def cb_report(
    update: Update, context: Context, member: Member, callback: Callback
) -> int | None:
    """ "⚠️ Report": the draft begins with who (and which exchange); ask what happened."""
    db = services(context).db
    other = await _someone(db, callback.id, member)
    exchange_id = plain_int(callback.arg, low=1) if callback.arg else None
    if exchange_id is not None:
        exchange = await exchanges.get(db, exchange_id)
        if exchange is None or not (exchange.involves(member.id) and exchange.involves(other.id)):
            raise NotYours(exchange_id)  # storage refuses it too, when it is sent
    assert context.user_data is not None
    context.user_data[DRAFT] = {
        "member": other.id,
        "name": other.display_name,
        "exchange": exchange_id,
    }
    await reply(
        update, t("safety.report_why", name=other.display_name), keyboards.report_reasons(REASONS)
    )
    return REASON


@for_members
async def cb_reason(update: Update, context: Context, member: Member) -> int:
    """A reason tapped (at any step: a change of mind); then the words, or Skip."""
    callback = pressed(update)
    draft = _draft(context)
    if draft is None or callback is None or callback.arg not in REASONS:
        return await draft_lost(update)
    draft["reason"] = callback.arg
    await reply(update, t("safety.ask_note"), keyboards.report_note_skip())
    return NOTE


@for_members
async def got_note(update: Update, context: Context, member: Member) -> int:
    note = await typed(update, MAX_NOTE)
    if note is None:
        return NOTE
    return await _ask_sure(update, context, note)


@for_members
async def cb_skip_note(update: Update, context: Context, member: Member) -> int:
    return await _ask_sure(update, context, None)


async def _ask_sure(update: Update, context: Context, note: str | None) -> int:
    """One look at the report before it goes."""
    draft = _draft(context)
    if draft is None or "reason" not in draft:
        return await draft_lost(update)
    draft["note"] = note
    lines = [
        t(
            "safety.report_sure",
            name=draft["name"],
            reason=t(f"safety.reason_{draft['reason']}"),
        )
    ]
    if note:
        lines.append(t("safety.report_sure_note", note=note))
    await reply(update, Html("\n".join(lines)), keyboards.report_sure())
    return CONFIRM


@for_members
async def cb_send(update: Update, context: Context, member: Member) -> int:
    """ "Yes, send it" (every coordinator told) or "Don't send"; either ends the report."""
    callback = pressed(update)
    assert context.user_data is not None
    draft = context.user_data.pop(DRAFT, None)
    finished: dict[int, bool] = context.user_data.setdefault(FINISHED, {})
    message_id = pressed_message_id(update)
    await drop_buttons(update)
    if callback is not None and callback.action == "drop":
        finished[message_id] = False
        await reply(update, t("safety.not_reported"))
        return ConversationHandler.END
    if not draft or "note" not in draft:
        return await draft_lost(update)
    svc = services(context)
    filed = await safety.report(
        svc.db,
        reporter_id=member.id,
        reported_id=draft["member"],
        reason=draft["reason"],
        note=draft["note"],
        exchange_id=draft["exchange"],
        now=svc.clock.now(),
    )
    finished[message_id] = True
    key = "safety.reported" if filed.asked else "safety.reported_kept"
    blocked = await safety.has_blocked(svc.db, member.id, draft["member"])
    markup = None if blocked else keyboards.block_too(draft["member"], draft["name"])
    await reply(update, t(key), markup)
    return ConversationHandler.END


@for_members
async def cb_report_gone(update: Update, context: Context, member: Member) -> None:
    """A report's button after the report ended (sent, dropped, left, a restart): say what
    became of it, if we know."""
    finished = (context.user_data or {}).get(FINISHED, {})
    outcome = finished.get(pressed_message_id(update))
    if outcome is None:
        await draft_lost(update)
        return
    await reply(update, t("safety.already_reported" if outcome else "safety.not_reported"))


def _draft(context: Context) -> dict[str, Any] | None:
    return context.user_data.get(DRAFT) if context.user_data is not None else None


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    reason = CallbackQueryHandler(cb_reason, pattern=pattern(Area.SAFETY, "why"))
    skip = CallbackQueryHandler(cb_skip_note, pattern=pattern(Area.SAFETY, "skip"))
    send = CallbackQueryHandler(cb_send, pattern=pattern(Area.SAFETY, "send", "drop"))
    return [
        Conversation(
            "report",
            [CallbackQueryHandler(cb_report, pattern=pattern(Area.SAFETY, "report"))],
            {
                REASON: [reason, send],
                NOTE: [MessageHandler(text_input(), got_note), skip, reason, send],
                CONFIRM: [send, reason, skip],
            },
            drafts=[DRAFT],
        ),
        # A report's buttons after it ended (sent, dropped, left, a restart).
        CallbackQueryHandler(cb_report_gone, pattern=pattern(Area.SAFETY, "why", "skip")),
        CallbackQueryHandler(cb_report_gone, pattern=pattern(Area.SAFETY, "send", "drop")),
        CommandHandler("blocked", cmd_blocked),
        CallbackQueryHandler(cb_block, pattern=pattern(Area.SAFETY, "block")),
        CallbackQueryHandler(cb_block_sure, pattern=pattern(Area.SAFETY, "blockok")),
        CallbackQueryHandler(cb_keep, pattern=pattern(Area.SAFETY, "keep")),
        CallbackQueryHandler(cb_unblock, pattern=pattern(Area.SAFETY, "unblock")),
    ]
