"""Responses and exchanges: who may move an exchange from one state to the next, and the
credit that a confirmation writes.

Every change is compare-and-set inside one transaction (`UPDATE … WHERE state = …`), so a
double tap or a second device can never move an exchange twice or credit it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from storage import audit, guards, ledger, nudges, organisations, roles
from storage.db import Database, Params, Row, Tx
from storage.errors import (
    AlreadyAsked,
    AlreadyConfirmed,
    AlreadyRecorded,
    AlreadyResponded,
    InvalidMinutes,
    NotFound,
    NotYours,
    OverdraftLimit,
    OwnExchange,
    OwnListing,
    SamePerson,
    WrongState,
)
from storage.kinds import ExchangeState, LedgerKind, OutboxKind
from storage.models import (
    FORMER_MEMBER_ID,
    Exchange,
    HistoryItem,
    Response,
    from_db,
    to_db,
    valid_minutes,
)
from storage.nudges import DEFAULT_TIMINGS, Timings
from storage.outbox import Notice, enqueue

# Why a coordinator let a manual record take the receiver past the overdraft limit; written
# to the audit log. Nothing else overrides the limit.
OVERRIDE_REASONS = ("agreed_with_them", "correcting_a_mistake")


@dataclass(frozen=True, slots=True)
class Settled:
    exchange_id: int
    minutes: int
    change: int
    moved: bool = True  # False: it already stood so, and nothing changed (a second tap)


@dataclass(frozen=True, slots=True)
class Escalated:
    """What became of "It didn't happen" or "Ask a coordinator": cancelled (only before hours
    were proposed), or disputed and waiting for a coordinator; `asked` counts the coordinators
    told, 0 meaning none yet: the exchange is kept and reaches the first one."""

    exchange: Exchange
    asked: int = 0

    @property
    def kept(self) -> bool:
        return self.exchange.state == ExchangeState.DISPUTED and self.asked == 0


@dataclass(frozen=True, slots=True)
class Confirmed:
    exchange: Exchange
    minutes: int
    giver_balance: int
    receiver_balance: int


async def get(db: Database, exchange_id: int) -> Exchange | None:
    row = await db.one("SELECT * FROM exchanges WHERE id = ?", (exchange_id,))
    return Exchange.from_row(row) if row else None


async def get_response(db: Database, response_id: int) -> Response | None:
    row = await db.one("SELECT * FROM responses WHERE id = ?", (response_id,))
    return Response.from_row(row) if row else None


async def respond(db: Database, *, listing_id: int, member_id: int, now: datetime) -> Response:
    """Say "I can help" / "I'd like this"; the listing's owner is told."""
    async with db.transaction() as tx:
        listing = await _one(tx, "SELECT owner_id, status FROM listings WHERE id = ?", listing_id)
        if listing is None or listing["status"] != "open":
            raise NotFound(listing_id)
        if listing["owner_id"] == member_id:
            raise OwnListing(listing_id)
        await guards.require_unpaused(tx, member_id)
        await guards.require_can_meet(tx, member_id, listing["owner_id"])
        # One standing answer per member and listing; a withdrawn one (the help was agreed
        # but didn't happen) no longer stands, so they may answer again.
        async with tx.execute(
            "INSERT INTO responses (listing_id, responder_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (listing_id, responder_id) WHERE status <> 'withdrawn' DO NOTHING"
            " RETURNING *",
            (listing_id, member_id, to_db(now)),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise AlreadyResponded(listing_id)
        response = Response.from_row(row)
        await enqueue(tx, Notice(listing["owner_id"], OutboxKind.RESPONSE_NEW, response.id), now)
    return response


async def accept(
    db: Database,
    *,
    response_id: int,
    member_id: int,
    now: datetime,
    timings: Timings = DEFAULT_TIMINGS,
) -> Exchange:
    """The listing's owner accepts a response: an exchange is agreed and both are introduced
    (not while the owner is paused, nor if a block or a pause came between them since).
    A post for an organisation is accepted only while the owner still acts for it; the
    exchange then names it, and its account stands in for the owner's side."""
    async with db.transaction() as tx:
        row = await _owned_response(tx, response_id, member_id)
        await guards.require_unpaused(tx, member_id)
        await guards.require_can_meet(tx, member_id, row["responder_id"])
        if row["organisation_id"] is not None:
            await organisations.require_acts_for(tx, member_id, row["organisation_id"])
        await _move_response(tx, response_id, "accepted")
        offer = row["kind"] == "offer"
        giver, receiver = (
            (member_id, row["responder_id"])
            if offer
            else (
                row["responder_id"],
                member_id,
            )
        )
        async with tx.execute(
            "INSERT INTO exchanges (listing_id, response_id, giver_id, receiver_id, created_at,"
            " updated_at, organisation_id, organisation_side) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING *",
            (
                row["listing_id"],
                response_id,
                giver,
                receiver,
                to_db(now),
                to_db(now),
                row["organisation_id"],
                None if row["organisation_id"] is None else ("giver" if offer else "receiver"),
            ),
        ) as cur:
            created = await cur.fetchone()
        assert created is not None
        exchange = Exchange.from_row(created)
        await enqueue(
            tx, Notice(row["responder_id"], OutboxKind.RESPONSE_ACCEPTED, exchange.id), now
        )
        await nudges.on_agreed(tx, exchange, now, timings)
    return exchange


async def decline(db: Database, *, response_id: int, member_id: int, now: datetime) -> None:
    async with db.transaction() as tx:
        row = await _owned_response(tx, response_id, member_id)
        await _move_response(tx, response_id, "declined")
        await enqueue(
            tx, Notice(row["responder_id"], OutboxKind.RESPONSE_DECLINED, response_id), now
        )


async def propose(
    db: Database,
    *,
    exchange_id: int,
    member_id: int,
    minutes: int,
    now: datetime,
    timings: Timings = DEFAULT_TIMINGS,
) -> Exchange:
    """A party says the help happened, for `minutes`; the other party is asked to confirm.
    Proposing again (either party) replaces the hours: that is how "Not quite" corrects.
    The same person proposing the same hours again (a double tap) asks nobody twice."""
    if not valid_minutes(minutes):
        raise InvalidMinutes(minutes)
    async with db.transaction() as tx:
        exchange = await _party_exchange(tx, exchange_id, member_id)
        if (
            exchange.state == ExchangeState.PROPOSED
            and exchange.proposed_by == member_id
            and exchange.proposed_minutes == minutes
        ):
            raise AlreadyAsked(exchange_id)
        moved = await _move(
            tx,
            exchange,
            (ExchangeState.AGREED, ExchangeState.PROPOSED),
            ExchangeState.PROPOSED,
            now,
            proposed_minutes=minutes,
            proposed_by=member_id,
        )
        other = moved.other_party(member_id)
        await enqueue(
            tx, Notice(other, OutboxKind.EXCHANGE_PROPOSED, exchange_id, {"minutes": minutes}), now
        )
        await nudges.on_proposed(tx, moved, now, timings)
    return moved


async def schedule(
    db: Database, *, exchange_id: int, member_id: int, at: datetime, now: datetime
) -> Exchange:
    """Set when the help will happen; both parties get reminders before it."""
    if at <= now:
        raise WrongState(exchange_id)
    async with db.transaction() as tx:
        exchange = await _party_exchange(tx, exchange_id, member_id)
        if exchange.state == ExchangeState.AGREED and exchange.scheduled_at == at:
            return exchange  # the same time tapped again: already set, already told
        moved = await _move(
            tx, exchange, (ExchangeState.AGREED,), ExchangeState.AGREED, now, scheduled_at=to_db(at)
        )
        await nudges.on_scheduled(tx, moved, at, now)
        await enqueue(
            tx,
            Notice(
                moved.other_party(member_id),
                OutboxKind.EXCHANGE_TIME_SET,
                exchange_id,
                {"at": to_db(at)},
            ),
            now,
        )
    return moved


async def confirm(
    db: Database,
    *,
    exchange_id: int,
    member_id: int,
    minutes: int,
    overdraft_limit: int,
    now: datetime,
    organisation_limit: Callable[[str], int] | None = None,
) -> Confirmed:
    """The other party says yes to exactly the proposed minutes; the credit moves once.

    `minutes` comes from the button the member saw, so a stale button (the hours were changed
    since) is refused rather than confirming an amount they never saw. An organisation that
    received the help pays from its account, within its own limit (`organisation_limit` of
    its name; the members' limit without one)."""
    async with db.transaction() as tx:
        exchange = await _party_exchange(tx, exchange_id, member_id)
        if exchange.state != ExchangeState.PROPOSED or exchange.proposed_minutes != minutes:
            _raise_for_state(exchange)
        if exchange.proposed_by == member_id:
            raise NotYours(exchange_id)
        _, receiver = await _accounts(tx, exchange)
        receiver_balance = receiver.balance
        if exchange.organisation_side == "receiver" and exchange.organisation_id is not None:
            organisation = await organisations.get_in(tx, exchange.organisation_id)
            if organisation_limit is not None:
                overdraft_limit = organisation_limit(organisation.name)
        if receiver_balance - minutes < -overdraft_limit:
            # The hold must commit, so the refusal is raised after the transaction.
            asked = await _hold_for_coordinator(tx, exchange, now)
            confirmed = None
        else:
            confirmed = await _credit(tx, exchange, minutes, now)
            other = exchange.other_party(member_id)
            await enqueue(tx, Notice(other, OutboxKind.EXCHANGE_CONFIRMED, exchange_id), now)
    if confirmed is None:
        raise OverdraftLimit(receiver_balance, overdraft_limit, kept=not asked)
    return confirmed


async def approve_held(
    db: Database, *, exchange_id: int, coordinator_id: int, now: datetime
) -> Confirmed:
    """A coordinator lets a held exchange through the overdraft limit."""
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, coordinator_id)
        row = await _one(tx, "SELECT * FROM exchanges WHERE id = ?", exchange_id)
        if row is None:
            raise NotFound(exchange_id)
        exchange = Exchange.from_row(row)
        if exchange.involves(coordinator_id):
            raise OwnExchange(exchange_id)  # nobody approves their own exchange
        if exchange.state != ExchangeState.HELD or exchange.proposed_minutes is None:
            _raise_for_state(exchange)
        assert exchange.proposed_minutes is not None
        confirmed = await _credit(tx, exchange, exchange.proposed_minutes, now, coordinator_id)
        await audit.record(
            tx,
            actor_id=coordinator_id,
            action="approve_held",
            subject=f"exchange:{exchange_id}",
            now=now,
            detail={"minutes": exchange.proposed_minutes},
        )
        for party in (exchange.giver_id, exchange.receiver_id):
            await enqueue(tx, Notice(party, OutboxKind.EXCHANGE_APPROVED, exchange_id), now)
    return confirmed


