"""Hostile and random updates against the real Application, and the invariants they must keep.

Shared by tests/test_fuzz.py (a couple of thousand actions, one fixed seed) and bench/fuzz.py
(tens of thousands). `run_fuzz` builds the app as the tests do (`build_application` with the
stand-in Bot API, `running(app)`, a FakeClock) on a fresh SQLite file, with eight people: six
members who join through /start (Cora, listed in config, is the coordinator) and two strangers
who never agree to join. It first seeds real activity through the bot itself (posts, "I can
help", accepted exchanges, proposed and confirmed hours), then sends N actions chosen by
`random.Random(seed)`, each from a random person (often the last one again, as people act in
bursts, or someone the bot just wrote to, answering their notification: both carry
conversations and exchanges to their end):

- words: zero-width and right-to-left text, emoji, HTML-looking text, up to 5,000 characters
  (often just around a limit: 64, 500, 2,000, 4,096; sometimes all characters HTML escapes);
  commands from the command table with odd arguments (negative, huge, '٣', '²', names, SQL and
  search syntax); unknown commands. Text arrives as Telegram delivers it: trimmed (so "only
  spaces" arrives as zero-width characters, Telegram never delivers an empty message) and split
  into messages of at most 4,096 characters;
- answers to the bot's latest message (a tap on one of its buttons, or typed words);
- button presses: taps on what the person sees in their own chat; presses of callback data
  copied from other people's messages (forgeries); mutated data (another id, argument or
  action, truncated, junk appended, non-ASCII digits; at most 64 bytes, as Telegram allows);
  replays of an earlier press;
- edited messages re-sending a command, messages and taps in a group chat, a member blocking
  the bot (until they next write to it), and jumps of the fake clock followed by a scheduler
  tick, so nudges fire. A final week-long jump and tick ends the run.

The same seed gives the same run: action #N of `bench/fuzz.py --seed S` is the same with any
`--actions` of N or more, so a violation is reproduced with `--seed S --actions N`.

After every action the invariants below are checked; each break is a Violation counted under
one of four headings.

1. unhandled_errors: an ERROR log record (the app's error handler logs every failed update at
   ERROR, the sender every row that failed unexpectedly); an exception escaping
   `process_update`, the sender or a tick; a generic apology ("errors.generic") with no ERROR
   behind it; a message the stand-in accepted that Telegram would refuse (HTML it can't parse,
   more than 4,096 characters, or nothing but spaces), which on Telegram fails the update.
2. private_leaks, on every message, edit, photo and document the bot delivers (one per
   message, the first rule it breaks):
   - group: into a group chat, only fixed catalogue texts, texts whose placeholders hold no
     member data (counts, limits, categories, hours) and the help text; no names, listings,
     balances, links, figures, files, or buttons naming another member;
   - stranger: to someone with no active membership, the same, apart from the joining steps;
   - coordinator_screen: a photo (chart), a document (CSV export), or a screen showing members'
     data to coordinators (report, settle/record/promote/demote pickers, held, disputed,
     stuck and applicant notices, visitors' offers, cards and checks, broadcast preview and
     report) to a member who was not a coordinator before or after the action;
   - link: a link the bot built to person X (`<a href="tg://user?id=X">` or
     `<a href="https://t.me/X">`) sent to someone other than X who is neither a coordinator
     nor X's partner in an exchange (accepting "I can help" is what introduces them);
   - balance: a "Your balance" figure that is not the recipient's own balance;
   - history: a history list naming someone the recipient never had an exchange with.
3. ledger_errors (SQL on the file through the app's read connection): all entries sum to 0;
   every transaction has two or more entries summing to 0; an exchange's entries credit its
   giver exactly its hours if it is confirmed (nothing otherwise), debit its receiver as much,
   and touch no other account. Each problem is reported once, by the action that caused it.
4. unauthorised_changes, comparing the tables before and after each action:
   - exchange: created or changed only by one of its parties or a coordinator (a scheduler
     tick may too); created from a listing only by that listing's owner (who accepts); newly
     credited (confirmed, or its confirmed hours changed) by a party only when the other party
     proposed those very hours, otherwise only by a coordinator who is not a party;
   - listing: created or changed only by its owner; response: created only by its responder,
     answered only by the owner of its listing;
   - member: role, status and pause changed only by a coordinator; name, username,
     neighbourhood and settings only by the member; a new member is the person joining, or
     someone without Telegram added by a coordinator;
   - ledger: a transaction only alongside a change to its exchange in the same action;
     broadcast: started or stopped only by a coordinator.
"""

from __future__ import annotations

import html
import itertools
import json
import logging
import random
import re
import time
import traceback
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache, cached_property, partial
from pathlib import Path
from types import TracebackType
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.app import build_application, running
from bot.clock import FakeClock
from bot.config import Config, parse_config
from bot.outbound.scheduler import tick
from bot.sandbox.standin import (
    BOT_ID,
    BOT_USERNAME,
    ApiCall,
    SentMessage,
    StandInBotAPI,
    in_own_task,
    shown_keyboard,
)
from bot.services import Services, services_of
from bot.ui.commands import COMMANDS
from bot.ui.i18n import DEFAULT_LANGUAGE, catalogue, hours, languages, t, usable
from storage.db import Database
from storage.models import FORMER_MEMBER_ID

INVARIANTS = ("unhandled_errors", "private_leaks", "ledger_errors", "unauthorised_changes")
REPO_ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("bot", "handlers", "storage")  # where a fault is located, in a traceback

# --- the people -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Someone who talks to the bot; `weight` is how often they act, relative to the others."""

    name: str
    user_id: int
    username: str | None = None
    stranger: bool = False
    weight: int = 2

    def user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.name}
        if self.username:
            user["username"] = self.username
        return user

    def chat(self) -> dict[str, Any]:
        return {"id": self.user_id, "type": "private", "first_name": self.name}


COORDINATOR_ID = 900
PEOPLE = (
    Person("Alice", 101, "alice_riverside"),
    Person("Bob", 102),
    Person("Dan", 103, "dan_digs"),
    Person("Eve", 104),
    Person("Finn", 105),
    Person("Cora", COORDINATOR_ID, "cora_coordinates", weight=3),
    Person("Sam", 201, stranger=True, weight=1),
    Person("Tia", 202, "tia_tea", stranger=True, weight=1),
)
MEMBERS = tuple(person for person in PEOPLE if not person.stranger)
BY_NAME = {person.name: person for person in PEOPLE}
GROUP_CHAT: dict[str, Any] = {"id": -4_100_200_300, "type": "group", "title": "Riverside friends"}
NEIGHBOURHOODS = ["Riverside", "Old Town"]
CATEGORIES = ["Shopping", "Garden", "Company", "Other"]


def fuzz_config(directory: Path) -> Config:
    """The tests' configuration: two neighbourhoods, four categories, Cora coordinates."""
    return parse_config(
        {
            "bot": {"database": str(directory / "timebank.sqlite3")},
            "timebank": {
                "neighbourhoods": NEIGHBOURHOODS,
                "categories": CATEGORIES,
                "overdraft_limit_hours": 10,
                "coordinators": [COORDINATOR_ID],
            },
        }
    )


# --- what happened, and what broke ------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One thing someone did, worded so that a developer can do it again by hand."""

    index: int
    kind: str
    actor: str
    what: str

    def __str__(self) -> str:
        return f"#{self.index} {self.actor} {self.what}"


@dataclass(frozen=True)
class Finding:
    """A broken invariant before it is tied to its action: `signature` names the fault (two
    findings with one signature are the same bug), `detail` this occurrence."""

    invariant: str
    kind: str
    signature: str
    detail: str


@dataclass(frozen=True)
class Violation:
    """A finding tied to the action that caused it."""

    finding: Finding
    action: Action
    trail: tuple[Action, ...]  # the actor's actions just before, for reproducing it

    def describe(self) -> str:
        lines = [f"{self.finding.detail}", f"    by {self.action}"]
        if self.trail:
            lines.append("    after " + "; ".join(str(earlier) for earlier in self.trail))
        return "\n".join(lines)


