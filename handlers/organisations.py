"""Organisations: coordinators create them and name the members who act for them; those
members see their organisations and post for them (the "Who is this for?" step before a post
is in handlers/listings.py).

    /neworg ─▶ NAME (typed) ─▶ AREA (neighbourhood buttons, or typed without any)
            ─▶ ABOUT (typed) ─▶ PREVIEW ─"Create"─▶ created
                                          (the name is taken: NAME again, the rest kept)
                                        ─"Start again"─▶ NAME
    /orgs ─▶ every organisation with its balance, a button each ─▶ its card
    card ─"Add a member"─▶ NAMING (typed) ─▶ matching members ─tap─▶ added; they are told
         ─"Remove a member"─▶ its members ─tap─▶ removed; they are told
    /org ─▶ each organisation the member acts for: its balance, what is posted for it

Every button here is a coordinator's (`on_coordinator_button`), and storage re-checks the role
inside each change.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
)

from bot.services import services
from bot.ui import keyboards, organisation_keyboards, spend_keyboards
from bot.ui.callbacks import Area, Callback, parse, pattern
from bot.ui.i18n import hours, t
from bot.ui.render import snippet
from handlers.common import (
    Context,
    draft_lost,
    for_coordinators,
    for_members,
    on_coordinator_button,
    reply,
    text_input,
    typed,
)
from handlers.conversation import Conversation
from handlers.coordinators import pick_member
from storage import listings, members, organisations, partners
from storage.errors import NameTaken, NotFound
from storage.members import MAX_NAME
from storage.models import Member
from storage.organisations import MAX_ABOUT, MAX_AREA, MAX_ORGANISATION_NAME

NAME, AREA, ABOUT, PREVIEW, NAMING = range(5)
DRAFT = "new_organisation"
NAMING_FOR = "organisation_naming"  # the organisation a coordinator is naming a member for


# --- /neworg --------------------------------------------------------------------------------


@for_coordinators
async def cmd_neworg(update: Update, context: Context, member: Member) -> int:
    """/neworg: a new organisation, its name first."""
    assert context.user_data is not None
    context.user_data[DRAFT] = {}
    await reply(update, t("org.ask_name"))
    return NAME


async def got_name(update: Update, context: Context) -> int | None:
    name = await typed(update, MAX_ORGANISATION_NAME)
    if name is None:
        return None
    draft = _draft(context)
    if draft is None:
        return await draft_lost(update)
    draft["name"] = name
    if "about" in draft:  # a new name after "taken": the rest stands
        return await _preview(update, draft)
    places = services(context).config.timebank.neighbourhoods
    if places:
        await reply(update, t("org.ask_area"), organisation_keyboards.areas(places))
    else:
        await reply(update, t("org.ask_area_typed"))
    return AREA


async def got_area(update: Update, context: Context) -> int | None:
    area = await typed(update, MAX_AREA)
    return None if area is None else await _ask_about(update, context, area)


async def cb_area(update: Update, context: Context) -> int | None:
    """A neighbourhood button (its place in config; forged or stale ones are refused)."""
    query = update.callback_query
    callback = parse(query.data if query else None)
    places = services(context).config.timebank.neighbourhoods
    if callback is None or callback.id >= len(places):
        await reply(update, t("errors.gone"))
        return None
    return await _ask_about(update, context, places[callback.id])


async def _ask_about(update: Update, context: Context, area: str) -> int:
    draft = _draft(context)
    if draft is None:
        return await draft_lost(update)
    draft["area"] = area
    await reply(update, t("org.ask_about"))
    return ABOUT


async def got_about(update: Update, context: Context) -> int | None:
    about = await typed(update, MAX_ABOUT)
    if about is None:
        return None
    draft = _draft(context)
    if draft is None or "area" not in draft:
        return await draft_lost(update)
    draft["about"] = about
    return await _preview(update, draft)


async def _preview(update: Update, draft: dict[str, str]) -> int:
    text = t("org.preview", name=draft["name"], area=draft["area"], about=draft["about"])
    await reply(update, text, organisation_keyboards.preview())
    return PREVIEW


@on_coordinator_button
async def cb_preview(update: Update, context: Context, member: Member, callback: Callback) -> int:
    """Create it, or start again; a name already in use is asked for again, kindly."""
    assert context.user_data is not None
    draft = _draft(context)
    if draft is None or "about" not in draft:
        return await draft_lost(update)
    if callback.action == "again":
        context.user_data[DRAFT] = {}
        await reply(update, t("org.ask_name"))
        return NAME
    svc = services(context)
    try:
        organisation = await organisations.create(
            svc.db,
            name=draft["name"],
            area=draft["area"],
            description=draft["about"],
            by=member.id,
            now=svc.clock.now(),
        )
    except NameTaken:
        await reply(update, t("org.name_taken", name=draft["name"]))
        return NAME
    context.user_data.pop(DRAFT, None)
    await reply(update, t("org.created", name=organisation.name))
    await _show_card(update, context, organisation.id)
    return ConversationHandler.END


def _draft(context: Context) -> dict[str, str] | None:
    draft = (context.user_data or {}).get(DRAFT)
    return draft if isinstance(draft, dict) else None


# --- /orgs and the cards --------------------------------------------------------------------


@for_coordinators
async def cmd_orgs(update: Update, context: Context, member: Member) -> None:
    """/orgs: every organisation with its balance, a button each for its card."""
    await _show_list(update, context, 0)


@on_coordinator_button
async def cb_list(update: Update, context: Context, member: Member, callback: Callback) -> None:
    await _show_list(update, context, callback.id)


async def _show_list(update: Update, context: Context, offset: int) -> None:
    found = await organisations.with_balances(services(context).db)
    if not found:
        await reply(update, t("org.none_yet"))
        return
    offset = offset if offset < len(found) else 0
    await reply(
        update,
        t("org.list_title"),
        organisation_keyboards.listed(found, offset),
    )


@on_coordinator_button
async def cb_card(update: Update, context: Context, member: Member, callback: Callback) -> None:
    await _show_card(update, context, callback.id)


async def _show_card(update: Update, context: Context, organisation_id: int) -> None:
    """An organisation's card: where, what, its balance, and who acts for it."""
    db = services(context).db
    standing = await organisations.standing(db, organisation_id)
    if standing is None or standing.organisation.status != "active":
        raise NotFound(organisation_id)
    people = await _people(context, standing.member_ids)
    organisation = standing.organisation
    text = t(
        "org.card",
        name=organisation.name,
        area=organisation.area,
        about=organisation.description,
        org_hours=hours(standing.balance),
        people=", ".join(p.display_name for p in people) or t("org.nobody_yet"),
    )
    await reply(
        update, text, organisation_keyboards.card(organisation.id, has_members=bool(people))
    )


