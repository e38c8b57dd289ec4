"""Copies of the database taken while the bot runs, and the way back from one.

How a copy is made: SQLite's online backup API, the whole file in one step, from a
connection of its own. The step holds one read transaction, so the copy is the database as
it was at one commit; in WAL mode the bot's writer never waits for it, and the step runs in C
without Python's GIL, so the event loop isn't slowed either. Measured on a million ledger
entries (240 MB): 0.5 s, against 1.6 s for `VACUUM INTO` (which rebuilds every table and
index, and would only save the few free pages) and 0.8 s for the backup API in steps of 4,096
pages, which moreover starts again from the top whenever another connection commits: against
a bot serving updates it might never finish.

The copy is written next to its destination as `NAME.partial` (readable by its owner only:
it is everyone's personal data), checked (`storage.check`, with SQLite's quick check: the
copy's pages are the live file's, so comparing every index with its table again would only
recheck the live file, at six times the cost; `check` does that), written out to the disk,
and only then renamed to NAME. So a file with the final name is always a whole copy. A copy
whose check finds something is still kept (a flawed copy beats none), and its findings told.

Writing it out: the backup step leaves the whole copy in the page cache, unwritten. One fsync
of it has the disk write it all at once, and the bot's own commits (each one fsynced) wait
behind it: 110 ms for 240 MB on the benchmark's SSD, seconds on a small server's network
disk. So on Linux it goes out a slice at a time (sync_file_range), each waited for, with a
breath between, and the bot's commits slip in between slices (in bench/backup.py the updates
held up by it went from 112 ms to under 10 ms); the final fsync finds nothing left to do.

All of it runs in a thread of its own at a lower CPU priority: checking the copy keeps a CPU
busy for seconds, and on a small, busy host the bot's own threads should come first (in
bench/backup.py, on two shared CPUs, p99 of updates during a backup: 29 ms before, 11 ms).

Restoring is for a stopped bot (the caller holds bot.running.exclusive). SRC is copied next
to the live file and that copy checked (ours, a schema not newer than this bot's, integrity,
foreign keys, the ledger) before anything is touched; the live file (and its write-ahead
log, if a crash left one) is kept aside under a timestamped name, and the checked copy
renamed into place.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from storage.check import Area, Finding, data_findings, open_read_only
from storage.models import FORMER_MEMBER_ID

GIVE_WAY = 10  # niceness added to a backup's thread (see _giving_way)
SLICE = 8 * 2**20  # bytes written out at a time
BREATH_S = 0.002  # between slices, for the bot's commits
SUFFIX = ".sqlite3"
STAMP = "%Y%m%d-%H%M%S"  # UTC; names sort in time order
_STAMPED = re.compile(r"-\d{8}-\d{6}")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    size_bytes: int
    copy_s: float  # the backup API's step: what the live database is read for
    check_s: float
    seconds: float  # all of it, the copy written out to the disk included
    findings: tuple[Finding, ...]  # empty when the copy is sound


@dataclass(frozen=True, slots=True)
class Restored:
    database: Path
    source: Path
    schema: int
    members: int  # people: the placeholder of everyone who left isn't counted
    entries: int
    kept_aside: Path | None  # the database it replaced, if there was one


class BackupFailed(Exception):
    """No copy was made (nothing is left behind); the message is the one line to show."""


class RestoreRefused(Exception):
    """Nothing was touched; the message is the one line to show."""


def backup(database: str | Path, dest: str | Path, now: datetime) -> Backup:
    """Copy the live `database` to `dest` (a new file, or a folder to name one in) and check
    the copy. Safe while the bot runs, and gives way to it (a thread of lower priority)."""
    return _giving_way(_backup, Path(database), Path(dest), now)


def _backup(database: Path, dest: Path, now: datetime) -> Backup:
    if dest.is_dir():
        dest = dest / backup_name(database, now)
    if not database.is_file():
        raise BackupFailed(f"there is no database at {database}")
    if dest.exists():
        raise BackupFailed(f"{dest} already exists; name a new file, or a folder")
    partial = dest.with_name(f"{dest.name}.partial")
    partial.unlink(missing_ok=True)  # left by a backup that was killed half-way
    try:
        started = time.perf_counter()
        with _new_file(partial) as copy:
            with contextlib.closing(open_read_only(database)) as live:
                live.backup(copy)
            copied = time.perf_counter()
            # One self-contained file: a backup has no write-ahead log beside it.
            copy.execute("PRAGMA journal_mode = DELETE")
            found = tuple(data_findings(copy, thorough=False))
            checked = time.perf_counter()
        _write_out(partial)
        partial.replace(dest)
        _sync(dest.parent)
    except (sqlite3.Error, OSError) as error:
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"could not copy {database} to {dest}: {_reason(error)}") from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    done = time.perf_counter()
    return Backup(
        dest, dest.stat().st_size, copied - started, checked - copied, done - started, found
    )


def _giving_way(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)`, in a new thread of lower CPU priority (on Linux each thread has its
    own niceness), so a backup made beside the running bot gives way to it where CPUs are few
    and busy: checking the copy keeps one busy for seconds. A thread of its own, because its
    priority can't be raised again once it is done."""
    with ThreadPoolExecutor(1, thread_name_prefix="backup", initializer=_lower_priority) as pool:
        return pool.submit(function, *args).result()


