"""Conversations: anything else a member starts ends the one they were in; /cancel ends every
one; words typed afterwards are never taken as the old conversation's content; a stale one is
put aside kindly. Walked as a table: every registered conversation x every command and menu tap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from bot.sandbox.standin import ChatMember
from bot.services import services_of
from bot.ui.commands import COMMANDS
from bot.ui.i18n import t
from handlers.common import MENU_KEYS
from handlers.conversation import Conversation
from storage import listings, members, organisations
from tests.conftest import COORDINATOR_ID, join, make_config, post
from tests.test_checkins import planned_visit

SENTINEL = "zebra crossing forty two"


@dataclass(frozen=True)
class Recipe:
    """How a person enters a conversation, and the reply that shows it took typed words."""

    enter: Callable[[ChatMember], Awaitable[None]]
    took_words: str  # the start of the conversation's answer to words typed at that step
    joined: bool = True
    entry_command: str | None = None  # the command that (re)starts it, if any


async def _enter_post(member: ChatMember) -> None:
    await member.taps("I can offer")
    await member.taps("Garden")


async def _enter_edit(member: ChatMember) -> None:
    await member.says("/offer fixing bikes")
    await member.taps("Edit")


async def _enter_search(member: ChatMember) -> None:
    await member.says("/search")


async def _enter_broadcast(member: ChatMember) -> None:
    await member.says("/broadcast")


async def _enter_record(member: ChatMember) -> None:
    await member.says("/record")


async def _enter_discharge(member: ChatMember) -> None:
    await member.says("/discharge")


async def _enter_join(member: ChatMember) -> None:
    await member.says("/start")


async def _enter_report(member: ChatMember) -> None:
    """Report someone whose offer they found, up to the step that takes a few typed words."""
    partner = ChatMember(member.app, member.api, member.user_id + 100_000, "Pat")
    await join(partner)
    await partner.says("/offer fixing bikes")
    await member.says("/search bikes")
    await member.taps("1. fixing bikes")
    await member.taps("Report")
    await member.taps("Something else")


async def _enter_details(member: ChatMember) -> None:
    await member.says("/settings")
    await member.taps("My details")
    await member.taps("Change my name")


async def _enter_checkin(member: ChatMember) -> None:
    """A visitor's check-in after a visit, answered up to the note they may type."""
    visit_id = await planned_visit(services_of(member.app), member)
    await member.presses(f"ck:start:{visit_id}")
    for answer in ("Yes", "Yes", "Yes", "No"):
        await member.taps(answer)


async def _enter_visitor_signup(member: ChatMember) -> None:
    await member.says("/visitor")
    await member.taps("I'd like to help")


async def _enter_visitor_check(member: ChatMember) -> None:
    """Someone offers to visit; the member (a coordinator) records their check up to the note."""
    volunteer = ChatMember(member.app, member.api, member.user_id + 100_000, "Val")
    await join(volunteer)
    await _enter_visitor_signup(volunteer)
    for label in ("Riverside", "Done", "Mornings", "Done", "✅ Send"):
        await volunteer.taps(label)
    for label in ("Record check & approve", "DBS check", "Today", "1 year"):
        await member.taps(label)


async def _enter_new_organisation(member: ChatMember) -> None:
    await member.says("/neworg")


async def _enter_name_organisation_member(member: ChatMember) -> None:
    """A coordinator creates an organisation, then starts naming a member to act for it."""
    await member.says("/neworg")
    await member.says(f"Garden {member.user_id}")
    await member.taps("Riverside")
    await member.says("Veg beds")
    await member.taps("Create")
    await member.taps("Add a member")


async def _enter_activity(member: ChatMember) -> None:
    """A coordinator posts a group activity, up to the title they type."""
    await member.says("/activity")


async def _enter_orgoffer(member: ChatMember) -> None:
    """A coordinator (who acts for every organisation) adds an offer, up to its title."""
    svc = services_of(member.app)
    me = await members.by_telegram_id(svc.db, member.user_id)
    assert me is not None
    name = f"Centre {member.user_id}"
    await organisations.create(
        svc.db, name=name, area="Riverside", description="Days out", by=me.id, now=svc.clock.now()
    )
    await member.says("/orgoffer")
    if name in member.inline_labels:
        await member.taps(name)
    await member.taps("Garden")


