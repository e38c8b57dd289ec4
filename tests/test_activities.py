"""Group activities through the real Application: an organiser posts one; members sign up, a
full one puts them on the waiting list, a cancellation offers the place to the next in line
(with a deadline; a lapsed offer moves on); reminders; the roll call; one credit for everyone,
once, however often it is pressed and across a restart; forged presses refused; the act- link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app import build_application, running
from bot.outbound.scheduler import tick
from bot.sandbox.standin import ChatMember
from bot.services import services_of
from bot.ui.i18n import t, tn
from storage import activities, ledger, organisations
from storage.errors import NotCoordinator
from storage.kinds import LedgerKind, OutboxKind
from storage.models import to_db
from tests.test_exchanges import member_id

STARTS = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # "Wed 25 Nov", "12:00" (London = UTC)
NOT_YOURS = t("errors.not_yours")


async def organisation(svc, coordinator, *organisers) -> int:
    """Riverside Day Centre, with these members acting for it."""
    by = await member_id(svc, coordinator)
    made = await organisations.create(
        svc.db,
        name="Riverside Day Centre",
        area="Riverside",
        description="A day centre",
        by=by,
        now=svc.clock.now(),
    )
    for person in organisers:
        await organisations.add_member(
            svc.db,
            organisation_id=made.id,
            member_id=await member_id(svc, person),
            by=by,
            now=svc.clock.now(),
        )
    return made.id


async def post_activity(
    member, *, helpers: str = "2", each: str = "2 hours", places: str = "None", price: str = ""
) -> None:
    """Through /activity's buttons: the title and the place typed, everything else tapped."""
    await member.says("/activity")
    if member.last_text == t("activity.ask_for"):
        await member.taps("Riverside Day Centre")
    await member.says("Community lunch")
    await member.taps("Wed 25 Nov")
    await member.taps("12:00")
    await member.says("Riverside Hall")
    await member.taps(helpers)
    if helpers != "None":
        await member.taps(each)
    await member.taps(places)
    if price:
        await member.taps(price)
    assert member.messages[-1].text.startswith(t("activity.preview_title"))
    await member.taps("✅ Post")


async def signs_up(member, label: str = "Help out") -> None:
    await member.says("/activities")
    await member.taps(label)


async def signups(svc) -> dict[str, str]:
    rows = await svc.db.all(
        "SELECT m.display_name, s.state FROM activity_signups s"
        " JOIN members m ON m.id = s.member_id ORDER BY s.id"
    )
    return {row[0]: row[1] for row in rows}


def roll_call(member):
    """The roll call's message (other notices, a nudge, may come after it)."""
    return next(m for m in reversed(member.messages) if m.text.startswith("How did"))


async def transactions(svc) -> int:
    return int(
        await svc.db.scalar("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'activity'")
    )


async def test_post_sign_up_full_waiting_list_and_a_place_offered(
    coordinator, alice, bob, person, svc, clock
):
    ann = await person("Ann", 110)
    carol = await person("Carol", 103)
    await organisation(svc, coordinator, ann)
    await post_activity(ann)
    assert "start=act-1" in ann.last_text
    activity = await activities.get(svc.db, 1)
    assert activity is not None
    assert activity.starts_at == STARTS
    assert (activity.helpers_wanted, activity.helper_minutes, activity.places) == (2, 120, None)

    await signs_up(alice)
    await signs_up(bob)
    assert "Going: Alice, Bob" in bob.last_text
    assert t("activity.card_you_going_helper") in bob.last_text
    await carol.says("/activities")
    assert carol.inline_labels == [t("activity.wait_helper")], "full: only the waiting list"
    card = carol.messages[-1]
    wait = card.inline_buttons[0]["callback_data"]
    await carol.presses(wait, card)
    await carol.presses(wait, card)  # a double tap changes nothing
    assert await signups(svc) == {"Alice": "going", "Bob": "going", "Carol": "waiting"}

    await bob.taps("Cancel my place")
    assert await signups(svc) == {"Alice": "going", "Bob": "cancelled", "Carol": "offered"}
    offered = await activities.get_signup(svc.db, 3)
    assert offered is not None
    assert offered.offer_expires_at == clock.now() + timedelta(hours=12)
    assert carol.last_text.startswith("🎉 A place came free at")
    assert carol.inline_labels == ["✅ Take it", "No thanks"]
    await carol.taps("Take it")
    assert await signups(svc) == {"Alice": "going", "Bob": "cancelled", "Carol": "going"}
    assert "Going: Alice, Carol" in carol.last_text