def _lower_priority() -> None:
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: not on this system
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness + GIVE_WAY))


def backup_name(database: Path, now: datetime) -> str:
    """`timebank-20261124-033000.sqlite3`: the database's own name first, so backups of two
    networks in one folder are never taken for each other's (nor pruned as such)."""
    return f"{database.stem}-{now.astimezone(UTC):{STAMP}}{SUFFIX}"


def daily(database: str | Path, folder: str | Path, now: datetime, keep: int) -> tuple[Backup, int]:
    """The scheduler's backup: a new copy in `folder`, then the oldest removed so `keep`
    remain. Returns the copy and how many were removed; none are while the new copy has
    findings (an older, sound copy may be the one that matters)."""
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    made = backup(database, folder, now)
    if made.findings:
        return made, 0
    stale = backups_in(folder, Path(database))[:-keep]
    for path in stale:
        path.unlink(missing_ok=True)
    return made, len(stale)


def backups_in(folder: Path, database: Path) -> list[Path]:
    """This database's backups in `folder` (by their names), oldest first."""
    pattern = re.compile(re.escape(database.stem) + _STAMPED.pattern + re.escape(SUFFIX))
    return sorted(path for path in folder.iterdir() if pattern.fullmatch(path.name))


def restore(source: str | Path, database: str | Path, now: datetime) -> Restored:
    """Put the copy at `source` in place of `database`, or refuse (RestoreRefused) with the
    live file untouched. The bot must be stopped: the caller holds bot.running.exclusive."""
    source, database = Path(source), Path(database)
    if not source.is_file():
        raise RestoreRefused(f"there is no file at {source}")
    incoming = database.with_name(f"{database.name}.restoring")
    incoming.unlink(missing_ok=True)
    try:
        with _new_file(incoming) as copy:
            try:
                with contextlib.closing(open_read_only(source)) as given:
                    given.backup(copy)
            except sqlite3.Error as error:
                raise RestoreRefused(
                    f"{source} is not a database this bot can read ({error}); nothing was changed"
                ) from error
            found = data_findings(copy)
            if found:
                raise RestoreRefused(f"{source} {_refusal(found)}; nothing was changed")
            copy.execute("PRAGMA journal_mode = DELETE")
            schema, members, entries = copy.execute(
                "SELECT (SELECT user_version FROM pragma_user_version),"
                " (SELECT COUNT(*) FROM members WHERE id <> ?),"
                " (SELECT COUNT(*) FROM ledger_entries)",
                (FORMER_MEMBER_ID,),
            ).fetchone()
        _write_out(incoming)
        aside = _put_aside(database, now) if database.exists() else None
        incoming.replace(database)
        _sync(database.parent)
    except OSError as error:
        incoming.unlink(missing_ok=True)
        raise RestoreRefused(f"could not restore {database}: {_reason(error)}") from error
    except BaseException:
        incoming.unlink(missing_ok=True)
        raise
    return Restored(database, source, int(schema), int(members), int(entries), aside)


def _refusal(found: list[Finding]) -> str:
    first = found[0]
    more = f" (and {len(found) - 1} more findings)" if len(found) > 1 else ""
    if first.area == Area.FILE:
        return f"is {first.detail}"
    return f"fails its check: {first}{more}"


def _put_aside(database: Path, now: datetime) -> Path:
    """Keep the live file under a new name, with its write-ahead log if a crash left one:
    first folded into the file, when SQLite can still read it; else kept beside it, under
    the matching name, so the pair opens as it was. Hard links, so `database` is never
    missing, not even for a moment: a bot started after a crash here finds the old file."""
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(database)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    aside = database.with_name(f"{database.name}.before-restore-{now.astimezone(UTC):{STAMP}}")
    for suffix in ("", "-wal"):
        live = Path(f"{database}{suffix}")
        if live.exists():
            _link_or_copy(live, Path(f"{aside}{suffix}"))
    for suffix in ("-wal", "-shm"):  # they belong to the file being replaced
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    return aside


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)


@contextlib.contextmanager
def _new_file(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a new, empty file only its owner can read, closed after the block.
    Its writes skip fsync: the caller syncs the finished file once."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        yield conn
    finally:
        conn.close()


def _write_out(path: Path) -> None:
    """Put a new file on the disk a slice at a time (see the module's docstring), then fsync."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        for offset in range(0, size, SLICE):
            if not _sync_file_range(fd, offset, SLICE):
                break  # not Linux, or a file system that can't: the fsync does it all
            time.sleep(BREATH_S)
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_file_range(fd: int, offset: int, length: int) -> bool:
    """Write out that range of the file and wait for it (Linux only; False elsewhere)."""
    if _LIBC is None:
        return False
    flags = 1 | 2 | 4  # SYNC_FILE_RANGE_WAIT_BEFORE | _WRITE | _WAIT_AFTER
    return bool(_LIBC.sync_file_range(fd, offset, length, flags) == 0)


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.sync_file_range.argtypes = [
            ctypes.c_int,
            ctypes.c_int64,
            ctypes.c_int64,
            ctypes.c_uint,
        ]
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def _sync(path: Path) -> None:
    """Flush a file (or a folder's entries, after a rename) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(error: BaseException) -> str:
    return error.strerror or str(error) if isinstance(error, OSError) else str(error)
