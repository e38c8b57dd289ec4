"""Everything time-driven, on one APScheduler interval job started and stopped with the app.

The job only calls `tick`, a plain async function, so tests move the fake clock and call
`tick` themselves instead of waiting for a timer.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services import Services
from storage import nudges

log = logging.getLogger(__name__)
JOB_ID = "tick"


async def tick(services: Services) -> int:
    """One pass: queue the nudges that became owed, then send whatever is due (catching up on
    anything overdue after a restart). Returns how many messages were sent."""
    now = services.clock.now()
    await nudges.queue_unmet_needs(services.db, now, services.timings)
    sent = await services.sender.flush()
    if services.sender.after_batch is not None:  # a broadcast may have ended with no batch
        await services.sender.after_batch()
        sent += await services.sender.flush()  # its delivery report
    return sent


class Ticker:
    """The APScheduler job that runs `tick`, and a clean stop that waits for a running pass,
    so the database is never closed under it."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._busy = asyncio.Lock()
        self._stopping = False

    def start(self) -> None:
        """Run `tick` now (catch up after a restart) and then every tick_seconds."""
        self.scheduler.add_job(
            self._run,
            "interval",
            seconds=self.services.config.nudges.tick_seconds,
            id=JOB_ID,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        self.scheduler.start()

    async def stop(self) -> None:
        """Let a running pass finish (never cancel it half-way), then stop the scheduler."""
        self._stopping = True
        await asyncio.sleep(0)  # a pass already handed to the loop starts, sees it, returns
        async with self._busy:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)

    async def _run(self) -> None:
        if self._stopping:
            return
        async with self._busy:
            try:
                await tick(self.services)
            except Exception:
                log.exception("scheduled tick failed; the next one retries")