async def test_an_offer_not_taken_in_time_moves_to_the_next_in_line(
    coordinator, alice, bob, person, svc, clock
):
    ann = await person("Ann", 110)
    carol, dave = await person("Carol", 103), await person("Dave", 104)
    await organisation(svc, coordinator, ann)
    await post_activity(ann, helpers="1")
    for member in (alice, carol, dave):
        await signs_up(member, "Help out" if member is alice else "Waiting list")
    await alice.taps("Cancel my place")
    assert (await signups(svc))["Carol"] == "offered"
    clock.advance(timedelta(hours=12))
    await tick(svc)
    assert await signups(svc) == {"Alice": "cancelled", "Carol": "cancelled", "Dave": "offered"}
    assert dave.last_text.startswith("🎉 A place came free")
    await carol.taps("Take it")  # the old offer, too late
    assert carol.last_text == t("errors.moved_on")
    await dave.taps("No thanks")
    assert dave.last_text == t("activity.declined")
    assert (await signups(svc))["Dave"] == "cancelled"


async def test_a_member_leaving_the_timebank_frees_their_place_for_the_next_in_line(
    coordinator, alice, bob, person, svc
):
    ann = await person("Ann", 110)
    await organisation(svc, coordinator, ann)
    await post_activity(ann, helpers="1")
    await signs_up(alice)
    await signs_up(bob, "Waiting list")
    await alice.says("/forget")
    await alice.taps("Yes, delete my details")
    await tick(svc)
    assert await signups(svc) == {"Bob": "offered"}
    assert bob.last_text.startswith("🎉 A place came free")
    await bob.taps("Take it")
    assert "Going: Bob" in bob.last_text


async def test_an_organisation_promises_helpers_only_what_its_limit_allows(
    coordinator, person, svc
):
    """The limit is 100 hours below zero; hours promised by activities not yet credited
    count. Refused, the draft stays and only the helpers are asked again."""
    ann = await person("Ann", 110)
    await organisation(svc, coordinator, ann)
    await post_activity(ann, helpers="20", each="4 hours")  # 80 hours promised
    await post_activity(ann, helpers="20", each="2 hours")  # 40 more: too many
    refused = t("activity.org_cant_promise", organisation="Riverside Day Centre", hours="20 hours")
    assert refused in [m.text for m in ann.messages[-2:]]
    assert ann.last_text == t("activity.ask_helpers")
    await ann.taps("5")
    await ann.taps("2 hours")
    await ann.taps("None")
    await ann.taps("✅ Post")
    posted = await svc.db.all("SELECT helpers_wanted, helper_minutes FROM activities ORDER BY id")
    assert [tuple(row) for row in posted] == [(20, 240), (5, 120)]


async def test_an_organiser_calls_it_off_once_and_everyone_signed_up_is_told(
    coordinator, alice, bob, person, svc, clock
):
    ann, carol = await person("Ann", 110), await person("Carol", 103)
    await organisation(svc, coordinator, ann)
    await post_activity(ann)
    await signs_up(alice)
    await signs_up(bob)
    await signs_up(carol, "Waiting list")
    assert t("activity.call_off") not in alice.inline_labels, "only organisers may"
    await ann.says("/activities")
    assert ann.inline_labels == [t("activity.wait_helper"), t("activity.call_off")]
    await ann.taps("Call it off")
    when = "Wednesday 25 November at 12:00"
    assert ann.last_text.startswith(f"Call off <b>Community lunch</b> on {when}?")
    await ann.taps("No, keep it")
    assert (await activities.get(svc.db, 1)).state == "open"  # type: ignore[union-attr]
    await ann.taps("Call it off")
    asked = ann.messages[-1]
    yes = asked.inline_buttons[0]["callback_data"]
    await ann.taps("Yes, call it off")
    assert ann.last_text == tn("activity.called_off", 3)
    await ann.presses(yes, asked)  # the same button again, as a slow phone may send it
    assert ann.last_text == t("activity.already_called_off")
    assert await signups(svc) == {"Alice": "cancelled", "Bob": "cancelled", "Carol": "cancelled"}

    await tick(svc)
    for member in (alice, bob, carol):
        assert member.last_text.startswith(f"😔 <b>Community lunch</b> on {when} is called off")
    told = len(alice.messages)
    clock.set(STARTS - timedelta(hours=1))
    await tick(svc)
    later = [m.text for m in alice.messages[told:]]
    assert not [text for text in later if "Community lunch" in text], "no reminders for it"
    await alice.says("/activities")
    assert alice.last_text == t("activity.none_coming")


