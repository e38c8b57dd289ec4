"""Webhook mode: the real server on a free localhost port, with the stand-in as Telegram.

Updates are posted over HTTP as Telegram posts them; only one carrying the secret token is
handled, and /healthz follows the scheduler's tick.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from telegram import Bot, Update
from telegram.error import BadRequest, Conflict

from bot.app import SCHEDULER_KEY, build_application
from bot.cli import main
from bot.clock import FakeClock
from bot.config import Config, load_config
from bot.outbound.scheduler import Ticker
from bot.sandbox.standin import (
    SECRET_TOO_LONG,
    SECRET_UNALLOWED,
    WEBHOOK_BAD_PORT,
    WEBHOOK_NOT_HTTPS,
    ChatMember,
    StandInBotAPI,
)
from bot.services import services_of
from bot.webhook import WebhookSettings, WebhookStartFailed, serving
from storage.migrations import discover
from tests.conftest import join, make_config
from tests.test_cli import (
    TOKEN,
    Refuses,
    answer,
    assert_token_never_shown,
    closed_port,
    local_api,
    one_error_line,
    write_config,
)

SECRET = "s3cret-Token_for-the-tests"
URL = "https://bot.example.org/telegram"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
STALE_AFTER = timedelta(seconds=60)
SCHEMA_VERSION = discover()[-1].version


def settings(**changes: Any) -> WebhookSettings:
    chosen: dict[str, Any] = {
        "url": URL,
        "listen": "127.0.0.1",
        "port": 0,
        "secret": SECRET,
        "stale_after": STALE_AFTER,
    } | changes
    return WebhookSettings(**chosen)


def hourly_ticks(config: Config) -> Config:
    """The scheduler's first tick runs at start and the next not within a test."""
    nudges = config.nudges.model_copy(update={"tick_seconds": 3600})
    return config.model_copy(update={"nudges": nudges})


class Served:
    """The bot serving its webhook, and a client posting to it as Telegram would."""

    def __init__(self, app: Any, base: str, client: httpx.AsyncClient) -> None:
        self.app, self.base, self.client = app, base, client

    async def post(self, update: Any, headers: dict[str, str] | None = None) -> int:
        """Post an update (with the secret unless `headers` say otherwise) and wait until
        the bot has handled whatever it queued; the HTTP status."""
        given = {HEADER: SECRET} if headers is None else headers
        response = await self.client.post(f"{self.base}/telegram", json=update, headers=given)
        await self.app.update_queue.join()
        return response.status_code

    async def health(self) -> tuple[int, dict[str, Any]]:
        response = await self.client.get(f"{self.base}/healthz")
        return response.status_code, response.json()


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[Served]:
    async with serving(app, settings()) as server, httpx.AsyncClient() as client:
        yield Served(app, f"http://127.0.0.1:{server.port}", client)


def bot_app(tmp_path: Path, api: StandInBotAPI, clock: FakeClock, **options: Any) -> Any:
    """The real Application, scheduler and sender included, with the stand-in as Telegram."""
    config = hourly_ticks(make_config(tmp_path))
    return build_application(config, request=api, clock=clock, **options)


@pytest.fixture
async def bot(tmp_path: Path, api: StandInBotAPI, clock: FakeClock) -> AsyncIterator[Served]:
    async with served(bot_app(tmp_path, api, clock)) as running_bot:
        yield running_bot


async def first_tick(app: Any) -> Ticker:
    """The ticker, once its first pass (run at start) has finished: real time, bounded."""
    ticker = app.bot_data[SCHEDULER_KEY]
    assert isinstance(ticker, Ticker)
    for _ in range(500):
        if ticker.last_tick_at is not None:
            return ticker
        await asyncio.sleep(0.01)
    raise AssertionError("the first tick never finished")


def listings_of(app: Any) -> Any:
    return services_of(app).db.scalar("SELECT count(*) FROM listings")


# --- updates ---------------------------------------------------------------------------------


async def test_start_registers_the_webhook_with_its_secret(bot, api):
    assert api.webhook == {
        "url": URL,
        "secret_token": SECRET,
        "allowed_updates": list(Update.ALL_TYPES),
    }


