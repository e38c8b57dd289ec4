"""Is the data sound? What `timebank-bot check` prints, and what backup and restore ask of a copy.

Each finding is one line a host can act on. The checks, in order:
- SQLite's own: `integrity_check` (every page, every index against its table, NOT NULL and
  CHECK constraints; 6 s for a million ledger entries) or, for a copy just made page by page
  from a file in use, `quick_check` (the same without the index comparison; 1 s), then
  `foreign_key_check` (rows pointing at nothing).
- The ledger: all entries sum to zero, and so does each transaction, which has two entries
  or more. Balances are not stored anywhere: every balance the bot shows is the sum of its
  account's entries, read when shown, so no balance can disagree with its entries; what can
  go wrong is an entry altered or lost, which shows as a transaction no longer summing to zero.
- The outbox: rows the bot owed long ago and never sent (due more than STUCK_DUE ago and
  still waiting), or claimed and never marked (a lease over more than STUCK_LEASE ago). The
  sender retries both every few seconds, so either means it isn't running, or keeps failing.
A file SQLite can't read at all, or made by something else, or by a newer timebank-bot, is
one finding, and the checks that need our tables don't run on it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from storage.migrations import discover
from storage.models import to_db

STUCK_DUE = timedelta(days=1)  # longer than any quiet hours or daily digest keep a row back
STUCK_LEASE = timedelta(hours=1)  # a claim's lease is 5 minutes
SHOWN = 10  # findings of one kind, after which one more line says how many were left out
# Tables every timebank-bot database has had since its first schema.
OUR_TABLES = frozenset({"members", "accounts", "ledger_transactions", "ledger_entries", "outbox"})


class Area(StrEnum):
    """What a finding is about; restore refuses a file with any finding outside the outbox."""

    FILE = "file"  # not an SQLite file, not ours, or a newer schema
    INTEGRITY = "integrity"
    FOREIGN_KEYS = "foreign keys"
    LEDGER = "ledger"
    OUTBOX = "outbox"


@dataclass(frozen=True, slots=True)
class Finding:
    area: Area
    detail: str

    def __str__(self) -> str:
        return f"{self.area}: {self.detail}"


def latest_schema() -> int:
    """The newest schema this version of the bot knows (its last migration's number)."""
    return discover()[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def open_read_only(path: str | Path) -> sqlite3.Connection:
    """A connection that can't change the file (nor create it, if it is missing)."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def check_file(path: str | Path, now: datetime) -> list[Finding]:
    """Everything `timebank-bot check` looks at, on the file at `path` (a bot may be running
    on it: the checks read one consistent snapshot and write nothing)."""
    conn = open_read_only(path)
    try:
        conn.execute("BEGIN")  # one snapshot for every check, however long they take
        return findings(conn, now)
    finally:
        conn.close()


def findings(conn: sqlite3.Connection, now: datetime, *, thorough: bool = True) -> list[Finding]:
    """The data's findings, then the outbox's (only where the data is sound enough to read)."""
    found = data_findings(conn, thorough=thorough)
    if any(finding.area in (Area.FILE, Area.INTEGRITY) for finding in found):
        return found
    return found + outbox_findings(conn, now)


def data_findings(conn: sqlite3.Connection, *, thorough: bool = True) -> list[Finding]:
    """What must hold of any copy worth keeping or restoring: ours, readable, a schema we
    know, SQLite's checks, foreign keys and the ledger. Stops at the first layer that fails,
    as the next would only restate it (or fail to read at all)."""
    try:
        found = file_findings(conn)
        if not found:
            found = integrity_findings(conn, thorough=thorough)
        if not found:
            found = foreign_key_findings(conn) + ledger_findings(conn)
    except sqlite3.DatabaseError as error:  # "file is not a database", "malformed"…
        return [Finding(Area.INTEGRITY, f"can't be read: {error}")]
    return found


def file_findings(conn: sqlite3.Connection) -> list[Finding]:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    version = schema_version(conn)
    if version == 0 or not OUR_TABLES.issubset(tables):
        return [Finding(Area.FILE, "not a timebank-bot database")]
    if version > latest_schema():
        return [
            Finding(
                Area.FILE,
                f"made by a newer timebank-bot (schema {version}; this one knows up to"
                f" {latest_schema()})",
            )
        ]
    return []


def integrity_findings(conn: sqlite3.Connection, *, thorough: bool = True) -> list[Finding]:
    pragma = "integrity_check" if thorough else "quick_check"
    rows = [row[0] for row in conn.execute(f"PRAGMA {pragma}({SHOWN})")]
    return [] if rows == ["ok"] else [Finding(Area.INTEGRITY, row) for row in rows]


def foreign_key_findings(conn: sqlite3.Connection) -> list[Finding]:
    """One line per table and the table it points into, however many rows: a deleted member
    can leave thousands of rows orphaned, and the host needs to know which, not each."""
    broken: dict[tuple[str, str], list[int]] = {}
    for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
        broken.setdefault((table, parent), []).append(rowid)
    return [
        Finding(
            Area.FOREIGN_KEYS,
            f"{_rows(len(rowids))} of {table} point at missing {parent}"
            f" (rowid {', '.join(map(str, rowids[:3]))}{'…' if len(rowids) > 3 else ''})",
        )
        for (table, parent), rowids in broken.items()
    ]


def ledger_findings(conn: sqlite3.Connection) -> list[Finding]:
    found = []
    total = conn.execute("SELECT COALESCE(SUM(minutes), 0) FROM ledger_entries").fetchone()[0]
    if total != 0:
        found.append(Finding(Area.LEDGER, f"all entries sum to {total:+} minutes, not 0"))
    unbalanced = conn.execute(
        "SELECT t.id, t.kind, COALESCE(SUM(e.minutes), 0), COUNT(e.id) FROM ledger_transactions t"
        " LEFT JOIN ledger_entries e ON e.transaction_id = t.id GROUP BY t.id"
        " HAVING COALESCE(SUM(e.minutes), 0) <> 0 OR COUNT(e.id) < 2 ORDER BY t.id"
    ).fetchall()
    found += _at_most(
        [
            Finding(
                Area.LEDGER,
                f"transaction {tx_id} ({kind}) has no entries"
                if count == 0
                else f"transaction {tx_id} ({kind}) sums to {minutes:+} minutes over"
                f" {count} {'entry' if count == 1 else 'entries'}",
            )
            for tx_id, kind, minutes, count in unbalanced
        ],
        Area.LEDGER,
        "transactions",
    )
    return found


def outbox_findings(conn: sqlite3.Connection, now: datetime) -> list[Finding]:
    """Stuck rows, one line per kind of message and way of being stuck."""
    rows = conn.execute(
        "SELECT kind, 'waiting', COUNT(*), MIN(due_at) FROM outbox"
        " WHERE state = 'pending' AND due_at <= :due AND (expires_at IS NULL OR expires_at > :now)"
        " GROUP BY kind"
        " UNION ALL SELECT kind, 'claimed', COUNT(*), MIN(lease_until) FROM outbox"
        " WHERE state = 'sending' AND lease_until <= :lease GROUP BY kind ORDER BY 1, 2",
        {
            "due": to_db(now - STUCK_DUE),
            "lease": to_db(now - STUCK_LEASE),
            "now": to_db(now),
        },
    ).fetchall()
    return [
        Finding(
            Area.OUTBOX,
            f"{_rows(count)} of kind {kind} due since {since[:16].replace('T', ' ')} UTC"
            " and never sent"
            if how == "waiting"
            else f"{_rows(count)} of kind {kind} claimed for sending, lease over since"
            f" {since[:16].replace('T', ' ')} UTC, never marked",
        )
        for kind, how, count, since in rows
    ]


def _rows(count: int) -> str:
    return f"{count:,} row{'' if count == 1 else 's'}"


def _at_most(found: list[Finding], area: Area, what: str) -> list[Finding]:
    if len(found) <= SHOWN:
        return found
    return [*found[:SHOWN], Finding(area, f"… and {len(found) - SHOWN:,} more {what} like these")]
