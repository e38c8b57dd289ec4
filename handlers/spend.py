"""Spending hours with partners: members spend hours on what organisations offer, and the
organisations' people add offers and answer each ask.

    /spend, "Spend my hours" ─▶ categories with offers ─▶ offers ─▶ a card: who, what, price
        ─▶ "Spend 2 hours on this?" ─Yes─▶ asked (Withdraw) ─▶ the organisation's people told
    the organisation's notice ─Confirm─▶ hours move member → organisation; the member told
                              ─Can't───▶ the member told kindly; nothing moves
    /orgoffer ─▶ ORG (if several) ─▶ CATEGORY ─▶ TITLE ─▶ DETAILS (typed, or Skip) ─▶ PRICE
        ─▶ PREVIEW ─Publish─▶ open offer          ─Start again─▶ ORG or CATEGORY

Storage re-checks every press (storage/partners.py): who acts for the organisation, the
member's balance against their limit, and each change of state, once.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler

from bot.services import services
from bot.ui import spend_keyboards as kb
from bot.ui.callbacks import Area, Callback, plain_int
from bot.ui.i18n import Html, category_name, hours, t
from handlers.common import (
    Context,
    button_handler,
    draft_lost,
    drop_buttons,
    for_members,
    menu_tap,
    on_button,
    pressed,
    reply,
    text_input,
    typed,
)
from handlers.conversation import END, Conversation
from storage import members, organisations, partners
from storage.errors import NotFound, OverdraftLimit
from storage.models import Member, PartnerOffer

ORG, CATEGORY, TITLE, DETAILS, PRICE, PREVIEW = (
    "so_org",
    "so_cat",
    "so_title",
    "so_details",
    "so_price",
    "so_preview",
)
DRAFT = "partner_offer"
STEP_ACTIONS = ("org", "cat", "skip", "price", "post", "again")
Draft = dict[str, Any]


# --- spending -------------------------------------------------------------------------------


@for_members
async def cmd_spend(update: Update, context: Context, member: Member) -> None:
    """/spend and "Spend my hours": the categories that have something on offer."""
    svc = services(context)
    found = await partners.categories_with_offers(svc.db)
    named = [(i, name) for i, name in enumerate(svc.config.timebank.categories) if name in found]
    if not named:
        await reply(update, t("spend.nothing_yet"))
        return
    await reply(update, t("spend.choose_category"), kb.categories(Area.SPEND, named))


@on_button
async def cb_category(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """A category: its offers, one button each."""
    svc = services(context)
    names = svc.config.timebank.categories
    if not 0 <= callback.id < len(names):
        raise NotFound(callback.id)
    found = await partners.offers(svc.db, names[callback.id])
    if not found:
        await reply(update, t("spend.nothing_here"))
        return
    category = category_name(names[callback.id])
    await reply(update, t("spend.offers_in", category=category), kb.offer_list(found))


@on_button
async def cb_offer(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """An offer's card: who offers what, for how long. Its own people may close it; anyone
    else is asked whether to spend the hours."""
    db = services(context).db
    offer = await partners.get_offer(db, callback.id)
    if offer is None or not offer.is_open:
        raise NotFound(callback.id)
    if offer.organisation_id in {o.id for o in await organisations.of_member(db, member.id)}:
        await reply(update, _card(offer), kb.close_offer(offer.id))
        return
    question = t("spend.sure", hours=hours(offer.price_minutes))
    await reply(update, Html(f"{_card(offer)}\n\n{question}"), kb.spend_sure(offer))


@on_button
async def cb_ask(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Yes": the ask goes to the organisation's people; the member may still withdraw it."""
    svc = services(context)
    try:
        asked = await partners.ask(
            svc.db,
            offer_id=callback.id,
            member_id=member.id,
            overdraft_limit=svc.config.timebank.overdraft_limit_minutes,
            now=svc.clock.now(),
        )
    except OverdraftLimit as refused:
        await drop_buttons(update)
        await reply(update, _not_enough(refused))
        return
    await drop_buttons(update)
    key = "spend.asked" if asked.new else "spend.asked_already"
    words = t(key, organisation=asked.offer.organisation_name, title=asked.offer.title)
    await reply(update, words, kb.withdraw(asked.spend.id))


def _not_enough(refused: OverdraftLimit) -> Html:
    return t("spend.not_enough", balance=hours(refused.balance), limit=hours(refused.limit))


@on_button
async def cb_no(update: Update, context: Context, member: Member, callback: Callback) -> None:
    await drop_buttons(update)
    await reply(update, t("common.kept"))


