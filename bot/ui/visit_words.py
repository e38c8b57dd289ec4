"""How a home visit reads: a patient's needs in plain words, and the visitor's card of them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.ui.i18n import Html, link, t
from bot.ui.render import day_words, local_time
from storage.models import Member, Referral, Visit


def needs_words(needs: Sequence[str]) -> str:
    """ "heating, food in the house", or "a friendly visit" when nothing in particular."""
    return ", ".join(t(f"visit.need_{need}") for need in needs) or t("visit.no_needs")


def home_since(referral: Referral, zone: ZoneInfo) -> str:
    return day_words(referral.discharged_at.astimezone(zone).date(), "time.long_day")


def pick_code_word(language: str) -> str:
    """A short word the visitor says at the door, from the patient's language's list."""
    return secrets.choice(t("visit.code_words", language).split())


def visitor_card(
    referral: Referral, visit: Visit | None, patient: Member | None, zone: ZoneInfo
) -> Html:
    """Everything the accepted visitor needs, a line each, leaving out what isn't known."""
    lines: list[str] = [t("visit.card_title", name=referral.first_name)]
    if referral.address:
        lines.append(t("visit.card_address", address=referral.address, area=referral.area))
    else:
        lines.append(t("visit.card_area", area=referral.area))
    if referral.contact:
        lines.append(t("visit.card_contact", contact=referral.contact))
    if patient is not None and patient.telegram_id is not None:
        who = link(patient.display_name, patient.telegram_id, patient.username)
        lines.append(t("visit.card_telegram", who=who))
    lines.append(t("visit.card_needs", needs=needs_words(referral.needs)))
    if referral.notes:
        lines.append(t("visit.card_notes", notes=referral.notes))
    lines.append(t("visit.card_since", since=home_since(referral, zone)))
    lines.append(_when_line(visit, zone))
    lines += ["", t("visit.card_word", word=referral.code_word or "")]
    return Html("\n".join(lines))


def _when_line(visit: Visit | None, zone: ZoneInfo) -> str:
    at: datetime | None = visit.scheduled_at if visit is not None else None
    if at is None:
        return t("visit.card_no_time")
    return t("visit.card_when", when=local_time(at, zone))
