"""Benchmark: `timebank-bot backup` of a million ledger entries while the bot serves members.

    .venv/bin/python bench/backup.py [--rate N] [--rtt-ms MS] [--runs N] [--pin]

Seeds the big ledger of bench/activities.py (10,000 members, about 1,000,000 ledger entries,
about 240 MB), then runs the real Application (its sender and scheduler too) against the
stand-in Bot API with a real round trip (80 ms by default, a normal one to Telegram), and feeds
it a steady stream of members' updates (--rate a second, 40 by default; each from another
member): a third each of quick posts (/offer TEXT: a write, committed with fsync), /balance
and /history. After a few seconds of the stream alone, storage.backup.backup copies the file
to a new one and checks the copy: the daily backup job itself (bot/outbound/scheduler.py:
back_up), RUNS times with the stream alone in between.

Measured, per update: from the moment it reaches the bot to the moment its reply leaves for
Telegram (the bot's own time; the round trip comes on top of it and is the same whether a
backup runs or not), during the backups and without. And the backup's time: the copy (the
only part that reads the live file) and the check of the copy. The file is in the page cache
(it was just seeded), as a live database mostly is. Without --pin the process may use every
CPU, as the bot would on its host; --pin puts it (and the backup's thread) on one.
The last line is one JSON object: backup_1m_s (the median backup, all of it), p99_during_ms,
db_mb.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import (  # first: puts the repo root ahead of bench/ on sys.path
    BIG_LEDGER,
    ErrorCounter,
    Latencies,
    count_rows,
    pin_to_one_core,
    print_result,
    seed_big_ledger,
    telegram_id_of,
)
from telegram import Update
from telegram.request import RequestData

from bot.app import build_application, running
from bot.config import parse_config
from bot.outbound.scheduler import back_up
from bot.sandbox.standin import StandInBotAPI
from bot.services import services_of
from storage import backup

DEFAULT_RATE = 40  # updates a second
DEFAULT_RTT_MS = 80
DEFAULT_RUNS = 3
WARM_UP_S = 2.0
ALONE_S = 4.0  # the stream alone, before each backup
TARGETS = {"backup_1m_s": 10.0, "p99_during_ms": 50.0}
SAYINGS = ("/offer Can help with weekly shopping near the library", "/balance", "/history")


class TimedStandIn(StandInBotAPI):
    """The stand-in, noting when each member's reply leaves the bot (the request starts)."""

    def __init__(self, rtt: float) -> None:
        super().__init__(record_calls=False, rtt=rtt)
        self.waiting: dict[int, float] = {}  # chat id -> when their update reached the bot
        self.replied: Latencies = Latencies()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        chat_id = request_data.parameters.get("chat_id") if request_data else None
        arrived = self.waiting.pop(chat_id, None) if isinstance(chat_id, int) else None
        if arrived is not None:
            self.replied.add(time.perf_counter() - arrived)
        return await super().do_request(url, method, request_data)