async def _people(context: Context, member_ids: tuple[int, ...]) -> list[Member]:
    db = services(context).db
    found = [await members.get(db, member_id) for member_id in member_ids]
    return [person for person in found if person is not None]


@on_coordinator_button
async def cb_add(update: Update, context: Context, member: Member, callback: Callback) -> int:
    """ "Add a member": ask for their name (members are found by name, as for /promote)."""
    organisation = await organisations.get(services(context).db, callback.id)
    if organisation is None or organisation.status != "active":
        raise NotFound(callback.id)
    assert context.user_data is not None
    context.user_data[NAMING_FOR] = organisation.id
    await reply(update, t("org.ask_member", name=organisation.name))
    return NAMING


async def got_member_name(update: Update, context: Context) -> int | None:
    """The name typed: matching members as buttons (the buttons carry the organisation, so
    the conversation ends here); nobody by that name, and they may type another."""
    words = await typed(update, MAX_NAME)
    if words is None:
        return None
    organisation_id = (context.user_data or {}).get(NAMING_FOR)
    if not isinstance(organisation_id, int):
        return await draft_lost(update)
    found = await pick_member(
        update,
        context,
        words,
        lambda m: organisation_keyboards.member_choice(organisation_id, "addm", m),
        t("org.which_member"),
    )
    return ConversationHandler.END if found else None


