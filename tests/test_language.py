"""Each member reads the bot in their own language: from their Telegram at first, else the
timebank's default, and as they choose with /language or in /settings."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, parse_config
from bot.outbound.delivery import Policy
from bot.outbound.scheduler import tick
from bot.ui.i18n import current_language, t
from storage import members
from tests.conftest import make_config
from tests.test_coordinators import compose


async def stored_language(svc, person) -> str | None:
    member = await members.by_telegram_id(svc.db, person.user_id)
    assert member is not None
    return member.language


async def test_a_newcomer_whose_telegram_is_in_spanish_is_welcomed_and_kept_in_spanish(person, svc):
    ana = await person("Ana", 201, joined=False)
    ana.language_code = "es-419"
    await ana.says("/start")
    assert ana.messages[0].text.startswith("¡Hola! Te damos la bienvenida")
    await ana.taps("Ana")
    await ana.taps("Riverside")
    assert ana.last_text.endswith("¿Estás de acuerdo?")
    await ana.taps(t("join.agree", "es"))
    assert await stored_language(svc, ana) == "es"
    assert ana.reply_buttons == [t(key, "es") for key in MENU]


async def join_in_spanish(person) -> None:
    await person.says("/start")
    for label in (person.first_name, "Riverside", t("join.agree", "es")):
        await person.taps(label)


MENU = (
    "menu.offer",
    "menu.need",
    "menu.browse",
    "menu.hours",
    "menu.activities",
    "menu.spend",
    "menu.help",
)


async def test_a_language_we_lack_gets_the_timebanks_own(person):
    hans = await person("Hans", 202, joined=False)
    hans.language_code = "de"
    await hans.says("/start")
    assert hans.messages[0].text.startswith("Hello, and welcome")


class TestASpanishTimebank:
    @pytest.fixture
    def config(self, tmp_path):
        return make_config(tmp_path, language="es")

    async def test_speaks_spanish_to_those_whose_telegram_says_nothing(self, person):
        nobody_knows = await person("Pat", 203, joined=False)
        await nobody_knows.says("/start")
        assert nobody_knows.messages[0].text.startswith("¡Hola!")


async def test_language_before_joining_is_kept_in_memory_then_stored(person, svc):
    pat = await person("Pat", 204, joined=False)
    await pat.says("/language")
    assert pat.inline_labels == ["English", "Español"]
    await pat.taps("Español")
    assert pat.last_text == "¡Listo! Te escribo en español. Toca /start para unirte."
    assert await members.by_telegram_id(svc.db, pat.user_id) is None  # nothing stored yet
    await pat.says("/start")
    assert pat.messages[-2].text.startswith("¡Hola!")
    for label in ("Pat", "Riverside", t("join.agree", "es")):
        await pat.taps(label)
    assert await stored_language(svc, pat) == "es"


async def test_settings_change_the_language_and_the_menu_with_it(alice, svc, api):
    await alice.says("/settings")
    assert "Language: English" in alice.last_text
    await alice.taps("Language")
    await alice.taps("Español")
    assert alice.last_text == "¡Listo! Desde ahora te escribo en español."
    assert alice.reply_buttons == [t(key, "es") for key in MENU]
    assert await stored_language(svc, alice) == "es"
    menu = {command["command"]: command["description"] for command in api.commands["chat:101"]}
    assert menu["language"] == "elegir tu idioma"  # her / menu follows her choice
    await alice.taps(t("menu.hours", "es"))
    assert alice.last_text.startswith("⏳ Tu saldo")
    await alice.says("/settings")
    assert "Idioma: Español" in alice.last_text


async def test_each_notice_is_in_its_recipients_language(alice, bob, person, svc):
    ana = await person("Ana", 201, joined=False)
    ana.language_code = "es"
    await join_in_spanish(ana)
    await ana.taps(t("menu.need", "es"))
    await ana.taps("Compras")
    await ana.says("Alguien que me traiga el pan")
    await ana.taps(t("post.skip", "es"))
    await ana.taps(t("post.publish", "es"))
    await bob.says("/search pan")
    await bob.taps("1. Alguien")
    await bob.taps("I can help")
    assert ana.last_text.startswith("🙋 Bob puede ayudarte")
    assert "Compras" in ana.last_text  # the category in her language
    await ana.taps(t("response.accept", "es"))
    assert bob.last_text.startswith("Good news!")


async def test_broadcasts_go_out_as_written_inside_each_members_language(
    coordinator, alice, person, svc
):
    ana = await person("Ana", 201, joined=False)
    ana.language_code = "es"
    await join_in_spanish(ana)
    await compose(coordinator, "Street party on Saturday!", "Everyone")
    await coordinator.taps("Send to 2 people")
    await tick(svc)
    assert ana.last_text == alice.last_text == "📣 Street party on Saturday!"


def test_a_language_whose_catalogue_went_away_falls_back_to_the_timebanks(tmp_path):
    policy = Policy.from_config(make_config(tmp_path, language="es"))
    with policy.speaking_to("xx"):
        assert current_language() == "es"
    with policy.speaking_to("en"):
        assert current_language() == "en"


def test_config_names_a_default_language_without_a_catalogue():
    with pytest.raises(ConfigError, match=r"timebank\.language.*'xx' has no catalogue"):
        parse_config({"timebank": {"language": "xx"}})