def message(api: StandInBotAPI, app: Any, member_id: int, text: str) -> Update:
    """The update Telegram sends when member `member_id` sends `text` in their chat."""
    user = {"id": telegram_id_of(member_id), "is_bot": False, "first_name": f"M{member_id}"}
    command = text.split(maxsplit=1)[0]
    payload = {
        "update_id": api.next_update_id(),
        "message": {
            "message_id": api.next_update_id(),
            "date": int(time.time()),
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }
    return Update.de_json(payload, app.bot)


class Stream:
    """A steady stream of updates, each from the next member, until stopped."""

    def __init__(self, app: Any, api: TimedStandIn, rate: float) -> None:
        self.app, self.api, self.rate = app, api, rate
        self.members: Iterator[int] = itertools.cycle(range(2, BIG_LEDGER.members + 1))
        self.sayings = itertools.cycle(SAYINGS)
        self.tasks: set[asyncio.Task[None]] = set()
        self.sent = 0

    async def run_for(self, seconds: float) -> None:
        await self.run_while(asyncio.create_task(asyncio.sleep(seconds)))

    async def run_while(self, other: asyncio.Future[Any]) -> None:
        """Send updates at `rate` until `other` is done, on a fixed schedule: an update late
        because the loop was busy is sent at once, and timed from when it was due."""
        every, due = 1 / self.rate, time.perf_counter()
        while not other.done():
            due += every
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            self._send(due)
        await other

    def _send(self, due: float) -> None:
        member_id = next(self.members)
        update = message(self.api, self.app, member_id, next(self.sayings))
        self.api.waiting[telegram_id_of(member_id)] = due
        task = asyncio.create_task(
            self.app.update_processor.process_update(update, self.app.process_update(update))
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        self.sent += 1

    async def drain(self) -> None:
        await asyncio.gather(*self.tasks)

    def take(self) -> Latencies:
        """The latencies measured so far, and a fresh start."""
        taken, self.api.replied = self.api.replied, Latencies()
        return taken


async def serve_and_back_up(
    path: Path, folder: Path, rate: float, rtt: float, runs: int
) -> tuple[list[backup.Backup | None], Latencies, Latencies]:
    config = parse_config(
        {
            "bot": {"database": str(path)},
            "timebank": {"coordinators": []},
            "backup": {"folder": str(folder), "keep": 1},
        }
    )
    api = TimedStandIn(rtt)
    app = build_application(config, request=api, background=True)
    made: list[backup.Backup | None] = []
    alone, during = Latencies(), Latencies()
    async with running(app):
        stream = Stream(app, api, rate)
        await stream.run_for(WARM_UP_S)
        stream.take()
        for _ in range(runs):
            await stream.run_for(ALONE_S)
            alone.samples += stream.take().samples
            copy = asyncio.ensure_future(back_up(services_of(app)))  # as the daily job does
            await stream.run_while(copy)
            made.append(copy.result())
            await stream.drain()
            during.samples += stream.take().samples
        await stream.drain()
    return made, alone, during


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="updates a second")
    parser.add_argument("--rtt-ms", type=float, default=DEFAULT_RTT_MS)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--pin", action="store_true", help="run on one CPU")
    args = parser.parse_args()
    cpus = f"CPU {pin_to_one_core()}" if args.pin else f"{len(os.sched_getaffinity(0))} CPUs"
    errors = ErrorCounter.install()
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        path = Path(tmp) / "timebank.sqlite3"
        seed_s = seed_big_ledger(path)
        entries = count_rows(path, "ledger_entries")
        made, alone, during = asyncio.run(
            serve_and_back_up(path, Path(tmp) / "backups", args.rate, args.rtt_ms / 1000, args.runs)
        )
        db_mb = path.stat().st_size / 2**20
    if errors.count:
        raise SystemExit(f"{errors.count} errors logged, first: {errors.first}")
    copies = [copy for copy in made if copy is not None]
    if len(copies) < len(made) or any(copy.findings for copy in copies):
        raise SystemExit(f"a backup failed or had findings ({copies}): no figures")
    backup_s = statistics.median(copy.seconds for copy in copies)
    p99_during = during.percentile_ms(99)
    print(
        f"seeded {entries:,} ledger entries ({db_mb:.0f} MB) in {seed_s:.0f} s; {cpus};"
        f" {args.rate:.0f} updates/s, Bot API round trip {args.rtt_ms:.0f} ms"
    )
    for run, copy in enumerate(copies, start=1):
        written = copy.seconds - copy.copy_s - copy.check_s
        print(
            f"backup {run}: {copy.seconds:.2f} s: copy {copy.copy_s:.2f} s, check of the copy"
            f" {copy.check_s:.2f} s, written out to the disk {written:.2f} s"
        )
    print(
        f"backup: median {backup_s:.2f} s (aim: under {TARGETS['backup_1m_s']:.0f} s)\n"
        "update to reply leaving (the round trip comes on top):\n"
        f"  {alone.line('alone')}\n  {during.line('backup')}\n"
        f"  p99 during the backups {p99_during:.1f} ms (aim: under"
        f" {TARGETS['p99_during_ms']:.0f} ms)"
    )
    print_result(
        {
            "backup_1m_s": round(backup_s, 2),
            "p99_during_ms": round(p99_during, 1),
            "db_mb": round(db_mb, 1),
            "p99_alone_ms": round(alone.percentile_ms(99), 1),
            "updates_during": during.count,
            "entries": entries,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
