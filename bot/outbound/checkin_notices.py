"""What the check-in notices say, rendered when sent: the visitor's prompt, an alert to a
coordinator, the patient's "your visitor couldn't reach you", and "come again". Each returns
None when it no longer applies (the visit was reported, its time changed, the patient already
answered, a coordinator is on the alert, a later round of it was queued)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.outbound.rendered import Rendered, RenderEnv, Renderer
from bot.ui import checkin_keyboards, visit_keyboards
from bot.ui.i18n import Html, link, t
from storage import checkins
from storage.checkins import AlertView, VisitView
from storage.kinds import OutboxKind
from storage.models import to_db
from storage.outbox import OutboxItem


async def _visit(env: RenderEnv, item: OutboxItem, state: str) -> VisitView | None:
    """The row's visit, if it is still in `state` and its referral open."""
    view = await checkins.get_visit(env.db, item.ref_id or 0)
    if view is None or view.visit.state != state or not view.referral_open:
        return None
    return view


async def _prompt(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """To the visitor, an hour after the visit's time (args "at") or on a follow-up's day
    ("on"), unless it was reported or its time or day changed meanwhile."""
    view = await _visit(env, item, "planned")
    if view is None or view.visit.visitor_id != item.member_id:
        return None
    visit = view.visit
    if "at" in item.args:
        still = visit.scheduled_at is not None and to_db(visit.scheduled_at) == item.args["at"]
    else:
        still = visit.due_on is not None and visit.due_on == item.args.get("on")
    if not still:
        return None
    key = "checkin.prompt_visit" if visit.number == 1 else "checkin.prompt_follow_up"
    return Rendered(t(key, name=view.first_name), checkin_keyboards.how_did_it_go(visit.id))


async def _alert(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """To a coordinator: round args "round" of an alert nobody is on yet (a copy of an
    earlier round still unsent goes no more: the later one says it all)."""
    found = await checkins.get_alert(env.db, item.ref_id or 0)
    round_ = int(item.args.get("round", 1))
    if found is None or not found.alert.open or found.visit is None:
        return None
    if round_ != found.alert.times_told:
        return None
    lines = [t("checkin.alert_again")] if round_ > 1 else []
    lines += _alert_lines(found, found.visit)
    return Rendered(Html("\n".join(lines)), checkin_keyboards.on_it(found.alert.id))


def _alert_lines(found: AlertView, view: VisitView) -> list[Html]:
    """What a coordinator must know: whom, where, what is wrong, and who visited."""
    names = {"name": found.first_name, "area": found.area}
    visitor = link(view.visitor_name, view.visitor_telegram_id, view.visitor_username)
    answers = view.answers
    lines: list[Html]
    if found.alert.reason == "unreached":
        lines = [t("checkin.alert_unreached", **names)]
        key = "checkin.alert_no_answer" if view.patient_id else "checkin.alert_not_on_telegram"
        lines.append(t(key, visitor=visitor))
    elif answers is None:  # no check-in: the unreached patient said they need help
        lines = [t("checkin.alert_help", **names), t("checkin.alert_tried", visitor=visitor)]
    else:
        lines = [t("checkin.alert_worry", **names)]
        if answers.noes:
            noes = ", ".join(t(f"checkin.no_{question}") for question in answers.noes)
            lines.append(t("checkin.alert_noes", noes=Html(noes)))
        if answers.worry:
            lines.append(t("checkin.alert_worried"))
        if answers.note:
            lines.append(t("checkin.alert_note", note=answers.note))
        lines.append(t("checkin.alert_visitor", visitor=visitor))
    if view.contact:
        lines.append(t("checkin.alert_contact", contact=view.contact))
    return lines


async def _reach(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """To the patient, one try of a round (args "since"), while that round waits for them."""
    view = await _visit(env, item, "unreached")
    if view is None or view.patient_id != item.member_id:
        return None
    waiting = await checkins.waiting_alert(env.db, view.visit.id)
    if waiting is None or to_db(waiting.raised_at) != item.args.get("since"):
        return None
    return Rendered(
        t("checkin.reach", name=view.first_name, visitor=view.visitor_name),
        checkin_keyboards.reach_answer(view.visit.id),
    )


async def _come_again(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """To the visitor: the patient is OK and would like a visit; until they pick a time."""
    view = await _visit(env, item, "planned")
    if view is None or view.visit.scheduled_at is not None:
        return None
    markup = InlineKeyboardMarkup([[visit_keyboards.set_time_button(view.visit.id)]])
    return Rendered(t("checkin.come_again", name=view.first_name), markup)


CHECKIN_RENDERERS: dict[OutboxKind, Renderer] = {
    OutboxKind.CHECKIN_PROMPT: _prompt,
    OutboxKind.CHECKIN_ALERT: _alert,
    OutboxKind.CHECKIN_REACH: _reach,
    OutboxKind.CHECKIN_COME_AGAIN: _come_again,
}
