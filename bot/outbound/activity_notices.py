"""What the bot tells the people signed up for a group activity, and its organisers
(storage/activities.py). Each renderer returns None once its row no longer applies: a place
given up, an offer answered or lapsed, a time that moved, a roll call already credited."""

from __future__ import annotations

from bot.outbound.rendered import Rendered, RenderEnv, Renderer
from bot.ui import activity_keyboards
from bot.ui.activity_words import roll_call_text
from bot.ui.i18n import hours, t
from bot.ui.render import local_time
from storage import activities, ledger
from storage.kinds import OutboxKind
from storage.models import Activity, Signup, to_db
from storage.outbox import OutboxItem


async def _signup_and_activity(
    env: RenderEnv, item: OutboxItem, state: str = "open"
) -> tuple[Signup, Activity] | None:
    """The row's place and its activity, while the activity is in `state` (open: the
    row still applies)."""
    signup = await activities.get_signup(env.db, item.ref_id or 0)
    if signup is None or signup.member_id != item.member_id:
        return None
    activity = await activities.get(env.db, signup.activity_id)
    if activity is None or activity.state != state:
        return None
    return signup, activity


async def _reminder(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """The day or the hour before, while their place stands and the time hasn't moved."""
    found = await _signup_and_activity(env, item)
    if found is None:
        return None
    signup, activity = found
    if signup.state != "going" or to_db(activity.starts_at) != item.args.get("at"):
        return None
    ahead = "hour" if item.args.get("ahead") == "hour" else "day"
    text = t(
        f"activity.reminder_{ahead}",
        title=activity.title,
        when=local_time(activity.starts_at, env.zone),
        place=activity.place,
    )
    return Rendered(text)


async def _offered(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """A place came free: theirs until the offer's time, with Take it / No thanks."""
    found = await _signup_and_activity(env, item)
    if found is None:
        return None
    signup, activity = found
    if (
        signup.state != "offered"
        or signup.offer_expires_at is None
        or to_db(signup.offer_expires_at) != item.args.get("until")
    ):
        return None
    text = t(
        "activity.offered",
        title=activity.title,
        when=local_time(activity.starts_at, env.zone),
        until=local_time(signup.offer_expires_at, env.zone),
    )
    return Rendered(text, activity_keyboards.offer(signup.id))


async def _roll_call(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """To an organiser: everyone going, a button each, and the credit; nothing once credited."""
    activity = await activities.get(env.db, item.ref_id or 0)
    if activity is None or activity.state != "open":
        return None
    people = await activities.attendees(env.db, activity.id)
    return Rendered(
        roll_call_text(activity, people), activity_keyboards.roll_call(activity.id, people)
    )


async def _thanks(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """Credited (a helper) or charged (a participant), with their balance now."""
    activity = await activities.get(env.db, item.ref_id or 0)
    if activity is None or activity.state != "done":
        return None
    role = "helper" if item.args.get("role") == "helper" else "participant"
    balance = await ledger.balance(env.db, item.member_id)
    text = t(
        f"activity.thanks_{role}",
        title=activity.title,
        hours=hours(activity.minutes_for(role)),
        balance=hours(balance),
    )
    return Rendered(text)


async def _called_off(env: RenderEnv, item: OutboxItem) -> Rendered | None:
    """An organiser called it off: what and when, so the day is free again."""
    found = await _signup_and_activity(env, item, "cancelled")
    if found is None:
        return None
    activity = found[1]
    text = t(
        "activity.called_off_notice",
        title=activity.title,
        when=local_time(activity.starts_at, env.zone),
    )
    return Rendered(text)


ACTIVITY_RENDERERS: dict[OutboxKind, Renderer] = {
    OutboxKind.ACTIVITY_REMINDER: _reminder,
    OutboxKind.ACTIVITY_OFFERED: _offered,
    OutboxKind.ACTIVITY_ROLL_CALL: _roll_call,
    OutboxKind.ACTIVITY_THANKS: _thanks,
    OutboxKind.ACTIVITY_CALLED_OFF: _called_off,
}
