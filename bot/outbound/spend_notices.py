"""What spending hours with partners tells people unprompted: the organisation's people hear a
member asks (with Confirm and Can't), the member hears the answer. Each only while the spend is
still as it was when the row was written."""

from __future__ import annotations

from bot.outbound.rendered import Rendered, RenderEnv, Renderer
from bot.ui import spend_keyboards as kb
from bot.ui.i18n import hours, t
from storage import ledger, members, partners
from storage.kinds import OutboxKind
from storage.models import PartnerOffer, Spend
from storage.outbox import OutboxItem


async def _spend_in(
    env: RenderEnv, item: OutboxItem, state: str
) -> tuple[Spend, PartnerOffer] | None:
    spend = await partners.get_spend(env.db, item.ref_id or 0)
    if spend is None or spend.state != state:
        return None
    offer = await partners.get_offer(env.db, spend.offer_id)
    return (spend, offer) if offer else None


async def _asked(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """To someone acting for the organisation, until one of them answers (or it's withdrawn)."""
    found = await _spend_in(env, item, "asked")
    who = await members.get(env.db, found[0].member_id) if found else None
    if found is None or who is None:
        return None
    return Rendered(*kb.ask(*found, who.display_name))


async def _confirmed(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    found = await _spend_in(env, item, "confirmed")
    if found is None:
        return None
    spend, offer = found
    balance = await ledger.balance(env.db, item.member_id)
    return Rendered(
        t(
            "spend.confirmed_notice",
            organisation=offer.organisation_name,
            title=offer.title,
            hours=hours(spend.minutes),
            balance=hours(balance),
        )
    )


async def _declined(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    found = await _spend_in(env, item, "declined")
    if found is None:
        return None
    offer = found[1]
    return Rendered(
        t("spend.declined_notice", organisation=offer.organisation_name, title=offer.title)
    )


SPEND_RENDERERS: dict[OutboxKind, Renderer] = {
    OutboxKind.SPEND_ASKED: _asked,
    OutboxKind.SPEND_CONFIRMED: _confirmed,
    OutboxKind.SPEND_DECLINED: _declined,
}