async def dispute(db: Database, *, exchange_id: int, member_id: int, now: datetime) -> Escalated:
    """ "Not quite", and they can't agree the hours: a coordinator is asked to help."""
    async with db.transaction() as tx:
        exchange = await _party_exchange(tx, exchange_id, member_id)
        return await _escalate(
            tx, exchange, member_id, "hours", (ExchangeState.AGREED, ExchangeState.PROPOSED), now
        )


async def cancel(
    db: Database,
    *,
    exchange_id: int,
    member_id: int,
    now: datetime,
    expected: ExchangeState | None = None,
) -> Escalated:
    """ "It didn't happen". Before any hours were proposed, nothing is credited, the helper's
    answer is withdrawn (they may answer again) and the other party is told. Once hours were
    proposed, one says it happened and the other not: a dispute for a coordinator.
    With `expected` (the state the member was asked about), anything else is refused."""
    async with db.transaction() as tx:
        exchange = await _party_exchange(tx, exchange_id, member_id)
        if expected is not None and exchange.state != expected:
            _raise_for_state(exchange)
        if exchange.state == ExchangeState.PROPOSED:
            return await _escalate(
                tx, exchange, member_id, "didnt_happen", (ExchangeState.PROPOSED,), now
            )
        moved = await _move(tx, exchange, (ExchangeState.AGREED,), ExchangeState.CANCELLED, now)
        await _withdraw_response(tx, exchange_id)
        await enqueue(
            tx,
            Notice(moved.other_party(member_id), OutboxKind.EXCHANGE_CANCELLED, exchange_id),
            now,
        )
    return Escalated(moved)


