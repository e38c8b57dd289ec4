"""Coordinators and reports: pausing a member, or deciding no action is needed, and resuming.

    a report's notice ─"⏸ Pause Bob"─▶ Bob paused (told kindly), the report handled
                      ─"No action needed"─▶ the report handled
    /paused ─▶ who is paused, since when, by whom ─"▶️ Resume Bob"─▶ Bob told kindly
A report is handled once: a second coordinator (or a second tap) hears who handled it and how.
Every button is behind `on_coordinator_button`, and storage re-checks the role and audits.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.services import services
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.i18n import Html, t
from bot.ui.render import local_time
from handlers.common import Context, drop_buttons, for_coordinators, on_coordinator_button, reply
from storage import safety
from storage.errors import AlreadyHandled
from storage.models import Member


@on_coordinator_button
async def cb_decide(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "⏸ Pause Bob" or "No action needed" on a report; its buttons go once it is handled."""
    svc = services(context)
    now = svc.clock.now()
    try:
        if callback.action == "pause":
            change = await safety.pause(svc.db, by=member.id, report_id=callback.id, now=now)
            key = "safety.paused_done" if change.changed else "safety.paused_already"
            text = t(key, name=change.member.display_name)
        else:
            await safety.dismiss(svc.db, by=member.id, report_id=callback.id, now=now)
            text = t("safety.no_action_done")
    except AlreadyHandled as handled:
        text = t(f"safety.handled_{handled.outcome}", name=handled.handled_by)
    await drop_buttons(update)
    await reply(update, text)


@for_coordinators
async def cmd_paused(update: Update, context: Context, member: Member) -> None:
    """/paused: who is paused, since when and by whom, each with "Resume"."""
    svc = services(context)
    paused = await safety.paused_members(svc.db, seen_by=member.id, now=svc.clock.now())
    if not paused:
        await reply(update, t("safety.paused_none"))
        return
    lines = [t("safety.paused_title")] + [
        t(
            "safety.paused_line",
            name=person.name,
            when=local_time(person.since, svc.config.zone),
            by=person.by_name or "–",
        )
        for person in paused
    ]
    await reply(
        update,
        Html("\n".join(lines)),
        keyboards.resume_each([(person.id, person.name) for person in paused]),
    )


@on_coordinator_button
async def cb_resume(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "▶️ Resume Bob": they may post and answer again, and are told; twice changes nothing."""
    svc = services(context)
    change = await safety.resume(svc.db, by=member.id, member_id=callback.id, now=svc.clock.now())
    key = "safety.resumed" if change.changed else "safety.resumed_already"
    await reply(update, t(key, name=change.member.display_name))


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        CommandHandler("paused", cmd_paused),
        CallbackQueryHandler(cb_decide, pattern=pattern(Area.SAFETY, "pause", "noaction")),
        CallbackQueryHandler(cb_resume, pattern=pattern(Area.SAFETY, "resume")),
    ]
