"""Backups taken while the bot is busy, and the way back: `timebank-bot backup` and `restore`,
and the daily backup job."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import BackupSection, Config
from bot.outbound.scheduler import BACKUP_JOB_ID, Ticker, back_up, tick
from bot.running import exclusive
from storage import backup, broadcasts, ledger
from storage.check import check_file, latest_schema
from storage.db import Database
from storage.models import to_db
from tests.conftest import COORDINATOR_ID, make_config
from tests.test_check import NOW, PAIRS, config_for, small_timebank, tamper

RECIPIENTS = 40


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The tests' usual config, with a daily backup that keeps two."""
    folder = str(tmp_path / "backups")
    return make_config(tmp_path).model_copy(
        update={"backup": BackupSection(folder=folder, at="02:15", keep=2)}
    )


@pytest.fixture
async def live(tmp_path: Path) -> Path:
    path = tmp_path / "live" / "timebank.sqlite3"
    path.parent.mkdir()
    await small_timebank(path)
    return path


async def balances(path: Path) -> dict[int, int]:
    db = await Database.open(path)
    try:
        ids = [row[0] for row in await db.all("SELECT id FROM members ORDER BY id")]
        return {member: await ledger.balance(db, member) for member in ids}
    finally:
        await db.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err.splitlines()


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file in `folder` and its contents' hash: what "untouched" means (the lock file
    aside: it only names the last process that held it)."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if path.is_file() and path.suffix != ".lock"
    }


# --- backup while the bot is busy ---------------------------------------------------------------


async def test_a_backup_taken_mid_broadcast_and_mid_transaction_passes_check(
    coordinator, api, svc, config, tmp_path
):
    """The copy is the database at one commit: half a broadcast sent, and none of a ledger
    transaction that was open (one entry of two written) while the copy was made."""
    now = svc.clock.now()
    cora = await svc.db.scalar("SELECT id FROM members WHERE telegram_id = ?", (COORDINATOR_ID,))
    async with svc.db.transaction() as tx:
        for n in range(RECIPIENTS):
            await tx.execute(
                "INSERT INTO members (telegram_id, display_name, consented_at, created_at)"
                " VALUES (?, ?, ?, ?)",
                (60_000 + n, f"Neighbour {n}", to_db(now), to_db(now)),
            )
        await tx.execute(
            "INSERT INTO accounts (member_id, kind) SELECT id, 'member' FROM members"
            " WHERE telegram_id >= 60000"
        )
    await broadcasts.start(
        svc.db,
        by=cora,
        text="Spring fair on Saturday",
        audience_text="all",
        listing_id=None,
        now=now,
    )
    copy = tmp_path / "copy.sqlite3"
    sent = []
    made: list[backup.Backup] = []

    async def mid_broadcast(method: str, params: dict[str, Any]) -> None:
        if method != "sendMessage" or "Spring fair" not in params.get("text", ""):
            return
        sent.append(params["chat_id"])
        if len(sent) == RECIPIENTS // 2:
            async with svc.db.transaction() as tx:
                async with tx.execute(
                    "INSERT INTO ledger_transactions (kind, idempotency_key, created_at)"
                    " VALUES ('correction', 'half-made', ?) RETURNING id",
                    (to_db(now),),
                ) as cursor:
                    row = await cursor.fetchone()
                await tx.execute(
                    "INSERT INTO ledger_entries (transaction_id, account_id, minutes)"
                    " VALUES (?, 1, 60)",
                    (row[0],),
                )
                made.append(await asyncio.to_thread(backup.backup, config.bot.database, copy, now))
                await tx.execute(
                    "INSERT INTO ledger_entries (transaction_id, account_id, minutes)"
                    " SELECT ?, id, -60 FROM accounts WHERE member_id = ?",
                    (row[0], cora),
                )

    api.after_call = mid_broadcast
    await tick(svc)

    assert len(sent) >= RECIPIENTS  # the broadcast went on to the end meanwhile
    assert made[0].findings == ()
    assert check_file(copy, now) == []  # the full integrity check too, not only the quick one
    conn = sqlite3.connect(copy)
    try:
        states = dict(
            conn.execute("SELECT state, COUNT(*) FROM outbox WHERE kind = 'broadcast' GROUP BY 1")
        )
        half_made = conn.execute(
            "SELECT COUNT(*) FROM ledger_transactions WHERE idempotency_key = 'half-made'"
        ).fetchone()[0]
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    assert 0 < states.get("sent", 0) < RECIPIENTS  # a moment in the middle of it
    assert half_made == 0
    assert journal == "delete"  # one self-contained file
    assert (
        await svc.db.scalar(
            "SELECT COUNT(*) FROM ledger_transactions WHERE idempotency_key = 'half-made'"
        )
        == 1
    )  # the live database has it whole
    assert mode(copy) == 0o600  # everyone's personal data: its owner's only
    assert sorted(path.name for path in tmp_path.glob("copy*")) == ["copy.sqlite3"]


