"""Benchmark: a mixed stream of member updates through the real Application, against a bare
echo bot pushed the same way, on a database the size of a large network.

    .venv/bin/python bench/handlers.py [--updates N] [--no-pin] [--background] [--profile]

Seeds 10,000 members, 100,000 listings and 100,000 exchanges (55% confirmed, with balanced
ledger entries), then drives 25% each of: quick post (/offer TEXT), a browse page (the "Next"
button, which edits the page message), a word search (/search WORD) and a confirm ("Yes" on
hours the other party proposed). Each `process_update` is timed on its own after a warm-up.
The echo bot runs in the same event loop, in blocks alternating with the app's, so that
`cost_ratio` (our mean cost per update over the echo's) is not skewed by whatever else the
machine is doing meanwhile.

The process is pinned to one CPU by default, the targets being per core: aiosqlite's worker
thread then shares that core, as it would on a one-core host. Telegram is the in-memory
stand-in (bot/standin.py), so no network time is included: the figures are the bot's own
CPU and SQLite work, disk syncs included (the app commits with synchronous=FULL). The
stand-in's chat history is cleared between blocks (untimed) so it does not grow with the run.
The app's scheduler is off unless --background: it ticks on a wall-clock timer, so whether a
tick lands in the timed run would be luck. The last line is one JSON object for `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import math
import pstats
import random
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import _common  # first: puts the repo root ahead of bench/ on sys.path
from _common import ErrorCounter, Latencies, Timer, db_time, peak_rss_mb, print_result
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import build_application, running
from bot.clock import FakeClock
from bot.config import Config, parse_config
from bot.sandbox.standin import ChatMember, SentMessage, StandInBotAPI
from bot.services import SERVICES_KEY, Services

MEMBERS = 10_000
LISTINGS = 100_000
EXCHANGES = 100_000
DRIVERS = 500
WARMUP = 300
DEFAULT_UPDATES = 4_000
BLOCK = 250  # updates per app or echo block; the stand-in's history is trimmed between
OVERDRAFT_MINUTES = 10 * 60
CATEGORIES = ["Shopping", "Company", "Garden", "Repairs", "Lifts", "Other"]
KINDS = ("post", "browse", "search", "confirm")
QUICK_MINUTES = (30, 60, 90, 120, 180)
TARGETS = {"updates_per_s": 500, "p99_ms": 20, "cost_ratio": 8}

# Listing bodies are short sentences from these parts, so searches hit thousands of rows.
OPENERS = (
    "Can help with",
    "Happy to do",
    "Offering",
    "Looking for help with",
    "Would love someone for",
    "Need a hand with",
)
TASKS = (
    "weekly shopping",
    "dog walking",
    "garden weeding",
    "a lift to the clinic",
    "fixing a bike",
    "reading letters aloud",
    "hanging curtains",
    "computer help",
    "a cup of tea and a chat",
    "moving boxes",
    "painting a fence",
    "sewing repairs",
    "cooking a hot meal",
    "the school run",
    "collecting a prescription",
    "mowing the lawn",
    "assembling furniture",
    "phone and tablet setup",
    "knitting lessons",
    "a walk in the park",
)
PLACES = (
    "near the library",
    "in Riverside",
    "in Old Town",
    "on Saturday mornings",
    "most evenings",
    "after school",
    "",
)
SEARCHES = (
    "garden",
    "shopping",
    "lift",
    "dog",
    "clinic",
    "bike",
    "tea chat",
    "paint",
    "computer",
    "curtains",
    "knit",
    "lawn",
)

# The bulk of the exchanges: (state, share). The ones the drivers confirm are the rest of the
# 100,000, all 'proposed'.
EXCHANGE_STATES = (
    ("confirmed", 0.55),
    ("cancelled", 0.15),
    ("agreed", 0.12),
    ("proposed", 0.10),
    ("disputed", 0.05),
    ("held", 0.03),
)


@dataclass(frozen=True, slots=True)
class Confirmable:
    """A proposed exchange that `telegram_id` may confirm for exactly `minutes`."""

    exchange_id: int
    telegram_id: int
    minutes: int


@dataclass
class Seeded:
    drivers: list[int]
    confirmable: list[Confirmable]
    listings_before: int
    seconds: float


# --- seeding --------------------------------------------------------------------------------


def seed(path: Path, confirms: int, rng: random.Random, now: datetime) -> Seeded:
    """Fill a fresh file with the app's schema and a large network, in one transaction."""
    started = time.perf_counter()
    _common.migrate(path)
    conn = _common.bulk_connection(path)
    try:
        conn.execute("BEGIN")
        _common.seed_members(conn, MEMBERS, now)
        _seed_listings(conn, rng, now)
        bulk = EXCHANGES - confirms
        _seed_exchanges(conn, rng, now, bulk)
        _seed_ledger(conn)
        drivers = rng.sample(range(1, MEMBERS + 1), DRIVERS)
        confirmable = _seed_confirmable(conn, rng, now, drivers, confirms, first_id=bulk + 1)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return Seeded(
        drivers=[_common.telegram_id_of(member_id) for member_id in drivers],
        confirmable=confirmable,
        listings_before=LISTINGS,
        seconds=time.perf_counter() - started,
    )


