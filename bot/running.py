"""Whether a bot is running on a database: a lock it holds for as long as it runs.

`restore` swaps the database file; a bot still running on the old one would go on writing
into a file nobody reads (or, with its write-ahead log, into the new one, corrupting it). So
`timebank-bot run` holds an exclusive `flock` on `<database>.lock` for its whole life, and
`restore` takes the same lock before it touches anything: it fails at once while a bot runs,
and no bot can start while a restore is under way. The kernel drops the lock when the process
ends, however it ends, so a crash never leaves a stale lock behind. The file stays (removing a
lock file while someone may be opening it is a race); it only ever holds the last holder's pid.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class AlreadyRunning(Exception):
    """Someone holds the database's lock: a bot is running on it, or a restore is."""


def lock_path(database: str | Path) -> Path:
    database = Path(database)
    return database.with_name(f"{database.name}.lock")


@contextmanager
def exclusive(database: str | Path | None) -> Iterator[None]:
    """Hold `database`'s lock for the block, or raise AlreadyRunning at once. None (a
    throwaway sandbox database) holds nothing."""
    if database is None:
        yield
        return
    path = lock_path(database)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            by = f" (process {holder})" if holder.isdigit() else ""
            raise AlreadyRunning(
                f"a bot or a restore is running on {database}{by}; stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the file releases the lock
