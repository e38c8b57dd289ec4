"""Callback data as a tiny codec: `area:action:id[:arg]`, plain text that survives restarts.

Handlers never split strings themselves, and never trust what they parse: every callback
handler re-checks in storage that the presser may do it. The codec is strict, because callback
data comes from phones and can be forged: a known area, an action of letters, an id of ASCII
digits ("²" and "٣" are digits to Python, not to us), an argument of printable characters,
and at most 64 bytes, Telegram's limit.

Versioned: the layout in use is version 1, packed with no marker (every button sent so far).
A later layout is packed as `v2:area:…`, so buttons already sitting in members' chats are still
read by the layout they were made with; a version this code doesn't know is refused kindly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_BYTES = 64
VERSION = 1
KNOWN_VERSIONS = frozenset({1})
MAX_NUMBER = 10**12 - 1


class Area(StrEnum):
    """Who answers a button: one handler module's share of the buttons each."""

    ACCOUNT = "ac"
    ACTIVITY = "at"  # group activities: posting, signing up, offered places, the roll call
    AFTERCARE = "af"  # after a visit: confirming it, pay it forward, the loneliness check
    BROADCAST = "bc"
    BROWSE = "br"
    CHECKIN = "ck"  # a visit's check-in, "couldn't reach them", a patient's answer, "I'm on it"
    COORDINATOR = "cr"
    DETAILS = "dt"
    HELD = "co"  # a coordinator lets an exchange past the overdraft limit
    EXCHANGE = "ex"
    JOIN = "jn"
    LANGUAGE = "lg"
    LISTING = "ls"
    ORGANISATION = "og"  # /neworg, /orgs: an organisation's card, naming who acts for it
    POST_OFFER = "po"
    POST_NEED = "pn"
    PRIVACY = "pr"
    PREVIEW = "pv"
    REFERRAL = "rf"  # peer visits: registering a discharge, a ward's link, /visits
    REPORT = "rp"
    RESPONSE = "rs"
    SAFETY = "sf"  # block, report; a coordinator pausing and resuming a member
    SEARCH = "sr"
    SETTINGS = "st"
    SPEND = "sp"  # spending hours on a partner's offer; the organisation confirms or can't
    SPEND_OFFER = "so"  # /orgoffer: an organisation's people add something to spend hours on
    VISIT = "vi"  # a visitor answers an offer, sees the details, sets the visit's time
    VISITOR = "vo"  # signing up to visit; a coordinator's checks, pauses and retirements


@dataclass(frozen=True, slots=True)
class Callback:
    area: Area
    action: str
    id: int = 0
    arg: str = ""

    def pack(self) -> str:
        data = f"{self.area}:{self.action}:{self.id}"
        if self.arg:
            data += f":{self.arg}"
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        return data

    @property
    def arg_int(self) -> int | None:
        """The argument as a whole number, or None when it isn't a plain one (forged or stale)."""
        return plain_int(self.arg, low=-MAX_NUMBER)


def plain_int(text: str, *, low: int = 0, high: int = MAX_NUMBER) -> int | None:
    """A number typed or pressed: plain ASCII digits (a leading minus if `low` allows), within
    [low, high]; None for anything else. "²".isdigit() is True and int("²") raises, and
    int("٣") is 3: neither is a number here."""
    if not _PLAIN_INT.fullmatch(text):
        return None
    number = int(text)
    return number if low <= number <= high else None


_AREAS = "|".join(area.value for area in Area)
_SHAPE = re.compile(
    rf"(?:v(?P<version>[0-9]{{1,3}}):)?(?P<area>{_AREAS}):(?P<action>[a-z]{{1,16}})"
    r":(?P<id>[0-9]{1,12})(?::(?P<arg>[^\x00-\x1f\x7f]*))?",
)
_PLAIN_INT = re.compile(r"-?[0-9]{1,12}")


def parse(data: str | None) -> Callback | None:
    """The callback, or None when the data isn't ours (old clients, forged presses)."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    match = _SHAPE.fullmatch(data)
    if match is None or int(match["version"] or VERSION) not in KNOWN_VERSIONS:
        return None
    return Callback(Area(match["area"]), match["action"], int(match["id"]), match["arg"] or "")


def pattern(area: Area, *actions: str) -> re.Pattern[str]:
    """A `pattern=` for CallbackQueryHandler matching these actions of one area."""
    names = "|".join(actions) if actions else "[a-z]+"
    return re.compile(rf"^(?:v[0-9]{{1,3}}:)?{area}:(?:{names}):[0-9]")
