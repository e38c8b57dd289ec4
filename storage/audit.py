"""The audit log: every coordinator action, written in the same transaction as the action.

A row about one member has the subject `member:{id}` (`member_subject`), so that member's
/mydata can say who did what about them, including who looked at their data (`viewed`), and
/forget can take their id out of it. Ids inside `detail` name members only under the keys in
MEMBER_DETAIL_KEYS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from storage.db import Database, Tx
from storage.kinds import OutboxKind
from storage.models import FORMER_MEMBER_ID, to_db

# The subject of an action over every member's records at once (the /export files): each
# member's /mydata lists it, as it took out their name and hours too.
EVERY_MEMBER = "members:all"
VIEWED = "viewed"  # the action of a coordinator looking at a member's data

# Keys of `detail` whose value is a member's id (who gave and who received hours a coordinator
# recorded); /mydata reads them and /forget re-points them, as it does the subject.
MEMBER_DETAIL_KEYS = ("giver", "receiver")


def member_subject(member_id: int) -> str:
    return f"member:{member_id}"


async def record(
    tx: Tx,
    *,
    actor_id: int,
    action: str,
    subject: str,
    now: datetime,
    detail: Mapping[str, Any] | None = None,
) -> None:
    await tx.execute(
        "INSERT INTO audit_log (actor_id, action, subject, detail, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (actor_id, action, subject, json.dumps(dict(detail or {})), to_db(now)),
    )


async def viewed(tx: Tx, actor_id: int, member_id: int, what: str, now: datetime) -> None:
    """A coordinator looked at a member's data (`what`: 'profile', 'history'…), so the
    member's /mydata can say who saw what, and when."""
    await record(
        tx,
        actor_id=actor_id,
        action=VIEWED,
        subject=member_subject(member_id),
        now=now,
        detail={"what": what},
    )


# Notices that show a coordinator members' data (an application, a case between two people, a
# report), with the members each shows. Delivering one is the coordinator seeing it, so
# `record_shown` logs it as the rows are marked sent, and each member's /mydata says so.
_SHOWN = " UNION ALL ".join(
    (
        "SELECT o.id AS outbox_id, o.ref_id AS member_id FROM outbox o"
        f" WHERE o.kind = '{OutboxKind.MEMBER_APPLIED}'",
        *(
            f"SELECT o.id, x.{side} FROM outbox o JOIN exchanges x ON x.id = o.ref_id"
            f" WHERE o.kind IN ('{OutboxKind.EXCHANGE_HELD}', '{OutboxKind.EXCHANGE_DISPUTED}',"
            f" '{OutboxKind.COORDINATOR_CONFIRM_STUCK}')"
            for side in ("giver_id", "receiver_id")
        ),
        *(
            f"SELECT o.id, r.{side} FROM outbox o JOIN member_reports r ON r.id = o.ref_id"
            f" WHERE o.kind = '{OutboxKind.MEMBER_REPORTED}'"
            for side in ("reporter_id", "reported_id")
        ),
    )
)


async def record_shown(tx: Tx, outbox_ids: Sequence[int], now: datetime) -> None:
    """Log, for each delivered notice that showed a coordinator a member's data, that they
    saw it (the former member, who is nobody, is left out)."""
    marks = ",".join("?" * len(outbox_ids))
    await tx.execute(
        "INSERT INTO audit_log (actor_id, action, subject, detail, created_at)"
        f" SELECT o.member_id, '{VIEWED}', 'member:' || shown.member_id,"
        " json_object('what', o.kind), ? FROM outbox o"
        f" JOIN ({_SHOWN}) shown ON shown.outbox_id = o.id"
        f" WHERE o.id IN ({marks}) AND shown.member_id NOT IN ({FORMER_MEMBER_ID}, o.member_id)",
        (to_db(now), *outbox_ids),
    )


async def actions(db: Database, limit: int = 50) -> list[tuple[int, str, str]]:
    """The latest (actor, action, subject), newest first."""
    rows = await db.all(
        "SELECT actor_id, action, subject FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
    )
    return [(row[0], row[1], row[2]) for row in rows]
