"""From "I can help" to credits: respond, accept, say it happened, confirm.

    "I can help" ─▶ owner: Accept / Decline ─Accept─▶ both introduced, exchange agreed
    "It happened" ─▶ hours ─▶ other party: "Yes" ─▶ credits move, both thanked
                                          "Not quite" ─▶ change the hours / ask a coordinator
    "It didn't happen" ─▶ "Are you sure?" ─Yes─▶ cancelled, or (hours proposed) a dispute
Every press is re-checked in storage: only the parties may move an exchange, only the owner
may accept, and only the party who did not propose the hours may confirm them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.services import services
from bot.ui import keyboards
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.i18n import hours, link, t
from bot.ui.render import local_time, reminder_words
from handlers.common import Context, Handler, edit, on_button, reply
from handlers.timepick import TimePicker
from storage import exchanges, listings, members, organisations
from storage.errors import InvalidMinutes, NotFound, NotYours, OverdraftLimit, WithCoordinator
from storage.exchanges import Escalated
from storage.kinds import ExchangeState
from storage.models import Exchange, Member, valid_minutes


def one_change(change: Callable[..., Awaitable[object]], id_name: str, reply_key: str) -> Handler:
    """A press that makes one change in storage (which checks the presser may), says so,
    and sends the notices the change queued for the other person."""

    @on_button
    async def handler(update: Update, context: Context, member: Member, callback: Callback) -> None:
        svc = services(context)
        await change(svc.db, **{id_name: callback.id}, member_id=member.id, now=svc.clock.now())
        await reply(update, t(reply_key))

    return handler


cb_respond = one_change(exchanges.respond, "listing_id", "response.sent")
cb_decline = one_change(exchanges.decline, "response_id", "response.declined_owner")


@on_button
async def cb_flag(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Ask a coordinator": a dispute; told truthfully whether one was asked."""
    svc = services(context)
    outcome = await exchanges.dispute(
        svc.db, exchange_id=callback.id, member_id=member.id, now=svc.clock.now()
    )
    await reply(update, t("exchange.flagged_kept" if outcome.kept else "exchange.flagged"))


