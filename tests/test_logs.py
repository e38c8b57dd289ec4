"""Log lines hold no member's words, names or Telegram ids, whatever fails and however it is
logged; JSON lines parse, with their fields."""

from __future__ import annotations

import ast
import io
import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import MessageHandler, filters

from bot import logs
from bot.config import Config
from bot.sandbox.standin import ChatMember
from handlers.common import Context
from storage import members
from tests.conftest import join

ZED_ID = 987_654_321
ZED_NAME = "Zebedee"
ZED_USERNAME = "zebedee_q"
WORDS = "boom my address is 12 Quill Lane"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every record, as the running bot writes it in JSON."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter("json"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


async def fail_on_words(update: Update, context: Context) -> None:
    """A handler with a bug that quotes what the member wrote in its exception."""
    assert update.message is not None
    int(update.message.text or "")


async def test_a_failing_handler_logs_no_words_name_or_telegram_id(app, api, svc, log_lines):
    zed = ChatMember(app, api, ZED_ID, ZED_NAME, username=ZED_USERNAME)
    await join(zed)
    app.add_handler(MessageHandler(filters.Regex("^boom"), fail_on_words), group=-3)
    await zed.says(WORDS)
    assert "Sorry" in zed.last_text, "the member hears a kind apology"
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    failed = next(line for line in lines if line["message"] == "a handler failed")
    member = await members.by_telegram_id(svc.db, ZED_ID)
    assert member is not None
    assert failed["member"] == member.id
    assert failed["kind"] == "message"
    assert failed["handler"] == "tests.test_logs.fail_on_words"
    assert failed["error"] == "ValueError"
    assert "tests/test_logs.py" in failed["traceback"]
    assert failed["level"] == "error"
    assert failed["logger"] == "handlers.errors"
    everything = log_lines.getvalue()
    for personal in ("Quill", "boom", ZED_NAME, ZED_USERNAME, str(ZED_ID)):
        assert personal not in everything


def test_text_lines_carry_the_fields_on_one_line():
    record = logging.LogRecord("handlers.errors", logging.ERROR, __file__, 1, "failed", (), None)
    record.member = 42
    line = logs.formatter("text").format(record)
    assert line.endswith("ERROR handlers.errors: failed member=42")
    assert "\n" not in line


def read_address(words: str) -> int:
    try:
        return int(words)
    except ValueError as error:
        raise RuntimeError(f"while reading {words}") from error


def test_a_traceback_keeps_frames_and_types_but_not_messages():
    with pytest.raises(RuntimeError) as raised:
        read_address("Quill Lane")
    shown = logs.safe_traceback(raised.value)
    assert "Quill" not in shown
    assert shown.count("tests/test_logs.py:") == 3, "both frames of the first, one of the second"
    assert shown.index("| ValueError") < shown.index("| RuntimeError"), "oldest first"


def test_sqlites_own_words_are_kept():
    with pytest.raises(sqlite3.OperationalError) as raised:
        sqlite3.connect(":memory:").execute("SELECT x FROM nowhere")
    assert logs.safe_traceback(raised.value).endswith(
        "sqlite3.OperationalError: no such table: nowhere"
    )


def test_a_token_that_reaches_a_line_is_masked():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "url %s", ("/bot123:SECRET/",), None)
    assert "SECRET" not in logs.formatter("json", secrets=["123:SECRET", None]).format(record)
    assert "SECRET" not in logs.formatter("text", secrets=["123:SECRET"]).format(record)


@pytest.mark.parametrize("level", ["debug", "warning"])
def test_libraries_never_log_below_their_floor(level):
    names = list(logs.LIBRARY_FLOORS)
    before = {name: logging.getLogger(name).level for name in names}
    try:
        logs.configure(level, "json", stream=io.StringIO())
        assert logging.getLogger("telegram").getEffectiveLevel() >= logging.INFO
        assert logging.getLogger("telegram.ext.Application").isEnabledFor(logging.DEBUG) is False
        assert logging.getLogger("aiosqlite").isEnabledFor(logging.DEBUG) is False
        assert logging.getLogger("httpx").isEnabledFor(logging.INFO) is False
    finally:
        for name, old in before.items():
            logging.getLogger(name).setLevel(old)


# --- every log call in the code, read: none names what a member wrote, who they are, or an
# update or message whole. The bot's own username (`app.bot.username`) is no member's.
PERSONAL = {
    "text",
    "caption",
    "first_name",
    "last_name",
    "full_name",
    "username",
    "telegram_id",
    "effective_user",
    "effective_message",
    "effective_chat",
    "phone",
    "address",
    "notes",
}
WHOLE = {"update", "message", "query", "user", "member", "chat"}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}


def _log_calls() -> Iterator[tuple[str, ast.Call]]:
    for folder in ("bot", "handlers", "storage"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in LOG_METHODS
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in {"log", "logger"}
                ):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", node


def _dotted(node: ast.Attribute) -> list[str]:
    parts: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        parts.insert(0, current.attr)
        current = current.value
    if isinstance(current, ast.Name):
        parts.insert(0, current.id)
    return parts


def test_no_log_call_names_a_members_words_names_or_ids():
    calls = list(_log_calls())
    assert len(calls) > 10
    offending = []
    for where, call in calls:
        arguments = [*call.args[1:], *(keyword.value for keyword in call.keywords)]
        for argument in arguments:
            if isinstance(argument, ast.Name) and argument.id in WHOLE | PERSONAL:
                offending.append(f"{where}: {argument.id}")
            for node in ast.walk(argument):
                if isinstance(node, ast.Attribute):
                    chain = _dotted(node)
                    if PERSONAL & set(chain) and chain[-2:] != ["bot", "username"]:
                        offending.append(f"{where}: {'.'.join(chain)}")
    assert offending == []


def test_the_token_and_the_webhook_secret_are_what_logs_mask(monkeypatch):
    monkeypatch.setenv("TIMEBANK_BOT_TOKEN", "123:TOKEN")
    monkeypatch.setenv("TIMEBANK_WEBHOOK_SECRET", "hook-secret")
    assert Config().secrets() == ["123:TOKEN", "hook-secret"]
    monkeypatch.delenv("TIMEBANK_WEBHOOK_SECRET")
    assert Config().secrets() == ["123:TOKEN"]
