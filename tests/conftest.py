"""Shared fixtures: a real Application on a real SQLite file, Telegram replaced by the stand-in,
and members who speak to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, running
from bot.clock import FakeClock
from bot.config import Config, parse_config
from bot.sandbox.standin import ChatMember, StandInBotAPI
from bot.services import Services, services_of

COORDINATOR_ID = 900


def make_config(tmp_path: Path, **timebank: Any) -> Config:
    return parse_config(
        {
            "bot": {"database": str(tmp_path / "timebank.sqlite3")},
            "timebank": {
                "neighbourhoods": ["Riverside", "Old Town"],
                "categories": ["Shopping", "Garden", "Company", "Other"],
                "overdraft_limit_hours": 10,
                "coordinators": [COORDINATOR_ID],
                "category_names": {
                    "es": {"Shopping": "Compras", "Garden": "Jardín", "Company": "Compañía"}
                },
                **timebank,
            },
            "visits": {
                "wards": [{"code": "ward7", "name": "Ward 7", "coordinator": COORDINATOR_ID}]
            },
        }
    )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> StandInBotAPI:
    return StandInBotAPI(clock=lambda: int(clock.now().timestamp()))


@pytest.fixture
async def app(config: Config, api: StandInBotAPI, clock: FakeClock) -> AsyncIterator[Any]:
    application = build_application(config, request=api, clock=clock, background=False)
    async with running(application):
        yield application


@pytest.fixture
def svc(app: Any) -> Services:
    return services_of(app)


Person = Callable[..., Awaitable[ChatMember]]


@pytest.fixture
def person(app: Any, api: StandInBotAPI) -> Person:
    """Make a member who has joined through /start, or only a stranger with joined=False."""

    async def make(
        name: str, user_id: int, *, joined: bool = True, place: str = "Riverside"
    ) -> ChatMember:
        member = ChatMember(app, api, user_id, name)
        if joined:
            await join(member, place)
        return member

    return make


async def join(member: ChatMember, place: str = "Riverside") -> None:
    await member.says("/start")
    await member.taps(member.first_name)
    await member.taps(place)
    await member.taps("I agree")


async def post(member: ChatMember, menu: str, category: str, text: str) -> None:
    """Post through the buttons: "I can offer" / "I need", a category, the words, publish."""
    await member.taps(menu)
    await member.taps(category)
    await member.says(text)
    await member.taps("Skip")
    await member.taps("Publish")


@pytest.fixture
async def alice(person: Person) -> ChatMember:
    return await person("Alice", 101)


@pytest.fixture
async def bob(person: Person) -> ChatMember:
    return await person("Bob", 102)


@pytest.fixture
async def coordinator(person: Person) -> ChatMember:
    return await person("Cora", COORDINATOR_ID)