@dataclass
class FuzzReport:
    """What a run did and every violation it found, with summaries for a test and a bench."""

    seed: int
    actions: int = 0
    seconds: float = 0.0
    kinds: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    # Rows the random actions created or changed, per table: what the ledger and entitlement
    # checks had to judge (seeding left out).
    changes: Counter[str] = field(default_factory=Counter)

    def count(self, invariant: str) -> int:
        return sum(1 for v in self.violations if v.finding.invariant == invariant)

    @property
    def clean(self) -> bool:
        return not self.violations

    def by_kind(self) -> Counter[str]:
        return Counter(f"{v.finding.invariant}.{v.finding.kind}" for v in self.violations)

    def faults(self) -> list[tuple[Violation, int]]:
        """Each distinct fault (by signature) once: its first occurrence and how often."""
        first: dict[str, Violation] = {}
        counts: Counter[str] = Counter()
        for violation in self.violations:
            first.setdefault(violation.finding.signature, violation)
            counts[violation.finding.signature] += 1
        return [(violation, counts[signature]) for signature, violation in first.items()]

    def figures(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "actions": self.actions,
            **{invariant: self.count(invariant) for invariant in INVARIANTS},
            "distinct_faults": len(self.faults()),
            "seconds": round(self.seconds, 2),
        }

    def summary(self, limit: int = 8) -> str:
        """The counts, then the first occurrence of up to `limit` distinct faults."""
        counts = ", ".join(f"{self.count(invariant)} {invariant}" for invariant in INVARIANTS)
        lines = [f"fuzz seed {self.seed}: {self.actions} actions in {self.seconds:.1f} s: {counts}"]
        faults = self.faults()
        if faults:
            lines.append(f"{len(faults)} distinct faults, first occurrence of each:")
        for violation, count in faults[:limit]:
            finding = violation.finding
            lines.append(f"- [{finding.invariant}] {finding.signature} ({count}x)")
            lines.append("    " + violation.describe())
        if len(faults) > limit:
            lines.append(f"... and {len(faults) - limit} more (bench/fuzz.py lists them all)")
        if faults:
            index = faults[0][0].action.index
            lines.append(f"reproduce: bench/fuzz.py --seed {self.seed} --actions {index}")
        return "\n".join(lines)


