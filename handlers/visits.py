"""A visitor's side of a home visit: answering an offer, the patient's details, the time.

    offer (outbox) ─"✅ Yes, I'll visit"─▶ accepted: the card (address, contact, needs, notes,
                  │                         the code word) ─"🕐 Set a time"─▶ day ─▶ hour
                  └"Can't this time"─▶ thanked; the next visitor is asked at once
    /myvisits ─▶ one button per patient ─▶ the card again

Storage re-checks everything: an offer is answered only by the visitor it was made to, while
it is open; the card is shown only to the referral's own visitor, and every showing is logged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.services import services
from bot.ui import visit_keyboards
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.i18n import Html, t, usable
from bot.ui.render import local_time, reminder_words
from bot.ui.visit_words import pick_code_word, visitor_card
from handlers.common import Context, drop_buttons, for_members, on_button, reply
from handlers.timepick import TimePicker
from storage import matching, members
from storage.errors import NotFound, NotYours, Unavailable, WrongState
from storage.models import Member, Referral


async def _patient_language(context: Context, referral: Referral) -> str:
    """The code word is in the patient's language: they are the one listening for it."""
    patient = await members.get(services(context).db, referral.patient_id or -1)
    default = services(context).config.timebank.language
    return usable(patient.language if patient else None) or default


@on_button
async def cb_yes(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Yes, I'll visit": the referral is theirs; the card, with the address, comes now."""
    svc = services(context)
    offer = await matching.get_offer(svc.db, callback.id)
    referral = await matching.get_referral(svc.db, offer.referral_id) if offer else None
    if offer is None or referral is None:
        raise NotFound(callback.id)
    word = pick_code_word(await _patient_language(context, referral))
    try:
        accepted = await matching.accept(
            svc.db, offer_id=offer.id, visitor_id=member.id, code_word=word, now=svc.clock.now()
        )
    except WrongState:
        await drop_buttons(update)
        await _already_answered(update, context, member, referral.id)
        return
    except Unavailable:
        await reply(update, t("visit.cant_visit_now"))
        return
    await drop_buttons(update)
    await reply(update, t("visit.accepted", name=accepted.referral.first_name))
    await _show_card(update, context, accepted.referral)


async def _already_answered(
    update: Update, context: Context, member: Member, referral_id: int
) -> None:
    """A yes to an offer no longer open: their own yes again (a double tap) shows the card;
    otherwise someone else took it, or it was passed on."""
    referral = await matching.get_referral(services(context).db, referral_id)
    if referral is not None and referral.visitor_id == member.id:
        await _show_card(update, context, referral)
        return
    await reply(update, t("visit.offer_gone"))


@on_button
async def cb_no(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Can't this time": thanked, and someone else is asked at once."""
    svc = services(context)
    await drop_buttons(update)
    try:
        await matching.decline(
            svc.db,
            offer_id=callback.id,
            visitor_id=member.id,
            now=svc.clock.now(),
            rules=svc.visits,
        )
    except WrongState:
        await reply(update, t("visit.offer_gone"))
        return
    await reply(update, t("visit.declined"))


@on_button
async def cb_card(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """The card again (from a reminder, or /myvisits); logged as a showing."""
    svc = services(context)
    referral = await matching.details_for_visitor(
        svc.db, referral_id=callback.id, visitor_id=member.id, now=svc.clock.now()
    )
    await _show_card(update, context, referral)


async def _show_card(update: Update, context: Context, referral: Referral) -> None:
    svc = services(context)
    visit = await matching.current_visit(svc.db, referral.id)
    patient = await members.get(svc.db, referral.patient_id) if referral.patient_id else None
    card = visitor_card(referral, visit, patient, svc.config.zone)
    await reply(update, card, visit_keyboards.visit_next(visit))


@for_members
async def cmd_myvisits(update: Update, context: Context, member: Member) -> None:
    """/myvisits: the patients this visitor is looking after, a button each."""
    referrals = await matching.referrals_of_visitor(services(context).db, member.id)
    if not referrals:
        await reply(update, t("visit.mine_none"))
        return
    await reply(update, t("visit.mine_title"), visit_keyboards.my_visits(referrals))


# --- the visit's time ----------------------------------------------------------------------


async def _own_planned_visit(context: Context, visit_id: int, member: Member) -> None:
    visit = await matching.get_visit(services(context).db, visit_id)
    if visit is None:
        raise NotFound(visit_id)
    if visit.visitor_id != member.id:
        raise NotYours(visit_id)
    if visit.state != "planned":
        raise WrongState(visit_id)


async def _time_picked(
    update: Update, context: Context, member: Member, visit_id: int, local: datetime
) -> None:
    """Store the time; the patient hears it, and both are reminded before."""
    svc = services(context)
    now = svc.clock.now()
    visit = await matching.schedule(
        svc.db, visit_id=visit_id, visitor_id=member.id, at=local, now=now
    )
    referral = await matching.get_referral(svc.db, visit.referral_id)
    assert referral is not None
    words = reminder_words(local, now, nudges_enabled=member.nudges_enabled)
    when = local_time(local, svc.config.zone)
    await reply(update, Html(t(f"visit.time_set_{words}", when=when, name=referral.first_name)))


TIME = TimePicker(Area.VISIT, _own_planned_visit, _time_picked)


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        CallbackQueryHandler(cb_yes, pattern=pattern(Area.VISIT, "yes")),
        CallbackQueryHandler(cb_no, pattern=pattern(Area.VISIT, "no")),
        CallbackQueryHandler(cb_card, pattern=pattern(Area.VISIT, "card")),
        CommandHandler("myvisits", cmd_myvisits),
        *TIME.handlers(),
    ]
