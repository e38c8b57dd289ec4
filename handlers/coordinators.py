"""Coordinators: roles, approving newcomers, settling hours by hand, and unmet needs.

Every command here is behind `for_coordinators` and every button behind
`on_coordinator_button`; storage re-checks the role inside each change and audits it.

    /promote NAME ─▶ matching members as buttons ─▶ "Make Sam a coordinator?" ─Yes─▶ promoted
    /demote NAME ─▶ matching members as buttons ─▶ role changed
    "Approve" / "Decline" on an applicant ─▶ they are told either way
    /record ─▶ GIVER (type a name) ─▶ RECEIVER ─▶ hours buttons ─▶ credited, marked as recorded
                (past the receiver's overdraft limit: a reason button, audited, or nothing)
    /correct EXCHANGE ─▶ "Change the hours?" ─Yes─▶ hours buttons ─▶ a correction transaction
    /open_needs ─▶ oldest unanswered needs ─▶ "Ask helpers" ─▶ broadcast to matching offers
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Update
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
from bot.ui.i18n import Html, category_name, hours, t
from bot.ui.render import snippet, visible_text
from handlers.common import (
    Context,
    for_coordinators,
    on_coordinator_button,
    reply,
    text_input,
    typed,
    words_within,
)
from handlers.conversation import Conversation
from storage import exchanges, listings, members, roles
from storage.errors import AlreadyRecorded, InvalidMinutes, NotFound, OverdraftLimit, OwnExchange
from storage.members import MAX_NAME
from storage.models import Member

GIVER, RECEIVER = range(2)
RECORD = "record"


@for_coordinators
async def cmd_promote(update: Update, context: Context, member: Member) -> None:
    """/promote NAME: pick the member to make a coordinator."""
    await _pick_member(update, context, "promote")


@for_coordinators
async def cmd_demote(update: Update, context: Context, member: Member) -> None:
    await _pick_member(update, context, "demote")


async def _pick_member(update: Update, context: Context, action: str) -> None:
    if not visible_text(" ".join(context.args or [])):
        await reply(update, t(f"coordinator.{action}_how"))
        return
    words = await words_within(update, " ".join(context.args or []), MAX_NAME)
    if words is None:
        return
    await pick_member(
        update,
        context,
        words,
        lambda m: Callback(Area.COORDINATOR, action, m.id),
        t(f"coordinator.{action}_which"),
    )


async def pick_member(
    update: Update,
    context: Context,
    words: str,
    choice: Callable[[Member], Callback],
    question: str,
) -> bool:
    """Members on Telegram whose name has `words`, a button each (`choice` says what it
    does), under `question`; or that nobody is called that. False when nobody was found.
    Each flow that names a member (a role, an organisation) asks this same way."""
    found = await members.find(services(context).db, words, on_telegram=True)
    if not found:
        await reply(update, t("coordinator.nobody_found", words=words))
        return False
    rows = [[keyboards.button(m.display_name, choice(m))] for m in found]
    await reply(update, question, InlineKeyboardMarkup(rows))
    return True


@on_coordinator_button
async def cb_role(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """The name was picked for /promote or /demote: ask first, change nothing yet."""
    target = await members.get(services(context).db, callback.id)
    if target is None or target.status != "active" or target.telegram_id is None:
        raise NotFound(callback.id)
    promote = callback.action == "promote"
    if target.is_coordinator == promote:  # already what was asked for
        await reply(update, t(_ROLE_ALREADY[promote], name=target.display_name))
        return
    await reply(
        update,
        t(f"coordinator.{callback.action}_sure", name=target.display_name),
        keyboards.role_sure(callback.action, target.id, target.display_name),
    )


@on_coordinator_button
async def cb_role_sure(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """ "Yes, make Sam a coordinator" (or stop): storage re-checks the presser, Sam and the
    role; a second tap finds it done and says so."""
    svc = services(context)
    promote = callback.action == "promoteok"
    target = await members.get(svc.db, callback.id)
    if target is not None and target.is_coordinator == promote:
        await reply(update, t(_ROLE_ALREADY[promote], name=target.display_name))
        return
    now = svc.clock.now()
    changed = await (
        roles.promote(svc.db, by=member.id, member_id=callback.id, now=now, timings=svc.timings)
        if promote
        else roles.demote(svc.db, by=member.id, member_id=callback.id, now=now)
    )
    key = "coordinator.promoted" if promote else "coordinator.demoted"
    await reply(update, t(key, name=changed.display_name))


# What a role change finds when it was already made: by promotion (True) or not (False).
_ROLE_ALREADY = {True: "coordinator.already_coordinator", False: "coordinator.not_coordinator"}


@on_coordinator_button
async def cb_keep(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "No, keep it" to a /correct or a promotion: nothing changes."""
    await reply(update, t("common.kept"))