class ErrorRecords(logging.Handler):
    """Keeps the ERROR records logged since the last `take`: the app's error handler logs
    every failed update at ERROR, and the sender every row that failed unexpectedly."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        taken, self.records = self.records, []
        return taken


@contextmanager
def recording_errors() -> Iterator[ErrorRecords]:
    handler = ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


# --- the tables, before and after each action -------------------------------------------------

Rows = dict[int, dict[str, Any]]

SNAPSHOT_SQL = {
    "members": "SELECT id, telegram_id, display_name, username, neighbourhood, status, role,"
    " nudges_enabled, nudge_digest, quiet_hours, language, paused_at"
    " FROM members",
    "listings": "SELECT id, owner_id, kind, category, body, when_where, status FROM listings",
    "responses": "SELECT id, listing_id, responder_id, status FROM responses",
    "exchanges": "SELECT id, listing_id, giver_id, receiver_id, state, proposed_minutes,"
    " proposed_by, scheduled_at FROM exchanges",
    "ledger_transactions": "SELECT id, exchange_id FROM ledger_transactions",
    "broadcasts": "SELECT id, coordinator_id, state FROM broadcasts",
}
# Who may change which column of a member: anything else is the member's own.
COORDINATOR_COLUMNS = frozenset({"role", "status", "paused_at"})


@dataclass
class Snapshot:
    """The rows the invariants look at, as committed (read on the app's read connection)."""

    tables: dict[str, Rows]

    @cached_property
    def by_telegram_id(self) -> dict[int, dict[str, Any]]:
        return {
            row["telegram_id"]: row
            for row in self.tables["members"].values()
            if row["telegram_id"] is not None
        }

    @cached_property
    def partners(self) -> dict[int, set[int]]:
        """Member id to the members they share an exchange with (they were introduced)."""
        found: dict[int, set[int]] = {}
        for row in self.tables["exchanges"].values():
            found.setdefault(row["giver_id"], set()).add(row["receiver_id"])
            found.setdefault(row["receiver_id"], set()).add(row["giver_id"])
        return found

    def member(self, telegram_id: int) -> dict[str, Any] | None:
        return self.by_telegram_id.get(telegram_id)

    def is_coordinator(self, telegram_id: int) -> bool:
        row = self.member(telegram_id)
        return row is not None and row["role"] == "coordinator" and row["status"] == "active"


async def take_snapshot(db: Database) -> Snapshot:
    tables: dict[str, Rows] = {}
    for table, sql in SNAPSHOT_SQL.items():
        tables[table] = {row["id"]: dict(row) for row in await db.all(sql)}
    return Snapshot(tables)


@dataclass(frozen=True)
class Actor:
    """Who did the action, as the change rules need it; the scheduler has no member id."""

    telegram_id: int | None
    member_id: int | None
    coordinator: bool

    @property
    def scheduler(self) -> bool:
        return self.telegram_id is None


def change_findings(before: Snapshot, after: Snapshot, actor: Actor) -> list[Finding]:
    """Invariant 4: every row created or changed by this action, against who did it."""
    changed_exchanges = {row["id"] for _, row in _changes(before, after, "exchanges")}
    return [
        *_exchange_changes(before, after, actor),
        *_listing_changes(before, after, actor),
        *_response_changes(before, after, actor),
        *_member_changes(before, after, actor),
        *_ledger_changes(before, after, changed_exchanges),
        *_broadcast_changes(before, after, actor),
        *_deletions(before, after, actor),
    ]


def _changes(
    before: Snapshot, after: Snapshot, table: str
) -> Iterator[tuple[dict[str, Any] | None, dict[str, Any]]]:
    old_rows = before.tables[table]
    for key, row in after.tables[table].items():
        old = old_rows.get(key)
        if old != row:
            yield old, row


def _role(actor: Actor) -> str:
    if actor.scheduler:
        return "the scheduler"
    if actor.coordinator:
        return "a coordinator"
    return "a member" if actor.member_id else "a stranger"


def _unauthorised(kind: str, what: str, actor: Actor, old: Any, new: Any) -> Finding:
    role = _role(actor)
    return Finding(
        "unauthorised_changes",
        kind,
        f"{kind}: {what} by {role}",
        f"{what} by {role} (member {actor.member_id}): {old} -> {new}",
    )


def _exchange_changes(before: Snapshot, after: Snapshot, actor: Actor) -> Iterator[Finding]:
    if actor.scheduler:
        return
    listings = after.tables["listings"]
    leaving = _left(before, after, actor)
    for old, new in _changes(before, after, "exchanges"):
        if leaving and old is not None:
            if not _left_behind(old, new, actor):
                yield _unauthorised("exchange", "exchange changed on leaving", actor, old, new)
            continue
        parties = {new["giver_id"], new["receiver_id"]}
        if old is None:
            listing = listings.get(new["listing_id"]) if new["listing_id"] else None
            allowed = (
                actor.member_id == listing["owner_id"] if listing is not None else actor.coordinator
            )
            if not allowed:
                yield _unauthorised("exchange", "exchange created", actor, None, new)
            continue
        if actor.member_id not in parties and not actor.coordinator:
            yield _unauthorised("exchange", "exchange changed by an outsider", actor, old, new)
            continue
        credited = new["state"] == "confirmed" and (
            old["state"] != "confirmed" or old["proposed_minutes"] != new["proposed_minutes"]
        )
        by_other_party = (
            actor.member_id in parties
            and old["state"] == "proposed"
            and old["proposed_by"] not in (None, actor.member_id)
            and new["proposed_minutes"] == old["proposed_minutes"]
        )
        by_coordinator = actor.coordinator and actor.member_id not in parties
        if credited and not (by_other_party or by_coordinator):
            what = f"exchange credited from {old['state']}"
            yield _unauthorised("exchange", what, actor, old, new)


def _left(before: Snapshot, after: Snapshot, actor: Actor) -> bool:
    """Whether this action was the actor leaving the timebank (/forget)."""
    member = actor.member_id
    return (
        member is not None
        and member in before.tables["members"]
        and (member not in after.tables["members"])
    )


# What leaving may do to an exchange: name the former member where it named the leaver, let go
# of their post and answer, and call off help not yet done.
_NAMING_COLUMNS = ("giver_id", "receiver_id", "proposed_by")
_OPEN_STATES = ("agreed", "proposed", "held", "disputed")


def _left_behind(old: dict[str, Any], new: dict[str, Any], actor: Actor) -> bool:
    for column, value in new.items():
        if value == old[column]:
            continue
        renamed = column in _NAMING_COLUMNS and old[column] == actor.member_id
        if renamed and value == FORMER_MEMBER_ID:
            continue
        if column in ("listing_id", "response_id") and value is None:
            continue
        if column == "state" and value == "cancelled" and old[column] in _OPEN_STATES:
            continue
        return False
    return actor.member_id in (old["giver_id"], old["receiver_id"])


def _deletions(before: Snapshot, after: Snapshot, actor: Actor) -> Iterator[Finding]:
    """Rows gone: only a member's own (leaving, or withdrawing), or old ones the scheduler's
    retention purge takes."""
    if actor.scheduler:
        return
    gone_members = before.tables["members"].keys() - after.tables["members"].keys()
    for member_id in gone_members - {actor.member_id}:
        yield _unauthorised("member", "member deleted", actor, member_id, None)
    listings = before.tables["listings"]
    for listing_id in listings.keys() - after.tables["listings"].keys():
        if listings[listing_id]["owner_id"] != actor.member_id:
            yield _unauthorised("listing", "listing deleted", actor, listings[listing_id], None)
    responses = before.tables["responses"]
    for response_id in responses.keys() - after.tables["responses"].keys():
        response = responses[response_id]
        owner = listings.get(response["listing_id"], {}).get("owner_id")
        if actor.member_id not in (response["responder_id"], owner):
            yield _unauthorised("response", "response deleted", actor, response, None)


def _listing_changes(before: Snapshot, after: Snapshot, actor: Actor) -> Iterator[Finding]:
    for old, new in _changes(before, after, "listings"):
        if actor.member_id != new["owner_id"]:
            what = "listing created for another" if old is None else "listing changed"
            yield _unauthorised("listing", what, actor, old, new)


def _response_changes(before: Snapshot, after: Snapshot, actor: Actor) -> Iterator[Finding]:
    listings = after.tables["listings"]
    for old, new in _changes(before, after, "responses"):
        if old is None and actor.member_id != new["responder_id"]:
            yield _unauthorised("response", "response made for another", actor, None, new)
        elif old is not None and not _may_answer(actor, listings[new["listing_id"]], new):
            yield _unauthorised("response", "response answered", actor, old, new)


def _may_answer(actor: Actor, listing: dict[str, Any], response: dict[str, Any]) -> bool:
    """The listing's owner answers a response; either party of the help withdraws it ("It
    didn't happen", so the helper may offer again), and so does a coordinator settling it."""
    if actor.member_id == listing["owner_id"]:
        return True
    withdrawn = response["status"] == "withdrawn"
    return withdrawn and (actor.member_id == response["responder_id"] or actor.coordinator)


def _member_changes(before: Snapshot, after: Snapshot, actor: Actor) -> Iterator[Finding]:
    for old, new in _changes(before, after, "members"):
        if old is None:
            joining = new["telegram_id"] is not None and new["telegram_id"] == actor.telegram_id
            offline = new["telegram_id"] is None and actor.coordinator
            if not (joining or offline):
                yield _unauthorised("member", "member added", actor, None, new)
            continue
        for column in sorted(key for key in new if new[key] != old[key]):
            allowed = (
                actor.coordinator if column in COORDINATOR_COLUMNS else actor.member_id == new["id"]
            )
            if not allowed:
                what = f"member {column} changed"
                yield _unauthorised("member", what, actor, old[column], new[column])


def _ledger_changes(before: Snapshot, after: Snapshot, changed: set[int]) -> Iterator[Finding]:
    for old, new in _changes(before, after, "ledger_transactions"):
        if old is None and new["exchange_id"] not in changed:
            yield Finding(
                "unauthorised_changes",
                "ledger",
                "ledger: transaction with no change to its exchange",
                f"ledger transaction {new['id']} for exchange {new['exchange_id']}, which this"
                " action did not change",
            )


def _broadcast_changes(before: Snapshot, after: Snapshot, actor: Actor) -> Iterator[Finding]:
    for old, new in _changes(before, after, "broadcasts"):
        started = old is None
        stopped = old is not None and old["state"] != "cancelled" and new["state"] == "cancelled"
        if (started or stopped) and not actor.coordinator:
            what = "broadcast started" if started else "broadcast stopped"
            yield _unauthorised("broadcast", what, actor, old, new)


# --- the ledger ---------------------------------------------------------------------------------

UNBALANCED_SQL = (
    "SELECT t.id, COUNT(e.id), COALESCE(SUM(e.minutes), 0) FROM ledger_transactions t"
    " LEFT JOIN ledger_entries e ON e.transaction_id = t.id GROUP BY t.id"
    " HAVING COUNT(e.id) < 2 OR SUM(e.minutes) != 0"
)
EXCHANGE_CREDIT_SQL = (
    "SELECT x.id, x.state, x.proposed_minutes, x.giver_id = x.receiver_id AS both_left,"
    " COALESCE(SUM(CASE WHEN a.member_id = x.giver_id THEN e.minutes END), 0) AS giver,"
    " COALESCE(SUM(CASE WHEN a.member_id = x.receiver_id THEN e.minutes END), 0) AS receiver,"
    " COUNT(CASE WHEN e.id IS NOT NULL AND (a.member_id IS NULL"
    " OR a.member_id NOT IN (x.giver_id, x.receiver_id)) THEN 1 END) AS stray"
    " FROM exchanges x LEFT JOIN ledger_transactions t ON t.exchange_id = x.id"
    " LEFT JOIN ledger_entries e ON e.transaction_id = t.id"
    " LEFT JOIN accounts a ON a.id = e.account_id GROUP BY x.id"
)


async def ledger_problems(db: Database) -> dict[str, Finding]:
    """Invariant 3, as findings keyed by what is wrong (so each is reported once)."""
    problems: dict[str, Finding] = {}
    total = int(await db.scalar("SELECT COALESCE(SUM(minutes), 0) FROM ledger_entries"))
    if total:
        problems[f"sum:{total}"] = _ledger("sum", f"all ledger entries sum to {total} minutes")
    for tx_id, entries, minutes in await db.all(UNBALANCED_SQL):
        detail = f"transaction {tx_id} has {entries} entries summing to {minutes}"
        problems[f"tx:{tx_id}"] = _ledger("transaction", detail)
    for row in await db.all(EXCHANGE_CREDIT_SQL):
        expected = (row["proposed_minutes"] or 0) if row["state"] == "confirmed" else 0
        if row["both_left"]:  # both sides are the former member: its entries cancel out
            expected = 0
        if (row["giver"], row["receiver"], row["stray"]) != (expected, -expected, 0):
            detail = (
                f"exchange {row['id']} ({row['state']}, {row['proposed_minutes']} min) credits"
                f" its giver {row['giver']}, its receiver {row['receiver']}, and {row['stray']}"
                f" entries elsewhere; expected {expected}"
            )
            key = f"exchange:{row['id']}:{row['giver']}:{row['receiver']}:{row['stray']}"
            problems[key] = _ledger("exchange_credit", detail)
    return problems


def _ledger(kind: str, detail: str) -> Finding:
    return Finding("ledger_errors", kind, f"ledger: {kind}", detail)


async def balances(db: Database) -> dict[int, int]:
    rows = await db.all(
        "SELECT a.member_id, COALESCE(SUM(e.minutes), 0) FROM accounts a"
        " LEFT JOIN ledger_entries e ON e.account_id = a.id"
        " WHERE a.member_id IS NOT NULL GROUP BY a.member_id"
    )
    return {row[0]: row[1] for row in rows}


# --- what the bot sent ------------------------------------------------------------------------

# Telegram's limits on a text after entities are parsed: a message, and a caption.
TEXT_LIMITS = {
    "sendMessage": 4096,
    "editMessageText": 4096,
    "sendPhoto": 1024,
    "sendDocument": 1024,
}
FILE_METHODS = frozenset({"sendPhoto", "sendDocument"})


@dataclass(frozen=True)
class Outgoing:
    """One message, edit, photo or document the bot delivered, as its recipient sees it."""

    method: str
    chat_id: int
    text: str
    html: bool
    buttons: tuple[str, ...]

    @property
    def brief(self) -> str:
        return f"{self.method} to {self.chat_id}: {shown(self.text, 160)}"


def delivered(calls: Sequence[ApiCall], blocked: set[int]) -> list[Outgoing]:
    """The calls that put words in a chat, leaving out those to people who blocked the bot
    (Telegram refused them, so nobody saw them)."""
    found = []
    for call in calls:
        chat = call.params.get("chat_id")
        if call.method not in TEXT_LIMITS or chat is None or int(chat) in blocked:
            continue
        text = call.params.get("caption" if call.method in FILE_METHODS else "text") or ""
        found.append(
            Outgoing(
                method=call.method,
                chat_id=int(chat),
                text=str(text),
                html=call.params.get("parse_mode") == "HTML",
                buttons=_labels(call.params.get("reply_markup")),
            )
        )
    return found


def _labels(markup: Any) -> tuple[str, ...]:
    if isinstance(markup, str):
        markup = json.loads(markup)
    rows = (markup or {}).get("inline_keyboard", []) + (markup or {}).get("keyboard", [])
    return tuple(b["text"] if isinstance(b, dict) else str(b) for row in rows for b in row)


# The tags Telegram's HTML accepts; anything else after "<" fails the whole message.
TELEGRAM_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a"}
    | {"code", "pre", "blockquote", "tg-emoji"}
)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")


