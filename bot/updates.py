"""Many members at once, each in order.

python-telegram-bot handles one update at a time by default: against a real Bot API (tens of
milliseconds a call) a burst of taps after a broadcast queued for seconds. This processor runs
different members' updates concurrently and one member's updates strictly in the order they
came, so a double tap is still seen as a second tap of the same person, and a conversation's
steps never overtake each other. Writes stay serialised by storage's one writer; reads use a
connection of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Enough to keep a burst moving without letting a flood of updates open unbounded tasks.
MAX_CONCURRENT_UPDATES = 256


class PerMemberUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across members, sequential within one (keyed by the Telegram user)."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._queues: dict[int, _Turns] = {}

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for this member's turn first, then for a free slot: a member who floods the
        bot queues behind themselves, never taking the slots other members need."""
        key = member_key(update)
        turns = self._queues.setdefault(key, _Turns())
        turns.waiting += 1
        try:
            async with turns.lock:
                await super().process_update(update, coroutine)
        finally:
            turns.waiting -= 1
            if turns.waiting == 0:  # nobody else of theirs is queued: forget them
                del self._queues[key]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await coroutine

    async def initialize(self) -> None:
        """Nothing to open: the locks are made as members arrive."""

    async def shutdown(self) -> None:
        """Nothing to close."""


class _Turns:
    """One member's updates: a lock they take in arrival order (asyncio locks are fair)."""

    __slots__ = ("lock", "waiting")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0


def member_key(update: object) -> int:
    """Whose turn this is: the person behind the update, else the chat, else one shared line."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return 0
