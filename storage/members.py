"""Members and their accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import audit, nudges, roles
from storage.db import Database, Tx
from storage.errors import WrongState
from storage.kinds import OutboxKind
from storage.models import Member, to_db
from storage.nudges import DEFAULT_TIMINGS, Timings
from storage.outbox import Notice, enqueue

MAX_NAME = 64  # a display name, as typed when joining or added by a coordinator


async def by_telegram_id(db: Database, telegram_id: int) -> Member | None:
    row = await db.one("SELECT * FROM members WHERE telegram_id = ?", (telegram_id,))
    return Member.from_row(row) if row else None


async def get(db: Database, member_id: int) -> Member | None:
    row = await db.one("SELECT * FROM members WHERE id = ?", (member_id,))
    return Member.from_row(row) if row else None


@dataclass(frozen=True, slots=True)
class Newcomer:
    """Someone who has agreed to the privacy note, as they will be stored."""

    telegram_id: int
    display_name: str
    username: str | None
    neighbourhood: str | None
    join_source: str | None
    coordinator: bool
    approved: bool
    language: str | None = None


async def join(
    db: Database,
    *,
    telegram_id: int,
    display_name: str,
    username: str | None,
    neighbourhood: str | None,
    join_source: str | None,
    coordinator: bool,
    approved: bool,
    now: datetime,
    language: str | None = None,
    timings: Timings = DEFAULT_TIMINGS,
) -> Member:
    """Record a member who has agreed to the privacy note, with their ledger account."""
    newcomer = Newcomer(
        telegram_id,
        display_name,
        username,
        neighbourhood,
        join_source,
        coordinator,
        approved,
        language,
    )
    async with db.transaction() as tx:
        return await add(tx, newcomer, now, timings)


async def add(tx: Tx, newcomer: Newcomer, now: datetime, timings: Timings) -> Member:
    """`join` inside a transaction of the caller's, for a flow that stores more with the member
    (a patient who joins by a ward's link, with their referral), all or nothing."""
    approved = newcomer.approved or newcomer.coordinator
    async with tx.execute(
        "INSERT INTO members (telegram_id, display_name, username, neighbourhood,"
        " join_source, status, role, consented_at, created_at, language)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (
            newcomer.telegram_id,
            newcomer.display_name,
            newcomer.username,
            newcomer.neighbourhood,
            newcomer.join_source,
            "active" if approved else "pending",
            "coordinator" if newcomer.coordinator else "member",
            to_db(now),
            to_db(now),
            newcomer.language,
        ),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    member = Member.from_row(row)
    await tx.execute("INSERT INTO accounts (member_id, kind) VALUES (?, 'member')", (member.id,))
    await nudges.on_join(tx, member.id, now, timings)
    if member.is_coordinator and member.status == "active":
        await roles.queue_waiting_cases(tx, member.id, now, timings)
    if member.status == "pending":
        for coordinator_id in await roles.coordinator_ids(tx):
            notice = Notice(coordinator_id, OutboxKind.MEMBER_APPLIED, member.id)
            await enqueue(tx, notice, now)
    return member


async def update_details(
    db: Database,
    member_id: int,
    *,
    display_name: str | None = None,
    neighbourhood: str | None = None,
) -> Member:
    """A member's own correction of their name or neighbourhood; returns them as now stored.
    Posts show the owner's current name, so nothing else needs changing."""
    async with db.transaction() as tx:
        if display_name is not None:
            await tx.execute(
                "UPDATE members SET display_name = ? WHERE id = ?", (display_name, member_id)
            )
        if neighbourhood is not None:
            await tx.execute(
                "UPDATE members SET neighbourhood = ? WHERE id = ?", (neighbourhood, member_id)
            )
    member = await get(db, member_id)
    assert member is not None
    return member


async def set_language(db: Database, member_id: int, language: str) -> None:
    async with db.transaction() as tx:
        await tx.execute("UPDATE members SET language = ? WHERE id = ?", (language, member_id))


async def update_settings(
    db: Database,
    member_id: int,
    *,
    nudges_enabled: bool | None = None,
    digest: bool | None = None,
    quiet_hours: str | None = None,
) -> Member:
    """Change only the settings given; returns the member as now stored."""
    changes = {
        "nudges_enabled": None if nudges_enabled is None else int(nudges_enabled),
        "nudge_digest": None if digest is None else int(digest),
        "quiet_hours": quiet_hours,
    }
    chosen = {column: value for column, value in changes.items() if value is not None}
    if chosen:
        sets = ", ".join(f"{column} = :{column}" for column in chosen)
        async with db.transaction() as tx:
            await tx.execute(
                f"UPDATE members SET {sets} WHERE id = :id", {**chosen, "id": member_id}
            )
    member = await get(db, member_id)
    assert member is not None
    return member


async def mark_unreachable(db: Database, member_id: int, now: datetime) -> None:
    """Telegram said 403: they blocked the bot, so we stop nudging until they write again."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE members SET unreachable_at = ? WHERE id = ? AND unreachable_at IS NULL",
            (to_db(now), member_id),
        )


async def mark_reachable(db: Database, member_id: int) -> None:
    async with db.transaction() as tx:
        await tx.execute("UPDATE members SET unreachable_at = NULL WHERE id = ?", (member_id,))


async def decide_application(
    db: Database, *, by: int, member_id: int, approve: bool, now: datetime
) -> Member:
    """A coordinator approves or declines someone waiting to join; they are told either way.
    Compare-and-set on 'pending', so two coordinators tapping at once decide it once."""
    status = "active" if approve else "declined"
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        async with tx.execute(
            "UPDATE members SET status = ? WHERE id = ? AND status = 'pending' RETURNING *",
            (status, member_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            raise WrongState(member_id)
        action = "approve_member" if approve else "decline_member"
        await audit.record(
            tx, actor_id=by, action=action, subject=audit.member_subject(member_id), now=now
        )
        await enqueue(tx, Notice(member_id, OutboxKind(f"member_{status}"), member_id), now)
    return Member.from_row(row)


async def find(
    db: Database, words: str, limit: int = 8, *, on_telegram: bool = False
) -> list[Member]:
    """Active members whose name contains `words`, for a coordinator picking someone (only
    those on Telegram, `on_telegram`, for a role only they can have)."""
    pattern = "%" + words.strip().replace("%", "").replace("_", "") + "%"
    telegram = " AND telegram_id IS NOT NULL" if on_telegram else ""
    rows = await db.all(
        f"SELECT * FROM members WHERE status = 'active' AND display_name LIKE ?{telegram}"
        " ORDER BY display_name LIMIT ?",
        (pattern, limit),
    )
    return [Member.from_row(row) for row in rows]


async def record_offline(db: Database, *, by: int, display_name: str, now: datetime) -> Member:
    """A member who doesn't use Telegram, added by a coordinator who took their consent in
    person, so their hours can be recorded by hand."""
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        async with tx.execute(
            "INSERT INTO members (display_name, status, consented_at, created_at, recorded_by)"
            " VALUES (?, 'active', ?, ?, ?) RETURNING *",
            (display_name, to_db(now), to_db(now), by),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        member = Member.from_row(row)
        await tx.execute(
            "INSERT INTO accounts (member_id, kind) VALUES (?, 'member')", (member.id,)
        )
        await audit.record(
            tx,
            actor_id=by,
            action="add_offline_member",
            subject=audit.member_subject(member.id),
            now=now,
        )
    return member
