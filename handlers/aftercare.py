"""After a visit: the patient (or a coordinator) confirms it, pay it forward, the loneliness
check.

    "Did Bob visit you?" ─Yes─▶ confirmed: Bob credited and thanked (a notice)
                         ─No──▶ each coordinator told, with "Confirm visit"
    "Confirm visit" (a coordinator; the patient isn't on Telegram, or said No) ─▶ confirmed
    "Would you like to visit someone?" ─No, thank you─▶ never asked again
                                       (Yes belongs to visitor sign-up, Area.VISITOR)
    "Three short questions?" ─OK─▶ Q1 ─▶ Q2 ─▶ Q3 ─▶ kept, once per stage
                             ─Not now─▶ left be
The loneliness check is stateless: each answer button carries the answers before it (see
bot/ui/aftercare_keyboards.py), and the question is edited in place, so the chat keeps one
message for it. Storage re-checks every press: who may confirm, who is the patient.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.services import services
from bot.ui import aftercare_keyboards
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.i18n import hours, t
from handlers.common import Context, drop_buttons, edit, explain, on_button, reply
from storage import aftercare
from storage.aftercare import QUESTIONS
from storage.errors import NotFound, WrongState
from storage.models import Member


@on_button
async def cb_confirm(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Yes" from the patient, or "Confirm visit" from a coordinator: the visitor is
    credited once; a second press (or another coordinator's) hears it was done already."""
    svc = services(context)
    try:
        case = await aftercare.confirm(
            svc.db, visit_id=callback.id, by=member.id, now=svc.clock.now(), rules=svc.visits
        )
    except WrongState as error:
        await drop_buttons(update)
        await reply(update, explain(error))
        return
    await drop_buttons(update)
    if case.referral.patient_id == member.id:
        await reply(update, t("aftercare.thanks", name=case.visitor_name))
        return
    text = t(
        "aftercare.confirmed",
        name=case.visitor_name,
        patient=case.referral.first_name,
        hours=hours(svc.visits.visit_minutes),
    )
    await reply(update, text)


@on_button
async def cb_deny(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "No" from the patient: the coordinators look into it (told once, however often
    pressed); the visitor is not told."""
    svc = services(context)
    await aftercare.deny(svc.db, visit_id=callback.id, by=member.id, now=svc.clock.now())
    await drop_buttons(update)
    await reply(update, t("aftercare.denied_thanks"))


@on_button
async def cb_no_pay_forward(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """ "No, thank you": respected, never asked again, and a warm word either way."""
    svc = services(context)
    await aftercare.decline_pay_forward(
        svc.db, referral_id=callback.id, by=member.id, now=svc.clock.now()
    )
    await drop_buttons(update)
    await reply(update, t("aftercare.pay_forward_declined"))


@on_button
async def cb_loneliness(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """ "OK", or an answer: the next question in place of this one, or, at the third answer,
    the answers kept (once) and thanks."""
    svc = services(context)
    stage, answers = _pressed_answers(callback)
    if len(answers) == len(QUESTIONS):
        kept = await aftercare.record_loneliness(
            svc.db,
            referral_id=callback.id,
            by=member.id,
            stage=stage,
            answers=answers,
            now=svc.clock.now(),
            rules=svc.visits,
        )
        await edit(update, t("aftercare.loneliness_thanks" if kept else "aftercare.answered"))
    elif await _still_open(context, member, callback.id, stage):
        question = t(f"aftercare.question_{QUESTIONS[len(answers)]}")
        markup = aftercare_keyboards.loneliness_answers(callback.id, stage, answers)
        await edit(update, question, markup)
    else:
        await edit(update, t("aftercare.answered"))


@on_button
async def cb_not_now(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Not now": nothing is kept, and the check isn't pressed on them."""
    stage, _ = _pressed_answers(callback)
    await _still_open(context, member, callback.id, stage)  # the patient's own, or refused
    await edit(update, t("aftercare.not_now_reply"))


def _pressed_answers(callback: Callback) -> tuple[str, tuple[int, ...]]:
    pressed = aftercare_keyboards.unpack_answers(callback.arg)
    if pressed is None:
        raise NotFound(callback.id)
    return pressed


async def _still_open(context: Context, member: Member, referral_id: int, stage: str) -> bool:
    svc = services(context)
    return await aftercare.loneliness_open(
        svc.db,
        referral_id=referral_id,
        by=member.id,
        stage=stage,
        now=svc.clock.now(),
        rules=svc.visits,
    )


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        CallbackQueryHandler(cb_confirm, pattern=pattern(Area.AFTERCARE, "yes", "confirm")),
        CallbackQueryHandler(cb_deny, pattern=pattern(Area.AFTERCARE, "no")),
        CallbackQueryHandler(cb_no_pay_forward, pattern=pattern(Area.AFTERCARE, "fwdno")),
        CallbackQueryHandler(cb_loneliness, pattern=pattern(Area.AFTERCARE, "lonely")),
        CallbackQueryHandler(cb_not_now, pattern=pattern(Area.AFTERCARE, "notnow")),
    ]
