"""A running broadcast's progress message ("Sent 340 of 1,200"), kept up to date while the
sender works through it, and its end: marked done with a delivery report queued."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from telegram import Bot
from telegram.error import TelegramError

from bot.clock import Clock
from bot.outbound.delivery import Policy
from bot.outbound.pacing import Pacer
from bot.ui.keyboards import stop_button
from bot.ui.render import progress_text
from storage import broadcasts, members
from storage.broadcasts import Broadcast, Progress
from storage.db import Database

log = logging.getLogger(__name__)
EDIT_EVERY = timedelta(seconds=3)


class ProgressReporter:
    """Called after each batch the sender sends, and on every scheduler tick."""

    def __init__(self, bot: Bot, db: Database, clock: Clock, pacer: Pacer, policy: Policy) -> None:
        self.bot, self.db, self.clock, self.pacer, self.policy = bot, db, clock, pacer, policy
        self._edited: dict[int, datetime] = {}

    async def __call__(self) -> None:
        for broadcast in await broadcasts.unreported(self.db):
            progress = await broadcasts.progress(self.db, broadcast.id)
            now = self.clock.now()
            if await broadcasts.finish_if_done(self.db, broadcast.id, now):
                await self._show(broadcast, progress, done=True)
                self._edited.pop(broadcast.id, None)
            elif (
                now - self._edited.get(broadcast.id, datetime.min.replace(tzinfo=now.tzinfo))
                >= EDIT_EVERY
            ):
                self._edited[broadcast.id] = now
                await self._show(broadcast, progress, done=False)

    async def _show(self, broadcast: Broadcast, progress: Progress, *, done: bool) -> None:
        """Edit the coordinator's progress message, in their language; the stop button goes
        once it is done."""
        coordinator = await members.get(self.db, broadcast.coordinator_id)
        if broadcast.progress_message_id is None or coordinator is None:
            return
        if coordinator.telegram_id is None:
            return
        with self.policy.speaking_to(coordinator.language):
            text = progress_text(progress, done=done)
            markup = None if done else stop_button(broadcast.id)
        await self.pacer.wait(coordinator.telegram_id)
        try:
            await self.bot.edit_message_text(
                text, coordinator.telegram_id, broadcast.progress_message_id, reply_markup=markup
            )
        except TelegramError as error:  # unchanged, deleted, or the bot blocked: harmless
            log.debug("progress of broadcast %s not shown: %s", broadcast.id, error)
