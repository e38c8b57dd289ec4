"""Telegram's sending limits, kept on our side: about 30 messages a second overall and one a
second per chat. (python-telegram-bot's AIORateLimiter paces groups and the whole bot, but not
a private chat, which is nearly all we send to.)"""

from __future__ import annotations

from collections import deque

from bot.clock import Clock

PER_SECOND = 30
PER_CHAT_INTERVAL = 1.0
_FORGET_AFTER = 10_000


class Pacer:
    def __init__(
        self,
        clock: Clock,
        per_second: int = PER_SECOND,
        per_chat_interval: float = PER_CHAT_INTERVAL,
    ) -> None:
        self.clock = clock
        self.per_second = per_second
        self.per_chat_interval = per_chat_interval
        self._recent: deque[float] = deque()
        self._last_by_chat: dict[int, float] = {}
        self._paused_until = 0.0

    async def wait(self, chat_id: int) -> None:
        """Sleep until a message to `chat_id` keeps within every limit, then count it."""
        while (delay := self._delay(chat_id)) > 0:
            await self.clock.sleep(delay)
        now = self._seconds()
        self._recent.append(now)
        self._last_by_chat[chat_id] = now
        if len(self._last_by_chat) > _FORGET_AFTER:
            self._forget_quiet_chats(now)

    def pause(self, seconds: float) -> None:
        """Telegram asked us to wait (429 retry_after): hold every send, not only that one."""
        self._paused_until = max(self._paused_until, self._seconds() + seconds)

    def _delay(self, chat_id: int) -> float:
        now = self._seconds()
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        waits = [self._paused_until - now]
        if len(self._recent) >= self.per_second:
            waits.append(self._recent[0] + 1.0 - now)
        last = self._last_by_chat.get(chat_id)
        if last is not None:
            waits.append(last + self.per_chat_interval - now)
        return max(waits)

    def _forget_quiet_chats(self, now: float) -> None:
        horizon = now - self.per_chat_interval
        self._last_by_chat = {c: t for c, t in self._last_by_chat.items() if t > horizon}

    def _seconds(self) -> float:
        return self.clock.now().timestamp()
