"""What the bot tells visitors, patients and coordinators while a home visit is being matched
and planned (storage/matching.py). Each renderer returns None once its row no longer applies:
an offer answered or passed on, a referral closed, a visit whose time has moved."""

from __future__ import annotations

from bot.outbound.rendered import Rendered, RenderEnv, Renderer
from bot.ui import checkin_keyboards, visit_keyboards
from bot.ui.i18n import hours, link, t
from bot.ui.render import local_time
from bot.ui.visit_words import home_since, needs_words
from storage import matching, members
from storage.kinds import OutboxKind
from storage.models import Member, Referral, Visit, to_db
from storage.outbox import OutboxItem

TAKEN = ("accepted", "visited")


async def _offer(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """Would you visit? Only area, needs and dates: the address comes with a yes."""
    offer = await matching.get_offer(env.db, int(item.args.get("offer", 0)))
    referral = await matching.get_referral(env.db, item.ref_id or 0)
    if offer is None or offer.state != "open" or referral is None:
        return None
    if referral.state != "matching":
        return None
    text = t(
        "visit.offer",
        area=referral.area,
        since=home_since(referral, env.zone),
        needs=needs_words(referral.needs),
        by=local_time(offer.answer_by, env.zone),
    )
    return Rendered(text, visit_keyboards.offer(offer.id))


async def _taken(env: RenderEnv, item: OutboxItem) -> tuple[Referral, Member] | None:
    """The referral with its visitor, while it is still theirs."""
    referral = await matching.get_referral(env.db, item.ref_id or 0)
    if referral is None or referral.state not in TAKEN or referral.visitor_id is None:
        return None
    visitor = await members.get(env.db, referral.visitor_id)
    return (referral, visitor) if visitor is not None else None


async def _matched(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    found = await _taken(env, item)
    if found is None:
        return None
    referral, visitor = found
    who = link(visitor.display_name, visitor.telegram_id, visitor.username)
    text = t("visit.matched", name=visitor.display_name, word=referral.code_word or "", who=who)
    return Rendered(text)


async def _matched_coordinator(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    found = await _taken(env, item)
    if found is None:
        return None
    referral, visitor = found
    text = t(
        "visit.matched_coordinator",
        visitor=link(visitor.display_name, visitor.telegram_id, visitor.username),
        name=referral.first_name,
        area=referral.area,
        word=referral.code_word or "",
    )
    return Rendered(text)


async def _unmatched(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    referral = await matching.get_referral(env.db, item.ref_id or 0)
    if referral is None or referral.state != "matching":
        return None  # someone took it meanwhile, or it was closed
    waited = int((item.due_at - referral.discharged_at).total_seconds() // 3600) * 60
    text = t("visit.unmatched", name=referral.first_name, area=referral.area, hours=hours(waited))
    return Rendered(text, checkin_keyboards.on_it(int(item.args.get("alert", 0))))


async def _visit_at(env: RenderEnv, item: OutboxItem) -> tuple[Visit, Referral, Member] | None:
    """The visit, its referral and its visitor, while the visit is still planned for the time
    the row is about."""
    visit = await matching.get_visit(env.db, item.ref_id or 0)
    if visit is None or visit.state != "planned" or visit.scheduled_at is None:
        return None
    if to_db(visit.scheduled_at) != item.args.get("at"):
        return None  # moved since
    referral = await matching.get_referral(env.db, visit.referral_id)
    visitor = await members.get(env.db, visit.visitor_id)
    if referral is None or referral.state not in TAKEN or visitor is None:
        return None
    return visit, referral, visitor


async def _time_set(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    found = await _visit_at(env, item)
    if found is None:
        return None
    visit, referral, visitor = found
    assert visit.scheduled_at is not None
    text = t(
        "visit.time_set_patient",
        name=visitor.display_name,
        when=local_time(visit.scheduled_at, env.zone),
        word=referral.code_word or "",
    )
    return Rendered(text)


async def _reminder(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """The day or the hour before: the visitor with the patient's details a tap away, the
    patient with the word to listen for."""
    found = await _visit_at(env, item)
    if found is None:
        return None
    visit, referral, visitor = found
    assert visit.scheduled_at is not None
    ahead = "hour" if item.args.get("ahead") == OutboxKind.REMINDER_HOUR_BEFORE else "day"
    when = local_time(visit.scheduled_at, env.zone)
    word = referral.code_word or ""
    if item.member_id == visit.visitor_id:
        text = t(f"visit.reminder_visitor_{ahead}", name=referral.first_name, when=when, word=word)
        return Rendered(text, visit_keyboards.show_details(referral.id))
    text = t(f"visit.reminder_patient_{ahead}", name=visitor.display_name, when=when, word=word)
    return Rendered(text)


async def _withdrawn(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """To the visitor: their patient left the timebank, so the visit is off (nothing about
    why, and no name: it went with them)."""
    referral = await matching.get_referral(env.db, item.ref_id or 0)
    if referral is None or referral.state != "withdrawn":
        return None
    return Rendered(t("visit.withdrawn_notice"))


async def _visitor_left(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """To the patient: their visitor can't come after all, and someone else is being found."""
    referral = await matching.get_referral(env.db, item.ref_id or 0)
    if referral is None or referral.state != "matching":
        return None  # someone new took it already: their own notice says who
    return Rendered(t("visit.visitor_left_notice"))


VISIT_RENDERERS: dict[OutboxKind, Renderer] = {
    OutboxKind.VISIT_OFFER: _offer,
    OutboxKind.VISIT_MATCHED: _matched,
    OutboxKind.VISIT_MATCHED_COORDINATOR: _matched_coordinator,
    OutboxKind.VISIT_UNMATCHED: _unmatched,
    OutboxKind.VISIT_TIME_SET: _time_set,
    OutboxKind.VISIT_REMINDER: _reminder,
    OutboxKind.VISIT_WITHDRAWN: _withdrawn,
    OutboxKind.VISIT_VISITOR_LEFT: _visitor_left,
}