def telegram_html(text: str) -> tuple[str | None, str]:
    """(Why Telegram would refuse this HTML, or None; the text its reader sees), following
    Telegram's parser: only its tags, properly nested; '&' it leaves alone when not an entity."""
    stack: list[str] = []
    visible: list[str] = []
    position = 0
    while (start := text.find("<", position)) != -1:
        visible.append(text[position:start])
        tag = _TAG.match(text, start)
        name = tag.group(2).lower() if tag else ""
        if tag is None or name not in TELEGRAM_TAGS:
            return f"can't parse entities: unsupported start tag {text[start : start + 12]!r}", ""
        if tag.group(1):
            if not stack or stack.pop() != name:
                return f"can't parse entities: unexpected end tag </{name}>", ""
        else:
            stack.append(name)
        position = tag.end()
    if stack:
        return f"can't parse entities: no end tag for <{stack[-1]}>", ""
    visible.append(text[position:])
    return None, html.unescape("".join(visible))


def telegram_refusal(out: Outgoing) -> str | None:
    """What Telegram would answer 400 for, that the stand-in lets through."""
    visible = out.text
    if out.html:
        problem, visible = telegram_html(out.text)
        if problem:
            return problem
    limit = TEXT_LIMITS[out.method]
    if len(visible) > limit:
        return f"text is too long: {len(visible)} characters, the limit is {limit}"
    if out.method not in FILE_METHODS and not visible.strip():
        return "message text is empty"
    return None


# --- the catalogue as patterns ------------------------------------------------------------------

