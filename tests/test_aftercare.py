"""After a visit: the patient (or a coordinator) confirms it and the visitor is credited once;
a first visit moves the referral on, tells the ward and plans the follow-ups; weeks later the
patient is asked, once, whether they would visit someone too; the loneliness check at the
first and the last contact.

The rows a visit starts from (an accepted referral, a visit reported done) are written here
as matching and check-ins write them, by `accepted_referral` and `visit_done`.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Config, VisitsSection, Ward
from bot.outbound.scheduler import tick
from bot.sandbox.standin import ChatMember
from bot.ui.i18n import t
from storage import aftercare, ledger, members
from storage.db import Database
from storage.errors import DomainError
from storage.models import Referral, to_db
from storage.visit_rules import VisitRules
from tests.conftest import make_config
from tests.test_exchanges import member_id
from tests.test_safety import double_tap

WARD_COORDINATOR_ID = 950
ASKED = "Hello! Did Vic visit you? 🏠"
REFUSED = "Sorry, only a coordinator can do that."
NOT_YOURS = "Sorry, only the people involved can do that."
ALREADY = "All done already: this was confirmed. Thank you!"
OFFER = t("aftercare.loneliness_offer")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """Ward 7 has a coordinator on Telegram; Ward 9 names none."""
    wards = [
        Ward(code="ward7", name="Ward 7", coordinator=WARD_COORDINATOR_ID),
        Ward(code="ward9", name="Ward 9"),
    ]
    return make_config(tmp_path).model_copy(update={"visits": VisitsSection(wards=wards)})


@pytest.fixture
async def mary(person):
    return await person("Mary", 201)


@pytest.fixture
async def vic(person):
    return await person("Vic", 202)


# --- the rows other parts write ---------------------------------------------------------------


async def accepted_referral(
    db: Database,
    *,
    patient: int | None,
    visitor: int,
    discharged_at: datetime,
    ward: str | None = "ward7",
) -> tuple[int, int]:
    """A referral as matching leaves it when a visitor accepts: 'accepted', with its code
    word, and visit number 1 planned. Returns the referral's id and the visit's."""
    at = to_db(discharged_at)
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "INSERT INTO referrals (patient_id, first_name, area, discharged_at, ward, source,"
            " state, visitor_id, code_word, accepted_at, created_at, updated_at)"
            " VALUES (?, 'Mary', 'Riverside', ?, ?, ?, 'accepted', ?, 'apple', ?, ?, ?)",
            (patient, at, ward, "ward" if patient else "coordinator", visitor, at, at, at),
        )
        referral_id = cursor.lastrowid
        cursor = await tx.execute(
            "INSERT INTO visits (referral_id, visitor_id, number, state, created_at, updated_at)"
            " VALUES (?, ?, 1, 'planned', ?, ?)",
            (referral_id, visitor, at, at),
        )
    assert referral_id is not None
    assert cursor.lastrowid is not None
    return referral_id, cursor.lastrowid


async def visit_done(
    db: Database,
    visit_id: int,
    now: datetime,
    rules: VisitRules,
    scheduled_at: datetime | None = None,
) -> None:
    """As check-ins reports a visit: done, with its answers, and aftercare called in the
    same transaction."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE visits SET state = 'done', scheduled_at = COALESCE(?, scheduled_at),"
            " warm = 1, food = 1, medicines = 1, worry = 0, reported_at = ?, updated_at = ?"
            " WHERE id = ? AND state = 'planned'",
            (to_db(scheduled_at) if scheduled_at else None, to_db(now), to_db(now), visit_id),
        )
        await aftercare.on_visit_done(tx, visit_id, now, rules)


async def first_visit_done(
    svc, patient: ChatMember | None, visitor: ChatMember, ward: str | None = "ward7"
) -> tuple[int, int]:
    """Discharged yesterday, visited this morning, reported now; the notices sent."""
    now = svc.clock.now()
    patient_id = await member_id(svc, patient) if patient else None
    referral_id, visit_id = await accepted_referral(
        svc.db,
        patient=patient_id,
        visitor=await member_id(svc, visitor),
        discharged_at=now - timedelta(days=1),
        ward=ward,
    )
    await visit_done(svc.db, visit_id, now, svc.visits, scheduled_at=now - timedelta(hours=1))
    await tick(svc)
    return referral_id, visit_id


