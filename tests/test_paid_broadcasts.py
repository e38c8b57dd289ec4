"""`[broadcasts] allow_paid_broadcast`: a coordinator's broadcast goes as Telegram's paid
messages, paced at up to 1,000 a second instead of 30; everything else stays free and at 30.
Off by default."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from telegram.error import BadRequest

from bot.app import build_application, running
from bot.clock import FakeClock
from bot.config import parse_config
from bot.outbound.pacing import PAID_PER_SECOND, Pacer
from bot.outbound.scheduler import tick
from bot.outbound.sender import SCHEDULED_BATCH
from bot.sandbox.standin import NO_PAID_BROADCAST, ChatMember, StandInBotAPI
from bot.services import services_of
from tests.conftest import COORDINATOR_ID, join
from tests.test_coordinators import Crash, broadcast_copies, compose, make_members

RECIPIENTS = 120


def test_paid_broadcasts_are_off_unless_asked_for(config):
    assert config.broadcasts.allow_paid_broadcast is False


async def test_paid_messages_pass_the_free_limit_and_free_ones_keep_to_it():
    clock = FakeClock()
    pacer = Pacer(clock)
    start = clock.now()
    for chat in range(300):
        await pacer.wait(chat, paid=True)
    assert clock.now() == start, "300 paid messages in the same second"
    for chat in range(300, 331):
        await pacer.wait(chat)
    assert clock.now() - start == timedelta(seconds=1), "free ones still 30 a second"
    await pacer.wait(0, paid=True)
    assert clock.now() - start == timedelta(seconds=1), "chat 0 last heard a second ago"


async def test_paid_messages_keep_to_a_thousand_a_second_and_one_per_chat():
    clock = FakeClock()
    pacer = Pacer(clock)
    start = clock.now()
    for chat in range(PAID_PER_SECOND + 1):
        await pacer.wait(chat, paid=True)
    assert clock.now() - start == timedelta(seconds=1), "the 1,001st waits for the window"
    await pacer.wait(PAID_PER_SECOND, paid=True)
    assert clock.now() - start == timedelta(seconds=2), "one a second to one chat, paid or not"


def paid_config(tmp_path, paid: bool):
    return parse_config(
        {
            "bot": {"database": str(tmp_path / "timebank.sqlite3")},
            "timebank": {"neighbourhoods": ["Riverside"], "coordinators": [COORDINATOR_ID]},
            "broadcasts": {"allow_paid_broadcast": paid},
        }
    )


async def broadcast_sent(svc: Any, cora: ChatMember) -> list[int]:
    """Cora joins and sends a broadcast to RECIPIENTS new members; their Telegram ids."""
    await join(cora)
    recipients = await make_members(svc, RECIPIENTS)
    await compose(cora, "Stay warm", "Everyone")
    await cora.taps(f"Send to {RECIPIENTS} people")
    return recipients


@pytest.mark.parametrize("paid", [False, True])
async def test_a_broadcast_is_paced_by_the_switch(tmp_path, api, clock, paid):
    app = build_application(paid_config(tmp_path, paid), request=api, clock=clock, background=False)
    async with running(app):
        svc = services_of(app)
        cora = ChatMember(app, api, COORDINATOR_ID, "Cora")
        recipients = await broadcast_sent(svc, cora)
        sent_at = []

        async def timed(method, params):
            if params.get("text") == "📣 Stay warm":
                sent_at.append(clock.now())

        api.after_call = timed
        await tick(svc)
    took = (sent_at[-1] - sent_at[0]).total_seconds()
    assert all(broadcast_copies(api, telegram_id) == 1 for telegram_id in recipients)
    assert f"Delivered: {RECIPIENTS} of {RECIPIENTS}" in cora.last_text
    flagged = [call for call in api.calls if "allow_paid_broadcast" in call.params]
    assert not api.refusals
    if paid:
        assert took < 1, "120 paid messages within a second"
        assert len(flagged) == RECIPIENTS, "each broadcast message paid, and nothing else"
        assert {call.params["chat_id"] for call in flagged} == set(recipients)
        assert all(call.params["allow_paid_broadcast"] is True for call in flagged)
    else:
        assert took >= RECIPIENTS / 30 - 1, "30 a second"
        assert took < RECIPIENTS / 30 + 1
        assert flagged == []


async def test_the_stand_in_takes_the_paid_flag_only_where_telegram_has_it(alice, app, api):
    await app.bot.send_message(alice.user_id, "paid", allow_paid_broadcast=True)
    assert alice.last_text == "paid"
    paid = {"api_kwargs": {"allow_paid_broadcast": True}}
    with pytest.raises(BadRequest, match="no parameter allow_paid_broadcast"):
        await app.bot.edit_message_text("edited", alice.user_id, alice.last.message_id, **paid)
    assert api.refusals[-1][1] is NO_PAID_BROADCAST


class CountsInFlight(StandInBotAPI):
    """The stand-in, counting how many sendMessage calls are open at once."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.open = self.most = 0

    async def do_request(self, url, method, request_data=None, *args, **kwargs):
        sending = url.endswith("/sendMessage")
        self.open += sending
        self.most = max(self.most, self.open)
        try:
            return await super().do_request(url, method, request_data, *args, **kwargs)
        finally:
            self.open -= sending


@pytest.mark.parametrize(("paid", "at_once"), [(False, 1), (True, SCHEDULED_BATCH)])
async def test_a_paid_broadcast_has_a_batch_in_flight_and_a_free_one_one(
    tmp_path, clock, paid, at_once
):
    api = CountsInFlight(clock=lambda: int(clock.now().timestamp()), rtt=0.005)
    app = build_application(paid_config(tmp_path, paid), request=api, clock=clock, background=False)
    async with running(app):
        svc = services_of(app)
        cora = ChatMember(app, api, COORDINATOR_ID, "Cora")
        recipients = await broadcast_sent(svc, cora)
        await tick(svc)
    assert api.most == at_once
    assert all(broadcast_copies(api, telegram_id) == 1 for telegram_id in recipients)


async def test_a_paid_broadcast_killed_midway_resends_at_most_a_batch(tmp_path, api, clock):
    config = paid_config(tmp_path, True)
    first = build_application(config, request=api, clock=clock, background=False)
    async with running(first):
        svc = services_of(first)
        cora = ChatMember(first, api, COORDINATOR_ID, "Cora")
        recipients = await broadcast_sent(svc, cora)
        sent = 0

        async def die_midway(method, params):
            nonlocal sent
            sent += method == "sendMessage"
            if sent == RECIPIENTS // 2:
                raise Crash

        api.after_call = die_midway
        with pytest.raises(BaseExceptionGroup) as crashed:
            await tick(svc)
        assert crashed.group_contains(Crash)
        api.after_call = None
    second = build_application(config, request=api, clock=clock, background=False)
    async with running(second):
        await tick(services_of(second))
    copies = [broadcast_copies(api, telegram_id) for telegram_id in recipients]
    assert min(copies) == 1, "everyone got it"
    assert sum(copies) - len(recipients) <= SCHEDULED_BATCH, "at most the batch in flight twice"
    assert f"Delivered: {RECIPIENTS} of {RECIPIENTS}" in cora.last_text