# Placeholders that never hold member data, and what they look like once filled in: numbers,
# hours, the config's names, and the words the person just typed in that same chat.
_NUMBER = r"[\d,.\u00a0\u202f]+"  # grouped the language's way: 1,200 · 1.200 · 1 200
HARMLESS = {
    **dict.fromkeys(("count", "limit", "days", "number", "page", "sent", "total"), _NUMBER),
    "n": r"−?[\d¼½¾]+",
    "hours": r"−?[\d¼½¾]+ hours?",
    **dict.fromkeys(("category", "timebank", "words", "title"), r"[^\n]*?"),
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Screens that show members' data or the network's figures, meant for coordinators only.
COORDINATOR_SCREENS = (
    "report.title",
    "coordinator.settle_which",
    "coordinator.open_needs_title",
    "coordinator.record_pick",
    "coordinator.promote_which",
    "coordinator.demote_which",
    "visitor.applied_notice",
    "visitor.list_title",
    "visitor.card",
    "visitor.check_sure",
    "visitor.expiring_coordinator",
    "visitor.expired_coordinator",
    "coordinator.held",
    "coordinator.disputed",
    "coordinator.confirm_stuck",
    "coordinator.applied",
    "safety.report_notice",
    "safety.paused_title",
    "broadcast.preview",
    "broadcast.report",
    "export.intro",
)


@dataclass(frozen=True)
class Template:
    """A catalogue sentence as a pattern: each placeholder a named group (repeats must be
    equal), harmless ones as narrow as their values."""

    key: str
    pattern: re.Pattern[str]
    placeholders: frozenset[str]
    literal: int

    @classmethod
    def of(cls, key: str, text: str) -> Template:
        parts = _PLACEHOLDER.split(text)
        seen: set[str] = set()
        regex = []
        for position, part in enumerate(parts):
            if position % 2 == 0:
                regex.append(re.escape(part))
            elif part in seen:
                regex.append(f"(?P={part})")
            else:
                seen.add(part)
                regex.append(f"(?P<{part}>{HARMLESS.get(part, '.*?')})")
        literal = sum(len(part) for part in parts[::2])
        return cls(key, re.compile("".join(regex), re.DOTALL), frozenset(seen), literal)

    @property
    def harmless(self) -> bool:
        return self.placeholders <= HARMLESS.keys()


@cache
def templates() -> tuple[Template, ...]:
    """Every sentence of every language's catalogue, the most literal first (best to name a
    text by)."""
    found = [
        Template.of(key, text)
        for language in languages()
        for key, text in catalogue(language).items()
    ]
    return tuple(sorted(found, key=lambda template: -template.literal))


@cache
def template_of(key: str) -> tuple[Template, ...]:
    """The sentence `key` in each language."""
    return tuple(found for found in templates() if found.key == key)


def matches(key: str, text: str) -> re.Match[str] | None:
    """The sentence `key`, in whichever language, if it is the whole of `text`."""
    return next(filter(None, (found.pattern.fullmatch(text) for found in template_of(key))), None)


def in_any_language(key: str) -> frozenset[str]:
    return frozenset(t(key, language) for language in languages())


def identify(text: str) -> str:
    """The catalogue key a text starts with, to name a fault by ("?" if none)."""
    for found in templates():
        if found.literal >= 3 and found.pattern.match(text):
            return found.key
    return "?"


def allowed_without_membership(text: str, *, joining: bool) -> bool:
    """Whether a text may go where nobody is entitled to members' data (a group chat, a
    stranger): the help text, or a catalogue sentence whose placeholders hold none (or, to
    someone `joining`, a step of joining, which only repeats what they typed)."""
    if any(text.startswith(hours_explained) for hours_explained in in_any_language("help.hours")):
        return True
    return any(
        (found.harmless or (joining and found.key.startswith("join.")))
        and found.pattern.fullmatch(text)
        for found in templates()
    )


_LINK = re.compile(r'<a href="(?:tg://user\?id=(\d+)|https://t\.me/([^"]+))">')


def _balance_shown(text: str) -> str | None:
    for found in templates():
        if "balance" in found.placeholders and (match := found.pattern.fullmatch(text)):
            return match.group("balance")
    return None


def _history_names(text: str) -> list[str] | None:
    title, _, lines = text.partition("\n")
    if title not in in_any_language("history.title"):
        return None
    names = []
    for line in lines.split("\n"):
        for key in ("history.gave", "history.received"):
            if match := matches(key, line):
                names.append(match.group("name"))
    return names


# --- invariant 2: who may see what --------------------------------------------------------------


@dataclass
class Audience:
    """What the rules need to know about recipients around one action."""

    before: Snapshot
    after: Snapshot
    actor: Person | None
    balances: dict[int, int]

    def member(self, telegram_id: int) -> dict[str, Any] | None:
        return self.after.member(telegram_id) or self.before.member(telegram_id)

    def active(self, telegram_id: int) -> bool:
        return any(
            row is not None and row["status"] == "active"
            for row in (self.before.member(telegram_id), self.after.member(telegram_id))
        )

    def coordinator(self, telegram_id: int) -> bool:
        return self.before.is_coordinator(telegram_id) or self.after.is_coordinator(telegram_id)

    def introduced(self, telegram_id: int, other: dict[str, Any]) -> bool:
        me = self.member(telegram_id)
        return me is not None and other["id"] in self.after.partners.get(me["id"], set())

    def partner_names(self, telegram_id: int) -> set[str]:
        me = self.member(telegram_id)
        ids = self.after.partners.get(me["id"], set()) if me else set()
        members = self.after.tables["members"]
        names = {html.escape(members[i]["display_name"], quote=False) for i in ids if i in members}
        return names | in_any_language("member.former")

    def other_names(self) -> list[str]:
        """Names of the seeded members other than the actor, to spot them on buttons."""
        return [person.name for person in MEMBERS if person is not self.actor]


def leak(out: Outgoing, audience: Audience) -> Finding | None:
    """Invariant 2 for one delivered message: the first rule it breaks, if any."""
    if out.chat_id < 0:
        joining = audience.actor is not None and not audience.active(audience.actor.user_id)
        return _unentitled(out, audience, "group", joining=joining)
    if _own_data_file(out, audience):
        return None
    if not audience.active(out.chat_id):
        return _unentitled(out, audience, "stranger", joining=True)
    if not audience.coordinator(out.chat_id):
        screen = out.method if out.method in FILE_METHODS else _coordinator_screen(out.text)
        if screen:
            return _leak("coordinator_screen", f"{screen} to a member", out)
    for telegram_id, username in _LINK.findall(out.text):
        target = (
            audience.member(int(telegram_id)) if telegram_id else _by_username(audience, username)
        )
        own = target is not None and target["telegram_id"] == out.chat_id
        if (
            not own
            and not audience.coordinator(out.chat_id)
            and not (target is not None and audience.introduced(out.chat_id, target))
        ):
            return _leak("link", f"link to a stranger's chat in {identify(out.text)}", out)
    return _figures_leak(out, audience)


def _figures_leak(out: Outgoing, audience: Audience) -> Finding | None:
    shown_balance = _balance_shown(out.text)
    me = audience.member(out.chat_id)
    if shown_balance is not None and me is not None:
        own = hours(
            audience.balances.get(me["id"], 0), usable(me.get("language")) or DEFAULT_LANGUAGE
        )
        if shown_balance != own:
            return _leak(
                "balance",
                f"balance other than the recipient's in {identify(out.text)}",
                out,
                f" (shows {shown_balance}, theirs is {own})",
            )
    names = _history_names(out.text)
    if names is not None and not set(names) <= audience.partner_names(out.chat_id):
        return _leak("history", "history naming a non-partner", out)
    return None


def _own_data_file(out: Outgoing, audience: Audience) -> bool:
    """/mydata's file, to someone we keep a row about (joined, or waiting to be): theirs."""
    return (
        out.method == "sendDocument"
        and out.text in in_any_language("mydata.caption")
        and audience.member(out.chat_id) is not None
    )


def _unentitled(out: Outgoing, audience: Audience, kind: str, *, joining: bool) -> Finding | None:
    where = "group chat" if kind == "group" else "stranger"
    if out.method in FILE_METHODS:
        return _leak(kind, f"{out.method} to a {where}", out)
    if not allowed_without_membership(out.text, joining=joining):
        return _leak(kind, f"{identify(out.text)} to a {where}", out)
    for name in audience.other_names():
        if any(re.search(rf"\b{name}\b", label) for label in out.buttons):
            return _leak(kind, f"buttons naming members to a {where}", out)
    return None


def _coordinator_screen(text: str) -> str | None:
    return next(
        (
            key
            for key in _screen_keys()
            if any(found.pattern.match(text) for found in template_of(key))
        ),
        None,
    )


@cache
def _screen_keys() -> tuple[str, ...]:
    """The coordinator screens' catalogue keys, a plural message's forms each."""
    keys = catalogue()
    return tuple(
        found
        for screen in COORDINATOR_SCREENS
        for found in (
            [screen] if screen in keys else sorted(k for k in keys if k.startswith(f"{screen}."))
        )
    )


def _by_username(audience: Audience, username: str) -> dict[str, Any] | None:
    for snapshot in (audience.after, audience.before):
        for row in snapshot.tables["members"].values():
            if row["username"] == html.unescape(username):
                return row
    return None


def _leak(kind: str, signature: str, out: Outgoing, extra: str = "") -> Finding:
    return Finding("private_leaks", kind, f"{kind}: {signature}", f"{out.brief}{extra}")


# --- the world: the app, the stand-in, the clock, and the checks around each action ------------


class World:
    """The real Application on a fresh file, and the invariants checked around every action."""

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        api: StandInBotAPI,
        clock: FakeClock,
        errors: ErrorRecords,
        seed: int,
    ) -> None:
        self.app, self.api, self.clock, self.errors = app, api, clock, errors
        self.services: Services = services_of(app)
        self.report = FuzzReport(seed)
        self.trails: dict[str, deque[Action]] = {}
        self.state = Snapshot({table: {} for table in SNAPSHOT_SQL})
        self.problems: dict[str, Finding] = {}
        self.notified: list[int] = []  # private chats the last action sent something to
        self._version = -1  # the file's data_version when `state` was read
        self._message_ids = itertools.count(30_000_000)

    @property
    def db(self) -> Database:
        return self.services.db

    async def start(self) -> None:
        await self._read_state()
        self.problems = await ledger_problems(self.db)

    async def _read_state(self) -> bool:
        """Read the tables again if anything was committed since they were last read (SQLite's
        data_version, on the read connection, changes exactly then); True if it was."""
        version = int(await self.db.scalar("PRAGMA data_version"))
        if version == self._version:
            return False
        self.state, self._version = await take_snapshot(self.db), version
        return True

    # --- building updates as Telegram sends them ---------------------------------------------

    def message(
        self, person: Person, chat: dict[str, Any], text: str, *, edit_of: int | None = None
    ) -> dict[str, Any]:
        """A text message (or, with `edit_of`, that earlier message edited to say `text`)."""
        message: dict[str, Any] = {
            "message_id": edit_of or next(self._message_ids),
            "date": self.api.clock(),
            "chat": chat,
            "from": person.user(),
            "text": text,
        }
        if command := _COMMAND.match(text):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        if edit_of is None:
            return {"message": message}
        return {"edited_message": {**message, "edit_date": self.api.clock()}}

    def callback(
        self, person: Person, chat: dict[str, Any], target: SentMessage, data: str
    ) -> dict[str, Any]:
        """A button press on `target` (a message of the bot in `chat`) sending `data`."""
        message: dict[str, Any] = {
            "message_id": target.message_id,
            "date": target.date,
            "chat": chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Timebank"},
            "text": target.text,
        }
        if target.inline_buttons:
            message["reply_markup"] = target.reply_markup
        query = {
            "id": str(self.api.next_update_id()),
            "from": person.user(),
            "chat_instance": str(chat["id"]),
            "data": data,
            "message": message,
        }
        return {"callback_query": query}

    # --- one action, checked ------------------------------------------------------------------

    async def perform(
        self,
        action: Action,
        person: Person | None,
        updates: Sequence[dict[str, Any]] = (),
        *,
        ticks: bool = False,
    ) -> None:
        """Send the updates (or run a scheduler tick), as the bot would receive them, then
        check every invariant against what changed and what was sent."""
        before, first_call = self.state, len(self.api.calls)
        escaped = await self._send(updates)
        if ticks:
            escaped += await self._attempt(lambda: tick(self.services))
        committed = await self._read_state()
        sent = delivered(self.api.calls[first_call:], self.api.blocked)
        self.notified = [out.chat_id for out in sent if out.chat_id > 0]
        findings = [
            *self._error_findings(escaped, sent),
            *[found for out in sent if (found := _refusal(out))],
            *await self._leak_findings(sent, before, person),
            *change_findings(before, self.state, self._actor(person, before)),
            *(await self._ledger_findings() if committed else []),
        ]
        for table in SNAPSHOT_SQL:
            self.report.changes[table] += sum(1 for _ in _changes(before, self.state, table))
        trail = self.trails.setdefault(action.actor, deque(maxlen=3))
        for finding in findings:
            self.report.violations.append(Violation(finding, action, tuple(trail)))
        trail.append(action)
        self.report.kinds[action.kind] += 1

    async def _send(self, updates: Sequence[dict[str, Any]]) -> list[BaseException]:
        escaped: list[BaseException] = []
        for payload in updates:
            payload["update_id"] = self.api.next_update_id()
            update = Update.de_json(payload, self.app.bot)
            escaped += await self._attempt(partial(in_own_task, self.app.process_update(update)))
            # What this update queued for others goes out now, as the sender's task would.
            if not self.services.sender.busy:
                escaped += await self._attempt(self.services.sender.deliver_direct)
        return escaped

    @staticmethod
    async def _attempt(step: Callable[[], Awaitable[object]]) -> list[BaseException]:
        try:
            await step()
        except Exception as error:
            return [error]
        return []

    def _actor(self, person: Person | None, before: Snapshot) -> Actor:
        if person is None:
            return Actor(None, None, coordinator=False)
        row = before.member(person.user_id) or self.state.member(person.user_id)
        return Actor(
            person.user_id, row["id"] if row else None, before.is_coordinator(person.user_id)
        )

    def _error_findings(self, escaped: list[BaseException], sent: list[Outgoing]) -> list[Finding]:
        records = self.errors.take()
        findings = [_error_record(record) for record in records]
        findings += [
            Finding(
                "unhandled_errors",
                "escaped",
                f"escaped {type(error).__name__} at {_where(error.__traceback__)}",
                f"{type(error).__name__}: {shown(str(error), 200)}",
            )
            for error in escaped
        ]
        apologies = [out for out in sent if out.text in in_any_language("errors.generic")]
        handled = sum(1 for record in records if record.name == "handlers.errors")
        findings += [
            Finding("unhandled_errors", "apology", "apology with no error logged", out.brief)
            for out in apologies[handled:]
        ]
        return findings

    async def _leak_findings(
        self, sent: list[Outgoing], before: Snapshot, person: Person | None
    ) -> list[Finding]:
        if not sent:
            return []
        figures = await balances(self.db) if any(_balance_shown(o.text) for o in sent) else {}
        audience = Audience(before, self.state, person, figures)
        return [found for out in sent if (found := leak(out, audience))]

    async def _ledger_findings(self) -> list[Finding]:
        problems = await ledger_problems(self.db)
        new = [finding for key, finding in problems.items() if key not in self.problems]
        self.problems = problems
        return new