async def referral_of(svc, referral_id: int) -> Referral:
    referral = await aftercare.referral(svc.db, referral_id)
    assert referral is not None
    return referral


async def visit_credits(svc) -> int:
    return int(await svc.db.scalar("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'visit'"))


async def outbox_rows(svc, kind: str) -> int:
    return int(await svc.db.scalar("SELECT COUNT(*) FROM outbox WHERE kind = ?", (kind,)))


# --- confirming -------------------------------------------------------------------------------


async def test_the_patient_confirms_and_the_visitor_is_credited_once(mary, vic, svc):
    _, visit_id = await first_visit_done(svc, mary, vic)
    assert mary.last_text == ASKED
    assert mary.inline_labels == ["✅ Yes", "No"]
    await double_tap(mary, "Yes")
    assert mary.texts_since(len(mary.messages) - 3) == [
        "Thank you! We're so glad Vic came by. 💛",
        OFFER,  # the loneliness check, at the first contact
        ALREADY,  # the second tap
    ]
    vic_id = await member_id(svc, vic)
    assert await ledger.balance(svc.db, vic_id) == 60
    assert await ledger.total(svc.db) == 0
    assert await visit_credits(svc) == 1
    confirmed = await svc.db.one(
        "SELECT confirmed_by, confirmed_at FROM visits WHERE id = ?", (visit_id,)
    )
    assert confirmed[0] == await member_id(svc, mary)
    assert confirmed[1] is not None
    assert vic.last_text == (
        "Thank you for visiting Mary! 💛\n\n"
        "1 hour went into your hours. Your balance is now 1 hour."
    )
    await vic.says("/history")
    assert "🏠 you visited Mary · 1 hour" in vic.last_text
    await vic.says("/balance")
    assert "1 hour" in vic.last_text


async def test_the_patient_says_no_and_coordinators_look_into_it(mary, vic, coordinator, svc):
    _, visit_id = await first_visit_done(svc, mary, vic)
    seen_by_vic = len(vic.messages)
    await double_tap(mary, "No")
    assert mary.texts_since(len(mary.messages) - 2)[0] == t("aftercare.denied_thanks")
    assert coordinator.last_text.startswith("⚠️ Mary says Vic didn't visit them (Riverside,")
    assert await outbox_rows(svc, "visit_denied") == 1, "told once, however often pressed"
    assert vic.texts_since(seen_by_vic) == [], "the visitor is not told"
    assert await visit_credits(svc) == 0
    await coordinator.taps("Confirm visit")  # she checked: it did happen
    assert coordinator.last_text == "Confirmed. Vic gets 1 hour for visiting Mary. Thank you!"
    assert await ledger.balance(svc.db, await member_id(svc, vic)) == 60
    await mary.presses(f"af:no:{visit_id}")  # her old button, after it was confirmed
    assert mary.last_text == ALREADY


async def test_a_coordinator_confirms_for_a_patient_not_on_telegram(vic, coordinator, person, svc):
    bob = await person("Bob", 102)
    _, visit_id = await first_visit_done(svc, None, vic)
    assert coordinator.last_text.startswith("🏠 Vic visited Mary (Riverside) on ")
    assert "Mary isn't on Telegram" in coordinator.last_text
    assert coordinator.inline_labels == ["✅ Confirm visit"]
    assert coordinator.last.inline_buttons[0]["callback_data"] == f"af:confirm:{visit_id}"
    await bob.presses(f"af:confirm:{visit_id}")  # forged
    assert bob.last_text == REFUSED
    await vic.presses(f"af:confirm:{visit_id}")  # nobody confirms their own visit
    assert vic.last_text == NOT_YOURS
    assert await visit_credits(svc) == 0
    await double_tap(coordinator, "Confirm visit")
    assert coordinator.texts_since(len(coordinator.messages) - 2) == [
        "Confirmed. Vic gets 1 hour for visiting Mary. Thank you!",
        ALREADY,
    ]
    assert await ledger.balance(svc.db, await member_id(svc, vic)) == 60
    assert await ledger.total(svc.db) == 0