# --- the backup command ------------------------------------------------------------------------


async def test_backup_into_a_folder_names_the_copy_and_says_what_it_did(live, tmp_path, capsys):
    folder = tmp_path / "backups"
    folder.mkdir()
    status, out, err = run(capsys, "backup", "--config", config_for(tmp_path, live), str(folder))
    assert (status, err) == (0, [])
    [made] = backup.backups_in(folder, live)
    assert made.name.startswith("timebank-")
    assert made.suffix == ".sqlite3"
    assert len(out) == 1
    assert out[0].startswith(f"backed up {live} to {made} (")
    assert out[0].endswith(" s): sound")
    assert await balances(made) == await balances(live)


async def test_backup_never_overwrites_a_file(live, tmp_path, capsys):
    dest = tmp_path / "taken.sqlite3"
    dest.write_text("someone's file")
    status, out, err = run(capsys, "backup", "--config", config_for(tmp_path, live), str(dest))
    assert (status, out) == (3, [])
    assert err == [f"timebank-bot: {dest} already exists; name a new file, or a folder"]
    assert dest.read_text() == "someone's file"


def test_a_flawed_database_is_still_copied_and_its_findings_told(live, tmp_path, capsys):
    """A flawed copy beats none; the status says it needs looking at."""
    tamper(live, "UPDATE ledger_entries SET minutes = 45 WHERE id = 1")
    dest = tmp_path / "flawed.sqlite3"
    status, out, _ = run(capsys, "backup", "--config", config_for(tmp_path, live), str(dest))
    assert status == 1
    assert out[0].endswith(" s): 2 findings follow")
    assert out[1:] == [
        "ledger: all entries sum to -15 minutes, not 0",
        "ledger: transaction 1 (coordinator) sums to -15 minutes over 2 entries",
    ]
    assert dest.exists()


# --- restore -----------------------------------------------------------------------------------


async def test_restore_into_a_fresh_folder_gives_the_same_balances(live, tmp_path, capsys):
    copy = tmp_path / "copy.sqlite3"
    assert run(capsys, "backup", "--config", config_for(tmp_path, live), str(copy))[0] == 0
    fresh = tmp_path / "fresh" / "timebank.sqlite3"
    fresh.parent.mkdir()
    status, out, err = run(capsys, "restore", "--config", config_for(tmp_path, fresh), str(copy))
    assert (status, err) == (0, [])
    assert out == [
        f"restored {fresh} from {copy} (6 members, {2 * len(PAIRS)} ledger entries, schema"
        f" {latest_schema()}); there was no database before"
    ]
    assert await balances(fresh) == await balances(live)
    assert sorted(path.name for path in fresh.parent.iterdir()) == [
        "timebank.sqlite3",
        "timebank.sqlite3.lock",
    ]


async def test_restore_keeps_the_replaced_database_aside(live, tmp_path, capsys):
    config = config_for(tmp_path, live)
    copy = tmp_path / "copy.sqlite3"
    run(capsys, "backup", "--config", config, str(copy))
    before = await balances(live)
    tamper(
        live,
        "INSERT INTO members (telegram_id, display_name, consented_at, created_at)"
        f" VALUES (9999, 'Joined later', '{to_db(NOW)}', '{to_db(NOW)}')",
    )
    after = await balances(live)

    status, out, _ = run(capsys, "restore", "--config", config, str(copy))

    assert status == 0
    [aside] = [path for path in live.parent.iterdir() if ".before-restore-" in path.name]
    assert aside.name.startswith("timebank.sqlite3.before-restore-")
    assert out[0].endswith(f"; the database it replaced is kept as {aside}")
    assert await balances(live) == before
    assert await balances(aside) == after  # nothing lost: the replaced file opens as it was


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (
            lambda path: path.write_bytes(b"a shopping list, not a database\n" * 300),
            "is not a database this bot can read (file is not a database); nothing was changed",
        ),
        (lambda path: tamper(path, "DROP TABLE outbox"), "is not a timebank-bot database"),
        (
            lambda path: tamper(path, f"PRAGMA user_version = {latest_schema() + 1}"),
            f"is made by a newer timebank-bot (schema {latest_schema() + 1}; this one knows up to"
            f" {latest_schema()})",
        ),
        (
            lambda path: tamper(path, "UPDATE ledger_entries SET minutes = 45 WHERE id = 1"),
            "fails its check: ledger: all entries sum to -15 minutes, not 0 (and 1 more findings)"
            "; nothing was changed",
        ),
    ],
    ids=["not sqlite", "foreign", "newer schema", "unbalanced ledger"],
)
async def test_restore_refuses_a_bad_file_in_one_line_and_touches_nothing(
    live, tmp_path, capsys, spoil, says
):
    copy = tmp_path / "copy.sqlite3"
    run(capsys, "backup", "--config", config_for(tmp_path, live), str(copy))
    spoil(copy)
    untouched = fingerprint(live.parent)

    status, out, err = run(capsys, "restore", "--config", config_for(tmp_path, live), str(copy))

    assert (status, out) == (3, [])
    assert len(err) == 1
    assert err[0].startswith(f"timebank-bot: {copy} {says}")
    assert fingerprint(live.parent) == untouched


