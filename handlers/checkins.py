"""After a visit: the visitor's check-in, "couldn't reach them", the patient's answer, and a
coordinator's "I'm on it".

    "How did it go?" ─▶ ASK: warm enough? food in? medicines sorted? anything worrying?
                     ─▶ NOTE (type, or Skip) ─▶ CONFIRM (the summary) ─Send─▶ stored, thanks;
                        any "no" or a worry: every coordinator told at once
    "Couldn't reach them" ─▶ the patient asked if they are OK (or, not on Telegram,
                             coordinators told at once)
    patient: "I'm OK, please come again" ─▶ the visitor picks a new time
             "I need help" ─▶ every coordinator told at once
    coordinator: "I'm on it" ─▶ the alert stops; a second coordinator hears who has it

The buttons carry the visit's (or the alert's) id; storage re-checks who presses: only the
visit's own visitor checks in, only its patient answers, only a coordinator is on an alert.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, ConversationHandler, MessageHandler

from bot.services import services
from bot.ui import checkin_keyboards
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.i18n import Html, t
from handlers.common import (
    Context,
    draft_lost,
    drop_buttons,
    explain,
    for_members,
    on_button,
    on_coordinator_button,
    pressed,
    reply,
    text_input,
    typed,
)
from handlers.conversation import Conversation
from storage import checkins
from storage.checkins import MAX_NOTE, QUESTIONS, AlreadyAnswered, AlreadyOnIt, AlreadyReported
from storage.errors import DomainError
from storage.models import Member

ASK, NOTE, CONFIRM = range(3)
DRAFT = "checkin"
# What a visitor hears when the visit is no longer planned, by what it is now.
NOT_PLANNED = {"done": "checkin.already_sent", "unreached": "checkin.already_unreached"}


# --- the check-in -------------------------------------------------------------------------


@on_button
async def cb_start(update: Update, context: Context, member: Member, callback: Callback) -> int:
    """ "How did it go?": the visit must be the presser's and still planned; the first
    question. (Also "Start again" under the summary: a fresh draft.)"""
    db = services(context).db
    try:
        view = await checkins.visit_to_report(db, visit_id=callback.id, visitor_id=member.id)
    except AlreadyReported as reported:
        await reply(update, _not_planned(reported.state))
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data[DRAFT] = {"visit": view.visit.id, "name": view.first_name}
    return await _next(update, context.user_data[DRAFT])


@for_members
async def cb_answer(update: Update, context: Context, member: Member) -> int:
    """Yes or No to one question; then the next question, the note, or the summary."""
    callback, draft = pressed(update), _draft(context, update)
    if draft is None or callback is None or callback.arg not in ("1", "0"):
        return await _lost(update, context)
    draft[callback.action] = callback.arg == "1"
    await drop_buttons(update)
    return await _next(update, draft)


@for_members
async def got_note(update: Update, context: Context, member: Member) -> int | None:
    note = await typed(update, MAX_NOTE)
    draft = _draft(context, None)
    if note is None:
        return None
    if draft is None:
        return await _lost(update, context)
    draft["note"] = note
    return await _next(update, draft)


@for_members
async def cb_skip(update: Update, context: Context, member: Member) -> int:
    draft = _draft(context, update)
    if draft is None:
        return await _lost(update, context)
    draft["note"] = None
    await drop_buttons(update)
    return await _next(update, draft)


async def _next(update: Update, draft: dict[str, Any]) -> int:
    """Ask the first question not answered yet, then for a note, then show the summary."""
    visit_id = draft["visit"]
    unanswered = [question for question in QUESTIONS if question not in draft]
    if unanswered:
        question = unanswered[0]
        text = t(f"checkin.ask_{question}")
        if question == QUESTIONS[0]:
            text = Html(f"{t('checkin.about', name=draft['name'])}\n\n{text}")
        await reply(update, text, checkin_keyboards.yes_no(visit_id, question))
        return ASK
    if "note" not in draft:
        await reply(update, t("checkin.ask_note"), checkin_keyboards.skip_note(visit_id))
        return NOTE
    await reply(update, _summary(draft), checkin_keyboards.send(visit_id))
    return CONFIRM


def _summary(draft: dict[str, Any]) -> Html:
    """The answers as the visitor gave them, for one look before they go."""
    lines = [t("checkin.summary", name=draft["name"])]
    for question in QUESTIONS:
        answer = t("checkin.yes") if draft[question] else t("checkin.no")
        lines.append(t(f"checkin.line_{question}", answer=answer))
    if draft["note"]:
        lines.append(t("checkin.line_note", note=draft["note"]))
    lines.append(t("checkin.send_it"))
    return Html("\n".join(lines))


@for_members
async def cb_send(update: Update, context: Context, member: Member) -> int:
    """ "Send": stored once; coordinators told at once of any "no" or a worry."""
    draft = _draft(context, update)
    await drop_buttons(update)
    if draft is None or "note" not in draft:
        return await _lost(update, context)
    _drop_draft(context)
    svc = services(context)
    answers = checkins.Answers(**{q: draft[q] for q in QUESTIONS}, note=draft["note"])
    try:
        reported = await checkins.report(
            svc.db,
            visit_id=draft["visit"],
            visitor_id=member.id,
            answers=answers,
            now=svc.clock.now(),
            rules=svc.visits,
        )
    except AlreadyReported as already:
        await reply(update, _not_planned(already.state))
        return ConversationHandler.END
    except DomainError as error:
        await reply(update, explain(error))
        return ConversationHandler.END
    key = "checkin.thanks_told" if reported.alert_id else "checkin.thanks"
    await reply(update, t(key, name=reported.view.first_name))
    return ConversationHandler.END


@on_button
async def cb_gone(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """A check-in's button after it ended (sent, left, a restart): say so, or start again."""
    view = await checkins.get_visit(services(context).db, callback.id)
    if view is None or view.visit.visitor_id != member.id or not view.referral_open:
        await reply(update, t("errors.gone"))
    elif view.visit.state != "planned":
        await reply(update, _not_planned(view.visit.state))
    else:
        await reply(update, t("checkin.lost"), checkin_keyboards.how_did_it_go(view.visit.id))


