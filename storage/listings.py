"""Offers and needs: posting, owner edits, browsing and word search."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from storage import guards, organisations
from storage.db import Database, Params, Tx
from storage.errors import NotFound, NotYours
from storage.exchanges import delete_responses
from storage.models import Exchange, Listing, ListingKind, Page, to_db

MAX_BODY = 500
MAX_WHEN_WHERE = 200

# A post for an organisation shows the organisation's area as its place.
_SELECT = (
    "SELECT l.id, l.owner_id, m.display_name AS owner_name,"
    " COALESCE(o.area, m.neighbourhood) AS owner_neighbourhood,"
    " l.kind, l.category, l.body, l.when_where, l.status, l.created_at,"
    " l.organisation_id, o.name AS organisation_name"
    " FROM listings l JOIN members m ON m.id = l.owner_id"
    " LEFT JOIN organisations o ON o.id = l.organisation_id"
)
_WORD = re.compile(r"\w+", re.UNICODE)
# What a viewer (:viewer, NULL for nobody in particular) may see in lists: nothing of anyone
# a block stands between, and nothing of a paused member but their own.
_VISIBLE = (
    f"{guards.apart(':viewer', 'l.owner_id')} AND (m.paused_at IS NULL OR l.owner_id IS :viewer)"
)


async def create(
    db: Database,
    *,
    owner_id: int,
    kind: ListingKind,
    category: str,
    body: str,
    when_where: str | None,
    now: datetime,
    organisation_id: int | None = None,
) -> Listing:
    """Post an offer or a need; refused (Paused) while a coordinator has paused the owner.
    For an organisation, only while the owner acts for it (NotForOrganisation otherwise):
    checked here, in the posting's transaction, so a member taken off it a minute ago, or a
    forged button, posts nothing in its name."""
    async with db.transaction() as tx:
        await guards.require_unpaused(tx, owner_id)
        if organisation_id is not None:
            await organisations.require_acts_for(tx, owner_id, organisation_id)
        async with tx.execute(
            "INSERT INTO listings (owner_id, kind, category, body, when_where, created_at,"
            " updated_at, organisation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (owner_id, kind, category, body, when_where, to_db(now), to_db(now), organisation_id),
        ) as cursor:
            row = await cursor.fetchone()
    assert row is not None
    listing = await get(db, row[0])
    assert listing is not None
    return listing


async def get(db: Database, listing_id: int) -> Listing | None:
    row = await db.one(f"{_SELECT} WHERE l.id = ?", (listing_id,))
    return Listing.from_row(row) if row else None


async def of_exchange(db: Database, exchange: Exchange) -> Listing | None:
    """The listing an exchange came from (none for hours a coordinator recorded)."""
    return await get(db, exchange.listing_id) if exchange.listing_id else None


async def owned(db: Database, listing_id: int, member_id: int) -> Listing:
    """The listing if `member_id` owns it; otherwise NotFound or NotYours."""
    listing = await get(db, listing_id)
    if listing is None:
        raise NotFound(listing_id)
    if listing.owner_id != member_id:
        raise NotYours(listing_id)
    return listing


async def edit_body(
    db: Database, *, listing_id: int, member_id: int, body: str, now: datetime
) -> Listing:
    return await _change_own(db, listing_id, member_id, "body", body, now)


async def set_status(
    db: Database, *, listing_id: int, member_id: int, status: str, now: datetime
) -> Listing:
    """Close or reopen the member's own listing (reopen is the undo of close; not while
    paused, as it would post it again)."""
    return await _change_own(db, listing_id, member_id, "status", status, now)


async def set_category(
    db: Database, *, listing_id: int, member_id: int, category: str, now: datetime
) -> Listing:
    return await _change_own(db, listing_id, member_id, "category", category, now)


def guess_category(
    text: str, categories: Sequence[str], keywords: Mapping[str, Sequence[str]] | None = None
) -> str | None:
    """The one category a quick post points to, by its name or its keywords from config
    ("gardening" → Garden, "a dripping tap" → Repairs); None when it names none or several."""
    words = _WORD.findall(text.lower())
    named = [
        category
        for category in categories
        if any(_says(words, term) for term in [category, *(keywords or {}).get(category, ())])
    ]
    return named[0] if len(named) == 1 else None


def _says(words: Sequence[str], term: str) -> bool:
    """Whether the words contain the term (a word or a few), each word as itself, a simple
    plural of it, or (for four letters or more) a longer word it begins: "drip" → "dripping"."""
    parts = _WORD.findall(term.lower())
    if not parts:
        return False
    return any(
        all(_matches(word, part) for word, part in zip(words[i:], parts, strict=False))
        for i in range(len(words) - len(parts) + 1)
    )


def _matches(word: str, term: str) -> bool:
    stems = {term}
    if term.endswith("ies"):
        stems.add(term[:-3] + "y")
    elif term.endswith("s"):
        stems.add(term[:-1])
    for stem in stems:
        plurals = {stem + "s", stem + "es"}
        if stem.endswith("y"):
            plurals.add(stem[:-1] + "ies")
        if word == stem or word in plurals or (len(stem) >= 4 and word.startswith(stem)):
            return True
    return False


async def _change_own(
    db: Database, listing_id: int, member_id: int, column: str, value: str, now: datetime
) -> Listing:
    """Set one column of a listing, only if `member_id` owns it (else NotFound or NotYours).
    While paused they may close a post, but not reopen or reword one: it would come back, in
    new words no one has checked, when they are resumed."""
    assert column in ("body", "status", "category")
    await owned(db, listing_id, member_id)
    async with db.transaction() as tx:
        if column != "status" or value == "open":
            await guards.require_unpaused(tx, member_id)
        await tx.execute(
            f"UPDATE listings SET {column} = ?, updated_at = ? WHERE id = ? AND owner_id = ?",
            (value, to_db(now), listing_id, member_id),
        )
    return await owned(db, listing_id, member_id)


async def browse(
    db: Database,
    *,
    kind: ListingKind | None,
    category: str | None,
    offset: int,
    limit: int = 5,
    viewer_id: int | None = None,
) -> Page[Listing]:
    """Open listings the viewer may see, newest first, optionally of one kind and category."""
    where = ["l.status = 'open'", _VISIBLE]
    params: dict[str, object] = {"viewer": viewer_id}
    if kind:
        where.append("l.kind = :kind")
        params["kind"] = kind
    if category:
        where.append("l.category = :category")
        params["category"] = category
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY l.id DESC LIMIT :limit OFFSET :offset"
    return await _page(db, sql, params, offset, limit)


async def search(
    db: Database, *, words: str, offset: int, limit: int = 5, viewer_id: int | None = None
) -> Page[Listing]:
    """Open listings the viewer may see matching every word (as a prefix), newest first."""
    query = fts_query(words)
    if not query:
        return Page(items=(), offset=0, has_next=False)
    sql = (
        f"{_SELECT} JOIN listings_fts f ON f.rowid = l.id"
        f" WHERE listings_fts MATCH :query AND l.status = 'open' AND {_VISIBLE}"
        # The FTS table's own rowid order: sorting l.id would sort every match first.
        " ORDER BY f.rowid DESC LIMIT :limit OFFSET :offset"
    )
    return await _page(db, sql, {"query": query, "viewer": viewer_id}, offset, limit)


async def hidden_from(db: Database, listing: Listing, viewer_id: int) -> bool:
    """Whether the viewer may not see this listing (as browse and search leave it out): a
    block stands between them and its owner, or its owner is paused."""
    if listing.owner_id == viewer_id:
        return False
    owner = await db.one("SELECT paused_at FROM members WHERE id = ?", (listing.owner_id,))
    paused = owner is not None and owner[0] is not None
    return paused or await guards.are_apart(db, viewer_id, listing.owner_id)


async def open_by_owner(db: Database, member_id: int) -> list[Listing]:
    rows = await db.all(
        f"{_SELECT} WHERE l.owner_id = ? AND l.status = 'open' ORDER BY l.id DESC LIMIT 20",
        (member_id,),
    )
    return [Listing.from_row(row) for row in rows]


async def open_for_organisation(db: Database, organisation_id: int) -> list[Listing]:
    """What is posted for an organisation and still open, newest first (its /org card)."""
    rows = await db.all(
        f"{_SELECT} WHERE l.organisation_id = ? AND l.status = 'open' ORDER BY l.id DESC LIMIT 20",
        (organisation_id,),
    )
    return [Listing.from_row(row) for row in rows]


def fts_query(words: str) -> str:
    """Turn what a member typed into a safe FTS5 query: each word quoted, as a prefix."""
    return " ".join(f'"{word}"*' for word in _WORD.findall(words.lower())[:8])


async def _page(
    db: Database, sql: str, params: dict[str, object], offset: int, limit: int
) -> Page[Listing]:
    bound: Params = {**params, "limit": limit + 1, "offset": max(offset, 0)}
    rows = await db.all(sql, bound)
    items = [Listing.from_row(row) for row in rows[:limit]]
    return Page(items=items, offset=max(offset, 0), has_next=len(rows) > limit)


async def count_by_owner(db: Database, member_id: int) -> int:
    return int(await db.scalar("SELECT COUNT(*) FROM listings WHERE owner_id = ?", (member_id,)))


async def has_responses(db: Database, listing_id: int) -> bool:
    found = await db.scalar(
        "SELECT 1 FROM responses WHERE listing_id = ? AND status <> 'withdrawn' LIMIT 1",
        (listing_id,),
    )
    return found is not None


async def unanswered_needs(
    db: Database, *, posted_before: datetime, limit: int = 10
) -> list[Listing]:
    """Open needs posted before the cutoff that nobody has answered, oldest first."""
    rows = await db.all(
        f"{_SELECT} WHERE l.kind = 'need' AND l.status = 'open' AND l.created_at <= ?"
        " AND NOT EXISTS (SELECT 1 FROM responses r WHERE r.listing_id = l.id"
        " AND r.status <> 'withdrawn')"
        " ORDER BY l.created_at LIMIT ?",
        (to_db(posted_before), limit),
    )
    return [Listing.from_row(row) for row in rows]


async def delete(tx: Tx, chosen: str, params: Params) -> int:
    """Delete the listings whose ids `chosen` (a SELECT) gives, and every answer to them
    (/forget, retention). Exchanges and broadcasts that came from them are the timebank's
    records and stay, detached. Returns how many listings went.

    Their words leave the search index's rows by trigger, but stay in its pages until
    `compact_search` runs."""
    for statement in (
        f"UPDATE exchanges SET listing_id = NULL WHERE listing_id IN ({chosen})",
        f"UPDATE broadcasts SET listing_id = NULL WHERE listing_id IN ({chosen})",
    ):
        await tx.execute(statement, params)
    await delete_responses(tx, f"SELECT id FROM responses WHERE listing_id IN ({chosen})", params)
    cursor = await tx.execute(f"DELETE FROM listings WHERE id IN ({chosen})", params)
    return int(cursor.rowcount)


async def compact_search(tx: Tx) -> None:
    """Merge the word index into one segment, dropping deleted listings' words from its pages
    (an FTS5 delete only adds a marker beside them). Costs a rewrite of the index, so it runs
    once after a batch of deletions, not per listing."""
    await tx.execute("INSERT INTO listings_fts (listings_fts) VALUES ('optimize')")
