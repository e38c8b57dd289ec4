"""`timebank-bot check`: a sound database has no findings, and each fault planted on purpose
(a ledger entry altered, an orphan row, a stuck outbox row, a damaged or foreign file) is found,
one line each, with exit status 1."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import SystemClock
from storage import exchanges
from storage.check import SHOWN, Area, check_file, latest_schema
from storage.db import Database
from storage.models import to_db

NOW = SystemClock().now()  # the CLI reads the system clock
COORDINATOR = 1
PAIRS = [(2, 3, 60), (3, 4, 30), (4, 2, 90), (5, 6, 120), (6, 2, 15)]


async def small_timebank(path: Path, members: int = 6) -> None:
    """Members 1..N (1 coordinates) with accounts, and hours recorded between 2..6 through
    storage, so the ledger is as the bot writes it."""
    db = await Database.open(path)
    try:
        async with db.transaction() as tx:
            for n in range(1, members + 1):
                await tx.execute(
                    "INSERT INTO members (id, telegram_id, display_name, role, consented_at,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (n, 5_000 + n, f"Member {n}", "coordinator" if n == 1 else "member")
                    + (to_db(NOW),) * 2,
                )
            await tx.execute(
                "INSERT INTO accounts (member_id, kind) SELECT id, 'member' FROM members"
            )
        for giver, receiver, minutes in PAIRS:
            await exchanges.record_by_coordinator(
                db,
                by=COORDINATOR,
                giver_id=giver,
                receiver_id=receiver,
                minutes=minutes,
                overdraft_limit=600,
                now=NOW,
            )
    finally:
        await db.close()


def tamper(path: Path, *statements: str) -> None:
    """Change the file behind the bot's back, as a bug, a hand edit or a bad disk would."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def config_for(tmp_path: Path, database: Path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[bot]\ndatabase = "{database}"\n', encoding="utf-8")
    return str(path)


def check_lines(
    tmp_path: Path, database: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str]]:
    status = main(["check", "--config", config_for(tmp_path, database)])
    return status, capsys.readouterr().out.splitlines()


@pytest.fixture
async def database(tmp_path: Path) -> Path:
    path = tmp_path / "timebank.sqlite3"
    await small_timebank(path)
    return path


async def test_a_sound_database_passes_with_status_0(tmp_path, database, capsys):
    assert check_file(database, NOW) == []
    status, lines = check_lines(tmp_path, database, capsys)
    assert status == 0
    assert lines == [f"{database}: all sound (integrity, foreign keys, ledger, outbox)"]


async def test_an_altered_ledger_entry_is_found(tmp_path, database, capsys):
    tamper(database, "UPDATE ledger_entries SET minutes = minutes + 15 WHERE id = 3")
    status, lines = check_lines(tmp_path, database, capsys)
    assert status == 1
    assert lines == [
        "ledger: all entries sum to +15 minutes, not 0",
        "ledger: transaction 2 (coordinator) sums to +15 minutes over 2 entries",
    ]


async def test_a_lost_entry_and_an_empty_transaction_are_found(database):
    tamper(
        database,
        "DELETE FROM ledger_entries WHERE id = 1",
        "DELETE FROM ledger_entries WHERE transaction_id = 5",
    )
    assert [str(f) for f in check_file(database, NOW)] == [
        "ledger: all entries sum to -60 minutes, not 0",
        "ledger: transaction 1 (coordinator) sums to -60 minutes over 1 entry",
        "ledger: transaction 5 (coordinator) has no entries",
    ]


async def test_many_unbalanced_transactions_are_a_few_lines_and_a_count(database):
    tamper(
        database,
        *(
            f"INSERT INTO ledger_transactions (kind, idempotency_key, created_at)"
            f" VALUES ('correction', 'k{n}', '{to_db(NOW)}')"
            for n in range(SHOWN + 5)
        ),
    )
    found = check_file(database, NOW)
    assert len(found) == SHOWN + 1
    assert str(found[-1]) == "ledger: … and 5 more transactions like these"


