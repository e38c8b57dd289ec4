"""The command line and the offline sandbox, driven as a person would: arguments and typed lines."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.cli import main
from bot.sandbox.terminal import plain, run_sandbox
from tests.conftest import COORDINATOR_ID, make_config

TOKEN_ENV = "TIMEBANK_BOT_TOKEN"
TOKEN = "123456:ABCdefGhIjKlMnOpQrStUvWxYz0123456789"


def write_config(tmp_path: Path, timebank: str = "", bot: str = "") -> Path:
    path = tmp_path / "config.toml"
    database = tmp_path / "real.sqlite3"
    path.write_text(
        f'[bot]\ndatabase = "{database}"\n{bot}\n[timebank]\n'
        f'neighbourhoods = ["Riverside", "Old Town"]\n{timebank}',
        encoding="utf-8",
    )
    return path


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("timebank-bot: ")
    assert "Traceback" not in captured.err
    return lines[0]


# --- config errors -----------------------------------------------------------------------------


def test_missing_config_is_one_line_and_status_2(tmp_path, capsys):
    missing = tmp_path / "nowhere.toml"
    assert main(["run", "--config", str(missing)]) == 2
    assert str(missing) in one_error_line(capsys)


def test_unknown_key_is_named(tmp_path, capsys):
    path = write_config(tmp_path, 'colour = "blue"\n')
    assert main(["run", "--config", str(path)]) == 2
    line = one_error_line(capsys)
    assert "timebank.colour" in line
    assert "unknown key" in line


def test_wrong_type_is_named(tmp_path, capsys):
    path = write_config(tmp_path, 'overdraft_limit_hours = "ten"\n')
    assert main(["try", "--config", str(path)]) == 2
    assert "timebank.overdraft_limit_hours" in one_error_line(capsys)


def test_bad_toml_is_one_line(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text("[timebank\n", encoding="utf-8")
    assert main(["run", "--config", str(path)]) == 2
    assert "not valid TOML" in one_error_line(capsys)


# --- run ---------------------------------------------------------------------------------------


def test_run_without_token_says_so_and_opens_the_sandbox(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["run", "--config", str(write_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert f"No bot token is set in ${TOKEN_ENV}" in out
    assert "Timebank sandbox" in out
    assert out.rstrip().endswith("Bye!")


def test_run_with_token_polls_telegram(tmp_path, monkeypatch):
    polled: dict[str, Any] = {}

    class FakeApp:
        post_init = None

        def run_polling(self, **kwargs: Any) -> None:
            polled.update(kwargs)

    monkeypatch.setenv(TOKEN_ENV, "123:real")
    monkeypatch.setattr(cli, "build_application", lambda config: FakeApp())
    assert main(["run", "--config", str(write_config(tmp_path))]) == 0
    assert "allowed_updates" in polled


def answer(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class Refuses(BaseHTTPRequestHandler):
    """Telegram's answer to a wrong token, for every method; counts the requests it gets."""

    requests = 0

    def do_POST(self) -> None:
        type(self).requests += 1
        answer(self, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request line holds the token."""


@pytest.fixture
def refusing_api() -> Iterator[str]:
    Refuses.requests = 0
    with local_api(Refuses) as url:
        yield url


class Accepts(BaseHTTPRequestHandler):
    """Telegram's answers to a good token; the first getUpdates presses Ctrl-C, as a person
    stopping the bot would, so the run ends once polling has started."""

    interrupted = False

    def do_POST(self) -> None:
        method = self.path.rsplit("/", 1)[-1]
        result: Any = True
        if method == "getMe":
            result = {"id": 123456, "is_bot": True, "first_name": "Timebank", "username": "tbot"}
        elif method == "getUpdates":
            result = []
            if not Accepts.interrupted:
                Accepts.interrupted = True
                os.kill(os.getpid(), signal.SIGINT)
        answer(self, 200, {"ok": True, "result": result})

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request line holds the token."""


@contextmanager
def local_api(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A Bot API on 127.0.0.1 answering with `handler`, as a base URL for bot.api_base_url."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/bot"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port() -> int:
    """A local port nothing listens on: bound, read, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_with_token(tmp_path: Path, api_base_url: str, monkeypatch, caplog) -> int:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    caplog.set_level(logging.INFO)  # what the CLI logs: INFO and up
    path = write_config(tmp_path, bot=f'api_base_url = "{api_base_url}"\n')
    return main(["run", "--config", str(path)])


def assert_token_never_shown(capsys, caplog, line: str) -> None:
    captured = capsys.readouterr()
    assert captured.err == line + "\n"
    assert captured.out == ""
    assert TOKEN.partition(":")[2] not in captured.err
    assert caplog.text == ""  # run as a program, stderr holds logging's lines too: none


def test_a_wrong_token_is_one_masked_line_and_status_3(
    tmp_path, refusing_api, monkeypatch, capsys, caplog
):
    assert run_with_token(tmp_path, refusing_api, monkeypatch, caplog) == 3
    assert_token_never_shown(
        capsys,
        caplog,
        "timebank-bot: Telegram refused the token 123456:AB…(masked); check $TIMEBANK_BOT_TOKEN",
    )
    assert Refuses.requests == 1  # getMe once, no retries
    assert not (tmp_path / "real.sqlite3").exists()  # the bot stopped before opening storage


def test_no_network_is_one_line_and_status_3(tmp_path, monkeypatch, capsys, caplog):
    url = f"http://127.0.0.1:{closed_port()}/bot"
    assert run_with_token(tmp_path, url, monkeypatch, caplog) == 3
    assert_token_never_shown(
        capsys,
        caplog,
        "timebank-bot: can't reach Telegram (httpx.ConnectError: All connection attempts "
        "failed); check the network or bot.api_base_url",
    )


def test_a_second_failed_start_in_one_process_still_says_one_line(
    tmp_path, refusing_api, monkeypatch, capsys, caplog
):
    for _ in range(2):
        assert run_with_token(tmp_path, refusing_api, monkeypatch, caplog) == 3
        assert len(capsys.readouterr().err.splitlines()) == 1


def test_a_good_token_says_connected_and_never_logs_the_token(
    tmp_path, monkeypatch, capsys, caplog
):
    Accepts.interrupted = False
    with local_api(Accepts) as url:
        assert run_with_token(tmp_path, url, monkeypatch, caplog) == 0
    assert "connected as @tbot; long polling for our timebank" in caplog.text
    assert "Application started" in caplog.text
    assert TOKEN.partition(":")[2] not in caplog.text + str(capsys.readouterr())


def test_mask_keeps_the_bot_id_and_two_characters():
    assert cli.mask(TOKEN) == "123456:AB…(masked)"
    assert cli.mask("no-colon-at-all") == "…(masked)"


def test_version_is_pyprojects(capsys):
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"timebank-bot {pyproject['project']['version']}\n"


def test_try_uses_a_throwaway_database_by_default(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("/start\n1\n"))
    assert main(["try", "--config", str(write_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "What should we call you?" in out
    assert not (tmp_path / "real.sqlite3").exists()


def test_try_keeps_an_explicit_database(tmp_path, capsys, monkeypatch):
    kept = tmp_path / "kept.sqlite3"
    monkeypatch.setattr("sys.stdin", io.StringIO("/start\n"))
    args = ["try", "--config", str(write_config(tmp_path)), "--database", str(kept)]
    assert main(args) == 0
    assert str(kept) in capsys.readouterr().out
    assert kept.exists()


# --- the sandbox -------------------------------------------------------------------------------


async def chat(config: Any, *lines: str) -> str:
    out = io.StringIO()
    await run_sandbox(config, stdin=io.StringIO("".join(f"{line}\n" for line in lines)), stdout=out)
    return out.getvalue()


JOIN = ("/start", "1", "1", "1")  # tap the name, the first neighbourhood, then "I agree"


async def test_sandbox_joins_a_member_by_numbers(tmp_path):
    out = await chat(make_config(tmp_path), *JOIN)
    assert "You are chatting as Alice" in out
    assert "Hello, and welcome to" in out
    assert "keyboard: [1] Alice" in out
    assert "[1] Riverside   [2] Old Town" in out
    assert "buttons:  [1] I agree   [2] No thanks" in out
    assert "bot: You're in, Alice! 🎉" in out
    assert "Tap I can offer to share a skill" in out  # <b> tags are gone
    assert "[1] I can offer   [2] I need" in out


async def test_sandbox_shows_notifications_to_other_members(tmp_path):
    out = await chat(
        make_config(tmp_path),
        *JOIN,
        ":who Bob",
        *JOIN,
        ":who Alice",
        "/need a lift to the clinic",
        ":who bob",
        "/search clinic",
        "1",  # the search result
        "1",  # I can help
        ":who Alice",
        "1",  # Yes, please
    )
    assert "now chatting as Bob" in out
    assert "bot: You're in, Bob! 🎉" in out
    assert "[to Alice] 🙋 Bob can help with your need:" in out
    assert "buttons:  [1] ✅ Yes, please   [2] No, thanks" in out
    assert "bot: Wonderful! Say hello to Bob" in out
    assert "[to Bob] Good news! Alice" in out


async def test_sandbox_cora_is_the_configured_coordinator(tmp_path):
    out = await chat(make_config(tmp_path), ":who Cora", ":who")
    assert f"Cora (pretend Telegram id {COORDINATOR_ID}, a coordinator)" in out


async def test_sandbox_makes_new_members_on_request(tmp_path):
    out = await chat(make_config(tmp_path), ":who Dan", "/start")
    assert "new pretend member Dan" in out
    assert "keyboard: [1] Dan" in out


async def test_sandbox_answers_bad_input_kindly(tmp_path):
    out = await chat(
        make_config(tmp_path), "3", "/start", "7", ":frobnicate", ":help", ":quit", "x"
    )
    assert "there are no buttons to tap just now" in out
    assert "there's no button 7; pick 1 to 1" in out
    assert "unknown command :frobnicate" in out
    assert out.count(":who NAME") == 2  # the banner, then :help
    assert "Alice> x" not in out  # :quit left before the last line
    assert "Traceback" not in out


async def test_sandbox_reprints_edited_messages(tmp_path):
    out = await chat(make_config(tmp_path), *JOIN)
    assert "bot (buttons changed): 🔒 Your privacy …" in out


def test_plain_strips_html_for_the_terminal():
    assert plain("<b>Hi</b> &amp; <i>bye</i>") == "Hi & bye"
    assert plain('<a href="tg://user?id=1">Bob</a>') == "Bob"
    assert plain('<a href="https://t.me/bob">Bob</a>') == "Bob (https://t.me/bob)"


def test_unreadable_config_is_one_line_too(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    latin = tmp_path / "latin.toml"
    latin.write_bytes('[timebank]\nname = "Zo\xeb"\n'.encode("latin-1"))
    assert main(["run", "--config", str(latin)]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err


def test_a_token_in_the_file_points_at_the_environment(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text('[bot]\ntoken = "123:abc"\n')
    assert main(["run", "--config", str(path)]) == 2
    assert "bot.token: unknown key (the token is read from the environment" in (
        capsys.readouterr().err
    )


def test_without_config_toml_the_example_is_used_and_said(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIMEBANK_BOT_TOKEN", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    (tmp_path / "config.example.toml").write_text('[timebank]\nname = "Example"\n')
    assert main(["try"]) == 0
    assert "no config.toml here, so using config.example.toml" in capsys.readouterr().err
