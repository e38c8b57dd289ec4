"""Everything time-driven, on one APScheduler interval job started and stopped with the app.

The job only calls `tick`, a plain async function, so tests move the fake clock and call
`tick` themselves instead of waiting for a timer.
"""

from __future__ import annotations

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
    return await services.sender.flush()


async def _job_tick(services: Services) -> None:
    try:
        await tick(services)
    except Exception:
        log.exception("scheduled tick failed; the next one retries")


def start_scheduler(services: Services) -> AsyncIOScheduler:
    """Run `tick` now (catch up) and then every tick_seconds; one run at a time."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        _job_tick,
        "interval",
        seconds=services.config.nudges.tick_seconds,
        args=[services],
        id=JOB_ID,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    return scheduler
