"""Referrals: a coordinator registers a discharge, a patient asks for a visit by a ward's link,
and coordinators watch the open ones.

    /discharge ─▶ NAME ─▶ AREA ─▶ CONTACT (typed, or Skip) ─▶ ADDRESS ─▶ DAY ─▶ NEEDS (toggles,
        Done) ─▶ NOTES (typed, or Skip) ─▶ WARD ─▶ PREVIEW ─Save─▶ referral: "finding a visitor"
    /start visit-CODE (handlers/start.py) ─▶ CONSENT ─"I agree"─▶ NAME ─▶ AREA
        ─▶ CONTACT (share my number, or Skip) ─▶ ADDRESS ─▶ DAY ─▶ NEEDS ─Done─▶ member+referral
      (a member already skips CONSENT and NAME; one with a referral still open is told so)
    /visits ─▶ a button per open referral, longest waiting first ─▶ its card (audited)
        ─▶ "Record re-admission" ─▶ the day     ─▶ "Close" ─▶ "Close?" ─Yes─▶ closed
    /qr CODE ─▶ the ward's link as a QR code to print

Both flows share one set of steps; a draft lists its own steps in order, and each step hands
on to the next in that list. Nothing is stored before the last step (a coordinator's Save, a
patient's Done), and storage re-checks who may do it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.services import services
from bot.ui import referral_keyboards as kb
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.i18n import Html, current_language, languages, t, tn
from bot.ui.keyboards import choices
from bot.ui.qr import qr_png, ward_link
from bot.ui.render import day_words, privacy_note
from handlers.common import (
    Context,
    Handler,
    draft_lost,
    drop_buttons,
    edit,
    for_coordinators,
    member_of,
    on_coordinator_button,
    pressed,
    pressed_message_id,
    reply,
    show_menu,
    text_input,
    typed,
)
from handlers.conversation import END, Conversation
from storage import referrals
from storage.errors import NotFound, WrongState
from storage.members import Newcomer
from storage.models import Member
from storage.referrals import (
    MAX_ADDRESS,
    MAX_CONTACT,
    MAX_FIRST_NAME,
    MAX_NOTES,
    AlreadyReferred,
    Card,
    Details,
    Waiting,
)
from storage.visit_rules import NEEDS

CONSENT, NAME, AREA, CONTACT, ADDRESS = (
    "rf_consent",
    "rf_name",
    "rf_area",
    "rf_contact",
    "rf_address",
)
DAY, NEEDS_STEP, NOTES, WARD, PREVIEW = "rf_day", "rf_needs", "rf_notes", "rf_ward", "rf_preview"
DRAFT = "referral"
# Referral previews already answered, by message id: True saved, False not.
FINISHED = "referrals_finished"
WARD_LINK = "visit-"
# A phone number (digits, spaces, + ( ) - .) or a Telegram @username.
CONTACT_SHAPE = re.compile(r"@[A-Za-z0-9_]{4,32}|\+?[0-9][0-9 ()\-.]{4,}[0-9]")

Draft = dict[str, Any]
Step = Callable[[Update, Context, Draft], Awaitable[None]]


def ward_code(args: list[str] | None) -> str | None:
    """The ward's code a /start payload names ("visit-ward7" → "ward7"), or None."""
    if not args or not args[0].lower().startswith(WARD_LINK):
        return None
    return args[0][len(WARD_LINK) :].lower()


def _who(draft: Draft) -> str:
    """Which wording a step takes: "you" to the patient, "them" to a coordinator."""
    return "you" if draft.get("patient") else "them"


def _draft(context: Context) -> Draft | None:
    return context.user_data.get(DRAFT) if context.user_data is not None else None


# --- beginning ------------------------------------------------------------------------------


@for_coordinators
async def cmd_discharge(update: Update, context: Context, member: Member) -> str:
    """/discharge: register a patient leaving hospital, step by step."""
    steps = [NAME, AREA, CONTACT, ADDRESS, DAY, NEEDS_STEP, NOTES, WARD, PREVIEW]
    draft: Draft = {"steps": _usable(steps, context), "patient": False, "needs": []}
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    await reply(update, t("referral.ask_name_them"))
    return NAME