@on_button
async def cb_cancel(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "It didn't happen": first, are they sure? This tap changes nothing."""
    exchange = await _party_exchange(context, callback.id, member)
    if exchange.state == ExchangeState.PROPOSED:
        text = t("exchange.sure_didnt_happen_proposed", hours=hours(exchange.proposed_minutes or 0))
    else:
        text = t("exchange.sure_didnt_happen")
    await reply(update, text, keyboards.didnt_happen_sure(exchange.id, exchange.state))


@on_button
async def cb_cancel_sure(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """Sure it didn't happen: storage re-checks the presser, and that the exchange is still as
    they saw it (the state in the button); cancelled, or a dispute once hours were proposed."""
    if callback.arg not in (ExchangeState.AGREED, ExchangeState.PROPOSED):
        raise NotFound(callback.id)
    svc = services(context)
    outcome = await exchanges.cancel(
        svc.db,
        exchange_id=callback.id,
        member_id=member.id,
        now=svc.clock.now(),
        expected=ExchangeState(callback.arg),
    )
    await reply(update, _didnt_happen_text(outcome))


def _didnt_happen_text(outcome: Escalated) -> str:
    if outcome.exchange.state == ExchangeState.CANCELLED:
        return t("exchange.cancelled")
    key = "exchange.didnt_happen_kept" if outcome.kept else "exchange.didnt_happen_disputed"
    return t(key, hours=hours(outcome.exchange.proposed_minutes or 0))


@on_button
async def cb_keep(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "No, keep it": nothing changes, if nothing had changed already (a "Yes" came first)."""
    await _party_exchange(context, callback.id, member)
    await reply(update, t("common.kept"))


@on_button
async def cb_accept(update: Update, context: Context, member: Member, callback: Callback) -> None:
    svc = services(context)
    exchange = await exchanges.accept(
        svc.db,
        response_id=callback.id,
        member_id=member.id,
        now=svc.clock.now(),
        timings=svc.timings,
    )
    other = await members.get(svc.db, exchange.other_party(member.id))
    assert other is not None
    await reply(
        update,
        t(
            "response.accepted_owner",
            who=link(other.display_name, other.telegram_id, other.username),
        ),
        keyboards.introduced(exchange, member.id),
    )


@on_button
async def cb_done(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "It happened" (or "Change the hours"): ask how long it took."""
    exchange = await _party_exchange(context, callback.id, member)
    key = "exchange.how_long_instead" if exchange.state == "proposed" else "exchange.how_long"
    await reply(update, t(key), keyboards.hours_picker(callback.id))


@on_button
async def cb_more(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """The − / + stepper for hours the quick buttons don't cover."""
    await _party_exchange(context, callback.id, member)
    minutes = callback.arg_int
    if minutes is None or not valid_minutes(minutes):
        raise InvalidMinutes(minutes)
    text = t("exchange.pick_hours", hours=hours(minutes))
    await edit(update, text, keyboards.hours_stepper(callback.id, minutes))


@on_button
async def cb_hours(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Hours chosen: propose them and ask the other party to confirm."""
    minutes = callback.arg_int
    if minutes is None:
        raise InvalidMinutes(callback.arg)
    svc = services(context)
    exchange = await exchanges.propose(
        svc.db,
        exchange_id=callback.id,
        member_id=member.id,
        minutes=minutes,
        now=svc.clock.now(),
        timings=svc.timings,
    )
    other = await members.get(svc.db, exchange.other_party(member.id))
    assert other is not None
    await reply(update, t("exchange.asked_other", name=other.display_name, hours=hours(minutes)))


@on_button
async def cb_yes(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """The other party agrees: credits move once, whoever taps twice."""
    minutes = callback.arg_int
    if minutes is None:
        raise InvalidMinutes(callback.arg)
    svc = services(context)
    try:
        done = await exchanges.confirm(
            svc.db,
            exchange_id=callback.id,
            member_id=member.id,
            minutes=minutes,
            overdraft_limit=svc.config.timebank.overdraft_limit_minutes,
            now=svc.clock.now(),
            organisation_limit=svc.config.organisations.overdraft_limit_minutes,
        )
    except OverdraftLimit as limit:
        key = "exchange.over_limit_kept" if limit.kept else "exchange.over_limit"
        await reply(update, t(key, limit=hours(limit.limit)))
        return
    mine = done.giver_balance if done.exchange.giver_id == member.id else done.receiver_balance
    text = t("exchange.thanks", hours=hours(done.minutes), balance=hours(mine))
    organisation = await organisations.acted_for(svc.db, done.exchange, member.id)
    if organisation is not None:  # the balance is the organisation's, not theirs
        text = t(
            "exchange.thanks_for_organisation",
            hours=hours(done.minutes),
            organisation=organisation.name,
            org_hours=hours(mine),
        )
    await reply(
        update,
        text,
        keyboards.close_met_need(await listings.of_exchange(svc.db, done.exchange), member.id),
    )


@on_button
async def cb_not_quite(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    exchange = await _party_exchange(context, callback.id, member)
    if exchange.state != "proposed":
        raise NotFound(callback.id)
    await reply(update, t("exchange.not_quite_prompt"), keyboards.not_quite_choice(callback.id))


@on_button
async def cb_approve_held(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """A coordinator lets a held exchange pass the overdraft limit (role checked in storage)."""
    svc = services(context)
    done = await exchanges.approve_held(
        svc.db, exchange_id=callback.id, coordinator_id=member.id, now=svc.clock.now()
    )
    await reply(update, t("coordinator.approved", hours=hours(done.minutes)))


async def _party_exchange(context: Context, exchange_id: int, member: Member) -> Exchange:
    exchange = await exchanges.get(services(context).db, exchange_id)
    if exchange is None:
        raise NotFound(exchange_id)
    if not exchange.involves(member.id):
        raise NotYours(exchange_id)
    if exchange.state in (ExchangeState.HELD, ExchangeState.DISPUTED):
        raise WithCoordinator(exchange_id)
    if exchange.state not in (ExchangeState.AGREED, ExchangeState.PROPOSED):
        raise NotFound(exchange_id)
    return exchange


async def _time_picked(
    update: Update, context: Context, member: Member, exchange_id: int, local: datetime
) -> None:
    """The time was picked: store it and queue reminders for both."""
    svc = services(context)
    now = svc.clock.now()
    exchange = await exchanges.schedule(
        svc.db, exchange_id=exchange_id, member_id=member.id, at=local, now=now
    )
    other = await members.get(svc.db, exchange.other_party(member.id))
    assert other is not None
    when = local_time(local, svc.config.zone)
    key = f"exchange.time_set_{reminder_words(local, now, nudges_enabled=member.nudges_enabled)}"
    await reply(update, t(key, name=other.display_name, when=when))


TIME = TimePicker(Area.EXCHANGE, _party_exchange, _time_picked)


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    routes = {
        (Area.LISTING, "respond"): cb_respond,
        (Area.RESPONSE, "accept"): cb_accept,
        (Area.RESPONSE, "decline"): cb_decline,
        (Area.EXCHANGE, "done"): cb_done,
        (Area.EXCHANGE, "more"): cb_more,
        (Area.EXCHANGE, "hours"): cb_hours,
        (Area.EXCHANGE, "yes"): cb_yes,
        (Area.EXCHANGE, "no"): cb_not_quite,
        (Area.EXCHANGE, "flag"): cb_flag,
        (Area.EXCHANGE, "cancel"): cb_cancel,
        (Area.EXCHANGE, "nohelp"): cb_cancel_sure,
        (Area.EXCHANGE, "keep"): cb_keep,
        (Area.HELD, "allow"): cb_approve_held,
    }
    return [
        *(
            CallbackQueryHandler(callback, pattern=pattern(area, action))
            for (area, action), callback in routes.items()
        ),
        *TIME.handlers(),
    ]
