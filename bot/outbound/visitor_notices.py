"""What the visitors' outbox rows say: an offer to visit (to coordinators), a decision (to the
visitor), and a check running out (to both). Each is rendered when sent and returns None once
it no longer applies: the offer was decided, the visitor moved on, or a newer check was
recorded (a warning carries the expiry it is about)."""

from __future__ import annotations

from datetime import date

from bot.outbound.rendered import Rendered, RenderEnv, Renderer
from bot.ui import visitor_keyboards
from bot.ui.i18n import Html, link, t, tn
from bot.ui.render import day_words
from storage import members, visitors
from storage.kinds import OutboxKind
from storage.models import Visitor
from storage.outbox import OutboxItem


def areas_words(visitor: Visitor) -> str:
    return ", ".join(visitor.areas) or "–"


def free_words(visitor: Visitor) -> str:
    return ", ".join(t(f"visitor.free_{key}") for key in visitors.free_times(visitor)) or "–"


def long_date(day: date) -> str:
    return day_words(day, "time.day_year")


async def _applied(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """A coordinator hears who offered, where and when they can visit, with how to reach
    them (for the check and briefing), while that offer still waits."""
    visitor = await visitors.get(env.db, item.ref_id or 0)
    if (
        visitor is None
        or visitor.status != "applied"
        or visitors.applied_at(visitor) != item.args.get("at")
    ):
        return None
    member = await members.get(env.db, visitor.member_id)
    coordinator = await members.get(env.db, item.member_id)
    if member is None or coordinator is None or not coordinator.is_coordinator:
        return None
    lines = [
        t(
            "visitor.applied_notice",
            name=link(member.display_name, member.telegram_id, member.username),
            areas=areas_words(visitor),
            free=free_words(visitor),
        )
    ]
    if visitor.source == "paid_forward":
        lines.append(t("visitor.applied_paid_forward"))
    return Rendered(Html("\n\n".join(lines)), visitor_keyboards.application(visitor.member_id))


def _told(key: str, *statuses: str) -> Renderer:
    """Telling a visitor of a decision, while they still stand where it put them."""

    async def renderer(env: RenderEnv, item: OutboxItem) -> Rendered | None:
        visitor = await visitors.get(env.db, item.member_id)
        if visitor is None or visitor.status not in statuses:
            return None
        return Rendered(t(key))

    return renderer


async def _checked(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    visitor = await visitors.get(env.db, item.member_id)
    expires = item.args.get("expires")
    if visitor is None or visitor.check_expires_on != expires or not isinstance(expires, str):
        return None
    return Rendered(t("visitor.you_are_checked", until=long_date(date.fromisoformat(expires))))


def _check_warning(ahead: bool) -> Renderer:
    """A check running out (`ahead`: in some days; else today), to the visitor or a
    coordinator, while it is still the latest check of an approved visitor."""

    async def renderer(env: RenderEnv, item: OutboxItem) -> Rendered | None:
        visitor = await visitors.get(env.db, item.ref_id or 0)
        expires = item.args.get("expires")
        if (
            visitor is None
            or visitor.status != "approved"
            or not isinstance(expires, str)
            or visitor.check_expires_on != expires
        ):
            return None
        day = long_date(date.fromisoformat(expires))
        days = int(item.args.get("days", 0))
        if item.member_id == visitor.member_id:
            if ahead:
                return Rendered(tn("visitor.expiring_you", days, date=day))
            return Rendered(t("visitor.expired_you"))
        coordinator = await members.get(env.db, item.member_id)
        member = await members.get(env.db, visitor.member_id)
        if coordinator is None or not coordinator.is_coordinator or member is None:
            return None
        text = (
            tn("visitor.expiring_coordinator", days, name=member.display_name, date=day)
            if ahead
            else t("visitor.expired_coordinator", name=member.display_name)
        )
        return Rendered(text, visitor_keyboards.record_check(visitor.member_id))

    return renderer


VISITOR_RENDERERS: dict[OutboxKind, Renderer] = {
    OutboxKind.VISITOR_APPLIED: _applied,
    OutboxKind.VISITOR_APPROVED: _told("visitor.you_are_approved", "approved"),
    OutboxKind.VISITOR_DECLINED: _told("visitor.you_are_declined", "declined"),
    OutboxKind.VISITOR_CHECKED: _checked,
    OutboxKind.VISITOR_PAUSED: _told("visitor.you_are_paused", "paused"),
    OutboxKind.VISITOR_RESUMED: _told("visitor.you_are_resumed", "approved"),
    OutboxKind.VISITOR_RETIRED: _told("visitor.you_are_retired", "retired"),
    OutboxKind.VISITOR_CHECK_EXPIRING: _check_warning(ahead=True),
    OutboxKind.VISITOR_CHECK_EXPIRED: _check_warning(ahead=False),
}
