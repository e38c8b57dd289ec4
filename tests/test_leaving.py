"""Your data and leaving, as members do it: /mydata gives a summary and a file of every row;
/forget (or "Leave" under the privacy note) asks once, then deletes what is personal while
the hours stay true; a second tap, an old button or writing again all get kind answers."""

from __future__ import annotations

import json

import pytest

from bot.outbound.scheduler import tick
from storage import ledger, members, mydata
from storage.models import FORMER_MEMBER_ID
from tests.conftest import make_config, post


async def agreed_help(alice, bob, category: str = "Shopping", words: str = "prescription") -> None:
    """Bob offers to help with Alice's need, and she says yes: help agreed, not yet done."""
    await post(alice, "I need", category, f"Someone to help with my {words}")
    await bob.says(f"/search {words}")
    await bob.taps("1. Someone")
    await bob.taps("I can help")
    await alice.taps("Yes, please")


async def confirmed_hour(alice, bob) -> None:
    """Bob helps Alice for an hour on her need, and she confirms it."""
    await agreed_help(alice, bob, "Garden", "weeding")
    await bob.taps("It happened")
    await bob.taps("1 hour")
    await alice.taps("Yes")


async def test_mydata_sums_it_up_and_gives_every_row_as_a_file(alice, bob, api):
    await confirmed_hour(alice, bob)
    await alice.says("/mydata")
    summary = alice.messages[-2].text
    assert "Name: Alice\nNeighbourhood: Riverside" in summary
    assert "Posts: 1 · Exchanges: 1" in summary
    assert "Hours given: 0 hours · received: 1 hour" in summary
    assert "No coordinator has looked at your details." in summary
    ((method, name, data),) = api.uploads
    assert method == "sendDocument"
    assert name.startswith("my-timebank-data-")
    rows = json.loads(data)
    assert [listing["body"] for listing in rows["listings"]] == ["Someone to help with my weeding"]
    assert rows["members"][0]["display_name"] == "Alice"
    assert "telegram_id" in rows["members"][0]  # it is hers to see
    assert all(row["member_id"] == rows["member_id"] for row in rows["outbox"])


async def test_mydata_for_someone_who_never_joined_says_nothing_is_kept(person, api):
    stranger = await person("Sam", 301, joined=False)
    await stranger.says("/mydata")
    assert stranger.last_text.startswith("We keep nothing about you")
    assert api.uploads == []


async def test_leaving_asks_once_then_forgets_while_the_hours_stay(
    alice, bob, coordinator, person, svc
):
    dan = await person("Dan", 104)
    await confirmed_hour(alice, bob)  # Bob gave Alice an hour
    await agreed_help(dan, bob)  # and agreed to help Dan, not yet done
    total_before = await ledger.total(svc.db)
    dan_before = await ledger.balance(svc.db, (await member(svc, dan)).id)

    await bob.says("/forget")
    assert bob.last_text.startswith("🚪 <b>Leave the timebank?</b>")
    await bob.taps("Yes, delete my details")
    assert bob.last_text.startswith("Done. Your details are deleted")
    assert await members.by_telegram_id(svc.db, bob.user_id) is None

    await tick(svc)
    assert dan.last_text.startswith("Sorry, Dan: the person you were arranging help with")
    assert "(Shopping)" in dan.last_text
    assert coordinator.last_text.startswith("A member has left the timebank.")
    assert "Bob" not in coordinator.last_text
    assert await ledger.total(svc.db) == total_before == 0
    assert await ledger.balance(svc.db, (await member(svc, dan)).id) == dan_before
    assert await ledger.balance(svc.db, FORMER_MEMBER_ID) == 60
    await alice.says("/history")
    assert "a former member" in alice.last_text
    assert "Bob" not in alice.last_text


async def test_a_second_yes_or_an_old_button_is_answered_kindly(alice, svc):
    await alice.says("/forget")
    question = alice.last
    await alice.taps("Yes, delete my details")
    await alice.presses("pr:yes:0", question)
    assert alice.last_text.startswith("You've already left")


async def test_no_keeps_everything(alice, svc):
    await alice.says("/forget")
    await alice.taps("No, I'll stay")
    assert alice.last_text == "Good, you're still here. Nothing was changed."
    assert await members.by_telegram_id(svc.db, alice.user_id) is not None


async def test_someone_who_left_and_writes_again_starts_afresh(alice, svc):
    await alice.says("/forget")
    await alice.taps("Yes, delete my details")
    await alice.says("I can offer")
    assert alice.last_text == "Welcome! Tap /start to join the timebank first."
    await alice.says("/start")
    assert alice.messages[-2].text.startswith("Hello, and welcome")
    await alice.taps("Alice")
    await alice.taps("Old Town")
    await alice.taps("I agree")
    again = await member(svc, alice)
    assert again.neighbourhood == "Old Town"
    assert await ledger.balance(svc.db, again.id) == 0


async def test_leaving_from_the_privacy_note_withdraws_consent(alice, svc):
    await alice.says("/settings")
    await alice.taps("My details")
    await alice.taps("Privacy and my data")
    assert alice.inline_labels == ["📄 Show my data", "🚪 Leave the timebank"]
    await alice.taps("Leave the timebank")
    await alice.taps("Yes, delete my details")
    assert await members.by_telegram_id(svc.db, alice.user_id) is None


async def member(svc, person):
    found = await members.by_telegram_id(svc.db, person.user_id)
    assert found is not None
    return found


class TestWhoSawWhat:
    """Every coordinator look at a member's data is in the audit log, and in their /mydata."""

    @pytest.fixture
    def config(self, tmp_path):
        return make_config(tmp_path, join="approval")

    async def test_an_application_shown_to_a_coordinator_is_in_the_applicants_data(
        self, coordinator, person, api, svc
    ):
        ann = await person("Ann", 201)
        await tick(svc)
        assert "Ann" in coordinator.last_text  # her application reached Cora
        await ann.says("/mydata")
        assert "Coordinators have looked at your details 1 time." in ann.messages[-2].text
        rows = json.loads(api.uploads[-1][2])
        (seen,) = [row for row in rows["audit_log"] if row["action"] == "viewed"]
        assert (seen["actor_name"], seen["detail"]) == ("Cora", {"what": "member_applied"})


async def test_a_member_reported_sees_no_trace_of_it_in_their_data(alice, bob, coordinator, svc):
    await alice.says("/offer soup")
    await bob.says("/search soup")
    await bob.taps("1. soup")
    await bob.taps("Report")
    await bob.taps("Made me feel unsafe")
    await bob.taps("Skip")
    await bob.taps("Yes, send it")
    await tick(svc)
    assert "has reported" in coordinator.last_text
    data = await mydata.member_data(svc.db, (await member(svc, alice)).id)
    assert data["member_reports"] == []
    assert [row for row in data["audit_log"] if row["action"] == "viewed"] == []
    made = await mydata.member_data(svc.db, (await member(svc, bob)).id)
    assert [row["reason"] for row in made["member_reports"]] == ["unsafe"]
