"""Matching a discharged patient with a visitor: one offer at a time, fewest recent visits
first, moving on after "Can't this time" or no answer, coordinators told once at the deadline;
the address only after a yes, each showing logged; the code word; the visit's time and its
reminders. Visitors and referrals are written as rows here (their own flows have their tests)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.app import build_application, running
from bot.outbound.scheduler import tick
from bot.sandbox.standin import ChatMember
from bot.ui.i18n import t
from storage import matching, safety
from storage.forget import forget
from storage.models import to_db
from tests.test_exchanges import member_id

HOUR = timedelta(hours=1)
ADDRESS = "14 Larch Close"
NOTES = "Diabetic; knock loudly"


async def make_visitor(svc, person: ChatMember, *areas: str, expires: str = "2027-11-01") -> int:
    """An approved visitor with a check valid until `expires`, reaching `areas`."""
    visitor = await member_id(svc, person)
    now = to_db(svc.clock.now())
    async with svc.db.transaction() as tx:
        await tx.execute(
            "INSERT INTO visitors (member_id, status, check_expires_on, applied_at, updated_at)"
            " VALUES (?, 'approved', ?, ?, ?)",
            (visitor, expires, now, now),
        )
        for area in areas or ("Riverside",):
            await tx.execute(
                "INSERT INTO visitor_areas (area, member_id) VALUES (?, ?)", (area, visitor)
            )
    return visitor


async def refer(
    svc, *, patient: ChatMember | None = None, area: str = "Riverside", hours_ago: int = 1
) -> int:
    """A referral still looking for a visitor, discharged `hours_ago`."""
    now = svc.clock.now()
    patient_id = await member_id(svc, patient) if patient else None
    coordinator = await svc.db.scalar("SELECT id FROM members WHERE role = 'coordinator'")
    async with svc.db.transaction() as tx:
        cursor = await tx.execute(
            "INSERT INTO referrals (patient_id, first_name, area, contact, address, needs,"
            " notes, discharged_at, source, registered_by, created_at, updated_at)"
            " VALUES (?, 'Mary', ?, '07700 900123', ?, '[\"heating\", \"food\"]', ?, ?,"
            " 'coordinator', ?, ?, ?)",
            (
                patient_id,
                area,
                ADDRESS,
                NOTES,
                to_db(now - hours_ago * HOUR),
                coordinator,
                to_db(now),
                to_db(now),
            ),
        )
        referral_id = int(cursor.lastrowid or 0)
    return referral_id


async def offers(svc) -> list[tuple[int, str]]:
    rows = await svc.db.all("SELECT visitor_id, state FROM visit_offers ORDER BY id")
    return [(row[0], row[1]) for row in rows]


async def past_visits(svc, visitor: int, count: int, days_ago: int = 10) -> None:
    """Visits the visitor made lately, on referrals of their own."""
    for _ in range(count):
        referral = await refer(svc)
        reported = to_db(svc.clock.now() - timedelta(days=days_ago))
        async with svc.db.transaction() as tx:
            await tx.execute(
                "UPDATE referrals SET state = 'visited', visitor_id = ?, code_word = 'x'"
                " WHERE id = ?",
                (visitor, referral),
            )
            await tx.execute(
                "INSERT INTO visits (referral_id, visitor_id, number, state, reported_at,"
                " created_at, updated_at) VALUES (?, ?, 1, 'done', ?, ?, ?)",
                (referral, visitor, reported, reported, reported),
            )


async def code_word(svc, referral_id: int) -> str:
    found = await matching.get_referral(svc.db, referral_id)
    assert found is not None
    assert found.code_word is not None
    return found.code_word


def saw(person: ChatMember, words: str) -> bool:
    return any(words in message.text for message in person.messages)


async def test_the_visitor_with_fewest_recent_visits_is_asked_first(person, svc):
    busy, free = await person("Bea", 201), await person("Finn", 202)
    for visitor, count in ((await make_visitor(svc, busy), 2), (await make_visitor(svc, free), 0)):
        await past_visits(svc, visitor, count)
    await svc.db.all("DELETE FROM visit_offers")
    await refer(svc)
    await tick(svc)
    assert await offers(svc) == [(await member_id(svc, free), "open")]
    assert free.last_text.startswith("🏠 Can you visit someone just home from hospital?")
    assert "Riverside" in free.last_text
    assert "heating, food in the house" in free.last_text
    assert ADDRESS not in free.last_text
    assert NOTES not in free.last_text
    assert "Mary" not in free.last_text, "no name before a yes"
    assert free.inline_labels == ["✅ Yes, I'll visit", "Can't this time"]
    assert not saw(busy, "Can you visit"), "one at a time"


async def test_only_approved_visitors_with_a_valid_check_in_the_area_who_can_meet(
    person, svc, coordinator
):
    patient = await person("Mary", 300)
    elsewhere, expired, paused, blocked, ok = [
        await person(name, 210 + i) for i, name in enumerate(("Ed", "Ex", "Pam", "Bo", "Ola"))
    ]
    await make_visitor(svc, elsewhere, "Old Town")
    await make_visitor(svc, expired, expires="2026-11-01")
    await make_visitor(svc, paused)
    await make_visitor(svc, blocked)
    ok_id = await make_visitor(svc, ok)
    await make_visitor(svc, patient)  # a patient is never asked to visit themselves
    await svc.db.all(
        "UPDATE members SET paused_at = ? WHERE id = ?",
        (to_db(svc.clock.now()), await member_id(svc, paused)),
    )
    await safety.block(
        svc.db,
        member_id=await member_id(svc, patient),
        other_id=await member_id(svc, blocked),
        now=svc.clock.now(),
    )
    await refer(svc, patient=patient)
    await tick(svc)
    assert await offers(svc) == [(ok_id, "open")]
    await ok.taps("Can't this time")
    assert ok.last_text == t("visit.declined")
    await tick(svc)
    assert await offers(svc) == [(ok_id, "declined")], "nobody else may be asked"
    for person_ in (elsewhere, expired, paused, blocked, patient):
        assert not saw(person_, "Can you visit")


async def test_no_answer_in_time_moves_to_the_next_and_the_old_yes_is_kindly_refused(
    person, svc, clock
):
    first, second = await person("Bea", 201), await person("Finn", 202)
    await make_visitor(svc, first)
    await make_visitor(svc, second)
    await refer(svc)
    await tick(svc)
    asked = first if saw(first, "Can you visit") else second
    other = second if asked is first else first
    clock.advance(svc.visits.offer_answer - timedelta(minutes=1))
    await tick(svc)
    assert not saw(other, "Can you visit")
    clock.advance(timedelta(minutes=1))
    await tick(svc)
    assert saw(other, "Can you visit")
    await asked.taps("Yes, I'll visit")
    assert asked.last_text == t("visit.offer_gone")
    assert not saw(asked, ADDRESS)
    assert [state for _, state in await offers(svc)] == ["timed_out", "open"]


async def test_a_yes_shows_the_details_logs_it_and_tells_the_patient_the_code_word(person, svc):
    patient = await person("Mary", 300)
    visitor = await person("Bea", 201)
    bea = await make_visitor(svc, visitor)
    referral = await refer(svc, patient=patient)
    await tick(svc)
    await visitor.taps("Yes, I'll visit")
    card = visitor.last_text
    assert card.startswith("<b>Visiting Mary</b>")
    for detail in (ADDRESS, "07700 900123", NOTES, "heating, food in the house"):
        assert detail in card
    word = await code_word(svc, referral)
    assert word in t("visit.code_words").split()
    assert f"say the word <b>{word}</b>" in card
    assert visitor.inline_labels == ["🕐 Set a time", "📝 How did it go?", "Couldn't reach them"]
    assert patient.last_text.startswith("Good news: Bea will visit you at home")
    assert f"the word <b>{word}</b>" in patient.last_text
    assert ADDRESS not in patient.last_text
    shown = await svc.db.all(
        "SELECT actor_id, subject, detail FROM audit_log WHERE action = 'viewed'"
    )
    assert [tuple(row) for row in shown] == [
        (bea, f"referral:{referral}", '{"what": "visit_details"}')
    ]
    visit = await svc.db.one("SELECT number, state, visitor_id FROM visits")
    assert tuple(visit) == (1, "planned", bea)
    offer = await svc.db.scalar("SELECT id FROM visit_offers")
    await visitor.presses(f"vi:yes:{offer}")  # a second tap, before the buttons went
    assert visitor.last_text.startswith("<b>Visiting Mary</b>"), "the card again"
    assert await svc.db.scalar("SELECT COUNT(*) FROM visits") == 1


async def test_a_patient_off_telegram_hears_it_from_their_coordinator(person, svc, coordinator):
    visitor = await person("Bea", 201)
    await make_visitor(svc, visitor)
    await refer(svc)
    await tick(svc)
    await visitor.taps("Yes, I'll visit")
    assert '">Bea</a> will visit Mary (Riverside).' in coordinator.last_text
    assert "isn't on Telegram" in coordinator.last_text


async def test_someone_elses_offer_or_card_is_refused(person, svc):
    visitor, nosy = await person("Bea", 201), await person("Nell", 202)
    await make_visitor(svc, visitor)
    referral = await refer(svc)
    await tick(svc)
    offer = await svc.db.scalar("SELECT id FROM visit_offers")
    await nosy.presses(f"vi:yes:{offer}")
    assert nosy.last_text == t("errors.not_yours")
    await nosy.presses(f"vi:no:{offer}")
    assert nosy.last_text == t("errors.not_yours")
    await visitor.taps("Yes, I'll visit")
    await nosy.presses(f"vi:card:{referral}")
    assert nosy.last_text == t("errors.not_yours")
    assert not saw(nosy, ADDRESS)
    await nosy.presses("vi:yes:99999")
    assert nosy.last_text == t("errors.gone")


async def test_nobody_accepting_tells_every_coordinator_once_at_the_deadline(
    person, svc, clock, coordinator
):
    cleo = await person("Cleo", 901)
    await svc.db.all("UPDATE members SET role = 'coordinator' WHERE telegram_id = 901")
    await refer(svc, hours_ago=0)
    clock.advance(svc.visits.match_deadline - timedelta(minutes=1))
    await tick(svc)
    assert not saw(coordinator, "Nobody has taken a visit yet")
    clock.advance(timedelta(minutes=1))
    for _ in range(3):
        await tick(svc)
        clock.advance(HOUR)
    for who in (coordinator, cleo):
        assert sum("Nobody has taken a visit yet" in m.text for m in who.messages) == 1
    assert "Mary (Riverside) has been home for 24 hours" in coordinator.last_text


async def test_a_visitor_approved_later_is_asked_then(person, svc):
    await refer(svc)
    await tick(svc)
    visitor = await person("Bea", 201)
    await make_visitor(svc, visitor)
    await tick(svc)
    assert saw(visitor, "Can you visit")


async def test_a_restart_in_the_middle_of_matching_asks_nobody_twice(
    person, svc, config, api, clock
):
    """A second Application on the same file, as after a crash: it carries on from the rows."""
    first, second = await person("Bea", 201), await person("Finn", 202)
    await make_visitor(svc, first)
    await make_visitor(svc, second)
    await refer(svc)
    await tick(svc)
    again = build_application(config, request=api, clock=clock, background=False)
    async with running(again):
        from bot.services import services_of

        fresh = services_of(again)
        for _ in range(3):
            await tick(fresh)
        assert [state for _, state in await offers(fresh)] == ["open"]
        clock.advance(svc.visits.offer_answer)
        await tick(fresh)
        await tick(fresh)
        rows = await offers(fresh)
    assert [state for _, state in rows] == ["timed_out", "open"]
    assert len({visitor for visitor, _ in rows}) == 2
    asked = sum(saw(p, "Can you visit") for p in (first, second))
    assert asked == 2
    assert all(sum("Can you visit" in m.text for m in p.messages) == 1 for p in (first, second))


async def set_visit_time(visitor: ChatMember, day: str, hour: str) -> None:
    await visitor.taps("Set a time")
    await visitor.taps(day)
    await visitor.taps(hour)


async def accepted_visit(person, svc) -> tuple[ChatMember, ChatMember, int]:
    patient, visitor = await person("Mary", 300), await person("Bea", 201)
    await make_visitor(svc, visitor)
    referral = await refer(svc, patient=patient)
    await tick(svc)
    await visitor.taps("Yes, I'll visit")
    return patient, visitor, referral


async def test_the_visitor_sets_a_time_the_patient_hears_and_both_are_reminded(person, svc, clock):
    patient, visitor, referral = await accepted_visit(person, svc)
    word = await code_word(svc, referral)
    # 23 Nov 2026 is a Monday; Wednesday 25th at 14:00 (London = UTC in November).
    await set_visit_time(visitor, "Wed 25 Nov", "14:00")
    assert visitor.last_text.startswith("Set for Wednesday 25 November at 14:00")
    assert "I'll remind you the day before and an hour before" in visitor.last_text
    assert patient.last_text == (
        f"📅 Bea will visit you on Wednesday 25 November at 14:00. At your door they'll say"
        f" the word <b>{word}</b>."
    )
    clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=clock.now().tzinfo))
    await tick(svc)
    assert visitor.last_text.startswith("⏰ Reminder: you're visiting Mary on Wednesday")
    assert visitor.inline_labels == ["Show details"]
    assert patient.last_text.startswith("⏰ Reminder: Bea visits you on Wednesday")
    await visitor.taps("Show details")
    assert ADDRESS in visitor.last_text
    assert "🕐 Visit: Wednesday 25 November" in visitor.last_text
    assert await svc.db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'viewed'") == 2
    clock.set(datetime(2026, 11, 25, 13, 0, tzinfo=clock.now().tzinfo))
    await tick(svc)
    assert visitor.last_text.startswith("⏰ In about an hour: your visit to Mary")
    assert patient.last_text.startswith("⏰ In about an hour, Bea will visit you.")


async def test_moving_the_time_stops_the_old_reminders(person, svc, clock):
    patient, visitor, _ = await accepted_visit(person, svc)
    await set_visit_time(visitor, "Wed 25 Nov", "14:00")
    await set_visit_time(visitor, "Fri 27 Nov", "10:00")
    clock.set(datetime(2026, 11, 25, 13, 30, tzinfo=clock.now().tzinfo))
    await tick(svc)
    assert not saw(visitor, "Wednesday 25 November at 14:00. The word")
    assert not any("In about an hour" in m.text for m in patient.messages)


async def test_myvisits_lists_the_patients_and_opens_each_card(person, svc):
    _, visitor, _ = await accepted_visit(person, svc)
    await visitor.says("/myvisits")
    assert visitor.inline_labels == ["Mary · Riverside"]
    await visitor.taps("Mary · Riverside")
    assert visitor.last_text.startswith("<b>Visiting Mary</b>")
    stranger: Any = await person("Nell", 202)
    await stranger.says("/myvisits")
    assert stranger.last_text == t("visit.mine_none")


async def test_in_spanish_the_code_word_is_spanish(person, svc):
    patient = await person("María", 300)
    await patient.says("/language")
    await patient.taps("Español")
    visitor = await person("Bea", 201)
    await make_visitor(svc, visitor)
    referral = await refer(svc, patient=patient)
    await tick(svc)
    await visitor.taps("Yes, I'll visit")
    word = await code_word(svc, referral)
    assert word in t("visit.code_words", "es").split()
    assert patient.last_text.startswith("Buenas noticias: Bea te visitará en casa")


async def test_when_the_patient_leaves_the_visitor_hears_the_visit_is_off(person, svc):
    patient, visitor, referral = await accepted_visit(person, svc)
    await forget(svc.db, await member_id(svc, patient), svc.clock.now())
    await visitor.says("/myvisits")  # settles the notices the leaving queued
    assert saw(visitor, "One of the visits you said yes to isn't needed any more.")
    assert saw(visitor, t("visit.mine_none"))
    found = await matching.get_referral(svc.db, referral)
    assert found is not None
    assert (found.state, found.address, found.first_name) == ("withdrawn", None, "")


async def test_when_the_visitor_leaves_the_patient_is_found_someone_else(person, svc):
    patient, visitor, referral = await accepted_visit(person, svc)
    other = await person("Finn", 202)
    await make_visitor(svc, other)
    await forget(svc.db, await member_id(svc, visitor), svc.clock.now())
    await patient.says("/help")
    assert saw(patient, "Your visitor can't come after all.")
    await tick(svc)
    await other.taps("Yes, I'll visit")
    assert other.last_text.startswith("<b>Visiting Mary</b>")
    assert patient.last_text.startswith("Good news: Finn will visit you")
    visits = await svc.db.all("SELECT visitor_id, number, state FROM visits")
    assert [tuple(row) for row in visits] == [(await member_id(svc, other), 1, "planned")]
    found = await matching.get_referral(svc.db, referral)
    assert found is not None
    assert found.visitor_id == await member_id(svc, other)
