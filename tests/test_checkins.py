"""After a visit: the visitor's check-in, worry alerts that reach a coordinator day or night and
come again until one is on it, "couldn't reach them" with the patient asked, and the prompts
to check in; every press re-checked, every double tap harmless."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from bot.outbound.scheduler import tick
from bot.sandbox.standin import ChatMember
from bot.ui.i18n import t
from storage.models import to_db
from tests.conftest import COORDINATOR_ID, Person, make_config
from tests.test_exchanges import member_id
from tests.test_nudges import count
from tests.test_plain_words import SCREEN_LINES, lines_of
from tests.test_safety import double_tap

SECOND_COORDINATOR_ID = 901
NOT_YOURS = t("errors.not_yours")
GONE = t("errors.gone")
REFUSED = t("errors.not_coordinator")
ALERT = "A worry after a visit to Pat"
STILL_OPEN = "Still open: nobody is on this yet."
REACH = "Hello Pat. Your visitor Vera tried to reach you but couldn't. Are you OK?"
QUESTIONS = ("warm enough?", "food in the house?", "medicines sorted?", "worrying you?")


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path, coordinators=[COORDINATOR_ID, SECOND_COORDINATOR_ID])


@pytest.fixture
async def vera(person: Person) -> ChatMember:
    return await person("Vera", 201)


@pytest.fixture
async def pat(person: Person) -> ChatMember:
    return await person("Pat", 202)


@pytest.fixture
async def colin(person: Person) -> ChatMember:
    return await person("Colin", SECOND_COORDINATOR_ID)


async def planned_visit(
    svc: Any,
    visitor: ChatMember,
    patient: ChatMember | None = None,
    *,
    at: datetime | None = None,
    contact: str | None = "07700 900123",
) -> int:
    """A referral `visitor` accepted and its first visit, planned (at `at`, if given): the rows
    matching makes, written directly until the lead wires this to the real flow."""
    visitor_id = await member_id(svc, visitor)
    patient_id = await member_id(svc, patient) if patient else None
    now = to_db(svc.clock.now())
    async with svc.db.transaction() as tx:
        cursor = await tx.execute(
            "INSERT INTO referrals (patient_id, first_name, area, contact, address, discharged_at,"
            " source, state, visitor_id, code_word, accepted_at, created_at, updated_at)"
            " VALUES (?, 'Pat', 'Riverside', ?, '1 Elm Row', ?, 'ward', 'accepted', ?, 'apple',"
            " ?, ?, ?)",
            (patient_id, contact, now, visitor_id, now, now, now),
        )
        cursor = await tx.execute(
            "INSERT INTO visits (referral_id, visitor_id, number, scheduled_at, created_at,"
            " updated_at) VALUES (?, ?, 1, ?, ?, ?)",
            (cursor.lastrowid, visitor_id, to_db(at) if at else None, now, now),
        )
    return int(cursor.lastrowid)


async def follow_up(svc: Any, visit_id: int, due_on: date) -> int:
    """The first follow-up aftercare planned when the visit was reported (number 2 of the same
    referral), moved to `due_on`."""
    async with (
        svc.db.transaction() as tx,
        tx.execute(
            "UPDATE visits SET due_on = ? WHERE number = 2 AND referral_id ="
            " (SELECT referral_id FROM visits WHERE id = ?) RETURNING id",
            (due_on.isoformat(), visit_id),
        ) as cursor,
    ):
        row = await cursor.fetchone()
    assert row is not None, "aftercare plans follow-ups when a visit is reported"
    return int(row[0])


async def check_in(visitor: ChatMember, *answers: str, note: str | None = None) -> None:
    """From a message with "How did it go?": the four answers, the note (or Skip), up to the
    summary; Send is left to the test."""
    await visitor.taps("How did it go?")
    for question, answer in zip(QUESTIONS, answers, strict=True):
        assert question in visitor.last_text
        await visitor.taps(answer)
    if note is None:
        await visitor.taps("Skip")
    else:
        await visitor.says(note)


async def visit(svc: Any, visit_id: int) -> dict[str, Any]:
    row = await svc.db.one("SELECT * FROM visits WHERE id = ?", (visit_id,))
    return dict(row)


async def alerts(svc: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in await svc.db.all("SELECT * FROM visit_alerts ORDER BY id")]


async def later(svc: Any, clock: Any, delta: timedelta) -> None:
    clock.advance(delta)
    await tick(svc)


# --- the check-in ---------------------------------------------------------------------------


async def test_a_check_in_all_well_thanks_the_visitor_and_alerts_nobody(
    vera, pat, coordinator, svc, clock
):
    visit_id = await planned_visit(svc, vera, pat, at=clock.now() + timedelta(hours=2))
    seen_by_cora = len(coordinator.messages)
    await later(svc, clock, timedelta(hours=2, minutes=59))
    assert count(vera, "How did your visit to Pat go?") == 0, "an hour after the visit"
    await later(svc, clock, timedelta(minutes=1))
    assert vera.last_text == "How did your visit to Pat go? Tell me in a few taps."
    assert vera.inline_labels == ["📝 How did it go?", "Couldn't reach them"]

    await check_in(vera, "Yes", "Yes", "Yes", "No", note="All cosy, we had tea.")
    assert vera.last_text == (
        "<b>Your check-in for Pat</b>\nWarm enough: Yes\nFood in the house: Yes\n"
        "Medicines sorted: Yes\nAnything worrying: No\nNote: All cosy, we had tea.\n\nSend this?"
    )
    assert vera.inline_labels == ["✅ Send", "Start again"]
    await vera.taps("Send")
    assert vera.last_text == "Thank you for visiting Pat! 💛"

    stored = await visit(svc, visit_id)
    assert (stored["state"], stored["warm"], stored["food"], stored["medicines"]) == (
        "done",
        1,
        1,
        1,
    )
    assert (stored["worry"], stored["note"]) == (0, "All cosy, we had tea.")
    assert stored["reported_at"] == to_db(clock.now())
    assert await alerts(svc) == []
    await later(svc, clock, timedelta(days=1))
    assert coordinator.texts_since(seen_by_cora) == []
    assert count(vera, "How did your visit") == 1


async def test_start_again_asks_from_the_first_question(vera, svc):
    await planned_visit(svc, vera)
    await vera.presses(f"ck:start:{await _visit_id(svc)}")
    await check_in_from_question(vera, "No", "No", "No", "Yes")
    await vera.taps("Start again")
    assert "warm enough?" in vera.last_text
    await check_in_from_question(vera, "Yes", "Yes", "Yes", "No")
    await vera.taps("Send")
    assert vera.last_text == "Thank you for visiting Pat! 💛"
    assert await alerts(svc) == []


async def check_in_from_question(visitor: ChatMember, *answers: str) -> None:
    for answer in answers:
        await visitor.taps(answer)
    await visitor.taps("Skip")


async def _visit_id(svc: Any) -> int:
    return int(await svc.db.scalar("SELECT max(id) FROM visits"))


async def test_no_food_at_night_reaches_every_coordinator_at_once_until_one_is_on_it(
    vera, pat, coordinator, colin, svc, clock
):
    """03:00, quiet hours on (21:00-08:00 by default): an alert waits for nobody."""
    clock.set(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
    visit_id = await planned_visit(svc, vera, pat)
    seen_by_pat = len(pat.messages)
    await vera.presses(f"ck:start:{visit_id}")
    await check_in_from_question(vera, "Yes", "No", "Yes", "No")
    await vera.taps("Send")
    assert vera.last_text == (
        "Thank you for visiting Pat. I've told the coordinators at once, and one of them will"
        " look into it."
    )
    for each in (coordinator, colin):
        assert each.last_text.startswith(f"⚠️ <b>{ALERT}</b> (Riverside)\n")
        assert "Not OK: no food in the house\n" in each.last_text
        assert "Visitor: <a href=" in each.last_text
        assert "Contact: 07700 900123" in each.last_text
        assert each.inline_labels == ["🙋 I'm on it"]
        assert lines_of(each.last) <= SCREEN_LINES
    assert not any("Not OK" in text for text in pat.texts_since(seen_by_pat)), (
        "the patient never sees the alert"
    )
    (alert,) = await alerts(svc)
    assert (alert["reason"], alert["times_told"]) == ("worry", 1)

    await later(svc, clock, timedelta(minutes=29))
    assert count(coordinator, STILL_OPEN) == 0
    await later(svc, clock, timedelta(minutes=1))
    for each in (coordinator, colin):
        assert each.last_text.startswith(f"🔁 <b>{STILL_OPEN}</b>\n⚠️ <b>{ALERT}</b>")
    assert (await alerts(svc))[0]["times_told"] == 2

    await coordinator.taps("I'm on it")
    assert coordinator.last_text == (
        "Thank you, it's yours. Nobody will be reminded about Pat again."
    )
    await colin.taps("I'm on it")
    assert colin.last_text == "Cora is already on this one. Thank you!"
    await later(svc, clock, timedelta(hours=2))
    for each in (coordinator, colin):
        assert count(each, ALERT) == 2, "told twice, then no more"
    (alert,) = await alerts(svc)
    assert alert["acknowledged_by"] == await member_id(svc, coordinator)
    viewed = await svc.db.all("SELECT subject FROM audit_log WHERE action = 'viewed'")
    assert {row[0] for row in viewed} >= {
        f"member:{await member_id(svc, pat)}",
        f"member:{await member_id(svc, vera)}",
    }


async def test_forged_and_stale_presses_are_refused_kindly(vera, pat, person, coordinator, svc):
    mallory = await person("Mallory", 666)
    visit_id = await planned_visit(svc, vera, pat)
    for data in (f"ck:start:{visit_id}", f"ck:unreached:{visit_id}"):
        await mallory.presses(data)
        assert mallory.last_text == NOT_YOURS
    await mallory.presses(f"ck:send:{visit_id}")
    assert mallory.last_text == GONE
    await mallory.presses(f"ck:help:{visit_id}")
    assert mallory.last_text == NOT_YOURS
    for data in ("ck:start:999", "ck:unreached:999", "ck:food:999:0"):
        await vera.presses(data)
        assert vera.last_text == GONE
    assert (await visit(svc, visit_id))["state"] == "planned"

    await vera.presses(f"ck:start:{visit_id}")
    await check_in_from_question(vera, "No", "Yes", "Yes", "No")
    await vera.taps("Send")
    (alert,) = await alerts(svc)
    for presser in (vera, pat, mallory):
        await presser.presses(f"ck:onit:{alert['id']}")
        assert presser.last_text == REFUSED
    await coordinator.presses("ck:onit:999")
    assert coordinator.last_text == GONE
    assert (await alerts(svc))[0]["acknowledged_at"] is None
    await vera.presses(f"ck:start:{visit_id}")
    assert vera.last_text == "You've already told me how this visit went. Thank you!"
    await vera.presses(f"ck:warm:{visit_id}:1")
    assert vera.last_text == "You've already told me how this visit went. Thank you!"


async def test_a_double_tap_on_send_reports_once(vera, pat, coordinator, svc):
    visit_id = await planned_visit(svc, vera, pat)
    await vera.presses(f"ck:start:{visit_id}")
    await check_in_from_question(vera, "Yes", "Yes", "Yes", "Yes")
    await double_tap(vera, "Send")
    assert vera.last_text == "You've already told me how this visit went. Thank you!"
    assert count(vera, "Thank you for visiting Pat.") == 1
    assert len(await alerts(svc)) == 1
    assert count(coordinator, ALERT) == 1
    assert "The visitor is worried about something." in coordinator.last_text


async def test_a_check_in_left_half_way_offers_to_start_again(vera, svc):
    visit_id = await planned_visit(svc, vera)
    await vera.presses(f"ck:start:{visit_id}")
    await vera.taps("Yes")
    await vera.says("/cancel")  # the draft goes, the buttons stay
    await vera.presses(f"ck:food:{visit_id}:1")
    assert vera.last_text == "Sorry, I lost your answers. Please start again."
    assert vera.inline_labels == ["📝 How did it go?", "Couldn't reach them"]


async def test_an_alert_nobody_accepted_is_never_told_again_here_but_can_be_taken(
    vera, pat, coordinator, colin, svc, clock
):
    """Matching raises it (and tells it, once); "I'm on it" works on it all the same."""
    visit_id = await planned_visit(svc, vera, pat)
    async with svc.db.transaction() as tx:
        cursor = await tx.execute(
            "INSERT INTO visit_alerts (referral_id, reason, raised_at)"
            " SELECT referral_id, 'unmatched', ? FROM visits WHERE id = ?",
            (to_db(clock.now()), visit_id),
        )
    alert_id = cursor.lastrowid
    seen_by_cora = len(coordinator.messages)
    await later(svc, clock, timedelta(hours=3))
    assert coordinator.texts_since(seen_by_cora) == []
    await colin.presses(f"ck:onit:{alert_id}")
    assert colin.last_text == "Thank you, it's yours. Nobody will be reminded about Pat again."
    await coordinator.presses(f"ck:onit:{alert_id}")
    assert coordinator.last_text == "Colin is already on this one. Thank you!"


# --- couldn't reach them ---------------------------------------------------------------------


async def couldnt_reach(visitor: ChatMember, svc: Any, visit_id: int) -> None:
    await visitor.presses(f"ck:unreached:{visit_id}")


async def test_couldnt_reach_then_the_patient_is_ok_and_the_visitor_comes_again(
    vera, pat, coordinator, svc, clock
):
    visit_id = await planned_visit(svc, vera, pat, at=clock.now() + timedelta(hours=1))
    await later(svc, clock, timedelta(hours=2))
    await vera.taps("Couldn't reach them")
    assert vera.last_text == (
        "Thank you for trying. I'll ask Pat if they're OK, and tell you if they'd like you to"
        " come again."
    )
    assert pat.last_text == REACH
    assert pat.inline_labels == ["I'm OK, please come again", "I need help"]
    stored = await visit(svc, visit_id)
    assert (stored["state"], stored["reach_tries"]) == ("unreached", 3)
    await vera.taps("Couldn't reach them")
    assert vera.last_text == (
        "You've already told me you couldn't reach them. Thank you for trying."
    )

    await pat.taps("I'm OK, please come again")
    assert pat.last_text == "Glad you're OK! I've asked Vera to pick a new time with you."
    assert vera.last_text == (
        "Good news: Pat is OK and would like you to come again. Please pick a new time with them."
    )
    stored = await visit(svc, visit_id)
    assert (stored["state"], stored["scheduled_at"]) == ("planned", None)
    assert await alerts(svc) == []
    seen_by_cora = len(coordinator.messages)
    for _ in range(4):
        await later(svc, clock, timedelta(hours=8))
    assert count(pat, REACH) == 1, "the other tries are dropped"
    assert coordinator.texts_since(seen_by_cora) == []
    await pat.presses(f"ck:ok:{visit_id}")
    assert pat.last_text == "Thank you. A coordinator already knows and will be in touch."


async def test_a_patient_who_never_answers_reaches_the_coordinators_after_the_day(
    vera, pat, coordinator, svc, clock
):
    visit_id = await planned_visit(svc, vera, pat)
    await couldnt_reach(vera, svc, visit_id)
    assert count(pat, REACH) == 1
    await later(svc, clock, timedelta(hours=8))
    assert count(pat, REACH) == 2
    await later(svc, clock, timedelta(hours=8))
    assert count(pat, REACH) == 3
    (waiting,) = await alerts(svc)
    assert (waiting["reason"], waiting["times_told"]) == ("unreached", 0)
    await later(svc, clock, timedelta(hours=8, minutes=-1))
    assert count(coordinator, "Nobody could reach Pat") == 0
    await later(svc, clock, timedelta(minutes=1))
    assert coordinator.last_text.startswith("⚠️ <b>Nobody could reach Pat</b> (Riverside)\n")
    assert "they didn't answer me either" in coordinator.last_text
    assert (await alerts(svc))[0]["raised_at"] == to_db(clock.now()), "when first told"
    assert coordinator.inline_labels == ["🙋 I'm on it"]
    assert count(pat, REACH) == 3
    await later(svc, clock, timedelta(minutes=30))
    assert coordinator.last_text.startswith(f"🔁 <b>{STILL_OPEN}</b>")

    await pat.taps("I'm OK, please come again")  # too late: a coordinator has it
    assert pat.last_text == "Thank you. A coordinator already knows and will be in touch."
    assert (await visit(svc, visit_id))["state"] == "unreached"
    await coordinator.taps("I'm on it")
    assert coordinator.last_text.startswith("Thank you, it's yours.")


async def test_a_patient_who_needs_help_reaches_the_coordinators_at_once(
    vera, pat, coordinator, svc, clock
):
    visit_id = await planned_visit(svc, vera, pat)
    await couldnt_reach(vera, svc, visit_id)
    clock.advance(timedelta(hours=1))
    await pat.taps("I need help")
    assert pat.last_text == (
        "Thank you for telling me. I've told the coordinators, and one of them will be in"
        " touch soon."
    )
    assert coordinator.last_text.startswith("⚠️ <b>Pat says they need help</b> (Riverside)\n")
    assert "Their visitor <a href=" in coordinator.last_text
    (alert,) = await alerts(svc)
    assert (alert["reason"], alert["times_told"]) == ("worry", 1)
    assert alert["raised_at"] == to_db(clock.now()), "raised when the patient asked"
    await pat.presses(f"ck:help:{visit_id}")  # a second tap
    assert pat.last_text == "Thank you. A coordinator already knows and will be in touch."
    for _ in range(3):
        await later(svc, clock, timedelta(hours=8))
    assert count(pat, REACH) == 1, "no more tries once they answered"
    assert count(coordinator, "Pat says they need help") == 4, "again at each pass till then"
    await coordinator.taps("I'm on it")
    await later(svc, clock, timedelta(hours=1))
    assert count(coordinator, "Pat says they need help") == 4


async def test_a_patient_not_on_telegram_reaches_the_coordinators_at_once(vera, coordinator, svc):
    visit_id = await planned_visit(svc, vera, contact="01632 960001")
    await couldnt_reach(vera, svc, visit_id)
    assert vera.last_text == (
        "Thank you for trying. Pat isn't on Telegram, so I've asked the coordinators to reach them."
    )
    assert coordinator.last_text.startswith("⚠️ <b>Nobody could reach Pat</b> (Riverside)\n")
    assert "They aren't on Telegram." in coordinator.last_text
    assert "Contact: 01632 960001" in coordinator.last_text
    (alert,) = await alerts(svc)
    assert (alert["reason"], alert["times_told"]) == ("unreached", 1)
    assert (await visit(svc, visit_id))["reach_tries"] == 0


# --- prompts ----------------------------------------------------------------------------------


async def test_a_changed_time_moves_the_prompt(vera, svc, clock):
    visit_id = await planned_visit(svc, vera, at=clock.now() + timedelta(hours=1))
    await tick(svc)
    async with svc.db.transaction() as tx:
        await tx.execute(
            "UPDATE visits SET scheduled_at = ? WHERE id = ?",
            (to_db(clock.now() + timedelta(hours=5)), visit_id),
        )
    await later(svc, clock, timedelta(hours=3))
    assert count(vera, "How did your visit to Pat go?") == 0
    await later(svc, clock, timedelta(hours=3))
    assert count(vera, "How did your visit to Pat go?") == 1


async def test_a_follow_up_is_prompted_on_its_day(vera, pat, svc, clock):
    first = await planned_visit(svc, vera, pat)
    await vera.presses(f"ck:start:{first}")
    await check_in_from_question(vera, "Yes", "Yes", "Yes", "No")
    await vera.taps("Send")
    due = clock.now().date() + timedelta(days=1)
    second = await follow_up(svc, first, due)
    await tick(svc)
    clock.set(datetime.combine(due, time(9, 59), tzinfo=UTC))
    await tick(svc)
    assert count(vera, "follow-up") == 0
    await later(svc, clock, timedelta(minutes=1))  # 10:00 in London, which is UTC in November
    assert vera.last_text == ("Time for a follow-up call or visit with Pat. Tell me how it went.")
    assert vera.inline_labels == ["📝 How did it go?", "Couldn't reach them"]
    await check_in(vera, "Yes", "Yes", "Yes", "No")
    await vera.taps("Send")
    assert (await visit(svc, second))["state"] == "done"


async def test_a_spanish_visitor_checks_in_in_spanish(vera, coordinator, svc, clock):
    await vera.says("/language")
    await vera.taps("Español")
    await planned_visit(svc, vera, at=clock.now())
    await later(svc, clock, timedelta(hours=1))
    assert vera.last_text == "¿Qué tal fue tu visita a Pat? Cuéntamelo en unos toques."
    assert vera.inline_labels == ["📝 ¿Qué tal fue?", "No pude localizarle"]
    await vera.taps("¿Qué tal fue?")
    assert vera.last_text == "<b>Tu visita a Pat</b>\n\n¿Su casa está lo bastante caliente?"
    for answer in ("No", "Sí", "Sí", "No"):
        await vera.taps(answer)
    await vera.taps("Saltar")
    assert vera.last_text.startswith("<b>Tu informe sobre Pat</b>\nCasa caliente: No\n")
    await vera.taps("Enviar")
    assert vera.last_text.startswith("Gracias por visitar a Pat. Ya he avisado")
    assert any("Not OK: not warm enough" in m.text for m in coordinator.messages), (
        "the coordinator's own language"
    )