async def begin_ward(update: Update, context: Context, code: str) -> object:
    """/start visit-CODE for a known ward: a newcomer is welcomed and asked to agree first; a
    member already goes straight to where they live, unless a visit is already on its way."""
    svc = services(context)
    member = await member_of(update, context)
    draft: Draft = {"patient": True, "ward": code, "needs": []}
    assert context.user_data is not None
    if member is not None:
        if await referrals.open_for_patient(svc.db, member.id) is not None:
            await show_menu(update, t("referral.already_you", name=member.display_name))
            return END
        draft["first_name"] = member.display_name[:MAX_FIRST_NAME]
        draft["steps"] = _usable([AREA, CONTACT, ADDRESS, DAY, NEEDS_STEP], context)
        context.user_data[DRAFT] = draft
        await reply(update, t("referral.welcome_member", name=member.display_name))
        return await _ask(update, context, draft, draft["steps"][0])
    draft["steps"] = _usable([CONSENT, NAME, AREA, CONTACT, ADDRESS, DAY, NEEDS_STEP], context)
    context.user_data[DRAFT] = draft
    await reply(update, t("referral.welcome_patient", timebank=svc.config.timebank.name))
    return await _ask(update, context, draft, CONSENT)


def _usable(steps: list[str], context: Context) -> list[str]:
    """The steps that have something to ask: no area buttons without neighbourhoods in config,
    no ward buttons without wards."""
    config = services(context).config
    skipped = {AREA} if not config.timebank.neighbourhoods else set()
    if not config.visits.wards:
        skipped.add(WARD)
    return [step for step in steps if step not in skipped]


async def _next(update: Update, context: Context, draft: Draft, done: str) -> object:
    """Ask the step after `done` in the draft's own order; after a patient's last, save."""
    steps: list[str] = draft["steps"]
    later = steps[steps.index(done) + 1 :] if done in steps else []
    if not later:
        return await _save_patient(update, context, draft)
    return await _ask(update, context, draft, later[0])


async def _ask(update: Update, context: Context, draft: Draft, step: str) -> str:
    await _ASK[step](update, context, draft)
    return step


# --- each step's question -------------------------------------------------------------------


async def _ask_consent(update: Update, context: Context, draft: Draft) -> None:
    svc = services(context)
    kept = tn("referral.days", int(svc.visits.address_kept.days))
    note = privacy_note(svc.config.privacy)
    await reply(update, t("referral.consent", note=note, days=kept), kb.consent())


async def _ask_name(update: Update, context: Context, draft: Draft) -> None:
    user = update.effective_user
    assert user is not None
    await reply(update, t("join.ask_name"), choices([user.first_name]))


async def _ask_area(update: Update, context: Context, draft: Draft) -> None:
    places = services(context).config.timebank.neighbourhoods
    await reply(update, t(f"referral.ask_area_{_who(draft)}"), kb.areas(places))


async def _ask_contact(update: Update, context: Context, draft: Draft) -> None:
    if draft.get("patient"):
        await reply(update, t("referral.ask_contact_you"), kb.share_phone())
    else:
        await reply(update, t("referral.ask_contact_them"), kb.skip("nophone"))


async def _ask_address(update: Update, context: Context, draft: Draft) -> None:
    await reply(update, t(f"referral.ask_address_{_who(draft)}"), ReplyKeyboardRemove())


async def _ask_day(update: Update, context: Context, draft: Draft) -> None:
    await reply(update, t(f"referral.ask_day_{_who(draft)}"), kb.discharge_days())


async def _ask_needs(update: Update, context: Context, draft: Draft) -> None:
    await reply(update, t(f"referral.ask_needs_{_who(draft)}"), kb.needs(NEEDS, draft["needs"]))


async def _ask_notes(update: Update, context: Context, draft: Draft) -> None:
    await reply(update, t("referral.ask_notes"), kb.skip("nonotes"))


