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

# Enough to keep a burst moving without letting a flood of updates run unbounded.
MAX_CONCURRENT_UPDATES = 256
MAX_WAITING_UPDATES = 4096


class PerMemberUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across members, sequential within one (keyed by the Telegram user).

    A member waits for their own turn before taking one of the `running` slots, so a member
    who floods the bot queues behind themselves and never takes the slots others need; the
    base class's limit only bounds how many updates may be waiting at all."""

    def __init__(
        self, running: int = MAX_CONCURRENT_UPDATES, waiting: int = MAX_WAITING_UPDATES
    ) -> None:
        super().__init__(waiting)
        self._running = asyncio.Semaphore(running)
        self._queues: dict[int, _Turns] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = member_key(update)
        turns = self._queues.setdefault(key, _Turns())
        turns.waiting += 1
        try:
            async with turns.lock, self._running:
                await coroutine
        finally:
            turns.waiting -= 1
            if turns.waiting == 0:  # nobody else of theirs is queued: forget them
                del self._queues[key]

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
