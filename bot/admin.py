"""The host's commands: `backup DEST`, `restore SRC` and `check`, on the configured database.

Each says what it did, or what is wrong, in lines meant for a person at a terminal or a cron
mail, in English (they are for whoever hosts the bot, not the catalogue's members). Exit status:
- 0: done; the data is sound.
- 1: done, but the data has findings (`check`, or a backup's copy): one line each.
- 2: a config problem (as for every command).
- 3: not done: no database, DEST not writable, SRC refused (not ours, a newer schema, or
  failing its check), or a bot running on the database (restore). Nothing was changed.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.clock import SystemClock
from bot.config import Config
from bot.running import AlreadyRunning, exclusive
from storage import backup as backups
from storage.check import Finding, check_file, latest_schema

DONE, FINDINGS, NOT_DONE = 0, 1, 3
PROG = "timebank-bot"

Command = Callable[[argparse.Namespace, Config], int]


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add_config: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add backup, restore and check to the CLI's subparsers (`commands`)."""
    made = commands.add_parser(
        "backup", help="copy the database while the bot runs, and check the copy"
    )
    add_config(made)
    made.add_argument("dest", metavar="DEST", help="a new file, or a folder to name one in")
    back = commands.add_parser(
        "restore", help="replace the (stopped) bot's database with a checked backup"
    )
    add_config(back)
    back.add_argument("source", metavar="SRC", help="the backup to restore")
    check = commands.add_parser("check", help="check the database: exit 0 only if all is sound")
    add_config(check)


def command(name: str) -> Command | None:
    """The function that runs command `name`, if it is one of these."""
    return COMMANDS.get(name)


def _backup(args: argparse.Namespace, config: Config) -> int:
    try:
        made = backups.backup(config.bot.database, args.dest, SystemClock().now())
    except backups.BackupFailed as error:
        return _not_done(str(error))
    verdict = f"{len(made.findings)} findings follow" if made.findings else "sound"
    print(
        f"backed up {config.bot.database} to {made.path}"
        f" ({made.size_bytes / 2**20:.1f} MB, {made.seconds:.1f} s): {verdict}"
    )
    return _report(made.findings)


def _restore(args: argparse.Namespace, config: Config) -> int:
    database = config.bot.database
    try:
        with exclusive(database):
            done = backups.restore(args.source, database, SystemClock().now())
    except AlreadyRunning as error:
        return _not_done(f"{error}; nothing was changed")
    except backups.RestoreRefused as error:
        return _not_done(str(error))
    before = (
        f"the database it replaced is kept as {done.kept_aside}"
        if done.kept_aside
        else "there was no database before"
    )
    migrated = (
        f"; the bot brings it from schema {done.schema} to {latest_schema()} when it starts"
        if done.schema < latest_schema()
        else ""
    )
    print(
        f"restored {database} from {done.source} ({done.members:,} members,"
        f" {done.entries:,} ledger entries, schema {done.schema}); {before}{migrated}"
    )
    return DONE


def _check(_: argparse.Namespace, config: Config) -> int:
    database = config.bot.database
    if not Path(database).is_file():
        return _not_done(f"there is no database at {database}")
    try:
        found = check_file(database, SystemClock().now())
    except sqlite3.OperationalError as error:  # can't be opened at all (permissions)
        return _not_done(f"can't open {database}: {error}")
    if not found:
        print(f"{database}: all sound (integrity, foreign keys, ledger, outbox)")
    return _report(found)


def _report(found: Sequence[Finding]) -> int:
    for finding in found:
        print(finding)
    return FINDINGS if found else DONE


def _not_done(line: str) -> int:
    print(f"{PROG}: {line}", file=sys.stderr)
    return NOT_DONE


COMMANDS: dict[str, Command] = {"backup": _backup, "restore": _restore, "check": _check}
