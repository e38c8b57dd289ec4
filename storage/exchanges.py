"""Responses and exchanges: who may move an exchange from one state to the next, and the
credit that a confirmation writes.

Every change is compare-and-set inside one transaction (`UPDATE … WHERE state = …`), so a
double tap or a second device can never move an exchange twice or credit it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import audit, ledger, nudges, roles
from storage.db import Database, Row, Tx
from storage.errors import (
    AlreadyConfirmed,
    AlreadyResponded,
    InvalidMinutes,
    NotFound,
    NotYours,
    OverdraftLimit,
    OwnListing,
    SamePerson,
    WrongState,
)
from storage.kinds import ExchangeState, OutboxKind
from storage.models import Exchange, HistoryItem, Response, from_db, to_db, valid_minutes
from storage.nudges import DEFAULT_TIMINGS, Timings
from storage.outbox import Notice, enqueue


@dataclass(frozen=True, slots=True)
class Settled:
    exchange_id: int
    minutes: int
    change: int


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
        async with tx.execute(
            "INSERT INTO responses (listing_id, responder_id, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (listing_id, responder_id) DO NOTHING RETURNING *",
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
    """The listing's owner accepts a response: an exchange is agreed and both are introduced."""
    async with db.transaction() as tx:
        row = await _owned_response(tx, response_id, member_id)
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
            " updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
            (row["listing_id"], response_id, giver, receiver, to_db(now), to_db(now)),
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
    Proposing again (either party) replaces the hours: that is how "Not quite" corrects."""
    if not valid_minutes(minutes):
        raise InvalidMinutes(minutes)
    async with db.transaction() as tx:
        exchange = await _party_exchange(tx, exchange_id, member_id)
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
) -> Confirmed:
    """The other party says yes to exactly the proposed minutes; the credit moves once.

    `minutes` comes from the button the member saw, so a stale button (the hours were changed
    since) is refused rather than confirming an amount they never saw."""
    async with db.transaction() as tx:
        exchange = await _party_exchange(tx, exchange_id, member_id)
        if exchange.state != ExchangeState.PROPOSED or exchange.proposed_minutes != minutes:
            _raise_for_state(exchange)
        if exchange.proposed_by == member_id:
            raise NotYours(exchange_id)
        receiver_balance = await ledger.balance_in(tx, exchange.receiver_id)
        if receiver_balance - minutes < -overdraft_limit:
            # The hold must commit, so the refusal is raised after the transaction.
            await _hold_for_coordinator(tx, exchange, now)
            confirmed = None
        else:
            confirmed = await _credit(tx, exchange, minutes, now)
            other = exchange.other_party(member_id)
            await enqueue(tx, Notice(other, OutboxKind.EXCHANGE_CONFIRMED, exchange_id), now)
    if confirmed is None:
        raise OverdraftLimit(receiver_balance, overdraft_limit)
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
            raise NotYours(exchange_id)  # nobody approves their own exchange
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


async def dispute(db: Database, *, exchange_id: int, member_id: int, now: datetime) -> Exchange:
    """ "Not quite", and they can't agree the hours: a coordinator is asked to help."""
    async with db.transaction() as tx:
        exchange = await _party_exchange(tx, exchange_id, member_id)
        moved = await _move(
            tx,
            exchange,
            (ExchangeState.AGREED, ExchangeState.PROPOSED),
            ExchangeState.DISPUTED,
            now,
        )
        for coordinator in await roles.coordinator_ids(
            tx, apart_from=(exchange.giver_id, exchange.receiver_id)
        ):
            await enqueue(tx, Notice(coordinator, OutboxKind.EXCHANGE_DISPUTED, exchange_id), now)
        await enqueue(
            tx,
            Notice(moved.other_party(member_id), OutboxKind.EXCHANGE_DISPUTED_PARTY, exchange_id),
            now,
        )
    return moved


async def cancel(db: Database, *, exchange_id: int, member_id: int, now: datetime) -> Exchange:
    """ "It didn't happen": nothing is credited and the other party is told."""
    async with db.transaction() as tx:
        exchange = await _party_exchange(tx, exchange_id, member_id)
        moved = await _move(
            tx,
            exchange,
            (ExchangeState.AGREED, ExchangeState.PROPOSED),
            ExchangeState.CANCELLED,
            now,
        )
        await enqueue(
            tx,
            Notice(moved.other_party(member_id), OutboxKind.EXCHANGE_CANCELLED, exchange_id),
            now,
        )
    return moved