RECIPES: dict[str, Recipe] = {
    "post": Recipe(_enter_post, t("post.ask_when")[:20]),
    "edit_listing": Recipe(_enter_edit, t("listing.updated", card="")[:6]),
    "search": Recipe(_enter_search, "<b>Search:", entry_command="search"),
    "broadcast": Recipe(_enter_broadcast, t("broadcast.ask_audience"), entry_command="broadcast"),
    "record": Recipe(_enter_record, t("coordinator.record_pick"), entry_command="record"),
    "join": Recipe(_enter_join, "Thanks, zebra", joined=False, entry_command="start"),
    "report": Recipe(_enter_report, t("safety.report_sure", name="", reason="")[:20]),
    "details": Recipe(_enter_details, t("details.saved_name", name="")[:8]),
    "checkin": Recipe(_enter_checkin, t("checkin.summary", name="")[:20]),
    "visitor_signup": Recipe(
        _enter_visitor_signup, t("conversation.use_buttons"), entry_command="visitor"
    ),
    "visitor_check": Recipe(
        _enter_visitor_check, t("visitor.check_sure", name="", kind="", done="", until="")[:15]
    ),
    "discharge": Recipe(_enter_discharge, t("referral.ask_area_them"), entry_command="discharge"),
    "new_organisation": Recipe(_enter_new_organisation, t("org.ask_area"), entry_command="neworg"),
    "name_organisation_member": Recipe(
        _enter_name_organisation_member, t("coordinator.nobody_found", words="")[:12]
    ),
    "activity": Recipe(_enter_activity, t("activity.ask_day"), entry_command="activity"),
    "orgoffer": Recipe(_enter_orgoffer, t("orgoffer.ask_details")[:20], entry_command="orgoffer"),
}
INTERRUPTIONS = [f"/{c.name}" for c in COMMANDS] + [t(key) for key in MENU_KEYS]


def conversations_of(app: Any) -> list[Conversation]:
    return [
        h for handlers in app.handlers.values() for h in handlers if isinstance(h, Conversation)
    ]


def test_every_registered_conversation_has_a_recipe(app):
    assert {c.name for c in conversations_of(app)} == set(RECIPES)


@pytest.fixture
def config(tmp_path):
    # Everyone here may use coordinator commands, so each can be tried as an interruption.
    return make_config(tmp_path, coordinators=[COORDINATOR_ID, *range(7000, 8000)])


async def test_anything_else_ends_a_conversation_and_its_words_are_never_taken(app, api, svc):
    conversations = {c.name: c for c in conversations_of(app)}
    faults: list[str] = []
    user_ids = iter(range(7000, 8000))
    for name, recipe in RECIPES.items():
        for interruption in INTERRUPTIONS:
            member = ChatMember(app, api, next(user_ids), "Zed")
            if recipe.joined:
                await join(member)
            await recipe.enter(member)
            assert conversations[name].step_of(member.user_id) is not None, name
            await member.says(interruption)
            restarted = interruption == f"/{recipe.entry_command}"
            if not restarted and conversations[name].step_of(member.user_id) is not None:
                faults.append(f"{name}: still active after {interruption}")
            answer = member.last_text
            if answer in (t("conversation.use_buttons"), t("post.draft_lost")):
                faults.append(f"{name}: {interruption} was not acted on: {answer!r}")
            before = len(member.messages)
            await member.says(SENTINEL)
            replies = member.texts_since(before)
            if not restarted and any(r.startswith(recipe.took_words) for r in replies):
                faults.append(f"{name}: after {interruption}, typed words were taken: {replies}")
    assert not faults, "\n".join(faults)
    assert await _stored_anywhere(svc, SENTINEL) == []


async def _stored_anywhere(svc, words: str) -> list[str]:
    """Where the words ended up as content: a listing, a broadcast, a member's name."""
    found = []
    for table, column in (
        ("listings", "body"),
        ("listings", "when_where"),
        ("broadcasts", "text"),
        ("members", "display_name"),
        ("visits", "note"),
    ):
        hits = await svc.db.scalar(
            f"SELECT COUNT(*) FROM {table} WHERE {column} LIKE ?", (f"%{words}%",)
        )
        if hits:
            found.append(f"{table}.{column}")
    return found


@pytest.mark.parametrize("name", list(RECIPES))
async def test_cancel_ends_every_conversation(app, api, name):
    member = ChatMember(app, api, 7001, "Zed")
    recipe = RECIPES[name]
    if recipe.joined:
        await join(member)
    await recipe.enter(member)
    await member.says("/cancel")
    assert member.last_text == t("common.cancelled" if recipe.joined else "join.declined")
    assert all(c.step_of(member.user_id) is None for c in conversations_of(app))


async def test_a_half_made_offer_does_not_swallow_a_search(alice, svc):
    await alice.taps("I can offer")
    await alice.taps("Garden")
    await alice.says("/search")
    await alice.says("dog walking")
    assert alice.last_text.startswith("<b>Search: dog walking</b>")
    assert await listings.open_by_owner(svc.db, 1) == []


async def test_editing_then_other_commands_never_replaces_the_text(alice, svc):
    await alice.says("/need a lift to the clinic")
    await alice.taps("Edit")
    for command in ("/start", "/balance"):
        await alice.says(command)
    await alice.says("thank you")
    (need,) = await listings.open_by_owner(svc.db, 1)
    assert need.body == "a lift to the clinic"
    assert alice.last_text == t("menu.not_understood")


