"""Property test: any sequence of exchanges, proposals and confirmations keeps the ledger whole.

Hypothesis drives storage directly (no Telegram) with random members, minutes and repeated
taps; after every step the entries sum to zero and each balance equals its own entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import exchanges, ledger, listings, members
from storage.db import Database
from storage.errors import DomainError

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MEMBERS = 4
LIMIT = 300

step = st.one_of(
    st.tuples(st.just("agree"), st.integers(0, MEMBERS - 1), st.integers(0, MEMBERS - 1)),
    st.tuples(
        st.just("propose"), st.integers(0, 9), st.integers(0, MEMBERS - 1), st.integers(-1, 50)
    ),
    st.tuples(
        st.just("confirm"), st.integers(0, 9), st.integers(0, MEMBERS - 1), st.integers(-1, 50)
    ),
    st.tuples(st.just("cancel"), st.integers(0, 9), st.integers(0, MEMBERS - 1)),
    st.tuples(st.just("approve"), st.integers(0, 9)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=40))
def test_ledger_sums_to_zero_and_balances_match_entries(steps: list[tuple[object, ...]]) -> None:
    asyncio.run(_play(steps))


async def _play(steps: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "prop.sqlite3")
        try:
            ids = [await _member(db, n) for n in range(MEMBERS)]
            made: list[int] = []
            for action, *args in steps:
                with contextlib.suppress(DomainError):
                    await _do(db, ids, made, str(action), [int(str(a)) for a in args])
                await _check(db, ids)
        finally:
            await db.close()


async def _do(db: Database, ids: list[int], made: list[int], action: str, args: list[int]) -> None:
    pick = made[args[0] % len(made)] if made and action != "agree" else None
    if action == "agree":
        owner, helper = ids[args[0]], ids[args[1]]
        listing = await listings.create(
            db, owner_id=owner, kind="need", category="Other", body="x", when_where=None, now=NOW
        )
        response = await exchanges.respond(db, listing_id=listing.id, member_id=helper, now=NOW)
        made.append(
            (await exchanges.accept(db, response_id=response.id, member_id=owner, now=NOW)).id
        )
    elif pick is None:
        return
    elif action == "propose":
        minutes = args[2] * 15
        await exchanges.propose(
            db, exchange_id=pick, member_id=ids[args[1]], minutes=minutes, now=NOW
        )
    elif action == "confirm":
        await exchanges.confirm(
            db,
            exchange_id=pick,
            member_id=ids[args[1]],
            minutes=args[2] * 15,
            overdraft_limit=LIMIT,
            now=NOW,
        )
    elif action == "cancel":
        await exchanges.cancel(db, exchange_id=pick, member_id=ids[args[1]], now=NOW)
    elif action == "approve":
        await exchanges.approve_held(db, exchange_id=pick, coordinator_id=ids[0], now=NOW)


async def _check(db: Database, ids: list[int]) -> None:
    assert await ledger.total(db) == 0
    unbalanced = await db.all(
        "SELECT transaction_id FROM ledger_entries GROUP BY transaction_id HAVING SUM(minutes) != 0"
    )
    assert unbalanced == []
    credited = await db.scalar(
        "SELECT COUNT(*) FROM exchanges e WHERE state = 'confirmed'"
        " AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.exchange_id = e.id)"
    )
    assert credited == 0, "a confirmed exchange without its credit"
    twice = await db.scalar(
        "SELECT COUNT(*) FROM (SELECT exchange_id FROM ledger_transactions"
        " GROUP BY exchange_id HAVING COUNT(*) > 1)"
    )
    assert twice == 0, "an exchange credited twice"
    for member_id in ids:
        balance = await ledger.balance(db, member_id)
        earned = await db.scalar(
            "SELECT COALESCE(SUM(CASE WHEN giver_id = :m THEN proposed_minutes"
            " ELSE -proposed_minutes END), 0) FROM exchanges"
            " WHERE state = 'confirmed' AND :m IN (giver_id, receiver_id)",
            {"m": member_id},
        )
        assert balance == earned, "the balance differs from the hours of confirmed exchanges"
        assert balance >= -LIMIT or await _approved_past_limit(db, member_id)


async def _approved_past_limit(db: Database, member_id: int) -> bool:
    """Only a coordinator's approval may take someone past the limit."""
    return bool(
        await db.scalar(
            "SELECT COUNT(*) FROM ledger_transactions t JOIN exchanges e ON e.id = t.exchange_id"
            " WHERE e.receiver_id = ? AND t.recorded_by IS NOT NULL",
            (member_id,),
        )
    )


async def _member(db: Database, n: int) -> int:
    member = await members.join(
        db,
        telegram_id=1000 + n,
        display_name=f"M{n}",
        username=None,
        neighbourhood=None,
        join_source=None,
        coordinator=n == 0,
        approved=True,
        now=NOW,
    )
    return member.id
