"""Telegram's sending limits, kept on our side: about 30 messages a second overall and one a
second per chat. (python-telegram-bot's AIORateLimiter paces groups and the whole bot, but not
a private chat, which is nearly all we send to.)

A paid message (`allow_paid_broadcast`, 0.1 Telegram Stars each) is outside the 30 a second:
Telegram takes up to 1,000 a second of those. The free ones still keep within 30 among
themselves, and every message, paid or not, within 1,000 and one a second per chat."""

from __future__ import annotations

from collections import deque

from bot.clock import Clock

PER_SECOND = 30
PAID_PER_SECOND = 1000  # telegram.constants.FloodLimit.PAID_MESSAGES_PER_SECOND
PER_CHAT_INTERVAL = 1.0
_FORGET_AFTER = 10_000


class Pacer:
    def __init__(
        self,
        clock: Clock,
        per_second: int = PER_SECOND,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        paid_per_second: int = PAID_PER_SECOND,
    ) -> None:
        self.clock = clock
        self.per_second = per_second
        self.per_chat_interval = per_chat_interval
        self.paid_per_second = paid_per_second
        self._recent: deque[float] = deque()  # every message of the last second
        self._recent_free: deque[float] = deque()  # those not paid for
        self._last_by_chat: dict[int, float] = {}
        self._paused_until = 0.0

    async def wait(self, chat_id: int, *, paid: bool = False) -> None:
        """Sleep until a message to `chat_id` keeps within every limit, then count it. A
        `paid` one is sent with allow_paid_broadcast, outside the free 30 a second."""
        while (delay := self._delay(chat_id, paid)) > 0:
            await self.clock.sleep(delay)
        now = self._seconds()
        self._recent.append(now)
        if not paid:
            self._recent_free.append(now)
        self._last_by_chat[chat_id] = now
        if len(self._last_by_chat) > _FORGET_AFTER:
            self._forget_quiet_chats(now)

    def pause(self, seconds: float) -> None:
        """Telegram asked us to wait (429 retry_after): hold every send, not only that one."""
        self._paused_until = max(self._paused_until, self._seconds() + seconds)

    def _delay(self, chat_id: int, paid: bool) -> float:
        now = self._seconds()
        waits = [self._paused_until - now]
        windows = [(self._recent, self.paid_per_second)]
        if not paid:
            windows.append((self._recent_free, self.per_second))
        for recent, limit in windows:
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) >= limit:
                waits.append(recent[-limit] + 1.0 - now)
        last = self._last_by_chat.get(chat_id)
        if last is not None:
            waits.append(last + self.per_chat_interval - now)
        return max(waits)

    def _forget_quiet_chats(self, now: float) -> None:
        horizon = now - self.per_chat_interval
        self._last_by_chat = {c: t for c, t in self._last_by_chat.items() if t > horizon}

    def _seconds(self) -> float:
        return self.clock.now().timestamp()
