"""Posting an offer or a need, and owners editing, closing and reopening their own.

    "I can offer" / "I need" ─▶ category buttons ─tap─▶ TEXT ─▶ WHEN (or Skip) ─▶ PREVIEW
    PREVIEW ─"Publish"─▶ listed   ─"Change text"─▶ TEXT   ─"Don't post"─▶ nothing kept
    /offer TEXT and /need TEXT publish at once, in the category their words point to (by its
    name or its keywords in config), else the last one.
Edit: "Edit" on an own listing ─▶ EDIT_TEXT ─▶ saved.
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
from bot.ui import keyboards, organisation_keyboards
from bot.ui.callbacks import Area, Callback, parse, pattern
from bot.ui.i18n import category_name, t, tn
from bot.ui.render import card, listing_card, snippet, visible_text
from handlers.common import (
    Context,
    draft_lost,
    drop_buttons,
    for_members,
    member_of,
    menu_tap,
    on_button,
    pressed_message_id,
    reply,
    text_input,
    typed,
    words_within,
)
from handlers.conversation import Conversation
from storage import listings, organisations
from storage.errors import NotForOrganisation, Paused, Unavailable
from storage.listings import MAX_BODY, MAX_WHEN_WHERE
from storage.models import Listing, ListingKind, Member, Organisation

TEXT, WHEN, PREVIEW, EDIT_TEXT = range(4)
DRAFT = "draft"
# Previews already published (their listing's id) or dropped (None), by message id.
FINISHED = "posts_finished"
EDITING = "editing"
KIND_AREAS = keyboards.POST_AREAS


async def ask_category(update: Update, context: Context, member: Member, kind: ListingKind) -> None:
    """The first step of a post: whom it is for, when the member acts for an organisation;
    else which kind of help (not while paused: storage would refuse the post at the end, so
    say so before anything is typed)."""
    if member.paused:
        raise Paused(member.id)
    theirs = await organisations.of_member(services(context).db, member.id)
    if theirs:
        await reply(update, t("post.ask_for_whom"), organisation_keyboards.for_whom(kind, theirs))
        return
    await _ask_which_kind(update, context, kind, None)


async def _ask_which_kind(
    update: Update, context: Context, kind: ListingKind, organisation: Organisation | None
) -> None:
    """The category buttons; each carries whom the post is for (0: the member)."""
    names = services(context).config.timebank.categories
    markup = keyboards.categories(
        KIND_AREAS[kind], names, arg=str(organisation.id) if organisation else ""
    )
    await reply(update, t(f"post.ask_category_{kind}"), markup)


@on_button
async def cb_post_for(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Me" or an organisation: then which kind of help. Only an organisation the member acts
    for (a forged or stale button is refused; storage checks again when it is posted)."""
    if member.paused:
        raise Paused(member.id)
    kind: ListingKind = "offer" if callback.area == KIND_AREAS["offer"] else "need"
    organisation = None
    if callback.id:
        theirs = await organisations.of_member(services(context).db, member.id)
        organisation = next((o for o in theirs if o.id == callback.id), None)
        if organisation is None:
            raise NotForOrganisation(callback.id)
    await _ask_which_kind(update, context, kind, organisation)


async def show_listing(update: Update, key: str, listing: Listing, viewer_id: int) -> None:
    """A listing under a line saying what just happened, with what the viewer may do next."""
    await reply(
        update, t(key, card=listing_card(listing)), keyboards.listing_actions(listing, viewer_id)
    )


@for_members
async def menu_offer(update: Update, context: Context, member: Member) -> None:
    """Start posting an offer: first, which kind of help."""
    await ask_category(update, context, member, "offer")


@for_members
async def menu_need(update: Update, context: Context, member: Member) -> None:
    """Start posting a need: first, which kind of help."""
    await ask_category(update, context, member, "need")


@for_members
async def cmd_offer(update: Update, context: Context, member: Member) -> None:
    """/offer TEXT posts at once; bare /offer starts the step-by-step way."""
    await _quick_post(update, context, member, "offer")