async def test_after_cancel_a_broadcast_takes_no_words(coordinator, svc):
    await coordinator.says("/broadcast")
    await coordinator.says("/cancel")
    assert coordinator.last_text == "OK, stopped. What would you like to do next?"
    await coordinator.says("Thanks for yesterday everyone")
    assert coordinator.last_text == t("menu.not_understood")


async def test_a_stale_conversation_is_put_aside_kindly(alice, svc, clock):
    await alice.taps("I need")
    await alice.taps("Shopping")
    clock.advance(timedelta(minutes=31))
    await alice.says("milk and bread")
    assert alice.last_text == t("conversation.put_aside")
    assert alice.reply_buttons[:2] == [t("menu.offer"), t("menu.need")]
    await alice.says("milk and bread")
    assert alice.last_text == t("menu.not_understood")
    assert await listings.open_by_owner(svc.db, 1) == []


async def test_a_slow_but_not_stale_member_keeps_their_draft(alice, svc, clock):
    await alice.taps("I need")
    await alice.taps("Shopping")
    clock.advance(timedelta(minutes=29))
    await alice.says("milk and bread")
    clock.advance(timedelta(minutes=29))
    await alice.taps("Skip")
    await alice.taps("Publish")
    (need,) = await listings.open_by_owner(svc.db, 1)
    assert need.body == "milk and bread"


async def test_typing_where_a_button_is_awaited_asks_for_the_button(alice, svc):
    await alice.taps("I can offer")
    await alice.taps("Garden")
    await alice.says("weeding")
    await alice.taps("Skip")
    await alice.says("looks good")
    assert alice.last_text == t("conversation.use_buttons")
    await alice.taps("Publish")
    assert (await listings.open_by_owner(svc.db, 1))[0].body == "weeding"


async def test_an_old_draft_button_after_leaving_is_answered_kindly(alice, svc):
    await post_half(alice)
    await alice.says("/balance")
    await alice.taps("Publish")
    assert alice.last_text == t("post.draft_lost")
    assert await listings.open_by_owner(svc.db, 1) == []


async def post_half(member: ChatMember) -> None:
    """Up to the preview of an offer, not published."""
    await member.taps("I can offer")
    await member.taps("Garden")
    await member.says("weeding")
    await member.taps("Skip")


async def test_a_config_timeout_is_used(tmp_path, api, clock):
    from bot.app import build_application, running
    from bot.config import parse_config

    config = parse_config(
        {
            "bot": {"database": str(tmp_path / "t.sqlite3"), "conversation_timeout_minutes": 5},
            "timebank": {"categories": ["Garden", "Other"], "neighbourhoods": ["Riverside"]},
        }
    )
    application = build_application(config, request=api, clock=clock, background=False)
    async with running(application):
        zoe = ChatMember(application, api, 4242, "Zoe")
        await join(zoe, place="Riverside")
        await post(zoe, "I can offer", "Garden", "first one")
        await zoe.taps("I can offer")
        await zoe.taps("Garden")
        clock.advance(timedelta(minutes=6))
        await zoe.says("second one")
        assert zoe.last_text == t("conversation.put_aside")


@pytest.mark.parametrize("words", ["   ", "\u200b\u200b", "\u3164", "\u2800 \u200e", "\ufeff"])
async def test_blank_or_invisible_words_are_refused_kindly(alice, svc, words):
    await alice.taps("I can offer")
    await alice.taps("Garden")
    await alice.says(words)
    assert alice.last_text == t("common.empty")
    await alice.says("\u200bweeding\u200b")
    await alice.taps("Skip")
    await alice.taps("Publish")
    (offer,) = await listings.open_by_owner(svc.db, 1)
    assert offer.body == "weeding"


async def test_an_invisible_quick_post_asks_what_kind_of_help(alice, svc):
    await alice.says("/offer \u200b")
    assert alice.last_text == t("post.ask_category_offer")
    assert await listings.open_by_owner(svc.db, 1) == []


async def test_emoji_count_as_telegram_counts_them(alice, svc):
    await alice.taps("I can offer")
    await alice.taps("Garden")
    await alice.says("🌻" * 300)  # 300 characters to Python, 600 to Telegram
    assert alice.last_text.startswith("That's 600 letters.")


async def test_cancel_with_nothing_going_on_says_so(alice):
    await alice.says("/settings")
    await alice.says("/cancel")
    assert alice.last_text == t("common.nothing_to_cancel")
    assert alice.reply_buttons[:2] == [t("menu.offer"), t("menu.need")]


async def test_an_earlier_steps_button_keeps_the_draft(alice, svc):
    await alice.taps("I need")
    await alice.taps("Shopping")
    await alice.says("milk")
    skip_message = alice.last
    await alice.taps("Skip")
    await alice.taps("Change the words")
    await alice.presses(skip_message.inline_buttons[0]["callback_data"], skip_message)
    assert alice.last_text == t("conversation.earlier_step")
    await alice.says("milk and bread")
    await alice.taps("Publish")
    (need,) = await listings.open_by_owner(svc.db, 1)
    assert need.body == "milk and bread"
