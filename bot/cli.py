"""The command line: `timebank-bot run` talks to Telegram, `timebank-bot try` never does.

Config problems end the program with one line and exit status 2, and a start that Telegram
refuses (or can't be reached for), or a webhook whose port is taken, with one line and exit
status 3, not a traceback, because the person reading it is usually a coordinator editing a
TOML file, not a developer. The token is never printed or logged in full: such output ends up
pasted into chats and issue trackers.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from bot import admin, logs
from bot.app import build_application
from bot.config import Config, ConfigError, load_config
from bot.running import AlreadyRunning, exclusive
from bot.sandbox.terminal import run_sandbox_sync
from bot.webhook import WebhookStartFailed, run_webhook, webhook_settings

PROG = "timebank-bot"
DISTRIBUTION = "timebank-bot"  # the name in pyproject.toml, whose version --version prints
DEFAULT_CONFIG = "config.toml"
EXAMPLE_CONFIG = "config.example.toml"
CONFIG_ERROR = 2
START_FAILED = 3
# python-telegram-bot's network retry loop logs here, a failed start included.
RETRY_LOOP_LOGGER = "telegram.ext"

App = Application[Any, Any, Any, Any, Any, Any]

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the chosen command; the return value is the exit status."""
    args = _parser().parse_args(argv)
    try:
        config = load_config(_config_path(args.config))
    except ConfigError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return CONFIG_ERROR
    _setup_logging(config)
    if args.command == "try":
        return _try(config, args.database)
    if (host_command := admin.command(args.command)) is not None:
        return host_command(args, config)
    try:
        with exclusive(config.bot.database):  # restore refuses while this is held
            return _run(config)
    except AlreadyRunning as error:
        return _start_failed(str(error))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="A Telegram bot for a timebank.")
    parser.add_argument(
        "--version", action="version", version=f"{PROG} {metadata.version(DISTRIBUTION)}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the bot (the offline sandbox if no token is set)")
    _add_config(run)
    trial = commands.add_parser(
        "try", help="chat with the bot offline in this terminal; nothing reaches Telegram"
    )
    _add_config(trial)
    trial.add_argument(
        "--database",
        metavar="PATH",
        help="SQLite file to use (default: a throwaway one, deleted on exit)",
    )
    admin.add_commands(commands, _add_config)
    return parser


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=f"TOML config file (default: {DEFAULT_CONFIG}, else {EXAMPLE_CONFIG})",
    )


def _config_path(chosen: str | None) -> str:
    """The file named, else config.toml, else the example (said aloud) for a first try."""
    if chosen is not None or Path(DEFAULT_CONFIG).exists() or not Path(EXAMPLE_CONFIG).exists():
        return chosen or DEFAULT_CONFIG
    print(f"{PROG}: no {DEFAULT_CONFIG} here, so using {EXAMPLE_CONFIG}", file=sys.stderr)
    return EXAMPLE_CONFIG


def _setup_logging(config: Config) -> None:
    """`[logging]`'s format and level to stderr, one line per event (bot/logs.py), the token
    and the webhook's secret masked should any line hold them."""
    logs.configure(config.logging.level, config.logging.format, secrets=config.secrets())
    logging.getLogger(RETRY_LOOP_LOGGER).addFilter(_drop_start_failures)


def _drop_start_failures(record: logging.LogRecord) -> bool:
    """Drop the retry loop's traceback for a failed start ("Network Retry Loop (Bootstrap …)"):
    InvalidToken's message there holds the token, and run_polling raises the same error on to
    `_run`, which says it in one masked line. Failures while polling are kept: nothing else
    reports them. A logger filter sees only records logged on that very logger."""
    return not (record.exc_info and "(Bootstrap " in record.getMessage())


def _run(config: Config) -> int:
    """Long polling with a token, or a webhook when bot.webhook_url is set (and its secret);
    without a token, say so and open the sandbox instead."""
    token = config.token()
    if token is None:
        print(
            f"No bot token is set in ${config.bot.token_env}, so starting the offline sandbox "
            f"instead. To run for real, set {config.bot.token_env} to your bot's token."
        )
        return _try(config, None)
    try:
        webhook = webhook_settings(config)
    except ConfigError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return CONFIG_ERROR
    app = build_application(config)
    try:
        if webhook is None:
            _announce_when_connected(app, config.timebank.name)
            _poll(app)
        else:
            run_webhook(app, webhook)
    except WebhookStartFailed as error:  # its port is taken, or Telegram refused the address
        return _start_failed(str(error))
    except InvalidToken:  # Telegram answered 401 or 404
        return _start_failed(
            f"Telegram refused the token {mask(token)}; check ${config.bot.token_env}"
        )
    except NetworkError as error:  # no answer at all; TimedOut is a NetworkError too
        reason = str(error).replace(token, mask(token))
        return _start_failed(
            f"can't reach Telegram ({reason}); check the network or bot.api_base_url"
        )
    return 0


def _poll(app: App) -> None:
    """run_polling on an event loop of its own. It runs on the thread's current loop and closes
    it, so each run gets a fresh one and leaves none behind: a second run in the same process
    (tests do that) would otherwise find a closed loop."""
    asyncio.set_event_loop(asyncio.new_event_loop())
    try:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    finally:
        asyncio.set_event_loop(None)


def _announce_when_connected(app: App, name: str) -> None:
    """Log "polling" only once Telegram has accepted the token (post_init runs after get_me),
    so a start that fails prints its one line and nothing before it."""
    open_services = app.post_init

    async def post_init(app: App) -> None:
        if open_services is not None:
            await open_services(app)
        logger.info("connected as @%s; long polling for %s", app.bot.username, name)

    app.post_init = post_init


def _start_failed(line: str) -> int:
    """One line, where a person looks for what went wrong, and a status scripts can test."""
    print(f"{PROG}: {line}", file=sys.stderr)
    return START_FAILED


def mask(token: str) -> str:
    """The bot id and two characters of the secret, enough to tell tokens apart in a log and
    too little to use one."""
    bot_id, colon, secret = token.partition(":")
    shown = f"{bot_id}{colon}{secret[:2]}" if colon else ""
    return f"{shown}…(masked)"


SANDBOX_COORDINATOR_ID = 900_000_001


def _try(config: Config, database: str | None) -> int:
    """The sandbox, on `database` or else a throwaway file, so trying never touches real data.
    With no coordinators configured, Cora is given a pretend id so every flow can be tried."""
    timebank = config.timebank
    if not timebank.coordinators:
        timebank = timebank.model_copy(update={"coordinators": [SANDBOX_COORDINATOR_ID]})
    with _sandbox_database(database) as path:
        bot = config.bot.model_copy(update={"database": path})
        run_sandbox_sync(config.model_copy(update={"bot": bot, "timebank": timebank}))
    return 0


@contextmanager
def _sandbox_database(database: str | None) -> Iterator[str]:
    if database is not None:
        yield database
        return
    with tempfile.TemporaryDirectory(prefix="timebank-try-") as folder:
        yield str(Path(folder) / "timebank.sqlite3")