async def record_by_coordinator(
    db: Database, *, by: int, giver_id: int, receiver_id: int, minutes: int, now: datetime
) -> Exchange:
    """Hours for members who don't use the bot: confirmed at once, marked as recorded by
    the coordinator, and still double entry."""
    if not valid_minutes(minutes):
        raise InvalidMinutes(minutes)
    if giver_id == receiver_id:
        raise SamePerson(giver_id)
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        async with tx.execute(
            "INSERT INTO exchanges (giver_id, receiver_id, state, proposed_minutes, proposed_by,"
            " created_at, updated_at) VALUES (?, ?, 'confirmed', ?, ?, ?, ?) RETURNING *",
            (giver_id, receiver_id, minutes, by, to_db(now), to_db(now)),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        exchange = Exchange.from_row(row)
        await _post_credit(tx, exchange, minutes, now, "coordinator", by)
        await audit.record(
            tx,
            actor_id=by,
            action="record_exchange",
            subject=f"exchange:{exchange.id}",
            now=now,
            detail={"minutes": minutes, "giver": giver_id, "receiver": receiver_id},
        )
        for party in (giver_id, receiver_id):
            await enqueue(tx, Notice(party, OutboxKind.EXCHANGE_RECORDED, exchange.id), now)
    return exchange


async def settle(
    db: Database, *, by: int, exchange_id: int, minutes: int, now: datetime
) -> Settled:
    """A coordinator decides the hours: a disputed (or stuck) exchange is credited, a
    confirmed one corrected by a new transaction for the difference; 0 means no credit."""
    if minutes != 0 and not valid_minutes(minutes):
        raise InvalidMinutes(minutes)
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        row = await _one(tx, "SELECT * FROM exchanges WHERE id = ?", exchange_id)
        if row is None or row["state"] == ExchangeState.CANCELLED:
            raise NotFound(exchange_id)
        exchange = Exchange.from_row(row)
        if exchange.involves(by):
            raise NotYours(exchange_id)  # nobody settles their own exchange
        credited = await _credited(tx, exchange)
        change = minutes - credited
        if change:
            await _post_credit(
                tx, exchange, change, now, "coordinator" if not credited else "correction", by
            )
        new_state = ExchangeState.CONFIRMED if minutes else ExchangeState.CANCELLED
        await _move(
            tx,
            exchange,
            (
                ExchangeState.AGREED,
                ExchangeState.PROPOSED,
                ExchangeState.HELD,
                ExchangeState.DISPUTED,
                ExchangeState.CONFIRMED,
            ),
            new_state,
            now,
            proposed_minutes=minutes or exchange.proposed_minutes,
        )
        await audit.record(
            tx,
            actor_id=by,
            action="settle_exchange",
            subject=f"exchange:{exchange_id}",
            now=now,
            detail={"minutes": minutes, "change": change},
        )
        if change:
            for party in (exchange.giver_id, exchange.receiver_id):
                await enqueue(
                    tx,
                    Notice(party, OutboxKind.EXCHANGE_SETTLED, exchange_id, {"minutes": minutes}),
                    now,
                )
    return Settled(exchange_id, minutes, change)


async def _credited(tx: Tx, exchange: Exchange) -> int:
    """Minutes the giver has been credited for this exchange so far, corrections included."""
    giver_account = await ledger.account_of(tx, exchange.giver_id)
    row = await _one(
        tx,
        "SELECT COALESCE(SUM(e.minutes), 0) FROM ledger_entries e"
        " JOIN ledger_transactions t ON t.id = e.transaction_id"
        " WHERE t.exchange_id = ? AND e.account_id = ?",
        exchange.id,
        giver_account,
    )
    return int(row[0]) if row else 0


async def _post_credit(
    tx: Tx,
    exchange: Exchange,
    minutes: int,
    now: datetime,
    kind: str,
    recorded_by: int | None,
) -> tuple[int, int] | None:
    """One balanced transaction moving `minutes` from receiver to giver for this exchange;
    returns the giver's and receiver's balances after it, or None if it was already posted.
    The first is keyed 'exchange:ID' (so a double confirm credits once); later ones count on."""
    number = 0
    if kind != "exchange":  # a member's confirm is always the first; the CAS saw to that
        count = await _one(
            tx, "SELECT COUNT(*) FROM ledger_transactions WHERE exchange_id = ?", exchange.id
        )
        number = int(count[0]) if count else 0
    key = f"exchange:{exchange.id}" if number == 0 else f"exchange:{exchange.id}:{number}"
    parties = await ledger.accounts(tx, exchange.giver_id, exchange.receiver_id)
    giver, receiver = parties[exchange.giver_id], parties[exchange.receiver_id]
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


async def history(db: Database, member_id: int, limit: int = 10) -> list[HistoryItem]:
    rows = await db.all(
        "SELECT e.id, e.giver_id, e.state, e.proposed_minutes, e.updated_at,"
        " m.display_name AS other_name FROM exchanges e"
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
    balances = await _post_credit(tx, exchange, minutes, now, "exchange", recorded_by)
    if balances is None:
        raise AlreadyConfirmed(exchange.id)
    return Confirmed(moved, minutes, giver_balance=balances[0], receiver_balance=balances[1])


async def _hold_for_coordinator(tx: Tx, exchange: Exchange, now: datetime) -> None:
    """Park the exchange for a coordinator instead of letting the receiver pass the limit."""
    await _move(tx, exchange, (ExchangeState.PROPOSED,), ExchangeState.HELD, now)
    for coordinator in await roles.coordinator_ids(
        tx, apart_from=(exchange.giver_id, exchange.receiver_id)
    ):
        await enqueue(tx, Notice(coordinator, OutboxKind.EXCHANGE_HELD, exchange.id), now)
    assert exchange.proposed_by is not None
    await enqueue(
        tx, Notice(exchange.proposed_by, OutboxKind.EXCHANGE_HELD_PARTY, exchange.id), now
    )


# Columns a state change may also set, besides state and updated_at.
_MOVE_COLUMNS = frozenset({"proposed_minutes", "proposed_by", "scheduled_at"})


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
        "SELECT r.listing_id, r.responder_id, r.status, l.owner_id, l.kind FROM responses r"
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
