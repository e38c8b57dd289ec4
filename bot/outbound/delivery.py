"""When a due outbox row may go out: a member's nudge settings, quiet hours and daily digest.

Pure functions of the row, the time and the policy, so every rule is tested without Telegram.
Direct notices (someone answered you) always go at once; only nudges wait.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from bot.config import Config, parse_clock_time, parse_quiet_hours
from bot.ui.i18n import DEFAULT_LANGUAGE, speaking, usable
from storage.kinds import NUDGE_KINDS, PROMISED_KINDS
from storage.outbox import OutboxItem

Window = tuple[time, time]


class Action(Enum):
    SEND = "send"
    SKIP = "skip"
    DEFER = "defer"
    DIGEST = "digest"


@dataclass(frozen=True)
class Decision:
    action: Action
    until: datetime | None = None


@dataclass(frozen=True)
class Policy:
    zone: ZoneInfo
    default_quiet: Window | None
    digest_time: time
    default_language: str = DEFAULT_LANGUAGE
    category_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config) -> Policy:
        digest = parse_clock_time(config.nudges.digest_time)
        assert digest is not None  # validated with the config
        quiet = parse_quiet_hours(config.nudges.quiet_hours)
        timebank = config.timebank
        return cls(config.zone, quiet, digest, timebank.language, timebank.category_names)

    def speaking_to(self, chosen: str | None) -> AbstractContextManager[None]:
        """Speak a member's language (theirs if it still has a catalogue, else the timebank's)
        with the timebank's names for its categories in it."""
        language = usable(chosen) or self.default_language
        return speaking(language, self.category_names.get(language))

    def quiet_window(self, member_setting: str | None) -> Window | None:
        """The member's own quiet hours ('' = none), else the timebank's default."""
        if member_setting is None:
            return self.default_quiet
        return parse_quiet_hours(member_setting)


def decide(item: OutboxItem, now: datetime, policy: Policy) -> Decision:
    if item.telegram_id is None:  # a member a coordinator records by hand
        return Decision(Action.SKIP)
    if item.kind not in NUDGE_KINDS:
        return Decision(Action.SEND)
    if not item.nudges_enabled or item.unreachable:
        return Decision(Action.SKIP)
    if item.digest:
        slot = next_digest(item.due_at, policy)
        if slot <= now:
            return Decision(Action.DIGEST)
        return _held_until(item, slot)
    window = policy.quiet_window(item.quiet_hours)
    local = now.astimezone(policy.zone)
    if window and in_window(local.time(), window):
        return _held_until(item, window_end(local, window))
    return Decision(Action.SEND)


def _held_until(item: OutboxItem, until: datetime) -> Decision:
    """Wait until `until`, unless that would break a promise: a reminder that would then be
    too late (an hour-before reminder of an 08:00 visit, in quiet hours until 08:00) goes now."""
    if item.kind in PROMISED_KINDS and item.expires_at is not None and until >= item.expires_at:
        return Decision(Action.SEND)
    return Decision(Action.DEFER, until)


def in_window(moment: time, window: Window) -> bool:
    start, end = window
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def window_end(local: datetime, window: Window) -> datetime:
    """The next time the window ends after `local` (in the morning, for overnight hours)."""
    end = local.replace(hour=window[1].hour, minute=window[1].minute, second=0, microsecond=0)
    return end if end > local else _same_wall_time_next_day(end)


def next_digest(moment: datetime, policy: Policy) -> datetime:
    """The first digest time at or after `moment`."""
    local = moment.astimezone(policy.zone)
    slot = local.replace(
        hour=policy.digest_time.hour, minute=policy.digest_time.minute, second=0, microsecond=0
    )
    return slot if slot >= local else _same_wall_time_next_day(slot)


def _same_wall_time_next_day(moment: datetime) -> datetime:
    """Add a calendar day keeping the wall-clock time, across clock changes too."""
    following = (moment + timedelta(days=1)).date()
    return datetime.combine(following, moment.timetz()).replace(tzinfo=moment.tzinfo)