async def _ask_ward(update: Update, context: Context, draft: Draft) -> None:
    wards = [(ward.code, ward.name) for ward in services(context).config.visits.wards]
    await reply(update, t("referral.ask_ward"), kb.wards(wards))


async def _ask_preview(update: Update, context: Context, draft: Draft) -> None:
    svc = services(context)
    details = _details(draft, svc.clock.now(), svc.config.zone)
    lines = [t("referral.preview_title"), *_detail_lines(details, context)]
    await reply(update, Html("\n".join(lines)), kb.preview())


_ASK: dict[str, Step] = {
    CONSENT: _ask_consent,
    NAME: _ask_name,
    AREA: _ask_area,
    CONTACT: _ask_contact,
    ADDRESS: _ask_address,
    DAY: _ask_day,
    NEEDS_STEP: _ask_needs,
    NOTES: _ask_notes,
    WARD: _ask_ward,
    PREVIEW: _ask_preview,
}


# --- each step's answer ---------------------------------------------------------------------


async def cb_consent(update: Update, context: Context) -> object:
    """ "I agree" goes on to the details; "No thanks" keeps nothing."""
    callback = pressed(update)
    draft = _draft(context)
    await drop_buttons(update)
    if callback is None or callback.action != "agree":
        if context.user_data is not None:
            context.user_data.pop(DRAFT, None)
        await reply(update, t("join.declined"), ReplyKeyboardRemove())
        return END
    if draft is None:
        return await draft_lost(update)
    return await _next(update, context, draft, CONSENT)


def _typed_field(key: str, limit: int, state: str) -> Handler:
    """A step that keeps the words typed (within `limit`) as one field of the draft."""

    async def step(update: Update, context: Context) -> object:
        draft = _draft(context)
        if draft is None:
            return await draft_lost(update)
        words = await typed(update, limit)
        if words is None:
            return None  # said kindly; the same step asks again
        draft[key] = words
        return await _next(update, context, draft, state)

    return step


got_name = _typed_field("first_name", MAX_FIRST_NAME, NAME)
got_address = _typed_field("address", MAX_ADDRESS, ADDRESS)
got_notes = _typed_field("notes", MAX_NOTES, NOTES)


async def cb_area(update: Update, context: Context) -> object:
    callback, draft = pressed(update), _draft(context)
    places = services(context).config.timebank.neighbourhoods
    if draft is None or callback is None or not 0 <= callback.id < len(places):
        return await draft_lost(update)
    draft["area"] = places[callback.id]
    await drop_buttons(update)
    return await _next(update, context, draft, AREA)


async def got_contact(update: Update, context: Context) -> object:
    """A phone number or @username typed; "Skip" from the patient's keyboard is no contact."""
    draft = _draft(context)
    if draft is None:
        return await draft_lost(update)
    message = update.effective_message
    if message is not None and message.text in {t("post.skip", lang) for lang in languages()}:
        draft["contact"] = None
        return await _next(update, context, draft, CONTACT)
    contact = await typed(update, MAX_CONTACT)
    if contact is None:
        return None
    if not CONTACT_SHAPE.fullmatch(contact):
        await reply(update, t("referral.contact_shape"))
        return None
    draft["contact"] = contact
    return await _next(update, context, draft, CONTACT)


async def got_shared_phone(update: Update, context: Context) -> object:
    """The patient tapped "share my number": Telegram sent their contact card."""
    draft = _draft(context)
    message = update.effective_message
    if draft is None or message is None or message.contact is None:
        return await draft_lost(update)
    draft["contact"] = message.contact.phone_number[:MAX_CONTACT]
    return await _next(update, context, draft, CONTACT)


async def cb_no_phone(update: Update, context: Context) -> object:
    draft = _draft(context)
    if draft is None:
        return await draft_lost(update)
    draft["contact"] = None
    await drop_buttons(update)
    return await _next(update, context, draft, CONTACT)


