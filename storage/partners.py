"""Spending hours with partners: what organisations offer for hours, and members spending them.

    add_offer (someone acting for the organisation) ─▶ open ─close_offer─▶ closed
    ask (a member) ─▶ asked ─confirm─▶ confirmed: ONE ledger transaction, member → organisation
                            ─decline─▶ declined      ─withdraw (the member)─▶ withdrawn

Every rule is checked here, inside the transaction that acts: who acts for the organisation
(organisations.require_acts_for, on every press), the member's balance against their overdraft
limit (counting what they have already asked for and not yet had confirmed), and each change of
state as a compare-and-set, so a double tap or two of the organisation's people pressing at
once moves hours once. The ledger key `spend:ID` makes that doubly sure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage import ledger, organisations, roles
from storage.db import Database, Tx
from storage.errors import (
    AlreadyConfirmed,
    InvalidMinutes,
    NotFound,
    NotYours,
    OverdraftLimit,
    OwnExchange,
    OwnListing,
    WrongState,
)
from storage.guards import require_unpaused
from storage.kinds import LedgerKind, OutboxKind
from storage.models import PartnerOffer, Spend, to_db
from storage.outbox import Notice, enqueue, enqueue_many

MAX_TITLE = 100
MAX_DETAILS = 300
MIN_PRICE, MAX_PRICE, PRICE_STEP = 15, 6000, 15

# An offer with the name of the organisation that makes it.
_OFFER = (
    "SELECT p.*, o.name AS organisation_name FROM partner_offers p"
    " JOIN organisations o ON o.id = p.organisation_id"
)


@dataclass(frozen=True, slots=True)
class Asked:
    """A member's ask; `new` is False when they had asked already (a second tap)."""

    spend: Spend
    offer: PartnerOffer
    new: bool


@dataclass(frozen=True, slots=True)
class Decided:
    """A spend confirmed or declined; `balance` is the member's balance after it."""

    spend: Spend
    offer: PartnerOffer
    balance: int


def valid_price(minutes: int) -> bool:
    return MIN_PRICE <= minutes <= MAX_PRICE and minutes % PRICE_STEP == 0


# --- offers ---------------------------------------------------------------------------------


