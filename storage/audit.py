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
# report), each with the SELECT (:ref, the row's ref_id) of the members it shows. Delivering
# one is the coordinator seeing it, so `record_shown` logs it as the rows are marked sent, and
# each member's /mydata says so.
_SHOWN: Mapping[str, str] = {
    OutboxKind.MEMBER_APPLIED: "SELECT :ref",
    **dict.fromkeys(
        (
            OutboxKind.EXCHANGE_HELD,
            OutboxKind.EXCHANGE_DISPUTED,
            OutboxKind.COORDINATOR_CONFIRM_STUCK,
        ),
        "SELECT giver_id FROM exchanges WHERE id = :ref"
        " UNION ALL SELECT receiver_id FROM exchanges WHERE id = :ref",
    ),
    # An offer to visit, and a visitor's check running out: the visitor's areas, times, check.
    **dict.fromkeys(
        (
            OutboxKind.VISITOR_APPLIED,
            OutboxKind.VISITOR_CHECK_EXPIRING,
            OutboxKind.VISITOR_CHECK_EXPIRED,
        ),
        "SELECT :ref",
    ),
    OutboxKind.MEMBER_REPORTED: "SELECT reporter_id FROM member_reports WHERE id = :ref"
    " UNION ALL SELECT reported_id FROM member_reports WHERE id = :ref",
    # An alert after a visit: the patient (when on Telegram) and the visitor's check-in.
    OutboxKind.CHECKIN_ALERT: "SELECT r.patient_id FROM visit_alerts a"
    " JOIN referrals r ON r.id = a.referral_id WHERE a.id = :ref"
    " UNION ALL SELECT v.visitor_id FROM visit_alerts a"
    " JOIN visits v ON v.id = a.visit_id WHERE a.id = :ref",
}
_SHOWN_KINDS = ", ".join(f"'{kind}'" for kind in _SHOWN)


async def record_shown(tx: Tx, outbox_ids: Sequence[int], now: datetime) -> None:
    """Log, for each delivered notice that showed a coordinator a member's data, that they
    saw it (never the former member, who is nobody). Only the rows just sent are read, by
    id, so notices that show no one cost one indexed lookup."""
    marks = ",".join("?" * len(outbox_ids))
    notices = await tx.execute_fetchall(
        f"SELECT member_id, kind, ref_id FROM outbox WHERE id IN ({marks})"
        f" AND kind IN ({_SHOWN_KINDS})",
        tuple(outbox_ids),
    )
    for coordinator_id, kind, ref_id in notices:
        for (member_id,) in await tx.execute_fetchall(_SHOWN[kind], {"ref": ref_id}):
            if member_id not in (FORMER_MEMBER_ID, coordinator_id, None):
                await viewed(tx, coordinator_id, member_id, kind, now)


async def actions(db: Database, limit: int = 50) -> list[tuple[int, str, str]]:
    """The latest (actor, action, subject), newest first."""
    rows = await db.all(
        "SELECT actor_id, action, subject FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
    )
    return [(row[0], row[1], row[2]) for row in rows]
