"""/broadcast: a coordinator writes once, picks who hears it, sees how many, and sends.

    /broadcast ─▶ TEXT ─▶ audience (everyone · an area · offering a kind of help · visitors)
               ─▶ PREVIEW ("N people", optional "I can help" button) ─"Send"─▶ queued
    /open_needs ─ tap a need ─▶ PREVIEW to members offering its category ─"Send"─▶ queued
Sending happens in the scheduler through the one sender (pacing, 429, 403); the progress
message counts up and carries "Stop sending".
"""

from __future__ import annotations

import html
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
from bot.ui.callbacks import Area, Callback, pattern
from bot.ui.i18n import Html, category_name, number, t, tn
from bot.ui.keyboards import button, grid, stop_button
from bot.ui.render import listing_card, progress_text, utf16_length
from handlers.common import (
    Context,
    drop_buttons,
    for_coordinators,
    on_coordinator_button,
    pressed_message_id,
    reply,
    text_input,
    typed,
)
from handlers.conversation import Conversation
from storage import broadcasts, listings
from storage.broadcasts import AREA, EVERYONE, OFFERS, VISITORS, audience
from storage.db import Database
from storage.models import Member

TEXT, AUDIENCE, PREVIEW = range(3)
DRAFT = "broadcast"
# Previews already sent or dropped, by message id: a second tap on one says what became of it.
FINISHED = "broadcasts_finished"
MAX_TEXT = 2000


@for_coordinators
async def cmd_broadcast(update: Update, context: Context, member: Member) -> int:
    assert context.user_data is not None
    context.user_data[DRAFT] = {}
    await reply(update, tn("broadcast.ask_text", MAX_TEXT))
    return TEXT


@for_coordinators
async def got_text(update: Update, context: Context, member: Member) -> int:
    text = await typed(update, MAX_TEXT)
    if text is None:
        return TEXT
    # Kept as safe HTML, like a need's card, so both render the same way everywhere; "&" and
    # "<" grow when made safe, and the stored text must fit as well as the typed one.
    escaped = html.escape(text, quote=False)
    if utf16_length(escaped) > MAX_TEXT:
        await reply(update, tn("common.too_long", utf16_length(escaped), limit=MAX_TEXT))
        return TEXT
    assert context.user_data is not None
    context.user_data[DRAFT] = {"text": escaped, "raw": text, "help": False}
    choices = [
        button(t("broadcast.to_everyone"), Callback(Area.BROADCAST, "aud", 0, EVERYONE)),
        button(t("broadcast.to_area"), Callback(Area.BROADCAST, "aud", 0, AREA)),
        button(t("broadcast.to_offers"), Callback(Area.BROADCAST, "aud", 0, OFFERS)),
        button(t("broadcast.to_visitors"), Callback(Area.BROADCAST, "aud", 0, VISITORS)),
    ]
    await reply(update, t("broadcast.ask_audience"), grid(choices, columns=1))
    return AUDIENCE


@on_coordinator_button
async def cb_audience(
    update: Update, context: Context, member: Member, callback: Callback
) -> int | None:
    """Everyone and visitors go straight to the preview; areas and offers ask which one."""
    draft = _draft(context)
    if draft is None:
        await reply(update, t("post.draft_lost"))
        return ConversationHandler.END
    config = services(context).config.timebank
    options = {AREA: config.neighbourhoods, OFFERS: config.categories}.get(callback.arg)
    if callback.action == "aud" and options is not None:
        buttons = [
            button(category_name(name), Callback(Area.BROADCAST, "pick", index, callback.arg))
            for index, name in enumerate(options)
        ]
        await reply(update, t(f"broadcast.which_{callback.arg}"), grid(buttons))
        return AUDIENCE
    if callback.action == "pick" and options is not None and callback.id < len(options):
        draft["audience"] = audience(callback.arg, options[callback.id])
    elif callback.arg in (EVERYONE, VISITORS):
        draft["audience"] = audience(callback.arg)
    else:
        await reply(update, t("errors.gone"))
        return AUDIENCE
    return await show_preview(update, context, member)


@on_coordinator_button
async def cb_need(update: Update, context: Context, member: Member, callback: Callback) -> int:
    """From /open_needs: ask the members who offer that kind of help, in two taps."""
    listing = await listings.get(services(context).db, callback.id)
    if listing is None or not listing.is_open:
        await reply(update, t("errors.gone"))
        return ConversationHandler.END
    assert context.user_data is not None
    context.user_data[DRAFT] = {
        "text": t("broadcast.need_text", card=listing_card(listing)),
        "audience": audience(OFFERS, listing.category),
        "listing": listing.id,
        "help": True,
    }
    return await show_preview(update, context, member)


@on_coordinator_button
async def cb_toggle_help(
    update: Update, context: Context, member: Member, callback: Callback
) -> int:
    draft = _draft(context)
    if draft is None:
        await reply(update, t("post.draft_lost"))
        return ConversationHandler.END
    draft["help"] = callback.arg == "on"
    return await show_preview(update, context, member)


