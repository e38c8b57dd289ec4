"""Hostile and random updates against the real bot (bot/sandbox/fuzz.py): none may break an
invariant. The checks are first shown to catch what they look for, so a clean run means
something; then two thousand actions from one fixed seed must break nothing.

A failure prints the first occurrence of each distinct fault with the action that caused it and
the actor's actions just before; `bench/fuzz.py --seed S --actions N` replays it exactly.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from bot.sandbox.fuzz import (
    Actor,
    Audience,
    Outgoing,
    Snapshot,
    as_telegram_delivers,
    change_findings,
    leak,
    ledger_problems,
    long_text,
    mutate,
    run_fuzz,
    telegram_refusal,
)
from bot.ui.i18n import hours, t
from bot.ui.render import card
from storage.db import Database

SEED = 1  # any seed whose run changes every table the checks judge (see the first test)
ACTIONS = 2000
GROUP = -4_100_200_300
STRANGER = 201


async def test_two_thousand_hostile_actions_break_no_invariant(tmp_path):
    report = await run_fuzz(tmp_path, seed=SEED, actions=ACTIONS)
    assert report.kinds["seed"] > 40, "seeding went through the bot"
    for table in ("listings", "responses", "exchanges", "ledger_transactions", "members"):
        assert report.changes[table] > 0, f"the fuzz changed no {table}: the checks saw nothing"
    if not report.clean:
        pytest.fail(report.summary(), pytrace=False)


# --- the checks catch what they look for -------------------------------------------------------

NAMES = {1: "Alice", 2: "Bob", 3: "Cora", 4: "Dan"}  # telegram ids 101..104; Cora coordinates


def world(*, exchanges: dict[int, dict[str, Any]] | None = None, **changes: Any) -> Snapshot:
    """Four members (Bob helped Alice in exchange 1, unless told otherwise) and Alice's need."""
    members = {
        member_id: {
            "id": member_id,
            "telegram_id": 100 + member_id,
            "display_name": name,
            "username": None,
            "neighbourhood": None,
            "status": "active",
            "role": "coordinator" if name == "Cora" else "member",
            "nudges_enabled": 1,
            "nudge_digest": 0,
            "quiet_hours": None,
        }
        for member_id, name in NAMES.items()
    }
    listing = {"id": 1, "owner_id": 1, "kind": "need", "category": "Other", "body": "a lift"}
    tables: dict[str, dict[int, dict[str, Any]]] = {
        "members": members,
        "listings": {1: {**listing, "when_where": None, "status": "open"}},
        "responses": {},
        "exchanges": exchanges if exchanges is not None else {1: exchange()},
        "ledger_transactions": {},
        "broadcasts": {},
    }
    for table, rows in changes.items():
        tables[table] = rows
    return Snapshot(tables)


def exchange(**columns: Any) -> dict[str, Any]:
    row = {
        "id": 1,
        "listing_id": 1,
        "giver_id": 2,
        "receiver_id": 1,
        "state": "agreed",
        "proposed_minutes": None,
        "proposed_by": None,
        "scheduled_at": None,
    }
    return {**row, **columns}


def sent(chat_id: int, text: str, method: str = "sendMessage") -> Outgoing:
    return Outgoing(method, chat_id, text, html=True, buttons=())


def audience() -> Audience:
    snapshot = world()
    return Audience(snapshot, snapshot, actor=None, balances={1: -60, 2: 60})


def kind_of(out: Outgoing) -> str | None:
    found = leak(out, audience())
    return found.kind if found else None


def test_links_reach_only_the_person_their_partners_and_coordinators():
    link_to_bob = 'Say hello to <a href="tg://user?id=102">Bob</a>!'
    assert kind_of(sent(101, link_to_bob)) is None  # Alice, his partner
    assert kind_of(sent(102, link_to_bob)) is None  # Bob himself
    assert kind_of(sent(103, link_to_bob)) is None  # Cora coordinates
    assert kind_of(sent(104, link_to_bob)) == "link"  # Dan never met him
    typed = "Call me: &lt;a href=&quot;tg://user?id=102&quot;&gt;"
    assert kind_of(sent(104, typed)) is None  # escaped words a member typed are no link


def test_balances_and_history_go_only_to_their_owner():
    alices = t("account.balance", balance=hours(-60))
    assert kind_of(sent(101, alices)) is None
    assert kind_of(sent(102, alices)) == "balance"
    title = t("history.title")
    line = t("history.received", date="23 Nov", name="{}", hours=hours(60), state="confirmed")
    assert kind_of(sent(101, f"{title}\n{line.format('Bob')}")) is None
    assert kind_of(sent(101, f"{title}\n{line.format('Dan')}")) == "history"


