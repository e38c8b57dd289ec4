"""Callback data as a tiny codec: `area:action:id[:arg]`, plain text that survives restarts.

Handlers never split strings themselves, and never trust what they parse: every callback
handler re-checks in storage that the presser may do it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64


@dataclass(frozen=True, slots=True)
class Callback:
    area: str
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
        """The argument as a number, or None when it isn't one (forged or stale data)."""
        return plain_int(self.arg, low=-MAX_NUMBER)


MAX_NUMBER = 10**12 - 1
_PLAIN_INT = re.compile(r"-?[0-9]{1,12}")


def plain_int(text: str, *, low: int = 0, high: int = MAX_NUMBER) -> int | None:
    """A number typed or pressed: plain ASCII digits (a leading minus if `low` allows), within
    [low, high]; None for anything else. "²".isdigit() is True and int("²") raises, and
    int("٣") is 3: neither is a number here."""
    if not _PLAIN_INT.fullmatch(text):
        return None
    number = int(text)
    return number if low <= number <= high else None


_SHAPE = re.compile(r"^([a-z]{2}):([a-z]+):([0-9]{1,12})(?::(.*))?$", re.DOTALL)


def parse(data: str | None) -> Callback | None:
    """The callback, or None when the data isn't ours (old clients, forged presses)."""
    match = _SHAPE.match(data or "")
    if not match:
        return None
    area, action, ident, arg = match.groups()
    return Callback(area, action, int(ident), arg or "")


def pattern(area: str, *actions: str) -> re.Pattern[str]:
    """A `pattern=` for CallbackQueryHandler matching these actions of one area."""
    names = "|".join(actions) if actions else "[a-z]+"
    return re.compile(rf"^{area}:(?:{names}):[0-9]")
