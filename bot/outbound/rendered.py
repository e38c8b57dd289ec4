"""The shape every outbox renderer shares: what it is given, and what it gives back. Each flow
keeps its renderers in a module of its own (notices.py, visit_notices.py, …); notices.py joins
them into the one table the sender reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup

from storage.db import Database
from storage.outbox import OutboxItem


@dataclass(frozen=True)
class Rendered:
    text: str
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None


@dataclass(frozen=True)
class RenderEnv:
    """What rendering needs besides the row: the data, and the timebank's timezone."""

    db: Database
    zone: ZoneInfo


Renderer = Callable[[RenderEnv, OutboxItem], Awaitable[Rendered | None]]