async def cb_day(update: Update, context: Context) -> object:
    callback, draft = pressed(update), _draft(context)
    if draft is None or callback is None or not 0 <= callback.id < kb.DISCHARGE_DAYS:
        return await draft_lost(update)
    draft["days_ago"] = callback.id
    await drop_buttons(update)
    return await _next(update, context, draft, DAY)


async def cb_need(update: Update, context: Context) -> object:
    """A need tapped on or off; the same question shows the new ticks."""
    callback, draft = pressed(update), _draft(context)
    if draft is None or callback is None or callback.arg not in NEEDS:
        return await draft_lost(update)
    chosen: list[str] = draft["needs"]
    if callback.arg in chosen:
        chosen.remove(callback.arg)
    else:
        chosen.append(callback.arg)
    await edit(update, t(f"referral.ask_needs_{_who(draft)}"), kb.needs(NEEDS, chosen))
    return None


async def cb_needs_done(update: Update, context: Context) -> object:
    draft = _draft(context)
    if draft is None:
        return await draft_lost(update)
    await drop_buttons(update)
    return await _next(update, context, draft, NEEDS_STEP)


async def cb_no_notes(update: Update, context: Context) -> object:
    draft = _draft(context)
    if draft is None:
        return await draft_lost(update)
    draft["notes"] = None
    await drop_buttons(update)
    return await _next(update, context, draft, NOTES)


async def cb_ward(update: Update, context: Context) -> object:
    callback, draft = pressed(update), _draft(context)
    wards = services(context).visits.wards
    if draft is None or callback is None or (callback.arg and callback.arg not in wards):
        return await draft_lost(update)
    draft["ward"] = callback.arg or None
    await drop_buttons(update)
    return await _next(update, context, draft, WARD)


@for_coordinators
async def cb_save(update: Update, context: Context, member: Member) -> object:
    """ "Save" (storage re-checks the role, and audits) or "Don't save"; either ends it."""
    callback = pressed(update)
    assert context.user_data is not None
    draft = context.user_data.pop(DRAFT, None)
    finished: dict[int, bool] = context.user_data.setdefault(FINISHED, {})
    message_id = pressed_message_id(update)
    await drop_buttons(update)
    if callback is not None and callback.action == "drop":
        finished[message_id] = False
        await reply(update, t("referral.not_saved"))
        return END
    if not draft or "days_ago" not in draft:
        return await draft_lost(update)
    svc = services(context)
    now = svc.clock.now()
    referral = await referrals.register(
        svc.db,
        by=member.id,
        details=_details(draft, now, svc.config.zone),
        rules=svc.visits,
        now=now,
    )
    finished[message_id] = True
    await reply(update, t("referral.saved", name=referral.first_name))
    return END


async def _save_patient(update: Update, context: Context, draft: Draft) -> object:
    """The patient's last answer: they join (if new) and their referral is made, together."""
    svc = services(context)
    user = update.effective_user
    assert user is not None
    assert context.user_data is not None
    context.user_data.pop(DRAFT, None)
    now = svc.clock.now()
    newcomer = Newcomer(
        telegram_id=user.id,
        display_name=draft["first_name"],
        username=user.username,
        neighbourhood=draft.get("area"),
        join_source=f"{WARD_LINK}{draft['ward']}",
        coordinator=user.id in svc.config.timebank.coordinators,
        approved=True,
        language=current_language(),
    )
    try:
        await referrals.from_ward(
            svc.db,
            telegram_id=user.id,
            newcomer=newcomer,
            details=_details(draft, now, svc.config.zone),
            rules=svc.visits,
            now=now,
            timings=svc.timings,
        )
    except AlreadyReferred:
        await show_menu(update, t("referral.already_you", name=draft["first_name"]))
        return END
    await show_menu(update, t("referral.patient_done", name=draft["first_name"]))
    return END


async def cb_step_gone(update: Update, context: Context) -> None:
    """A step's button after the draft ended (saved, dropped, left, a restart): say what became
    of it, if we know."""
    finished = (context.user_data or {}).get(FINISHED, {})
    outcome = finished.get(pressed_message_id(update))
    if outcome is None:
        await draft_lost(update)
        return
    await reply(update, t("referral.already_saved" if outcome else "referral.not_saved"))


