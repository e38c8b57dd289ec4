"""What each outbox row says, rendered when it is sent so it is never stale.

A renderer returns None when the row no longer applies (the response was already answered,
the exchange moved on): the sender then skips it instead of sending something outdated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import hours, link, t
from bot.render import listing_card
from storage import exchanges, ledger, listings, members
from storage.db import Database
from storage.models import Exchange, Member
from storage.outbox import OutboxItem


@dataclass(frozen=True)
class Rendered:
    text: str
    markup: InlineKeyboardMarkup | None = None


Renderer = Callable[[Database, OutboxItem], Awaitable[Rendered | None]]


async def render(db: Database, item: OutboxItem) -> Rendered | None:
    renderer = RENDERERS.get(item.kind)
    if renderer is None:
        raise LookupError(f"no renderer for outbox kind {item.kind!r}")
    return await renderer(db, item)


async def _response_new(db: Database, item: OutboxItem) -> Rendered | None:
    response = await exchanges.get_response(db, item.ref_id or 0)
    if response is None or response.status != "pending":
        return None
    listing = await listings.get(db, response.listing_id)
    responder = await members.get(db, response.responder_id)
    if listing is None or responder is None:
        return None
    text = t(
        f"response.new_{listing.kind}",
        name=responder.display_name,
        card=listing_card(listing),
    )
    return Rendered(text, keyboards.response_choice(response.id))


async def _response_accepted(db: Database, item: OutboxItem) -> Rendered | None:
    found = await _exchange_and_other(db, item)
    if found is None:
        return None
    exchange, other = found
    who = link(other.display_name, other.telegram_id, other.username)
    return Rendered(
        t("response.accepted_responder", who=who), keyboards.exchange_next_step(exchange)
    )


async def _response_declined(db: Database, item: OutboxItem) -> Rendered | None:
    response = await exchanges.get_response(db, item.ref_id or 0)
    listing = response and await listings.get(db, response.listing_id)
    if listing is None:
        return None
    return Rendered(t("response.declined_responder", name=listing.owner_name))


async def _exchange_proposed(db: Database, item: OutboxItem) -> Rendered | None:
    found = await _exchange_and_other(db, item)
    minutes = int(item.args.get("minutes", 0))
    if found is None or found[0].state != "proposed" or found[0].proposed_minutes != minutes:
        return None
    exchange, other = found
    key = (
        "exchange.confirm_you_helped"
        if exchange.giver_id == item.member_id
        else ("exchange.confirm_they_helped")
    )
    return Rendered(
        t(key, name=other.display_name, hours=hours(minutes)),
        keyboards.confirm_choice(exchange.id, minutes),
    )


async def _exchange_confirmed(db: Database, item: OutboxItem) -> Rendered | None:
    found = await _exchange_and_other(db, item)
    if found is None or found[0].state != "confirmed" or found[0].proposed_minutes is None:
        return None
    exchange, other = found
    balance = await ledger.balance(db, item.member_id)
    return Rendered(
        t(
            "exchange.confirmed_notice",
            name=other.display_name,
            hours=hours(exchange.proposed_minutes or 0),
            balance=hours(balance),
        )
    )


async def _exchange_held(db: Database, item: OutboxItem) -> Rendered | None:
    parties = await _parties(db, item)
    if parties is None or parties[0].state != "held":
        return None
    exchange, giver, receiver = parties
    text = t(
        "coordinator.held",
        giver=giver.display_name,
        receiver=receiver.display_name,
        hours=hours(exchange.proposed_minutes or 0),
    )
    return Rendered(text, keyboards.approve_held(exchange.id))


async def _exchange_disputed(db: Database, item: OutboxItem) -> Rendered | None:
    parties = await _parties(db, item)
    if parties is None:
        return None
    exchange, giver, receiver = parties
    return Rendered(
        t(
            "coordinator.disputed",
            giver=link(giver.display_name, giver.telegram_id, giver.username),
            receiver=link(receiver.display_name, receiver.telegram_id, receiver.username),
            hours=hours(exchange.proposed_minutes or 0),
        )
    )


def _about_other(key: str) -> Renderer:
    """A notice that only names the other party of an exchange."""

    async def renderer(db: Database, item: OutboxItem) -> Rendered | None:
        found = await _exchange_and_other(db, item)
        return Rendered(t(key, name=found[1].display_name)) if found else None

    return renderer


async def _exchange_and_other(db: Database, item: OutboxItem) -> tuple[Exchange, Member] | None:
    exchange = await exchanges.get(db, item.ref_id or 0)
    if exchange is None:
        return None
    other = await members.get(db, exchange.other_party(item.member_id))
    return (exchange, other) if other else None


async def _parties(db: Database, item: OutboxItem) -> tuple[Exchange, Member, Member] | None:
    exchange = await exchanges.get(db, item.ref_id or 0)
    if exchange is None:
        return None
    giver = await members.get(db, exchange.giver_id)
    receiver = await members.get(db, exchange.receiver_id)
    if giver is None or receiver is None:
        return None
    return exchange, giver, receiver


RENDERERS: dict[str, Renderer] = {
    "response_new": _response_new,
    "response_accepted": _response_accepted,
    "response_declined": _response_declined,
    "exchange_proposed": _exchange_proposed,
    "exchange_confirmed": _exchange_confirmed,
    "exchange_held": _exchange_held,
    "exchange_held_party": _about_other("exchange.held_party"),
    "exchange_disputed": _exchange_disputed,
    "exchange_disputed_party": _about_other("exchange.disputed_party"),
    "exchange_cancelled": _about_other("exchange.cancelled_notice"),
}