def _refusal(out: Outgoing) -> Finding | None:
    problem = telegram_refusal(out)
    if problem is None:
        return None
    signature = f"Telegram would refuse {identify(out.text)}: {problem.split(':')[0]}"
    return Finding(
        "unhandled_errors", "telegram_would_refuse", signature, f"{problem}; {out.brief}"
    )


def _error_record(record: logging.LogRecord) -> Finding:
    error = record.exc_info[1] if record.exc_info else None
    if error is None:
        signature = f"ERROR {record.name}: {record.msg}"
        return Finding("unhandled_errors", "error_logged", signature, record.getMessage()[:300])
    where = _where(error.__traceback__)
    return Finding(
        "unhandled_errors",
        "error_logged",
        f"{type(error).__name__} at {where}",
        f"{record.name}: {type(error).__name__}: {shown(str(error), 200)} (at {where})",
    )


def _where(trace: TracebackType | None) -> str:
    """The innermost frame in the app's own code (bot/, handlers/, storage/), and the handler
    that led there when that is elsewhere: where the fault is, and how to reach it."""
    frames = traceback.extract_tb(trace)
    ours = [frame for frame in frames if _app_file(frame.filename)]
    if not (ours or frames):
        return "?"
    innermost = _frame((ours or frames)[-1])
    handlers = [
        frame
        for frame in ours
        if Path(frame.filename).parent.name == "handlers" and Path(frame.filename).stem != "common"
    ]
    if handlers and _frame(handlers[-1]) != innermost:
        return f"{innermost} via {_frame(handlers[-1])}"
    return innermost


def _frame(frame: traceback.FrameSummary) -> str:
    path = Path(frame.filename)
    name = path.relative_to(REPO_ROOT) if _app_file(frame.filename) else path.name
    return f"{name}:{frame.lineno} in {frame.name}"


def _app_file(filename: str) -> bool:
    path = Path(filename)
    return any(path.is_relative_to(REPO_ROOT / part) for part in APP_PACKAGES) and (
        "sandbox" not in path.parts
    )


def shown(text: str, width: int = 60) -> str:
    """A text short enough for one line of a report, as a Python literal."""
    if len(text) <= width:
        return repr(text)
    return f"{text[:width]!r}…({len(text)} chars)"


# --- what people send ---------------------------------------------------------------------------

# A command as Telegram marks it (a bot_command entity): letters, digits, _, up to 32.
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
VOCABULARY = (
    "garden", "shopping", "lift", "clinic", "tea", "dog", "paint", "weeding", "plants", "soup",
    "Riverside", "Old", "Town", "help", "Saturday",
)  # fmt: skip
NUMBERS = (
    "0", "1", "2", "3", "4", "7", "-1", "-60", "15", "90", "720", "721", "1e3", "0x1F", "3.5",
    "99999999999999999999", "٣", "²", "１２", "⁴", "Ⅻ", "#2", "#٣", "##", "#-1",
)  # fmt: skip
NAMES = (
    "Alice", "alice", "ALI", "Bob", "Cora", "Dan", "Eve", "Finn", "Sam", "Tia", "A", "%", "_",
    "%_%", "' OR 1=1 --", "Zoë", "Ünal",
)  # fmt: skip
ODD_TEXTS = (
    "\u200b", "\u200b\u200c\u200d\u2060\ufeff", " \u00a0 \t", "😀", "👩🏽‍🌾🚲🎉", "<b>bold</b>",
    "<i>", "</b>", "&", "&amp;", "&lt;b&gt;", "a < b > c", '<a href="tg://user?id=101">me</a>',
    "مساعدة في الحديقة", "\u202egnippohs\u202c", "עזרה בקניות", "e\u0301\u0301\u0301", '"',
    "garden*", "NEAR(a b)", "a OR b", "-garden", "^tea", "{name}", "%s", "\\", "None",
)  # fmt: skip
GLYPHS = (
    "a", "e", "o", " ", " ", "é", "ß", "😀", "👩🏽‍🌾", "ש", "م", "\u200b", "<", "&", ">", "\n",
    "٣", "²", "x", "garden ",
)  # fmt: skip
ESCAPED = ("&", "<", ">", "&amp;")
# Lengths that matter: callback data, a listing, a broadcast, a message, the longest typed.
MAX_TYPED = 5000
LIMITS = (64, 200, 500, 2000, 4096, MAX_TYPED)
UNKNOWN_COMMANDS = (
    "/foo", "/START", "/Balance", "/start@other_bot", "/offer@someone_else_bot soup", "/",
    "/ offer", "//offer", "/offer_", "/123", "/" + "x" * 40, "/help@" + BOT_USERNAME + " me",
)  # fmt: skip
MENU_LABELS = tuple(t(f"menu.{key}") for key in ("offer", "need", "browse", "hours", "help"))
# Every (area, action) the handlers answer, for mutating one press into another.
AREA_ACTIONS = (
    "jn:decline", "po:cat", "pn:cat", "pv:skip", "pv:publish", "pv:retext", "pv:drop",
    "ls:view", "ls:close", "ls:reopen", "ls:keep", "ls:recat", "ls:setcat", "ls:mine", "ls:edit",
    "ls:respond", "br:kind", "br:page", "sr:ask", "sr:page", "rs:accept", "rs:decline",
    "ex:done", "ex:more", "ex:hours", "ex:yes", "ex:no", "ex:flag", "ex:cancel", "ex:when",
    "ex:day", "ex:at", "co:allow", "ac:history", "st:show", "st:nudges", "st:digest", "st:quiet",
    "vo:approve", "vo:card", "cr:promote", "cr:demote", "cr:approve", "cr:decline", "cr:settle",
    "cr:rgiver", "cr:rrecv", "cr:rhours", "bc:aud", "bc:pick", "bc:need", "bc:help", "bc:send",
    "bc:drop", "bc:stop", "rp:period",
)  # fmt: skip
IDS = ("0", "1", "2", "3", "4", "5", "6", "8", "13", "21", "999999999999", "٣", "１", "0002")
ARGS = (
    "", "0", "-15", "15", "60", "735", "720", "99999999999999999999", "٣٠", "²", "６０", "on",
    "off", "offer", "need", "offer.1", "need.9", "offer.²", "need.٣", "all", "area", "offers",
    "visitors", "month", "three", "20261124", "2026112409", "20260230", "2026112425",
    "19700101", "abc", "-", "..", "\u200b",
)  # fmt: skip
DIGITS = ("٠١٢٣٤٥٦٧٨٩", "⁰¹²³⁴⁵⁶⁷⁸⁹", "０１２３４５６７８９")
CLOCK_JUMPS = (
    timedelta(minutes=10), timedelta(hours=2), timedelta(hours=9), timedelta(days=1),
    timedelta(days=2), timedelta(days=3), timedelta(days=6),
)  # fmt: skip
# How often each kind of action is chosen, relative to the others.
WEIGHTS = {
    "respond": 20, "tap": 20, "menu": 5, "text": 10, "command": 14, "unknown_command": 3,
    "forge": 8, "mutate": 8, "replay": 5, "edit": 3, "group": 4, "group_tap": 2, "block": 1,
    "time": 3,
}  # fmt: skip
VISIBLE = 8  # the latest messages of a chat someone looks at for buttons
STAY = 0.5  # how often the last person acts again: people do things in bursts
NOTICED = 0.5  # how often someone the bot just wrote to answers next (a notification)
FIRST_BUTTON = 0.5  # how often an answer is the first button ("✅ Yes", "✅ It happened")
DATA_BYTES = 64  # Telegram carries at most this much callback data


