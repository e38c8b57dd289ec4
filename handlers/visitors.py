"""Visitors: a member offers to visit people just home from hospital; a coordinator records
the check and briefing and approves them, and later renews, pauses or retires them.

    /visitor, or "Yes" to the pay-it-forward question ─▶ what visiting involves
        ─"I'd like to help"─▶ AREAS (toggles, Done) ─▶ FREE (toggles, Done)
        ─▶ PREVIEW ─Send─▶ every coordinator told, with "Record check & approve" and "Decline"
    "Record check & approve" (or "Record a check", a renewal) ─▶ KIND ─▶ WHEN ─▶ YEARS
        ─▶ NOTE (typed, or Skip) ─▶ SURE ─Confirm─▶ approved (or renewed); the visitor told
    /visitors ─▶ applied, approved, paused ─a name─▶ their card (seeing it is logged)
        ─▶ Record a check · Pause / Resume · Retire (asked once)
Every coordinator's button is behind `on_coordinator_button`; storage re-checks the role,
refuses a coordinator deciding about themselves, and decides each application once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler

from bot.outbound.visitor_notices import areas_words, free_words, long_date
from bot.services import services
from bot.ui import visitor_keyboards
from bot.ui.callbacks import Area, Callback, plain_int
from bot.ui.i18n import Html, t
from handlers.common import (
    Context,
    button_handler,
    draft_lost,
    drop_buttons,
    edit,
    for_coordinators,
    for_members,
    on_button,
    on_coordinator_button,
    pressed,
    reply,
    text_input,
    typed,
)
from handlers.conversation import END, Conversation
from storage import visitors
from storage.errors import NotFound, OwnCase, WrongState
from storage.models import Member, Visitor
from storage.visitors import (
    CHECK_KINDS,
    CHECK_YEARS,
    FREE_TIMES,
    MAX_NOTE,
    AlreadyDecided,
    AlreadyVisitor,
    CheckRunOut,
    NewCheck,
)

INTRO, AREAS, FREE, PREVIEW = range(4)
KIND, WHEN, YEARS, NOTE, SURE = range(4, 9)
SIGNUP = "visitor_signup"
CHECK = "visitor_check"
STANDING = ("applied", "approved", "paused")  # they have offered already: say where they stand


# --- signing up ---------------------------------------------------------------------------


@for_members
async def cmd_visitor(update: Update, context: Context, member: Member) -> int:
    """/visitor: what visiting involves, and whether they'd like to."""
    return await _begin(update, context, member, referral_id=None)


@on_button
async def cb_signup(update: Update, context: Context, member: Member, callback: Callback) -> int:
    """ "Yes" to the pay-it-forward question (id: their referral, arg "fwd"), or a plain
    sign-up button (id 0): the same sign-up."""
    referral_id = callback.id if callback.arg == "fwd" and callback.id else None
    return await _begin(update, context, member, referral_id=referral_id)


async def _begin(update: Update, context: Context, member: Member, referral_id: int | None) -> int:
    visitor = await visitors.get(services(context).db, member.id)
    if visitor is not None and visitor.status in STANDING:
        await reply(update, _standing(visitor))
        return END
    assert context.user_data is not None
    context.user_data[SIGNUP] = {"referral": referral_id, "areas": [], "free": []}
    await reply(update, t("visitor.intro"), visitor_keyboards.intro())
    return INTRO


def _standing(visitor: Visitor) -> str:
    return t(f"visitor.status_{visitor.status}")


@for_members
async def cb_intro(update: Update, context: Context, member: Member) -> int:
    """ "I'd like to help" (then the areas) or "Not now" (nothing kept)."""
    draft = _draft(context, SIGNUP)
    callback = pressed(update)
    await drop_buttons(update)
    if draft is None or callback is None:
        return await _lost(update, context, SIGNUP)
    if callback.action == "no":
        _drop(context, SIGNUP)
        await reply(update, t("visitor.not_now_done"))
        return END
    if not _places(context):
        return await _ask_free(update, draft)
    await reply(update, t("visitor.ask_areas"), _areas_keyboard(context, draft["areas"]))
    return AREAS