async def _lost(update: Update, context: Context) -> int:
    _drop_draft(context)
    return await draft_lost(update)


def _drop_draft(context: Context) -> None:
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)


def _not_planned(state: str) -> str:
    return t(NOT_PLANNED.get(state, "errors.gone"))


def _draft(context: Context, update: Update | None) -> dict[str, Any] | None:
    """The check-in under way, if the button pressed (when one was) is of its visit."""
    draft = context.user_data.get(DRAFT) if context.user_data is not None else None
    if draft is None or update is None:
        return draft
    callback = pressed(update)
    return draft if callback is not None and callback.id == draft["visit"] else None


# --- couldn't reach them ------------------------------------------------------------------


@on_button
async def cb_unreached(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """ "Couldn't reach them" (the visit's own visitor): the patient is asked if they are OK,
    or, not on Telegram, coordinators hear at once."""
    svc = services(context)
    try:
        done = await checkins.unreached(
            svc.db,
            visit_id=callback.id,
            visitor_id=member.id,
            now=svc.clock.now(),
            rules=svc.visits,
        )
    except AlreadyReported as reported:
        await reply(update, _not_planned(reported.state))
        return
    key = "checkin.unreached_asking" if done.asking_patient else "checkin.unreached_told"
    await reply(update, t(key, name=done.view.first_name))


@on_button
async def cb_patient(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """The patient's "I'm OK, please come again" or "I need help"."""
    svc = services(context)
    ok = callback.action == "ok"
    try:
        view = await checkins.patient_answer(
            svc.db,
            visit_id=callback.id,
            patient_id=member.id,
            ok=ok,
            now=svc.clock.now(),
            rules=svc.visits,
        )
    except AlreadyAnswered:
        text = t("checkin.reach_late")
    else:
        key = "checkin.reach_ok_done" if ok else "checkin.reach_help_done"
        text = t(key, visitor=view.visitor_name)
    await drop_buttons(update)
    await reply(update, text)


# --- coordinators -------------------------------------------------------------------------


@on_coordinator_button
async def cb_on_it(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "I'm on it": the alert is this coordinator's and is told no more; a second tap, or
    another coordinator's, hears who has it."""
    svc = services(context)
    try:
        taken = await checkins.acknowledge(
            svc.db, by=member.id, alert_id=callback.id, now=svc.clock.now()
        )
        text = t("checkin.on_it_done", name=taken.first_name)
    except AlreadyOnIt as already:
        text = t("checkin.on_it_already", who=already.name)
    await drop_buttons(update)
    await reply(update, text)


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    answer = CallbackQueryHandler(cb_answer, pattern=pattern(Area.CHECKIN, *QUESTIONS))
    skip = CallbackQueryHandler(cb_skip, pattern=pattern(Area.CHECKIN, "skip"))
    send = CallbackQueryHandler(cb_send, pattern=pattern(Area.CHECKIN, "send"))
    return [
        Conversation(
            "checkin",
            [CallbackQueryHandler(cb_start, pattern=pattern(Area.CHECKIN, "start"))],
            {
                ASK: [answer],
                NOTE: [MessageHandler(text_input(), got_note), skip],
                CONFIRM: [send],
            },
            drafts=[DRAFT],
        ),
        # A check-in's buttons after it ended (sent, left, a restart).
        CallbackQueryHandler(cb_gone, pattern=pattern(Area.CHECKIN, *QUESTIONS, "skip", "send")),
        CallbackQueryHandler(cb_unreached, pattern=pattern(Area.CHECKIN, "unreached")),
        CallbackQueryHandler(cb_patient, pattern=pattern(Area.CHECKIN, "ok", "help")),
        CallbackQueryHandler(cb_on_it, pattern=pattern(Area.CHECKIN, "onit")),
    ]
