"""The privacy registry: for every table, what in it names a member, what /mydata gives them
of it, and what /forget does to it. `storage.mydata` and `storage.forget` run these rules;
nothing else decides.

Every table has a rule, and every column of it is classified: it names a member (by id, as a
foreign key or inside its value: `columns`, each with its fate), says something about the
person (`personal`: what they told us, how to reach them, their habits), or neither
(`plain`). `problems` walks the live schema and names any table without a rule, any column
left unclassified, and any reference to a member, or to a row /forget deletes, that no rule
covers; tests/test_privacy.py fails on each. So a migration that adds a table (peer visits,
with addresses and health notes) or a column makes its author decide, before it ships, what a
member may see of it and what leaving does to it.

The one idea behind the fates: what a member gave the timebank as a person (their profile,
posts, answers, messages to them) goes with them; what the timebank owes others (the ledger,
each exchange, what coordinators did) stays true, but names the anonymous former member
(models.FORMER_MEMBER_ID) instead. Rules are listed in the order /forget runs them: whatever
points at a row is dealt with before the row goes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from storage import audit, listings, matching
from storage.db import Database, Tx
from storage.errors import NotFound
from storage.exchanges import delete_responses
from storage.kinds import MEMBER_REF_KINDS, OutboxKind
from storage.models import FORMER_MEMBER_ID

# One /forget statement (or a few): given the transaction and the named parameters below,
# it does its part and returns how many rows it deleted or changed.
#   :me the member leaving · :former the former member · :my_subject and :former_subject
#   their audit subjects · :every_member the subject of an action over all members ·
#   and, for steps written in Python, "now" (a datetime) for the notices they queue.
Step = Callable[[Tx, Mapping[str, Any]], Awaitable[int]]


class Fate(StrEnum):
    """What /forget does to a column's value when it names the member leaving (or points at
    a row of theirs that /forget deletes)."""

    DELETE = "delete"  # the row goes
    REPOINT = "repoint"  # it names the former member instead
    DETACH = "detach"  # set NULL: the row it pointed at went
    SCRUB = "scrub"  # their id is taken out of the value; the rest of the row stays


@dataclass(frozen=True, slots=True)
class Rule:
    table: str
    why: str  # what the table holds about people, and so why the rule is what it is
    columns: Mapping[str, Fate] = field(default_factory=dict)
    personal: tuple[str, ...] = ()
    plain: tuple[str, ...] = ()
    mydata: str | None = None  # the SELECT (:me) of what /mydata gives; None: nothing
    forget: tuple[Step, ...] = ()
    json_columns: tuple[str, ...] = ()  # text holding JSON, given to /mydata as JSON

    @property
    def deletes_rows(self) -> bool:
        return Fate.DELETE in self.columns.values()


def sql(*statements: str) -> Step:
    """A step that runs plain statements and counts the rows they touched."""

    async def step(tx: Tx, params: Mapping[str, Any]) -> int:
        touched = 0
        for statement in statements:
            touched += (await tx.execute(statement, dict(params))).rowcount
        return touched

    return step


async def _delete_their_listings(tx: Tx, params: Mapping[str, Any]) -> int:
    """Their posts and the answers to them; then the word index drops the words too."""
    deleted = await listings.delete(
        tx, "SELECT id FROM listings WHERE owner_id = :me", dict(params)
    )
    if deleted:
        await listings.compact_search(tx)
    return deleted


async def _delete_their_responses(tx: Tx, params: Mapping[str, Any]) -> int:
    return await delete_responses(
        tx, "SELECT id FROM responses WHERE responder_id = :me", dict(params)
    )


async def _tell_those_left_waiting(tx: Tx, params: Mapping[str, Any]) -> int:
    """A visit agreed with someone who leaves: the other one is told, kindly."""
    return await matching.tell_those_left_waiting(tx, params["me"], params["now"])


_THEIR_ACCOUNT = "(SELECT id FROM accounts WHERE member_id = :me)"
_THEIR_REFERRALS = "(SELECT id FROM referrals WHERE patient_id = :me)"
_MEMBER_REF_KINDS = ", ".join(f"'{kind}'" for kind in sorted(MEMBER_REF_KINDS))
_NAMED_IN_DETAIL = " OR ".join(
    f"json_extract(a.detail, '$.{key}') = :me" for key in audit.MEMBER_DETAIL_KEYS
)

RULES: tuple[Rule, ...] = (
    Rule(
        "outbox",
        why="Messages the bot owes a member: theirs alone, and useless once they have gone.",
        # ref_id names a member for MEMBER_REF_KINDS (a coordinator told "X applied").
        columns={"member_id": Fate.DELETE, "ref_id": Fate.DELETE},
        plain=(
            "id",
            "kind",
            "args",
            "due_at",
            "expires_at",
            "state",
            "attempts",
            "idempotency_key",
            "created_at",
            "sent_at",
            "lease_until",
        ),
        mydata="SELECT * FROM outbox WHERE member_id = :me ORDER BY id",
        forget=(
            sql(
                "DELETE FROM outbox WHERE member_id = :me",
                f"DELETE FROM outbox WHERE kind IN ({_MEMBER_REF_KINDS}) AND ref_id = :me",
            ),
        ),
        json_columns=("args",),
    ),
    Rule(
        "outbox_kinds",
        why="The names of the messages the bot sends: nothing about anyone.",
        plain=("kind",),
    ),
    Rule(
        "ledger_kinds",
        why="The names of the reasons hours move: nothing about anyone.",
        plain=("kind",),
    ),
    Rule(
        "audit_log",
        why="What coordinators did, and to whom: it stays (the timebank must be able to"
        " account for its coordinators), but no longer says which person it was about.",
        columns={"actor_id": Fate.REPOINT, "subject": Fate.SCRUB, "detail": Fate.SCRUB},
        plain=("id", "action", "created_at"),
        # Who did what about them (who viewed their data too), what they did as a coordinator,
        # and every export of all members' records since they joined.
        mydata=(
            "SELECT a.*, m.display_name AS actor_name FROM audit_log a"
            " LEFT JOIN members m ON m.id = a.actor_id"
            f" WHERE (a.actor_id = :me OR a.subject = :my_subject OR {_NAMED_IN_DETAIL})"
            # A coordinator reading a report about them would tell them they were reported.
            f" AND NOT (a.subject = :my_subject AND json_extract(a.detail, '$.what') = :reported)"
            " OR (a.subject = :every_member"
            "  AND a.created_at >= (SELECT created_at FROM members WHERE id = :me))"
            " ORDER BY a.id"
        ),
        forget=(
            sql(
                "UPDATE audit_log SET actor_id = :former WHERE actor_id = :me",
                # What was done about them stays, with nothing said about whom.
                "UPDATE audit_log SET subject = :former_subject, detail = '{}'"
                " WHERE subject = :my_subject",
                *(
                    f"UPDATE audit_log SET detail = json_set(detail, '$.{key}', :former)"
                    f" WHERE json_extract(detail, '$.{key}') = :me"
                    for key in audit.MEMBER_DETAIL_KEYS
                ),
            ),
        ),
        json_columns=("detail",),
    ),
    Rule(
        "blocks",
        why="Who keeps apart from whom: theirs alone. /mydata shows the blocks they made,"
        " never who blocked them (nobody is told they were blocked).",
        columns={"blocker_id": Fate.DELETE, "blocked_id": Fate.DELETE},
        plain=("id", "created_at"),
        mydata="SELECT * FROM blocks WHERE blocker_id = :me ORDER BY id",
        forget=(sql("DELETE FROM blocks WHERE blocker_id = :me OR blocked_id = :me"),),
    ),
    Rule(
        "member_reports",
        why="A safeguarding record for coordinators: it stays, naming the former member, but"
        " its note (a person's own words about another) goes when either of them leaves."
        " /mydata shows the reports they made in full, and of reports about them only those"
        " that paused them (they were told): the reason, the date and the outcome. Who"
        " reported them, on which exchange, or that someone did at all, could put the"
        " reporter at risk.",
        columns={
            "reporter_id": Fate.REPOINT,
            "reported_id": Fate.REPOINT,
            "handled_by": Fate.REPOINT,
        },
        personal=("note",),
        plain=("id", "exchange_id", "reason", "created_at", "handled_at", "outcome"),
        mydata=(
            "SELECT * FROM member_reports WHERE reporter_id = :me"
            " UNION ALL SELECT id, NULL, reported_id, NULL, reason, NULL, created_at, NULL,"
            " handled_at, outcome FROM member_reports WHERE reported_id = :me"
            " AND outcome = 'paused' ORDER BY id"
        ),
        forget=(
            sql(
                # Both sides gone: nobody is left to keep it for (and it can't name one
                # former member twice).
                "DELETE FROM member_reports WHERE (reporter_id = :me AND reported_id = :former)"
                " OR (reported_id = :me AND reporter_id = :former)",
                "UPDATE member_reports SET reporter_id = :former, note = NULL"
                " WHERE reporter_id = :me",
                "UPDATE member_reports SET reported_id = :former, note = NULL"
                " WHERE reported_id = :me",
                "UPDATE member_reports SET handled_by = :former WHERE handled_by = :me",
            ),
        ),
    ),
    Rule(
        "broadcasts",
        why="A coordinator's message to members: the timebank's word, sent to everyone, so"
        " it stays, sent by the former member.",
        columns={"coordinator_id": Fate.REPOINT, "listing_id": Fate.DETACH},
        plain=(
            "id",
            "text",
            "audience",
            "state",
            "recipients",
            "progress_message_id",
            "created_at",
            "finished_at",
            "reported_at",
        ),
        mydata="SELECT * FROM broadcasts WHERE coordinator_id = :me ORDER BY id",
        # listing_id is detached by listings.delete.
        forget=(sql("UPDATE broadcasts SET coordinator_id = :former WHERE coordinator_id = :me"),),
    ),
    Rule(
        "ledger_transactions",
        why="The books: never deleted. A coordinator who recorded hours is replaced by the"
        " former member; a note on their own hours is dropped.",
        columns={"recorded_by": Fate.REPOINT},
        personal=("note",),
        plain=(
            "id",
            "kind",
            "exchange_id",
            "visit_id",
            "activity_id",
            "spend_id",
            "idempotency_key",
            "created_at",
        ),
        # Hours they recorded as a coordinator; their own hours are in ledger_entries.
        mydata="SELECT * FROM ledger_transactions WHERE recorded_by = :me ORDER BY id",
        forget=(
            sql(
                "UPDATE ledger_transactions SET recorded_by = :former WHERE recorded_by = :me",
                "UPDATE ledger_transactions SET note = NULL WHERE note IS NOT NULL AND id IN"
                f" (SELECT transaction_id FROM ledger_entries WHERE account_id = {_THEIR_ACCOUNT})",
            ),
        ),
    ),
    Rule(
        "ledger_entries",
        why="Their hours given and received: never changed. Their account passes whole to"
        " the former member (accounts), so the ledger still sums to zero and no one else's"
        " balance changes.",
        plain=("id", "transaction_id", "account_id", "minutes"),
        mydata=(
            "SELECT e.id, e.transaction_id, e.minutes, t.kind, t.exchange_id, t.recorded_by,"
            " t.note, t.created_at FROM ledger_entries e"
            " JOIN ledger_transactions t ON t.id = e.transaction_id"
            f" WHERE e.account_id = {_THEIR_ACCOUNT} ORDER BY e.id"
        ),
    ),
    Rule(
        "exchanges",
        why="Help given and received: the other party's history and the ledger rest on it,"
        " so it stays, naming the former member (open ones are cancelled first).",
        columns={
            "giver_id": Fate.REPOINT,
            "receiver_id": Fate.REPOINT,
            "proposed_by": Fate.REPOINT,
            "disputed_by": Fate.REPOINT,
            "listing_id": Fate.DETACH,
            "response_id": Fate.DETACH,
            "record_key": Fate.SCRUB,  # 'record:{coordinator id}:{message id}'
        },
        plain=(
            "id",
            "organisation_id",
            "organisation_side",
            "state",
            "proposed_minutes",
            "created_at",
            "updated_at",
            "scheduled_at",
            "dispute_reason",
        ),
        mydata="SELECT * FROM exchanges WHERE giver_id = :me OR receiver_id = :me ORDER BY id",
        # listing_id and response_id are detached by listings.delete and delete_responses.
        forget=(
            sql(
                # Only a coordinator's /record sets record_key, with proposed_by = them.
                "UPDATE exchanges SET record_key = NULL"
                " WHERE proposed_by = :me AND record_key IS NOT NULL",
                # A column at a time, each by its own index: only the rows and index entries
                # that name them are rewritten (half the pages of one UPDATE of all four).
                *(
                    f"UPDATE exchanges SET {column} = :former WHERE {column} = :me"
                    for column in ("giver_id", "receiver_id", "proposed_by", "disputed_by")
                ),
            ),
        ),
    ),
    Rule(
        "responses",
        why="Their answers to posts (and others' answers to their posts, which go with the"
        " posts): what they offered to do, about a post that may no longer exist.",
        columns={"responder_id": Fate.DELETE, "listing_id": Fate.DELETE},
        plain=("id", "status", "created_at"),
        mydata="SELECT * FROM responses WHERE responder_id = :me ORDER BY id",
        forget=(_delete_their_responses,),
    ),
    Rule(
        "listings",
        why="Their offers and needs, in their own words, which often hold addresses and"
        " health details.",
        columns={"owner_id": Fate.DELETE},
        personal=("body", "when_where"),
        plain=(
            "id",
            "kind",
            "category",
            "status",
            "created_at",
            "updated_at",
            "nudged_at",
            "organisation_id",
        ),
        mydata="SELECT * FROM listings WHERE owner_id = :me ORDER BY id",
        forget=(_delete_their_listings,),
    ),
    Rule(
        "listings_fts",
        why="The word index of listings, kept in step by triggers: it holds nothing of its"
        " own, and deleting a listing takes its words out (listings.compact_search).",
        personal=("body", "when_where"),
        plain=("category",),
    ),
    Rule(
        "accounts",
        why="Their ledger account, with every hour on it: it passes to the former member.",
        columns={"member_id": Fate.REPOINT},
        plain=("id", "kind", "organisation_id"),
        mydata="SELECT * FROM accounts WHERE member_id = :me",
        forget=(sql("UPDATE accounts SET member_id = :former WHERE member_id = :me"),),
    ),
    Rule(
        "organisation_members",
        why="Who acts for which organisation: a leaver no longer does. Who named them stays"
        " as the record, naming the former member.",
        columns={"member_id": Fate.DELETE, "added_by": Fate.REPOINT},
        plain=("organisation_id", "added_at"),
        mydata=(
            "SELECT * FROM organisation_members WHERE member_id = :me OR added_by = :me"
            " ORDER BY organisation_id"
        ),
        forget=(
            sql(
                "DELETE FROM organisation_members WHERE member_id = :me",
                "UPDATE organisation_members SET added_by = :former WHERE added_by = :me",
            ),
        ),
    ),
    Rule(
        "organisations",
        why="A service taking part in the timebank: not a person. The coordinator who"
        " created it is replaced by the former member.",
        columns={"created_by": Fate.REPOINT},
        plain=("id", "name", "area", "description", "status", "created_at"),
        mydata="SELECT * FROM organisations WHERE created_by = :me ORDER BY id",
        forget=(sql("UPDATE organisations SET created_by = :former WHERE created_by = :me"),),
    ),
    Rule(
        "activity_signups",
        why="Who signed up for which activity. Places still to come are given up (so the"
        " next in line gets them); past ones stay for the attendance figures and the"
        " ledger, naming the former member.",
        columns={"member_id": Fate.REPOINT, "marked_by": Fate.REPOINT},
        plain=(
            "id",
            "activity_id",
            "role",
            "state",
            "queued_at",
            "offer_expires_at",
            "attended",
            "created_at",
            "updated_at",
        ),
        mydata="SELECT * FROM activity_signups WHERE member_id = :me ORDER BY id",
        forget=(
            sql(
                "DELETE FROM activity_signups WHERE member_id = :me AND activity_id IN"
                " (SELECT id FROM activities WHERE state = 'open')",
                "UPDATE activity_signups SET member_id = :former WHERE member_id = :me",
                "UPDATE activity_signups SET marked_by = :former WHERE marked_by = :me",
            ),
        ),
    ),
    Rule(
        "activities",
        why="An organisation's group activities: the organisers' and the ledger's record,"
        " so they stay; a member who posted or credited one is replaced by the former"
        " member.",
        columns={"created_by": Fate.REPOINT, "credited_by": Fate.REPOINT},
        plain=(
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
            "roll_call_at",
            "credited_at",
            "created_at",
        ),
        mydata=("SELECT * FROM activities WHERE created_by = :me OR credited_by = :me ORDER BY id"),
        forget=(
            sql(
                "UPDATE activities SET created_by = :former WHERE created_by = :me",
                "UPDATE activities SET credited_by = :former WHERE credited_by = :me",
            ),
        ),
    ),
    Rule(
        "spends",
        why="Hours spent with a partner: the ledger rests on them, so they stay, naming the"
        " former member; one still waiting for the organisation is withdrawn.",
        columns={"member_id": Fate.REPOINT, "decided_by": Fate.REPOINT},
        plain=("id", "offer_id", "minutes", "state", "created_at", "updated_at"),
        mydata="SELECT * FROM spends WHERE member_id = :me OR decided_by = :me ORDER BY id",
        forget=(
            sql(
                "UPDATE spends SET state = 'withdrawn' WHERE member_id = :me AND state = 'asked'",
                "UPDATE spends SET member_id = :former WHERE member_id = :me",
                "UPDATE spends SET decided_by = :former WHERE decided_by = :me",
            ),
        ),
    ),
    Rule(
        "partner_offers",
        why="What an organisation offers for hours: the organisation's, not a person's; who"
        " posted it is replaced by the former member.",
        columns={"created_by": Fate.REPOINT},
        plain=(
            "id",
            "organisation_id",
            "category",
            "title",
            "details",
            "price_minutes",
            "status",
            "created_at",
        ),
        mydata="SELECT * FROM partner_offers WHERE created_by = :me ORDER BY id",
        forget=(sql("UPDATE partner_offers SET created_by = :former WHERE created_by = :me"),),
    ),
    Rule(
        "visit_alerts",
        why="What coordinators were alerted to about a patient, and who was on it: it stays,"
        " as the record of how the timebank looked after them (a coordinator who leaves is"
        " replaced by the former member); nothing in it is the patient's own words.",
        columns={"acknowledged_by": Fate.REPOINT},
        plain=(
            "id",
            "referral_id",
            "visit_id",
            "reason",
            "raised_at",
            "times_told",
            "next_alert_at",
            "acknowledged_at",
        ),
        mydata=(
            f"SELECT * FROM visit_alerts WHERE referral_id IN {_THEIR_REFERRALS}"
            " OR acknowledged_by = :me ORDER BY id"
        ),
        forget=(
            sql("UPDATE visit_alerts SET acknowledged_by = :former WHERE acknowledged_by = :me"),
        ),
    ),
    Rule(
        "loneliness_scores",
        why="A patient's own answers about how lonely they feel: theirs alone, so they go.",
        columns={"referral_id": Fate.DELETE},
        personal=("companionship", "left_out", "isolated"),
        plain=("id", "stage", "created_at"),
        mydata=f"SELECT * FROM loneliness_scores WHERE referral_id IN {_THEIR_REFERRALS}",
        forget=(sql(f"DELETE FROM loneliness_scores WHERE referral_id IN {_THEIR_REFERRALS}"),),
    ),
    Rule(
        "visits",
        why="Visits made: the visitor's hours and the figures rest on them, so they stay,"
        " naming the former member; the visitor's note about the patient goes when either"
        " of them leaves. Both see them in /mydata.",
        columns={"visitor_id": Fate.REPOINT, "confirmed_by": Fate.REPOINT},
        personal=("note", "warm", "food", "medicines", "worry"),
        plain=(
            "id",
            "referral_id",
            "number",
            "due_on",
            "scheduled_at",
            "state",
            "reported_at",
            "reach_tries",
            "confirmed_at",
            "created_at",
            "updated_at",
        ),
        mydata=(
            "SELECT * FROM visits WHERE visitor_id = :me"
            f" OR referral_id IN {_THEIR_REFERRALS} ORDER BY id"
        ),
        forget=(
            sql(
                # Visits still to come are off: their visitor, or their patient, has gone.
                "UPDATE visits SET state = 'cancelled' WHERE state = 'planned'"
                f" AND (visitor_id = :me OR referral_id IN {_THEIR_REFERRALS})",
                "UPDATE visits SET note = NULL WHERE note IS NOT NULL"
                f" AND (visitor_id = :me OR referral_id IN {_THEIR_REFERRALS})",
                "UPDATE visits SET visitor_id = :former WHERE visitor_id = :me",
                "UPDATE visits SET confirmed_by = :former WHERE confirmed_by = :me",
            ),
        ),
    ),
    Rule(
        "visit_offers",
        why="Which visitor was asked to visit whom: only for matching, so a leaver's go.",
        columns={"visitor_id": Fate.DELETE},
        plain=("id", "referral_id", "state", "offered_at", "answer_by", "answered_at"),
        mydata="SELECT * FROM visit_offers WHERE visitor_id = :me ORDER BY id",
        forget=(
            sql(
                "UPDATE visit_offers SET state = 'withdrawn' WHERE state = 'open'"
                f" AND referral_id IN {_THEIR_REFERRALS}",
                "DELETE FROM visit_offers WHERE visitor_id = :me",
            ),
        ),
    ),
    Rule(
        "referrals",
        why="A patient's discharge, address, health notes and needs: theirs, so they go when"
        " they leave; the dates and states stay for the figures, naming the former member."
        " A referral still open is withdrawn. One their visitor had accepted, but not yet"
        " visited, goes back to finding someone else.",
        columns={
            "patient_id": Fate.REPOINT,
            "registered_by": Fate.REPOINT,
            "visitor_id": Fate.REPOINT,
            "readmission_by": Fate.REPOINT,
        },
        personal=("first_name", "area", "contact", "address", "needs", "notes", "code_word"),
        plain=(
            "id",
            "discharged_at",
            "ward",
            "source",
            "state",
            "accepted_at",
            "first_visit_at",
            "address_deleted_at",
            "readmitted_on",
            "pay_forward",
            "created_at",
            "updated_at",
        ),
        mydata="SELECT * FROM referrals WHERE patient_id = :me ORDER BY id",
        forget=(
            _tell_those_left_waiting,
            sql(
                "UPDATE referrals SET state = 'withdrawn' WHERE patient_id = :me"
                " AND state IN ('matching', 'accepted')",
                "UPDATE referrals SET first_name = '', area = '', contact = NULL,"
                " address = NULL, needs = '[]', notes = NULL, patient_id = :former"
                " WHERE patient_id = :me",
                "UPDATE referrals SET state = 'matching', visitor_id = NULL, code_word = NULL,"
                " accepted_at = NULL WHERE visitor_id = :me AND state = 'accepted'",
                *(
                    f"UPDATE referrals SET {column} = :former WHERE {column} = :me"
                    for column in ("visitor_id", "registered_by", "readmission_by")
                ),
            ),
        ),
    ),
    Rule(
        "visitor_checks",
        why="The checks a coordinator recorded about a visitor: about them, so they go.",
        columns={"member_id": Fate.DELETE, "recorded_by": Fate.REPOINT},
        personal=("kind", "checked_on", "expires_on", "note"),
        plain=("id", "created_at"),
        mydata="SELECT * FROM visitor_checks WHERE member_id = :me ORDER BY id",
        forget=(
            sql(
                "DELETE FROM visitor_checks WHERE member_id = :me",
                "UPDATE visitor_checks SET recorded_by = :former WHERE recorded_by = :me",
            ),
        ),
    ),
    Rule(
        "visitor_areas",
        why="Where a visitor can reach: theirs alone.",
        columns={"member_id": Fate.DELETE},
        plain=("area",),
        mydata="SELECT * FROM visitor_areas WHERE member_id = :me ORDER BY area",
        forget=(sql("DELETE FROM visitor_areas WHERE member_id = :me"),),
    ),
    Rule(
        "visitors",
        why="Their offer to visit, and when they are free: theirs alone.",
        columns={"member_id": Fate.DELETE, "decided_by": Fate.REPOINT},
        personal=("free_when",),
        plain=("status", "source", "check_expires_on", "applied_at", "decided_at", "updated_at"),
        mydata="SELECT * FROM visitors WHERE member_id = :me",
        forget=(
            sql(
                "DELETE FROM visitors WHERE member_id = :me",
                "UPDATE visitors SET decided_by = :former WHERE decided_by = :me",
            ),
        ),
    ),
    Rule(
        "members",
        why="Their profile and settings: deleted, so writing to the bot again starts afresh."
        " A member a coordinator added by hand names them in recorded_by.",
        columns={"id": Fate.DELETE, "recorded_by": Fate.REPOINT, "paused_by": Fate.REPOINT},
        personal=(
            "telegram_id",
            "display_name",
            "username",
            "neighbourhood",
            "join_source",
            "nudges_enabled",
            "nudge_digest",
            "quiet_hours",
            "unreachable_at",
            "language",
            "paused_at",
        ),
        plain=("status", "role", "consented_at", "created_at"),
        mydata="SELECT * FROM members WHERE id = :me",
        forget=(
            sql(
                "UPDATE members SET recorded_by = :former WHERE recorded_by = :me",
                "UPDATE members SET paused_by = :former WHERE paused_by = :me",
                "DELETE FROM members WHERE id = :me",
            ),
        ),
    ),
)

RULES_BY_TABLE: Mapping[str, Rule] = {rule.table: rule for rule in RULES}


def params_for(member_id: int) -> dict[str, Any]:
    """The named parameters every rule's SQL may use."""
    return {
        "me": member_id,
        "former": FORMER_MEMBER_ID,
        "my_subject": audit.member_subject(member_id),
        "former_subject": audit.member_subject(FORMER_MEMBER_ID),
        "every_member": audit.EVERY_MEMBER,
        "reported": OutboxKind.MEMBER_REPORTED.value,
    }


