"""Picking a time in two taps: a day of the coming week, then one of its hours still ahead.

Help agreed between two members and a home visit both set a time this way, so it lives here
once: a flow gives its callback area, how to check that the presser may set this time (raising
a domain error, which the member reads as a kind reply), and what to do with the time picked.

    "Set a time" (area:when:ID) ─▶ days (area:day:ID:YYYYMMDD) ─▶ hours (area:at:ID:YYYYMMDDHH)
A day or an hour that has passed by the time it is pressed offers the days again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.services import services
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.i18n import t
from handlers.common import Context, on_button, reply
from storage.errors import NotFound
from storage.models import Member

# May this member set the time of this thing (its id)? Raise a DomainError if not.
Check = Callable[[Context, int, Member], Awaitable[object]]
# The time was picked (aware, in the timebank's zone, and still ahead): act on it. What it
# returns is the step's result, so a conversation holding the picker moves on from it.
Picked = Callable[[Update, Context, Member, int, datetime], Awaitable[object]]


@dataclass(frozen=True)
class TimePicker:
    area: Area
    check: Check
    picked: Picked

    def handlers(self) -> list[BaseHandler[Update, Context, Any]]:
        return [
            CallbackQueryHandler(on_button(step), pattern=pattern(self.area, action))
            for action, step in (("when", self._days), ("day", self._hours), ("at", self._at))
        ]

    async def _days(self, update: Update, context: Context, member: Member, cb: Callback) -> None:
        """ "Set a time": first the day (today only while it has an hour left)."""
        await self.check(context, cb.id, member)
        await reply(update, t("exchange.which_day"), self._day_buttons(context, cb.id))

    async def _hours(self, update: Update, context: Context, member: Member, cb: Callback) -> None:
        """The day was picked: its hours still ahead; a day already gone offers the days."""
        await self.check(context, cb.id, member)
        day = _parsed(cb, "%Y%m%d").date()
        now = _local_now(context)
        if not keyboards.hours_left(day, now):
            await reply(update, t("exchange.time_passed"), self._day_buttons(context, cb.id))
            return
        markup = keyboards.hours_of_day(self.area, cb.id, day, now)
        await reply(update, t("exchange.which_hour"), markup)

    async def _at(self, update: Update, context: Context, member: Member, cb: Callback) -> object:
        """The hour was picked: hand it to the flow, unless it has passed meanwhile."""
        local = _parsed(cb, "%Y%m%d%H").replace(tzinfo=services(context).config.zone)
        if local <= services(context).clock.now():
            await reply(update, t("exchange.time_passed"), self._day_buttons(context, cb.id))
            return None
        return await self.picked(update, context, member, cb.id, local)

    def _day_buttons(self, context: Context, item_id: int) -> Any:
        return keyboards.days_ahead(self.area, item_id, _local_now(context))


def _local_now(context: Context) -> datetime:
    svc = services(context)
    return svc.clock.now().astimezone(svc.config.zone)


def _parsed(callback: Callback, shape: str) -> datetime:
    try:
        return datetime.strptime(callback.arg, shape)
    except ValueError as error:  # forged, or from a layout we no longer use
        raise NotFound(callback.id) from error
