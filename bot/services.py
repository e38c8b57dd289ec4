"""The long-lived things every handler needs, opened in post_init and kept in bot_data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext

from bot.clock import Clock
from bot.config import Config
from storage.db import Database
from storage.nudges import Timings
from storage.retention import Retention
from storage.visit_rules import VisitRules

if TYPE_CHECKING:
    from bot.outbound.sender import Sender

SERVICES_KEY = "services"


@dataclass
class Services:
    config: Config
    db: Database
    clock: Clock
    sender: Sender
    timings: Timings
    retention: Retention
    visits: VisitRules


def services(context: CallbackContext[Any, Any, Any, Any]) -> Services:
    return services_of(context.application)


def services_of(app: Any) -> Services:
    """The services of a running Application (for the sandbox, tests and benchmarks)."""
    found = app.bot_data[SERVICES_KEY]
    assert isinstance(found, Services)
    return found


def timings_from(config: Config) -> Timings:
    """The nudge timings as plain values for storage, which knows nothing of config."""
    n = config.nudges
    return Timings(
        unconfirmed_after=timedelta(days=n.unconfirmed_after_days),
        confirm_reminder_after=timedelta(days=n.confirm_reminder_after_days),
        confirm_escalate_after=timedelta(days=n.confirm_escalate_after_days),
        need_open_after=timedelta(days=n.need_open_after_days),
        need_match_count=n.need_match_count,
        new_member_after=timedelta(days=n.new_member_after_days),
    )


def retention_from(config: Config) -> Retention:
    """How long rows are kept, as plain values for storage."""
    p = config.privacy
    return Retention(
        closed_listings_months=p.closed_listings_months,
        finished_outbox_months=p.finished_outbox_months,
        audit_months=p.audit_months,
        address_kept=timedelta(days=config.visits.address_kept_days),
    )


def visit_rules_from(config: Config) -> VisitRules:
    """The peer-visit timings as plain values for storage."""
    v = config.visits
    return VisitRules(
        offer_answer=timedelta(hours=v.offer_answer_hours),
        match_deadline=timedelta(hours=v.match_deadline_hours),
        first_visit_target=timedelta(hours=v.first_visit_target_hours),
        realert_after=timedelta(minutes=v.realert_minutes),
        reach_tries=v.reach_tries,
        reach_over=timedelta(hours=v.reach_over_hours),
        follow_up_days=tuple(v.follow_up_days),
        pay_forward_after=timedelta(weeks=v.pay_forward_weeks),
        address_kept=timedelta(days=v.address_kept_days),
        visit_minutes=v.visit_minutes,
        recent=timedelta(days=v.recent_days),
        check_warning_days=tuple(v.check_warning_days),
        wards={ward.code: (ward.name, ward.coordinator) for ward in v.wards},
        zone=config.zone,
    )