def _places(context: Context) -> Sequence[str]:
    return services(context).config.timebank.neighbourhoods


def _areas_keyboard(context: Context, chosen: list[int]) -> InlineKeyboardMarkup:
    return visitor_keyboards.toggles("area", _places(context), chosen, "areasok")


def _free_keyboard(chosen: list[int]) -> InlineKeyboardMarkup:
    labels = [t(f"visitor.free_{key}") for key in FREE_TIMES]
    return visitor_keyboards.toggles("free", labels, chosen, "freeok")


@for_members
async def cb_toggle(update: Update, context: Context, member: Member) -> int | None:
    """A neighbourhood or a time tapped: on if it was off, off if it was on."""
    callback = pressed(update)
    draft = _draft(context, SIGNUP)
    if draft is None or callback is None:
        return await _lost(update, context, SIGNUP)
    areas = callback.action == "area"
    choices = len(_places(context)) if areas else len(FREE_TIMES)
    if not 0 <= callback.id < choices:
        return await _lost(update, context, SIGNUP)
    chosen: list[int] = draft["areas" if areas else "free"]
    if callback.id in chosen:
        chosen.remove(callback.id)
    else:
        chosen.append(callback.id)
    if areas:
        await edit(update, t("visitor.ask_areas"), _areas_keyboard(context, chosen))
    else:
        await edit(update, t("visitor.ask_free"), _free_keyboard(chosen))
    return None


@for_members
async def cb_areas_done(update: Update, context: Context, member: Member) -> int | None:
    draft = _draft(context, SIGNUP)
    if draft is None:
        return await _lost(update, context, SIGNUP)
    if not draft["areas"]:
        await reply(update, t("visitor.pick_one"))
        return None
    await drop_buttons(update)
    return await _ask_free(update, draft)


async def _ask_free(update: Update, draft: dict[str, Any]) -> int:
    await reply(update, t("visitor.ask_free"), _free_keyboard(draft["free"]))
    return FREE


@for_members
async def cb_free_done(update: Update, context: Context, member: Member) -> int | None:
    """Their choices, once more, before they go to the coordinators."""
    draft = _draft(context, SIGNUP)
    if draft is None:
        return await _lost(update, context, SIGNUP)
    if not draft["free"]:
        await reply(update, t("visitor.pick_one"))
        return None
    await drop_buttons(update)
    areas = ", ".join(_chosen_areas(context, draft)) or "–"
    free = ", ".join(t(f"visitor.free_{key}") for key in _chosen_times(draft))
    await reply(
        update, t("visitor.preview", areas=areas, free=free), visitor_keyboards.send_or_not()
    )
    return PREVIEW


def _chosen_areas(context: Context, draft: dict[str, Any]) -> list[str]:
    places = _places(context)
    return [places[index] for index in sorted(draft["areas"])]


def _chosen_times(draft: dict[str, Any]) -> list[str]:
    return [key for index, key in enumerate(FREE_TIMES) if index in draft["free"]]


@for_members
async def cb_send(update: Update, context: Context, member: Member) -> int:
    """Send: the application, every coordinator told. Don't send: nothing kept."""
    callback = pressed(update)
    draft = _draft(context, SIGNUP)
    _drop(context, SIGNUP)
    await drop_buttons(update)
    if callback is not None and callback.action == "drop":
        await reply(update, t("visitor.not_sent"))
        return END
    if draft is None:
        return await _lost(update, context, SIGNUP)
    svc = services(context)
    try:
        applied = await visitors.apply(
            svc.db,
            member_id=member.id,
            areas=_chosen_areas(context, draft),
            free_when=_chosen_times(draft),
            now=svc.clock.now(),
            referral_id=draft["referral"],
        )
    except AlreadyVisitor as already:
        await reply(update, t(f"visitor.status_{already.status}"))
        return END
    await reply(update, t("visitor.sent" if applied.told else "visitor.sent_kept"))
    return END


@for_members
async def cb_signup_gone(update: Update, context: Context, member: Member) -> None:
    """A sign-up button after the sign-up ended (sent, left, a restart): where they stand,
    if they have offered; else that the draft is gone."""
    visitor = await visitors.get(services(context).db, member.id)
    if visitor is not None and visitor.status in STANDING:
        await reply(update, _standing(visitor))
        return
    await reply(update, t("post.draft_lost"))


