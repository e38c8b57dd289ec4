"""What referrals tell people unprompted: the accepted visitor hears a referral was closed."""

from __future__ import annotations

from bot.outbound.rendered import Rendered, RenderEnv, Renderer
from bot.ui.i18n import t
from storage import referrals
from storage.kinds import OutboxKind
from storage.outbox import OutboxItem


async def _referral_closed(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """Only while it stays closed and they are still its visitor."""
    referral = await referrals.get(env.db, item.ref_id or 0)
    if referral is None or referral.state != "closed" or referral.visitor_id != item.member_id:
        return None
    return Rendered(t("referral.closed_for_visitor", name=referral.first_name))


REFERRAL_RENDERERS: dict[OutboxKind, Renderer] = {
    OutboxKind.REFERRAL_CLOSED: _referral_closed,
}
