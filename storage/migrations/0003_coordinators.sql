-- Coordinators: members without Telegram (recorded by hand), peer visitors, an audit log of
-- every coordinator action, and broadcasts delivered through the outbox.

-- members.telegram_id becomes optional, for members a coordinator records who don't use the bot.
-- SQLite can't drop NOT NULL in place, so the table is rebuilt (foreign keys are off while
-- migrations run, and checked at the end).
CREATE TABLE members_new (
    id             INTEGER PRIMARY KEY,
    telegram_id    INTEGER UNIQUE,
    display_name   TEXT    NOT NULL,
    username       TEXT,
    neighbourhood  TEXT,
    join_source    TEXT,
    status         TEXT    NOT NULL DEFAULT 'active'
                   CHECK (status IN ('pending', 'active', 'declined')),
    role           TEXT    NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'coordinator')),
    consented_at   TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    nudges_enabled INTEGER NOT NULL DEFAULT 1 CHECK (nudges_enabled IN (0, 1)),
    nudge_digest   INTEGER NOT NULL DEFAULT 0 CHECK (nudge_digest IN (0, 1)),
    quiet_hours    TEXT,
    unreachable_at TEXT,
    peer_visitor   INTEGER NOT NULL DEFAULT 0 CHECK (peer_visitor IN (0, 1)),
    recorded_by    INTEGER REFERENCES members (id)
);
INSERT INTO members_new (id, telegram_id, display_name, username, neighbourhood, join_source,
    status, role, consented_at, created_at, nudges_enabled, nudge_digest, quiet_hours,
    unreachable_at)
SELECT id, telegram_id, display_name, username, neighbourhood, join_source, status, role,
    consented_at, created_at, nudges_enabled, nudge_digest, quiet_hours, unreachable_at
FROM members;
DROP TABLE members;
ALTER TABLE members_new RENAME TO members;
CREATE INDEX members_status ON members (status, created_at);
CREATE INDEX members_neighbourhood ON members (neighbourhood) WHERE status = 'active';

-- Every coordinator action: who did what to what, and when.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    actor_id   INTEGER NOT NULL REFERENCES members (id),
    action     TEXT    NOT NULL,
    subject    TEXT,
    detail     TEXT    NOT NULL DEFAULT '{}',
    created_at TEXT    NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);

-- A broadcast and its audience; each recipient is an outbox row (kind 'broadcast').
CREATE TABLE broadcasts (
    id             INTEGER PRIMARY KEY,
    coordinator_id INTEGER NOT NULL REFERENCES members (id),
    text           TEXT    NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    audience       TEXT    NOT NULL,
    listing_id     INTEGER REFERENCES listings (id),
    state          TEXT    NOT NULL DEFAULT 'sending'
                   CHECK (state IN ('sending', 'done', 'cancelled')),
    recipients     INTEGER NOT NULL DEFAULT 0,
    progress_message_id INTEGER,
    created_at     TEXT    NOT NULL,
    finished_at    TEXT,
    reported_at    TEXT
);
CREATE INDEX broadcasts_unreported ON broadcasts (id) WHERE reported_at IS NULL;

-- The outbox learns a 'blocked' outcome (Telegram 403), apart from other failures, for the
-- delivery report of a broadcast.
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    member_id       INTEGER NOT NULL REFERENCES members (id),
    kind            TEXT    NOT NULL,
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
    sent_at         TEXT
);
INSERT INTO outbox_new SELECT * FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, due_at);
CREATE INDEX outbox_member_pending ON outbox (member_id, state);
CREATE INDEX outbox_ref ON outbox (kind, ref_id, state);
