"""The one outbound sender: everything the bot sends unprompted leaves through here.

It claims due outbox rows, asks the delivery policy whether each may go now (nudge settings,
quiet hours, digest), renders it at the moment of sending, paces it within Telegram's limits,
sends it, and marks it. Telegram's answer decides what happens next:
- 429: the row waits `retry_after` and every send pauses as long;
- 403 (blocked): the member is marked unreachable, so nudges stop until they write again;
- a network error: the row waits with a growing backoff, and is given up after MAX_ATTEMPTS.

Crash safety: a row is 'sending' from its claim until it is marked. If the process dies in
between, `outbox.recover_in_flight` puts it back at the next start, so the one message that was
in flight may be sent twice; no row is ever lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.clock import Clock
from bot.outbound.delivery import Action, Policy, decide
from bot.outbound.notices import Rendered, RenderEnv, Renderer, render
from bot.outbound.pacing import Pacer
from bot.ui.i18n import Html, t
from storage import members, outbox
from storage.db import Database
from storage.nudges import NUDGE_KINDS
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

BATCH = 200
MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(minutes=10)


class Outcome(Enum):
    """What Telegram's answer means for the row; the value is the row's final state."""

    SENT = "sent"
    RETRY = "retry"
    BLOCKED = "blocked"
    FAILED = "failed"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    wait: timedelta = timedelta(0)


# Rows a handler's own pass leaves to the scheduler: nudges wait for their policy, and a
# broadcast of thousands must never hold up the member whose tap queued something.
SCHEDULER_ONLY = NUDGE_KINDS | {"broadcast"}


class Sender:
    def __init__(
        self,
        bot: Bot,
        db: Database,
        clock: Clock,
        policy: Policy,
        renderer: Renderer = render,
        pacer: Pacer | None = None,
    ) -> None:
        self.bot, self.db, self.clock, self.policy = bot, db, clock, policy
        self.renderer = renderer
        self.env = RenderEnv(db, policy.zone)
        self.pacer = pacer or Pacer(clock)
        self.after_batch: Callable[[], Awaitable[None]] | None = None
        self._running = False
        self._again = False

    async def deliver_direct(self) -> int:
        """Send the direct notices that are due (someone answered you), right away.

        Handlers call this after their transaction: it is quick, and it runs beside a long
        scheduler pass rather than behind it (claims never overlap)."""
        sent = 0
        while True:
            items = await outbox.claim_due(
                self.db, self.clock.now(), BATCH, skip_kinds=SCHEDULER_ONLY
            )
            sent += await self._handle(items)
            if len(items) < BATCH:  # that was the last of them: no empty claim after
                return sent

    async def flush(self) -> int:
        """Send every due row; returns how many messages went out.

        Calls while a flush runs fold into it (it loops until nothing is due), so no row is
        claimed twice and the scheduler never stacks passes."""
        if self._running:
            self._again = True
            return 0
        self._running, sent = True, 0
        try:
            self._again = True
            while self._again:
                self._again = False
                while items := await outbox.claim_due(self.db, self.clock.now(), BATCH):
                    sent += await self._handle(items)
                    if self.after_batch is not None:
                        await self.after_batch()
        finally:
            self._running = False
        return sent

    async def _handle(self, items: list[OutboxItem]) -> int:
        """Send, skip or defer each claimed row; a member's digest rows go as one message."""
        now, sent = self.clock.now(), 0
        digests: dict[int, list[OutboxItem]] = {}
        for item in items:
            decision = decide(item, now, self.policy)
            if decision.action is Action.SKIP:
                await outbox.mark(self.db, [item.id], "skipped", now)
            elif decision.action is Action.DEFER:
                assert decision.until is not None
                await outbox.release(self.db, [item.id], decision.until)
            elif decision.action is Action.DIGEST:
                digests.setdefault(item.member_id, []).append(item)
            else:
                sent += await self._deliver([item])
        for member_id, group in digests.items():
            group += await outbox.claim_member_nudges(self.db, member_id, NUDGE_KINDS, now)
            sent += await self._deliver(group)
        return sent

    async def _deliver(self, batch: list[OutboxItem]) -> int:
        """Render the rows (several only for a digest), send them as one message, mark them."""
        rendered: list[Rendered] = []
        stale: list[int] = []
        for item in batch:
            message = await self.renderer(self.env, item)
            if message is None:
                stale.append(item.id)
            else:
                rendered.append(message)
        if stale:
            await outbox.mark(self.db, stale, "skipped", self.clock.now())
        live = [item for item in batch if item.id not in stale]
        if not live:
            return 0
        message = rendered[0] if len(rendered) == 1 else _digest(rendered)
        result = await self._send(live[0], message)
        await self._record(live, result)
        return int(result.outcome is Outcome.SENT)

    async def _send(self, item: OutboxItem, message: Rendered) -> Result:
        await self.pacer.wait(item.telegram_id)
        try:
            await self.bot.send_message(item.telegram_id, message.text, reply_markup=message.markup)
        except RetryAfter as error:
            wait = _as_delta(error.retry_after)
            self.pacer.pause(wait.total_seconds())
            return Result(Outcome.RETRY, wait)
        except Forbidden:
            return Result(Outcome.BLOCKED)
        except BadRequest:
            log.exception("Telegram refused outbox row %s (%s)", item.id, item.kind)
            return Result(Outcome.FAILED)
        except NetworkError as error:
            log.warning("network error sending row %s: %s", item.id, error)
            if item.attempts + 1 >= MAX_ATTEMPTS:
                return Result(Outcome.FAILED)
            return Result(Outcome.RETRY, min(timedelta(seconds=2**item.attempts), MAX_BACKOFF))
        return Result(Outcome.SENT)

    async def _record(self, items: list[OutboxItem], result: Result) -> None:
        now = self.clock.now()
        ids = [item.id for item in items]
        if result.outcome is Outcome.RETRY:
            await outbox.release(self.db, ids, now + result.wait, failed_attempt=True)
            return
        if result.outcome is Outcome.BLOCKED:
            log.info("member %s has blocked the bot; nudges stop", items[0].member_id)
            await members.mark_unreachable(self.db, items[0].member_id, now)
        await outbox.mark(self.db, ids, result.outcome.value, now)


def _digest(parts: list[Rendered]) -> Rendered:
    """Many nudges as one message: their texts in turn, and all their buttons below."""
    text = Html("\n\n".join([t("digest.title"), *(part.text for part in parts)]))
    rows = [row for part in parts if part.markup for row in part.markup.inline_keyboard]
    return Rendered(text, InlineKeyboardMarkup(rows) if rows else None)


def _as_delta(value: int | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)