def as_telegram_delivers(text: str) -> list[str]:
    """The messages Telegram makes of what someone typed: trimmed, never empty (an invisible
    zero-width character is the emptiest message there is), split at 4,096 UTF-16 units."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text.strip():
        units = 2 if ord(char) > 0xFFFF else 1
        if size + units > 4096:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += units
    chunks.append("".join(current))
    return [chunk.strip() or "\u200b" for chunk in chunks]


def random_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(ODD_TEXTS)
    if roll < 0.42:
        return rng.choice(NUMBERS)
    if roll < 0.5:
        return rng.choice(NAMES)
    if roll < 0.8:
        pool = VOCABULARY + NAMES + NUMBERS + ODD_TEXTS
        return " ".join(rng.choice(pool) for _ in range(rng.randint(1, 6)))
    if roll < 0.9:
        return long_text(rng)
    return rng.choice(ODD_TEXTS) + rng.choice(VOCABULARY) + rng.choice(ODD_TEXTS)


def long_text(rng: random.Random, longest: int = MAX_TYPED, limits: Sequence[int] = LIMITS) -> str:
    """Long words, often just around a limit of the app or of Telegram, sometimes made of
    nothing but characters HTML must escape (each becomes four to nine)."""
    if rng.random() < 0.6:
        size = rng.choice(limits) + rng.randint(-2, 2)
    else:
        size = rng.randint(100, longest)
    glyphs = rng.choice((GLYPHS, GLYPHS, ESCAPED))
    size = max(1, min(size, longest))
    return "".join(rng.choice(glyphs) for _ in range(size))[:size]  # some glyphs are longer


def command_text(rng: random.Random) -> str:
    """A command from the table, sometimes addressed to the bot, with 0 to 3 odd arguments."""
    command = f"/{rng.choice(COMMANDS).name}"
    if rng.random() < 0.1:
        command += f"@{BOT_USERNAME}"
    args = [_argument(rng) for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 3)))]
    return " ".join([command, *args])


def _argument(rng: random.Random) -> str:
    pool = rng.choice((NUMBERS, NUMBERS, NAMES, VOCABULARY, ODD_TEXTS))
    if rng.random() < 0.03:
        return long_text(rng, longest=4000)
    return rng.choice(pool)


def mutate(data: str, rng: random.Random) -> str:
    """Callback data changed the way a tampered client or a stale button would change it."""
    parts = data.split(":")
    how = rng.randrange(7)
    if how == 0 and len(parts) > 2:
        parts[2] = rng.choice(IDS)
    elif how == 1:
        parts[3:] = [rng.choice(ARGS)]
    elif how == 2:
        parts[1] = rng.choice(AREA_ACTIONS).split(":")[1]
    elif how == 3:
        parts[:2] = rng.choice(AREA_ACTIONS).split(":")
    elif how == 4 and len(data) > 1:
        return data[: rng.randrange(1, len(data))]
    elif how == 5:
        return fit(data + rng.choice((":x", ":", "\u200b", ":-1", ":" + "9" * 60, "::", " ")))
    else:
        return fit(data.translate(str.maketrans("0123456789", rng.choice(DIGITS))))
    return fit(":".join(parts))


def fit(data: str) -> str:
    """Callback data as Telegram carries it: 1 to 64 bytes."""
    cut = data.encode()[:DATA_BYTES].decode(errors="ignore")
    return cut or "x"


@dataclass(frozen=True)
class Press:
    """A press someone made, kept so they can make it again later (a replay)."""

    index: int
    chat: dict[str, Any]
    target: SentMessage
    data: str


class Fuzzer:
    """Chooses each action from what people can see and do now; `random.Random(seed)` makes
    every choice, so a seed is a reproducible run."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self.index = 0
        self.previous: Person | None = None
        self.presses: dict[int, deque[Press]] = {p.user_id: deque(maxlen=40) for p in PEOPLE}
        self.sent: dict[int, deque[int]] = {p.user_id: deque(maxlen=20) for p in PEOPLE}

    # --- seeding real activity, through the bot ----------------------------------------------

    async def seed_activity(self) -> None:
        """Everyone joins and posts; four answers are accepted, so there are exchanges agreed,
        proposed and confirmed (one with the coordinator), and one answer is left pending."""
        for person in MEMBERS:
            await self.say(person, "/start", kind="seed")
            await self._seed_tap(person, person.name)
            await self._seed_tap(person, self.rng.choice(NEIGHBOURHOODS))
            await self._seed_tap(person, t("join.agree"))
        for name, text in (
            ("Alice", "/need a lift to the clinic on Friday"),
            ("Bob", "/offer garden weeding on Saturdays"),
            ("Eve", "/need help with the weekly shopping"),
            ("Finn", "/offer company and a cup of tea"),
            ("Cora", "/need someone to water the plants"),
        ):
            await self.say(BY_NAME[name], text, kind="seed")
        dan = BY_NAME["Dan"]
        for label in (t("menu.offer"), "Garden"):
            await self._seed_tap(dan, label)
        await self.say(dan, "Hedge trimming and pruning", kind="seed")
        for label in (t("post.skip"), t("post.publish")):
            await self._seed_tap(dan, label)
        for responder, words, owner in (
            ("Bob", "clinic", "Alice"),
            ("Dan", "shopping", "Eve"),
            ("Alice", "tea", "Finn"),
            ("Finn", "plants", "Cora"),
            ("Eve", "weeding", None),
        ):
            await self._seed_respond(BY_NAME[responder], words)
            if owner:
                await self._seed_tap(BY_NAME[owner], t("response.accept"))
        for name, label in (
            ("Bob", t("exchange.it_happened")),
            ("Bob", hours(90)),
            ("Dan", t("exchange.it_happened")),
            ("Dan", hours(120)),
            ("Eve", t("exchange.yes")),
            ("Finn", t("exchange.it_happened")),
            ("Finn", hours(60)),
        ):
            await self._seed_tap(BY_NAME[name], label)

    async def _seed_respond(self, person: Person, words: str) -> None:
        """Search, open the first result, and say "I can help" (or "I'd like this")."""
        await self.say(person, f"/search {words}", kind="seed")
        await self._seed_tap(person, "1. ")
        await self._seed_press(person, lambda data: data.startswith("ls:respond:"))

    async def _seed_tap(self, person: Person, label: str) -> None:
        await self._seed_press(person, lambda data: False, label)

    async def _seed_press(
        self, person: Person, wanted: Callable[[str], bool], label: str | None = None
    ) -> None:
        """Press the newest button whose data is `wanted` or whose label holds `label` (a reply
        keyboard's, by saying it); seeding stops if there is none, as it must not go astray."""
        for message in reversed(self._recent(person.user_id)):
            for button in message.inline_buttons:
                data = button.get("callback_data", "")
                if wanted(data) or (label and label in button["text"]):
                    verb = f"taps {button['text']!r} on"
                    await self.press(person, person.chat(), message, data, "seed", verb)
                    return
        keyboard = [shown for shown in self._keyboard(person.user_id) if label and label in shown]
        if keyboard:
            await self.say(person, keyboard[0], kind="seed")
            return
        raise RuntimeError(f"seeding: {person.name} sees no {label or 'answer'} button")

    # --- the random actions --------------------------------------------------------------------

    async def step(self) -> None:
        notified = [
            p for p in PEOPLE if p.user_id in self.world.notified and p is not self.previous
        ]
        if notified and self.rng.random() < NOTICED:
            self.previous = self.rng.choice(notified)
            await self._respond(self.previous)
            return
        kind = self.rng.choices(list(WEIGHTS), list(WEIGHTS.values()))[0]
        if kind == "time":
            await self.jump(self.rng.choice(CLOCK_JUMPS), "time")
            return
        if self.previous is None or self.rng.random() >= STAY:
            self.previous = self.rng.choices(PEOPLE, [p.weight for p in PEOPLE])[0]
        await getattr(self, f"_{kind}")(self.previous)

    async def jump(self, delta: timedelta, kind: str) -> None:
        """Time passes; the scheduler ticks (nudges, reminders, broadcasts go out)."""
        self.world.clock.advance(delta)
        action = self._action(kind, "scheduler", f"ticks after the clock moved on {delta}")
        await self.world.perform(action, None, ticks=True)

    async def _text(self, person: Person) -> None:
        latest = self._recent(person.user_id, 1)
        await self.say(person, self._answer(latest[0].text if latest else ""), kind="text")

    async def _command(self, person: Person) -> None:
        await self.say(person, command_text(self.rng), kind="command")

    async def _unknown_command(self, person: Person) -> None:
        await self.say(person, self.rng.choice(UNKNOWN_COMMANDS), kind="unknown_command")

    async def _menu(self, person: Person) -> None:
        labels = [*self._keyboard(person.user_id), *MENU_LABELS]
        await self.say(person, self.rng.choice(labels), kind="menu")

    async def _respond(self, person: Person) -> None:
        """Answer the bot's latest message, as people mostly do: tap one of its buttons, or
        type an answer when it has none (this is what carries conversations to their end)."""
        latest = self._recent(person.user_id, 1)
        buttons = self._buttons(person, person.user_id, 1)
        if latest and buttons:
            # Often the first: the most prominent button, usually the step forward.
            first = self.rng.random() < FIRST_BUTTON
            message, data, label = buttons[0] if first else self.rng.choice(buttons)
            await self.press(person, person.chat(), message, data, "respond", f"taps {label!r} on")
        elif latest:
            await self.say(person, self._answer(latest[0].text), kind="respond")
        else:
            await self.say(person, "/start", kind="respond")

    def _answer(self, prompt: str) -> str:
        """Words typed in answer to the bot: often at length, and right at a limit the prompt
        states ("up to 2,000 letters"), as people who have a lot to say do."""
        stated = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", prompt)]
        limits = [n for n in stated if 10 <= n <= MAX_TYPED] or LIMITS
        if self.rng.random() < 0.3:
            return long_text(self.rng, limits=limits)
        return random_text(self.rng)

    async def _tap(self, person: Person) -> None:
        """A button the person can see in their chat: inline, or on their reply keyboard."""
        buttons = self._buttons(person, person.user_id, VISIBLE)
        keyboard = self._keyboard(person.user_id)
        if self.rng.random() < len(keyboard) / (len(keyboard) + len(buttons) + 1):
            await self.say(person, self.rng.choice(keyboard), kind="tap")
        elif buttons:
            message, data, label = self.rng.choice(buttons)
            await self.press(person, person.chat(), message, data, "tap", f"taps {label!r} on")
        else:
            await self._menu(person)

    async def _forge(self, person: Person) -> None:
        """Data from a button on someone else's message, pressed on one's own."""
        others = [p for p in PEOPLE if p is not person]
        source = self.rng.choice(others)
        chat_id = GROUP_CHAT["id"] if self.rng.random() < 0.1 else source.user_id
        buttons = self._buttons(person, chat_id, 20)
        target = self._own_target(person)
        if not buttons or target is None:
            await self._text(person)
            return
        _, data, _ = self.rng.choice(buttons)
        where = "the group" if chat_id < 0 else f"{source.name}'s chat"
        await self.press(person, person.chat(), target, data, "forge", f"forges (from {where})")

    async def _mutate(self, person: Person) -> None:
        """A press whose data was changed: another id, argument or action, cut or padded."""
        chat_id = self.rng.choice([p.user_id for p in PEOPLE])
        buttons = self._buttons(person, chat_id, 20) or self._buttons(person, person.user_id, 20)
        target = self._own_target(person)
        if not buttons or target is None:
            await self._text(person)
            return
        _, original, _ = self.rng.choice(buttons)
        data = mutate(original, self.rng)
        if person.stranger and data == "jn:agree:0":
            data = "jn:decline:0"
        note = f"presses mutated data (from {original!r})"
        await self.press(person, person.chat(), target, data, "mutate", note)

    async def _replay(self, person: Person) -> None:
        presses = self.presses[person.user_id]
        if not presses:
            await self._tap(person)
            return
        old = self.rng.choice(presses)
        where = " in the group" if old.chat["type"] == "group" else ""
        note = f"presses again{where} (first at #{old.index})"
        await self.press(person, old.chat, old.target, old.data, "replay", note)

    async def _edit(self, person: Person) -> None:
        """An earlier message of theirs, edited into a command (the bot gets edited_message)."""
        sent = self.sent[person.user_id]
        if not sent:
            await self._command(person)
            return
        message_id = self.rng.choice(sent)
        text = as_telegram_delivers(command_text(self.rng))[0]
        note = self._reachable(person)
        action = self._action(
            "edit", person.name, f"{note}edits message {message_id} to {shown(text)}"
        )
        payload = self.world.message(person, person.chat(), text, edit_of=message_id)
        await self.world.perform(action, person, [payload])

    async def _group(self, person: Person) -> None:
        """Words or a command in a group chat the bot is in."""
        text = command_text(self.rng) if self.rng.random() < 0.6 else random_text(self.rng)
        chunks = as_telegram_delivers(text)
        action = self._action("group", person.name, f"says in the group {shown(text)}")
        updates = [self.world.message(person, GROUP_CHAT, chunk) for chunk in chunks]
        await self.world.perform(action, person, updates)

    async def _group_tap(self, person: Person) -> None:
        buttons = self._buttons(person, GROUP_CHAT["id"], VISIBLE)
        if not buttons:
            await self._group(person)
            return
        message, data, label = self.rng.choice(buttons)
        await self.press(
            person, GROUP_CHAT, message, data, "group_tap", f"taps {label!r} in the group on"
        )

    async def _block(self, person: Person) -> None:
        self.world.api.blocked.add(person.user_id)
        await self.world.perform(self._action("block", person.name, "blocks the bot"), person)

    # --- doing it ------------------------------------------------------------------------------

    async def say(self, person: Person, text: str, *, kind: str) -> None:
        """Type in their private chat (several messages if Telegram splits it)."""
        chunks = as_telegram_delivers(text)
        note = self._reachable(person)
        action = self._action(kind, person.name, f"{note}says {shown(text)}")
        updates = [self.world.message(person, person.chat(), chunk) for chunk in chunks]
        for update in updates:
            self.sent[person.user_id].append(update["message"]["message_id"])
        await self.world.perform(action, person, updates)

    async def press(
        self,
        person: Person,
        chat: dict[str, Any],
        target: SentMessage,
        data: str,
        kind: str,
        verb: str,
    ) -> None:
        note = self._reachable(person) if chat["type"] == "private" else ""
        what = f"{note}{verb} message {target.message_id}: {data!r}"
        action = self._action(kind, person.name, what)
        self.presses[person.user_id].append(Press(action.index, chat, target, data))
        await self.world.perform(action, person, [self.world.callback(person, chat, target, data)])

    def _action(self, kind: str, actor: str, what: str) -> Action:
        self.index += 1
        return Action(self.index, kind, actor, what)

    def _reachable(self, person: Person) -> str:
        """Writing to the bot means having unblocked it (Telegram allows nothing else)."""
        if person.user_id not in self.world.api.blocked:
            return ""
        self.world.api.blocked.discard(person.user_id)
        return "unblocks the bot and "

    # --- what a person sees ------------------------------------------------------------------

    def _recent(self, chat_id: int, count: int = VISIBLE) -> list[SentMessage]:
        messages = self.world.api.chats.get(chat_id, [])[-count:]
        return [message for message in messages if not message.deleted]

    def _buttons(
        self, person: Person, chat_id: int, count: int
    ) -> list[tuple[SentMessage, str, str]]:
        """(message, data, label) of the inline buttons on a chat's latest messages; strangers
        never press "I agree", so they stay strangers."""
        return [
            (message, button["callback_data"], button["text"])
            for message in self._recent(chat_id, count)
            for button in message.inline_buttons
            if "callback_data" in button
            and not (person.stranger and button["callback_data"] == "jn:agree:0")
        ]

    def _keyboard(self, chat_id: int) -> list[str]:
        """The reply keyboard the phone shows: the latest one sent, until one removes it."""
        return shown_keyboard(self._recent(chat_id, VISIBLE * 2))

    def _own_target(self, person: Person) -> SentMessage | None:
        """The message of their own chat a forged press is made on: one with buttons if any."""
        recent = self._recent(person.user_id)
        with_buttons = [message for message in recent if message.inline_buttons]
        candidates = with_buttons or recent
        return candidates[-1] if candidates else None