# --- a coordinator records a check --------------------------------------------------------


@on_coordinator_button
async def cb_check(
    update: Update, context: Context, member: Member, callback: Callback
) -> int | None:
    """ "Record check & approve" on an offer, or "Record a check" for a visitor: the draft
    begins with whom; ask what kind of check it was."""
    svc = services(context)
    visitor = await visitors.get(svc.db, callback.id)
    if visitor is None:
        raise NotFound(callback.id)
    approving = callback.action == "approve"
    if approving:
        try:
            await visitors.require_applied(svc.db, callback.id)
        except AlreadyDecided as decided:
            await _say_decided(update, decided)
            return END
    elif visitor.status not in ("approved", "paused"):
        raise WrongState(callback.id)
    if visitor.member_id == member.id:
        raise OwnCase(visitor.member_id)  # storage refuses it too; say so before any tap
    name = await visitors.name_of(svc.db, visitor.member_id)
    assert context.user_data is not None
    context.user_data[CHECK] = {"member": visitor.member_id, "name": name, "approve": approving}
    await reply(
        update,
        t("visitor.check_kind_ask", name=name),
        visitor_keyboards.check_kinds(visitor.member_id),
    )
    return KIND


async def _say_decided(update: Update, decided: AlreadyDecided) -> None:
    await drop_buttons(update)
    if decided.decided_by is None or decided.status not in ("approved", "declined"):
        await reply(update, t("visitor.decided_other"))
        return
    await reply(update, t(f"visitor.decided_{decided.status}", name=decided.decided_by))


@on_coordinator_button
async def cb_kind(update: Update, context: Context, member: Member, callback: Callback) -> int:
    draft = _check_draft(context, callback)
    if draft is None or callback.arg not in CHECK_KINDS:
        return await _lost(update, context, CHECK)
    draft["kind"] = callback.arg
    await drop_buttons(update)
    await reply(update, t("visitor.check_when_ask"), visitor_keyboards.check_dates(callback.id))
    return WHEN


@on_coordinator_button
async def cb_when(update: Update, context: Context, member: Member, callback: Callback) -> int:
    draft = _check_draft(context, callback)
    days = plain_int(callback.arg, high=visitor_keyboards.CHECK_DAYS_AGO[-1])
    if draft is None or days is None:
        return await _lost(update, context, CHECK)
    draft["days_ago"] = days
    await drop_buttons(update)
    await reply(update, t("visitor.check_years_ask"), visitor_keyboards.check_years(callback.id))
    return YEARS


@on_coordinator_button
async def cb_years(update: Update, context: Context, member: Member, callback: Callback) -> int:
    draft = _check_draft(context, callback)
    years = plain_int(callback.arg)
    if draft is None or years not in CHECK_YEARS:
        return await _lost(update, context, CHECK)
    draft["years"] = years
    await drop_buttons(update)
    await reply(update, t("visitor.check_note_ask"), visitor_keyboards.note_skip(callback.id))
    return NOTE


@for_coordinators
async def got_note(update: Update, context: Context, member: Member) -> int:
    note = await typed(update, MAX_NOTE)
    if note is None:
        return NOTE
    return await _ask_sure(update, context, note)


@on_coordinator_button
async def cb_skip_note(update: Update, context: Context, member: Member, callback: Callback) -> int:
    if _check_draft(context, callback) is None:
        return await _lost(update, context, CHECK)
    await drop_buttons(update)
    return await _ask_sure(update, context, None)


async def _ask_sure(update: Update, context: Context, note: str | None) -> int:
    """One look at the check before it is recorded."""
    draft = _draft(context, CHECK)
    if draft is None or "years" not in draft:
        return await _lost(update, context, CHECK)
    draft["note"] = note
    check = _new_check(context, draft)
    lines = [
        t(
            "visitor.check_sure",
            name=draft["name"],
            kind=t(f"visitor.check_{check.kind}"),
            done=long_date(check.checked_on),
            until=long_date(check.expires_on),
        )
    ]
    if note:
        lines.append(t("visitor.check_sure_note", note=note))
    if draft["approve"]:
        lines.append(t("visitor.check_sure_approve"))
    await reply(update, Html("\n".join(lines)), visitor_keyboards.check_sure(draft["member"]))
    return SURE