async def _escalate(
    tx: Tx,
    exchange: Exchange,
    member_id: int,
    reason: str,
    allowed: tuple[ExchangeState, ...],
    now: datetime,
) -> Escalated:
    """Make it a dispute, ask every coordinator who isn't a party, and tell the other party
    truthfully whether someone was asked or it waits for the first coordinator."""
    moved = await _move(
        tx,
        exchange,
        allowed,
        ExchangeState.DISPUTED,
        now,
        disputed_by=member_id,
        dispute_reason=reason,
    )
    asked = await _ask_coordinators(tx, moved, OutboxKind.EXCHANGE_DISPUTED, now)
    await enqueue(
        tx,
        Notice(
            moved.other_party(member_id),
            OutboxKind.EXCHANGE_DISPUTED_PARTY,
            moved.id,
            {"kept": asked == 0},
        ),
        now,
    )
    return Escalated(moved, asked)


async def _ask_coordinators(tx: Tx, exchange: Exchange, kind: OutboxKind, now: datetime) -> int:
    """Queue `kind` for every coordinator apart from the parties; how many there were. With
    none, the exchange keeps its state and roles.queue_waiting_cases brings it to the first."""
    coordinators = await roles.coordinator_ids(
        tx, apart_from=(exchange.giver_id, exchange.receiver_id)
    )
    for coordinator in coordinators:
        await enqueue(
            tx,
            Notice(
                coordinator,
                kind,
                exchange.id,
                idempotency_key=roles.case_key(exchange.id, kind, coordinator),
            ),
            now,
        )
    return len(coordinators)


