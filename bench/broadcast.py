"""A broadcast to 10,000 members through the one sender, with Telegram's pacing in virtual time.

A coordinator taps through /broadcast to everyone; one scheduler tick then sends it all through
the real sender to the stand-in Bot API. The clock is virtual: when the pacer waits, time moves
on without sleeping, so the run takes seconds while measuring the rate Telegram would see.
Every sendMessage is timed on that clock and checked against Telegram's limits: at most 30 in
any one-second window overall, and at most one a second to any one chat.
Run: .venv/bin/python bench/broadcast.py   (last line: JSON with msgs_per_s, limit_breaches,
delivered, peak_mb)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import bulk_connection, migrate, peak_rss_mb, print_result, seed_members

from bot.app import build_application, running
from bot.clock import FakeClock
from bot.config import parse_config
from bot.outbound.pacing import PER_CHAT_INTERVAL, PER_SECOND
from bot.outbound.scheduler import tick
from bot.sandbox.standin import ChatMember, StandInBotAPI
from bot.services import services_of
from storage import broadcasts

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
COORDINATOR_TELEGRAM_ID = 42
TEXT = "Warm spaces are open all week at the library. Come by for tea and company."


def seed(path: Path, recipients: int) -> None:
    migrate(path)
    conn = bulk_connection(path)
    conn.execute("BEGIN")
    seed_members(conn, recipients, NOW - timedelta(days=30))
    conn.execute("COMMIT")
    conn.close()


class SendLog:
    """When (on the virtual clock) each message went to each chat."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sends: list[tuple[float, int]] = []

    async def __call__(self, method: str, params: dict[str, Any]) -> None:
        if method in ("sendMessage", "editMessageText"):
            self.sends.append((self.clock.now().timestamp(), int(params["chat_id"])))

    def breaches(self) -> int:
        """Sends that broke a limit: a 31st inside one second, or a chat's second inside
        one second."""
        window: deque[float] = deque()
        last_by_chat: dict[int, float] = {}
        broken = 0
        for moment, chat in self.sends:
            while window and window[0] <= moment - 1.0:
                window.popleft()
            window.append(moment)
            broken += len(window) > PER_SECOND
            previous = last_by_chat.get(chat)
            broken += previous is not None and moment - previous < PER_CHAT_INTERVAL - 1e-9
            last_by_chat[chat] = moment
        return broken


async def run(path: Path) -> dict[str, float]:
    config = parse_config(
        {"bot": {"database": str(path)}, "timebank": {"coordinators": [COORDINATOR_TELEGRAM_ID]}}
    )
    api = StandInBotAPI(record_calls=False)
    clock = FakeClock(NOW)
    app = build_application(config, request=api, clock=clock, background=False)
    async with running(app):
        svc = services_of(app)
        cora = await coordinator(app, api)
        await cora.says("/broadcast")
        await cora.says(TEXT)
        await cora.taps("Everyone")
        await cora.taps("Send to")
        log = SendLog(clock)
        api.after_call = log
        started_virtual, started_wall = clock.now(), time.perf_counter()
        await tick(svc)
        wall_s = time.perf_counter() - started_wall
        virtual_s = (clock.now() - started_virtual).total_seconds()
        sent = await broadcasts.progress(svc.db, 1)
    broadcast_sends = [s for s in log.sends if s[1] != COORDINATOR_TELEGRAM_ID]
    span = broadcast_sends[-1][0] - broadcast_sends[0][0] if len(broadcast_sends) > 1 else 0.0
    return {
        "delivered": sent.sent,
        "total": sent.total,
        "virtual_s": virtual_s,
        "span_s": span,
        "wall_s": wall_s,
        "breaches": log.breaches(),
        "edits": len(log.sends) - len(broadcast_sends),
    }


async def coordinator(app: Any, api: StandInBotAPI) -> ChatMember:
    cora = ChatMember(app, api, COORDINATOR_TELEGRAM_ID, "Cora")
    await cora.says("/start")
    await cora.taps("Cora")
    await cora.says("Riverside")
    await cora.taps("I agree")
    return cora


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "broadcast.sqlite3"
        seed(path, args.recipients)
        figures = asyncio.run(run(path))
    peak = peak_rss_mb()
    rate = (figures["delivered"] - 1) / figures["span_s"] if figures["span_s"] else 0.0
    print(f"delivered {figures['delivered']:,} of {figures['total']:,} recipients")
    print(
        f"virtual time {figures['virtual_s']:.1f} s: {rate:.2f} msg/s"
        f" (aim: at least 28, the limit is {PER_SECOND}); {figures['edits']} progress edits"
    )
    print(f"limit breaches (30/s overall, 1/s per chat): {figures['breaches']}")
    print(f"real time {figures['wall_s']:.1f} s; peak memory (ru_maxrss) {peak:.0f} MB")
    print_result(
        {
            "msgs_per_s": round(rate, 2),
            "limit_breaches": int(figures["breaches"]),
            "delivered": int(figures["delivered"]),
            "peak_mb": round(peak, 1),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
