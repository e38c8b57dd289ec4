"""What the aftercare notices say (storage/aftercare.py queues them), rendered when sent: each
returns None once it no longer applies (the visit was confirmed meanwhile, the question was
answered, the patient left), so nobody is asked what was settled already."""

from __future__ import annotations

from bot.outbound.rendered import Rendered, RenderEnv, Renderer
from bot.ui import aftercare_keyboards
from bot.ui.i18n import hours, t
from bot.ui.render import day_words
from storage import aftercare, ledger, members
from storage.aftercare import VisitCase
from storage.kinds import OutboxKind
from storage.models import Referral
from storage.outbox import OutboxItem


async def _confirm_patient(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """ "Did Bob visit you?" while it waits for them."""
    case = await _unconfirmed(env, item)
    if case is None or case.referral.patient_id != item.member_id:
        return None
    return Rendered(
        t("aftercare.did_they_visit", name=_name(case.visitor_name)),
        aftercare_keyboards.did_they_visit(case.visit.id),
    )


def _for_coordinators(key: str) -> Renderer:
    """A visit waiting for a coordinator's confirmation: the patient isn't on Telegram
    (`aftercare.confirm_ask`), or said it didn't happen (`aftercare.denied`)."""

    async def renderer(env: RenderEnv, item: OutboxItem) -> Rendered | None:
        case = await _unconfirmed(env, item)
        if case is None or not case.referral.first_name:  # the patient left meanwhile
            return None
        at = case.visit.scheduled_at or case.visit.reported_at
        day = day_words(at.astimezone(env.zone).date(), "time.long_day") if at else "–"
        text = t(
            key,
            visitor=_name(case.visitor_name),
            patient=case.referral.first_name,
            area=case.referral.area,
            day=day,
        )
        return Rendered(text, aftercare_keyboards.confirm_visit(case.visit.id))

    return renderer


async def _credited(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """The visitor's thanks, with the hours earned and their balance now."""
    case = await aftercare.case(env.db, item.ref_id or 0)
    if case is None or not case.confirmed:
        return None
    balance = await ledger.balance(env.db, item.member_id)
    return Rendered(
        t(
            "aftercare.credited",
            name=_name(case.referral.first_name),
            hours=hours(int(item.args.get("minutes", 0))),
            balance=hours(balance),
        )
    )


async def _first_visit(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    referral = await aftercare.referral(env.db, item.ref_id or 0)
    if referral is None or not referral.first_name:
        return None
    ward = str(item.args.get("ward", ""))
    return Rendered(t("aftercare.first_visit", name=referral.first_name, ward=ward))


async def _pay_forward(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """Weeks on, would they visit someone too? Only while the question stands."""
    referral = await _patients(env, item)
    if referral is None or referral.pay_forward != "asked" or referral.visitor_id is None:
        return None
    visitor = await members.get(env.db, referral.visitor_id)
    name = _name(visitor.display_name if visitor else "")
    return Rendered(
        t("aftercare.pay_forward", name=name), aftercare_keyboards.pay_forward(referral.id)
    )


async def _loneliness_offer(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    referral = await _patients(env, item)
    stage = str(item.args.get("stage", ""))
    if referral is None or await aftercare.answered(env.db, referral.id, stage):
        return None
    return Rendered(
        t("aftercare.loneliness_offer"), aftercare_keyboards.loneliness_offer(referral.id, stage)
    )


async def _unconfirmed(env: RenderEnv, item: OutboxItem) -> VisitCase | None:
    case = await aftercare.case(env.db, item.ref_id or 0)
    if case is None or case.confirmed or case.visit.state != "done":
        return None
    return case


async def _patients(env: RenderEnv, item: OutboxItem) -> Referral | None:
    """The referral, if the row's reader is still its patient and it wasn't withdrawn."""
    referral = await aftercare.referral(env.db, item.ref_id or 0)
    if referral is None or referral.patient_id != item.member_id or referral.state == "withdrawn":
        return None
    return referral


def _name(name: str) -> str:
    """A first name, or "a former member" for someone who left."""
    return name or t("member.former")


AFTERCARE_RENDERERS: dict[OutboxKind, Renderer] = {
    OutboxKind.VISIT_CONFIRM_PATIENT: _confirm_patient,
    OutboxKind.VISIT_CONFIRM_COORDINATOR: _for_coordinators("aftercare.confirm_ask"),
    OutboxKind.VISIT_DENIED: _for_coordinators("aftercare.denied"),
    OutboxKind.VISIT_CREDITED: _credited,
    OutboxKind.FIRST_VISIT_DONE: _first_visit,
    OutboxKind.PAY_FORWARD_ASK: _pay_forward,
    OutboxKind.LONELINESS_OFFER: _loneliness_offer,
}
