"""Referrals: a coordinator registers a discharge, a patient asks for a visit by a ward's link,
coordinators watch them by time waiting, record re-admissions and close them; the figures in
/report; a patient's address deleted some days after their last visit."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import matplotlib.image
import pytest

from bot.app import build_application, running
from bot.outbound.scheduler import purge
from bot.sandbox.standin import PHONE_NUMBER, ChatMember
from bot.ui.i18n import t
from storage import members, referrals, visit_figures
from storage.errors import NotCoordinator
from storage.models import to_db
from storage.referrals import Details
from tests.conftest import COORDINATOR_ID, join, make_config
from tests.test_exchanges import member_id
from tests.test_safety import double_tap

REFUSED = "Sorry, only a coordinator can do that."
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # the FakeClock's start: a Monday, London = UTC
LINK = "/start visit-ward7"


async def rows(svc, sql: str = "SELECT * FROM referrals ORDER BY id") -> list[dict[str, Any]]:
    return [dict(row) for row in await svc.db.all(sql)]


async def discharge(cora, name: str = "Tom", *, day: str = "Yesterday") -> None:
    """/discharge through its buttons, typing only what a coordinator describes."""
    await cora.says("/discharge")
    await cora.says(name)
    await cora.taps("Riverside")
    await cora.says("07700 900123")
    await cora.says("1 Elm Row, blue door")
    await cora.taps(day)
    await cora.taps("Heating")
    await cora.taps("Food in the house")
    await cora.taps("Heating")  # changed their mind
    await cora.taps("Medicines")
    await cora.taps("Done")
    await cora.says("Diabetic; walks with a stick")
    await cora.taps("Ward 7")


async def register(svc, by: int, name: str, hours_ago: float, **extra: Any) -> int:
    """A referral made straight through storage, discharged `hours_ago`."""
    details = Details(
        first_name=name,
        area="Riverside",
        address=extra.pop("address", "1 Elm Row"),
        contact=extra.pop("contact", "07700 900123"),
        needs=("heating",),
        discharged_at=svc.clock.now() - timedelta(hours=hours_ago),
        notes=extra.pop("notes", None),
    )
    referral = await referrals.register(
        svc.db, by=by, details=details, rules=svc.visits, now=svc.clock.now()
    )
    return referral.id


async def accept(svc, referral_id: int, visitor_id: int) -> None:
    """As matching does on Accept: the referral accepted, visit 1 planned."""
    at = to_db(svc.clock.now())
    async with svc.db.transaction() as tx:
        await tx.execute(
            "UPDATE referrals SET state = 'accepted', visitor_id = ?, code_word = 'apple',"
            " accepted_at = ? WHERE id = ?",
            (visitor_id, at, referral_id),
        )
        await tx.execute(
            "INSERT INTO visit_offers (referral_id, visitor_id, state, offered_at, answer_by,"
            " answered_at) VALUES (?, ?, 'accepted', ?, ?, ?)",
            (referral_id, visitor_id, at, at, at),
        )
        await tx.execute(
            "INSERT INTO visits (referral_id, visitor_id, number, created_at, updated_at)"
            " VALUES (?, ?, 1, ?, ?)",
            (referral_id, visitor_id, at, at),
        )


# --- /discharge -------------------------------------------------------------------------------


async def test_a_coordinator_registers_a_discharge_with_buttons(coordinator, svc):
    await discharge(coordinator)
    preview = coordinator.last_text
    for shown in ("Tom", "Riverside", "1 Elm Row", "07700 900123", "Food in the house, Medicines"):
        assert shown in preview
    assert "Diabetic" in preview
    assert "Ward 7" in preview
    assert "Sunday 22 November" in preview
    assert await rows(svc) == [], "nothing stored before Save"
    await coordinator.taps("✅ Save")
    assert coordinator.last_text.startswith("Saved. We're finding a visitor for Tom now.")
    (stored,) = await rows(svc)
    cora = await member_id(svc, coordinator)
    assert {key: stored[key] for key in ("first_name", "area", "contact", "address", "notes")} == {
        "first_name": "Tom",
        "area": "Riverside",
        "contact": "07700 900123",
        "address": "1 Elm Row, blue door",
        "notes": "Diabetic; walks with a stick",
    }
    assert json.loads(stored["needs"]) == ["food", "medicines"]
    assert (stored["ward"], stored["source"], stored["registered_by"], stored["state"]) == (
        "ward7",
        "coordinator",
        cora,
        "matching",
    )
    assert stored["discharged_at"] == "2026-11-22T12:00:00.000000Z", "noon on the day tapped"
    audited = await rows(svc, "SELECT actor_id, action, subject FROM audit_log")
    assert {"actor_id": cora, "action": "register_referral", "subject": "referral:1"} in audited


async def test_today_is_now_and_skips_are_kind(coordinator, svc):
    await coordinator.says("/discharge")
    await coordinator.says("T" * 61)
    assert coordinator.last_text == "That's 61 letters. Please keep it to 60."
    await coordinator.says("Tom")
    await coordinator.taps("Old Town")
    await coordinator.says("call the ward")
    assert "phone number" in coordinator.last_text, "a contact must look like one"
    await coordinator.taps("Skip")
    await coordinator.says("x" * 301)
    assert "keep it to 300" in coordinator.last_text
    await coordinator.says("3 Hill Rd")
    await coordinator.taps("Today")
    await coordinator.taps("Done")
    await coordinator.taps("Skip")
    await coordinator.taps("No ward")
    assert "Contact: none given" in coordinator.last_text
    assert "Needs: none said" in coordinator.last_text
    await double_tap(coordinator, "✅ Save")
    assert coordinator.last_text == "That one is saved already."
    (stored,) = await rows(svc)
    assert (stored["contact"], stored["notes"], stored["ward"], stored["needs"]) == (
        None,
        None,
        None,
        "[]",
    )
    assert stored["discharged_at"] == to_db(NOW)


async def test_dont_save_keeps_nothing(coordinator, svc):
    await discharge(coordinator)
    await coordinator.taps("Don't save")
    assert coordinator.last_text == "OK, not saved."
    assert await rows(svc) == []


async def test_a_coordinator_registers_a_discharge_in_spanish(app, api, svc):
    cora = ChatMember(app, api, COORDINATOR_ID, "Cora", language_code="es")
    await cora.says("/start")
    await cora.taps("Cora")
    await cora.taps("Riverside")
    await cora.taps(t("join.agree", "es"))
    await cora.says("/discharge")
    assert cora.last_text == t("referral.ask_name_them", "es")
    await cora.says("Tomás")
    await cora.taps("Old Town")
    await cora.taps(t("post.skip", "es"))
    await cora.says("Calle Mayor 1")
    await cora.taps("hace 2 días")
    await cora.taps(t("referral.need_company", "es"))
    await cora.taps(t("referral.needs_done", "es"))
    await cora.taps(t("post.skip", "es"))
    await cora.taps(t("referral.no_ward", "es"))
    assert "Necesita: Compañía" in cora.last_text
    assert "sábado 21 de noviembre" in cora.last_text
    await cora.taps(t("referral.save", "es"))
    assert cora.last_text.startswith("Guardado. Ya buscamos un visitante para Tomás")
    (stored,) = await rows(svc)
    assert (stored["first_name"], stored["needs"]) == ("Tomás", '["company"]')


# --- a ward's link ----------------------------------------------------------------------------


async def test_a_newcomer_asks_for_a_visit_by_a_wards_link(person, svc):
    dan = await person("Dan", 301, joined=False)
    await dan.says(LINK)
    assert "visit you at home" in dan.messages[0].text
    assert "Do you agree?" in dan.last_text
    assert "address" in dan.last_text
    assert await members.by_telegram_id(svc.db, 301) is None
    await dan.taps("I agree")
    assert dan.reply_buttons == ["Dan"]
    await dan.taps("Dan")
    await dan.taps("Riverside")
    assert dan.reply_buttons == ["📱 Share my number", "Skip"]
    await dan.taps("Share my number")
    await dan.says("2 Mill Lane")
    await dan.taps("Today")
    await dan.taps("Heating")
    assert await members.by_telegram_id(svc.db, 301) is None, "nothing stored before the end"
    await dan.taps("Done")
    assert dan.last_text.startswith("Thank you, Dan! 🌷")
    assert "code word" in dan.last_text
    assert dan.reply_buttons == [
        "I can offer",
        "I need",
        "Browse",
        "My hours",
        "Activities",
        "Spend my hours",
        "Help",
    ]
    stored = await members.by_telegram_id(svc.db, 301)
    assert stored is not None
    assert (stored.status, stored.join_source, stored.neighbourhood) == (
        "active",
        "visit-ward7",
        "Riverside",
    )
    (referral,) = await rows(svc)
    assert {k: referral[k] for k in ("patient_id", "source", "ward", "contact", "address")} == {
        "patient_id": stored.id,
        "source": "ward",
        "ward": "ward7",
        "contact": PHONE_NUMBER,
        "address": "2 Mill Lane",
    }
    assert (referral["state"], referral["discharged_at"]) == ("matching", to_db(NOW))
    await dan.says(LINK)
    assert (
        dan.last_text
        == "You already have a home visit on its way, Dan. We'll tell you here who is coming."
    )
    assert len(await rows(svc)) == 1


async def test_saying_no_to_the_wards_consent_keeps_nothing(person, svc):
    eve = await person("Eve", 302, joined=False)
    await eve.says(LINK)
    await eve.taps("No thanks")
    assert "Nothing about you was kept" in eve.last_text
    assert await members.by_telegram_id(svc.db, 302) is None
    assert await rows(svc) == []


async def test_a_member_opening_a_wards_link_skips_joining(alice, svc):
    await alice.says(LINK)
    assert alice.last_text == "Which area do you live in?"
    assert "Hello Alice" in alice.messages[-2].text
    await alice.taps("Old Town")
    await alice.taps("Skip")
    await alice.says("4 Quay St")
    await alice.taps("Yesterday")
    await alice.taps("Done")
    assert alice.last_text.startswith("Thank you, Alice!")
    (referral,) = await rows(svc)
    assert (referral["patient_id"], referral["area"], referral["contact"]) == (
        await member_id(svc, alice),
        "Old Town",
        None,
    )
    await alice.says(LINK)
    assert alice.last_text.startswith("You already have a home visit on its way")


async def test_an_unknown_ward_is_said_kindly_then_the_usual_start(person, alice):
    fay = await person("Fay", 303, joined=False)
    await fay.says("/start visit-nowhere")
    assert fay.messages[0].text == t("referral.unknown_ward")
    assert fay.reply_buttons == ["Fay"], "the usual join goes on"
    await alice.says("/start visit-nowhere")
    assert alice.last_text == "Welcome back, Alice!"


async def test_the_ward_lets_a_patient_in_when_joining_needs_approval(tmp_path, api, clock):
    application = build_application(
        make_config(tmp_path, join="approval"), request=api, clock=clock, background=False
    )
    async with running(application):
        gus = ChatMember(application, api, 304, "Gus")
        await gus.says(LINK)
        await gus.taps("I agree")
        await gus.taps("Gus")
        await gus.taps("Riverside")
        await gus.taps("Skip")
        await gus.says("5 Bank St")
        await gus.taps("Today")
        await gus.taps("Done")
        await gus.says("/balance")
        assert "coordinator will welcome you" not in gus.last_text
        jo = ChatMember(application, api, 305, "Jo")
        await join(jo)
        assert "A coordinator will check" in jo.last_text, "others still wait"


# --- /qr ------------------------------------------------------------------------------------


async def test_qr_sends_a_printable_png_of_the_wards_link(coordinator, api):
    await coordinator.says("/qr ward7")
    photo = coordinator.last
    assert photo.kind == "photo"
    assert "Ward 7" in photo.text
    assert "https://t.me/timebank_test_bot?start=visit-ward7" in photo.text
    method, _, png = api.uploads[-1]
    assert method == "sendPhoto"
    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert image.shape[0] == image.shape[1] > 100, "a square code, big enough to print"


@pytest.mark.parametrize("command", ["/qr", "/qr nowhere"])
async def test_qr_without_a_known_code_lists_the_codes(coordinator, command):
    await coordinator.says(command)
    assert coordinator.last_text == "Type /qr and a ward's code:\n<code>ward7</code> – Ward 7"


# --- /visits, the card ------------------------------------------------------------------------


async def test_visits_lists_open_referrals_longest_waiting_first_with_the_48_hour_mark(
    coordinator, bob, svc
):
    cora = await member_id(svc, coordinator)
    await register(svc, cora, "Una", 2)
    await register(svc, cora, "Vic", 60)
    await register(svc, cora, "Wyn", 30)
    closed = await register(svc, cora, "Xan", 70)
    await referrals.close(svc.db, by=cora, referral_id=closed, now=svc.clock.now())
    await accept(svc, 3, await member_id(svc, bob))
    await coordinator.says("/visits")
    assert coordinator.last_text.startswith("3 referrals waiting, longest first.")
    assert coordinator.inline_labels == [
        "⏰ Vic · Riverside · 60 h · looking for a visitor",
        "Wyn · Riverside · 30 h · visitor: Bob",
        "Una · Riverside · 2 h · looking for a visitor",
    ]


async def test_opening_a_referral_shows_it_and_logs_the_look(coordinator, svc):
    cora = await member_id(svc, coordinator)
    await register(svc, cora, "Vic", 60, notes="Lives alone")
    await coordinator.says("/visits")
    await coordinator.taps("Vic")
    card = coordinator.last_text
    for shown in ("1 Elm Row", "07700 900123", "Heating", "Lives alone", "looking for a visitor"):
        assert shown in card
    assert "⏰ No visit yet, 60 h after leaving hospital" in card
    assert coordinator.inline_labels == ["🏥 Record re-admission", "Close"]
    viewed = await rows(
        svc, "SELECT actor_id, subject, detail FROM audit_log WHERE action = 'viewed'"
    )
    assert viewed == [{"actor_id": cora, "subject": "referral:1", "detail": '{"what": "referral"}'}]


async def test_nobody_but_a_coordinator_sees_or_changes_referrals(coordinator, alice, svc):
    cora = await member_id(svc, coordinator)
    referral = await register(svc, cora, "Vic", 60, notes="Lives alone")
    for command in ("/visits", "/discharge", "/qr ward7"):
        await alice.says(command)
        assert alice.last_text == REFUSED
    for data in (
        f"rf:open:{referral}",
        f"rf:readmit:{referral}",
        f"rf:readday:{referral}:20261123",
        f"rf:close:{referral}",
        f"rf:closeok:{referral}",
        "rf:lately:0",
        "rf:save:0",
    ):
        await alice.presses(data)
        assert alice.last_text in (REFUSED, t("post.draft_lost")), data
        assert "Lives alone" not in alice.last_text
    (stored,) = await rows(svc)
    assert (stored["state"], stored["readmitted_on"]) == ("matching", None)
    actions = await rows(svc, "SELECT action FROM audit_log")
    assert actions == [{"action": "register_referral"}]
    with pytest.raises(NotCoordinator):
        await referrals.close(svc.db, by=await member_id(svc, alice), referral_id=referral, now=NOW)


async def test_forged_referral_buttons_are_answered_kindly(coordinator, svc):
    referral = await register(svc, await member_id(svc, coordinator), "Vic", 10)
    for data in (
        "rf:open:999",
        f"rf:readday:{referral}:2026ab01",
        f"rf:readday:{referral}:20200101",
    ):
        await coordinator.presses(data)
        assert coordinator.last_text in (t("errors.gone"), t("errors.generic")), data
    (stored,) = await rows(svc)
    assert stored["readmitted_on"] is None


async def test_a_readmission_is_recorded_once_by_the_day_it_happened(coordinator, svc, clock):
    cora = await member_id(svc, coordinator)
    await register(svc, cora, "Vic", 20)
    clock.advance(timedelta(days=12))
    await coordinator.says("/visits")
    await coordinator.taps("Vic")
    await coordinator.taps("Record re-admission")
    assert coordinator.last_text == "On which day did Vic go back into hospital?"
    assert coordinator.inline_labels[0] == "Sat 5 Dec"
    assert "⬅️ Earlier" in coordinator.inline_labels
    await coordinator.taps("Earlier")
    assert coordinator.inline_labels == [
        "Thu 26 Nov",
        "Wed 25 Nov",
        "Tue 24 Nov",
        "Mon 23 Nov",
        "Sun 22 Nov",
    ]
    await coordinator.taps("Tue 24 Nov")
    assert coordinator.last_text == "Recorded: Vic went back into hospital on Tuesday 24 November."
    await coordinator.presses("rf:readday:1:20261124")
    assert coordinator.last_text.startswith("That's recorded already")
    (stored,) = await rows(svc)
    assert (stored["readmitted_on"], stored["readmission_by"]) == ("2026-11-24", cora)
    audited = await rows(
        svc, "SELECT action, detail FROM audit_log WHERE action = 'record_readmission'"
    )
    assert audited == [{"action": "record_readmission", "detail": '{"on": "2026-11-24"}'}]
    await coordinator.presses("rf:open:1")
    assert "Back in hospital: Tuesday 24 November" in coordinator.last_text


async def test_closing_withdraws_the_offer_and_tells_the_visitor(coordinator, alice, bob, svc):
    cora = await member_id(svc, coordinator)
    offered = await register(svc, cora, "Una", 5)
    accepted = await register(svc, cora, "Vic", 30)
    at = to_db(NOW)
    async with svc.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO visit_offers (referral_id, visitor_id, offered_at, answer_by)"
            " VALUES (?, ?, ?, ?)",
            (offered, await member_id(svc, alice), at, at),
        )
    await accept(svc, accepted, await member_id(svc, bob))
    for name in ("Una", "Vic"):
        await coordinator.says("/visits")
        await coordinator.taps(name)
        await coordinator.taps("Close")
        assert coordinator.last_text.startswith(f"Close {name}'s referral?")
        await coordinator.taps("Yes, close it")
        assert coordinator.last_text == f"Closed. {name}'s referral is done."
    await coordinator.presses(f"rf:closeok:{accepted}")
    assert coordinator.last_text == "That referral is closed already."
    states = await rows(svc, "SELECT state FROM referrals ORDER BY id")
    assert states == [{"state": "closed"}, {"state": "closed"}]
    offers = await rows(svc, "SELECT referral_id, state FROM visit_offers ORDER BY id")
    assert offers == [
        {"referral_id": offered, "state": "withdrawn"},
        {"referral_id": accepted, "state": "accepted"},
    ]
    assert await svc.db.scalar("SELECT state FROM visits") == "cancelled"
    assert bob.last_text.startswith("Your visit to Vic isn't needed any more")
    assert "Una" not in " ".join(alice.texts_since(0))
    await coordinator.says("/visits")
    assert coordinator.last_text == "No referrals are waiting. Register one with /discharge."


# --- figures ----------------------------------------------------------------------------------


async def visited(svc, referral_id: int, visitor_id: int, *, after: timedelta) -> None:
    """As aftercare does: visit 1 done `after` discharge, the referral visited."""
    referral = await referrals.get(svc.db, referral_id)
    assert referral is not None
    at = to_db(referral.discharged_at + after)
    await accept(svc, referral_id, visitor_id)
    async with svc.db.transaction() as tx:
        await tx.execute(
            "UPDATE visits SET state = 'done', reported_at = ? WHERE referral_id = ?",
            (at, referral_id),
        )
        await tx.execute(
            "UPDATE referrals SET state = 'visited', first_visit_at = ? WHERE id = ?",
            (at, referral_id),
        )


async def loneliness(svc, referral_id: int, first: int, last: int) -> None:
    at = to_db(NOW)
    async with svc.db.transaction() as tx:
        for stage, total in (("first", first), ("last", last)):
            # Three answers of 1 to 3 that add up to the total (3 to 9).
            answers = [1 + min(2, max(0, total - 3 - 2 * n)) for n in range(3)]
            await tx.execute(
                "INSERT INTO loneliness_scores (referral_id, stage, companionship, left_out,"
                " isolated, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (referral_id, stage, *answers, at),
            )


async def test_the_report_shows_peer_visit_figures(coordinator, alice, bob, svc, clock):
    cora, ann, bo = [await member_id(svc, p) for p in (coordinator, alice, bob)]
    clock.set(NOW - timedelta(days=60))
    quick = await register(svc, cora, "Una", 0)
    slow = await register(svc, cora, "Vic", 0)
    await register(svc, cora, "Wyn", 0)  # nobody visited yet, long past 48 hours
    clock.set(NOW)
    await visited(svc, quick, ann, after=timedelta(hours=20))
    await visited(svc, slow, ann, after=timedelta(hours=60))
    async with svc.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO visit_alerts (referral_id, visit_id, reason, raised_at,"
            " acknowledged_by, acknowledged_at) VALUES (?, 1, 'worry', ?, ?, ?)",
            (
                quick,
                to_db(NOW - timedelta(days=50)),
                cora,
                to_db(NOW - timedelta(days=50, minutes=-12)),
            ),
        )
        await tx.execute(
            "UPDATE referrals SET pay_forward = 'yes', patient_id = ? WHERE id = ?", (bo, quick)
        )
        await tx.execute("UPDATE referrals SET pay_forward = 'no' WHERE id = ?", (slow,))
        await tx.execute(
            "INSERT INTO visitors (member_id, status, source, applied_at, updated_at)"
            " VALUES (?, 'approved', 'paid_forward', ?, ?)",
            (bo, to_db(NOW), to_db(NOW)),
        )
        await tx.execute(
            "UPDATE referrals SET readmitted_on = '2026-10-10', readmission_by = ? WHERE id = ?",
            (cora, slow),
        )
    await loneliness(svc, quick, 8, 5)
    await coordinator.says("/report")
    await coordinator.taps("All time")
    block = next(m.text for m in coordinator.messages if "Peer visits" in m.text)
    assert re.sub("<[^>]+>", "", block).splitlines() == [
        "🏠 Peer visits",
        "Referrals: 3",
        "First visit after hospital: 40 hours (median)",
        "Visited within 48 h: 33%",
        "Visits done: 2",
        "Worries raised: 1",
        "A coordinator on it within 12 min (median)",
        "Became visitors themselves: 1 of 2 asked (50%)",
        "Back in hospital within 30 days: 1",
        "Loneliness: no figure for fewer than 10 people",
    ]


async def test_the_loneliness_change_is_given_from_ten_people(coordinator, svc):
    cora = await member_id(svc, coordinator)
    for n in range(10):
        referral = await register(svc, cora, f"P{n}", 1)
        await loneliness(svc, referral, 7, 6 if n < 5 else 4)  # −1 for five, −3 for five
    figures = await visit_figures.for_period(svc.db, start=None, end=NOW, rules=svc.visits)
    assert (figures.loneliness_people, figures.loneliness_change) == (10, -2.0)
    await coordinator.says("/report")
    await coordinator.taps("All time")
    block = next(m.text for m in coordinator.messages if "Peer visits" in m.text)
    assert "Loneliness (3–9, lower is better): <b>−2</b> from first to last check, 10 people" in (
        block
    )


async def test_a_report_without_peer_visits_says_nothing_of_them(coordinator):
    await coordinator.says("/report")
    await coordinator.taps("All time")
    assert not any("Peer visits" in m.text for m in coordinator.messages)


# --- retention --------------------------------------------------------------------------------


async def test_an_address_is_deleted_some_days_after_the_last_visit(coordinator, alice, svc, clock):
    cora, ann = await member_id(svc, coordinator), await member_id(svc, alice)
    done = await register(svc, cora, "Una", 10)
    await visited(svc, done, ann, after=timedelta(hours=10))  # reported now
    closed = await register(svc, cora, "Vic", 10)
    await referrals.close(svc.db, by=cora, referral_id=closed, now=NOW)
    waiting = await register(svc, cora, "Wyn", 10)
    await accept(svc, waiting, ann)  # visit 1 planned, no time yet: the address is needed
    clock.advance(timedelta(days=29))
    assert (await purge(svc)).addresses == 0
    clock.advance(timedelta(days=2))
    assert (await purge(svc)).addresses == 2
    kept = await rows(svc, "SELECT id, address, contact, address_deleted_at FROM referrals")
    assert kept == [
        {"id": done, "address": None, "contact": None, "address_deleted_at": to_db(clock.now())},
        {"id": closed, "address": None, "contact": None, "address_deleted_at": to_db(clock.now())},
        {
            "id": waiting,
            "address": "1 Elm Row",
            "contact": "07700 900123",
            "address_deleted_at": None,
        },
    ]
    assert (await purge(svc)).addresses == 0
    await coordinator.presses(f"rf:open:{done}")
    assert "Address: deleted after the last visit" in coordinator.last_text
