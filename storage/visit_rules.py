"""The peer-visit loop's timings and limits as plain values, for storage, which knows nothing
of config (bot/services.py builds them from config [visits])."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, timedelta, tzinfo

# What a patient may need at home; the catalogue words each as referral.need_<name> on a
# button, and as visit.need_<name> within a sentence.
NEEDS = ("heating", "food", "medicines", "shopping", "company", "other")


@dataclass(frozen=True, slots=True)
class VisitRules:
    offer_answer: timedelta = timedelta(hours=4)
    match_deadline: timedelta = timedelta(hours=24)
    first_visit_target: timedelta = timedelta(hours=48)
    realert_after: timedelta = timedelta(minutes=30)
    reach_tries: int = 3
    reach_over: timedelta = timedelta(hours=24)
    follow_up_days: tuple[int, ...] = (2, 7, 14)
    pay_forward_after: timedelta = timedelta(weeks=6)
    address_kept: timedelta = timedelta(days=30)
    visit_minutes: int = 60
    recent: timedelta = timedelta(days=90)
    check_warning_days: tuple[int, ...] = (60, 30, 7)
    # Each ward's code: its name, and the Telegram id of its coordinator (None: none named).
    wards: Mapping[str, tuple[str, int | None]] = field(default_factory=dict)
    # The timebank's timezone: a follow-up is due on a local day, a question asked at a local
    # hour.
    zone: tzinfo = UTC


DEFAULT_VISIT_RULES = VisitRules()
