-- The outbox's kinds become a contract: a CHECK lists every kind storage.kinds.OutboxKind
-- names (tests/test_contracts.py keeps the two equal), so a misspelt kind fails its INSERT.
-- A claimed row carries a lease: if the sender dies or errs while holding it, the row goes
-- back to the queue once the lease runs out, while the bot keeps running, not only at start.
-- SQLite can't add a CHECK to a column in place, so the table is rebuilt (foreign keys are off
-- while migrations run, and checked at the end).
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
        'role_demoted'
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
    idempotency_key, created_at, sent_at)
SELECT id, member_id, kind, ref_id, args, due_at, expires_at,
    CASE state WHEN 'sending' THEN 'pending' ELSE state END, attempts, idempotency_key,
    created_at, sent_at
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, due_at);
CREATE INDEX outbox_member_pending ON outbox (member_id, state);
CREATE INDEX outbox_ref ON outbox (kind, ref_id, state);
CREATE INDEX outbox_leases ON outbox (lease_until) WHERE state = 'sending';
