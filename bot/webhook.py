"""Webhook mode: Telegram posts each update to us, instead of the bot asking for them.

Telegram posts to `bot.webhook_url`, a public HTTPS address: the host's reverse proxy, which
ends TLS and passes the request on to `webhook_listen:webhook_port`, where this server answers

- POST (any path but /healthz: a proxy may strip or rewrite the prefix, and the secret, not
  the path, is what shows a request came from Telegram): an update. Without the
  X-Telegram-Bot-Api-Secret-Token that setWebhook gave Telegram (compared in constant time)
  it is refused with 403 and never read. A good one goes on the Application's update_queue
  and is handled as a polled one is (one member's updates in order, different members' at
  once); the answer, 200, doesn't wait for the handler.
- GET /healthz: 200 and {"schema_version", "last_tick_age_s"}, or 503 when no scheduler tick
  has finished within `bot.health_stale_seconds` (or none ever has): a bot whose scheduler
  stopped sends no reminders, matches no visits and delivers no notices, though it may still
  answer messages, so a monitor must hear of it.

Why not python-telegram-bot's own `run_webhook`: it serves the update path only, so /healthz
could not share its port. Its documented "custom webhook bot" pattern is followed instead:
our own server puts updates on `Application.update_queue`, around the Application's own
start and stop. The server is tornado, the one python-telegram-bot's webhooks already run on
(its `[webhooks]` extra pins the version): one small, typed dependency that parses HTTP for
us, listens on the bot's own event loop, and stops cleanly without taking over signals.
starlette with uvicorn (the example's choice) would be two dependencies, and uvicorn's server
installs signal handlers of its own; aiohttp brings several compiled packages for the same.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.app import SCHEDULER_KEY, running
from bot.config import Config, ConfigError
from bot.outbound.scheduler import Ticker
from bot.services import SERVICES_KEY, Services
from storage.health import schema_version

App = Application[Any, Any, Any, Any, Any, Any]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
# Telegram's rule for a secret token: 1 to 256 of these characters.
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")
# An update is a few kilobytes; a body much bigger than that is not from Telegram.
MAX_BODY_BYTES = 1 << 20
# Ctrl-C, and what systemd and docker send to stop a service.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

log = logging.getLogger(__name__)


class WebhookStartFailed(Exception):
    """The webhook could not start (its port is taken, Telegram refused the address), worded
    as the one line a host needs."""


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    listen: str
    port: int  # 0 in tests: any free port (WebhookServer.port says which)
    secret: str
    stale_after: timedelta


def webhook_settings(config: Config) -> WebhookSettings | None:
    """Config [bot]'s webhook settings with the secret from the environment, None for long
    polling, or ConfigError when the secret is missing or Telegram would refuse it: a bot
    never serves updates without one."""
    bot = config.bot
    if bot.webhook_url is None:
        return None
    secret = os.environ.get(bot.webhook_secret_env, "")
    if not SECRET_SHAPE.fullmatch(secret):
        raise ConfigError(
            f"bot.webhook_url is set, so ${bot.webhook_secret_env} must hold a secret of 1-256 "
            "letters, digits, _ or - (e.g. from `openssl rand -hex 32`)"
        )
    return WebhookSettings(
        url=bot.webhook_url,
        listen=bot.webhook_listen,
        port=bot.webhook_port,
        secret=secret,
        stale_after=timedelta(seconds=bot.health_stale_seconds),
    )


def run_webhook(app: App, settings: WebhookSettings) -> None:
    """Serve updates until SIGINT or SIGTERM, on an event loop of its own (as run_polling
    does): InvalidToken, NetworkError and WebhookStartFailed end a start that failed."""
    asyncio.run(_serve_until_stopped(app, settings))


async def _serve_until_stopped(app: App, settings: WebhookSettings) -> None:
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for stop_signal in STOP_SIGNALS:
        loop.add_signal_handler(stop_signal, stopped.set)
    try:
        async with serving(app, settings) as server:
            log.info(
                "connected as @%s; Telegram posts updates to %s, served on %s:%d",
                app.bot.username,
                settings.url,
                settings.listen,
                server.port,
            )
            await stopped.wait()
    finally:
        for stop_signal in STOP_SIGNALS:
            loop.remove_signal_handler(stop_signal)


@asynccontextmanager
async def serving(app: App, settings: WebhookSettings) -> AsyncIterator[WebhookServer]:
    """Listen, start the bot and its services, then tell Telegram where to post; on the way
    out the server stops taking updates first, then the Application handles those already
    queued, then storage closes. The webhook stays set: while the bot restarts Telegram keeps
    the updates and tries again, and `run_polling` deletes it when a host goes back to that."""
    server = WebhookServer(app, settings)
    try:
        async with running(app):
            await app.start()
            try:
                await _set_webhook(app, settings)
                yield server
            finally:
                await server.close()
                await app.stop()
    finally:
        await server.close()


async def _set_webhook(app: App, settings: WebhookSettings) -> None:
    try:
        await app.bot.set_webhook(
            url=settings.url, secret_token=settings.secret, allowed_updates=Update.ALL_TYPES
        )
    except BadRequest as error:
        raise WebhookStartFailed(
            f"Telegram refused the webhook {settings.url} ({error.message}); check bot.webhook_url"
        ) from error


class WebhookServer:
    """The HTTP server, bound as soon as it is made, so a taken port ends the start before
    Telegram is told anything."""

    def __init__(self, app: App, settings: WebhookSettings) -> None:
        try:
            self._sockets = bind_sockets(settings.port, settings.listen)
        except OSError as error:
            raise WebhookStartFailed(
                f"can't listen on {settings.listen}:{settings.port} ({error.strerror}); "
                "check bot.webhook_listen and bot.webhook_port"
            ) from error
        routes = _Routes(
            [
                (HEALTH_PATH, _Health, {"app": app, "stale_after": settings.stale_after}),
                (r"/.*", _Updates, {"app": app, "secret": settings.secret.encode()}),
            ]
        )
        self._server = HTTPServer(routes, max_body_size=MAX_BODY_BYTES)
        self._server.add_sockets(self._sockets)
        self._open = True

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen, when the settings said 0)."""
        return int(self._sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and let the requests under way finish; a second call does nothing."""
        if self._open:
            self._open = False
            self._server.stop()
            await self._server.close_all_connections()


async def health(app: App, stale_after: timedelta) -> tuple[HTTPStatus, dict[str, Any]]:
    """What GET /healthz answers: the schema version (read live, so the database answered)
    and the seconds since the last tick pass finished; 503 when that is longer than
    `stale_after`, no pass ever finished, or the bot's services are not running."""
    services = app.bot_data.get(SERVICES_KEY)
    if not isinstance(services, Services):
        return HTTPStatus.SERVICE_UNAVAILABLE, {"schema_version": None, "last_tick_age_s": None}
    ticker = app.bot_data.get(SCHEDULER_KEY)
    last_tick = ticker.last_tick_at if isinstance(ticker, Ticker) else None
    age = None if last_tick is None else (services.clock.now() - last_tick).total_seconds()
    fresh = age is not None and age <= stale_after.total_seconds()
    body = {
        "schema_version": await schema_version(services.db),
        "last_tick_age_s": None if age is None else round(age, 1),
    }
    return (HTTPStatus.OK if fresh else HTTPStatus.SERVICE_UNAVAILABLE), body


class _Routes(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """No access log: a line per update tells a host nothing, and our lines are one per
        event that matters."""


class _Updates(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("POST",)

    def initialize(self, app: App, secret: bytes) -> None:
        self.app, self.secret = app, secret

    async def post(self) -> None:
        """Check the secret before anything else is read; queue the update; 200."""
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            log.warning("refused an update without the right secret token (403)")
            self.set_status(HTTPStatus.FORBIDDEN)
            return
        if not self.app.running:  # starting or stopping: Telegram sends it again later
            self.set_status(HTTPStatus.SERVICE_UNAVAILABLE)
            return
        try:
            update = _update(self.request.body, self.app)
        except Exception as error:  # anything that isn't an update, however it fails
            log.warning("refused a request that is not an update (%s)", type(error).__name__)
            self.set_status(HTTPStatus.BAD_REQUEST)
            return
        await self.app.update_queue.put(update)


def _update(body: bytes, app: App) -> Update:
    data = json.loads(body)
    if not isinstance(data, dict):
        raise TypeError("not a JSON object")
    return Update.de_json(data, app.bot)


class _Health(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET",)

    def initialize(self, app: App, stale_after: timedelta) -> None:
        self.app, self.stale_after = app, stale_after

    async def get(self) -> None:
        status, body = await health(self.app, self.stale_after)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))