# --- the run ------------------------------------------------------------------------------------


@asynccontextmanager
async def open_world(directory: Path, errors: ErrorRecords, seed: int) -> AsyncIterator[World]:
    clock = FakeClock()
    api = StandInBotAPI(clock=lambda: int(clock.now().timestamp()))
    app = build_application(fuzz_config(directory), request=api, clock=clock, background=False)
    async with running(app):
        world = World(app, api, clock, errors, seed)
        await world.start()
        yield world


async def run_fuzz(directory: Path, *, seed: int, actions: int) -> FuzzReport:
    """Seed activity, then `actions` random actions and a final week-long tick, checking every
    invariant after each; the report holds every violation with the action that caused it."""
    started = time.perf_counter()
    with recording_errors() as errors:
        async with open_world(directory, errors, seed) as world:
            fuzzer = Fuzzer(world, seed)
            await fuzzer.seed_activity()
            world.report.changes.clear()  # count what the random actions changed, only
            for _ in range(actions):
                await fuzzer.step()
            await fuzzer.jump(timedelta(days=7), "final")
        report = world.report
        report.actions = actions
        closing = Action(fuzzer.index + 1, "shutdown", "the app", "stops")
        for record in errors.take():
            report.violations.append(Violation(_error_record(record), closing, ()))
    report.seconds = time.perf_counter() - started
    return report