@on_coordinator_button
async def cb_application(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """Approve or decline a newcomer; they are told either way, kindly."""
    svc = services(context)
    approve = callback.action == "approve"
    applicant = await members.decide_application(
        svc.db, by=member.id, member_id=callback.id, approve=approve, now=svc.clock.now()
    )
    key = "coordinator.approved_member" if approve else "coordinator.declined_member"
    await reply(update, t(key, name=applicant.display_name))


@for_coordinators
async def cmd_correct(update: Update, context: Context, member: Member) -> None:
    """/correct EXCHANGE: show what it counts now and ask whether to change the hours."""
    number = plain_int((context.args or [""])[0].lstrip("#"), low=1)
    db = services(context).db
    exchange = await exchanges.get(db, number) if number is not None else None
    if exchange is None:
        await reply(update, t("coordinator.correct_how"))
        return
    if exchange.involves(member.id):
        raise OwnExchange(exchange.id)  # storage refuses it too; say so before any tap
    giver, receiver = (
        await members.get(db, exchange.giver_id),
        await members.get(db, exchange.receiver_id),
    )
    assert giver is not None
    assert receiver is not None
    text = t(
        "coordinator.settle_which",
        number=exchange.id,
        giver=giver.display_name,
        receiver=receiver.display_name,
        hours=hours(await exchanges.credited(db, exchange.id)),
        state=t(f"history.state_{exchange.state}"),
    )
    await reply(update, text, keyboards.correct_sure(exchange.id))


@on_coordinator_button
async def cb_change_hours(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """ "Yes, change the hours": the hours buttons (settling re-checks everything)."""
    exchange = await exchanges.get(services(context).db, callback.id)
    if exchange is None:
        raise NotFound(callback.id)
    if exchange.involves(member.id):
        raise OwnExchange(exchange.id)
    await reply(
        update,
        t("coordinator.settle_hours", number=exchange.id),
        keyboards.settle(exchange.id, exchange.proposed_minutes),
    )


@on_coordinator_button
async def cb_settle(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Settle a disputed, held or cancelled exchange, or correct a confirmed one, with a new
    transaction; a second tap of the same hours changes nothing and says so."""
    minutes = callback.arg_int
    if minutes is None:
        await reply(update, t("errors.invalid_minutes"))
        return
    svc = services(context)
    result = await exchanges.settle(
        svc.db, by=member.id, exchange_id=callback.id, minutes=minutes, now=svc.clock.now()
    )
    key = "coordinator.settled" if result.moved else "coordinator.settled_already"
    await reply(update, t(key, number=callback.id, hours=hours(result.minutes)))


@for_coordinators
async def cmd_record(update: Update, context: Context, member: Member) -> int:
    """/record: hours given by someone who doesn't use the bot (or to them). The draft is
    named by this command's message id, which every later button carries."""
    assert context.user_data is not None
    message = update.effective_message
    context.user_data[RECORD] = {"id": message.message_id if message else 0}
    await reply(update, t("coordinator.record_giver"))
    return GIVER


@for_coordinators
async def got_giver_name(update: Update, context: Context, member: Member) -> int:
    return await _offer_names(update, context, "rgiver", GIVER)


@for_coordinators
async def got_receiver_name(update: Update, context: Context, member: Member) -> int:
    return await _offer_names(update, context, "rrecv", RECEIVER)


async def _offer_names(update: Update, context: Context, action: str, state: int) -> int:
    """Members matching the typed name, plus "add as a new member" for people not on Telegram."""
    words = await typed(update, MAX_NAME)
    if words is None:
        return state
    assert context.user_data is not None
    draft = context.user_data.setdefault(RECORD, {"id": 0})
    draft["typed"] = words
    found = await members.find(services(context).db, words)
    rows = [keyboards.record_person(m.display_name, action, m.id, draft["id"]) for m in found]
    rows.append(
        keyboards.record_person(t("coordinator.add_new", name=words), action, 0, draft["id"])
    )
    await reply(update, t("coordinator.record_pick"), InlineKeyboardMarkup(rows))
    return state


@on_coordinator_button
async def cb_record_person(
    update: Update, context: Context, member: Member, callback: Callback
) -> int | None:
    """A giver or receiver was picked (id 0: add the typed name as an offline member)."""
    assert context.user_data is not None
    draft = context.user_data.get(RECORD)
    draft_id = plain_int(callback.arg)
    if draft is None or draft_id is None or draft.get("id") != draft_id:
        await _record_gone(update, context, member, draft_id)
        return None
    if callback.id == member.id:
        raise OwnExchange(member.id)  # nobody records their own hours; storage refuses too
    svc = services(context)
    person_id = callback.id
    if person_id and await members.get(svc.db, person_id) is None:
        await reply(update, t("errors.gone"))  # no such member: an old or forged button
        return None
    if person_id == 0:
        added = await members.record_offline(
            svc.db, by=member.id, display_name=draft.get("typed", "?"), now=svc.clock.now()
        )
        person_id = added.id
    if callback.action == "rgiver":
        draft["giver"] = person_id
        await reply(update, t("coordinator.record_receiver"))
        return RECEIVER
    draft["receiver"] = person_id
    await reply(update, t("coordinator.record_hours"), keyboards.record_hours(draft["id"]))
    return None


@on_coordinator_button
async def cb_record_hours(
    update: Update, context: Context, member: Member, callback: Callback
) -> int:
    assert context.user_data is not None
    draft = context.user_data.get(RECORD)
    if (
        not draft
        or draft.get("id") != callback.id
        or "giver" not in draft
        or "receiver" not in draft
    ):
        await _record_gone(update, context, member, callback.id)
        return ConversationHandler.END
    minutes = callback.arg_int
    if minutes is None:
        raise InvalidMinutes(callback.arg)
    context.user_data.pop(RECORD, None)
    return await _record(update, context, member, {**draft, "minutes": minutes}, None)


@on_coordinator_button
async def cb_record_override(
    update: Update, context: Context, member: Member, callback: Callback
) -> int:
    """Past the overdraft limit: record anyway for the reason tapped (audited), or don't."""
    assert context.user_data is not None
    draft = context.user_data.get(RECORD)
    if not draft or draft.get("id") != callback.id or "minutes" not in draft:
        await _record_gone(update, context, member, callback.id, dropped=callback.arg == "drop")
        return ConversationHandler.END
    if callback.arg != "drop" and callback.arg not in exchanges.OVERRIDE_REASONS:
        raise NotFound(callback.id)
    context.user_data.pop(RECORD, None)
    if callback.arg == "drop":
        await reply(update, t("coordinator.record_dropped"))
        return ConversationHandler.END
    return await _record(update, context, member, draft, callback.arg)


async def _record(
    update: Update, context: Context, member: Member, draft: dict[str, Any], override: str | None
) -> int:
    """Record the draft; past the limit without a reason, show the balance and the reasons."""
    assert context.user_data is not None
    svc = services(context)
    minutes = draft["minutes"]
    try:
        await exchanges.record_by_coordinator(
            svc.db,
            by=member.id,
            giver_id=draft["giver"],
            receiver_id=draft["receiver"],
            minutes=minutes,
            overdraft_limit=svc.config.timebank.overdraft_limit_minutes,
            now=svc.clock.now(),
            override=override,
            key=exchanges.record_key(member.id, draft["id"]),
        )
    except OverdraftLimit as limit:
        context.user_data[RECORD] = draft  # kept for the reason buttons
        receiver = await members.get(svc.db, draft["receiver"])
        assert receiver is not None
        text = t(
            "coordinator.record_over_limit",
            name=receiver.display_name,
            balance=hours(limit.balance - minutes),
            limit=hours(-limit.limit),
        )
        await reply(update, text, keyboards.record_override(draft["id"]))
        return ConversationHandler.END
    except AlreadyRecorded:
        await _record_gone(update, context, member, draft["id"])
        return ConversationHandler.END
    await reply(update, t("coordinator.recorded", hours=hours(minutes)))
    return ConversationHandler.END


async def _record_gone(
    update: Update, context: Context, member: Member, draft_id: int | None, *, dropped: bool = False
) -> None:
    """A button of a /record that is no longer the one in progress: say what became of it."""
    db = services(context).db
    done = (
        await exchanges.recorded(db, exchanges.record_key(member.id, draft_id))
        if draft_id
        else None
    )
    if done is None:
        await reply(update, t("coordinator.record_dropped" if dropped else "post.draft_lost"))
        return
    giver, receiver = await members.get(db, done.giver_id), await members.get(db, done.receiver_id)
    assert giver is not None
    assert receiver is not None
    await reply(
        update,
        t(
            "coordinator.already_recorded",
            hours=hours(done.proposed_minutes or 0),
            giver=giver.display_name,
            receiver=receiver.display_name,
        ),
    )


@for_coordinators
async def cmd_open_needs(update: Update, context: Context, member: Member) -> None:
    """Needs nobody has answered for a while, oldest first; one tap to ask helpers."""
    svc = services(context)
    cutoff = svc.clock.now() - svc.timings.need_open_after
    needs = await listings.unanswered_needs(svc.db, posted_before=cutoff)
    if not needs:
        await reply(update, t("coordinator.no_open_needs", days=svc.timings.need_open_after.days))
        return
    rows = [
        [keyboards.button(snippet(need, number), Callback(Area.BROADCAST, "need", need.id))]
        for number, need in enumerate(needs, start=1)
    ]
    lines = [t("coordinator.open_needs_title")] + [
        t(
            "coordinator.open_need_line",
            number=n,
            category=category_name(need.category),
            name=need.owner_name,
        )
        for n, need in enumerate(needs, start=1)
    ]
    await reply(update, Html("\n".join(lines)), InlineKeyboardMarkup(rows))


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        Conversation(
            "record",
            [CommandHandler("record", cmd_record)],
            {
                GIVER: [
                    MessageHandler(text_input(), got_giver_name),
                    CallbackQueryHandler(
                        cb_record_person, pattern=pattern(Area.COORDINATOR, "rgiver")
                    ),
                ],
                RECEIVER: [
                    MessageHandler(text_input(), got_receiver_name),
                    CallbackQueryHandler(
                        cb_record_person, pattern=pattern(Area.COORDINATOR, "rrecv")
                    ),
                    CallbackQueryHandler(
                        cb_record_hours, pattern=pattern(Area.COORDINATOR, "rhours")
                    ),
                ],
            },
            drafts=[RECORD],
        ),
        CommandHandler("promote", cmd_promote),
        CommandHandler("demote", cmd_demote),
        CommandHandler("correct", cmd_correct),
        CommandHandler("open_needs", cmd_open_needs),
        CallbackQueryHandler(cb_role, pattern=pattern(Area.COORDINATOR, "promote", "demote")),
        CallbackQueryHandler(
            cb_role_sure, pattern=pattern(Area.COORDINATOR, "promoteok", "demoteok")
        ),
        CallbackQueryHandler(cb_keep, pattern=pattern(Area.COORDINATOR, "keep")),
        CallbackQueryHandler(cb_change_hours, pattern=pattern(Area.COORDINATOR, "fix")),
        CallbackQueryHandler(
            cb_application, pattern=pattern(Area.COORDINATOR, "approve", "decline")
        ),
        CallbackQueryHandler(cb_settle, pattern=pattern(Area.COORDINATOR, "settle")),
        # Outside /record (an old button, or forged): still gated, then "start again".
        CallbackQueryHandler(
            cb_record_person, pattern=pattern(Area.COORDINATOR, "rgiver", "rrecv")
        ),
        CallbackQueryHandler(cb_record_hours, pattern=pattern(Area.COORDINATOR, "rhours")),
        CallbackQueryHandler(cb_record_override, pattern=pattern(Area.COORDINATOR, "rwhy")),
    ]
