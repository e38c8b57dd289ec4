"""The one outbound sender: everything the bot sends unprompted leaves through here.

It claims due outbox rows, renders each at the moment of sending, sends it, and marks it.
Telegram's answers decide what happens next: 403 (blocked) marks the row failed, 429 puts it
back for `retry_after`, a network error puts it back with a growing backoff.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.clock import Clock
from bot.notices import Renderer, render
from storage import outbox
from storage.db import Database
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

BATCH = 100
MAX_ATTEMPTS = 8


class Sender:
    def __init__(self, bot: Bot, db: Database, clock: Clock, renderer: Renderer = render) -> None:
        self.bot, self.db, self.clock, self.renderer = bot, db, clock, renderer
        self._running = False
        self._again = False

    async def flush(self) -> int:
        """Send every due row; returns how many were sent. Concurrent calls fold into one."""
        if self._running:
            self._again = True
            return 0
        self._running, sent = True, 0
        try:
            self._again = True
            while self._again:
                self._again = False
                while items := await outbox.claim_due(self.db, self.clock.now(), BATCH):
                    for item in items:
                        sent += await self._deliver(item)
        finally:
            self._running = False
        return sent

    async def _deliver(self, item: OutboxItem) -> int:
        now = self.clock.now()
        rendered = await self.renderer(self.db, item)
        if rendered is None:
            await outbox.mark(self.db, item.id, "skipped", now)
            return 0
        try:
            await self.bot.send_message(
                item.telegram_id, rendered.text, reply_markup=rendered.markup
            )
        except RetryAfter as error:
            await outbox.release(self.db, item.id, now + _seconds(error.retry_after))
            return 0
        except Forbidden:
            log.info(
                "member %s has blocked the bot; outbox row %s dropped", item.member_id, item.id
            )
            await outbox.mark(self.db, item.id, "failed", now)
            return 0
        except BadRequest:
            log.exception("Telegram refused outbox row %s (%s)", item.id, item.kind)
            await outbox.mark(self.db, item.id, "failed", now)
            return 0
        except NetworkError:
            if item.attempts >= MAX_ATTEMPTS:
                await outbox.mark(self.db, item.id, "failed", now)
            else:
                await outbox.release(self.db, item.id, now + timedelta(seconds=2**item.attempts))
            return 0
        await outbox.mark(self.db, item.id, "sent", now)
        return 1


def _seconds(value: int | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)