async def require_member(tx: Tx, member_id: int) -> str:
    """The status of a member whose data may be shown or forgotten; NotFound for anyone
    else (gone already, never there, or the former member, which is nobody's)."""
    row = await tx.one("SELECT status FROM members WHERE id = ?", member_id)
    if row is None or member_id == FORMER_MEMBER_ID:
        raise NotFound(member_id)
    return str(row[0])


async def problems(db: Database) -> list[str]:
    """What the registry misses in the live schema, one line each; empty when every table
    has a rule and every column a place in it."""
    found: list[str] = []
    tables = await _tables(db)
    found += [f"{table}: no rule" for table in sorted(tables.keys() - RULES_BY_TABLE.keys())]
    found += [f"{table}: rule for no table" for table in RULES_BY_TABLE.keys() - tables.keys()]
    deleting = {rule.table for rule in RULES if rule.deletes_rows}
    for table, columns in sorted(tables.items()):
        rule = RULES_BY_TABLE.get(table)
        if rule is None:
            continue
        found += _column_problems(rule, columns)
        for column, parent in await _references(db, table):
            if (parent == "members" or parent in deleting) and column not in rule.columns:
                found.append(f"{table}.{column}: references {parent}, but no fate")
    return found


def _column_problems(rule: Rule, columns: list[str]) -> list[str]:
    named = [*rule.columns, *rule.personal, *rule.plain]
    unknown = [f"{rule.table}.{c}: unclassified" for c in columns if c not in named]
    gone = [f"{rule.table}.{c}: listed but gone" for c in named if c not in columns]
    twice = [f"{rule.table}.{c}: listed twice" for c in set(named) if named.count(c) > 1]
    return unknown + gone + sorted(twice)


async def _tables(db: Database) -> dict[str, list[str]]:
    """Every table the schema defines, with its columns: SQLite's own and the FTS5 shadow
    tables (an FTS5 table's private storage, covered by its rule) left out."""
    rows = await db.all(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    shadows = {
        f"{row['name']}_{suffix}"
        for row in rows
        if "USING FTS5" in (row["sql"] or "").upper()
        for suffix in ("data", "idx", "content", "docsize", "config")
    }
    return {
        row["name"]: [
            column["name"]
            for column in await db.all("SELECT name FROM pragma_table_info(?)", (row["name"],))
        ]
        for row in rows
        if row["name"] not in shadows
    }


async def _references(db: Database, table: str) -> list[tuple[str, str]]:
    rows = await db.all('SELECT "from", "table" FROM pragma_foreign_key_list(?)', (table,))
    return [(row[0], row[1]) for row in rows]
