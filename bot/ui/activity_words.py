"""How a group activity reads to a member: its card, shared by /activities, an activity's link
and the notices about it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from bot.ui.i18n import Html, hours, t
from bot.ui.render import local_time
from storage.activities import Attendee, Card
from storage.models import Activity

ROLL_CALL_PAGE = 40  # names to a roll call's page: a phone screen or two, well within a keyboard


def run_by(activity: Activity, organisation: str | None) -> Html:
    """Who runs it: the organisation's name, or the timebank itself."""
    return Html(organisation) if organisation else t("activity.by_timebank")


def price_words(activity: Activity) -> Html:
    return hours(activity.price_minutes) if activity.price_minutes else t("activity.free")


def card_text(card: Card, zone: tzinfo) -> Html:
    """What, when, where, who runs it, places left, who else is going (first names), and
    where the member stands."""
    activity = card.activity
    lines = [
        t(
            "activity.card",
            title=activity.title,
            when=local_time(activity.starts_at, zone),
            place=activity.place,
            who=run_by(activity, card.organisation),
        )
    ]
    if activity.helpers_wanted:
        lines.append(
            t(
                "activity.card_helpers",
                taken=str(card.taken["helper"]),
                wanted=str(activity.helpers_wanted),
                hours=hours(activity.helper_minutes),
            )
        )
    if activity.places:
        lines.append(
            t(
                "activity.card_places",
                left=str(card.left("participant")),
                price=price_words(activity),
            )
        )
    if card.names:
        lines.append(t("activity.card_going", names=", ".join(card.names)))
    mine = card.mine
    if activity.state != "open":
        lines.append(t("activity.card_over"))
    elif mine is not None and mine.state != "cancelled":
        lines.append(t(f"activity.card_you_{mine.state}_{mine.role}"))
    return Html("\n".join(lines))


def roll_call_text(activity: Activity, people: Sequence[Attendee], page: int = 0) -> Html:
    """The roll call's words; on a list of many pages, which names this page shows."""
    text = t("activity.roll_call", title=activity.title)
    if len(people) <= ROLL_CALL_PAGE:
        return text
    first = roll_call_page(people, page) * ROLL_CALL_PAGE
    last = min(first + ROLL_CALL_PAGE, len(people))
    return Html(
        text
        + "\n\n"
        + t("activity.roll_page", first=str(first + 1), last=str(last), count=str(len(people)))
    )


def roll_call_page(people: Sequence[Attendee], page: int) -> int:
    """`page` kept within the list: an old button of a list that has shrunk shows the last."""
    last = max(0, (len(people) - 1) // ROLL_CALL_PAGE)
    return min(max(page, 0), last)


def page_of(people: Sequence[Attendee], signup_id: int) -> int:
    """The page that shows this person, so marking them keeps the organiser where they were."""
    place = next((i for i, person in enumerate(people) if person.signup.id == signup_id), 0)
    return place // ROLL_CALL_PAGE