def test_groups_and_strangers_get_no_member_data():
    nothing = t("browse.nothing", title=t("browse.title_search", words="tea", page=1))
    for harmless in (t("menu.not_understood"), t("common.too_long", count=600, limit=500), nothing):
        assert kind_of(sent(GROUP, harmless)) is None
        assert kind_of(sent(STRANGER, harmless)) is None
    published = t("post.published", card=card("need", "Other", "a lift", None, owner="Alice"))
    assert kind_of(sent(GROUP, published)) == "group"
    assert kind_of(sent(GROUP, t("account.balance", balance=hours(0)))) == "group"
    assert kind_of(sent(GROUP, "", "sendDocument")) == "group"
    assert kind_of(sent(STRANGER, published)) == "stranger"
    assert kind_of(sent(STRANGER, t("join.ask_place", name="Sam"))) is None
    names = Outgoing("sendMessage", GROUP, t("coordinator.record_pick"), True, ("Alice", "Bob"))
    assert kind_of(names) == "group"


def test_coordinator_screens_go_only_to_coordinators():
    held = t("coordinator.held", giver="Bob", receiver="Alice", hours=hours(60))
    assert kind_of(sent(103, held)) is None
    assert kind_of(sent(104, held)) == "coordinator_screen"
    assert kind_of(sent(104, "", "sendDocument")) == "coordinator_screen"
    assert kind_of(sent(104, "📈 chart", "sendPhoto")) == "coordinator_screen"


def test_what_telegram_would_refuse():
    def refusal(text: str) -> str | None:
        return telegram_refusal(sent(1, text))

    assert refusal("AT&T <b>bold</b> &lt;3 <a href='x'>a</a>") is None
    assert "unsupported start tag" in (refusal("1 < 2") or "")
    assert "unsupported start tag" in (refusal("<marquee>hi</marquee>") or "")
    assert "unexpected end tag" in (refusal("<b>bold</i>") or "")
    assert "no end tag" in (refusal("<b>bold") or "")
    assert "too long" in (refusal("x" * 4097) or "")
    assert refusal("&amp;" * 4000) is None  # 4,000 characters once parsed
    assert refusal(" \n ") == "message text is empty"


def test_changes_are_allowed_only_to_the_entitled():
    bobs_hour = {"proposed_minutes": 60, "proposed_by": 2}
    proposed = world(exchanges={1: exchange(state="proposed", **bobs_hour)})
    confirmed = world(exchanges={1: exchange(state="confirmed", **bobs_hour)})
    alice, bob, cora, dan = (Actor(100 + i, i, coordinator=i == 3) for i in (1, 2, 3, 4))
    assert change_findings(proposed, confirmed, alice) == []  # the other party confirms
    assert change_findings(proposed, confirmed, cora) == []  # a coordinator settles
    assert [f.kind for f in change_findings(proposed, confirmed, bob)] == ["exchange"]
    assert [f.kind for f in change_findings(proposed, confirmed, dan)] == ["exchange"]
    scheduler = Actor(None, None, coordinator=False)
    assert change_findings(proposed, confirmed, scheduler) == []
    closed = world()
    closed.tables["listings"][1] = {**closed.tables["listings"][1], "status": "closed"}
    assert change_findings(world(), closed, alice) == []
    assert [f.kind for f in change_findings(world(), closed, bob)] == ["listing"]
    promoted = world()
    promoted.tables["members"][4] = {**promoted.tables["members"][4], "role": "coordinator"}
    assert change_findings(world(), promoted, cora) == []
    assert [f.signature for f in change_findings(world(), promoted, dan)] == [
        "member: member role changed by a member"
    ]


async def test_the_ledger_check_sees_an_unbalanced_transaction(tmp_path):
    db = await Database.open(tmp_path / "ledger.sqlite3")
    try:
        assert await ledger_problems(db) == {}
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO ledger_transactions (id, kind, idempotency_key, created_at)"
                " VALUES (1, 'correction', 'k', '2026-11-23T10:00:00.000000Z')"
            )
            await tx.execute(
                "INSERT INTO ledger_entries (transaction_id, account_id, minutes) VALUES (1, 1, 30)"
            )
        problems = await ledger_problems(db)
        assert sorted(f.kind for f in problems.values()) == ["sum", "transaction"]
    finally:
        await db.close()


def test_people_send_only_what_telegram_delivers():
    assert as_telegram_delivers("  ") == ["\u200b"]
    assert as_telegram_delivers(" hi ") == ["hi"]
    assert [len(part) for part in as_telegram_delivers("x" * 5000)] == [4096, 904]
    assert [len(part) for part in as_telegram_delivers("😀" * 2049)] == [2048, 1]
    rng = random.Random(3)
    assert all(0 < len(mutate("ex:yes:12:60", rng).encode()) <= 64 for _ in range(500))
    assert all(0 < len(long_text(rng)) <= 5000 for _ in range(200))