async def test_an_update_with_the_secret_is_answered(bot, api):
    alice = ChatMember(bot.app, api, 101, "Alice")
    assert await bot.post(alice.update_saying("/start")) == 200
    assert "What should we call you?" in alice.last_text


async def test_an_update_without_the_secret_is_refused_and_never_acted_on(bot, api, caplog):
    alice = ChatMember(bot.app, api, 101, "Alice")
    await join(alice)
    seen, calls = len(alice.messages), len(api.calls)
    offer = alice.update_saying("/offer Weeding and mowing")
    for headers in ({}, {HEADER: ""}, {HEADER: SECRET[:-1]}, {HEADER: SECRET + "x"}):
        assert await bot.post(offer, headers) == 403
    assert await listings_of(bot.app) == 0
    assert len(alice.messages) == seen
    assert api.calls[calls:] == []  # nothing at all was asked of Telegram
    assert "refused an update without the right secret token (403)" in caplog.text
    assert SECRET not in caplog.text

    assert await bot.post(offer) == 200  # the same update, with the secret
    assert await listings_of(bot.app) == 1
    assert len(alice.messages) > seen


async def test_a_body_that_is_no_update_is_400_and_nothing_happens(bot, api):
    calls = len(api.calls)
    for body in ("not json", "[1, 2]", '{"message": {"text": "no update_id"}}'):
        response = await bot.client.post(
            f"{bot.base}/telegram", content=body, headers={HEADER: SECRET}
        )
        assert response.status_code == 400
    await bot.app.update_queue.join()
    assert api.calls[calls:] == []


async def test_updates_are_taken_on_any_path_but_health_only_by_get(bot, api):
    alice = ChatMember(bot.app, api, 101, "Alice")
    response = await bot.client.post(
        f"{bot.base}/", json=alice.update_saying("/start"), headers={HEADER: SECRET}
    )
    assert response.status_code == 200
    await bot.app.update_queue.join()
    assert "What should we call you?" in alice.last_text
    assert (await bot.client.get(f"{bot.base}/telegram")).status_code == 405
    assert (await bot.client.post(f"{bot.base}/healthz", headers={HEADER: SECRET})).status_code == (
        405
    )


async def test_a_stop_handles_what_was_queued_then_closes_the_port(tmp_path, api, clock):
    app = bot_app(tmp_path, api, clock)
    alice = ChatMember(app, api, 101, "Alice")
    async with served(app) as running_bot:
        response = await running_bot.client.post(
            f"{running_bot.base}/telegram",
            json=alice.update_saying("/start"),
            headers={HEADER: SECRET},
        )
        assert response.status_code == 200  # and the bot stops at once, without waiting
        base = running_bot.base
    assert "What should we call you?" in alice.last_text  # handled before storage closed
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{base}/healthz")


# --- health ----------------------------------------------------------------------------------


async def test_health_is_200_after_a_tick_and_503_when_the_tick_is_stale(bot, clock):
    await first_tick(bot.app)
    assert await bot.health() == (200, {"schema_version": SCHEMA_VERSION, "last_tick_age_s": 0})
    clock.advance(STALE_AFTER)
    assert await bot.health() == (200, {"schema_version": SCHEMA_VERSION, "last_tick_age_s": 60})
    clock.advance(timedelta(seconds=1))
    assert await bot.health() == (503, {"schema_version": SCHEMA_VERSION, "last_tick_age_s": 61})


async def test_health_is_503_while_no_tick_has_run(tmp_path, api, clock):
    async with served(bot_app(tmp_path, api, clock, background=False)) as running_bot:
        status, body = await running_bot.health()
    assert (status, body) == (503, {"schema_version": SCHEMA_VERSION, "last_tick_age_s": None})


async def test_a_failed_tick_does_not_count_as_one(bot, clock, monkeypatch):
    ticker = await first_tick(bot.app)
    last = ticker.last_tick_at

    async def broken(services: Any) -> int:
        raise RuntimeError("the database is gone")

    clock.advance(timedelta(seconds=30))
    await ticker._run(broken)
    assert ticker.last_tick_at == last


