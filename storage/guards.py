"""Who may meet whom. A block keeps two members apart both ways (neither sees the other's
posts nor can answer them), and a paused member can't post or answer posts.

Every place that introduces people asks here: a change inside its own transaction, a list in
its SQL (`apart`). So the rule lives in one module, and no list or tap can get round it.
"""

from __future__ import annotations

from storage.db import Database, Tx
from storage.errors import Paused, Unavailable

_PAIR = (
    "SELECT 1 FROM blocks WHERE (blocker_id = ? AND blocked_id = ?)"
    " OR (blocker_id = ? AND blocked_id = ?) LIMIT 1"
)


def apart(viewer: str, other: str) -> str:
    """SQL, true when `other` (a column) is nobody `viewer` blocked or was blocked by.

    `viewer` is an SQL expression that doesn't depend on the row (a named parameter, or a
    subquery), so SQLite works the list out once per statement, down the two indexes of
    `blocks`; a positional `?` would have to be bound twice."""
    return (
        f"{other} NOT IN (SELECT blocked_id FROM blocks WHERE blocker_id = {viewer}"
        f" UNION ALL SELECT blocker_id FROM blocks WHERE blocked_id = {viewer})"
    )


async def are_apart(db: Database, one: int, other: int) -> bool:
    """Whether a block stands between the two, either way (for what is read, not changed)."""
    return await db.one(_PAIR, (one, other, other, one)) is not None


async def require_unpaused(tx: Tx, member_id: int) -> None:
    row = await tx.one("SELECT paused_at FROM members WHERE id = ?", member_id)
    if row is not None and row[0] is not None:
        raise Paused(member_id)


async def require_can_meet(tx: Tx, member_id: int, other_id: int) -> None:
    """The member may be introduced to the other: no block either way, and the other isn't
    paused. Refused as Unavailable, which doesn't say which it was."""
    if await tx.one(_PAIR, member_id, other_id, other_id, member_id) is not None:
        raise Unavailable(other_id)
    row = await tx.one("SELECT paused_at FROM members WHERE id = ?", other_id)
    if row is not None and row[0] is not None:
        raise Unavailable(other_id)
