"""What a renderer of outbox rows takes and gives, apart from the renderers themselves, so
each flow's own notices module (bot/outbound/aftercare_notices.py…) can use them while
bot/outbound/notices.py gathers every flow's renderers into one table."""

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