def _today(context: Context) -> date:
    svc = services(context)
    return svc.clock.now().astimezone(svc.config.zone).date()


def _new_check(context: Context, draft: dict[str, Any]) -> NewCheck:
    checked_on = _today(context) - timedelta(days=draft["days_ago"])
    return NewCheck(draft["kind"], checked_on, draft["years"], draft.get("note"))


@on_coordinator_button
async def cb_save(update: Update, context: Context, member: Member, callback: Callback) -> int:
    """Confirm: the check recorded (and the visitor approved); or Don't record."""
    draft = _check_draft(context, callback)
    await drop_buttons(update)
    if callback.action == "cdrop":
        _drop(context, CHECK)
        await reply(update, t("visitor.not_recorded"))
        return END
    if draft is None or "note" not in draft:
        return await _lost(update, context, CHECK)
    svc = services(context)
    _drop(context, CHECK)
    record = visitors.approve if draft["approve"] else visitors.record_check
    try:
        change = await record(
            svc.db,
            by=member.id,
            member_id=draft["member"],
            check=_new_check(context, draft),
            now=svc.clock.now(),
            today=_today(context),
            rules=svc.visits,
        )
    except AlreadyDecided as decided:
        await _say_decided(update, decided)
        return END
    except CheckRunOut:
        await reply(update, t("visitor.check_run_out"))
        return END
    key = "visitor.approved_done" if draft["approve"] else "visitor.checked_done"
    expires = change.visitor.check_expires_on or ""
    await reply(update, t(key, name=change.name, until=long_date(date.fromisoformat(expires))))
    return END