# --- the first visit ----------------------------------------------------------------------------


async def test_a_first_visit_moves_the_referral_on_and_tells_the_ward(mary, vic, person, svc):
    wanda = await person("Wanda", WARD_COORDINATOR_ID)
    now = svc.clock.now()
    referral_id, _ = await first_visit_done(svc, mary, vic)
    referral = await referral_of(svc, referral_id)
    assert referral.state == "visited"
    assert referral.first_visit_at == now - timedelta(hours=1)  # its time, not its report's
    assert wanda.last_text == "🏠 Mary from Ward 7 had their first visit."


async def test_a_first_visit_plans_the_follow_ups_and_a_follow_up_tells_nobody_again(
    mary, vic, person, svc
):
    wanda = await person("Wanda", WARD_COORDINATOR_ID)
    referral_id, _ = await first_visit_done(svc, mary, vic)
    rows = await svc.db.all(
        "SELECT number, due_on, visitor_id, state FROM visits WHERE referral_id = ?"
        " AND number > 1 ORDER BY number",
        (referral_id,),
    )
    first_day = (svc.clock.now() - timedelta(hours=1)).astimezone(svc.config.zone).date()
    vic_id = await member_id(svc, vic)
    assert [tuple(row) for row in rows] == [
        (number, (first_day + timedelta(days=days)).isoformat(), vic_id, "planned")
        for number, days in ((2, 2), (3, 7), (4, 14))
    ]
    svc.clock.advance(timedelta(days=2))
    follow_up = rows[0]
    visit_id = await svc.db.scalar(
        "SELECT id FROM visits WHERE referral_id = ? AND number = ?",
        (referral_id, follow_up[0]),
    )
    seen_by_mary = len(mary.messages)
    await visit_done(svc.db, visit_id, svc.clock.now(), svc.visits)
    await tick(svc)
    assert ASKED in mary.texts_since(seen_by_mary), "each visit is confirmed"
    told = [m.text for m in wanda.messages if m.text.endswith("had their first visit.")]
    assert len(told) == 1
    assert (
        await svc.db.scalar("SELECT COUNT(*) FROM visits WHERE referral_id = ?", (referral_id,))
        == 4
    )


async def test_a_ward_with_no_coordinator_named_tells_nobody(mary, vic, svc):
    referral_id, _ = await first_visit_done(svc, mary, vic, ward="ward9")
    assert (await referral_of(svc, referral_id)).state == "visited"
    assert await outbox_rows(svc, "first_visit_done") == 0


# --- pay it forward -----------------------------------------------------------------------------


async def test_pay_it_forward_is_asked_once_at_its_time_and_no_is_respected(mary, vic, svc):
    referral_id, _ = await first_visit_done(svc, mary, vic)
    await mary.taps("Yes")
    referral = await referral_of(svc, referral_id)
    assert referral.pay_forward == "asked"
    due = aftercare.pay_forward_due(referral, svc.visits)
    assert due.astimezone(svc.config.zone).hour == 11
    assert due.date() == (referral.discharged_at + timedelta(weeks=6)).date()
    svc.clock.set(due - timedelta(minutes=1))
    await tick(svc)
    question = t("aftercare.pay_forward", name="Vic")
    assert question not in [m.text for m in mary.messages]
    svc.clock.set(due)
    await tick(svc)
    asked = next(m for m in mary.messages if m.text == question)
    assert question.startswith("You've been visited by Vic. Now you're feeling better")
    buttons = {b["text"]: b["callback_data"] for b in asked.inline_buttons}
    assert buttons == {
        "Yes, I'd like to": f"vo:signup:{referral_id}:fwd",
        "No, thank you": f"af:fwdno:{referral_id}",
    }
    assert OFFER in mary.texts_since(mary.messages.index(asked)), "the check comes with it"
    await double_tap(mary, "No, thank you")
    declined = t("aftercare.pay_forward_declined")
    assert mary.texts_since(len(mary.messages) - 2) == [declined, declined]
    assert (await referral_of(svc, referral_id)).pay_forward == "no"
    svc.clock.advance(timedelta(weeks=10))
    await tick(svc)
    assert [m.text for m in mary.messages].count(question) == 1
    assert await outbox_rows(svc, "pay_forward_ask") == 1


