"""The one sender: survives restarts and crashes, honours 429 and 403, retries the network,
and keeps within Telegram's pacing."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import SCHEDULER_KEY, build_application, running
from bot.clock import FakeClock
from bot.outbound.delivery import Action, Policy, decide, in_window, next_digest
from bot.outbound.pacing import Pacer
from bot.outbound.scheduler import JOB_ID, tick
from bot.outbound.sender import MAX_ATTEMPTS
from bot.sandbox.standin import NETWORK_DOWN, TOO_MANY, ChatMember, StandInBotAPI
from bot.services import services_of
from storage import outbox
from storage.outbox import OutboxItem
from tests.conftest import join, make_config
from tests.test_exchanges import agree
from tests.test_nudges import count, set_time

LONDON = ZoneInfo("Europe/London")


async def agreed(app, api) -> tuple[ChatMember, ChatMember]:
    """Alice and Bob join and agree some help, on a fresh app."""
    alice, bob = ChatMember(app, api, 101, "Alice"), ChatMember(app, api, 102, "Bob")
    await join(alice)
    await join(bob)
    await agree(alice, bob, services_of(app))
    return alice, bob


async def test_reminders_survive_a_restart_and_are_delivered_once(tmp_path, api, clock):
    config = make_config(tmp_path)
    first = build_application(config, request=api, clock=clock, background=False)
    async with running(first):
        alice, bob = await agreed(first, api)
        await set_time(bob, "Thu 26 Nov", "14:00")
    second = build_application(config, request=api, clock=clock, background=False)
    async with running(second):
        clock.set(datetime(2026, 11, 26, 13, 30, tzinfo=UTC))
        await tick(services_of(second))
        await tick(services_of(second))
    for person in (alice, bob):
        assert count(person, "Reminder: your help with") == 1
        assert count(person, "In about an hour") == 1
        assert count(person, "Did your help") == 1


async def test_a_crash_between_claim_and_send_loses_nothing(tmp_path, api, clock):
    config = make_config(tmp_path)
    first = build_application(config, request=api, clock=clock, background=False)
    async with running(first):
        alice, bob = await agreed(first, api)
        clock.advance(timedelta(days=3))
        claimed = await outbox.claim_due(services_of(first).db, clock.now(), 100)
        assert "nudge_unconfirmed" in {item.kind for item in claimed}
        # The process dies here: claimed rows are 'sending' and nothing was sent.
    second = build_application(config, request=api, clock=clock, background=False)
    async with running(second):
        await tick(services_of(second))
    assert count(alice, "Did your help") == 1
    assert count(bob, "Did your help") == 1


async def test_overdue_rows_are_caught_up_at_start_unless_expired(tmp_path, api, clock):
    config = make_config(tmp_path)
    first = build_application(config, request=api, clock=clock, background=False)
    async with running(first):
        alice, bob = await agreed(first, api)
        await set_time(bob, "Thu 26 Nov", "14:00")
    clock.set(datetime(2026, 11, 26, 13, 30, tzinfo=UTC))  # the bot was down for two days
    second = build_application(config, request=api, clock=clock, background=False)
    async with running(second):
        await tick(services_of(second))
    assert count(alice, "Did your help") == 1, "overdue: caught up"
    assert count(alice, "Reminder: your help") == 1, "due yesterday, still before the time"
    clock.set(datetime(2026, 11, 26, 15, 0, tzinfo=UTC))
    assert count(alice, "In about an hour") == 1


async def test_reminders_expire_once_their_time_has_passed(alice, bob, svc, clock):
    await agree(alice, bob, svc)
    await set_time(bob, "Thu 26 Nov", "14:00")
    clock.set(datetime(2026, 11, 26, 14, 1, tzinfo=UTC))
    await tick(svc)
    assert count(alice, "Reminder") == 0
    assert count(alice, "In about an hour") == 0


async def test_429_retry_after_is_honoured(alice, bob, svc, clock, api):
    await alice.says("/need a lift to the clinic")
    api.fail_next("sendMessage", TOO_MANY, chat_id=alice.user_id)
    await bob.says("/search clinic")
    await bob.taps("1. a lift")
    await bob.taps("I can help")
    assert count(alice, "Bob can help") == 0
    clock.advance(timedelta(seconds=2))
    await tick(svc)
    assert count(alice, "Bob can help") == 0, "Telegram asked for 3 seconds"
    clock.advance(timedelta(seconds=1))
    await tick(svc)
    assert count(alice, "Bob can help") == 1


async def test_a_flaky_network_is_retried_with_backoff(alice, bob, svc, clock, api):
    await alice.says("/need a lift to the clinic")
    for _ in range(3):
        api.fail_next("sendMessage", NETWORK_DOWN, chat_id=alice.user_id)
    await bob.says("/search clinic")
    await bob.taps("1. a lift")
    await bob.taps("I can help")
    for _ in range(4):
        clock.advance(timedelta(seconds=5))
        await tick(svc)
    assert count(alice, "Bob can help") == 1


async def test_a_network_that_never_comes_back_gives_up(alice, bob, svc, clock, api):
    await alice.says("/need a lift to the clinic")
    for _ in range(MAX_ATTEMPTS + 2):
        api.fail_next("sendMessage", NETWORK_DOWN, chat_id=alice.user_id)
    await bob.says("/search clinic")
    await bob.taps("1. a lift")
    await bob.taps("I can help")
    for _ in range(MAX_ATTEMPTS + 2):
        clock.advance(timedelta(minutes=10))
        await tick(svc)
    states = await svc.db.all("SELECT state, attempts FROM outbox WHERE kind = 'response_new'")
    assert [(row[0], row[1]) for row in states] == [("failed", MAX_ATTEMPTS - 1)]
    assert count(alice, "Bob can help") == 0


async def test_messages_to_one_chat_are_a_second_apart(alice, bob, person, svc, api, clock):
    for number in range(3):
        helper = await person(f"Helper{number}", 300 + number)
        await alice.says(f"/need job {number}")
        await helper.says(f"/search job {number}")
        await helper.presses(f"ls:respond:{number + 1}")
    sent = [c for c in api.sent() if c.params["chat_id"] == alice.user_id]
    assert len(sent) >= 3


async def test_pacer_keeps_thirty_a_second_and_one_a_second_per_chat():
    clock = FakeClock()
    pacer = Pacer(clock)
    start = clock.now()
    for chat in range(31):
        await pacer.wait(chat)
    assert clock.now() - start == timedelta(seconds=1), "the 31st waits for the window"
    await pacer.wait(5)
    assert clock.now() - start == timedelta(seconds=1), "chat 5 last heard at 0 s"
    await pacer.wait(30)
    assert clock.now() - start == timedelta(seconds=2), "chat 30 last heard at 1 s"
    pacer.pause(10)
    await pacer.wait(999)
    assert clock.now() - start == timedelta(seconds=12)


def test_quiet_window_across_midnight():
    window = (datetime(2026, 1, 1, 21).time(), datetime(2026, 1, 1, 8).time())
    assert in_window(datetime(2026, 1, 1, 23, 30).time(), window)
    assert in_window(datetime(2026, 1, 1, 7, 59).time(), window)
    assert not in_window(datetime(2026, 1, 1, 8, 0).time(), window)
    assert not in_window(datetime(2026, 1, 1, 20, 59).time(), window)


def test_digest_stays_at_nine_local_across_the_clock_change():
    policy = Policy(LONDON, None, datetime(2026, 1, 1, 9).time())
    before_spring = datetime(2027, 3, 27, 10, 0, tzinfo=UTC)  # Saturday, GMT
    slot = next_digest(before_spring, policy)
    assert slot.astimezone(LONDON).hour == 9
    assert slot.astimezone(UTC) == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)  # BST


@pytest.mark.parametrize(
    ("kind", "enabled", "expected"),
    [("nudge_unconfirmed", False, Action.SKIP), ("response_new", False, Action.SEND)],
)
def test_direct_notices_ignore_nudge_settings(kind, enabled, expected):
    item = OutboxItem(1, 1, 1, kind, None, {}, datetime(2026, 1, 1, tzinfo=UTC), 0, enabled)
    policy = Policy(LONDON, None, datetime(2026, 1, 1, 9).time())
    assert decide(item, datetime(2026, 1, 1, 12, tzinfo=UTC), policy).action is expected


async def test_the_scheduler_starts_and_stops_with_the_application(tmp_path):
    app = build_application(make_config(tmp_path), request=StandInBotAPI())
    async with running(app):
        scheduler = app.bot_data[SCHEDULER_KEY].scheduler
        assert scheduler.running
        assert scheduler.get_job(JOB_ID) is not None
    assert not scheduler.running


# --- the sender's own guarantees: leases, one row's error, long digests, its own task ------


async def test_a_row_stranded_while_running_is_sent_once_its_lease_runs_out(alice, bob, svc, clock):
    await agree(alice, bob, svc)
    clock.advance(timedelta(days=3))
    stranded = await outbox.claim_due(svc.db, clock.now(), 100)  # a pass that died mid-way
    assert stranded
    await tick(svc)
    assert count(alice, "Did your help") == 0, "still leased to the pass that died"
    clock.advance(outbox.LEASE + timedelta(seconds=1))
    await tick(svc)
    assert count(alice, "Did your help") == 1
    assert count(bob, "Did your help") == 1


async def test_an_error_on_one_row_touches_that_row_alone(alice, bob, person, svc, clock, caplog):
    carol = await person("Carol", 103)
    for member in (alice, carol):
        await member.says(f"/need help for {member.first_name}")
    original = svc.sender.renderer

    async def broken_for_alice(env, item):
        if item.member_id == 1:
            raise RuntimeError("a renderer bug")
        return await original(env, item)

    svc.sender.renderer = broken_for_alice
    await bob.says("/search help")
    await bob.taps("help for Alice")
    await bob.taps("I can help")
    await bob.taps("help for Carol")
    await bob.taps("I can help")
    await tick(svc)
    assert count(carol, "Bob can help") == 1
    assert count(alice, "Bob can help") == 0
    row = await svc.db.one(
        "SELECT state, attempts FROM outbox WHERE member_id = 1 AND kind = 'response_new'"
    )
    assert (row["state"], row["attempts"]) == ("pending", 1), "retried later, not lost"
    assert "a renderer bug" in caplog.text
    svc.sender.renderer = original
    clock.advance(timedelta(seconds=2))
    await tick(svc)
    assert count(alice, "Bob can help") == 1


async def test_a_long_daily_digest_comes_as_several_messages_and_loses_no_nudge(
    person, svc, clock, api
):
    owner = await person("Olive", 120)
    await owner.taps("My hours")
    await owner.taps("Settings")
    await owner.taps("One daily round-up")
    for number in range(40):  # forty matching needs: far more than one message holds
        asker = await person(f"Asker{number}", 400 + number)
        await asker.says(f"/need {'a long description of the garden work ' * 10}{number}")
    await owner.says("/offer garden work")
    for _ in range(3):
        clock.advance(timedelta(days=3))
        await tick(svc)
    digests = [m for m in owner.messages if m.text.startswith("📬")]
    assert len(digests) > 1
    assert all(len(m.text) <= 4096 for m in digests)
    sent = await svc.db.scalar(
        "SELECT COUNT(*) FROM outbox WHERE member_id = (SELECT id FROM members WHERE"
        " telegram_id = 120) AND kind = 'need_match' AND state = 'sent'"
    )
    buttons = sum(len(m.inline_buttons) for m in digests)
    assert sent == buttons > 0


async def test_the_sender_wakes_on_commit_and_sends_in_its_own_task(tmp_path, api, clock):
    config = make_config(tmp_path)
    app = build_application(config, request=api, clock=clock, background=False)
    async with running(app):
        svc = services_of(app)
        svc.sender.start()
        alice = ChatMember(app, api, 101, "Alice", settle=False)
        bob = ChatMember(app, api, 102, "Bob", settle=False)
        await join(alice)
        await join(bob)
        await alice.says("/need a lift to the clinic")
        await bob.says("/search clinic")
        await bob.taps("1. a lift")
        await bob.taps("I can help")
        for _ in range(100):
            if count(alice, "Bob can help"):
                break
            await asyncio.sleep(0.01)
        assert count(alice, "Bob can help") == 1
        await svc.sender.stop()


async def test_a_locked_database_is_waited_for(alice, bob, svc, monkeypatch):
    original = outbox.mark
    calls = {"n": 0}

    async def locked_twice(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise sqlite3.OperationalError("database is locked")
        return await original(*args, **kwargs)

    monkeypatch.setattr(outbox, "mark", locked_twice)
    monkeypatch.setattr("bot.outbound.sender.asyncio.sleep", _no_wait)
    await alice.says("/need a lift to the clinic")
    await bob.says("/search clinic")
    await bob.taps("1. a lift")
    await bob.taps("I can help")
    assert count(alice, "Bob can help") == 1
    state = await svc.db.scalar("SELECT state FROM outbox WHERE kind = 'response_new'")
    assert state == "sent"


async def _no_wait(seconds: float) -> None:
    return None
