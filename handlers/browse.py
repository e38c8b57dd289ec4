"""Browsing and searching listings, five a page, newest first.

    "Browse" or /browse ─▶ offers / needs / search ─▶ category (or all) ─▶ page ◀─▶ page
    "Search by words" or /search WORDS ─▶ WORDS ─▶ results page ◀─▶ page
    Nothing found ─▶ other words / everything of that kind / post it ("Ask for it")
The page and the filter travel in the callback data (`br:page:OFFSET:KIND.CAT`,
`sr:page:OFFSET:WORDS`), so the buttons keep working after a restart.
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
from bot.ui import keyboards
from bot.ui.callbacks import MAX_BYTES, Area, Callback, pattern, plain_int
from bot.ui.i18n import Html, category_name, t
from bot.ui.render import browse_line, snippet
from handlers.common import (
    Context,
    edit,
    for_members,
    menu_tap,
    on_button,
    reply,
    text_input,
    typed,
)
from handlers.conversation import Conversation
from storage import listings
from storage.models import Listing, ListingKind, Member, Page

PAGE_SIZE = 5
MAX_OFFSET = 99_995  # pages further than this are no page a member paged to
MAX_SEARCH = 200  # letters of a search; paging keeps the first words that fit a button
WORDS = 0
KINDS: tuple[ListingKind, ...] = ("offer", "need")


@for_members
async def menu_browse(update: Update, context: Context, member: Any) -> None:
    """Ask what to look at: offers, needs, or a word search (the menu button and /browse)."""
    await reply(
        update,
        t("browse.what"),
        InlineKeyboardMarkup(
            [
                [keyboards.button(t("browse.offers"), Callback(Area.BROWSE, "kind", 0, "offer"))],
                [keyboards.button(t("browse.needs"), Callback(Area.BROWSE, "kind", 0, "need"))],
                [keyboards.button(t("browse.search"), Callback(Area.SEARCH, "ask"))],
            ]
        ),
    )


@on_button
async def cb_kind(update: Update, context: Context, member: Any, callback: Callback) -> None:
    kind = callback.arg if callback.arg in KINDS else "need"
    names = services(context).config.timebank.categories
    buttons = [
        keyboards.button(category_name(name), Callback(Area.BROWSE, "page", 0, f"{kind}.{index}"))
        for index, name in enumerate(names)
    ]
    buttons.append(
        keyboards.button(t("browse.all_categories"), Callback(Area.BROWSE, "page", 0, kind))
    )
    await reply(update, t(f"browse.which_category_{kind}"), keyboards.grid(buttons))


@on_button
async def cb_page(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """One page of listings for a kind and (optionally) a category."""
    kind_text, _, category_text = callback.arg.partition(".")
    kind: ListingKind = "offer" if kind_text == "offer" else "need"
    names = services(context).config.timebank.categories
    index = plain_int(category_text)
    category = names[index] if index is not None and index < len(names) else None
    page = await listings.browse(
        services(context).db,
        kind=kind,
        category=category,
        offset=_offset(callback),
        limit=PAGE_SIZE,
        viewer_id=member.id,
    )
    title = t(
        f"browse.title_{kind}",
        category=category_name(category) if category else t("browse.all_categories"),
        page=page.offset // PAGE_SIZE + 1,
    )
    steps = keyboards.nothing_found(kind, index if category else None, category, searched=False)
    # The pager's data is made again from what was understood, never echoed from the press.
    arg = f"{kind}.{index}" if category else kind
    await _show_page(update, title, page, Area.BROWSE, arg, steps)


@on_button
async def cb_ask_words(update: Update, context: Context, member: Any, callback: Callback) -> int:
    await reply(update, t("browse.ask_words"))
    return WORDS


@for_members
async def got_words(update: Update, context: Context, member: Member) -> int:
    words = await typed(update, MAX_SEARCH)
    if words is None:
        return WORDS
    await _search(update, context, member, words)
    return ConversationHandler.END


@for_members
async def cmd_search(update: Update, context: Context, member: Member) -> int | None:
    """/search WORDS searches at once; bare /search asks for the words."""
    words = " ".join(context.args or [])
    if not words.strip():
        await reply(update, t("browse.ask_words"))
        return WORDS
    await _search(update, context, member, words)
    return ConversationHandler.END


@on_button
async def cb_search_page(
    update: Update, context: Context, member: Member, callback: Callback
) -> None:
    await _search(update, context, member, callback.arg, offset=_offset(callback))


async def _search(
    update: Update, context: Context, member: Member, words: str, offset: int = 0
) -> None:
    """One page of what the words find, among the listings this member may see."""
    words = fit_words(words)
    timebank = services(context).config.timebank
    page = await listings.search(
        services(context).db, words=words, offset=offset, limit=PAGE_SIZE, viewer_id=member.id
    )
    title = t("browse.title_search", words=words, page=page.offset // PAGE_SIZE + 1)
    # Nothing found: offer the offers of the kind of help the words point to, if they do.
    category = listings.guess_category(words, timebank.categories, timebank.keywords)
    index = timebank.categories.index(category) if category else None
    steps = keyboards.nothing_found("offer", index, category, searched=True)
    await _show_page(update, title, page, Area.SEARCH, words, steps)


def _offset(callback: Callback) -> int:
    """Where a page starts; an offset no pager made (forged data) starts at the beginning."""
    return callback.id if callback.id <= MAX_OFFSET else 0


def fit_words(words: str) -> str:
    """Keep the first words that fit in callback data, so paging repeats the same search."""
    room = MAX_BYTES - len(f"sr:page:{MAX_OFFSET + PAGE_SIZE}:")
    kept: list[str] = []
    for word in words.split():
        if len(" ".join([*kept, word]).encode()) > room:
            break
        kept.append(word)
    return " ".join(kept)


async def _show_page(
    update: Update,
    title: str,
    page: Page[Listing],
    area: Area,
    arg: str,
    next_steps: InlineKeyboardMarkup,
) -> None:
    """A page of listings with their buttons; an empty one offers `next_steps` instead."""
    if not page.items:
        await reply(update, t("browse.nothing", title=title), next_steps)
        return
    start = page.offset + 1
    lines = [title] + [browse_line(item, start + i) for i, item in enumerate(page.items)]
    rows = [
        [keyboards.button(snippet(item, start + i), Callback(Area.LISTING, "view", item.id))]
        for i, item in enumerate(page.items)
    ]
    pager = keyboards.pager(
        area, page.offset, arg, has_prev=page.has_prev, has_next=page.has_next, size=PAGE_SIZE
    )
    if pager:
        rows.append(pager)
    text = Html("\n".join(lines))
    query = update.callback_query
    if query and query.data and query.data.startswith(f"{area}:page:"):
        await edit(update, text, InlineKeyboardMarkup(rows))
        return
    await reply(update, text, InlineKeyboardMarkup(rows))


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [
        Conversation(
            "search",
            [
                CallbackQueryHandler(cb_ask_words, pattern=pattern(Area.SEARCH, "ask")),
                CommandHandler("search", cmd_search),
            ],
            {WORDS: [MessageHandler(text_input(), got_words)]},
        ),
        CommandHandler("browse", menu_browse),
        CallbackQueryHandler(cb_kind, pattern=pattern(Area.BROWSE, "kind")),
        CallbackQueryHandler(cb_page, pattern=pattern(Area.BROWSE, "page")),
        CallbackQueryHandler(cb_search_page, pattern=pattern(Area.SEARCH, "page")),
    ]


def menu_handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [MessageHandler(menu_tap("menu.browse"), menu_browse)]
