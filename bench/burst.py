"""Benchmark: a burst of taps after a broadcast, against a Bot API with a realistic round trip.

    .venv/bin/python bench/burst.py [--members N] [--rtt-ms MS] [--sequential]

A coordinator's need went out to everyone with an "I can help" button, and N members (200 by
default) tap it at the same moment. Each tap goes through the Application's own update
processor, as the polling loop hands it over, and costs what it costs in production: the
button's answer, a write (the response and the owner's notice, committed with fsync), and the
member's reply, every Bot API call waiting the round trip (80 ms, a normal one to Telegram).
The sender runs as its own task meanwhile, delivering the owner's notices at Telegram's pace.
Measured: from the moment of the tap to the moment the member's reply has arrived.
`--sequential` processes one update at a time, as python-telegram-bot does by default (and as
this bot did before), for comparison. The last line is one JSON object for `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # first: puts the repo root ahead of bench/ on sys.path
from _common import ErrorCounter, Latencies, print_result, telegram_id_of
from telegram import Update
from telegram.ext import SimpleUpdateProcessor

from bot.app import build_application, running
from bot.clock import SystemClock
from bot.config import parse_config
from bot.sandbox.standin import StandInBotAPI
from storage import listings

DEFAULT_MEMBERS = 200
DEFAULT_RTT_MS = 80
TARGET_P99_S = 1.0


def seed(path: Path, members: int) -> int:
    """Members 1..N, active, each with an account; member 1 owns the need. Returns its id."""
    _common.migrate(path)
    conn = _common.bulk_connection(path)
    try:
        conn.execute("BEGIN")
        _common.seed_members(conn, members, SystemClock().now())
        conn.execute("COMMIT")
    finally:
        conn.close()
    return 1


def press(api: StandInBotAPI, app: Any, member_id: int, data: str) -> Update:
    """The update Telegram sends when member `member_id` taps a button with `data`."""
    user = {"id": telegram_id_of(member_id), "is_bot": False, "first_name": f"M{member_id}"}
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    payload = {
        "update_id": api.next_update_id(),
        "callback_query": {
            "id": str(api.next_update_id()),
            "from": user,
            "chat_instance": str(user["id"]),
            "data": data,
            "message": {"message_id": 1, "date": int(time.time()), "chat": chat, "text": "📣"},
        },
    }
    return Update.de_json(payload, app.bot)


async def burst(path: Path, members: int, rtt: float, sequential: bool) -> Latencies:
    config = parse_config({"bot": {"database": str(path)}, "timebank": {"coordinators": []}})
    api = StandInBotAPI(record_calls=False, rtt=rtt)
    one_at_a_time = SimpleUpdateProcessor(1) if sequential else None  # PTB's default
    app = build_application(config, request=api, background=True, update_processor=one_at_a_time)
    async with running(app):
        svc_db = app.bot_data["services"].db
        need = await listings.create(
            svc_db,
            owner_id=1,
            kind="need",
            category="Other",
            body="Could someone help carry chairs for the community lunch?",
            when_where=None,
            now=SystemClock().now(),
        )
        data = f"ls:respond:{need.id}"
        updates = [press(api, app, member_id, data) for member_id in range(2, members + 1)]
        latencies = Latencies()
        started = time.perf_counter()

        async def tap(update: Update) -> None:
            await app.update_processor.process_update(update, app.process_update(update))
            latencies.add(time.perf_counter() - started)

        await asyncio.gather(*(tap(update) for update in updates))
        answered = await svc_db.scalar("SELECT COUNT(*) FROM responses")
    if answered != len(updates):
        raise SystemExit(f"only {answered} of {len(updates)} taps were recorded")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=DEFAULT_MEMBERS + 1)
    parser.add_argument("--rtt-ms", type=float, default=DEFAULT_RTT_MS)
    parser.add_argument("--sequential", action="store_true", help="one update at a time")
    args = parser.parse_args()
    errors = ErrorCounter.install()
    with tempfile.TemporaryDirectory(prefix="bench-burst-") as tmp:
        path = Path(tmp) / "timebank.sqlite3"
        seed(path, args.members)
        latencies = asyncio.run(burst(path, args.members, args.rtt_ms / 1000, args.sequential))
    if errors.count:
        raise SystemExit(f"{errors.count} errors logged, first: {errors.first}")
    p50, p99 = latencies.percentile_ms(50) / 1000, latencies.percentile_ms(99) / 1000
    mode = "one update at a time" if args.sequential else "concurrent across members"
    print(f"{latencies.count} members tapped at once; Bot API round trip {args.rtt_ms:.0f} ms;")
    print(f"  {mode}: from tap to reply p50 {p50:.2f} s, p99 {p99:.2f} s,")
    print(f"  slowest {max(latencies.samples):.2f} s (target p99 <= {TARGET_P99_S} s)")
    print_result(
        {
            "burst_p50_s": round(p50, 3),
            "burst_p99_s": round(p99, 3),
            "members": latencies.count,
            "rtt_ms": args.rtt_ms,
        }
    )


if __name__ == "__main__":
    main()
