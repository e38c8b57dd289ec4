"""What a renderer of outbox rows is: the shapes every flow's notices share (notices.py merges
each flow's renderers, so they live here, where a flow's module can import them without
importing notices.py back)."""

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
