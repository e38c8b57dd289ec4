"""What each outbox row says, rendered when it is sent so it is never stale.

A renderer returns None when the row no longer applies (the response was already answered,
the exchange moved on): the sender then skips it instead of sending something outdated.
"""

from __future__ import annotations

from bot.outbound.activity_notices import ACTIVITY_RENDERERS
from bot.outbound.aftercare_notices import AFTERCARE_RENDERERS
from bot.outbound.checkin_notices import CHECKIN_RENDERERS
from bot.outbound.organisation_notices import ORGANISATION_RENDERERS
from bot.outbound.referral_notices import REFERRAL_RENDERERS
from bot.outbound.rendered import Rendered, RenderEnv, Renderer
from bot.outbound.spend_notices import SPEND_RENDERERS
from bot.outbound.visit_notices import VISIT_RENDERERS
from bot.outbound.visitor_notices import VISITOR_RENDERERS
from bot.ui import keyboards
from bot.ui.i18n import Html, category_name, hours, link, t
from bot.ui.render import listing_card, local_time, reminder_words
from storage import broadcasts, exchanges, ledger, listings, members, organisations, safety
from storage.db import Database
from storage.kinds import ExchangeState, OutboxKind
from storage.models import Exchange, Member, to_db
from storage.outbox import OutboxItem