# --- a start that fails ----------------------------------------------------------------------


async def test_telegram_refusing_the_address_ends_the_start_and_frees_the_port(
    tmp_path, api, clock
):
    app = bot_app(tmp_path, api, clock)
    port = closed_port()
    with pytest.raises(WebhookStartFailed) as failed:
        async with serving(app, settings(url="http://bot.example.org/telegram", port=port)):
            raise AssertionError("it started")
    assert str(failed.value) == (
        "Telegram refused the webhook http://bot.example.org/telegram (Bad webhook: an https "
        "url must be provided for webhook); check bot.webhook_url"
    )
    assert api.webhook is None
    assert not app.running
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # free again


async def test_a_taken_port_ends_the_start_before_telegram_is_asked(tmp_path, api, clock):
    app = bot_app(tmp_path, api, clock)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(WebhookStartFailed) as failed:
            async with serving(app, settings(port=port)):
                raise AssertionError("it started")
    assert str(failed.value) == (
        f"can't listen on 127.0.0.1:{port} (Address already in use); "
        "check bot.webhook_listen and bot.webhook_port"
    )
    assert api.calls == []
    assert not (tmp_path / "timebank.sqlite3").exists()


# --- the stand-in answers as Telegram does ---------------------------------------------------


async def test_the_stand_in_refuses_what_telegram_refuses(api):
    async with Bot(TOKEN, request=api, get_updates_request=api) as telegram:
        for url, secret, refusal in (
            ("http://bot.example.org/", SECRET, WEBHOOK_NOT_HTTPS),
            ("https://bot.example.org:5000/", SECRET, WEBHOOK_BAD_PORT),
            ("https://bot.example.org:port/", SECRET, WEBHOOK_BAD_PORT),
            (URL, "a" * 257, SECRET_TOO_LONG),
            (URL, "not base64+/=", SECRET_UNALLOWED),
            (URL, "ünïcode", SECRET_UNALLOWED),
        ):
            with pytest.raises(BadRequest):
                await telegram.set_webhook(url, secret_token=secret)
            assert api.refusals[-1][1] == refusal
        assert api.webhook is None
        assert await telegram.set_webhook("https://bot.example.org:8443/", secret_token="a" * 256)
        assert (await telegram.get_webhook_info()).url == "https://bot.example.org:8443/"
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
            await telegram.get_updates()
        assert await telegram.delete_webhook()
        assert await telegram.get_updates() == ()
        assert (await telegram.get_webhook_info()).url == ""


# --- the command line ------------------------------------------------------------------------


def webhook_config(tmp_path: Path, bot: str = "") -> Path:
    return write_config(tmp_path, bot=f'webhook_url = "{URL}"\n{bot}')