async def show_preview(update: Update, context: Context, member: Member) -> int:
    draft = _draft(context)
    assert draft is not None
    db = services(context).db
    count = await broadcasts.count_audience(db, draft["audience"], member.id, draft.get("listing"))
    help_toggle = (
        button(t("broadcast.help_off"), Callback(Area.BROADCAST, "help", 0, "off"))
        if draft["help"]
        else button(t("broadcast.help_on"), Callback(Area.BROADCAST, "help", 0, "on"))
    )
    if count == 0:
        context.user_data.pop(DRAFT, None) if context.user_data is not None else None
        await reply(update, t("broadcast.nobody"))
        return ConversationHandler.END
    rows = [[help_toggle]] if "listing" not in draft else []
    rows.append([button(tn("broadcast.send", count), Callback(Area.BROADCAST, "send"))])
    rows.append([button(t("broadcast.dont_send"), Callback(Area.BROADCAST, "drop"))])
    preview = tn(
        "broadcast.preview",
        count,
        text=Html(draft["text"]),
        audience=_audience_label(draft["audience"]),
        help=await _help_note(db, draft, member) if draft["help"] else "",
    )
    await reply(update, preview, InlineKeyboardMarkup(rows))
    return PREVIEW


@on_coordinator_button
async def cb_send(update: Update, context: Context, member: Member, callback: Callback) -> int:
    """Queue one outbox row per recipient, then show the progress message."""
    assert context.user_data is not None
    draft = context.user_data.pop(DRAFT, None)
    finished: dict[int, int | None] = context.user_data.setdefault(FINISHED, {})
    preview_id = pressed_message_id(update)
    if not draft or "audience" not in draft:
        await _say_it_was_done(update, context, finished.get(preview_id, -1))
        return ConversationHandler.END
    await drop_buttons(update)
    if callback.action == "drop":
        finished[preview_id] = None
        await reply(update, t("broadcast.dropped"))
        return ConversationHandler.END
    svc = services(context)
    now = svc.clock.now()
    listing_id = draft.get("listing")
    if draft["help"] and listing_id is None:
        listing = await listings.create(
            svc.db,
            owner_id=member.id,
            kind="need",
            category=svc.config.timebank.categories[-1],
            body=draft["raw"][: listings.MAX_BODY],
            when_where=None,
            now=now,
        )
        listing_id = listing.id
    started = await broadcasts.start(
        svc.db,
        by=member.id,
        text=draft["text"],
        audience_text=draft["audience"],
        listing_id=listing_id,
        now=now,
    )
    finished[preview_id] = started.id
    progress = await broadcasts.progress(svc.db, started.id)
    message = await reply(update, progress_text(progress), stop_button(started.id))
    await broadcasts.set_progress_message(svc.db, started.id, message.message_id)
    return ConversationHandler.END


async def _say_it_was_done(update: Update, context: Context, outcome: int | None) -> None:
    """A second tap on a preview already sent (or dropped) says so, instead of "I lost it"."""
    if outcome is None:
        await reply(update, t("broadcast.dropped"))
    elif outcome < 0:
        await reply(update, t("post.draft_lost"))
    else:
        progress = await broadcasts.progress(services(context).db, outcome)
        await reply(
            update,
            t("broadcast.already_sent", sent=number(progress.sent), total=number(progress.total)),
        )


@on_coordinator_button
async def cb_stop(update: Update, context: Context, member: Member, callback: Callback) -> None:
    svc = services(context)
    progress = await broadcasts.cancel(
        svc.db, by=member.id, broadcast_id=callback.id, now=svc.clock.now()
    )
    await reply(
        update, t("broadcast.stopped", sent=number(progress.sent), total=number(progress.total))
    )


async def _help_note(db: Database, draft: dict[str, Any], member: Member) -> str:
    """Where answers to the "I can help" button go: to the listing's owner, who accepts."""
    listing = await listings.get(db, draft["listing"]) if "listing" in draft else None
    if listing is not None and listing.owner_id != member.id:
        return t("broadcast.with_help_owner", name=listing.owner_name)
    return t("broadcast.with_help")


def _draft(context: Context) -> dict[str, Any] | None:
    return context.user_data.get(DRAFT) if context.user_data is not None else None


def _audience_label(audience_text: str) -> Html:
    kind, _, value = audience_text.partition(":")
    return t(f"broadcast.audience_{kind}", value=category_name(value) if kind == OFFERS else value)


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        Conversation(
            "broadcast",
            [
                CommandHandler("broadcast", cmd_broadcast),
                CallbackQueryHandler(cb_need, pattern=pattern(Area.BROADCAST, "need")),
            ],
            {
                TEXT: [MessageHandler(text_input(), got_text)],
                AUDIENCE: [
                    CallbackQueryHandler(
                        cb_audience, pattern=pattern(Area.BROADCAST, "aud", "pick")
                    )
                ],
                PREVIEW: [
                    CallbackQueryHandler(cb_toggle_help, pattern=pattern(Area.BROADCAST, "help")),
                    CallbackQueryHandler(cb_send, pattern=pattern(Area.BROADCAST, "send", "drop")),
                ],
            },
            drafts=[DRAFT],
        ),
        CallbackQueryHandler(cb_stop, pattern=pattern(Area.BROADCAST, "stop")),
        # Outside the conversation (an old preview, or forged): gated, then "start again".
        CallbackQueryHandler(cb_audience, pattern=pattern(Area.BROADCAST, "aud", "pick")),
        CallbackQueryHandler(cb_toggle_help, pattern=pattern(Area.BROADCAST, "help")),
        CallbackQueryHandler(cb_send, pattern=pattern(Area.BROADCAST, "send", "drop")),
    ]