async def test_orphan_rows_are_found_one_line_per_table(tmp_path, database, capsys):
    # Member 6 vanishes with their account: their entries, exchanges and outbox rows dangle.
    tamper(
        database,
        "DELETE FROM accounts WHERE member_id = 6",
        "DELETE FROM members WHERE id = 6",
    )
    status, lines = check_lines(tmp_path, database, capsys)
    assert status == 1
    assert "foreign keys: 2 rows of ledger_entries point at missing accounts (rowid 8, 9)" in lines
    assert any(
        line.startswith("foreign keys: 2 rows of exchanges point at missing members")
        for line in lines
    )
    assert all(line.startswith("foreign keys: ") for line in lines)


async def test_stuck_outbox_rows_are_found_by_kind(database):
    def row(state: str, due: timedelta, lease: timedelta | None = None, expires: str = "NULL"):
        lease_until = f"'{to_db(NOW - lease)}'" if lease else "NULL"
        return (
            "INSERT INTO outbox (member_id, kind, due_at, state, lease_until, expires_at,"
            f" created_at) VALUES (2, 'broadcast', '{to_db(NOW - due)}', '{state}',"
            f" {lease_until}, {expires}, '{to_db(NOW - due)}')"
        )

    tamper(
        database,
        row("pending", timedelta(days=2)),  # stuck: owed two days ago
        row("pending", timedelta(days=3)),
        row("sending", timedelta(days=1), lease=timedelta(hours=2)),  # claimed, never marked
        row("pending", timedelta(hours=2)),  # not yet: quiet hours or a digest can do that
        row("sending", timedelta(hours=1), lease=timedelta(minutes=10)),  # a lease just over
        row("pending", timedelta(days=2), expires=f"'{to_db(NOW - timedelta(days=1))}'"),
    )
    assert [str(f) for f in check_file(database, NOW)] == [
        "outbox: 1 row of kind broadcast claimed for sending, lease over since"
        f" {to_db(NOW - timedelta(hours=2))[:16].replace('T', ' ')} UTC, never marked",
        "outbox: 2 rows of kind broadcast due since"
        f" {to_db(NOW - timedelta(days=3))[:16].replace('T', ' ')} UTC and never sent",
    ]


async def test_a_damaged_file_is_found_by_sqlite_s_own_check(database):
    data = bytearray(database.read_bytes())
    page = 4096
    pages = len(data) // page
    for n in range(2, pages, 3):  # every third page's contents scribbled over
        data[n * page + 8 : n * page + 200] = b"\xa5" * 192
    database.write_bytes(bytes(data))
    found = check_file(database, NOW)
    assert found
    assert {f.area for f in found} == {Area.INTEGRITY}


@pytest.mark.parametrize(
    ("make", "detail"),
    [
        (
            lambda path: path.write_bytes(b"not a database at all, only words" * 200),
            "can't be read: file is not a database",
        ),
        (
            lambda path: tamper(path, "CREATE TABLE notes (body TEXT)", "PRAGMA user_version = 3"),
            "not a timebank-bot database",
        ),
    ],
)
def test_a_file_that_is_not_ours_is_one_finding(tmp_path, make, detail):
    path = tmp_path / "other.sqlite3"
    make(path)
    assert [f.detail for f in check_file(path, NOW)] == [detail]


async def test_a_newer_schema_is_one_finding(database):
    tamper(database, f"PRAGMA user_version = {latest_schema() + 1}")
    assert [str(f) for f in check_file(database, NOW)] == [
        f"file: made by a newer timebank-bot (schema {latest_schema() + 1}; this one knows"
        f" up to {latest_schema()})"
    ]


def test_no_database_is_one_line_and_status_3(tmp_path, capsys):
    missing = tmp_path / "nowhere.sqlite3"
    assert main(["check", "--config", config_for(tmp_path, missing)]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err == [f"timebank-bot: there is no database at {missing}"]
    assert not missing.exists()