async def test_a_patient_not_on_telegram_is_not_asked_to_pay_it_forward(vic, coordinator, svc):
    referral_id, _ = await first_visit_done(svc, None, vic)
    await coordinator.taps("Confirm visit")
    assert (await referral_of(svc, referral_id)).pay_forward is None
    assert await outbox_rows(svc, "pay_forward_ask") == 0
    assert await outbox_rows(svc, "loneliness_offer") == 0


# --- the loneliness check -----------------------------------------------------------------------


async def answer_loneliness(patient: ChatMember, *answers: str) -> None:
    """Tap "OK" on the latest offer, then each answer; the questions take the offer's place."""
    offer = next(m for m in reversed(patient.messages) if m.text == OFFER and m.inline_buttons)
    await patient.taps("OK")
    for question, answer in zip(("companionship", "left_out", "isolated"), answers, strict=True):
        assert offer.text == t(f"aftercare.question_{question}")
        assert [b["text"] for b in offer.inline_buttons] == [
            "Hardly ever",
            "Some of the time",
            "Often",
        ]
        await patient.taps(answer)
    assert offer.text == t("aftercare.loneliness_thanks")
    assert offer.inline_buttons == []


async def scores(svc, referral_id: int) -> list[tuple[Any, ...]]:
    rows = await svc.db.all(
        "SELECT stage, companionship, left_out, isolated FROM loneliness_scores"
        " WHERE referral_id = ? ORDER BY id",
        (referral_id,),
    )
    return [tuple(row) for row in rows]


async def test_loneliness_answers_are_kept_at_both_stages_once_each(mary, vic, person, svc):
    referral_id, _ = await first_visit_done(svc, mary, vic)
    await mary.taps("Yes")
    assert mary.last_text == OFFER
    assert mary.inline_labels == ["OK", "Not now"]
    last_before = f"af:lonely:{referral_id}:l"
    await mary.presses(last_before)  # forged: the last check isn't due for weeks
    assert mary.last_text == t("errors.gone")
    bob = await person("Bob", 102)
    await bob.presses(f"af:lonely:{referral_id}:f")
    assert bob.last_text == NOT_YOURS
    await answer_loneliness(mary, "Often", "Some of the time", "Hardly ever")
    await mary.presses(f"af:lonely:{referral_id}:f333")  # a second set
    assert mary.last_text == t("aftercare.answered")
    await mary.presses(f"af:lonely:{referral_id}:f")
    assert mary.last_text == t("aftercare.answered")
    assert await scores(svc, referral_id) == [("first", 3, 2, 1)]

    referral = await referral_of(svc, referral_id)
    seen_by_mary = len(mary.messages)
    svc.clock.set(aftercare.pay_forward_due(referral, svc.visits))
    await tick(svc)
    assert OFFER in mary.texts_since(seen_by_mary), "with the pay-it-forward question"
    await answer_loneliness(mary, "Hardly ever", "Hardly ever", "Some of the time")
    assert await scores(svc, referral_id) == [("first", 3, 2, 1), ("last", 1, 1, 2)]


async def test_not_now_keeps_nothing_and_the_offer_is_not_sent_once_answered(mary, vic, svc):
    referral_id, _ = await first_visit_done(svc, mary, vic)
    await mary.taps("Yes")
    await mary.taps("Not now")
    assert mary.last_text == t("aftercare.not_now_reply")
    assert await scores(svc, referral_id) == []
    await mary.presses(f"af:lonely:{referral_id}:x12")  # no such stage
    assert mary.last_text == t("errors.gone")


# --- Spanish ------------------------------------------------------------------------------------


async def test_a_spanish_patient_is_asked_in_spanish(vic, person, svc):
    ana = await person("Ana", 203, joined=False)
    ana.language_code = "es"
    await join_in_spanish(ana)
    await first_visit_done(svc, ana, vic)
    assert ana.last_text == "¡Hola! ¿Te visitó Vic? 🏠"
    assert ana.inline_labels == ["✅ Sí", "No"]
    await ana.taps("Sí")
    assert ana.messages[-2].text == "¡Gracias! Nos alegra mucho que Vic fuera a verte. 💛"


