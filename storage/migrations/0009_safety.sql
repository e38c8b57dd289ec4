-- Safety: members block each other and report someone to the coordinators, and a coordinator
-- can pause a member for a while.

-- A block keeps two people apart both ways: neither sees the other's posts nor can answer them.
-- Only the blocker can lift it (a row is theirs); the blocked person is never told.
CREATE TABLE blocks (
    id         INTEGER PRIMARY KEY,
    blocker_id INTEGER NOT NULL REFERENCES members (id),
    blocked_id INTEGER NOT NULL REFERENCES members (id),
    created_at TEXT    NOT NULL,
    UNIQUE (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);
-- The other direction, for "who has blocked me" in the same lookups.
CREATE INDEX blocks_blocked ON blocks (blocked_id, blocker_id);

-- A member's report of another, for the coordinators; handled once (compare-and-set on
-- handled_at), by pausing the reported member or deciding no action is needed.
CREATE TABLE member_reports (
    id          INTEGER PRIMARY KEY,
    reporter_id INTEGER NOT NULL REFERENCES members (id),
    reported_id INTEGER NOT NULL REFERENCES members (id),
    exchange_id INTEGER REFERENCES exchanges (id),
    reason      TEXT    NOT NULL CHECK (reason IN ('unsafe', 'no_show', 'other')),
    note        TEXT    CHECK (note IS NULL OR length(note) BETWEEN 1 AND 500),
    created_at  TEXT    NOT NULL,
    handled_by  INTEGER REFERENCES members (id),
    handled_at  TEXT,
    outcome     TEXT    CHECK (outcome IS NULL OR outcome IN ('paused', 'no_action')),
    CHECK (reporter_id <> reported_id),
    CHECK ((handled_at IS NULL) = (handled_by IS NULL)
           AND (handled_at IS NULL) = (outcome IS NULL))
);
CREATE INDEX member_reports_open ON member_reports (id) WHERE handled_at IS NULL;
CREATE INDEX member_reports_reported ON member_reports (reported_id, id);

-- Paused by a coordinator: can't post or answer posts until resumed; everything else works.
ALTER TABLE members ADD COLUMN paused_at TEXT;
ALTER TABLE members ADD COLUMN paused_by INTEGER REFERENCES members (id);

-- Three new outbox kinds (coordinators hear of a report; a member hears they are paused, and
-- resumed). The CHECK can't change in place, so the table is rebuilt as in 0006.
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    member_id       INTEGER NOT NULL REFERENCES members (id),
    kind            TEXT    NOT NULL CHECK (kind IN (
        'response_new',
        'response_accepted',
        'response_declined',
        'exchange_proposed',
        'exchange_confirmed',
        'exchange_approved',
        'exchange_held',
        'exchange_held_party',
        'exchange_disputed',
        'exchange_disputed_party',
        'exchange_cancelled',
        'exchange_time_set',
        'exchange_recorded',
        'exchange_settled',
        'nudge_first_post',
        'nudge_unconfirmed',
        'nudge_confirm_waiting',
        'coordinator_confirm_stuck',
        'need_still_open',
        'need_match',
        'reminder_day_before',
        'reminder_hour_before',
        'broadcast',
        'broadcast_report',
        'member_applied',
        'member_active',
        'member_declined',
        'role_promoted',
        'role_demoted',
        'member_reported',
        'member_paused',
        'member_resumed'
    )),
    ref_id          INTEGER,
    args            TEXT    NOT NULL DEFAULT '{}',
    due_at          TEXT    NOT NULL,
    expires_at      TEXT,
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'blocked', 'failed',
                                     'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT    UNIQUE,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT,
    lease_until     TEXT,
    CHECK ((state = 'sending') = (lease_until IS NOT NULL))
);
INSERT INTO outbox_new (id, member_id, kind, ref_id, args, due_at, expires_at, state, attempts,
    idempotency_key, created_at, sent_at, lease_until)
SELECT id, member_id, kind, ref_id, args, due_at, expires_at, state, attempts, idempotency_key,
    created_at, sent_at, lease_until
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, due_at);
CREATE INDEX outbox_member_pending ON outbox (member_id, state);
CREATE INDEX outbox_ref ON outbox (kind, ref_id, state);
CREATE INDEX outbox_leases ON outbox (lease_until) WHERE state = 'sending';
