"""The long-lived things every handler needs, opened in post_init and kept in bot_data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext

from bot.clock import Clock
from bot.config import Config
from storage.db import Database

if TYPE_CHECKING:
    from bot.sender import Sender

SERVICES_KEY = "services"


@dataclass
class Services:
    config: Config
    db: Database
    clock: Clock
    sender: Sender


def services(context: CallbackContext[Any, Any, Any, Any]) -> Services:
    return services_of(context.application)


def services_of(app: Any) -> Services:
    """The services of a running Application (for the sandbox, tests and benchmarks)."""
    found = app.bot_data[SERVICES_KEY]
    assert isinstance(found, Services)
    return found
