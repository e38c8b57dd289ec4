"""The contracts between rooms: every name in one enum, matched by the schema's CHECKs; every
outbox kind rendered; every callback area answered; callback data strict and small."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram.ext import CallbackQueryHandler

from bot.outbound.notices import RENDERERS
from bot.ui.callbacks import MAX_BYTES, Area, Callback, parse
from handlers.conversation import Conversation
from storage.kinds import ExchangeState, LedgerKind, OutboxKind, OutboxState


async def check_list(svc: Any, table: str, column: str) -> set[str]:
    """The values a column's CHECK (column IN (...)) allows, read from the live schema."""
    sql = await svc.db.scalar("SELECT sql FROM sqlite_master WHERE name = ?", (table,))
    found = re.search(rf"{column}\s+TEXT[^,]*?CHECK \({column} IN \(([^)]*)\)", sql, re.S)
    assert found, f"no CHECK on {table}.{column}"
    return set(re.findall(r"'([a-z_]+)'", found.group(1)))


@pytest.mark.parametrize(
    ("table", "column", "names"),
    [
        ("outbox", "state", OutboxState),
        ("exchanges", "state", ExchangeState),
    ],
)
async def test_each_enum_is_exactly_its_check_constraint(svc, table, column, names):
    assert await check_list(svc, table, column) == {name.value for name in names}


async def test_outbox_kinds_are_exactly_the_enum(svc):
    """A kind is a row of outbox_kinds (a new flow adds rows, not a rebuild of the outbox)."""
    rows = await svc.db.all("SELECT kind FROM outbox_kinds")
    assert {row[0] for row in rows} == {kind.value for kind in OutboxKind}


async def test_ledger_kinds_are_exactly_the_enum(svc):
    """Why hours moved is a row of ledger_kinds, which ledger_transactions.kind references."""
    rows = await svc.db.all("SELECT kind FROM ledger_kinds")
    assert {row[0] for row in rows} == {kind.value for kind in LedgerKind}


async def test_a_misspelt_outbox_kind_is_refused_by_the_schema(svc):
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError):
        async with svc.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO outbox (member_id, kind, due_at, created_at) VALUES (1, 'respnse_new',"
                " '2026', '2026')"
            )


def test_every_outbox_kind_has_a_renderer():
    assert set(RENDERERS) == set(OutboxKind)


def registered_patterns(app: Any) -> list[re.Pattern[str]]:
    handlers = [h for group in app.handlers.values() for h in group]
    inner = [
        i for h in handlers for i in (h.all_handlers() if isinstance(h, Conversation) else [h])
    ]
    return [
        h.pattern
        for h in inner
        if isinstance(h, CallbackQueryHandler) and isinstance(h.pattern, re.Pattern)
    ]


def test_every_callback_area_has_a_handler_and_no_handler_an_unknown_area(app):
    """Read each registered pattern's area (patterns come from callbacks.pattern)."""
    shape = re.compile(r"\^\(\?:v\[0-9\]\{1,3\}:\)\?([a-z]{2}):")
    areas = {m.group(1) for p in registered_patterns(app) if (m := shape.match(p.pattern))}
    assert areas == {area.value for area in Area}


@given(
    area=st.sampled_from(list(Area)),
    action=st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    ident=st.integers(min_value=0, max_value=10**6),
    arg=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20),
)
def test_pack_and_parse_agree(area, action, ident, arg):
    callback = Callback(area, action, ident, arg)
    try:
        data = callback.pack()
    except ValueError:
        assert len(f"{area}:{action}:{ident}:{arg}".encode()) > MAX_BYTES
        return
    assert parse(data) == callback


@pytest.mark.parametrize(
    "data",
    [
        "ex:yes:²:60",  # a digit to Python, not to us
        "ex:yes:١٢:60",
        "zz:top:1",  # no such area
        "ex:YES:1",
        "ex:yes:1\n:60",
        "v9:ex:yes:1:60",  # a layout this code doesn't know
        "ex:yes:" + "9" * 13,
        "ex:yes:1:" + "x" * 60,  # over 64 bytes
    ],
)
def test_forged_or_foreign_data_is_refused(data):
    assert parse(data) is None


def test_arguments_are_plain_numbers_or_nothing():
    assert Callback(Area.EXCHANGE, "hours", 1, "90").arg_int == 90
    assert Callback(Area.EXCHANGE, "hours", 1, "-60").arg_int == -60
    for forged in ("²", "٣", "1e3", " 60", "60 ", "9999999999999", ""):
        assert Callback(Area.EXCHANGE, "hours", 1, forged).arg_int is None


def test_a_later_layout_is_read_by_its_version():
    assert parse("v1:ex:yes:4:60") == Callback(Area.EXCHANGE, "yes", 4, "60")


def test_packing_more_than_telegram_allows_fails_loudly():
    with pytest.raises(ValueError, match="64 bytes"):
        Callback(Area.SEARCH, "page", 5, "é" * 40).pack()
