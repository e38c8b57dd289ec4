"""The double-entry ledger: every transaction's entries sum to zero; a balance is a sum.

Nothing here is ever updated or deleted: a correction is a new transaction. (When a member
leaves, their account passes whole to the former member; its entries stay as they were.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, Tx
from storage.kinds import LedgerKind
from storage.models import to_db

COMMUNITY_ACCOUNT = 1


class UnbalancedTransaction(ValueError):
    """A programming error: entries must sum to zero."""


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    balance: int


async def accounts(tx: Tx, *member_ids: int) -> dict[int, Account]:
    """The members' accounts and balances, in one query (a confirm needs both parties').

    The former member holds the account of everyone who left: new entries go to the first,
    and the balance is of them all."""
    marks = ",".join("?" * len(member_ids))
    rows = await tx.execute_fetchall(
        "SELECT a.member_id, MIN(a.id), COALESCE(SUM(e.minutes), 0) FROM accounts a"
        " LEFT JOIN ledger_entries e ON e.account_id = a.id"
        f" WHERE a.member_id IN ({marks}) GROUP BY a.member_id",
        member_ids,
    )
    found = {row[0]: Account(row[1], row[2]) for row in rows}
    if len(found) != len(set(member_ids)):
        raise LookupError(f"members {member_ids} lack accounts")
    return found


async def balance_in(tx: Tx, member_id: int) -> int:
    """A member's balance in minutes, read inside the caller's transaction."""
    rows = list(
        await tx.execute_fetchall(
            "SELECT COALESCE(SUM(e.minutes), 0) FROM ledger_entries e"
            " JOIN accounts a ON a.id = e.account_id WHERE a.member_id = ?",
            (member_id,),
        )
    )
    return int(rows[0][0])


async def balance(db: Database, member_id: int) -> int:
    return int(
        await db.scalar(
            "SELECT COALESCE(SUM(e.minutes), 0) FROM ledger_entries e"
            " JOIN accounts a ON a.id = e.account_id WHERE a.member_id = ?",
            (member_id,),
        )
    )


async def total(db: Database) -> int:
    """The sum over every entry: zero, always, or the ledger is broken."""
    return int(await db.scalar("SELECT COALESCE(SUM(minutes), 0) FROM ledger_entries"))


async def post(
    tx: Tx,
    *,
    kind: LedgerKind,
    idempotency_key: str,
    entries: Sequence[tuple[int, int]],
    now: datetime,
    exchange_id: int | None = None,
    visit_id: int | None = None,
    activity_id: int | None = None,
    spend_id: int | None = None,
    recorded_by: int | None = None,
    note: str | None = None,
) -> bool:
    """Write one balanced transaction of (account, minutes) entries inside the caller's
    transaction. Returns False, writing nothing, when the idempotency key was already used."""
    if sum(minutes for _, minutes in entries) != 0 or len(entries) < 2:
        raise UnbalancedTransaction(entries)
    async with tx.execute(
        "INSERT INTO ledger_transactions (kind, exchange_id, visit_id, activity_id, spend_id,"
        " idempotency_key, recorded_by, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        (
            kind,
            exchange_id,
            visit_id,
            activity_id,
            spend_id,
            idempotency_key,
            recorded_by,
            note,
            to_db(now),
        ),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return False
    await tx.executemany(
        "INSERT INTO ledger_entries (transaction_id, account_id, minutes) VALUES (?, ?, ?)",
        [(row[0], account, minutes) for account, minutes in entries],
    )
    return True
