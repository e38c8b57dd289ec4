"""The one outbound sender: everything the bot sends unprompted leaves through here.

It runs as its own task, woken whenever a transaction commits outbox rows and on every
scheduler tick; handlers never call it, so no member's tap waits on pacing, a 429 or someone
else's delivery. It claims due rows (direct notices first, then nudges and broadcasts in small
batches, so a long broadcast never holds up "someone answered you"), asks the delivery policy
whether each may go now, renders it at the moment of sending, paces it within Telegram's
limits, sends it and marks it. Telegram's answer decides what happens next:
- 429: the row waits `retry_after` and every send pauses as long;
- 403, "chat not found", "user is deactivated": the member is marked unreachable, so nudges
  stop until they write again;
- a network error or anything unexpected: that row alone waits with a growing backoff, and is
  given up after MAX_ATTEMPTS; the others go on.

Nothing lost, at most one message twice: a row is 'sending' under a lease from its claim until
it is marked, and the mark is committed durably before the next message goes. One message is in
flight at a time, so a crash or a power cut can send again only that one; a stranded row is
claimed again when its lease runs out (or at the next start), never dropped. The one exception
is chosen in config: a paid broadcast (`allow_paid_broadcast`) sends a batch at once, so a
crash may send again the messages of that batch in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.clock import Clock
from bot.outbound.delivery import Action, Policy, decide
from bot.outbound.notices import render
from bot.outbound.pacing import Pacer
from bot.outbound.rendered import Rendered, RenderEnv, Renderer
from bot.refusals import is_gone
from bot.ui.i18n import Html, t
from bot.ui.render import utf16_length
from storage import members, outbox
from storage.db import Database
from storage.kinds import NUDGE_KINDS, SCHEDULED_KINDS, OutboxKind, OutboxState
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

DIRECT_BATCH = 50
SCHEDULED_BATCH = 20
MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(minutes=10)
# Telegram's limit on one message, and on the buttons under it.
MAX_TEXT = 4096
MAX_BUTTONS = 100
LOCKED_RETRIES = 5
STOP_WITHIN_SECONDS = 10
T = TypeVar("T")


class Outcome(Enum):
    """What Telegram's answer means for the row; the value is the row's final state."""

    SENT = OutboxState.SENT
    RETRY = "retry"
    BLOCKED = OutboxState.BLOCKED
    FAILED = OutboxState.FAILED


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    wait: timedelta = timedelta(0)


class Sender:
    def __init__(
        self,
        bot: Bot,
        db: Database,
        clock: Clock,
        policy: Policy,
        renderer: Renderer = render,
        pacer: Pacer | None = None,
        *,
        paid_broadcasts: bool = False,
    ) -> None:
        self.bot, self.db, self.clock, self.policy = bot, db, clock, policy
        self.renderer = renderer
        self.env = RenderEnv(db, policy.zone)
        self.pacer = pacer or Pacer(clock)
        # `[broadcasts] allow_paid_broadcast`: coordinators' broadcasts go as Telegram's paid
        # messages, a batch in flight at once and paced at up to 1,000 a second; everything
        # else stays free, one at a time and at 30 a second.
        self.paid_broadcasts = paid_broadcasts
        self.after_batch: Callable[[], Awaitable[None]] | None = None
        self._flight = asyncio.Lock()  # one message in flight, whoever asks
        self._wake = asyncio.Event()
        self._queued_since_last_pass = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # --- running as its own task -----------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A pass is sending now (it sends whatever else becomes due before it ends)."""
        return self._flight.locked()

    def wake(self) -> None:
        """Something was queued (a commit, a tick): send what is due, soon, in our own task."""
        self._queued_since_last_pass = True
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        """Let the message in flight finish and be marked, then stop. A pass held up longer
        (waiting out a long 429) is cancelled: its rows come back at the next start."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, STOP_WITHIN_SECONDS)
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                # The rows it held go back when their lease runs out; the next wake retries.
                log.exception("the sender's pass failed; it goes on at the next wake")

    # --- passes ----------------------------------------------------------------------------

    async def deliver_direct(self) -> int:
        """Send the direct notices that are due (someone answered you), not nudges or
        broadcasts. The sandbox and tests call it after each member action, to see at once
        what the sender's own task would send a moment later. Nothing was queued since the
        last pass: nothing to look for (a pass is a write transaction)."""
        if not self._queued_since_last_pass:
            return 0
        return await self._pass(scheduled=False)

    async def flush(self) -> int:
        """Send every due row, direct notices first; returns how many messages went out."""
        return await self._pass(scheduled=True)

    async def _pass(self, *, scheduled: bool) -> int:
        sent = 0
        async with self._flight:
            self._queued_since_last_pass = False
            more = True
            while more and not self._stopping:
                items, more = await self._next_batch(scheduled)
                sent += await self._handle(items)
                if scheduled and self.after_batch is not None:
                    await self._report_progress()
        return sent

    async def _next_batch(self, scheduled: bool) -> tuple[list[OutboxItem], bool]:
        """Direct notices first; nudges and broadcasts, in small batches, only when none wait.
        Also says whether more may be waiting: a batch that came back short was the last, so
        no empty claim (a write transaction) follows it."""
        direct = await self._claim(DIRECT_BATCH, skip_kinds=SCHEDULED_KINDS)
        if direct or not scheduled:
            return direct, len(direct) == DIRECT_BATCH
        rest = await self._claim(SCHEDULED_BATCH)
        return rest, bool(rest)

    async def _claim(self, limit: int, *, skip_kinds: Iterable[str] = ()) -> list[OutboxItem]:
        now = self.clock.now()
        return await _retry_locked(
            lambda: outbox.claim_due(self.db, now, limit, skip_kinds=list(skip_kinds))
        )

    async def _report_progress(self) -> None:
        assert self.after_batch is not None
        try:
            await self.after_batch()
        except Exception:
            log.exception("a broadcast's progress could not be shown")

    async def _handle(self, items: list[OutboxItem]) -> int:
        """Send, skip or defer each claimed row; a member's digest rows go as one message.
        An error on one row touches that row alone."""
        now, sent = self.clock.now(), 0
        digests: dict[int, list[OutboxItem]] = {}
        at_once: list[OutboxItem] = []
        for item in items:
            try:
                decision = decide(item, now, self.policy)
                if decision.action is Action.SKIP:
                    await self._mark([item.id], OutboxState.SKIPPED)
                elif decision.action is Action.DEFER:
                    assert decision.until is not None
                    await self._release([item.id], decision.until)
                elif decision.action is Action.DIGEST:
                    digests.setdefault(item.member_id, []).append(item)
                elif self._paid(item):
                    at_once.append(item)
                else:
                    sent += await self._deliver([item])
            except Exception:
                await self._failed_unexpectedly([item])
        sent += await self._deliver_at_once(at_once)
        for member_id, group in digests.items():
            try:
                group += await outbox.claim_member_nudges(self.db, member_id, NUDGE_KINDS, now)
                sent += await self._deliver(group)
            except Exception:
                await self._failed_unexpectedly(group)
        return sent

    def _paid(self, item: OutboxItem) -> bool:
        return self.paid_broadcasts and item.kind == OutboxKind.BROADCAST

    async def _deliver_at_once(self, items: list[OutboxItem]) -> int:
        """A paid broadcast's batch, all in flight together: one message per round trip to
        Telegram would be about 30 a second, all a paid broadcast is meant to pass. Each is
        marked as soon as it is answered; a crash can send again those in flight, at most a
        batch (SCHEDULED_BATCH), where a free message risks one. If one is cancelled (the
        sender stopping), the others are too, and their rows come back at the next start."""
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._deliver_alone(item)) for item in items]
        return sum(task.result() for task in tasks)

    async def _deliver_alone(self, item: OutboxItem) -> int:
        try:
            return await self._deliver([item])
        except Exception:
            await self._failed_unexpectedly([item])
            return 0

    async def _deliver(self, batch: list[OutboxItem]) -> int:
        """Render the rows (several only for a digest), send them, mark them. A digest too
        long for one message goes as several, each with its own rows' buttons."""
        with self.policy.speaking_to(batch[0].language):  # one recipient per batch
            return await self._render_and_send(batch)

    async def _render_and_send(self, batch: list[OutboxItem]) -> int:
        live: list[tuple[OutboxItem, Rendered]] = []
        stale: list[int] = []
        for item in batch:
            message = await self.renderer(self.env, item)
            if message is None:
                stale.append(item.id)
            else:
                live.append((item, message))
        if stale:
            await self._mark(stale, OutboxState.SKIPPED)
        if len(live) == 1:
            return await self._send_and_record([live[0][0]], live[0][1])
        sent = 0
        for chunk in digest_chunks(live):
            sent += await self._send_and_record(
                [item for item, _ in chunk], _digest([message for _, message in chunk])
            )
        return sent

    async def _send_and_record(self, items: list[OutboxItem], message: Rendered) -> int:
        result = await self._send(items[0], message)
        await self._record(items, result)
        return int(result.outcome is Outcome.SENT)

    async def _send(self, item: OutboxItem, message: Rendered) -> Result:
        assert item.telegram_id is not None  # decide() skips members without Telegram
        paid = self._paid(item)
        await self.pacer.wait(item.telegram_id, paid=paid)
        try:
            await self.bot.send_message(
                item.telegram_id,
                message.text,
                reply_markup=message.markup,
                allow_paid_broadcast=paid or None,  # None: not sent at all
            )
        except RetryAfter as error:
            wait = _as_delta(error.retry_after)
            self.pacer.pause(wait.total_seconds())
            return Result(Outcome.RETRY, wait)
        except (Forbidden, BadRequest) as error:
            if is_gone(error):
                return Result(Outcome.BLOCKED)
            log.warning("Telegram refused outbox row %s (%s): %s", item.id, item.kind, error)
            return Result(Outcome.FAILED)
        except NetworkError as error:
            log.warning("network error sending row %s: %s", item.id, error)
            return self._backoff(item)
        return Result(Outcome.SENT)

    def _backoff(self, item: OutboxItem) -> Result:
        if item.attempts + 1 >= MAX_ATTEMPTS:
            return Result(Outcome.FAILED)
        return Result(Outcome.RETRY, min(timedelta(seconds=2**item.attempts), MAX_BACKOFF))

    async def _record(self, items: list[OutboxItem], result: Result) -> None:
        now = self.clock.now()
        ids = [item.id for item in items]
        if result.outcome is Outcome.RETRY:
            until = now + result.wait
            await _retry_locked(lambda: outbox.release(self.db, ids, until, failed_attempt=True))
            return
        if result.outcome is Outcome.BLOCKED:
            log.info(
                "member %s can't be reached (blocked or gone); nudges stop", items[0].member_id
            )
            member_id = items[0].member_id
            await _retry_locked(lambda: members.mark_unreachable(self.db, member_id, now))
        await self._mark(ids, OutboxState(result.outcome.value))

    async def _release(
        self, ids: list[int], until: datetime, *, failed_attempt: bool = False
    ) -> None:
        await _retry_locked(
            lambda: outbox.release(self.db, ids, until, failed_attempt=failed_attempt)
        )

    async def _mark(self, ids: list[int], state: OutboxState) -> None:
        now = self.clock.now()
        await _retry_locked(lambda: outbox.mark(self.db, ids, state, now))

    async def _failed_unexpectedly(self, items: list[OutboxItem]) -> None:
        """A bug or a broken row: log it, and retry that row alone later (or give it up)."""
        log.exception("outbox rows %s could not be sent", [item.id for item in items])
        for item in items:
            with contextlib.suppress(Exception):  # its lease brings it back if this fails too
                await self._record([item], self._backoff(item))