async def join_in_spanish(member: ChatMember) -> None:
    await member.says("/start")
    await member.taps(member.first_name)
    await member.taps("Riverside")
    await member.taps(t("join.agree", "es"))


# --- the ledger stays whole ---------------------------------------------------------------------

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PEOPLE = 4  # 0 is a coordinator
RULES = VisitRules(visit_minutes=60)

visit_step = st.one_of(
    # a visit for (patient or nobody on Telegram, visitor), reported done
    st.tuples(st.just("visit"), st.integers(-1, PEOPLE - 1), st.integers(0, PEOPLE - 1)),
    # someone presses Yes / Confirm visit on a visit, or No
    st.tuples(st.just("confirm"), st.integers(0, 9), st.integers(0, PEOPLE - 1)),
    st.tuples(st.just("deny"), st.integers(0, 9), st.integers(0, PEOPLE - 1)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(visit_step, min_size=1, max_size=30))
def test_visit_credits_keep_the_ledger_whole(steps: list[tuple[Any, ...]]) -> None:
    """Whoever presses, however often: every confirmed visit is credited exactly once, from
    the community account, and the entries sum to zero."""
    asyncio.run(_play(steps))


async def _play(steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = await Database.open(Path(folder) / "visits.sqlite3")
        try:
            ids = [await _member(db, n) for n in range(PEOPLE)]
            visits: list[int] = []
            for action, first, second in steps:
                with contextlib.suppress(DomainError):
                    await _do(db, ids, visits, action, first, second)
                await _check(db, ids)
        finally:
            await db.close()


async def _do(
    db: Database, ids: list[int], visits: list[int], action: str, first: int, second: int
) -> None:
    if action == "visit":
        patient = ids[first] if first >= 0 else None
        _, visit_id = await accepted_referral(
            db, patient=patient, visitor=ids[second], discharged_at=NOW
        )
        await visit_done(db, visit_id, NOW, RULES)
        visits.append(visit_id)
    elif visits:
        visit_id, by = visits[first % len(visits)], ids[second]
        if action == "confirm":
            await aftercare.confirm(db, visit_id=visit_id, by=by, now=NOW, rules=RULES)
        else:
            await aftercare.deny(db, visit_id=visit_id, by=by, now=NOW)


async def _check(db: Database, ids: list[int]) -> None:
    assert await ledger.total(db) == 0
    unconfirmed_credits = await db.scalar(
        "SELECT COUNT(*) FROM ledger_transactions t JOIN visits v ON v.id = t.visit_id"
        " WHERE v.confirmed_at IS NULL"
    )
    assert unconfirmed_credits == 0
    confirmed = await db.all(
        "SELECT v.visitor_id, v.confirmed_by, r.patient_id FROM visits v"
        " JOIN referrals r ON r.id = v.referral_id WHERE v.confirmed_at IS NOT NULL"
    )
    for visitor, by, patient in confirmed:
        assert by != visitor, "nobody confirms their own visit"
        assert by in (patient, ids[0]), "only the patient or a coordinator"
    for member_id_ in ids:
        earned = sum(RULES.visit_minutes for row in confirmed if row[0] == member_id_)
        assert await ledger.balance(db, member_id_) == earned
    credited = await db.scalar("SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'visit'")
    assert credited == len(confirmed)


async def _member(db: Database, n: int) -> int:
    member = await members.join(
        db,
        telegram_id=3000 + n,
        display_name=f"P{n}",
        username=None,
        neighbourhood=None,
        join_source=None,
        coordinator=n == 0,
        approved=True,
        now=NOW,
    )
    return member.id


def test_answers_travel_in_the_buttons_and_fit_telegrams_limit():
    from bot.ui.aftercare_keyboards import loneliness_answers, pack_answers, unpack_answers

    assert unpack_answers(pack_answers("last", (3, 1))) == ("last", (3, 1))
    for forged in ("", "x", "f4", "f1234", "l²", "first"):
        assert unpack_answers(forged) is None
    markup = loneliness_answers(10**12 - 1, "first", (3, 3))
    assert all(
        len(str(b.callback_data).encode()) <= 64 for row in markup.inline_keyboard for b in row
    )