def _details(draft: Draft, now: datetime, zone: tzinfo) -> Details:
    return Details(
        first_name=draft["first_name"],
        area=draft.get("area") or "",
        address=draft.get("address"),
        contact=draft.get("contact"),
        needs=tuple(draft["needs"]),
        discharged_at=discharged_at(draft.get("days_ago", 0), now, zone),
        notes=draft.get("notes"),
        ward=draft.get("ward"),
    )


def discharged_at(days_ago: int, now: datetime, zone: tzinfo) -> datetime:
    """Today is now; an earlier day is its noon in the timebank's timezone (the hour is not
    asked, and noon is never more than half a day out)."""
    if days_ago == 0:
        return now
    day = now.astimezone(zone).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(12), tzinfo=zone).astimezone(UTC)


# --- what a coordinator sees ----------------------------------------------------------------


def _detail_lines(details: Details, context: Context) -> list[Html]:
    """The details both the preview and the card show, one short line each."""
    svc = services(context)
    lines = [
        t("referral.line_name", name=details.first_name, area=details.area or "–"),
        t(
            "referral.line_left",
            day=day_words(
                details.discharged_at.astimezone(svc.config.zone).date(), "time.long_day"
            ),
        ),
    ]
    if details.address:
        lines.append(t("referral.line_address", address=details.address))
    lines.append(
        t("referral.line_contact", contact=details.contact)
        if details.contact
        else t("referral.line_no_contact")
    )
    needs = ", ".join(t(f"referral.need_{need}") for need in details.needs)
    lines.append(t("referral.line_needs", needs=needs) if needs else t("referral.line_no_needs"))
    if details.notes:
        lines.append(t("referral.line_notes", notes=details.notes))
    if details.ward:
        ward = svc.visits.wards.get(details.ward)
        lines.append(t("referral.line_ward", ward=ward[0] if ward else details.ward))
    return lines