def digest_chunks(
    parts: list[tuple[OutboxItem, Rendered]],
) -> list[list[tuple[OutboxItem, Rendered]]]:
    """Split a digest's parts into messages that fit Telegram's limits, in order."""
    title = utf16_length(t("digest.title")) + 2
    chunks: list[list[tuple[OutboxItem, Rendered]]] = []
    size = buttons = 0
    for part in parts:
        length = utf16_length(part[1].text) + 2
        count = _button_count(part[1])
        if chunks and size + length <= MAX_TEXT and buttons + count <= MAX_BUTTONS:
            chunks[-1].append(part)
            size, buttons = size + length, buttons + count
        else:
            chunks.append([part])
            size, buttons = title + length, count
    return chunks


def _button_count(message: Rendered) -> int:
    markup = message.markup
    if not isinstance(markup, InlineKeyboardMarkup):
        return 0
    return sum(len(row) for row in markup.inline_keyboard)


def _digest(parts: list[Rendered]) -> Rendered:
    """Many nudges as one message: their texts in turn, and all their buttons below."""
    text = Html("\n\n".join([t("digest.title"), *(part.text for part in parts)]))
    rows = [
        row
        for part in parts
        if isinstance(part.markup, InlineKeyboardMarkup)
        for row in part.markup.inline_keyboard
    ]
    return Rendered(text, InlineKeyboardMarkup(rows) if rows else None)


async def _retry_locked(action: Callable[[], Awaitable[T]]) -> T:
    """Run a storage call, again if another process held the database (a backup, say) for
    longer than the busy timeout: bookkeeping must land, or a message goes twice."""
    for attempt in range(LOCKED_RETRIES):
        try:
            return await action()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == LOCKED_RETRIES - 1:
                raise
            log.warning("the database was locked; trying again (%s)", attempt + 1)
            await asyncio.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


def _as_delta(value: int | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)
