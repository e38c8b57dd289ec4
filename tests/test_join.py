"""Joining: welcome, name, neighbourhood, consent before anything is stored."""

from __future__ import annotations

from storage import members


async def test_newcomer_joins_with_buttons_only(person, svc):
    dan = await person("Dan", 201, joined=False)
    await dan.says("/start")
    assert "welcome" in dan.messages[0].text.lower()
    assert dan.reply_buttons == ["Dan"]
    await dan.taps("Dan")
    assert "neighbourhood" in dan.last_text
    assert dan.reply_buttons == ["Riverside", "Old Town"]
    await dan.taps("Old Town")
    assert "privacy" in dan.last_text.lower()
    assert await members.by_telegram_id(svc.db, 201) is None, "nothing stored before consent"
    await dan.taps("I agree")
    assert "You're in, Dan" in dan.last_text
    assert dan.reply_buttons == [
        "I can offer",
        "I need",
        "Browse",
        "My hours",
        "Activities",
        "Spend my hours",
        "Help",
    ]
    stored = await members.by_telegram_id(svc.db, 201)
    assert stored is not None
    assert (stored.display_name, stored.neighbourhood, stored.status) == (
        "Dan",
        "Old Town",
        "active",
    )


async def test_deep_link_code_is_kept_as_join_source(person, svc):
    eve = await person("Eve", 202, joined=False)
    await eve.says("/start HOSPITAL7")
    await eve.says("Evie")
    await eve.says("Up the hill")
    await eve.taps("I agree")
    stored = await members.by_telegram_id(svc.db, 202)
    assert stored is not None
    assert (stored.display_name, stored.neighbourhood, stored.join_source) == (
        "Evie",
        "Up the hill",
        "HOSPITAL7",
    )


async def test_no_thanks_keeps_nothing(person, svc):
    fay = await person("Fay", 203, joined=False)
    await fay.says("/start")
    await fay.taps("Fay")
    await fay.taps("Riverside")
    await fay.taps("No thanks")
    assert "Nothing about you was kept" in fay.last_text
    assert await members.by_telegram_id(svc.db, 203) is None


async def test_cancel_leaves_the_join_conversation(person, svc):
    gus = await person("Gus", 204, joined=False)
    await gus.says("/start")
    await gus.says("/cancel")
    assert "Nothing about you was kept" in gus.last_text
    await gus.says("Gus")
    assert gus.last_text == "Welcome! Tap /start to join the timebank first."
    assert await members.by_telegram_id(svc.db, 204) is None


async def test_returning_member_is_welcomed_back(alice):
    await alice.says("/start")
    assert alice.last_text == "Welcome back, Alice!"


async def test_strangers_are_asked_to_join_first(person):
    hal = await person("Hal", 205, joined=False)
    await hal.says("/balance")
    assert "/start" in hal.last_text


async def test_too_long_name_is_refused_kindly(person):
    ivy = await person("Ivy", 206, joined=False)
    await ivy.says("/start")
    await ivy.says("I" * 65)
    assert ivy.last_text == "That's 65 letters. Please keep it to 64."


async def test_approval_mode_leaves_newcomers_waiting(tmp_path, api, clock):
    from bot.app import build_application, running
    from bot.sandbox.standin import ChatMember
    from tests.conftest import join, make_config

    application = build_application(
        make_config(tmp_path, join="approval"), request=api, clock=clock, background=False
    )
    async with running(application):
        jo = ChatMember(application, api, 207, "Jo")
        await join(jo)
        assert "A coordinator will check" in jo.last_text
        await jo.says("/balance")
        assert "coordinator will welcome you" in jo.last_text


async def test_agreeing_after_leaving_half_way_says_how_to_begin_again(person, svc):
    kai = await person("Kai", 208, joined=False)
    await kai.says("/start")
    await kai.taps("Kai")
    await kai.taps("Riverside")
    await kai.says("/search tap")
    await kai.taps("I agree")
    assert kai.last_text == "Sorry, I lost your answers. Please tap /start to begin again."
    assert await members.by_telegram_id(svc.db, 208) is None