async def test_restore_refuses_a_damaged_copy(live, tmp_path, capsys):
    copy = tmp_path / "copy.sqlite3"
    run(capsys, "backup", "--config", config_for(tmp_path, live), str(copy))
    data = bytearray(copy.read_bytes())
    for n in range(2, len(data) // 4096, 2):  # page 1 (the schema) readable, others scribbled
        data[n * 4096 + 8 : n * 4096 + 300] = b"\x5a" * 292
    copy.write_bytes(bytes(data))
    untouched = fingerprint(live.parent)

    status, _, err = run(capsys, "restore", "--config", config_for(tmp_path, live), str(copy))

    assert status == 3
    assert len(err) == 1
    assert err[0].startswith(f"timebank-bot: {copy} fails its check: integrity: ")
    assert fingerprint(live.parent) == untouched


async def test_restore_refuses_while_the_bot_runs(live, tmp_path, capsys):
    copy = tmp_path / "copy.sqlite3"
    run(capsys, "backup", "--config", config_for(tmp_path, live), str(copy))
    with exclusive(live):  # what `timebank-bot run` holds for as long as it runs
        untouched = fingerprint(live.parent)
        status, out, err = run(capsys, "restore", "--config", config_for(tmp_path, live), str(copy))
        assert fingerprint(live.parent) == untouched
    assert (status, out) == (3, [])
    assert err == [
        f"timebank-bot: a bot or a restore is running on {live} (process {os.getpid()}); stop it"
        " first; nothing was changed"
    ]


def test_a_second_bot_on_the_same_database_is_refused_before_it_starts(
    tmp_path, capsys, monkeypatch
):
    database = tmp_path / "timebank.sqlite3"
    monkeypatch.setenv("TIMEBANK_BOT_TOKEN", "123456:ABCdefGhIjKlMnOpQrStUvWxYz0123456789")
    with exclusive(database):
        status, _, err = run(capsys, "run", "--config", config_for(tmp_path, database))
    assert status == 3
    assert len(err) == 1
    assert err[0].startswith(f"timebank-bot: a bot or a restore is running on {database}")
    assert not database.exists()  # refused before opening anything


# --- the daily backup --------------------------------------------------------------------------


async def test_the_daily_backup_keeps_the_newest_few(svc, clock, config):
    folder = Path(config.backup.folder or "")
    made = []
    for _ in range(3):
        copy = await back_up(svc)
        assert copy is not None
        assert copy.findings == ()
        made.append(copy.path)
        clock.advance(timedelta(days=1))
    assert backup.backups_in(folder, Path(config.bot.database)) == made[1:]
    assert made[0].name.startswith("timebank-")
    assert mode(folder) == 0o700


async def test_the_daily_backup_prunes_nothing_while_the_new_copy_has_findings(svc, clock, config):
    folder = Path(config.backup.folder or "")
    for _ in range(2):
        await back_up(svc)
        clock.advance(timedelta(days=1))
    # A transaction with no entries: the next copy has a finding.
    async with svc.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO ledger_transactions (kind, idempotency_key, created_at)"
            " VALUES ('correction', 'lonely', ?)",
            (to_db(clock.now()),),
        )
    flawed = await back_up(svc)
    assert flawed is not None
    assert len(flawed.findings) == 1
    assert len(backup.backups_in(folder, Path(config.bot.database))) == 3


async def test_the_daily_backup_runs_at_its_local_time(svc):
    ticker = Ticker(svc)
    ticker.start()
    try:
        job = ticker.scheduler.get_job(BACKUP_JOB_ID)
        assert job is not None
        assert "hour='2', minute='15'" in str(job.trigger)
        assert str(job.trigger.timezone) == svc.config.bot.timezone
    finally:
        await ticker.stop()