@pytest.mark.parametrize("secret", [None, "", "has spaces", "x" * 257])
def test_a_webhook_without_a_good_secret_is_a_config_error(tmp_path, monkeypatch, capsys, secret):
    monkeypatch.setenv("TIMEBANK_BOT_TOKEN", TOKEN)
    if secret is None:
        monkeypatch.delenv("TIMEBANK_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("TIMEBANK_WEBHOOK_SECRET", secret)
    assert main(["run", "--config", str(webhook_config(tmp_path))]) == 2
    line = one_error_line(capsys)
    assert line == (
        "timebank-bot: bot.webhook_url is set, so $TIMEBANK_WEBHOOK_SECRET must hold a secret "
        "of 1-256 letters, digits, _ or - (e.g. from `openssl rand -hex 32`)"
    )
    assert not (tmp_path / "real.sqlite3").exists()


@pytest.mark.parametrize(
    ("bot", "wrong"),
    [
        ('webhook_url = "http://bot.example.org/"', "bot.webhook_url: must be a whole https://"),
        ('webhook_url = "bot.example.org"', "bot.webhook_url: must be a whole https://"),
        (f'webhook_url = "{URL}"\nwebhook_port = 70000', "bot.webhook_port: "),
        (f'webhook_url = "{URL}"\nhealth_stale_seconds = 0', "bot.health_stale_seconds: "),
    ],
)
def test_webhook_settings_telegram_cant_use_are_config_errors(tmp_path, capsys, bot, wrong):
    assert main(["run", "--config", str(write_config(tmp_path, bot=bot))]) == 2
    assert wrong in one_error_line(capsys)


def test_a_self_hosted_bot_api_server_may_post_over_http(tmp_path):
    path = write_config(
        tmp_path,
        bot='api_base_url = "http://localhost:8081/bot"\nwebhook_url = "http://bot:8443/"',
    )
    assert load_config(path).bot.webhook_url == "http://bot:8443/"


class TelegramForWebhooks(BaseHTTPRequestHandler):
    """Telegram's answers to a good token; setWebhook is answered with `refusal` if set, else
    it presses Ctrl-C, as a person stopping the bot would, once the webhook is registered."""

    refusal: str | None = None
    webhook: ClassVar[dict[str, Any]] = {}

    def do_POST(self) -> None:
        method = self.path.rsplit("/", 1)[-1]
        result: Any = True
        if method == "getMe":
            result = {"id": 123456, "is_bot": True, "first_name": "Timebank", "username": "tbot"}
        elif method == "setWebhook":
            length = int(self.headers["Content-Length"])
            type(self).webhook = {"body": self.rfile.read(length).decode()}
            if self.refusal:
                answer(self, 400, {"ok": False, "error_code": 400, "description": self.refusal})
                return
            os.kill(os.getpid(), signal.SIGINT)
        answer(self, 200, {"ok": True, "result": result})

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request line holds the token."""


def run_webhook_bot(tmp_path: Path, api_base_url: str, monkeypatch, caplog) -> int:
    monkeypatch.setenv("TIMEBANK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TIMEBANK_WEBHOOK_SECRET", SECRET)
    caplog.set_level(logging.INFO)
    extra = f'api_base_url = "{api_base_url}"\nwebhook_listen = "127.0.0.1"\n'
    path = webhook_config(tmp_path, bot=f"{extra}webhook_port = {closed_port()}")
    return main(["run", "--config", str(path)])


def test_run_serves_the_webhook_until_stopped(tmp_path, monkeypatch, capsys, caplog):
    TelegramForWebhooks.refusal = None
    with local_api(TelegramForWebhooks) as url:
        assert run_webhook_bot(tmp_path, url, monkeypatch, caplog) == 0
    assert "secret_token" in TelegramForWebhooks.webhook["body"]
    assert f"connected as @tbot; Telegram posts updates to {URL}, served on 127.0.0.1:" in (
        caplog.text
    )
    assert "Application is stopping" in caplog.text  # a clean stop, on Ctrl-C
    shown = caplog.text + str(capsys.readouterr())
    assert SECRET not in shown
    assert TOKEN.partition(":")[2] not in shown


def test_run_says_in_one_line_when_telegram_refuses_the_webhook(
    tmp_path, monkeypatch, capsys, caplog
):
    TelegramForWebhooks.refusal = "Bad Request: bad webhook: Failed to resolve host"
    with local_api(TelegramForWebhooks) as url:
        assert run_webhook_bot(tmp_path, url, monkeypatch, caplog) == 3
    assert one_error_line(capsys) == (
        f"timebank-bot: Telegram refused the webhook {URL} (Bad webhook: failed to resolve "
        "host); check bot.webhook_url"
    )


def test_a_wrong_token_in_webhook_mode_is_the_same_masked_line(
    tmp_path, monkeypatch, capsys, caplog
):
    with local_api(Refuses) as url:
        assert run_webhook_bot(tmp_path, url, monkeypatch, caplog) == 3
    assert_token_never_shown(
        capsys,
        caplog,
        "timebank-bot: Telegram refused the token 123456:AB…(masked); check $TIMEBANK_BOT_TOKEN",
    )
    assert not (tmp_path / "real.sqlite3").exists()
