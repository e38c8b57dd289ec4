"""Organisations: services that take part in the timebank as members do, each with its own
ledger account and the members who act for it.

Who may act for an organisation is decided here, in storage, inside the caller's transaction
(`require_acts_for`): its members and the timebank's coordinators, nobody else. So a forged
button, or a member removed a minute ago, is refused however the request arrived. Whatever is
done for an organisation records the member who did it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from storage import audit
from storage.db import Database, Tx
from storage.errors import NameTaken, NotForOrganisation, NotFound, WrongState
from storage.kinds import OutboxKind
from storage.models import Exchange, Organisation, to_db
from storage.outbox import Notice, enqueue
from storage.roles import require_coordinator

# What the schema allows, so a member is told before storage would refuse.
MAX_ORGANISATION_NAME = 80
MAX_AREA = 80
MAX_ABOUT = 300


@dataclass(frozen=True, slots=True)
class Standing:
    """An organisation with its balance and the members who act for it."""

    organisation: Organisation
    balance: int
    member_ids: tuple[int, ...]


def subject(organisation_id: int) -> str:
    """The audit subject of what coordinators do to an organisation."""
    return f"organisation:{organisation_id}"


async def create(
    db: Database, *, name: str, area: str, description: str, by: int, now: datetime
) -> Organisation:
    """A coordinator creates an organisation, with its account. NameTaken when another one
    has that name already, so members never confuse two of them."""
    async with db.transaction() as tx:
        await require_coordinator(tx, by)
        try:
            async with tx.execute(
                "INSERT INTO organisations (name, area, description, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING *",
                (name.strip(), area.strip(), description.strip(), by, to_db(now)),
            ) as cursor:
                row = await cursor.fetchone()
        except sqlite3.IntegrityError as exc:
            if "organisations" in str(exc) and "UNIQUE" in str(exc):
                raise NameTaken(name) from exc
            raise
        assert row is not None
        organisation = Organisation.from_row(row)
        await tx.execute(
            "INSERT INTO accounts (organisation_id, kind) VALUES (?, 'organisation')",
            (organisation.id,),
        )
        await audit.record(
            tx,
            actor_id=by,
            action="organisation_created",
            subject=subject(organisation.id),
            now=now,
            detail={"name": organisation.name},
        )
    return organisation


async def add_member(
    db: Database, *, organisation_id: int, member_id: int, by: int, now: datetime
) -> bool:
    """A coordinator names a member who acts for the organisation, and the member is told
    what that means; False if they already did (a second tap changes nothing)."""
    async with db.transaction() as tx:
        await require_coordinator(tx, by)
        await _require_active(tx, organisation_id)
        member = await tx.one("SELECT status FROM members WHERE id = ?", member_id)
        if member is None or member[0] != "active":
            raise NotFound(member_id)
        async with tx.execute(
            "INSERT INTO organisation_members (organisation_id, member_id, added_by, added_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING member_id",
            (organisation_id, member_id, by, to_db(now)),
        ) as cursor:
            added = await cursor.fetchone() is not None
        if added:
            await audit.record(
                tx,
                actor_id=by,
                action="organisation_member_added",
                subject=subject(organisation_id),
                now=now,
                detail={"member": member_id},
            )
            notice = Notice(member_id, OutboxKind.ORGANISATION_MEMBER_ADDED, organisation_id)
            await enqueue(tx, notice, now)
    return added


async def remove_member(
    db: Database, *, organisation_id: int, member_id: int, by: int, now: datetime
) -> bool:
    """A coordinator takes a member off an organisation, and they are told; False if they
    weren't on it."""
    async with db.transaction() as tx:
        await require_coordinator(tx, by)
        removed = (
            await tx.execute(
                "DELETE FROM organisation_members WHERE organisation_id = ? AND member_id = ?",
                (organisation_id, member_id),
            )
        ).rowcount > 0
        if removed:
            await audit.record(
                tx,
                actor_id=by,
                action="organisation_member_removed",
                subject=subject(organisation_id),
                now=now,
                detail={"member": member_id},
            )
            notice = Notice(member_id, OutboxKind.ORGANISATION_MEMBER_REMOVED, organisation_id)
            await enqueue(tx, notice, now)
    return removed


# One of the organisation's members, or a coordinator (who runs every organisation's affairs
# when its people can't; with no organisation, only a coordinator).
_ACTS_FOR = (
    "SELECT EXISTS (SELECT 1 FROM organisation_members"
    "  WHERE organisation_id = ? AND member_id = ?)"
    " OR EXISTS (SELECT 1 FROM members"
    "  WHERE id = ? AND role = 'coordinator' AND status = 'active')"
)


async def acts_for(tx: Tx, member_id: int, organisation_id: int) -> bool:
    """Whether the member may act for the organisation now, inside the act's transaction."""
    row = await tx.one(_ACTS_FOR, organisation_id, member_id, member_id)
    return bool(row and row[0])


