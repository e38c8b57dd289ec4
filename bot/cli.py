"""The command line: `timebank-bot run` talks to Telegram, `timebank-bot try` never does.

Config problems end the program with one line and exit status 2, not a traceback, because the
person reading it is usually a coordinator editing a TOML file, not a developer.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from telegram import Update

from bot.app import build_application
from bot.config import Config, ConfigError, load_config
from bot.sandbox.terminal import run_sandbox_sync

PROG = "timebank-bot"
DISTRIBUTION = "timebank-bot"  # the name in pyproject.toml, whose version --version prints
DEFAULT_CONFIG = "config.toml"
EXAMPLE_CONFIG = "config.example.toml"
CONFIG_ERROR = 2
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# httpx logs every request URL at INFO, and a Bot API URL contains the token; apscheduler logs
# every tick. Neither is news a person running the bot needs.
QUIET_LOGGERS = ("httpx", "apscheduler")


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the chosen command; the return value is the exit status."""
    args = _parser().parse_args(argv)
    try:
        config = load_config(_config_path(args.config))
    except ConfigError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return CONFIG_ERROR
    _setup_logging()
    if args.command == "try":
        return _try(config, args.database)
    return _run(config)


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


def _setup_logging() -> None:
    """INFO to stderr, one line per event; basicConfig leaves a host's (e.g. pytest's) alone."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt="%H:%M:%S")
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _run(config: Config) -> int:
    """Long polling with a token; without one, say so and open the sandbox instead."""
    if config.token() is None:
        print(
            f"No bot token is set in ${config.bot.token_env}, so starting the offline sandbox "
            f"instead. To run for real, set {config.bot.token_env} to your bot's token."
        )
        return _try(config, None)
    app = build_application(config)
    logging.getLogger(__name__).info("starting long polling for %s", config.timebank.name)
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


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
