"""Retention: what is no longer in use is kept for a while, then deleted.

- Closed posts (with the answers to them), some months after they were closed: their words
  often hold addresses and health details. Exchanges that came from them stay, detached, as
  /forget leaves them; a post with an exchange still under way waits for it.
- Outbox rows that are finished (sent, failed, skipped, blocked), some months after they were
  due: the message went, or never will.
- Audit rows, some months after they were written.
- A visited patient's address and contact, some days after their last visit (or after their
  referral was closed or withdrawn with no visit): the visitor needs them no more.
The ledger and exchanges are never purged: they are the books.

Deleting runs in small transactions, so members' own writes never wait long behind it.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import listings
from storage.db import Database, Tx
from storage.kinds import OPEN_STATES, OutboxKind, OutboxState
from storage.models import to_db

BATCH = 500

_FINISHED = (OutboxState.SENT, OutboxState.FAILED, OutboxState.SKIPPED, OutboxState.BLOCKED)
# roles.queue_waiting_cases reads these rows to know that a case waiting for a coordinator
# reached one; they stay while the case waits, or a restart would tell every coordinator again.
_CASE_KINDS = (
    OutboxKind.EXCHANGE_DISPUTED,
    OutboxKind.EXCHANGE_HELD,
    OutboxKind.COORDINATOR_CONFIRM_STUCK,
)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each kind of row is kept once it is no longer in use."""

    closed_listings_months: int = 12
    finished_outbox_months: int = 3
    audit_months: int = 24
    address_kept: timedelta = timedelta(days=30)  # after a patient's last visit


DEFAULT_RETENTION = Retention()


@dataclass(frozen=True, slots=True)
class Purged:
    listings: int
    outbox: int
    audit: int
    addresses: int = 0


async def purge_expired(db: Database, now: datetime, policy: Retention) -> Purged:
    """Delete every row kept past its time; how many of each went."""
    gone_listings = await _in_batches(
        db, _closed_listings, months_before(now, policy.closed_listings_months)
    )
    if gone_listings:
        async with db.transaction() as tx:
            await listings.compact_search(tx)
    return Purged(
        listings=gone_listings,
        outbox=await _in_batches(
            db, _finished_outbox, months_before(now, policy.finished_outbox_months)
        ),
        audit=await _in_batches(db, _old_audit, months_before(now, policy.audit_months)),
        addresses=await _in_batches(
            db,
            lambda tx, cutoff: _addresses_done_with(tx, cutoff, to_db(now)),
            now - policy.address_kept,
        ),
    )


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the 31st → the 30th…)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


async def _in_batches(
    db: Database, step: Callable[[Tx, str], Awaitable[int]], cutoff: datetime
) -> int:
    """Run `step` (which deletes up to BATCH rows older than the cutoff) in one transaction
    after another, until a batch comes back short."""
    total = 0
    while True:
        async with db.transaction() as tx:
            deleted = await step(tx, to_db(cutoff))
        total += deleted
        if deleted < BATCH:
            return total


async def _closed_listings(tx: Tx, cutoff: str) -> int:
    marks = ", ".join("?" * len(OPEN_STATES))
    rows = await tx.execute_fetchall(
        "SELECT id FROM listings l WHERE status = 'closed' AND updated_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM exchanges x WHERE x.listing_id = l.id"
        f"  AND x.state IN ({marks}))"
        " ORDER BY updated_at LIMIT ?",
        (cutoff, *OPEN_STATES, BATCH),
    )
    if not rows:
        return 0
    chosen = {"ids": json.dumps([row[0] for row in rows])}
    return await listings.delete(tx, "SELECT value FROM json_each(:ids)", chosen)


async def _finished_outbox(tx: Tx, cutoff: str) -> int:
    finished = ", ".join(f"'{state}'" for state in _FINISHED)
    cases = ", ".join(f"'{kind}'" for kind in _CASE_KINDS)
    cursor = await tx.execute(
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
        f" WHERE state IN ({finished}) AND due_at < :cutoff"
        f" AND NOT (kind IN ({cases}) AND ref_id IN"
        "  (SELECT id FROM exchanges WHERE state IN ('disputed', 'held', 'proposed')))"
        " LIMIT :batch)",
        {"cutoff": cutoff, "batch": BATCH},
    )
    return int(cursor.rowcount)


async def _old_audit(tx: Tx, cutoff: str) -> int:
    cursor = await tx.execute(
        "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE created_at < ?"
        " ORDER BY id LIMIT ?)",
        (cutoff, BATCH),
    )
    return int(cursor.rowcount)


# When a referral's address was last needed: its last visit reported, or, for one closed or
# withdrawn with none reported, when that happened. A visit still planned (a follow-up, or a
# first visit with no time yet) needs it still, unless its day is long past.
_LAST_NEEDED = (
    "COALESCE((SELECT MAX(v.reported_at) FROM visits v WHERE v.referral_id = r.id),"
    " CASE WHEN r.state IN ('closed', 'withdrawn') THEN r.updated_at END)"
)


async def _addresses_done_with(tx: Tx, cutoff: str, now: str) -> int:
    """Delete the address and contact of referrals whose last visit is `address_kept` ago."""
    cursor = await tx.execute(
        "UPDATE referrals SET address = NULL, contact = NULL, address_deleted_at = :now"
        " WHERE id IN (SELECT r.id FROM referrals r WHERE r.address_deleted_at IS NULL"
        "  AND r.state IN ('visited', 'closed', 'withdrawn')"
        f"  AND {_LAST_NEEDED} < :cutoff"
        "  AND NOT EXISTS (SELECT 1 FROM visits p WHERE p.referral_id = r.id"
        "   AND p.state = 'planned' AND COALESCE(p.scheduled_at, p.due_on, '9999') >= :cutoff)"
        "  LIMIT :batch)",
        {"now": now, "cutoff": cutoff, "batch": BATCH},
    )
    return int(cursor.rowcount)