async def test_only_organisers_may_call_an_activity_off(coordinator, alice, person, svc):
    ann = await person("Ann", 110)
    await organisation(svc, coordinator, ann)
    await post_activity(ann)
    for press in ("at:off:1", "at:off:1:y"):
        await alice.presses(press)
        assert alice.last_text == t("errors.not_for_organisation")
    assert (await activities.get(svc.db, 1)).state == "open"  # type: ignore[union-attr]
    await coordinator.presses("at:off:1:y")  # a coordinator may act for any organisation
    assert coordinator.last_text == t("activity.called_off_nobody")


async def test_reminders_the_day_and_the_hour_before_and_none_after_cancelling(
    coordinator, alice, bob, person, svc, clock
):
    ann = await person("Ann", 110)
    await organisation(svc, coordinator, ann)
    await post_activity(ann)
    await signs_up(alice)
    await signs_up(bob)
    due = await svc.db.all(
        "SELECT member_id, due_at FROM outbox WHERE kind = ? ORDER BY member_id, due_at",
        (OutboxKind.ACTIVITY_REMINDER,),
    )
    assert [row[1] for row in due] == [
        to_db(STARTS - timedelta(days=1)),
        to_db(STARTS - timedelta(hours=1)),
    ] * 2
    await bob.taps("Cancel my place")
    clock.set(STARTS - timedelta(days=1))
    await tick(svc)
    assert alice.last_text.startswith("⏰ Tomorrow: <b>Community lunch</b>")
    clock.set(STARTS - timedelta(hours=1))
    await tick(svc)
    assert alice.last_text.startswith("⏰ In an hour")
    assert not any("⏰" in text for text in bob.texts_since(0))


async def test_roll_call_credits_everyone_who_came_in_one_transaction(
    coordinator, alice, bob, person, svc, clock
):
    ann = await person("Ann", 110)
    carol = await person("Carol", 103)
    org = await organisation(svc, coordinator, ann)
    await post_activity(ann, helpers="2", places="10", price="1 hour")
    await signs_up(alice)
    await signs_up(bob)
    await signs_up(carol, "Take part")
    clock.set(STARTS + timedelta(hours=1))
    await tick(svc)
    assert roll_call(ann).text.startswith("How did <b>Community lunch</b> go?")
    labels = ["✅ Alice", "✅ Bob", "✅ Carol", "Credit everyone who came"]
    assert [b["text"] for b in roll_call(ann).inline_buttons] == labels
    await ann.taps("✅ Bob")
    labels[1] = "❌ Bob"
    assert [b["text"] for b in roll_call(ann).inline_buttons] == labels
    await ann.taps("Credit everyone who came")
    assert "Helpers: 1" in ann.last_text
    assert "Participants: 1" in ann.last_text

    ids = {
        name: await member_id(svc, who) for name, who in (("a", alice), ("b", bob), ("c", carol))
    }
    assert await ledger.balance(svc.db, ids["a"]) == 120
    assert await ledger.balance(svc.db, ids["b"]) == 0
    assert await ledger.balance(svc.db, ids["c"]) == -60
    async with svc.db.transaction() as tx:
        assert await organisations.balance_in(tx, org) == -60
    assert await ledger.total(svc.db) == 0
    assert await transactions(svc) == 1
    assert alice.last_text == t(
        "activity.thanks_helper", title="Community lunch", hours="2 hours", balance="2 hours"
    )
    assert carol.last_text.startswith("Thanks for joining <b>Community lunch</b>")
    assert not any("Thank you for helping" in text for text in bob.texts_since(0))
    done = await activities.get(svc.db, 1)
    assert done is not None
    assert done.state == "done"
    assert done.credited_by is not None