@on_button
async def cb_withdraw(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """The member takes back their ask (storage touches only their own)."""
    svc = services(context)
    await partners.withdraw(svc.db, spend_id=callback.id, member_id=member.id, now=svc.clock.now())
    await drop_buttons(update)
    await reply(update, t("spend.withdrawn"))


@on_button
async def cb_confirm(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Someone acting for the organisation confirms: the hours move, once."""
    svc = services(context)
    try:
        done = await partners.confirm(
            svc.db,
            spend_id=callback.id,
            by=member.id,
            overdraft_limit=svc.config.timebank.overdraft_limit_minutes,
            now=svc.clock.now(),
        )
    except OverdraftLimit:
        spender = await _spender(context, callback.id)
        await reply(update, t("spend.confirm_over_limit", name=spender))
        return
    await drop_buttons(update)
    spender = await _spender(context, done.spend.id)
    await reply(
        update,
        t(
            "spend.confirmed",
            name=spender,
            hours=hours(done.spend.minutes),
            organisation=done.offer.organisation_name,
        ),
    )


@on_button
async def cb_decline(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """ "Can't": the member is told kindly; nothing moves."""
    svc = services(context)
    done = await partners.decline(svc.db, spend_id=callback.id, by=member.id, now=svc.clock.now())
    await drop_buttons(update)
    await reply(update, t("spend.declined", name=await _spender(context, done.spend.id)))


@on_button
async def cb_close(update: Update, context: Context, member: Member, callback: Callback) -> None:
    """Someone acting for the organisation takes the offer down."""
    closed = await partners.close_offer(services(context).db, offer_id=callback.id, by=member.id)
    await drop_buttons(update)
    await reply(update, t("spend.offer_closed" if closed else "spend.offer_closed_already"))


async def _spender(context: Context, spend_id: int) -> str:
    db = services(context).db
    spend = await partners.get_spend(db, spend_id)
    who = await members.get(db, spend.member_id) if spend else None
    if who is None:
        raise NotFound(spend_id)
    return t("spend.former_member") if who.is_former else who.display_name


def _card(offer: PartnerOffer) -> Html:
    lines = [t("spend.card", organisation=offer.organisation_name, title=offer.title)]
    if offer.details:
        lines.append(t("spend.card_details", details=offer.details))
    lines.append(t("spend.card_price", hours=hours(offer.price_minutes)))
    return Html("\n".join(lines))


# --- /orgoffer: adding an offer ---------------------------------------------------------------


@for_members
async def cmd_orgoffer(update: Update, context: Context, member: Member) -> object:
    """/orgoffer: for whom (when they act for several), then what, step by step."""
    db = services(context).db
    choices = await (
        organisations.active(db)
        if member.is_coordinator
        else organisations.of_member(db, member.id)
    )
    if not choices:
        await reply(update, t("orgoffer.none"))
        return END
    assert context.user_data is not None
    draft: Draft = {"orgs": {o.id: o.name for o in choices}}
    context.user_data[DRAFT] = draft
    return await _begin(update, context, draft)


async def _begin(update: Update, context: Context, draft: Draft) -> object:
    """The first question: which organisation, or (for one) straight to the category."""
    orgs: dict[int, str] = draft["orgs"]
    if len(orgs) == 1:
        draft["org"] = next(iter(orgs))
        return await _ask_category(update, context, draft)
    db = services(context).db
    choices = [o for o in await organisations.active(db) if o.id in orgs]
    await reply(update, t("orgoffer.ask_org"), kb.organisations(choices))
    return ORG


async def _ask_category(update: Update, context: Context, draft: Draft) -> object:
    names = services(context).config.timebank.categories
    named = list(enumerate(names))
    organisation = draft["orgs"][draft["org"]]
    markup = kb.categories(Area.SPEND_OFFER, named)
    await reply(update, t("orgoffer.ask_category", organisation=organisation), markup)
    return CATEGORY


async def cb_org(update: Update, context: Context) -> object:
    callback, draft = pressed(update), _draft(context)
    if draft is None or callback is None or callback.id not in draft["orgs"]:
        return await draft_lost(update)
    draft["org"] = callback.id
    await drop_buttons(update)
    return await _ask_category(update, context, draft)


async def cb_cat(update: Update, context: Context) -> object:
    callback, draft = pressed(update), _draft(context)
    names = services(context).config.timebank.categories
    if draft is None or callback is None or not 0 <= callback.id < len(names):
        return await draft_lost(update)
    draft["category"] = names[callback.id]
    await drop_buttons(update)
    await reply(update, t("orgoffer.ask_title"))
    return TITLE


async def got_title(update: Update, context: Context) -> object:
    draft = _draft(context)
    if draft is None:
        return await draft_lost(update)
    title = await typed(update, partners.MAX_TITLE)
    if title is None:
        return None  # said kindly; the same step asks again
    draft["title"] = title
    await reply(update, t("orgoffer.ask_details"), kb.skip_details())
    return DETAILS


async def got_details(update: Update, context: Context) -> object:
    draft = _draft(context)
    if draft is None:
        return await draft_lost(update)
    details = await typed(update, partners.MAX_DETAILS)
    if details is None:
        return None
    draft["details"] = details
    return await _ask_price(update)


async def cb_skip(update: Update, context: Context) -> object:
    draft = _draft(context)
    if draft is None:
        return await draft_lost(update)
    draft["details"] = None
    await drop_buttons(update)
    return await _ask_price(update)


async def _ask_price(update: Update) -> object:
    await reply(update, t("orgoffer.ask_price"), kb.prices())
    return PRICE


async def cb_price(update: Update, context: Context) -> object:
    callback, draft = pressed(update), _draft(context)
    minutes = plain_int(callback.arg) if callback else None
    if draft is None or minutes is None or not partners.valid_price(minutes):
        return await draft_lost(update)
    draft["minutes"] = minutes
    await drop_buttons(update)
    lines = [
        t("orgoffer.preview"),
        t("spend.card", organisation=draft["orgs"][draft["org"]], title=draft["title"]),
    ]
    if draft["details"]:
        lines.append(t("spend.card_details", details=draft["details"]))
    lines.append(t("spend.card_price", hours=hours(minutes)))
    await reply(update, Html("\n".join(lines)), kb.offer_preview())
    return PREVIEW


@for_members
async def cb_post(update: Update, context: Context, member: Member) -> object:
    """ "Publish" (storage re-checks who acts for the organisation), or start again."""
    callback, draft = pressed(update), _draft(context)
    await drop_buttons(update)
    if draft is None or "minutes" not in draft:
        return await draft_lost(update)
    if callback is not None and callback.action == "again":
        fresh: Draft = {"orgs": draft["orgs"]}
        assert context.user_data is not None
        context.user_data[DRAFT] = fresh
        return await _begin(update, context, fresh)
    svc = services(context)
    offer = await partners.add_offer(
        svc.db,
        organisation_id=draft["org"],
        by=member.id,
        category=draft["category"],
        title=draft["title"],
        details=draft["details"],
        price_minutes=draft["minutes"],
        categories=svc.config.timebank.categories,
        now=svc.clock.now(),
    )
    assert context.user_data is not None
    context.user_data.pop(DRAFT, None)
    await reply(update, t("orgoffer.posted", organisation=offer.organisation_name))
    return END


async def cb_step_gone(update: Update, context: Context) -> None:
    """A step's button after its draft ended (published, left, a restart)."""
    await draft_lost(update)


def _draft(context: Context) -> Draft | None:
    return context.user_data.get(DRAFT) if context.user_data is not None else None


def handlers() -> list[BaseHandler[Update, Context, Any]]:
    def step(callback: Any, *actions: str) -> BaseHandler[Update, Context, Any]:
        return button_handler(Area.SPEND_OFFER, callback, *actions)

    def on(callback: Any, *actions: str) -> BaseHandler[Update, Context, Any]:
        return button_handler(Area.SPEND, callback, *actions)

    return [
        Conversation(
            "orgoffer",
            [CommandHandler("orgoffer", cmd_orgoffer)],
            {
                ORG: [step(cb_org, "org")],
                CATEGORY: [step(cb_cat, "cat")],
                TITLE: [MessageHandler(text_input(), got_title)],
                DETAILS: [MessageHandler(text_input(), got_details), step(cb_skip, "skip")],
                PRICE: [step(cb_price, "price")],
                PREVIEW: [step(cb_post, "post", "again")],
            },
            drafts=[DRAFT],
            keeps_draft_on_earlier_buttons=True,
        ),
        step(cb_step_gone, *STEP_ACTIONS),
        CommandHandler("spend", cmd_spend),
        on(cb_category, "cat"),
        on(cb_offer, "offer"),
        on(cb_ask, "ask"),
        on(cb_no, "no"),
        on(cb_withdraw, "withdraw"),
        on(cb_confirm, "confirm"),
        on(cb_decline, "decline"),
        on(cb_close, "close"),
    ]


def menu_handlers() -> list[BaseHandler[Update, Context, Any]]:
    return [MessageHandler(menu_tap("menu.spend"), cmd_spend)]