@on_coordinator_button
async def cb_add_member(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """A member picked: they act for the organisation from now on, and are told (storage
    re-checks the presser, the member and the organisation; a second tap adds nobody twice)."""
    organisation_id = callback.arg_int
    if organisation_id is None:
        raise NotFound(callback.id)
    svc = services(context)
    added = await organisations.add_member(
        svc.db,
        organisation_id=organisation_id,
        member_id=callback.id,
        by=member.id,
        now=svc.clock.now(),
    )
    await _say_done(update, context, "org.added" if added else "org.already_added", callback.id)
    await _show_card(update, context, organisation_id)


@on_coordinator_button
async def cb_remove(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Remove a member": who acts for it now, a button each."""
    standing = await organisations.standing(services(context).db, callback.id)
    if standing is None:
        raise NotFound(callback.id)
    people = await _people(context, standing.member_ids)
    if not people:
        await reply(update, t("org.nobody_yet"))
        return
    await reply(
        update,
        t("org.remove_which", name=standing.organisation.name),
        organisation_keyboards.removable(callback.id, people),
    )


@on_coordinator_button
async def cb_remove_member(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    organisation_id = callback.arg_int
    if organisation_id is None:
        raise NotFound(callback.id)
    svc = services(context)
    removed = await organisations.remove_member(
        svc.db,
        organisation_id=organisation_id,
        member_id=callback.id,
        by=member.id,
        now=svc.clock.now(),
    )
    key = "org.removed" if removed else "org.already_removed"
    await _say_done(update, context, key, callback.id)
    await _show_card(update, context, organisation_id)


async def _say_done(update: Update, context: Context, key: str, member_id: int) -> None:
    person = await members.get(services(context).db, member_id)
    await reply(update, t(key, name=person.display_name if person else "?"))


# --- /org: a member's own organisations -----------------------------------------------------


@for_members
async def cmd_org(update: Update, context: Context, member: Member) -> None:
    """/org: each organisation the member acts for, with its balance and what is posted for
    it (a button each, to open it), then the members' asks to spend hours still waiting for
    its answer."""
    db = services(context).db
    mine = await organisations.with_balances(db, member_id=member.id)
    if not mine:
        await reply(update, t("org.none_of_yours"))
        return
    for organisation, balance in mine:
        posted = await listings.open_for_organisation(db, organisation.id)
        key = "org.yours" if posted else "org.yours_nothing_posted"
        rows = [
            [keyboards.button(snippet(listing), Callback(Area.LISTING, "view", listing.id))]
            for listing in posted
        ]
        await reply(
            update,
            t(key, name=organisation.name, org_hours=hours(balance)),
            InlineKeyboardMarkup(rows) if rows else None,
        )
        for asked in await partners.waiting(db, organisation.id):
            await reply(update, *spend_keyboards.ask(asked.spend, asked.offer, asked.name))


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        Conversation(
            "new_organisation",
            [CommandHandler("neworg", cmd_neworg)],
            {
                NAME: [MessageHandler(text_input(), got_name)],
                AREA: [
                    MessageHandler(text_input(), got_area),
                    CallbackQueryHandler(cb_area, pattern=pattern(Area.ORGANISATION, "area")),
                ],
                ABOUT: [MessageHandler(text_input(), got_about)],
                PREVIEW: [
                    CallbackQueryHandler(
                        cb_preview, pattern=pattern(Area.ORGANISATION, "create", "again")
                    )
                ],
            },
            drafts=[DRAFT],
            keeps_draft_on_earlier_buttons=True,
        ),
        Conversation(
            "name_organisation_member",
            [CallbackQueryHandler(cb_add, pattern=pattern(Area.ORGANISATION, "add"))],
            {NAMING: [MessageHandler(text_input(), got_member_name)]},
            drafts=[NAMING_FOR],
        ),
        CommandHandler("orgs", cmd_orgs),
        CommandHandler("org", cmd_org),
        CallbackQueryHandler(cb_list, pattern=pattern(Area.ORGANISATION, "list")),
        CallbackQueryHandler(cb_card, pattern=pattern(Area.ORGANISATION, "card")),
        CallbackQueryHandler(cb_add_member, pattern=pattern(Area.ORGANISATION, "addm")),
        CallbackQueryHandler(cb_remove, pattern=pattern(Area.ORGANISATION, "rm")),
        CallbackQueryHandler(cb_remove_member, pattern=pattern(Area.ORGANISATION, "rmm")),
    ]
