"""What organisations' outbox rows say: a member named to act for one, or taken off it.
Each is rendered when sent and returns None once it no longer holds (they were taken off
again, or the organisation closed), so nobody is told something already untrue."""

from __future__ import annotations

from bot.outbound.rendered import Rendered, RenderEnv, Renderer
from bot.ui.i18n import t
from storage import organisations
from storage.kinds import OutboxKind
from storage.outbox import OutboxItem


def _told(key: str, *, acting: bool) -> Renderer:
    """Telling a member they now act (or no longer act) for an organisation, while so."""

    async def renderer(env: RenderEnv, item: OutboxItem) -> Rendered | None:
        standing = await organisations.standing(env.db, item.ref_id or 0)
        if standing is None or standing.organisation.status != "active":
            return None
        if (item.member_id in standing.member_ids) != acting:
            return None
        return Rendered(t(key, name=standing.organisation.name))

    return renderer


ORGANISATION_RENDERERS: dict[OutboxKind, Renderer] = {
    OutboxKind.ORGANISATION_MEMBER_ADDED: _told("org.you_act_for", acting=True),
    OutboxKind.ORGANISATION_MEMBER_REMOVED: _told("org.you_no_longer_act", acting=False),
}