@on_coordinator_button
async def cb_check_gone(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """A check's button after it ended (recorded, left, a restart)."""
    await reply(update, t("post.draft_lost"))


@on_coordinator_button
async def cb_decline(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Decline an offer to visit; they are told kindly. Decided already: by whom."""
    svc = services(context)
    try:
        change = await visitors.decline(
            svc.db, by=member.id, member_id=callback.id, now=svc.clock.now()
        )
    except AlreadyDecided as decided:
        await _say_decided(update, decided)
        return
    await drop_buttons(update)
    await reply(update, t("visitor.declined_done", name=change.name))


# --- /visitors and each visitor's card ------------------------------------------------------


@for_coordinators
async def cmd_visitors(update: Update, context: Context, member: Member) -> None:
    """/visitors: offers waiting for a check, then visitors (with their check's expiry), then
    those paused; a name opens the card."""
    found = await visitors.listing(services(context).db, seen_by=member.id)
    if not found:
        await reply(update, t("visitor.list_empty"))
        return
    lines = [t("visitor.list_title")]
    for status in visitors.LISTED:
        group = [each for each in found if each.status == status]
        if not group:
            continue
        lines.append(Html(f"\n{t(f'visitor.list_{status}')}"))
        for each in group:
            if status == "approved" and each.check_expires_on is not None:
                until = long_date(each.check_expires_on)
                lines.append(t("visitor.line_checked", name=each.name, until=until))
            elif status == "approved":
                lines.append(t("visitor.line_unchecked", name=each.name))
            else:
                lines.append(t("visitor.line", name=each.name))
    await reply(
        update,
        Html("\n".join(lines)),
        visitor_keyboards.visitors_list([(each.member_id, each.name) for each in found]),
    )


@on_coordinator_button
async def cb_card(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """One visitor: status, areas, times, their latest checks; seeing it is logged."""
    svc = services(context)
    shown = await visitors.card(
        svc.db, seen_by=member.id, member_id=callback.id, now=svc.clock.now()
    )
    visitor, name = shown.visitor, shown.member.display_name
    lines = [
        t(
            "visitor.card",
            name=name,
            status=t(f"visitor.status_word_{visitor.status}"),
            areas=areas_words(visitor),
            free=free_words(visitor),
        )
    ]
    if not shown.checks:
        lines.append(t("visitor.card_no_check"))
    for check in shown.checks:
        lines.append(
            t(
                "visitor.card_check",
                kind=_kind_words(check.kind),
                done=long_date(check.checked_on),
                until=long_date(check.expires_on),
            )
        )
        if check.note:
            lines.append(t("visitor.card_note", note=check.note))
    lines.append(t("visitor.card_seen"))
    await reply(
        update,
        Html("\n".join(lines)),
        visitor_keyboards.card_actions(visitor.member_id, visitor.status, name),
    )


def _kind_words(kind: str) -> str:
    return t(f"visitor.check_{kind}") if kind in CHECK_KINDS else kind


@on_coordinator_button
async def cb_move(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Pause, Resume, or "Yes, retire": the visitor is told; twice changes nothing."""
    svc = services(context)
    action = "retire" if callback.action == "retireok" else callback.action
    change = await visitors.move(
        svc.db, by=member.id, member_id=callback.id, action=action, now=svc.clock.now()
    )
    await drop_buttons(update)
    suffix = "done" if change.changed else "already"
    await reply(update, t(f"visitor.{action}_{suffix}", name=change.name))


@on_coordinator_button
async def cb_retire(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Retire": asked once, with "No, keep them" first to hand."""
    name = await visitors.name_of(services(context).db, callback.id)
    await reply(
        update,
        t("visitor.retire_sure", name=name),
        visitor_keyboards.retire_sure(callback.id, name),
    )


@on_coordinator_button
async def cb_keep(update: Update, context: Context, member: Member, callback: Callback) -> None:
    await drop_buttons(update)
    await reply(update, t("common.kept"))


# --- drafts -------------------------------------------------------------------------------


def _draft(context: Context, key: str) -> dict[str, Any] | None:
    return context.user_data.get(key) if context.user_data is not None else None


def _check_draft(context: Context, callback: Callback) -> dict[str, Any] | None:
    """The check in progress, if the button is about its visitor."""
    draft = _draft(context, CHECK)
    return draft if draft is not None and draft["member"] == callback.id else None


def _drop(context: Context, key: str) -> None:
    if context.user_data is not None:
        context.user_data.pop(key, None)


async def _lost(update: Update, context: Context, key: str) -> int:
    _drop(context, key)
    return await draft_lost(update)


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    def button(callback: Any, *actions: str) -> BaseHandler[Update, Context, Any]:
        return button_handler(Area.VISITOR, callback, *actions)

    toggle = button(cb_toggle, "area", "free")
    return [
        Conversation(
            "visitor_signup",
            [CommandHandler("visitor", cmd_visitor), button(cb_signup, "signup")],
            {
                INTRO: [button(cb_intro, "yes", "no")],
                AREAS: [toggle, button(cb_areas_done, "areasok")],
                FREE: [toggle, button(cb_free_done, "freeok")],
                PREVIEW: [button(cb_send, "send", "drop")],
            },
            drafts=[SIGNUP],
        ),
        Conversation(
            "visitor_check",
            [button(cb_check, "approve", "check")],
            {
                KIND: [button(cb_kind, "ckind")],
                WHEN: [button(cb_when, "cdate")],
                YEARS: [button(cb_years, "cyears")],
                NOTE: [MessageHandler(text_input(), got_note), button(cb_skip_note, "cskip")],
                SURE: [button(cb_save, "csave", "cdrop")],
            },
            drafts=[CHECK],
        ),
        # Buttons of a sign-up or a check that ended (sent, left, timed out, a restart).
        button(cb_signup_gone, "yes", "no", "area", "free", "areasok", "freeok", "send", "drop"),
        button(cb_save, "cdrop"),
        button(cb_check_gone, "ckind", "cdate", "cyears", "cskip", "csave"),
        CommandHandler("visitors", cmd_visitors),
        button(cb_decline, "decline"),
        button(cb_card, "card"),
        button(cb_retire, "retire"),
        button(cb_move, "pause", "resume", "retireok"),
        button(cb_keep, "keep"),
    ]
