"""The audit log: every coordinator action, written in the same transaction as the action."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from storage.db import Database, Tx
from storage.models import to_db


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


async def actions(db: Database, limit: int = 50) -> list[tuple[int, str, str]]:
    """The latest (actor, action, subject), newest first."""
    rows = await db.all(
        "SELECT actor_id, action, subject FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
    )
    return [(row[0], row[1], row[2]) for row in rows]