def listing_body(rng: random.Random) -> str:
    return " ".join(filter(None, (rng.choice(OPENERS), rng.choice(TASKS), rng.choice(PLACES))))


def _seed_listings(conn: sqlite3.Connection, rng: random.Random, now: datetime) -> None:
    """Listings through the normal INSERT, so the FTS triggers index every body."""

    def rows() -> Iterator[tuple[Any, ...]]:
        for listing_id in range(1, LISTINGS + 1):
            when = db_time(now - timedelta(seconds=(LISTINGS - listing_id) * 30))
            yield (
                listing_id,
                rng.randint(1, MEMBERS),
                rng.choice(("offer", "need")),
                rng.choice(CATEGORIES),
                listing_body(rng),
                "open" if rng.random() < 0.9 else "closed",
                when,
                when,
            )

    conn.executemany(
        "INSERT INTO listings (id, owner_id, kind, category, body, when_where, status,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)",
        rows(),
    )


def _seed_exchanges(
    conn: sqlite3.Connection, rng: random.Random, now: datetime, count: int
) -> None:
    states = [state for state, _ in EXCHANGE_STATES]
    weights = [share for _, share in EXCHANGE_STATES]

    def rows() -> Iterator[tuple[Any, ...]]:
        for exchange_id in range(1, count + 1):
            giver, receiver = rng.sample(range(1, MEMBERS + 1), 2)
            state = rng.choices(states, weights)[0]
            minutes = None if state in ("agreed", "cancelled") else rng.choice(QUICK_MINUTES)
            proposer = None if minutes is None else rng.choice((giver, receiver))
            when = db_time(now - timedelta(minutes=count - exchange_id))
            listing = rng.randint(1, LISTINGS)
            yield (exchange_id, listing, giver, receiver, state, minutes, proposer, when, when)

    _insert_exchanges(conn, rows())


