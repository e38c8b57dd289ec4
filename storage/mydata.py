"""/mydata: everything the timebank stores about a member, as they may ask to see it.

The rows come from the privacy registry (storage.privacy): each rule says which of its
table's rows are the member's, so a new table's rule brings its rows here too. A small
summary, for the chat, comes with them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from storage.db import Database, Row
from storage.privacy import RULES, params_for, require_member

# Hours count for the side of the exchange the member was on, corrections included; hours
# with no exchange (visits, activities, spending with partners) count by their sign.
_SIDE_MINUTES = (
    "SELECT COALESCE(SUM(e.minutes), 0) FROM ledger_entries e"
    " JOIN ledger_transactions t ON t.id = e.transaction_id"
    " LEFT JOIN exchanges x ON x.id = t.exchange_id"
    " WHERE e.account_id = (SELECT id FROM accounts WHERE member_id = :me)"
    " AND (x.{side} = :me OR (x.id IS NULL AND e.minutes {sign} 0))"
)
_SUMMARY = (
    "SELECT (SELECT COUNT(*) FROM listings WHERE owner_id = :me) AS listings,"
    " (SELECT COUNT(*) FROM exchanges WHERE giver_id = :me OR receiver_id = :me) AS exchanges,"
    f" ({_SIDE_MINUTES.format(side='giver_id', sign='>')}) AS given_minutes,"
    f" -({_SIDE_MINUTES.format(side='receiver_id', sign='<')}) AS received_minutes,"
    " (SELECT COALESCE(SUM(minutes), 0) FROM ledger_entries"
    "  WHERE account_id = (SELECT id FROM accounts WHERE member_id = :me)) AS balance_minutes"
)


@dataclass(frozen=True, slots=True)
class DataSummary:
    """What /mydata holds, in a few numbers for the chat."""

    listings: int  # posts, open or closed
    exchanges: int  # in any state, either side
    given_minutes: int
    received_minutes: int
    balance_minutes: int


async def summary(db: Database, member_id: int) -> DataSummary:
    row = await db.one(_SUMMARY, {"me": member_id})
    assert row is not None
    return DataSummary(**_plain(row))


async def member_data(db: Database, member_id: int) -> dict[str, Any]:
    """Everything stored about the member, JSON-serialisable: the summary, then each table's
    rows by table name (their profile and settings are their `members` row). Read in one
    transaction, so the summary agrees with the rows. NotFound if there is no such member."""
    params = params_for(member_id)
    async with db.transaction() as tx:
        await require_member(tx, member_id)
        (found,) = await tx.execute_fetchall(_SUMMARY, params)
        data: dict[str, Any] = {
            "member_id": member_id,
            "summary": asdict(DataSummary(**_plain(found))),
        }
        for rule in RULES:
            if rule.mydata is not None:
                rows = await tx.execute_fetchall(rule.mydata, params)
                data[rule.table] = [_plain(row, rule.json_columns) for row in rows]
    return data


def _plain(row: Row, json_columns: tuple[str, ...] = ()) -> dict[str, Any]:
    columns = row.keys()  # a Row iterates over its values, not its keys
    return {key: json.loads(row[key]) if key in json_columns else row[key] for key in columns}