def card_text(found: Card, context: Context) -> Html:
    svc = services(context)
    referral = found.referral
    now = svc.clock.now()
    details = Details(
        referral.first_name,
        referral.area,
        referral.address,
        referral.contact,
        referral.needs,
        referral.discharged_at,
        referral.notes,
        referral.ward,
    )
    lines = _detail_lines(details, context)
    if found.address_deleted:
        lines.insert(2, t("referral.line_address_gone"))
    lines.append(_where(referral.state, found.visitor_name))
    hours_waited = int((now - referral.discharged_at).total_seconds() // 3600)
    if _late(referral.state, now - referral.discharged_at, svc.visits.first_visit_target):
        target = int(svc.visits.first_visit_target.total_seconds() // 3600)
        lines.append(t("referral.line_late", hours=hours_waited, target=target))
    if found.readmitted_on is not None:
        lines.append(t("referral.line_readmitted", day=_day(found.readmitted_on)))
    return Html("\n".join(lines))


def _where(state: str, visitor: str | None) -> Html:
    if state == "accepted":
        return t("referral.where_accepted", name=visitor or "–")
    return t(f"referral.where_{state}")


def _late(state: str, waited: timedelta, target: timedelta) -> bool:
    """Past the target with no first visit yet."""
    return state in referrals.OPEN_STATES and waited > target


def queue_line(row: Waiting, now: datetime, target: timedelta) -> str:
    waited = row.waited(now)
    return t(
        "referral.queue_line",
        mark="⏰ " if _late(row.state, waited, target) else "",
        name=row.first_name,
        area=row.area or "–",
        hours=int(waited.total_seconds() // 3600),
        where=_where(row.state, row.visitor_name),
    )


@for_coordinators
async def cmd_visits(update: Update, context: Context, member: Member) -> None:
    """/visits: open referrals by time waiting since discharge, each a button to its card."""
    await _show_queue(update, context, member, visited=False)


@on_coordinator_button
async def cb_lately(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Referrals visited within a month of discharge: a re-admission may still be recorded."""
    await _show_queue(update, context, member, visited=True)


async def _show_queue(update: Update, context: Context, member: Member, *, visited: bool) -> None:
    svc = services(context)
    now = svc.clock.now()
    rows = await referrals.waiting(svc.db, seen_by=member.id, now=now, visited=visited)
    lately = 0 if visited else await referrals.count_visited_lately(svc.db, now)
    if not rows and not lately:
        await reply(update, t("referral.queue_empty"))
        return
    target = svc.visits.first_visit_target
    if visited:
        title = tn("referral.lately_title", len(rows))
    else:
        title = tn("referral.queue_title", len(rows), hours=int(target.total_seconds() // 3600))
    lines = [(row.id, queue_line(row, now, target)) for row in rows]
    await reply(update, title, kb.queue(lines, lately))


@on_coordinator_button
async def cb_open(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """A referral's card: everything about it (the opening audited), and what can be done."""
    svc = services(context)
    found = await referrals.card(
        svc.db, referral_id=callback.id, seen_by=member.id, now=svc.clock.now()
    )
    closed = found.referral.state in ("closed", "withdrawn")
    await reply(
        update, card_text(found, context), kb.card_actions(found.referral.id, is_closed=closed)
    )


@on_coordinator_button
async def cb_readmit(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Record re-admission": the days from discharge to today, newest first, a page a time."""
    svc = services(context)
    referral = await referrals.get(svc.db, callback.id)
    if referral is None:
        raise NotFound(callback.id)
    page = int(callback.arg) if callback.arg.isdigit() and callback.arg.isascii() else 0
    zone = svc.config.zone
    today = svc.clock.now().astimezone(zone).date()
    left = referral.discharged_at.astimezone(zone).date()
    days = [today - timedelta(days=n) for n in range((today - left).days + 1)]
    shown = days[page * kb.READMIT_PAGE : (page + 1) * kb.READMIT_PAGE]
    if not shown:
        raise NotFound(callback.id)
    earlier = page + 1 if len(days) > (page + 1) * kb.READMIT_PAGE else None
    markup = kb.readmission_days(referral.id, shown, earlier)
    text = t("referral.readmit_when", name=referral.first_name)
    if page:
        await edit(update, text, markup)
    else:
        await reply(update, text, markup)


@on_coordinator_button
async def cb_readmit_day(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """The day they went back into hospital: recorded (audited); the same day again is no news."""
    svc = services(context)
    try:
        day = datetime.strptime(callback.arg, "%Y%m%d").date() if callback.arg.isascii() else None
    except ValueError:
        day = None
    referral = await referrals.get(svc.db, callback.id)
    if day is None or referral is None:
        raise NotFound(callback.id)
    changed = await referrals.record_readmission(
        svc.db, by=member.id, referral_id=referral.id, on=day, now=svc.clock.now()
    )
    await drop_buttons(update)
    key = "referral.readmitted" if changed else "referral.readmitted_already"
    await reply(update, t(key, name=referral.first_name, day=_day(day)))


def _day(day: date) -> str:
    return day_words(day, "time.long_day")


@on_coordinator_button
async def cb_close(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Close": say what it does and ask once; nothing changes yet."""
    referral = await referrals.get(services(context).db, callback.id)
    if referral is None:
        raise NotFound(callback.id)
    await reply(
        update,
        t("referral.close_sure", name=referral.first_name),
        kb.close_sure(referral.id, referral.first_name),
    )


@on_coordinator_button
async def cb_close_sure(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """ "Yes, close it" (storage re-checks the role, withdraws an open offer, audits)."""
    svc = services(context)
    await drop_buttons(update)
    try:
        closed = await referrals.close(
            svc.db, by=member.id, referral_id=callback.id, now=svc.clock.now()
        )
    except WrongState:
        await reply(update, t("referral.closed_already"))
        return
    await reply(update, t("referral.closed", name=closed.first_name))


@on_coordinator_button
async def cb_keep(update: Update, context: Context, member: Member, callback: Callback) -> None:
    await drop_buttons(update)
    await reply(update, t("common.kept"))


@for_coordinators
async def cmd_qr(update: Update, context: Context, member: Member) -> None:
    """/qr CODE: the ward's link as a QR code to print; without a known code, the codes."""
    wards = services(context).config.visits.wards
    code = context.args[0].lower() if context.args else ""
    ward = services(context).config.visits.ward(code)
    if ward is None:
        if not wards:
            await reply(update, t("referral.qr_no_wards"))
            return
        lines = [t("referral.qr_codes")] + [
            t("referral.qr_code_line", code=each.code, name=each.name) for each in wards
        ]
        await reply(update, Html("\n".join(lines)))
        return
    link = ward_link(context.bot.username, ward.code)
    chat = update.effective_chat
    assert chat is not None
    await chat.send_photo(qr_png(link), caption=t("referral.qr_caption", name=ward.name, link=link))


def steps() -> dict[object, list[BaseHandler[Update, Context, Any]]]:
    """Every step's handlers, for a conversation to hold: the discharge one here, and the join
    one (handlers/start.py), which a patient's ward link starts. Fresh handlers each call."""
    typed_words = text_input()
    return {
        CONSENT: [
            CallbackQueryHandler(cb_consent, pattern=pattern(Area.REFERRAL, "agree", "decline"))
        ],
        NAME: [MessageHandler(typed_words, got_name)],
        AREA: [CallbackQueryHandler(cb_area, pattern=pattern(Area.REFERRAL, "area"))],
        CONTACT: [
            MessageHandler(filters.CONTACT, got_shared_phone),
            MessageHandler(typed_words, got_contact),
            CallbackQueryHandler(cb_no_phone, pattern=pattern(Area.REFERRAL, "nophone")),
        ],
        ADDRESS: [MessageHandler(typed_words, got_address)],
        DAY: [CallbackQueryHandler(cb_day, pattern=pattern(Area.REFERRAL, "day"))],
        NEEDS_STEP: [
            CallbackQueryHandler(cb_need, pattern=pattern(Area.REFERRAL, "need")),
            CallbackQueryHandler(cb_needs_done, pattern=pattern(Area.REFERRAL, "needs")),
        ],
        NOTES: [
            MessageHandler(typed_words, got_notes),
            CallbackQueryHandler(cb_no_notes, pattern=pattern(Area.REFERRAL, "nonotes")),
        ],
        WARD: [CallbackQueryHandler(cb_ward, pattern=pattern(Area.REFERRAL, "ward"))],
        PREVIEW: [CallbackQueryHandler(cb_save, pattern=pattern(Area.REFERRAL, "save", "drop"))],
    }


STEP_ACTIONS = (
    "agree",
    "decline",
    "area",
    "nophone",
    "day",
    "need",
    "needs",
    "nonotes",
    "ward",
    "save",
    "drop",
)


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        Conversation(
            "discharge",
            [CommandHandler("discharge", cmd_discharge)],
            steps(),
            drafts=[DRAFT],
            keeps_draft_on_earlier_buttons=True,
        ),
        # A step's button after its draft ended (saved, dropped, left, a restart).
        CallbackQueryHandler(cb_step_gone, pattern=pattern(Area.REFERRAL, *STEP_ACTIONS)),
        CommandHandler("visits", cmd_visits),
        CommandHandler("qr", cmd_qr),
        CallbackQueryHandler(cb_lately, pattern=pattern(Area.REFERRAL, "lately")),
        CallbackQueryHandler(cb_open, pattern=pattern(Area.REFERRAL, "open")),
        CallbackQueryHandler(cb_readmit, pattern=pattern(Area.REFERRAL, "readmit")),
        CallbackQueryHandler(cb_readmit_day, pattern=pattern(Area.REFERRAL, "readday")),
        CallbackQueryHandler(cb_close, pattern=pattern(Area.REFERRAL, "close")),
        CallbackQueryHandler(cb_close_sure, pattern=pattern(Area.REFERRAL, "closeok")),
        CallbackQueryHandler(cb_keep, pattern=pattern(Area.REFERRAL, "keep")),
    ]
