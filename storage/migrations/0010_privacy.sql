-- Privacy: "Your data" (/mydata), "Leave" (/forget) and retention. See storage/privacy.py.
--
-- When a member leaves, their profile, posts and answers are deleted, and what must stay true
-- (hours given and received, other members' balances) is kept by re-pointing it to one
-- anonymous "former member": the reserved members row 0, which takes over their account.
--
-- SQLite can't change a CHECK or a UNIQUE, or add AUTOINCREMENT, in place, so six tables are
-- rebuilt (foreign keys are off while migrations run, and checked at the end):
-- - members: status 'left', the former member's alone.
-- - accounts: the former member holds every leaver's account.
-- - members, listings, responses: AUTOINCREMENT, so an id is never given again once its row is
--   deleted. Otherwise a newcomer could inherit a leaver's id, or a new post a deleted one's,
--   and an old button in someone's chat ("I can help" on post 57) would act on the new row.
-- - exchanges: help between two members who both left stands between the former member and
--   itself, so giver and receiver may both be 0.
-- - outbox: the kinds partner_left and member_left.
-- (Written before 0008 and 0009 and renumbered after them: members keeps their columns, and
-- the outbox their kinds.)

CREATE TABLE members_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    telegram_id    INTEGER UNIQUE,
    display_name   TEXT    NOT NULL,
    username       TEXT,
    neighbourhood  TEXT,
    join_source    TEXT,
    status         TEXT    NOT NULL DEFAULT 'active'
                   CHECK (status IN ('pending', 'active', 'declined', 'left')),
    role           TEXT    NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'coordinator')),
    consented_at   TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    nudges_enabled INTEGER NOT NULL DEFAULT 1 CHECK (nudges_enabled IN (0, 1)),
    nudge_digest   INTEGER NOT NULL DEFAULT 0 CHECK (nudge_digest IN (0, 1)),
    quiet_hours    TEXT,
    unreachable_at TEXT,
    peer_visitor   INTEGER NOT NULL DEFAULT 0 CHECK (peer_visitor IN (0, 1)),
    recorded_by    INTEGER REFERENCES members (id),
    language       TEXT    CHECK (language IS NULL OR length(language) BETWEEN 2 AND 8),
    paused_at      TEXT,
    paused_by      INTEGER REFERENCES members (id)
);
INSERT INTO members_new SELECT id, telegram_id, display_name, username, neighbourhood,
    join_source, status, role, consented_at, created_at, nudges_enabled, nudge_digest,
    quiet_hours, unreachable_at, peer_visitor, recorded_by, language, paused_at, paused_by
FROM members;
DROP TABLE members;
ALTER TABLE members_new RENAME TO members;
CREATE INDEX members_status ON members (status, created_at);
CREATE INDEX members_neighbourhood ON members (neighbourhood) WHERE status = 'active';

-- The former member: no name, no Telegram, never active, so no list of members shows it.
INSERT INTO members (id, display_name, status, consented_at, created_at)
VALUES (0, '', 'left', strftime('%Y-%m-%dT%H:%M:%f000Z'), strftime('%Y-%m-%dT%H:%M:%f000Z'));

-- A leaver's account passes to the former member, entries untouched (the ledger is never
-- updated), so the former member may hold many accounts; everyone else still holds one.
CREATE TABLE accounts_new (
    id        INTEGER PRIMARY KEY,
    member_id INTEGER REFERENCES members (id),
    kind      TEXT NOT NULL CHECK (kind IN ('member', 'community')),
    CHECK ((kind = 'community') = (member_id IS NULL))
);
INSERT INTO accounts_new SELECT id, member_id, kind FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
CREATE INDEX accounts_member ON accounts (member_id);
CREATE UNIQUE INDEX accounts_one_each ON accounts (member_id) WHERE member_id <> 0;

CREATE TABLE listings_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id   INTEGER NOT NULL REFERENCES members (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('offer', 'need')),
    category   TEXT    NOT NULL,
    body       TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 500),
    when_where TEXT    CHECK (when_where IS NULL OR length(when_where) <= 200),
    status     TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    nudged_at  TEXT
);
-- Same ids, so the word index (keyed by listing id) stays right without a rebuild.
INSERT INTO listings_new SELECT id, owner_id, kind, category, body, when_where, status,
    created_at, updated_at, nudged_at
FROM listings;
DROP TABLE listings;  -- its triggers go with it; they are made again below
ALTER TABLE listings_new RENAME TO listings;
CREATE INDEX listings_browse ON listings (status, kind, category, id);
CREATE INDEX listings_newest ON listings (status, kind, id);
CREATE INDEX listings_owner ON listings (owner_id, status);
CREATE INDEX listings_unnudged_needs ON listings (created_at)
    WHERE kind = 'need' AND status = 'open' AND nudged_at IS NULL;