async def add_offer(
    db: Database,
    *,
    organisation_id: int,
    by: int,
    category: str,
    title: str,
    details: str | None,
    price_minutes: int,
    categories: Sequence[str],
    now: datetime,
) -> PartnerOffer:
    """Someone acting for the organisation offers something for hours, in one of the
    timebank's categories."""
    title = title.strip()
    details = details.strip() if details else None
    if category not in categories or not 0 < len(title) <= MAX_TITLE:
        raise NotFound(organisation_id)
    if details is not None and len(details) > MAX_DETAILS:
        raise NotFound(organisation_id)
    if not valid_price(price_minutes):
        raise InvalidMinutes(price_minutes)
    async with db.transaction() as tx:
        await organisations.require_acts_for(tx, by, organisation_id)
        async with tx.execute(
            "INSERT INTO partner_offers (organisation_id, category, title, details,"
            " price_minutes, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (organisation_id, category, title, details, price_minutes, by, to_db(now)),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return await _offer(tx, int(row[0]))


async def close_offer(db: Database, *, offer_id: int, by: int) -> bool:
    """Someone acting for the organisation takes the offer down; False if it was closed
    already. Members who asked before keep their asks, for the organisation to answer."""
    async with db.transaction() as tx:
        offer = await _offer(tx, offer_id)
        await organisations.require_acts_for(tx, by, offer.organisation_id)
        cursor = await tx.execute(
            "UPDATE partner_offers SET status = 'closed' WHERE id = ? AND status = 'open'",
            (offer_id,),
        )
        return cursor.rowcount > 0


async def get_offer(db: Database, offer_id: int) -> PartnerOffer | None:
    row = await db.one(f"{_OFFER} WHERE p.id = ?", (offer_id,))
    return PartnerOffer.from_row(row) if row else None


async def categories_with_offers(db: Database) -> set[str]:
    """The categories that have an open offer from an active organisation."""
    rows = await db.all(
        "SELECT DISTINCT p.category FROM partner_offers p"
        " JOIN organisations o ON o.id = p.organisation_id"
        " WHERE p.status = 'open' AND o.status = 'active'"
    )
    return {row[0] for row in rows}


async def offers(db: Database, category: str, limit: int = 20) -> list[PartnerOffer]:
    """Open offers of active organisations in a category, oldest first."""
    rows = await db.all(
        f"{_OFFER} WHERE p.status = 'open' AND p.category = ? AND o.status = 'active'"
        " ORDER BY p.id LIMIT ?",
        (category, limit),
    )
    return [PartnerOffer.from_row(row) for row in rows]


# --- spending -------------------------------------------------------------------------------


async def ask(
    db: Database, *, offer_id: int, member_id: int, overdraft_limit: int, now: datetime
) -> Asked:
    """A member asks to spend hours on an offer; the organisation's people are told, with
    Confirm and Can't. Refused (OverdraftLimit) when the price, with what they have asked for
    already, would take them past their limit; asking twice asks once."""
    async with db.transaction() as tx:
        offer = await _offer(tx, offer_id)
        if not offer.is_open or not await _is_active(tx, offer.organisation_id):
            raise WrongState(offer_id)
        await require_unpaused(tx, member_id)
        if await _is_its_member(tx, member_id, offer.organisation_id):
            raise OwnListing(offer_id)
        earlier = await tx.one(
            "SELECT * FROM spends WHERE offer_id = ? AND member_id = ? AND state = 'asked'",
            offer_id,
            member_id,
        )
        if earlier is not None:
            return Asked(Spend.from_row(earlier), offer, new=False)
        balance = await ledger.balance_in(tx, member_id)
        waiting = await tx.one(
            "SELECT COALESCE(SUM(minutes), 0) FROM spends WHERE member_id = ? AND state = 'asked'",
            member_id,
        )
        available = balance - int(waiting[0] if waiting else 0)
        if available - offer.price_minutes < -overdraft_limit:
            raise OverdraftLimit(available, overdraft_limit)
        async with tx.execute(
            "INSERT INTO spends (offer_id, member_id, minutes, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING *",
            (offer_id, member_id, offer.price_minutes, to_db(now), to_db(now)),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        spend = Spend.from_row(row)
        deciders = await _deciders(tx, offer.organisation_id, apart_from=member_id)
        await enqueue_many(
            tx,
            (
                Notice(
                    decider,
                    OutboxKind.SPEND_ASKED,
                    spend.id,
                    idempotency_key=f"spend:{spend.id}:asked:{decider}",
                )
                for decider in deciders
            ),
            now,
        )
    return Asked(spend, offer, new=True)


async def confirm(
    db: Database, *, spend_id: int, by: int, overdraft_limit: int, now: datetime
) -> Decided:
    """Someone acting for the organisation confirms: the member's hours move to the
    organisation's account in one ledger transaction, and the member is told their balance.
    A second press raises AlreadyConfirmed and moves nothing; a member whose balance fell
    meanwhile past their limit is refused (OverdraftLimit), the ask left waiting."""
    async with db.transaction() as tx:
        spend, offer = await _decidable(tx, spend_id, by)
        balance = await ledger.balance_in(tx, spend.member_id)
        if balance - spend.minutes < -overdraft_limit:
            raise OverdraftLimit(balance, overdraft_limit)
        decided = await _decide(tx, spend, "confirmed", by, now)
        account = (await ledger.accounts(tx, spend.member_id))[spend.member_id].id
        await ledger.post(
            tx,
            kind=LedgerKind.SPEND,
            idempotency_key=f"spend:{spend.id}",
            entries=[
                (account, -spend.minutes),
                (await organisations.account_id(tx, offer.organisation_id), spend.minutes),
            ],
            now=now,
            spend_id=spend.id,
            recorded_by=by,
        )
        await _tell_member(tx, decided, OutboxKind.SPEND_CONFIRMED, now)
    return Decided(decided, offer, balance - spend.minutes)


async def decline(db: Database, *, spend_id: int, by: int, now: datetime) -> Decided:
    """Someone acting for the organisation can't this time; the member is told kindly, and
    nothing moves."""
    async with db.transaction() as tx:
        spend, offer = await _decidable(tx, spend_id, by)
        decided = await _decide(tx, spend, "declined", by, now)
        await _tell_member(tx, decided, OutboxKind.SPEND_DECLINED, now)
        balance = await ledger.balance_in(tx, spend.member_id)
    return Decided(decided, offer, balance)


async def withdraw(db: Database, *, spend_id: int, member_id: int, now: datetime) -> Spend:
    """The member takes back an ask the organisation hasn't answered yet (only their own)."""
    async with db.transaction() as tx:
        spend = await _spend(tx, spend_id)
        if spend.member_id != member_id:
            raise NotYours(spend_id)
        return await _decide(tx, spend, "withdrawn", None, now)


@dataclass(frozen=True, slots=True)
class Waiting:
    """A member's ask the organisation hasn't answered yet, and the asker's name."""

    spend: Spend
    offer: PartnerOffer
    name: str


async def waiting(db: Database, organisation_id: int, limit: int = 20) -> list[Waiting]:
    """The organisation's unanswered asks, oldest first: /org shows them again, so an ask
    whose notice scrolled away (or was sent before someone joined the organisation) is never
    stuck."""
    rows = await db.all(
        "SELECT s.*, m.display_name AS asker FROM spends s"
        " JOIN partner_offers p ON p.id = s.offer_id JOIN members m ON m.id = s.member_id"
        " WHERE p.organisation_id = ? AND s.state = 'asked' ORDER BY s.id LIMIT ?",
        (organisation_id, limit),
    )
    found = []
    for row in rows:
        offer = await get_offer(db, row["offer_id"])
        if offer is not None:
            found.append(Waiting(Spend.from_row(row), offer, row["asker"]))
    return found


async def get_spend(db: Database, spend_id: int) -> Spend | None:
    row = await db.one("SELECT * FROM spends WHERE id = ?", (spend_id,))
    return Spend.from_row(row) if row else None


# --- inside a transaction -------------------------------------------------------------------


async def _offer(tx: Tx, offer_id: int) -> PartnerOffer:
    row = await tx.one(f"{_OFFER} WHERE p.id = ?", offer_id)
    if row is None:
        raise NotFound(offer_id)
    return PartnerOffer.from_row(row)


async def _spend(tx: Tx, spend_id: int) -> Spend:
    row = await tx.one("SELECT * FROM spends WHERE id = ?", spend_id)
    if row is None:
        raise NotFound(spend_id)
    return Spend.from_row(row)


async def _decidable(tx: Tx, spend_id: int, by: int) -> tuple[Spend, PartnerOffer]:
    """The spend and its offer, if `by` may answer it for the organisation now: someone who
    acts for it, and not the member spending (nobody confirms their own spend)."""
    spend = await _spend(tx, spend_id)
    offer = await _offer(tx, spend.offer_id)
    await organisations.require_acts_for(tx, by, offer.organisation_id)
    if spend.member_id == by:
        raise OwnExchange(spend_id)
    if spend.state == "confirmed":
        raise AlreadyConfirmed(spend_id)
    return spend, offer


async def _decide(tx: Tx, spend: Spend, state: str, by: int | None, now: datetime) -> Spend:
    """asked → `state`, once: whoever comes second finds it moved on."""
    async with tx.execute(
        "UPDATE spends SET state = ?, decided_by = ?, updated_at = ?"
        " WHERE id = ? AND state = 'asked' RETURNING *",
        (state, by, to_db(now), spend.id),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        current = await _spend(tx, spend.id)
        raise AlreadyConfirmed(spend.id) if current.state == "confirmed" else WrongState(spend.id)
    return Spend.from_row(row)


async def _tell_member(tx: Tx, spend: Spend, kind: OutboxKind, now: datetime) -> None:
    notice = Notice(spend.member_id, kind, spend.id, idempotency_key=f"spend:{spend.id}:{kind}")
    await enqueue(tx, notice, now)


async def _is_active(tx: Tx, organisation_id: int) -> bool:
    row = await tx.one("SELECT status FROM organisations WHERE id = ?", organisation_id)
    return row is not None and row[0] == "active"


async def _is_its_member(tx: Tx, member_id: int, organisation_id: int) -> bool:
    row = await tx.one(
        "SELECT 1 FROM organisation_members WHERE organisation_id = ? AND member_id = ?",
        organisation_id,
        member_id,
    )
    return row is not None


async def _deciders(tx: Tx, organisation_id: int, *, apart_from: int) -> list[int]:
    """Who is asked to answer: the organisation's members; with none, the coordinators (who
    act for every organisation when its people can't). Never the member asking."""
    rows = await tx.execute_fetchall(
        "SELECT om.member_id FROM organisation_members om JOIN members m ON m.id = om.member_id"
        " WHERE om.organisation_id = ? AND m.status = 'active' AND om.member_id <> ?"
        " ORDER BY om.member_id",
        (organisation_id, apart_from),
    )
    found = [int(row[0]) for row in rows]
    return found or await roles.coordinator_ids(tx, apart_from=(apart_from,))