async def render(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    renderer = RENDERERS.get(item.kind)
    if renderer is None:
        raise LookupError(f"no renderer for outbox kind {item.kind!r}")
    return await renderer(env, item)


async def _response_new(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    response = await exchanges.get_response(env.db, item.ref_id or 0)
    if response is None or response.status != "pending":
        return None
    listing = await listings.get(env.db, response.listing_id)
    responder = await members.get(env.db, response.responder_id)
    if listing is None or responder is None:
        return None
    text = t(
        f"response.new_{listing.kind}",
        name=responder.display_name,
        card=listing_card(listing),
    )
    return Rendered(text, keyboards.response_choice(response.id, responder.id))


async def _response_accepted(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    found = await _exchange_and_other(env.db, item)
    if found is None:
        return None
    exchange, other = found
    who = link(other.display_name, other.telegram_id, other.username)
    return Rendered(
        t("response.accepted_responder", who=who),
        keyboards.introduced(exchange, item.member_id),
    )


async def _response_declined(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    response = await exchanges.get_response(env.db, item.ref_id or 0)
    listing = await listings.get(env.db, response.listing_id) if response else None
    if listing is None:
        return None
    return Rendered(t(f"response.declined_{listing.kind}", name=listing.owner_name))


async def _exchange_proposed(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    found = await _exchange_and_other(env.db, item)
    minutes = int(item.args.get("minutes", 0))
    if (
        found is None
        or found[0].state != ExchangeState.PROPOSED
        or found[0].proposed_minutes != minutes
    ):
        return None
    exchange, other = found
    key = (
        "exchange.confirm_you_helped"
        if exchange.giver_id == item.member_id
        else "exchange.confirm_they_helped"
    )
    return Rendered(
        t(key, name=other.display_name, hours=hours(minutes)),
        keyboards.confirm_choice(exchange.id, minutes),
    )


async def _exchange_confirmed(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    found = await _exchange_and_other(env.db, item)
    if found is None or found[0].state != ExchangeState.CONFIRMED:
        return None
    exchange, other = found
    balance = await ledger.balance(env.db, item.member_id)
    key = (
        "exchange.approved_notice"
        if item.kind == OutboxKind.EXCHANGE_APPROVED
        else "exchange.confirmed_notice"
    )
    text = t(
        key,
        name=other.display_name,
        hours=hours(exchange.proposed_minutes or 0),
        balance=hours(balance),
    )
    organisation = await organisations.acted_for(env.db, exchange, item.member_id)
    if organisation is not None:  # the hours moved the organisation's balance, not theirs
        text = t(
            "exchange.confirmed_for_organisation",
            name=other.display_name,
            hours=hours(exchange.proposed_minutes or 0),
            organisation=organisation.name,
            org_hours=hours(await organisations.balance(env.db, organisation.id)),
        )
    listing = await listings.of_exchange(env.db, exchange)
    return Rendered(text, keyboards.close_met_need(listing, item.member_id))


async def _exchange_held(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    parties = await _parties(env.db, item)
    if parties is None or parties[0].state != ExchangeState.HELD:
        return None
    exchange, giver, receiver = parties
    text = t(
        "coordinator.held",
        giver=giver.display_name,
        receiver=receiver.display_name,
        hours=hours(exchange.proposed_minutes or 0),
    )
    return Rendered(text, keyboards.approve_held(exchange.id))


async def _exchange_disputed(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    parties = await _parties(env.db, item)
    if parties is None or parties[0].state != ExchangeState.DISPUTED:
        return None  # settled meanwhile
    exchange, giver, receiver = parties
    who = giver if exchange.disputed_by == giver.id else receiver
    key = (
        "coordinator.disputed_didnt_happen"
        if exchange.dispute_reason == "didnt_happen"
        else "coordinator.disputed"
    )
    return Rendered(
        t(
            key,
            giver=link(giver.display_name, giver.telegram_id, giver.username),
            receiver=link(receiver.display_name, receiver.telegram_id, receiver.username),
            hours=hours(exchange.proposed_minutes or 0),
            who=who.display_name,
        ),
        keyboards.settle(exchange.id, exchange.proposed_minutes),
    )


async def _disputed_party(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """The other party of a dispute: why it went to a coordinator, and whether one was asked
    or it waits for the first (args "kept")."""
    found = await _exchange_and_other(env.db, item)
    if found is None or found[0].state != ExchangeState.DISPUTED:
        return None
    exchange, other = found
    key = (
        "exchange.didnt_happen_party"
        if exchange.dispute_reason == "didnt_happen"
        else "exchange.disputed_party"
    )
    if item.args.get("kept"):
        key += "_kept"
    return Rendered(t(key, name=other.display_name, hours=hours(exchange.proposed_minutes or 0)))


async def _held_party(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    found = await _exchange_and_other(env.db, item)
    if found is None or found[0].state != ExchangeState.HELD:
        return None
    key = "exchange.held_party_kept" if item.args.get("kept") else "exchange.held_party"
    return Rendered(t(key, name=found[1].display_name))


async def _first_post(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    member = await members.get(env.db, item.member_id)
    if member is None or await listings.count_by_owner(env.db, member.id):
        return None
    return Rendered(t("nudge.first_post", name=member.display_name))


async def _unconfirmed(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    found = await _exchange_and_other(env.db, item)
    if found is None or found[0].state != ExchangeState.AGREED:
        return None
    exchange, other = found
    return Rendered(
        t("nudge.did_it_happen", name=other.display_name), keyboards.exchange_next_step(exchange)
    )


async def _confirm_waiting(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    found = await _exchange_and_other(env.db, item)
    if found is None or not _still_proposed(found[0], item):
        return None
    exchange, other = found
    minutes = exchange.proposed_minutes or 0
    return Rendered(
        t("nudge.confirm_waiting", name=other.display_name, hours=hours(minutes)),
        keyboards.confirm_choice(exchange.id, minutes),
    )


async def _confirm_stuck(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    parties = await _parties(env.db, item)
    if parties is None or not _still_proposed(parties[0], item):
        return None
    exchange, giver, receiver = parties
    return Rendered(
        t(
            "coordinator.confirm_stuck",
            giver=link(giver.display_name, giver.telegram_id, giver.username),
            receiver=link(receiver.display_name, receiver.telegram_id, receiver.username),
            hours=hours(exchange.proposed_minutes or 0),
            since=local_time(exchange.updated_at, env.zone),
        )
    )


async def _need_still_open(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    listing = await listings.get(env.db, item.ref_id or 0)
    if listing is None or not listing.is_open or await listings.has_responses(env.db, listing.id):
        return None
    return Rendered(
        t("nudge.still_needed", card=listing_card(listing)), keyboards.still_needed(listing.id)
    )


async def _need_match(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """A need that matches the member's offer, unless it closed, or since it was queued a
    block came between them or its owner was paused."""
    listing = await listings.get(env.db, item.ref_id or 0)
    if listing is None or not listing.is_open:
        return None
    if await listings.hidden_from(env.db, listing, item.member_id):
        return None
    return Rendered(
        t("nudge.need_match", name=listing.owner_name, card=listing_card(listing)),
        keyboards.listing_actions(listing, item.member_id),
    )


async def _time_set(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """The other party hears the time, and which reminders are to come (set at updated_at)."""
    found = await _exchange_and_other(env.db, item)
    if found is None or not _still_scheduled(found[0], item):
        return None
    exchange, other = found
    assert exchange.scheduled_at is not None
    words = reminder_words(
        exchange.scheduled_at, exchange.updated_at, nudges_enabled=item.nudges_enabled
    )
    key = f"exchange.time_set_notice_{words}"
    when = local_time(exchange.scheduled_at, env.zone)
    return Rendered(t(key, name=other.display_name, when=when))


def _reminder(key: str) -> Renderer:
    """A reminder of agreed help at a set time, unless the time changed or it moved on."""

    async def renderer(env: RenderEnv, item: OutboxItem) -> Rendered | None:
        found = await _exchange_and_other(env.db, item)
        if found is None or not _still_scheduled(found[0], item):
            return None
        exchange, other = found
        assert exchange.scheduled_at is not None
        when = local_time(exchange.scheduled_at, env.zone)
        return Rendered(t(key, name=other.display_name, when=when))

    return renderer


def _still_proposed(exchange: Exchange, item: OutboxItem) -> bool:
    return (
        exchange.state == ExchangeState.PROPOSED
        and exchange.proposed_minutes == item.args.get("minutes")
        and to_db(exchange.updated_at) == item.args.get("since")
    )


def _still_scheduled(exchange: Exchange, item: OutboxItem) -> bool:
    return (
        exchange.state == ExchangeState.AGREED
        and exchange.scheduled_at is not None
        and to_db(exchange.scheduled_at) == item.args.get("at")
    )


async def _broadcast(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """A broadcast row; a cancelled broadcast's rows already claimed are dropped here. Its "I
    can help" goes when a block came between the member and whoever it introduces them to."""
    broadcast = await broadcasts.get(env.db, item.ref_id or 0)
    if broadcast is None or broadcast.state == "cancelled":
        return None
    listing = await listings.get(env.db, broadcast.listing_id) if broadcast.listing_id else None
    if listing is not None and await listings.hidden_from(env.db, listing, item.member_id):
        listing = None
    markup = keyboards.listing_actions(listing, item.member_id) if listing else None
    return Rendered(t("broadcast.message", text=Html(broadcast.text)), markup)


async def _broadcast_report(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    progress = await broadcasts.progress(env.db, item.ref_id or 0)
    return Rendered(
        t(
            "broadcast.report",
            total=f"{progress.total:,}",
            sent=f"{progress.sent:,}",
            blocked=f"{progress.blocked:,}",
            failed=f"{progress.failed:,}",
            skipped=f"{progress.total - progress.sent - progress.blocked - progress.failed:,}",
        )
    )


async def _member_applied(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    applicant = await members.get(env.db, item.ref_id or 0)
    if applicant is None or applicant.status != "pending":
        return None
    text = t(
        "coordinator.applied",
        name=link(applicant.display_name, applicant.telegram_id, applicant.username),
        place=applicant.neighbourhood or "–",
        source=applicant.join_source or "–",
    )
    return Rendered(text, keyboards.application(applicant.id))


async def _member_active(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    member = await members.get(env.db, item.member_id)
    if member is None:
        return None
    return Rendered(t("join.approved", name=member.display_name), keyboards.main_menu())


async def _exchange_settled(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """A coordinator decided the hours: what counts now, and no thanks for "no credit"."""
    found = await _exchange_and_other(env.db, item)
    minutes = int(item.args.get("minutes", 0))
    if found is None:
        return None
    exchange, other = found
    if (minutes and exchange.state != ExchangeState.CONFIRMED) or (
        not minutes and exchange.state != ExchangeState.CANCELLED
    ):
        return None  # decided again since
    if minutes and exchange.proposed_minutes != minutes:
        return None
    balance = await ledger.balance(env.db, item.member_id)
    if not minutes:
        key = "exchange.settled_none"
    elif exchange.giver_id == item.member_id:
        key = "exchange.settled_gave"
    else:
        key = "exchange.settled_received"
    return Rendered(t(key, name=other.display_name, hours=hours(minutes), balance=hours(balance)))


async def _exchange_cancelled(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """The other party said the help didn't happen, or called it off before it did (a block,
    never named as one)."""
    found = await _exchange_and_other(env.db, item)
    if found is None:
        return None
    called_off = bool(item.args.get("called_off"))
    key = "exchange.called_off_notice" if called_off else "exchange.cancelled_notice"
    return Rendered(t(key, name=found[1].display_name))


async def _member_reported(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """A coordinator hears who reported whom, why, and about which exchange, with Pause and
    No action; nothing once another coordinator handled it."""
    report = await safety.get_report(env.db, item.ref_id or 0)
    if report is None or report.handled:
        return None
    reporter = await members.get(env.db, report.reporter_id)
    reported = await members.get(env.db, report.reported_id)
    if reporter is None or reported is None:
        return None
    lines = [
        t(
            "safety.report_notice",
            reporter=link(reporter.display_name, reporter.telegram_id, reporter.username),
            reported=link(reported.display_name, reported.telegram_id, reported.username),
            reason=t(f"safety.reason_{report.reason}"),
        )
    ]
    if report.note:
        lines.append(t("safety.report_notice_note", note=report.note))
    exchange = await exchanges.get(env.db, report.exchange_id) if report.exchange_id else None
    if exchange is not None:
        state = t(f"history.state_{exchange.state}")
        lines.append(t("safety.report_notice_exchange", number=exchange.id, state=state))
    return Rendered(
        Html("\n".join(lines)), keyboards.report_actions(report.id, reported.display_name)
    )


def _pause_notice(key: str, *, paused: bool) -> Renderer:
    """Telling a member they are paused (or resumed), while that is still so."""

    async def renderer(env: RenderEnv, item: OutboxItem) -> Rendered | None:
        member = await members.get(env.db, item.member_id)
        if member is None or member.paused != paused:
            return None
        return Rendered(t(key))

    return renderer


async def _exchange_hours_by_coordinator(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    found = await _exchange_and_other(env.db, item)
    if found is None:
        return None
    exchange, other = found
    balance = await ledger.balance(env.db, item.member_id)
    key = (
        "exchange.recorded_gave"
        if exchange.giver_id == item.member_id
        else "exchange.recorded_received"
    )
    minutes = int(item.args.get("minutes", exchange.proposed_minutes or 0))
    return Rendered(t(key, name=other.display_name, hours=hours(minutes), balance=hours(balance)))


async def _partner_left(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """The other party of an exchange left the timebank, so /forget cancelled it (args:
    "category", of the post it came from). Nothing is sent if a coordinator has since
    settled it."""
    exchange = await exchanges.get(env.db, item.ref_id or 0)
    member = await members.get(env.db, item.member_id)
    if exchange is None or exchange.state != ExchangeState.CANCELLED or member is None:
        return None
    category = category_name(str(item.args.get("category", "")))
    return Rendered(t("notice.partner_left", name=member.display_name, category=category))


def _fixed(key: str) -> Renderer:
    """A notice whose words need nothing from the database."""

    async def renderer(env: RenderEnv, item: OutboxItem) -> Rendered | None:
        return Rendered(t(key))

    return renderer


async def _exchange_and_other(db: Database, item: OutboxItem) -> tuple[Exchange, Member] | None:
    exchange = await exchanges.get(db, item.ref_id or 0)
    if exchange is None:
        return None
    other = await members.get(db, exchange.other_party(item.member_id))
    return (exchange, other) if other else None


async def _parties(db: Database, item: OutboxItem) -> tuple[Exchange, Member, Member] | None:
    exchange = await exchanges.get(db, item.ref_id or 0)
    if exchange is None:
        return None
    giver = await members.get(db, exchange.giver_id)
    receiver = await members.get(db, exchange.receiver_id)
    if giver is None or receiver is None:
        return None
    return exchange, giver, receiver


RENDERERS: dict[OutboxKind, Renderer] = {
    OutboxKind.RESPONSE_NEW: _response_new,
    OutboxKind.RESPONSE_ACCEPTED: _response_accepted,
    OutboxKind.RESPONSE_DECLINED: _response_declined,
    OutboxKind.EXCHANGE_PROPOSED: _exchange_proposed,
    OutboxKind.EXCHANGE_CONFIRMED: _exchange_confirmed,
    OutboxKind.EXCHANGE_APPROVED: _exchange_confirmed,
    OutboxKind.EXCHANGE_HELD: _exchange_held,
    OutboxKind.EXCHANGE_HELD_PARTY: _held_party,
    OutboxKind.EXCHANGE_DISPUTED: _exchange_disputed,
    OutboxKind.EXCHANGE_DISPUTED_PARTY: _disputed_party,
    OutboxKind.EXCHANGE_CANCELLED: _exchange_cancelled,
    OutboxKind.EXCHANGE_TIME_SET: _time_set,
    OutboxKind.NUDGE_FIRST_POST: _first_post,
    OutboxKind.NUDGE_UNCONFIRMED: _unconfirmed,
    OutboxKind.NUDGE_CONFIRM_WAITING: _confirm_waiting,
    OutboxKind.COORDINATOR_CONFIRM_STUCK: _confirm_stuck,
    OutboxKind.NEED_STILL_OPEN: _need_still_open,
    OutboxKind.NEED_MATCH: _need_match,
    OutboxKind.REMINDER_DAY_BEFORE: _reminder("nudge.day_before"),
    OutboxKind.REMINDER_HOUR_BEFORE: _reminder("nudge.hour_before"),
    OutboxKind.BROADCAST: _broadcast,
    OutboxKind.BROADCAST_REPORT: _broadcast_report,
    OutboxKind.MEMBER_APPLIED: _member_applied,
    OutboxKind.MEMBER_ACTIVE: _member_active,
    OutboxKind.MEMBER_DECLINED: _fixed("join.declined_by_coordinator"),
    OutboxKind.ROLE_PROMOTED: _fixed("coordinator.you_are_promoted"),
    OutboxKind.ROLE_DEMOTED: _fixed("coordinator.you_are_demoted"),
    OutboxKind.EXCHANGE_RECORDED: _exchange_hours_by_coordinator,
    OutboxKind.EXCHANGE_SETTLED: _exchange_settled,
    OutboxKind.MEMBER_REPORTED: _member_reported,
    OutboxKind.MEMBER_PAUSED: _pause_notice("safety.you_are_paused", paused=True),
    OutboxKind.MEMBER_RESUMED: _pause_notice("safety.you_are_resumed", paused=False),
    OutboxKind.PARTNER_LEFT: _partner_left,
    OutboxKind.MEMBER_LEFT: _fixed("notice.member_left"),
    **VISIT_RENDERERS,
    **AFTERCARE_RENDERERS,
    **CHECKIN_RENDERERS,
    **VISITOR_RENDERERS,
    **REFERRAL_RENDERERS,
    **ORGANISATION_RENDERERS,
    **ACTIVITY_RENDERERS,
    **SPEND_RENDERERS,
}