async def _withdraw_response(tx: Tx, exchange_id: int) -> None:
    """The help didn't happen: the answer that led to it stops standing."""
    await tx.execute(
        "UPDATE responses SET status = 'withdrawn' WHERE status = 'accepted'"
        " AND id = (SELECT response_id FROM exchanges WHERE id = ?)",
        (exchange_id,),
    )


async def part(tx: Tx, member_id: int, other_id: int, now: datetime) -> int:
    """Keep two members apart from now on (a block): help agreed between them and not yet
    said to have happened is called off, and the other is told only that; answers still
    waiting between them are withdrawn, unseen. Help whose hours were proposed stays, so
    nobody loses credit. Returns how many agreed exchanges were called off."""
    pair = {"me": member_id, "other": other_id}
    await tx.execute(
        "UPDATE responses SET status = 'withdrawn' WHERE status = 'pending' AND id IN"
        " (SELECT r.id FROM responses r JOIN listings l ON l.id = r.listing_id"
        "  WHERE (r.responder_id = :me AND l.owner_id = :other)"
        "  OR (r.responder_id = :other AND l.owner_id = :me))",
        pair,
    )
    async with tx.execute(
        "SELECT * FROM exchanges WHERE state = 'agreed' AND ((giver_id = :me AND receiver_id"
        " = :other) OR (giver_id = :other AND receiver_id = :me)) ORDER BY id",
        pair,
    ) as cursor:
        agreed = [Exchange.from_row(row) for row in await cursor.fetchall()]
    for exchange in agreed:
        await _move(tx, exchange, (ExchangeState.AGREED,), ExchangeState.CANCELLED, now)
        await _withdraw_response(tx, exchange.id)
        notice = Notice(other_id, OutboxKind.EXCHANGE_CANCELLED, exchange.id, {"called_off": True})
        await enqueue(tx, notice, now)
    return len(agreed)


async def agreed_between(db: Database, member_id: int, other_id: int) -> int:
    """How many exchanges the two have agreed and not yet said happened (what a block calls
    off), so the member can be told before they block."""
    return int(
        await db.scalar(
            "SELECT COUNT(*) FROM exchanges WHERE state = 'agreed' AND ((giver_id = :me AND"
            " receiver_id = :other) OR (giver_id = :other AND receiver_id = :me))",
            {"me": member_id, "other": other_id},
        )
    )


async def delete_responses(tx: Tx, chosen: str, params: Params) -> int:
    """Delete the responses whose ids `chosen` (a SELECT) gives (/forget, retention); an
    exchange that came from one stays, detached from it. Returns how many went."""
    await tx.execute(
        f"UPDATE exchanges SET response_id = NULL WHERE response_id IN ({chosen})", params
    )
    cursor = await tx.execute(f"DELETE FROM responses WHERE id IN ({chosen})", params)
    return int(cursor.rowcount)


def record_key(coordinator_id: int, draft_id: int) -> str:
    """The key of one /record (its command message), so its last tap records once."""
    return f"record:{coordinator_id}:{draft_id}"


async def recorded(db: Database, key: str) -> Exchange | None:
    """What a /record with this key recorded, if it did."""
    row = await db.one("SELECT * FROM exchanges WHERE record_key = ?", (key,))
    return Exchange.from_row(row) if row else None