async def may_act_for(db: Database, member_id: int, organisation_id: int | None) -> bool:
    """The same, read outside any act, to choose which buttons to show (each act checks again
    in its own transaction); for the timebank's own affairs (None): whether a coordinator."""
    return bool(await db.scalar(_ACTS_FOR, (organisation_id, member_id, member_id)))


async def require_acts_for(tx: Tx, member_id: int, organisation_id: int) -> Organisation:
    """The organisation, if it is active and the member may act for it; NotFound or
    NotForOrganisation otherwise. Call it inside the transaction that does the act."""
    organisation = await _require_active(tx, organisation_id)
    if not await acts_for(tx, member_id, organisation_id):
        raise NotForOrganisation(organisation_id)
    return organisation


async def account_id(tx: Tx, organisation_id: int) -> int:
    row = await tx.one("SELECT id FROM accounts WHERE organisation_id = ?", organisation_id)
    if row is None:
        raise NotFound(organisation_id)
    return int(row[0])


async def balance_in(tx: Tx, organisation_id: int) -> int:
    """The organisation's balance in minutes, inside the caller's transaction."""
    row = await tx.one(
        "SELECT COALESCE(SUM(e.minutes), 0) FROM ledger_entries e"
        " JOIN accounts a ON a.id = e.account_id WHERE a.organisation_id = ?",
        organisation_id,
    )
    return int(row[0]) if row else 0


async def get_in(tx: Tx, organisation_id: int) -> Organisation:
    """The organisation, read inside the caller's transaction; NotFound if there is none."""
    row = await tx.one("SELECT * FROM organisations WHERE id = ?", organisation_id)
    if row is None:
        raise NotFound(organisation_id)
    return Organisation.from_row(row)


async def get(db: Database, organisation_id: int) -> Organisation | None:
    row = await db.one("SELECT * FROM organisations WHERE id = ?", (organisation_id,))
    return Organisation.from_row(row) if row else None


async def active(db: Database) -> list[Organisation]:
    rows = await db.all(
        "SELECT * FROM organisations WHERE status = 'active' ORDER BY name COLLATE NOCASE"
    )
    return [Organisation.from_row(row) for row in rows]


async def with_balances(
    db: Database, *, member_id: int | None = None
) -> list[tuple[Organisation, int]]:
    """Active organisations by name, each with its balance in minutes: every one (for
    coordinators), or those `member_id` acts for. One query, however many there are."""
    mine = (
        " AND o.id IN (SELECT organisation_id FROM organisation_members WHERE member_id = :me)"
        if member_id is not None
        else ""
    )
    rows = await db.all(
        "SELECT o.*, (SELECT COALESCE(SUM(e.minutes), 0) FROM ledger_entries e"
        "  JOIN accounts a ON a.id = e.account_id WHERE a.organisation_id = o.id) AS balance"
        f" FROM organisations o WHERE o.status = 'active'{mine} ORDER BY o.name COLLATE NOCASE",
        {"me": member_id},
    )
    return [(Organisation.from_row(row), int(row["balance"])) for row in rows]


async def of_member(db: Database, member_id: int) -> list[Organisation]:
    """The active organisations a member acts for (as one of its members, not as a
    coordinator), by name: what the 'for whom?' questions offer."""
    rows = await db.all(
        "SELECT o.* FROM organisations o JOIN organisation_members m"
        " ON m.organisation_id = o.id WHERE m.member_id = ? AND o.status = 'active'"
        " ORDER BY o.name COLLATE NOCASE",
        (member_id,),
    )
    return [Organisation.from_row(row) for row in rows]


async def acted_for(db: Database, exchange: Exchange, member_id: int) -> Organisation | None:
    """The organisation this party of the exchange acts for (its hours are the
    organisation's, not the member's), or None when they act for themselves."""
    if exchange.organisation_id is None or not exchange.for_organisation(member_id):
        return None
    return await get(db, exchange.organisation_id)


async def balance(db: Database, organisation_id: int) -> int:
    """The organisation's balance in minutes."""
    return int(
        await db.scalar(
            "SELECT COALESCE(SUM(e.minutes), 0) FROM ledger_entries e"
            " JOIN accounts a ON a.id = e.account_id WHERE a.organisation_id = ?",
            (organisation_id,),
        )
    )


async def standing(db: Database, organisation_id: int) -> Standing | None:
    """The organisation, its balance and its members, read together."""
    organisation = await get(db, organisation_id)
    if organisation is None:
        return None
    total = await balance(db, organisation_id)
    members = await db.all(
        "SELECT member_id FROM organisation_members WHERE organisation_id = ?"
        " ORDER BY added_at, member_id",
        (organisation_id,),
    )
    return Standing(organisation, int(total), tuple(row[0] for row in members))


async def _require_active(tx: Tx, organisation_id: int) -> Organisation:
    organisation = await get_in(tx, organisation_id)
    if organisation.status != "active":
        raise WrongState(organisation_id)
    return organisation