def _insert_exchanges(conn: sqlite3.Connection, rows: Iterator[tuple[Any, ...]]) -> None:
    conn.executemany(
        "INSERT INTO exchanges (id, listing_id, giver_id, receiver_id, state, proposed_minutes,"
        " proposed_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _seed_ledger(conn: sqlite3.Connection) -> None:
    """A balanced transaction per confirmed exchange, keyed as the app keys them."""
    conn.execute(
        "INSERT INTO ledger_transactions (id, kind, exchange_id, idempotency_key, created_at)"
        " SELECT id, 'exchange', id, 'exchange:' || id, updated_at FROM exchanges"
        " WHERE state = 'confirmed'"
    )
    for party, sign in (("giver_id", 1), ("receiver_id", -1)):
        conn.execute(
            "INSERT INTO ledger_entries (transaction_id, account_id, minutes)"
            f" SELECT e.id, a.id, {sign} * e.proposed_minutes FROM exchanges e"
            f" JOIN accounts a ON a.member_id = e.{party} WHERE e.state = 'confirmed'"
        )


def _seed_confirmable(
    conn: sqlite3.Connection,
    rng: random.Random,
    now: datetime,
    drivers: list[int],
    count: int,
    first_id: int,
) -> list[Confirmable]:
    """Proposed exchanges that a driving member will confirm: the other party proposed them,
    and the receiver's balance leaves room under the overdraft limit, so each confirm moves
    credits rather than being held for a coordinator."""
    balances = dict.fromkeys(range(1, MEMBERS + 1), 0)
    balances.update(
        conn.execute(
            "SELECT a.member_id, SUM(e.minutes) FROM ledger_entries e"
            " JOIN accounts a ON a.id = e.account_id GROUP BY a.member_id"
        ).fetchall()
    )
    planned: list[Confirmable] = []
    rows: list[tuple[Any, ...]] = []
    when = db_time(now - timedelta(hours=1))
    for exchange_id in range(first_id, first_id + count):
        driver = drivers[exchange_id % len(drivers)]
        minutes = rng.choice(QUICK_MINUTES)
        other = _other_party(rng, driver, balances, minutes)
        giver, receiver = (driver, other) if rng.random() < 0.5 else (other, driver)
        if balances[receiver] - minutes < -OVERDRAFT_MINUTES:
            giver, receiver = receiver, giver
        # Credits are not counted: confirms come in any order, so a receiver must have room
        # even if every one of their debits lands before any of their credits.
        balances[receiver] -= minutes
        listing = rng.randint(1, LISTINGS)
        rows.append((exchange_id, listing, giver, receiver, "proposed", minutes, other, when, when))
        planned.append(Confirmable(exchange_id, _common.telegram_id_of(driver), minutes))
    _insert_exchanges(conn, iter(rows))
    return planned


def _other_party(rng: random.Random, driver: int, balances: dict[int, int], minutes: int) -> int:
    """A member who could receive `minutes` without passing the overdraft limit."""
    while True:
        other = rng.randint(1, MEMBERS)
        if other != driver and balances[other] - minutes >= -OVERDRAFT_MINUTES:
            return other


# --- driving the app ------------------------------------------------------------------------


class TimedApp:
    """What ChatMember needs of an Application (`bot`, `process_update`), timing each update
    with everything it causes: its handler, and the notices it queued for other people until
    the sender has sent them (the sender's own task does that in production, a moment later).
    Building the Update from JSON happens outside, as PTB's polling loop does it outside
    process_update too."""

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.app, self.bot = app, app.bot
        self.last = 0.0

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        await self.app.process_update(update)
        services = self.app.bot_data.get(SERVICES_KEY)
        if isinstance(services, Services):
            await services.sender.deliver_direct()
        self.last = time.perf_counter() - started

    def member(self, api: StandInBotAPI, telegram_id: int) -> ChatMember:
        name = f"Driver {telegram_id}"
        return ChatMember(cast(Application, self), api, telegram_id, name)  # type: ignore[type-arg]


@dataclass
class Traffic:
    """The driving members and what each does next; the plan is fixed by the random seed."""

    timed: TimedApp
    api: StandInBotAPI
    rng: random.Random
    members: dict[int, ChatMember]
    confirmable: list[Confirmable]
    anchors: dict[int, SentMessage] = field(default_factory=dict)
    pages: dict[int, Iterator[str]] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    def __post_init__(self) -> None:
        self.ids = list(self.members)

    async def open_pages(self) -> None:
        """Each driver searches once, untimed; that result message is the one whose "Next"
        button the browse presses edit from then on."""
        for telegram_id, member in self.members.items():
            await member.says(f"/search {self.rng.choice(SEARCHES)}")
            self.anchors[telegram_id] = member.last
            self.pages[telegram_id] = _page_cycle(self.rng)

    def step(self, kind: str) -> Callable[[], Awaitable[None]]:
        return getattr(self, f"_{kind}")  # type: ignore[no-any-return]

    async def run(self, kind: str) -> float:
        await self.step(kind)()
        self.done[kind] += 1
        return self.timed.last

    def trim(self) -> None:
        """Forget the stand-in's chat history but the page messages: its lists would grow with
        every reply and every answered button (a benchmark artefact, not the app's memory)."""
        self.api.chats.clear()
        self.api.callback_answers.clear()
        for telegram_id, anchor in self.anchors.items():
            self.api.chats[telegram_id] = [anchor]

    def _driver(self) -> tuple[int, ChatMember]:
        telegram_id = self.rng.choice(self.ids)
        return telegram_id, self.members[telegram_id]

    async def _post(self) -> None:
        _, member = self._driver()
        await member.says(f"/offer {listing_body(self.rng)}")

    async def _browse(self) -> None:
        telegram_id, member = self._driver()
        await member.presses(next(self.pages[telegram_id]), self.anchors[telegram_id])

    async def _search(self) -> None:
        _, member = self._driver()
        await member.says(f"/search {self.rng.choice(SEARCHES)}")

    async def _confirm(self) -> None:
        item = self.confirmable.pop()
        member = self.members[item.telegram_id]
        data = f"ex:yes:{item.exchange_id}:{item.minutes}"
        await member.presses(data, self.anchors[item.telegram_id])


def _page_cycle(rng: random.Random) -> Iterator[str]:
    """Browse callback data walking pages 1-10 of each kind and category; consecutive pages
    always differ, so an edit never hits Telegram's "message is not modified"."""
    pages = [
        f"br:page:{offset}:{kind}.{index}"
        for kind in ("need", "offer")
        for index in range(len(CATEGORIES))
        for offset in range(0, 50, 5)
    ]
    start = rng.randrange(len(pages))
    while True:
        yield from pages[start:]
        yield from pages[:start]
        start = 0


def plan(total: int, rng: random.Random) -> list[str]:
    """`total` update kinds, a quarter each, shuffled so every kind meets every other."""
    kinds = [kind for kind in KINDS for _ in range(math.ceil(total / len(KINDS)))][:total]
    rng.shuffle(kinds)
    return kinds


# --- the two measurements -------------------------------------------------------------------


@dataclass
class Measured:
    all: Latencies = field(default_factory=Latencies)
    by_kind: dict[str, Latencies] = field(default_factory=dict)
    timer: Timer = field(default_factory=Timer)
    done: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    profile: str | None = None

    def add(self, kind: str, seconds: float) -> None:
        self.all.add(seconds)
        self.by_kind.setdefault(kind, Latencies()).add(seconds)


class EchoTraffic:
    """Text messages to the bare echo bot, from as many chats as the app's drivers."""

    def __init__(self, timed: TimedApp, api: StandInBotAPI) -> None:
        self.timed, self.api = timed, api
        self.speakers = [timed.member(api, 900_000 + index) for index in range(DRIVERS)]
        self.sent = 0

    async def run(self) -> float:
        self.sent += 1
        await self.speakers[self.sent % len(self.speakers)].says(f"hello number {self.sent}")
        return self.timed.last

    def trim(self) -> None:
        self.api.chats.clear()


def make_config(path: Path) -> Config:
    return parse_config(
        {
            "bot": {"database": str(path)},
            "timebank": {"categories": CATEGORIES, "overdraft_limit_hours": 10},
        }
    )


@asynccontextmanager
async def app_traffic(path: Path, seeded: Seeded, background: bool) -> AsyncIterator[Traffic]:
    """The real Application, without its scheduler unless asked: the scheduler ticks on a
    wall-clock timer, so whether a tick lands inside the timed run would be luck (its own
    cost is bench/reminders.py's subject)."""
    api = StandInBotAPI(record_calls=False)
    config = make_config(path)
    app = build_application(config, request=api, clock=FakeClock(), background=background)
    rng = random.Random(11)
    async with running(app):
        timed = TimedApp(app)
        members = {tid: timed.member(api, tid) for tid in seeded.drivers}
        traffic = Traffic(timed, api, rng, members, list(seeded.confirmable))
        rng.shuffle(traffic.confirmable)
        await traffic.open_pages()
        yield traffic


@asynccontextmanager
async def echo_traffic() -> AsyncIterator[EchoTraffic]:
    """The floor: one MessageHandler that echoes, through the same stand-in and the same
    process_update path, so the ratio isolates what our handlers and storage cost."""
    api = StandInBotAPI(record_calls=False)
    app = ApplicationBuilder().token("123:x").request(api).build()
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    await app.initialize()
    try:
        yield EchoTraffic(TimedApp(app), api)
    finally:
        await app.shutdown()


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None
    assert update.message is not None
    assert update.message.text is not None
    await update.effective_chat.send_message(update.message.text)


async def measure(
    path: Path, seeded: Seeded, args: argparse.Namespace, errors: ErrorCounter
) -> tuple[Measured, Measured]:
    """Warm both bots up, then alternate blocks of app and echo updates, so that whatever
    else the machine is doing slows both alike and the cost ratio stays meaningful."""
    app, echo = Measured(), Measured()
    profiler = cProfile.Profile() if args.profile else None
    async with app_traffic(path, seeded, args.background) as traffic, echo_traffic() as bare:
        kinds = plan(WARMUP + args.updates, traffic.rng)
        for kind in kinds[:WARMUP]:
            await traffic.run(kind)
            await bare.run()
        traffic.trim()
        bare.trim()
        for start in range(WARMUP, len(kinds), BLOCK):
            await _app_block(traffic, kinds[start : start + BLOCK], app, profiler)
            await _echo_block(bare, len(kinds[start : start + BLOCK]), echo)
        app.done = dict(traffic.done)
        # Counted before shutdown: what the scheduler logs while stopping is not a failed update.
        app.errors = errors.count
    app.profile = _profile_text(profiler) if profiler else None
    return app, echo


async def _app_block(
    traffic: Traffic, kinds: list[str], measured: Measured, profiler: cProfile.Profile | None
) -> None:
    with measured.timer:
        if profiler:
            profiler.enable()
        for kind in kinds:
            measured.add(kind, await traffic.run(kind))
        if profiler:
            profiler.disable()
    traffic.trim()


async def _echo_block(bare: EchoTraffic, count: int, measured: Measured) -> None:
    with measured.timer:
        for _ in range(count):
            measured.add("echo", await bare.run())
    bare.trim()


def _profile_text(profiler: cProfile.Profile) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    return out.getvalue()


# --- checks and report ----------------------------------------------------------------------


def check_outcome(path: Path, seeded: Seeded, measured: Measured, errors: ErrorCounter) -> None:
    """Refuse to report speed for work that did not happen: every post is a listing, every
    confirm moved credits once, nothing reached the error handler, the ledger sums to zero."""
    conn = sqlite3.connect(path)
    try:
        listings = conn.execute("SELECT COUNT(*) FROM listings").fetchone()[0]
        ids = [item.exchange_id for item in seeded.confirmable]
        confirmed = conn.execute(
            "SELECT COUNT(*) FROM exchanges WHERE state = 'confirmed' AND id >= ?", (min(ids),)
        ).fetchone()[0]
        total = conn.execute("SELECT COALESCE(SUM(minutes), 0) FROM ledger_entries").fetchone()[0]
        states = conn.execute(
            "SELECT state, COUNT(*) FROM exchanges WHERE id >= ? GROUP BY state", (min(ids),)
        ).fetchall()
    finally:
        conn.close()
    done, problems = measured.done, []
    if listings - seeded.listings_before != done["post"]:
        problems.append(f"{listings - seeded.listings_before} listings for {done['post']} posts")
    if confirmed != done["confirm"]:
        problems.append(
            f"{confirmed} exchanges confirmed for {done['confirm']} confirms"
            f" (states of the confirmable ones: {states})"
        )
    if total != 0:
        problems.append(f"ledger sums to {total}")
    if measured.errors:
        problems.append(f"{measured.errors} errors logged, first: {errors.first}")
    if problems:
        raise SystemExit("benchmark flows failed: " + "; ".join(problems))
    if errors.count:
        print(f"warning: {errors.count} errors logged while the app stopped, first: {errors.first}")


def report(app: Measured, echo: Measured, seeded: Seeded, memory: dict[str, float]) -> None:
    cost_ratio = app.all.mean_ms / echo.all.mean_ms
    figures = {
        "updates_per_s": round(app.all.per_s),
        "p50_ms": round(app.all.percentile_ms(50), 2),
        "p99_ms": round(app.all.percentile_ms(99), 2),
        "peak_mb": round(memory["end"], 1),
        "echo_updates_per_s": round(echo.all.per_s),
        "cost_ratio": round(cost_ratio, 2),
    }
    print(f"\nseeded {MEMBERS:,} members, {LISTINGS:,} listings, {EXCHANGES:,} exchanges")
    print(f"  in {seeded.seconds:.1f} s; {len(seeded.drivers)} members drive the traffic")
    print(
        f"\nper process_update, each timed alone; app and echo alternate in blocks of {BLOCK}"
        f" after a warm-up of {WARMUP} each (updates/s = count / summed time):"
    )
    for kind in KINDS:
        print("  " + app.by_kind[kind].line(kind))
    print("  " + app.all.line("all"))
    print("  " + echo.all.line("echo"))
    print(
        f"\nwall {app.timer.wall_s:.2f} s for {app.all.count} updates"
        f" ({app.all.count / app.timer.wall_s:.0f}/s including building updates in the driver),"
        f" CPU {app.timer.cpu_s:.2f} s ({100 * app.timer.cpu_s / app.timer.wall_s:.0f}% of a core)"
    )
    print(
        "the stand-in's chat history is cleared between blocks (untimed), keeping only each"
        " driver's page message, so it does not grow with the run"
    )
    print(
        f"memory: peak RSS of the whole process (getrusage ru_maxrss): {memory['seeded']:.0f} MB"
        f" after seeding, {memory['end']:.0f} MB at the end (seeding, app and echo runs)"
    )
    print(
        f"cost ratio: {app.all.mean_ms:.2f} ms / {echo.all.mean_ms:.2f} ms echo = {cost_ratio:.2f}"
    )
    print("\ntargets:")
    print(_verdict("updates/s", figures["updates_per_s"], TARGETS["updates_per_s"], higher=True))
    print(_verdict("p99 ms", figures["p99_ms"], TARGETS["p99_ms"], higher=False))
    print(_verdict("cost ratio", figures["cost_ratio"], TARGETS["cost_ratio"], higher=False))
    if app.profile:
        print("\n" + app.profile)
    print_result(figures)


def _verdict(label: str, value: float, target: float, *, higher: bool) -> str:
    met = value >= target if higher else value <= target
    sign = ">=" if higher else "<="
    return f"  {label:<11} {value:>8} (target {sign} {target}): {'met' if met else 'MISSED'}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=DEFAULT_UPDATES, help="timed updates")
    parser.add_argument("--no-pin", action="store_true", help="don't pin to one CPU core")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed app run")
    parser.add_argument(
        "--background",
        action="store_true",
        help="run the app's scheduler (a tick every 5 s); the seeded needs were never nudged,"
        " so ticks work through a backlog, as on the first start after migration 0002",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cpu = None if args.no_pin else _common.pin_to_one_core()
    print(f"pinned to CPU {cpu}" if cpu is not None else "not pinned to one CPU")
    errors = ErrorCounter.install()
    rng = random.Random(7)
    now = FakeClock().now()
    confirms = math.ceil((WARMUP + args.updates) / len(KINDS))
    with tempfile.TemporaryDirectory(prefix="bench-handlers-") as tmp:
        path = Path(tmp) / "timebank.sqlite3"
        print(f"seeding {path} ...", flush=True)
        seeded = seed(path, confirms, rng, now)
        memory = {"seeded": peak_rss_mb()}
        app, echo = asyncio.run(measure(path, seeded, args, errors))
        check_outcome(path, seeded, app, errors)
        memory["end"] = peak_rss_mb()
        report(app, echo, seeded, memory)


if __name__ == "__main__":
    main()
