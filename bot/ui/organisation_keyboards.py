"""Buttons of the organisations' flows: /neworg's areas and preview, /orgs' list and cards,
and the 'Who is this for?' question before a post."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup

from bot.ui.callbacks import Area, Callback
from bot.ui.i18n import hours, t
from bot.ui.keyboards import POST_AREAS, button, grid
from storage.models import ListingKind, Member, Organisation

PAGE = 20  # organisations to a page of /orgs


def areas(places: Sequence[str]) -> InlineKeyboardMarkup:
    """The timebank's neighbourhoods, by their place in config."""
    return grid(
        [button(place, Callback(Area.ORGANISATION, "area", i)) for i, place in enumerate(places)]
    )


def preview() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                button(t("org.create"), Callback(Area.ORGANISATION, "create")),
                button(t("org.start_again"), Callback(Area.ORGANISATION, "again")),
            ]
        ]
    )


def listed(found: Sequence[tuple[Organisation, int]], offset: int) -> InlineKeyboardMarkup:
    """One button per organisation of this page, with its balance; Next when there are more."""
    rows = [
        [
            button(
                t("org.list_button", name=organisation.name, org_hours=hours(balance)),
                Callback(Area.ORGANISATION, "card", organisation.id),
            )
        ]
        for organisation, balance in found[offset : offset + PAGE]
    ]
    if offset + PAGE < len(found):
        rows.append([button(t("org.more"), Callback(Area.ORGANISATION, "list", offset + PAGE))])
    return InlineKeyboardMarkup(rows)


def card(organisation_id: int, *, has_members: bool) -> InlineKeyboardMarkup:
    row = [button(t("org.add_member"), Callback(Area.ORGANISATION, "add", organisation_id))]
    if has_members:
        row.append(
            button(t("org.remove_member"), Callback(Area.ORGANISATION, "rm", organisation_id))
        )
    return InlineKeyboardMarkup([row])


def member_choice(organisation_id: int, action: str, member: Member) -> Callback:
    """A member picked to add to (addm) or take off (rmm) an organisation."""
    return Callback(Area.ORGANISATION, action, member.id, str(organisation_id))


def removable(organisation_id: int, people: Sequence[Member]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(person.display_name, member_choice(organisation_id, "rmm", person))]
            for person in people
        ]
    )


def for_whom(kind: ListingKind, organisations: Sequence[Organisation]) -> InlineKeyboardMarkup:
    """ "Me" or one of the organisations the member acts for (id 0: for themselves)."""
    area = POST_AREAS[kind]
    return InlineKeyboardMarkup(
        [[button(t("post.for_me"), Callback(area, "for", 0))]]
        + [[button(o.name, Callback(area, "for", o.id))] for o in organisations]
    )