async def test_a_timebank_activity_is_paid_from_the_community_account(
    coordinator, alice, svc, clock
):
    await post_activity(coordinator)  # a coordinator with no organisation: the timebank's own
    await signs_up(alice)
    clock.set(STARTS + timedelta(hours=1))
    await tick(svc)
    await coordinator.taps("Credit everyone who came")
    assert await ledger.balance(svc.db, await member_id(svc, alice)) == 120
    community = await svc.db.scalar(
        "SELECT SUM(minutes) FROM ledger_entries WHERE account_id = ?", (ledger.COMMUNITY_ACCOUNT,)
    )
    assert community == -120


async def test_credit_pressed_twice_or_after_a_restart_credits_once(
    coordinator, alice, person, svc, clock, config, api, app
):
    ann = await person("Ann", 110)
    await organisation(svc, coordinator, ann)
    await post_activity(ann)
    await signs_up(alice)
    clock.set(STARTS + timedelta(hours=1))
    await tick(svc)
    message = roll_call(ann)
    credit = message.inline_buttons[-1]["callback_data"]
    await ann.presses(credit, message)
    await ann.presses(credit, message)
    assert ann.last_text == t("activity.already_credited")
    assert await transactions(svc) == 1

    restarted = build_application(config, request=api, clock=clock, background=False)
    async with running(restarted):
        again = ChatMember(restarted, api, ann.user_id, "Ann")
        await again.presses(credit, message)
        assert again.last_text == t("activity.already_credited")
        assert await transactions(services_of(restarted)) == 1
        assert await ledger.balance(services_of(restarted).db, await member_id(svc, alice)) == 120


async def test_only_organisers_post_or_run_the_roll_call(
    coordinator, alice, bob, person, svc, clock
):
    ann = await person("Ann", 110)
    await organisation(svc, coordinator, ann)
    await bob.says("/activity")
    assert bob.last_text == t("activity.not_organiser")
    await post_activity(ann)
    await signs_up(alice)
    clock.set(STARTS + timedelta(hours=1))
    await tick(svc)
    signup = (await activities.attendees(svc.db, 1))[0].signup
    await bob.presses("at:credit:1")
    assert bob.last_text == t("errors.not_for_organisation")
    await bob.presses(f"at:mark:{signup.id}:0")
    assert bob.last_text == t("errors.not_for_organisation")
    await bob.presses("at:sign:1:x")  # forged role
    assert bob.last_text == t("errors.gone")
    await bob.presses(f"at:take:{signup.id}")  # someone else's place
    assert bob.last_text == NOT_YOURS
    assert (await activities.get(svc.db, 1)).state == "open"  # type: ignore[union-attr]
    assert await transactions(svc) == 0
    await coordinator.presses("at:credit:1")  # a coordinator may act for any organisation
    assert await transactions(svc) == 1


async def test_a_price_past_the_limit_is_refused_kindly(coordinator, alice, person, svc):
    ann = await person("Ann", 110)
    await organisation(svc, coordinator, ann)
    await post_activity(ann, helpers="None", places="10", price="2 hours")
    async with svc.db.transaction() as tx:
        await ledger.post(
            tx,
            kind=LedgerKind.CORRECTION,
            idempotency_key="spent",
            entries=[(ledger.COMMUNITY_ACCOUNT, 590), (await _account(svc, alice), -590)],
            now=svc.clock.now(),
        )
    await signs_up(alice, "Take part")
    assert alice.last_text == t("activity.cant_afford")
    assert await signups(svc) == {}


async def _account(svc, person) -> int:
    return int(
        await svc.db.scalar(
            "SELECT id FROM accounts WHERE member_id = ?", (await member_id(svc, person),)
        )
    )


