"""Log lines a host can keep and ship: one line per event, and nothing personal in it.

No member's words, names, usernames or Telegram ids: where a line is about a member it names
our own member id. Two places could let more through, and both are closed here, for every
record whatever logged it:
- a traceback. Python's prints each exception's message, and a message can quote a member's
  words (`int("their text")` does); the traceback here is the frames and the exception's type
  only, on one line, with a message kept just for errors whose words are made by SQLite or
  Telegram (a table, a constraint, "chat not found"), never by data. No locals, ever.
- other libraries at DEBUG: python-telegram-bot logs whole updates and every call's parameters,
  aiosqlite every query's values, httpx every URL (the token is in it). They never go below
  LIBRARY_FLOORS, whatever `[logging] level` says; the level is for our own loggers.
A secret (the bot's token) that still reaches a line is masked as a last resort.

`format = "json"` writes one JSON object per line for a collector (Loki, Elasticsearch,
journald's JSON field import): time, level, logger, message and the record's extra fields
(`log.info("…", extra={"member": 42})`), plus `error` and `traceback` when there is one. It is
the standard logging module with a small Formatter: python-json-logger or structlog would give
the JSON but not the safe traceback, which is most of the work, so they would not pay their way.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import traceback
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from telegram.error import InvalidToken, TelegramError

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TEXT_TIME = "%H:%M:%S"
MASKED = "…(masked)"
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
LIBRARY_FLOORS = {
    "telegram": logging.INFO,  # INFO: starts and stops; DEBUG: updates and call parameters
    "aiosqlite": logging.INFO,  # DEBUG: every query with its values
    "httpx": logging.WARNING,  # INFO: every request URL, which holds the token
    "httpcore": logging.WARNING,
    "apscheduler": logging.WARNING,  # INFO: every tick
}
# Exceptions whose message is written by SQLite or Telegram, naming the fault and not the data.
# InvalidToken is a TelegramError whose message quotes the token.
_WORDED_BY_THEM: tuple[type[BaseException], ...] = (sqlite3.Error, TelegramError)
_QUOTES_A_SECRET: tuple[type[BaseException], ...] = (InvalidToken,)
# What every LogRecord has; anything else on a record was passed in `extra`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
# Paths in a traceback are shown from the project's root or from site-packages.
_ROOT = Path(__file__).resolve().parent.parent

LogFormat = Literal["text", "json"]


def configure(
    level: str = "info",
    style: LogFormat = "text",
    *,
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
) -> None:
    """Log to stderr (or `stream`) in `style` at `level`; basicConfig leaves a host's own
    logging (pytest's, say) as it is. Libraries are held at their floors either way."""
    chosen = LEVELS[level]
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(style, secrets=secrets))
    logging.basicConfig(level=chosen, handlers=[handler])
    for name, floor in LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(chosen, floor))


def formatter(style: LogFormat, *, secrets: Iterable[str | None] = ()) -> logging.Formatter:
    kept = [secret for secret in secrets if secret]
    return JsonFormatter(kept) if style == "json" else TextFormatter(kept)


class _SafeFormatter(logging.Formatter):
    """What both styles share: the record's extra fields, the safe traceback, the masking."""

    def __init__(self, secrets: list[str], fmt: str | None = None) -> None:
        super().__init__(fmt, datefmt=TEXT_TIME)
        self.secrets = secrets

    def _masked(self, line: str) -> str:
        for secret in self.secrets:
            line = line.replace(secret, MASKED)
        return line

    def formatException(self, ei: Any) -> str:
        return safe_traceback(ei[1]) if ei and ei[1] is not None else ""


class TextFormatter(_SafeFormatter):
    """`12:00:01 ERROR handlers.errors: a handler failed update=7 member=42 error=ValueError
    traceback=…`: the usual line, then each extra field as key=value."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__(secrets, TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        fields = [f"{key}={value}" for key, value in _fields(record)]
        return self._masked(" ".join([self.formatMessage(record), *fields]))


class JsonFormatter(_SafeFormatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _fields(record):
            line.setdefault(key, value)
        return self._masked(json.dumps(line, ensure_ascii=False, default=str))


def _fields(record: logging.LogRecord) -> Iterator[tuple[str, Any]]:
    """The record's extra fields, then its error's type and traceback, if it has one."""
    for key, value in record.__dict__.items():
        if key not in _STANDARD and not key.startswith("_"):
            yield key, value
    error = record.exc_info[1] if record.exc_info else None
    if error is not None:
        yield "error", error_name(error)
        yield "traceback", safe_traceback(error)


def safe_traceback(error: BaseException) -> str:
    """Each exception of the chain, oldest first: its frames (file:line function) and its
    type, on one line, with a message only where SQLite or Telegram wrote it."""
    parts = []
    for link in _chain(error):
        frames = " > ".join(
            f"{_short(frame.filename)}:{frame.lineno} {frame.name}"
            for frame in traceback.extract_tb(link.__traceback__)
        )
        parts.append(f"{frames} | {_described(link)}" if frames else _described(link))
    return " || ".join(parts)


def error_name(error: BaseException) -> str:
    kind = type(error)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _described(error: BaseException) -> str:
    if isinstance(error, _WORDED_BY_THEM) and not isinstance(error, _QUOTES_A_SECRET):
        return f"{error_name(error)}: {error}"
    return error_name(error)


def _chain(error: BaseException) -> list[BaseException]:
    """The error and what led to it (`raise … from`, or raised while handling), oldest first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        cause = current.__cause__
        current = (
            cause if cause is not None or current.__suppress_context__ else current.__context__
        )
    return chain[::-1]


def _short(filename: str) -> str:
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(_ROOT))
    except ValueError:
        _, found, rest = filename.rpartition("site-packages/")
        return rest if found else path.name