async def record_by_coordinator(
    db: Database,
    *,
    by: int,
    giver_id: int,
    receiver_id: int,
    minutes: int,
    overdraft_limit: int,
    now: datetime,
    override: str | None = None,
    key: str | None = None,
) -> Exchange:
    """Hours for members who don't use the bot: confirmed at once, marked as recorded by
    the coordinator, and still double entry.

    Nobody records hours they gave or received. Past the receiver's overdraft limit nothing
    is recorded (OverdraftLimit) unless `override` names one of OVERRIDE_REASONS, which is
    audited. A `key` (record_key) makes a second tap of the same /record record nothing."""
    if not valid_minutes(minutes):
        raise InvalidMinutes(minutes)
    if giver_id == receiver_id:
        raise SamePerson(giver_id)
    if FORMER_MEMBER_ID in (giver_id, receiver_id):
        raise NotFound(FORMER_MEMBER_ID)  # nobody records hours for someone who has left
    if override is not None and override not in OVERRIDE_REASONS:
        raise NotFound(0)
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        if by in (giver_id, receiver_id):
            raise OwnExchange(by)
        if key is not None:
            done = await _one(tx, "SELECT id FROM exchanges WHERE record_key = ?", key)
            if done is not None:
                raise AlreadyRecorded(int(done[0]))
        balance_after = await ledger.balance_in(tx, receiver_id) - minutes
        past_limit = balance_after < -overdraft_limit
        if past_limit and override is None:
            raise OverdraftLimit(balance_after + minutes, overdraft_limit)
        async with tx.execute(
            "INSERT INTO exchanges (giver_id, receiver_id, state, proposed_minutes, proposed_by,"
            " created_at, updated_at, record_key) VALUES (?, ?, 'confirmed', ?, ?, ?, ?, ?)"
            " RETURNING *",
            (giver_id, receiver_id, minutes, by, to_db(now), to_db(now), key),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        exchange = Exchange.from_row(row)
        await _post_credit(tx, exchange, minutes, now, LedgerKind.COORDINATOR, by)
        detail: dict[str, object] = {"minutes": minutes, "giver": giver_id, "receiver": receiver_id}
        if past_limit:
            detail |= {
                "override": override,
                "balance_after": balance_after,
                "limit": -overdraft_limit,
            }
        await audit.record(
            tx,
            actor_id=by,
            action="record_exchange",
            subject=f"exchange:{exchange.id}",
            now=now,
            detail=detail,
        )
        for party in (giver_id, receiver_id):
            await enqueue(tx, Notice(party, OutboxKind.EXCHANGE_RECORDED, exchange.id), now)
    return exchange


async def settle(
    db: Database, *, by: int, exchange_id: int, minutes: int, now: datetime
) -> Settled:
    """A coordinator decides the hours of any exchange but their own: a disputed, held,
    cancelled (or stuck) one is credited, a confirmed one corrected by a new transaction for
    the difference; 0 means no credit. Both parties are told when anything changed."""
    if minutes != 0 and not valid_minutes(minutes):
        raise InvalidMinutes(minutes)
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        row = await _one(tx, "SELECT * FROM exchanges WHERE id = ?", exchange_id)
        if row is None:
            raise NotFound(exchange_id)
        exchange = Exchange.from_row(row)
        if exchange.involves(by):
            raise OwnExchange(exchange_id)  # nobody settles their own exchange
        if exchange.giver_id == exchange.receiver_id:
            raise WrongState(exchange_id)  # both have left: nobody to decide between
        credited = await _credited(tx, exchange)
        change = minutes - credited
        if change:
            await _post_credit(
                tx,
                exchange,
                change,
                now,
                LedgerKind.COORDINATOR if not credited else LedgerKind.CORRECTION,
                by,
            )
        new_state = ExchangeState.CONFIRMED if minutes else ExchangeState.CANCELLED
        await _move(
            tx,
            exchange,
            tuple(ExchangeState),
            new_state,
            now,
            proposed_minutes=minutes or exchange.proposed_minutes,
        )
        if new_state == ExchangeState.CANCELLED:
            await _withdraw_response(tx, exchange_id)
        moved = bool(change) or exchange.state != new_state
        await audit.record(
            tx,
            actor_id=by,
            action="settle_exchange",
            subject=f"exchange:{exchange_id}",
            now=now,
            detail={"minutes": minutes, "change": change, "from_state": exchange.state},
        )
        if moved:
            for party in (exchange.giver_id, exchange.receiver_id):
                await enqueue(
                    tx,
                    Notice(party, OutboxKind.EXCHANGE_SETTLED, exchange_id, {"minutes": minutes}),
                    now,
                )
    return Settled(exchange_id, minutes, change, moved)


# Minutes the giver (or the organisation giving for them) has been credited for an exchange
# so far, corrections included.
_CREDITED = (
    "SELECT COALESCE(SUM(e.minutes), 0) FROM ledger_entries e"
    " JOIN ledger_transactions t ON t.id = e.transaction_id"
    " JOIN accounts a ON a.id = e.account_id"
    " JOIN exchanges x ON x.id = t.exchange_id AND CASE WHEN x.organisation_side = 'giver'"
    "  THEN a.organisation_id = x.organisation_id ELSE a.member_id = x.giver_id END"
    " WHERE t.exchange_id = ?"
)


async def credited(db: Database, exchange_id: int) -> int:
    """Minutes that count for this exchange now (the giver's credit, corrections included)."""
    return int(await db.scalar(_CREDITED, (exchange_id,)))


async def _credited(tx: Tx, exchange: Exchange) -> int:
    row = await _one(tx, _CREDITED, exchange.id)
    return int(row[0]) if row else 0


async def _post_credit(
    tx: Tx,
    exchange: Exchange,
    minutes: int,
    now: datetime,
    kind: LedgerKind,
    recorded_by: int | None,
) -> tuple[int, int] | None:
    """One balanced transaction moving `minutes` from receiver to giver for this exchange;
    returns the giver's and receiver's balances after it, or None if it was already posted.
    The first is keyed 'exchange:ID' (so a double confirm credits once); later ones count on."""
    number = 0
    if kind != LedgerKind.EXCHANGE:  # a member's confirm is always the first; the CAS saw to that
        count = await _one(
            tx, "SELECT COUNT(*) FROM ledger_transactions WHERE exchange_id = ?", exchange.id
        )
        number = int(count[0]) if count else 0
    key = f"exchange:{exchange.id}" if number == 0 else f"exchange:{exchange.id}:{number}"
    giver, receiver = await _accounts(tx, exchange)
    posted = await ledger.post(
        tx,
        kind=kind,
        idempotency_key=key,
        entries=[(giver.id, minutes), (receiver.id, -minutes)],
        now=now,
        exchange_id=exchange.id,
        recorded_by=recorded_by,
    )
    return (giver.balance + minutes, receiver.balance - minutes) if posted else None


async def _accounts(tx: Tx, exchange: Exchange) -> tuple[ledger.Account, ledger.Account]:
    """The giver's and the receiver's accounts, with balances: the organisation's for the
    side that acts for it."""
    parties = await ledger.accounts(tx, exchange.giver_id, exchange.receiver_id)
    giver, receiver = parties[exchange.giver_id], parties[exchange.receiver_id]
    if exchange.organisation_id is not None:
        standing = ledger.Account(
            await organisations.account_id(tx, exchange.organisation_id),
            await organisations.balance_in(tx, exchange.organisation_id),
        )
        if exchange.organisation_side == "giver":
            giver = standing
        else:
            receiver = standing
    return giver, receiver


async def history(db: Database, member_id: int, limit: int = 10) -> list[HistoryItem]:
    rows = await db.all(
        "SELECT e.id, e.giver_id, e.state, e.proposed_minutes, e.updated_at,"
        " m.id AS other_id, m.display_name AS other_name FROM exchanges e"
        " JOIN members m ON m.id = CASE WHEN e.giver_id = :me THEN e.receiver_id"
        " ELSE e.giver_id END"
        " WHERE e.giver_id = :me OR e.receiver_id = :me ORDER BY e.id DESC LIMIT :limit",
        {"me": member_id, "limit": limit},
    )
    return [
        HistoryItem(
            exchange_id=row["id"],
            gave=row["giver_id"] == member_id,
            other_name=row["other_name"],
            state=row["state"],
            minutes=row["proposed_minutes"],
            when=from_db(row["updated_at"]),
            other_left=row["other_id"] == FORMER_MEMBER_ID,
        )
        for row in rows
    ]


async def open_for(db: Database, member_id: int) -> list[Exchange]:
    """Exchanges still waiting on something, so "My hours" can offer the next step."""
    rows = await db.all(
        "SELECT * FROM exchanges WHERE (giver_id = :me OR receiver_id = :me)"
        " AND state IN ('agreed', 'proposed') ORDER BY id DESC LIMIT 10",
        {"me": member_id},
    )
    return [Exchange.from_row(row) for row in rows]


async def _credit(
    tx: Tx,
    exchange: Exchange,
    minutes: int,
    now: datetime,
    recorded_by: int | None = None,
) -> Confirmed:
    moved = await _move(
        tx, exchange, (ExchangeState.PROPOSED, ExchangeState.HELD), ExchangeState.CONFIRMED, now
    )
    balances = await _post_credit(tx, exchange, minutes, now, LedgerKind.EXCHANGE, recorded_by)
    if balances is None:
        raise AlreadyConfirmed(exchange.id)
    return Confirmed(moved, minutes, giver_balance=balances[0], receiver_balance=balances[1])


async def _hold_for_coordinator(tx: Tx, exchange: Exchange, now: datetime) -> int:
    """Park the exchange for a coordinator instead of letting the receiver pass the limit;
    how many coordinators were asked (0: kept for the first one)."""
    moved = await _move(tx, exchange, (ExchangeState.PROPOSED,), ExchangeState.HELD, now)
    asked = await _ask_coordinators(tx, moved, OutboxKind.EXCHANGE_HELD, now)
    assert exchange.proposed_by is not None
    await enqueue(
        tx,
        Notice(
            exchange.proposed_by,
            OutboxKind.EXCHANGE_HELD_PARTY,
            exchange.id,
            {"kept": asked == 0},
        ),
        now,
    )
    return asked


# Columns a state change may also set, besides state and updated_at.
_MOVE_COLUMNS = frozenset(
    {"proposed_minutes", "proposed_by", "scheduled_at", "disputed_by", "dispute_reason"}
)


async def _move(
    tx: Tx,
    exchange: Exchange,
    allowed: tuple[ExchangeState, ...],
    new_state: ExchangeState,
    now: datetime,
    **columns: object,
) -> Exchange:
    """Compare-and-set: change the exchange only if it is still in an `allowed` state."""
    assert set(columns) <= _MOVE_COLUMNS
    sets = "".join(f", {name} = :{name}" for name in columns)
    states = ", ".join(f":allowed{i}" for i in range(len(allowed)))
    async with tx.execute(
        f"UPDATE exchanges SET state = :state, updated_at = :now{sets}"
        f" WHERE id = :id AND state IN ({states}) RETURNING *",
        {
            "state": new_state,
            "now": to_db(now),
            "id": exchange.id,
            **columns,
            **{f"allowed{i}": state for i, state in enumerate(allowed)},
        },
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        _raise_for_state(exchange)
    assert row is not None
    return Exchange.from_row(row)


def _raise_for_state(exchange: Exchange) -> None:
    if exchange.state == ExchangeState.CONFIRMED:
        raise AlreadyConfirmed(exchange.id)
    raise WrongState(exchange.id)


async def _party_exchange(tx: Tx, exchange_id: int, member_id: int) -> Exchange:
    row = await _one(tx, "SELECT * FROM exchanges WHERE id = ?", exchange_id)
    if row is None:
        raise NotFound(exchange_id)
    exchange = Exchange.from_row(row)
    if not exchange.involves(member_id):
        raise NotYours(exchange_id)
    return exchange


async def _owned_response(tx: Tx, response_id: int, member_id: int) -> Row:
    row = await _one(
        tx,
        "SELECT r.listing_id, r.responder_id, r.status, l.owner_id, l.kind, l.organisation_id"
        " FROM responses r"
        " JOIN listings l ON l.id = r.listing_id WHERE r.id = ?",
        response_id,
    )
    if row is None:
        raise NotFound(response_id)
    if row["owner_id"] != member_id:
        raise NotYours(response_id)
    if row["status"] != "pending":
        raise WrongState(response_id)
    return row


async def _move_response(tx: Tx, response_id: int, status: str) -> None:
    cur = await tx.execute(
        "UPDATE responses SET status = ? WHERE id = ? AND status = 'pending'",
        (status, response_id),
    )
    if cur.rowcount != 1:
        raise WrongState(response_id)


async def _one(tx: Tx, sql: str, *params: object) -> Row | None:
    return next(iter(await tx.execute_fetchall(sql, params)), None)