async def test_a_newcomer_joins_through_an_activitys_link_and_signs_up(
    coordinator, person, app, api, svc
):
    ann = await person("Ann", 110)
    await organisation(svc, coordinator, ann)
    await post_activity(ann)
    newcomer = ChatMember(app, api, 120, "Nia")
    await newcomer.says("/start act-1")
    await newcomer.taps("Nia")
    await newcomer.taps("Riverside")
    await newcomer.taps("I agree")
    assert newcomer.last_text.startswith("<b>Community lunch</b>")
    await newcomer.taps("Help out")
    assert await signups(svc) == {"Nia": "going"}
    source = await svc.db.scalar("SELECT join_source FROM members WHERE telegram_id = 120")
    assert source == "activity:1"
    await ann.says("/start act-1")  # a member already: just the card
    assert ann.last_text.startswith("<b>Community lunch</b>")


async def test_a_big_activity_s_roll_call_comes_in_pages_and_credits_all_at_once(
    coordinator, svc, clock
):
    """500 helpers: the roll call fits Telegram's keyboards a page at a time, marking someone
    keeps the organiser on their page, and one transaction credits the 499 who came
    (bench/activities.py times it)."""
    now = svc.clock.now()
    by = await member_id(svc, coordinator)
    async with svc.db.transaction() as tx:
        for n in range(500):
            await tx.execute(
                "INSERT INTO members (telegram_id, display_name, status, role, created_at,"
                " consented_at) VALUES (?, ?, 'active', 'member', ?, ?)",
                (50_000 + n, f"Helper{n:03}", to_db(now), to_db(now)),
            )
        await tx.execute(
            "INSERT INTO accounts (member_id, kind) SELECT id, 'member' FROM members"
            " WHERE telegram_id >= 50000"
        )
    activity = await activities.post(
        svc.db,
        by=by,
        organisation_id=None,
        title="Big clean-up",
        starts_at=STARTS,
        place="The park",
        helpers_wanted=500,
        helper_minutes=60,
        places=None,
        price_minutes=0,
        now=now,
        organisation_limit=lambda name: 0,  # the timebank's own: paid by the community
    )
    async with svc.db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO activity_signups (activity_id, member_id, role, state, queued_at,"
            " created_at, updated_at) SELECT ?, id, 'helper', 'going', ?, ?, ? FROM members"
            " WHERE telegram_id >= 50000",
            [(activity.id, to_db(now), to_db(now), to_db(now))],
        )
    clock.set(STARTS + timedelta(hours=1))
    await tick(svc)
    roll = next(m for m in coordinator.messages if "Big clean-up" in m.text)
    labels = [button["text"] for button in roll.inline_buttons]
    assert "Names 1 to 40 of 500." in roll.text
    assert (labels[0], labels[-2:]) == ("✅ Helper000", ["Later names ▶", t("activity.credit")])
    await coordinator.taps("Later names ▶")
    assert "Names 41 to 80 of 500." in roll.text
    await coordinator.taps("✅ Helper041")
    assert "Names 41 to 80 of 500." in roll.text, "still on their page"
    labels = [button["text"] for button in roll.inline_buttons]
    assert "❌ Helper041" in labels
    assert labels[-3:-1] == ["◀ Earlier names", "Later names ▶"]
    outsider = await svc.db.scalar("SELECT id FROM members WHERE telegram_id = 50000")
    with pytest.raises(NotCoordinator):
        await activities.roll_call(svc.db, activity_id=activity.id, by=outsider)
    await coordinator.taps(t("activity.credit"))
    assert await transactions(svc) == 1
    assert await ledger.total(svc.db) == 0
    assert await ledger.balance(svc.db, outsider) == 60
    thanked = await svc.db.scalar(
        "SELECT COUNT(*) FROM outbox WHERE kind = ?", (OutboxKind.ACTIVITY_THANKS,)
    )
    assert thanked == 499


async def test_a_time_tapped_twice_keeps_the_activity_being_written(coordinator, person, svc):
    """A slow phone sends the hour twice: the second press is an earlier step's button, so the
    draft stays and the place can still be typed."""
    ann = await person("Ann", 110)
    await organisation(svc, coordinator, ann)
    await ann.says("/activity")
    await ann.says("Community lunch")
    await ann.taps("Wed 25 Nov")
    hours = ann.messages[-1]
    await ann.taps("12:00")
    await ann.presses(hours.inline_buttons[4]["callback_data"], hours)
    assert ann.last_text == t("conversation.earlier_step")
    await ann.says("Riverside Hall")
    assert ann.last_text == t("activity.ask_helpers")