@for_members
async def cmd_need(update: Update, context: Context, member: Member) -> None:
    """/need TEXT posts at once; bare /need starts the step-by-step way."""
    await _quick_post(update, context, member, "need")


async def _quick_post(update: Update, context: Context, member: Member, kind: ListingKind) -> None:
    if not visible_text(" ".join(context.args or [])):
        await ask_category(update, context, member, kind)
        return
    body = await words_within(update, " ".join(context.args or []), MAX_BODY)
    if body is None:
        return
    svc = services(context)
    names, keywords = svc.config.timebank.categories, svc.config.timebank.keywords
    listing = await listings.create(
        svc.db,
        owner_id=member.id,
        kind=kind,
        category=listings.guess_category(body, names, keywords) or names[-1],
        body=body,
        when_where=None,
        now=svc.clock.now(),
    )
    await show_listing(update, "post.published", listing, member.id)


@on_button
async def cb_post_kind(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """ "Ask for it" / "Offer it" after finding nothing: which kind of help, as buttons."""
    kind: ListingKind = "offer" if callback.area == KIND_AREAS["offer"] else "need"
    await ask_category(update, context, member, kind)


@for_members
async def cb_category(update: Update, context: Context, member: Member) -> int | None:
    """A category was tapped: the draft begins, and we ask for the words."""
    query = update.callback_query
    callback = parse(query.data if query else None)
    names = services(context).config.timebank.categories
    if callback is None or callback.id >= len(names) or context.user_data is None:
        await reply(update, t("errors.gone"))
        return ConversationHandler.END
    if member.paused:
        raise Paused(member.id)  # an old category button: no draft to be refused at the end
    kind: ListingKind = "offer" if callback.area == KIND_AREAS["offer"] else "need"
    context.user_data[DRAFT] = {"kind": kind, "category": names[callback.id]}
    if callback.arg_int:  # for an organisation: named on the preview, checked when posted
        organisation = await organisations.get(services(context).db, callback.arg_int)
        if organisation is None:
            await reply(update, t("errors.gone"))
            return ConversationHandler.END
        context.user_data[DRAFT] |= {
            "organisation_id": organisation.id,
            "organisation": organisation.name,
            "place": organisation.area,  # where members read it is, as on the published card
        }
    await reply(
        update, tn(f"post.ask_text_{kind}", MAX_BODY, category=category_name(names[callback.id]))
    )
    return TEXT


async def got_text(update: Update, context: Context) -> int:
    body = await typed(update, MAX_BODY)
    if body is None:
        return TEXT
    assert context.user_data is not None
    draft = context.user_data.get(DRAFT)
    if draft is None:
        await reply(update, t("post.draft_lost"))
        return ConversationHandler.END
    draft["body"] = body
    if "when_where" in draft:
        return await show_preview(update, context)
    skip = InlineKeyboardMarkup(
        [[keyboards.button(t("post.skip"), Callback(Area.PREVIEW, "skip"))]]
    )
    await reply(update, t("post.ask_when"), skip)
    return WHEN


async def got_when(update: Update, context: Context) -> int:
    text = await typed(update, MAX_WHEN_WHERE)
    if text is None:
        return WHEN
    assert context.user_data is not None
    context.user_data.get(DRAFT, {})["when_where"] = text
    return await show_preview(update, context)


async def cb_skip_when(update: Update, context: Context) -> int:
    assert update.callback_query
    assert context.user_data is not None
    context.user_data.get(DRAFT, {})["when_where"] = None
    return await show_preview(update, context)


async def show_preview(update: Update, context: Context) -> int:
    assert context.user_data is not None
    draft = context.user_data.get(DRAFT)
    if not draft or "body" not in draft:
        await reply(update, t("post.draft_lost"))
        return ConversationHandler.END
    member = await member_of(update, context)
    preview = card(
        draft["kind"],
        draft["category"],
        draft["body"],
        draft.get("when_where"),
        place=draft.get("place", member.neighbourhood if member else None),
        organisation=draft.get("organisation"),
    )
    buttons = InlineKeyboardMarkup(
        [
            [keyboards.button(t("post.publish"), Callback(Area.PREVIEW, "publish"))],
            [
                keyboards.button(t("post.change_text"), Callback(Area.PREVIEW, "retext")),
                keyboards.button(t("post.dont_post"), Callback(Area.PREVIEW, "drop")),
            ],
        ]
    )
    await reply(update, t("post.preview", card=preview), buttons)
    return PREVIEW


@for_members
async def cb_preview(update: Update, context: Context, member: Member) -> int:
    """Publish, change the words, or drop the draft."""
    query = update.callback_query
    callback = parse(query.data if query else None)
    assert context.user_data is not None
    assert query is not None
    draft = context.user_data.get(DRAFT)
    await drop_buttons(update)
    if callback is None or draft is None or "body" not in draft:
        await reply(update, t("post.draft_lost"))
        return ConversationHandler.END
    if callback.action == "retext":
        await reply(
            update,
            tn(
                f"post.ask_text_{draft['kind']}",
                MAX_BODY,
                category=category_name(draft["category"]),
            ),
        )
        return TEXT
    context.user_data.pop(DRAFT, None)
    finished = context.user_data.setdefault(FINISHED, {})
    if callback.action != "publish":
        finished[query.message.message_id if query.message else 0] = None
        await reply(update, t("post.dropped"), keyboards.main_menu())
        return ConversationHandler.END
    svc = services(context)
    listing = await listings.create(
        svc.db,
        owner_id=member.id,
        kind=draft["kind"],
        category=draft["category"],
        body=draft["body"],
        when_where=draft.get("when_where"),
        now=svc.clock.now(),
        organisation_id=draft.get("organisation_id"),
    )
    finished[query.message.message_id if query.message else 0] = listing.id
    await show_listing(update, "post.published", listing, member.id)
    return ConversationHandler.END


@on_button
async def cb_view(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Show one listing with what this member may do with it, and a way to block or report
    its owner; nothing of anyone a block keeps apart from them, or who is paused."""
    db = services(context).db
    listing = await listings.get(db, callback.id)
    if listing is None or (not listing.is_open and listing.owner_id != member.id):
        await reply(update, t("errors.gone"))
        return
    if await listings.hidden_from(db, listing, member.id):
        raise Unavailable(listing.id)
    await reply(update, listing_card(listing), keyboards.browsed_listing(listing, member.id))


@on_button
async def cb_close(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Close an own listing; the reply carries "Reopen" as the undo."""
    await _set_status(update, context, member, callback, "closed", "listing.closed")


@on_button
async def cb_reopen(update: Update, context: Context, member: Member, callback: Callback) -> None:
    await _set_status(update, context, member, callback, "open", "listing.reopened")


async def _set_status(
    update: Update, context: Context, member: Member, callback: Callback, status: str, key: str
) -> None:
    svc = services(context)
    listing = await listings.set_status(
        svc.db, listing_id=callback.id, member_id=member.id, status=status, now=svc.clock.now()
    )
    await show_listing(update, key, listing, member.id)


@on_button
async def cb_recategorise(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    """Owners only: pick another category (a quick post lands in the last one)."""
    svc = services(context)
    listing = await listings.owned(svc.db, callback.id, member.id)
    names = svc.config.timebank.categories
    if callback.action == "recat":
        buttons = [
            keyboards.button(
                category_name(name), Callback(Area.LISTING, "setcat", listing.id, str(index))
            )
            for index, name in enumerate(names)
        ]
        await reply(update, t("listing.which_category"), keyboards.grid(buttons))
        return
    index = callback.arg_int
    if index is None or not 0 <= index < len(names):
        await reply(update, t("errors.gone"))
        return
    listing = await listings.set_category(
        svc.db,
        listing_id=listing.id,
        member_id=member.id,
        category=names[index],
        now=svc.clock.now(),
    )
    await show_listing(update, "listing.updated", listing, member.id)


@on_button
async def cb_keep(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Still needed": the need stays open, and the owner hears that it does."""
    listing = await listings.owned(services(context).db, callback.id, member.id)
    await reply(update, t("listing.kept", card=listing_card(listing)))


@on_button
async def cb_edit(update: Update, context: Context, member: Member, callback: Callback) -> int:
    """Owners only: ask for the new words of their listing."""
    listing = await listings.owned(services(context).db, callback.id, member.id)
    assert context.user_data is not None
    context.user_data[EDITING] = listing.id
    await reply(update, tn("listing.ask_new_text", MAX_BODY, body=listing.body))
    return EDIT_TEXT


@for_members
async def got_new_text(update: Update, context: Context, member: Member) -> int:
    body = await typed(update, MAX_BODY)
    if body is None:
        return EDIT_TEXT
    assert context.user_data is not None
    listing_id = context.user_data.pop(EDITING, None)
    if listing_id is None:
        await reply(update, t("post.draft_lost"))
        return ConversationHandler.END
    svc = services(context)
    listing = await listings.edit_body(
        svc.db, listing_id=listing_id, member_id=member.id, body=body, now=svc.clock.now()
    )
    await show_listing(update, "listing.updated", listing, member.id)
    return ConversationHandler.END


@on_button
async def cb_mine(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """The member's own open listings, each a button to manage it."""
    own = await listings.open_by_owner(services(context).db, member.id)
    if not own:
        await reply(update, t("listing.none_of_yours"))
        return
    buttons = [
        [keyboards.button(snippet(listing), Callback(Area.LISTING, "view", listing.id))]
        for listing in own
    ]
    await reply(update, t("listing.yours"), InlineKeyboardMarkup(buttons))


@for_members
async def cb_draft_gone(update: Update, context: Context, member: Member) -> None:
    """A preview's button after the draft is gone: say what became of it, if we know."""
    message_id = pressed_message_id(update)
    finished = (context.user_data or {}).get(FINISHED, {})
    if message_id not in finished:
        await draft_lost(update)
        return
    listing_id = finished[message_id]
    listing = await listings.get(services(context).db, listing_id) if listing_id else None
    if listing is None:
        await reply(update, t("post.dropped"))
        return
    await show_listing(update, "post.already_published", listing, member.id)


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        Conversation(
            "post",
            [
                CallbackQueryHandler(cb_category, pattern=pattern(area, "cat"))
                for area in KIND_AREAS.values()
            ],
            {
                TEXT: [MessageHandler(text_input(), got_text)],
                WHEN: [
                    MessageHandler(text_input(), got_when),
                    CallbackQueryHandler(cb_skip_when, pattern=pattern(Area.PREVIEW, "skip")),
                ],
                PREVIEW: [CallbackQueryHandler(cb_preview, pattern=pattern(Area.PREVIEW))],
            },
            drafts=[DRAFT],
            keeps_draft_on_earlier_buttons=True,
        ),
        Conversation(
            "edit_listing",
            [CallbackQueryHandler(cb_edit, pattern=pattern(Area.LISTING, "edit"))],
            {EDIT_TEXT: [MessageHandler(text_input(), got_new_text)]},
            drafts=[EDITING],
        ),
        # A draft's buttons after the draft was put aside (left, timed out, a restart).
        CallbackQueryHandler(cb_draft_gone, pattern=pattern(Area.PREVIEW)),
        CommandHandler("offer", cmd_offer),
        CommandHandler("need", cmd_need),
        CallbackQueryHandler(cb_post_kind, pattern=r"^p[on]:ask:\d"),
        CallbackQueryHandler(cb_post_for, pattern=r"^p[on]:for:\d"),
        CallbackQueryHandler(cb_view, pattern=pattern(Area.LISTING, "view")),
        CallbackQueryHandler(cb_close, pattern=pattern(Area.LISTING, "close")),
        CallbackQueryHandler(cb_reopen, pattern=pattern(Area.LISTING, "reopen")),
        CallbackQueryHandler(cb_keep, pattern=pattern(Area.LISTING, "keep")),
        CallbackQueryHandler(cb_recategorise, pattern=pattern(Area.LISTING, "recat", "setcat")),
        CallbackQueryHandler(cb_mine, pattern=pattern(Area.LISTING, "mine")),
    ]


def menu_handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        MessageHandler(menu_tap("menu.offer"), menu_offer),
        MessageHandler(menu_tap("menu.need"), menu_need),
    ]
