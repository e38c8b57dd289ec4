"""The /export files: one CSV per table, columns chosen by a table below, never by default.

Every column of an exported table is either listed as exported or listed as private, and
`unclassified_columns` walks `PRAGMA table_info` to find any that is neither: a test fails on
it, so a migration that adds a column makes its author decide. Until someone does, the export
leaves the new column out (private unless said otherwise).

What is private in `members`, and why: the export is a spreadsheet that a coordinator may pass
on (to a funder, an evaluator), so it keeps what describes the timebank and drops what would
let someone find, contact or profile a person.
- exported: id, display_name (the name a member chose to show every other member on their
  posts, and what makes the ledger readable), status, role, consented_at,
  created_at, recorded_by (which coordinator added someone without Telegram).
- private: telegram_id and username (contact a person outside the timebank), neighbourhood
  (where they live), join_source (how they heard of us), and their settings and reachability
  (nudges_enabled, nudge_digest, quiet_hours, unreachable_at, language: their habits, whether
  they blocked the bot, and a hint of where they come from), and paused_at and paused_by (a
  safeguarding matter).
Organisations, their activities and offers, sign-ups and spends are exported whole: they name
members by id only (never a name or a contact), and an activity's title and place, or an
offer's words, are the organisation's public notice, not a person's. Who acts for an
organisation is not exported (it is a list of people, and in /orgs already).
`organisation_figures.csv` sums each organisation up over all time, as /report does for a period.
Listings are not exported at all: their free text often holds addresses and health details;
nor are blocks and members' reports of each other.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage import audit, reports, roles
from storage.db import Database, Tx

# Excel reads a UTF-8 file as the local code page unless it starts with a byte-order mark;
# with it, names such as "Zoë" survive. LibreOffice and Google Sheets accept it too.
ENCODING = "utf-8-sig"
# A cell starting with one of these is run as a formula by spreadsheets (CSV injection);
# member-typed text such as a display name is prefixed with ' so it shows as typed.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class TableExport:
    table: str
    exported: tuple[str, ...]
    private: tuple[str, ...] = ()


EXPORTS: tuple[TableExport, ...] = (
    TableExport(
        "exchanges",
        exported=(
            "id",
            "listing_id",
            "response_id",
            "giver_id",
            "receiver_id",
            "state",
            "proposed_minutes",
            "proposed_by",
            "created_at",
            "updated_at",
            "scheduled_at",
            "disputed_by",
            "dispute_reason",
            "organisation_id",
            "organisation_side",
        ),
        # The /record a coordinator's hours came from (their id and a Telegram message id):
        # bookkeeping against a second tap, nothing a reader of the records needs.
        private=("record_key",),
    ),
    TableExport(
        "ledger_transactions",
        exported=(
            "id",
            "kind",
            "exchange_id",
            "visit_id",
            "activity_id",
            "spend_id",
            "idempotency_key",
            "recorded_by",
            "created_at",
        ),
        # Free text a coordinator may write about the people involved (storage.privacy calls
        # it personal); nothing writes it yet.
        private=("note",),
    ),
    TableExport("ledger_entries", exported=("id", "transaction_id", "account_id", "minutes")),
    # Ledger entries name accounts, not members: this maps one to the other.
    TableExport("accounts", exported=("id", "member_id", "organisation_id", "kind")),
    TableExport(
        "members",
        exported=(
            "id",
            "display_name",
            "status",
            "role",
            "consented_at",
            "created_at",
            "recorded_by",
        ),
        private=(
            "telegram_id",
            "username",
            "neighbourhood",
            "join_source",
            "nudges_enabled",
            "nudge_digest",
            "quiet_hours",
            "unreachable_at",
            "language",
            # Whether and by whom someone is paused after a report: a safeguarding matter
            # between them and the coordinators, not something to pass on with the figures.
            "paused_at",
            "paused_by",
        ),
    ),
    TableExport(
        "organisations",
        exported=("id", "name", "area", "description", "status", "created_by", "created_at"),
    ),
    TableExport(
        "activities",
        exported=(
            "id",
            "organisation_id",
            "title",
            "starts_at",
            "place",
            "helpers_wanted",
            "helper_minutes",
            "places",
            "price_minutes",
            "state",
            "created_by",
            "roll_call_at",
            "credited_at",
            "credited_by",
            "created_at",
        ),
    ),
    TableExport(
        "activity_signups",
        exported=(
            "id",
            "activity_id",
            "member_id",
            "role",
            "state",
            "queued_at",
            "offer_expires_at",
            "attended",
            "marked_by",
            "created_at",
            "updated_at",
        ),
    ),
    TableExport(
        "partner_offers",
        exported=(
            "id",
            "organisation_id",
            "category",
            "title",
            "details",
            "price_minutes",
            "status",
            "created_by",
            "created_at",
        ),
    ),
    TableExport(
        "spends",
        exported=(
            "id",
            "offer_id",
            "member_id",
            "minutes",
            "state",
            "decided_by",
            "created_at",
            "updated_at",
        ),
    ),
)
# The summary covers every record there is, whatever its time.
EVERYTHING = datetime(9999, 12, 31, tzinfo=UTC)
SUMMARY_COLUMNS = (
    "organisation_id",
    "name",
    "balance",
    "came_in",
    "went_out",
    "activities",
    "signed_up",
    "came",
)


async def export_csv(db: Database, *, suffix: str = "") -> dict[str, bytes]:
    """Each exported table as CSV bytes with a header row, by file name (`exchanges.csv`, or
    `exchanges{suffix}.csv`). Read in one transaction, so the ledger files agree with each
    other even if an exchange is confirmed meanwhile. Tables are small, so each is read whole."""
    async with db.transaction() as tx:
        return await _export(tx, suffix)


async def export_for(db: Database, *, by: int, now: datetime, suffix: str = "") -> dict[str, bytes]:
    """A coordinator's export: the role re-checked and the export written to the audit log,
    in the same transaction as the read (taking members' data out is a coordinator action)."""
    async with db.transaction() as tx:
        await roles.require_coordinator(tx, by)
        files = await _export(tx, suffix)
        await audit.record(
            tx,
            actor_id=by,
            action="export_csv",
            subject=audit.EVERY_MEMBER,
            now=now,
            detail={"files": list(files)},
        )
    return files


async def unclassified_columns(db: Database) -> dict[str, list[str]]:
    """Columns of exported tables listed neither as exported nor as private, by table."""
    found: dict[str, list[str]] = {}
    async with db.transaction() as tx:
        for spec in EXPORTS:
            known = {*spec.exported, *spec.private}
            unknown = [name for name in await table_columns(tx, spec.table) if name not in known]
            if unknown:
                found[spec.table] = unknown
    return found


async def table_columns(tx: Tx, table: str) -> list[str]:
    rows = await _all(tx, "SELECT name FROM pragma_table_info(?) ORDER BY cid", table)
    return [row[0] for row in rows]


async def _export(tx: Tx, suffix: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for spec in EXPORTS:
        # Only columns listed as exported, in the table's own order; a new one stays out.
        columns = [name for name in await table_columns(tx, spec.table) if name in spec.exported]
        rows = await _all(tx, f"SELECT {', '.join(columns)} FROM {spec.table} ORDER BY id")
        files[f"{spec.table}{suffix}.csv"] = _csv(columns, rows)
    figures = await reports.partner_figures(tx, start=None, end=EVERYTHING)
    summary = [
        (
            f.organisation_id,
            f.name,
            f.balance,
            f.came_in,
            f.went_out,
            f.activities,
            f.signed_up,
            f.came,
        )
        for f in figures.organisations
    ]
    files[f"organisation_figures{suffix}.csv"] = _csv(list(SUMMARY_COLUMNS), summary)
    return files


async def _all(tx: Tx, sql: str, *params: object) -> list[tuple[Any, ...]]:
    async with tx.execute(sql, params) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


def _csv(columns: list[str], rows: list[tuple[Any, ...]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode(ENCODING)


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value
