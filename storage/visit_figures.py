"""Peer visits in a coordinator's /report: did people get a visit soon after hospital, did
worries reach a coordinator quickly, and did patients go on to visit others?

Which rows count in a period [start, end) (start None: since the beginning):
- Referrals, first visits, pay-it-forward, re-admissions and loneliness: referrals discharged
  in the period, so each figure follows one group of patients (those of "this month" will not
  have been asked to pay it forward yet; "All time" shows it).
- The share first visited within the target counts referrals whose target time has passed by
  the end of the period, or that were visited: one still inside its first 48 hours can't be
  late yet. Withdrawn referrals (the patient left) are left out.
- Visits done: reported done in the period. Worries: raised in the period.
- The change in loneliness is the mean of (last − first) UCLA-3 totals (3 to 9; lower is less
  lonely) over referrals with both answers; with fewer than MIN_PEOPLE people it is not given,
  as a few answers say nothing and could point to someone.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from storage.db import Database
from storage.models import from_db, to_db
from storage.referrals import READMISSION_WINDOW
from storage.visit_rules import VisitRules

MIN_PEOPLE = 10


@dataclass(frozen=True, slots=True)
class VisitFigures:
    referrals: int
    median_to_first_visit: timedelta | None  # None: nobody visited yet
    within_target: float | None  # share of those that could be judged; None: none could
    visits_done: int
    worries: int
    median_to_acknowledge: timedelta | None  # None: no worry acknowledged
    asked_to_pay_forward: int
    paid_forward: int  # of those asked, now approved visitors who signed up that way
    readmissions: int  # recorded within READMISSION_WINDOW of discharge
    loneliness_people: int  # referrals with a first and a last loneliness check
    loneliness_change: float | None  # None: fewer than MIN_PEOPLE

    @property
    def any(self) -> bool:
        """Peer visits ran in the period at all (else the report leaves them out)."""
        return bool(self.referrals or self.visits_done or self.worries)

    @property
    def pay_forward_rate(self) -> float | None:
        return self.paid_forward / self.asked_to_pay_forward if self.asked_to_pay_forward else None


async def for_period(
    db: Database, *, start: datetime | None, end: datetime, rules: VisitRules
) -> VisitFigures:
    bounds = {"start": to_db(start) if start else "", "end": to_db(end)}
    rows = await db.all(
        "SELECT r.state, r.discharged_at, r.first_visit_at, r.readmitted_on, r.pay_forward,"
        " EXISTS (SELECT 1 FROM visitors v WHERE v.member_id = r.patient_id"
        "  AND v.status = 'approved' AND v.source = 'paid_forward') AS paid_forward"
        " FROM referrals r WHERE r.discharged_at >= :start AND r.discharged_at < :end",
        bounds,
    )
    to_first: list[float] = []
    judged = in_time = readmitted = asked = paid = 0
    for row in rows:
        discharged = from_db(row["discharged_at"])
        visited = from_db(row["first_visit_at"]) if row["first_visit_at"] else None
        if visited is not None:
            to_first.append((visited - discharged).total_seconds())
        if row["state"] != "withdrawn" and (
            visited is not None or discharged + rules.first_visit_target <= end
        ):
            judged += 1
            in_time += visited is not None and visited - discharged <= rules.first_visit_target
        if row["readmitted_on"] and _within_window(discharged, row["readmitted_on"]):
            readmitted += 1
        if row["pay_forward"] is not None:
            asked += 1
            paid += bool(row["paid_forward"])
    people, change = await _loneliness(db, bounds)
    return VisitFigures(
        referrals=len(rows),
        median_to_first_visit=_median(to_first),
        within_target=in_time / judged if judged else None,
        visits_done=int(
            await db.scalar(
                "SELECT COUNT(*) FROM visits WHERE state = 'done'"
                " AND reported_at >= :start AND reported_at < :end",
                bounds,
            )
        ),
        worries=int(
            await db.scalar(
                "SELECT COUNT(*) FROM visit_alerts WHERE reason = 'worry'"
                " AND raised_at >= :start AND raised_at < :end",
                bounds,
            )
        ),
        median_to_acknowledge=await _median_to_acknowledge(db, bounds),
        asked_to_pay_forward=asked,
        paid_forward=paid,
        readmissions=readmitted,
        loneliness_people=people,
        loneliness_change=change,
    )


def _within_window(discharged: datetime, readmitted_on: str) -> bool:
    return date.fromisoformat(readmitted_on) <= (discharged + READMISSION_WINDOW).date()


def _median(seconds: list[float]) -> timedelta | None:
    return timedelta(seconds=statistics.median(seconds)) if seconds else None


async def _median_to_acknowledge(db: Database, bounds: dict[str, str]) -> timedelta | None:
    rows = await db.all(
        "SELECT raised_at, acknowledged_at FROM visit_alerts WHERE reason = 'worry'"
        " AND acknowledged_at IS NOT NULL AND raised_at >= :start AND raised_at < :end",
        bounds,
    )
    return _median(
        [(from_db(row[1]) - from_db(row[0])).total_seconds() for row in rows],
    )


async def _loneliness(db: Database, bounds: dict[str, str]) -> tuple[int, float | None]:
    rows = await db.all(
        "SELECT (l.companionship + l.left_out + l.isolated)"
        " - (f.companionship + f.left_out + f.isolated) FROM referrals r"
        " JOIN loneliness_scores f ON f.referral_id = r.id AND f.stage = 'first'"
        " JOIN loneliness_scores l ON l.referral_id = r.id AND l.stage = 'last'"
        " WHERE r.discharged_at >= :start AND r.discharged_at < :end",
        bounds,
    )
    changes = [int(row[0]) for row in rows]
    if len(changes) < MIN_PEOPLE:
        return len(changes), None
    return len(changes), statistics.fmean(changes)
