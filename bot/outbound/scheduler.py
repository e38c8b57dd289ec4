"""Everything time-driven, on APScheduler interval jobs started and stopped with the app:
`tick` every few seconds (nudges and the outbox), `purge` once a day (retention).

Each job only calls a plain async function, so tests move the fake clock and call `tick` or
`purge` themselves instead of waiting for a timer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import parse_clock_time
from bot.services import Services
from storage import activities, backup, checkins, matching, nudges, retention
from storage.retention import Purged

log = logging.getLogger(__name__)
JOB_ID = "tick"
PURGE_JOB_ID = "purge"
PURGE_EVERY = timedelta(days=1)
# The first purge waits a little after start, so a restart's catch-up sends go first.
PURGE_AFTER_START = timedelta(minutes=10)
BACKUP_JOB_ID = "backup"


async def tick(services: Services) -> int:
    """One pass: queue the nudges that became owed, move home-visit matching on (offers that
    timed out, referrals to offer, deadlines passed), queue the check-in prompts and alerts
    that became owed, lapse group activities' offered places (offering them on) and send their
    roll calls, then send whatever is due (catching up on anything overdue after a
    restart). Returns how many messages were sent."""
    now = services.clock.now()
    await nudges.queue_unmet_needs(services.db, now, services.timings)
    await matching.run_due(services.db, now, services.visits)
    await checkins.queue_due(services.db, now, services.visits)
    offer_for = timedelta(hours=services.config.organisations.waiting_offer_hours)
    await activities.run_due(services.db, now, offer_for)
    sent = await services.sender.flush()
    if services.sender.after_batch is not None:  # a broadcast may have ended with no batch
        await services.sender.after_batch()
        sent += await services.sender.flush()  # its delivery report
    return sent


async def purge(services: Services) -> Purged:
    """Delete what has been kept past its time (config [privacy])."""
    purged = await retention.purge_expired(services.db, services.clock.now(), services.retention)
    log.info("retention purge: %s", purged)
    return purged


async def back_up(services: Services) -> backup.Backup | None:
    """The daily backup (config [backup]): a checked copy in the folder, the oldest pruned.

    Off the event loop, in a thread that gives way to the bot's: SQLite copies and checks the
    file without holding Python's GIL, and in WAL mode without holding up the bot's writes,
    so members' updates stay quick meanwhile."""
    settings = services.config.backup
    if settings.folder is None:
        return None
    try:
        made, removed = await asyncio.to_thread(
            backup.daily,
            services.config.bot.database,
            settings.folder,
            services.clock.now(),
            settings.keep,
        )
    except backup.BackupFailed as error:
        log.error("daily backup failed: %s", error)
        return None
    log.info(
        "daily backup: %s (%.0f MB in %.1f s), %d older removed",
        made.path.name,
        made.size_bytes / 2**20,
        made.copy_s + made.check_s,
        removed,
    )
    for finding in made.findings:
        log.error("daily backup's check: %s (older backups kept)", finding)
    return made


class Ticker:
    """The APScheduler jobs that run `tick` and `purge`, one at a time, and a clean stop that
    waits for a running pass, so the database is never closed under it."""

    def __init__(self, services: Services) -> None:
        self.services = services
        # When the last `tick` pass finished (by the services' clock), for GET /healthz: a
        # tick that stops finishing means nudges, matching and notices have stopped too.
        self.last_tick_at: datetime | None = None
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._busy = asyncio.Lock()
        self._stopping = False

    def start(self) -> None:
        """Run `tick` now (catch up after a restart) and then every tick_seconds; `purge`
        soon after start (a bot restarted daily would otherwise never reach it) and then once
        a day; `back_up` daily at [backup] at, local time, if it has a folder. They share one
        lock: a pass of one never overlaps another (a tick waits out a backup's seconds)."""
        now = datetime.now(UTC)
        tick_every = timedelta(seconds=self.services.config.nudges.tick_seconds)
        for job_id, job, every, first in (
            (JOB_ID, tick, tick_every, now),
            (PURGE_JOB_ID, purge, PURGE_EVERY, now + PURGE_AFTER_START),
        ):
            self.scheduler.add_job(
                self._run,
                "interval",
                args=(job,),
                seconds=every.total_seconds(),
                id=job_id,
                max_instances=1,
                coalesce=True,
                next_run_time=first,
            )
        backups = self.services.config.backup
        at = parse_clock_time(backups.at)
        if backups.folder is not None and at is not None:
            self.scheduler.add_job(
                self._run,
                "cron",
                args=(back_up,),
                hour=at.hour,
                minute=at.minute,
                timezone=self.services.config.zone,
                id=BACKUP_JOB_ID,
                max_instances=1,
                coalesce=True,
            )
        self.scheduler.start()

    async def stop(self) -> None:
        """Let a running pass finish (never cancel it half-way), then stop the scheduler."""
        self._stopping = True
        await asyncio.sleep(0)  # a pass already handed to the loop starts, sees it, returns
        async with self._busy:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)

    async def _run(self, job: Callable[[Services], Awaitable[object]]) -> None:
        if self._stopping:
            return
        async with self._busy:
            try:
                await job(self.services)
            except Exception:
                log.exception("scheduled %s failed; the next one retries", job.__name__)
            else:
                if job is tick:
                    self.last_tick_at = self.services.clock.now()