CREATE INDEX listings_offers_by_category ON listings (category, owner_id)
    WHERE kind = 'offer' AND status = 'open';
-- Retention finds closed posts by when they were last changed (closed).
CREATE INDEX listings_closed ON listings (updated_at) WHERE status = 'closed';
CREATE TRIGGER listings_fts_insert AFTER INSERT ON listings BEGIN
    INSERT INTO listings_fts (rowid, body, when_where, category)
    VALUES (new.id, new.body, new.when_where, new.category);
END;
CREATE TRIGGER listings_fts_delete AFTER DELETE ON listings BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, body, when_where, category)
    VALUES ('delete', old.id, old.body, old.when_where, old.category);
END;
CREATE TRIGGER listings_fts_update AFTER UPDATE OF body, when_where, category ON listings BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, body, when_where, category)
    VALUES ('delete', old.id, old.body, old.when_where, old.category);
    INSERT INTO listings_fts (rowid, body, when_where, category)
    VALUES (new.id, new.body, new.when_where, new.category);
END;

CREATE TABLE responses_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    listing_id   INTEGER NOT NULL REFERENCES listings (id),
    responder_id INTEGER NOT NULL REFERENCES members (id),
    status       TEXT    NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'accepted', 'declined', 'withdrawn')),
    created_at   TEXT    NOT NULL
);
INSERT INTO responses_new SELECT id, listing_id, responder_id, status, created_at FROM responses;
DROP TABLE responses;
ALTER TABLE responses_new RENAME TO responses;
CREATE INDEX responses_listing ON responses (listing_id, status);
CREATE UNIQUE INDEX responses_standing ON responses (listing_id, responder_id)
    WHERE status <> 'withdrawn';
CREATE INDEX responses_responder ON responses (responder_id);

CREATE TABLE exchanges_new (
    id               INTEGER PRIMARY KEY,
    listing_id       INTEGER REFERENCES listings (id),
    response_id      INTEGER UNIQUE REFERENCES responses (id),
    giver_id         INTEGER NOT NULL REFERENCES members (id),
    receiver_id      INTEGER NOT NULL REFERENCES members (id),
    state            TEXT    NOT NULL DEFAULT 'agreed'
                     CHECK (state IN ('agreed', 'proposed', 'confirmed', 'held',
                                      'disputed', 'cancelled')),
    proposed_minutes INTEGER CHECK (proposed_minutes IS NULL
                                    OR (proposed_minutes BETWEEN 15 AND 720
                                        AND proposed_minutes % 15 = 0)),
    proposed_by      INTEGER REFERENCES members (id),
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    scheduled_at     TEXT,
    disputed_by      INTEGER REFERENCES members (id),
    dispute_reason   TEXT
                     CHECK (dispute_reason IS NULL OR dispute_reason IN ('hours', 'didnt_happen')),
    record_key       TEXT,
    CHECK (giver_id <> receiver_id OR giver_id = 0)  -- 0: the former member (both left)
);
INSERT INTO exchanges_new SELECT id, listing_id, response_id, giver_id, receiver_id, state,
    proposed_minutes, proposed_by, created_at, updated_at, scheduled_at, disputed_by,
    dispute_reason, record_key
FROM exchanges;
DROP TABLE exchanges;
ALTER TABLE exchanges_new RENAME TO exchanges;
CREATE INDEX exchanges_giver ON exchanges (giver_id, id);
CREATE INDEX exchanges_receiver ON exchanges (receiver_id, id);
CREATE INDEX exchanges_state ON exchanges (state, updated_at);
CREATE UNIQUE INDEX exchanges_record_key ON exchanges (record_key) WHERE record_key IS NOT NULL;
-- /forget finds every exchange that names a member, or came from their posts, by index: a
-- scan of a large table would hold every other member's writes up.
CREATE INDEX exchanges_listing ON exchanges (listing_id) WHERE listing_id IS NOT NULL;
CREATE INDEX exchanges_proposed_by ON exchanges (proposed_by) WHERE proposed_by IS NOT NULL;
CREATE INDEX exchanges_disputed_by ON exchanges (disputed_by) WHERE disputed_by IS NOT NULL;
CREATE INDEX ledger_transactions_recorded_by ON ledger_transactions (recorded_by)
    WHERE recorded_by IS NOT NULL;
-- "Who looked at my data" and /forget find the audit rows about a member by subject.
CREATE INDEX audit_log_subject ON audit_log (subject);

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
        'member_resumed',
        'partner_left',
        'member_left'
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
INSERT INTO outbox_new SELECT id, member_id, kind, ref_id, args, due_at, expires_at, state,
    attempts, idempotency_key, created_at, sent_at, lease_until
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, due_at);
CREATE INDEX outbox_member_pending ON outbox (member_id, state);
CREATE INDEX outbox_ref ON outbox (kind, ref_id, state);
CREATE INDEX outbox_leases ON outbox (lease_until) WHERE state = 'sending';
