"""Retention: closed posts, finished messages and old audit rows go once past their time, and
nothing else does; the daily job runs it, and config says how long."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import SCHEDULER_KEY, build_application, running
from bot.config import ConfigError, load_config, parse_config
from bot.outbound.scheduler import PURGE_EVERY, PURGE_JOB_ID, purge
from bot.sandbox.standin import StandInBotAPI
from bot.services import retention_from
from storage import audit, broadcasts, exchanges, listings, members
from storage.db import Database
from storage.models import to_db
from storage.retention import BATCH, Purged, Retention, months_before, purge_expired
from tests.conftest import make_config, post
from tests.test_exchanges import member_id

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LONG_AGO = months_before(NOW, 13)  # past every period but the audit log's
RECENTLY = months_before(NOW, 1)  # within every period


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "retention.sqlite3")
    try:
        yield database
    finally:
        await database.close()


async def person(db: Database, telegram_id: int, *, coordinator: bool = False) -> int:
    member = await members.join(
        db,
        telegram_id=telegram_id,
        display_name=f"M{telegram_id}",
        username=None,
        neighbourhood=None,
        join_source=None,
        coordinator=coordinator,
        approved=True,
        now=months_before(NOW, 30),
    )
    return member.id


async def need(db: Database, owner: int, body: str, at: datetime) -> int:
    listing = await listings.create(
        db, owner_id=owner, kind="need", category="Garden", body=body, when_where=None, now=at
    )
    return listing.id


async def close(db: Database, owner: int, listing_id: int, at: datetime) -> None:
    await listings.set_status(db, listing_id=listing_id, member_id=owner, status="closed", now=at)


async def agreed(db: Database, listing_id: int, owner: int, helper: int, at: datetime) -> int:
    response = await exchanges.respond(db, listing_id=listing_id, member_id=helper, now=at)
    return (await exchanges.accept(db, response_id=response.id, member_id=owner, now=at)).id


async def test_only_what_is_past_its_time_goes(db):
    cora = await person(db, 1, coordinator=True)
    ann, bob, dan = await person(db, 2), await person(db, 3), await person(db, 4)
    async with db.transaction() as tx:
        await audit.viewed(tx, cora, ann, "profile", months_before(NOW, 25))
        await audit.viewed(tx, cora, bob, "profile", months_before(NOW, 23))

    # A post closed long ago whose help happened: it goes, and the exchange stays, detached.
    old = await need(db, ann, "Dig my zanzibarquux bed", LONG_AGO)
    done = await agreed(db, old, ann, bob, LONG_AGO)
    await exchanges.propose(db, exchange_id=done, member_id=bob, minutes=60, now=LONG_AGO)
    await exchanges.confirm(
        db, exchange_id=done, member_id=ann, minutes=60, overdraft_limit=600, now=LONG_AGO
    )
    await close(db, ann, old, LONG_AGO)
    await broadcasts.start(
        db, by=cora, text="Help?", audience_text="all", listing_id=old, now=LONG_AGO
    )
    # Closed long ago, but help from it is still under way: it waits, and so do the messages
    # that told a coordinator of the dispute. Closed lately, or still open: it stays.
    waiting = await need(db, ann, "Carry the piano", LONG_AGO)
    await agreed(db, waiting, ann, bob, LONG_AGO)
    disputed = await agreed(db, waiting, ann, dan, LONG_AGO)
    await exchanges.dispute(db, exchange_id=disputed, member_id=ann, now=LONG_AGO)
    await close(db, ann, waiting, LONG_AGO)
    recent = await need(db, ann, "Fix the gate", RECENTLY)
    await close(db, ann, recent, RECENTLY)
    still_open = await need(db, bob, "Apples", LONG_AGO)
    async with db.transaction() as tx:  # everything due long ago went out, but the broadcast
        await tx.execute(
            "UPDATE outbox SET state = 'sent' WHERE due_at < ? AND kind <> 'broadcast'",
            (to_db(months_before(NOW, 3)),),
        )
    finished = await count(db, "outbox WHERE state = 'sent'")
    cases = await count(db, "outbox WHERE kind = 'exchange_disputed'")
    assert cases == 1

    purged = await purge_expired(db, NOW, Retention())

    assert purged == Purged(listings=1, outbox=finished - cases, audit=1)
    ids = {row[0] for row in await db.all("SELECT id FROM listings")}
    assert ids == {waiting, recent, still_open}
    row = await db.one("SELECT listing_id, response_id, state FROM exchanges WHERE id = ?", (done,))
    assert tuple(row) == (None, None, "confirmed")
    assert await count(db, f"responses WHERE listing_id = {old}") == 0
    assert await db.scalar("SELECT listing_id FROM broadcasts") is None
    assert not (await listings.search(db, words="zanzibarquux", offset=0)).items
    blocks = [row[0] for row in await db.all("SELECT block FROM listings_fts_data")]
    assert not [block for block in blocks if b"zanzibarquux" in bytes(block or b"")]
    assert await count(db, "outbox WHERE kind = 'exchange_disputed'") == cases
    assert await count(db, "outbox WHERE state = 'pending'") > 0  # the broadcast, still due
    subjects = await db.all("SELECT subject FROM audit_log WHERE action = 'viewed'")
    assert [row[0] for row in subjects] == [audit.member_subject(bob)]
    assert await purge_expired(db, NOW, Retention()) == Purged(0, 0, 0)


async def test_a_long_backlog_goes_in_batches(db):
    ann = await person(db, 2)
    stale = to_db(months_before(NOW, 6))
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO outbox (member_id, kind, state, due_at, created_at)"
            " VALUES (?, 'nudge_first_post', 'skipped', ?, ?)",
            [(ann, stale, stale)] * (2 * BATCH + 7),
        )
    purged = await purge_expired(db, NOW, Retention(finished_outbox_months=3))
    assert purged.outbox == 2 * BATCH + 7
    assert await count(db, "outbox") == 1  # the first-post nudge, never sent


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2026, 3, 31, 8, tzinfo=UTC), 1, datetime(2026, 2, 28, 8, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), 12, datetime(2025, 1, 15, tzinfo=UTC)),
        (datetime(2026, 2, 10, tzinfo=UTC), 3, datetime(2025, 11, 10, tzinfo=UTC)),
        (datetime(2028, 2, 29, tzinfo=UTC), 24, datetime(2026, 2, 28, tzinfo=UTC)),
    ],
)
def test_months_are_calendar_months(moment, months, expected):
    assert months_before(moment, months) == expected


async def count(db: Database, where: str) -> int:
    return int(await db.scalar(f"SELECT COUNT(*) FROM {where}"))


# --- the daily job and its config -----------------------------------------------------------


async def test_the_daily_job_purges_once_the_clock_has_moved_on(alice, svc, clock):
    await post(alice, "I need", "Garden", "weeding by the zanzibarquux")
    listing = (await listings.open_by_owner(svc.db, await member_id(svc, alice)))[0]
    await listings.set_status(
        svc.db, listing_id=listing.id, member_id=listing.owner_id, status="closed", now=clock.now()
    )
    assert (await purge(svc)).listings == 0
    clock.advance(timedelta(days=366))
    assert (await purge(svc)).listings == 1
    assert await listings.get(svc.db, listing.id) is None


async def test_the_purge_job_is_scheduled_daily(tmp_path):
    app = build_application(make_config(tmp_path), request=StandInBotAPI())
    async with running(app):
        job = app.bot_data[SCHEDULER_KEY].scheduler.get_job(PURGE_JOB_ID)
        assert job.trigger.interval == PURGE_EVERY == timedelta(days=1)


def test_privacy_config_has_defaults_and_refuses_less_than_a_month():
    assert retention_from(parse_config({})) == Retention(12, 3, 24)
    config = parse_config({"privacy": {"closed_listings_months": 6, "audit_months": 36}})
    assert retention_from(config) == Retention(6, 3, 36)
    with pytest.raises(
        ConfigError, match=r"privacy\.finished_outbox_months: .*greater than or equal to 1"
    ):
        parse_config({"privacy": {"finished_outbox_months": 0}})
    with pytest.raises(ConfigError, match=r"privacy\.keep_forever: unknown key"):
        parse_config({"privacy": {"keep_forever": True}})


def test_the_example_config_says_the_defaults():
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    assert retention_from(load_config(example)) == Retention()
