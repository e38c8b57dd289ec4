-- The core timebank: members, their listings, responses, exchanges and the double-entry ledger.
-- Times are ISO-8601 UTC text; durations are whole minutes.

CREATE TABLE members (
    id            INTEGER PRIMARY KEY,
    telegram_id   INTEGER NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    username      TEXT,
    neighbourhood TEXT,
    join_source   TEXT,
    status        TEXT    NOT NULL DEFAULT 'active'
                  CHECK (status IN ('pending', 'active', 'declined')),
    role          TEXT    NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'coordinator')),
    consented_at  TEXT    NOT NULL,
    created_at    TEXT    NOT NULL
);

-- One account per member plus one community account (member_id NULL).
CREATE TABLE accounts (
    id        INTEGER PRIMARY KEY,
    member_id INTEGER UNIQUE REFERENCES members (id),
    kind      TEXT NOT NULL CHECK (kind IN ('member', 'community')),
    CHECK ((kind = 'community') = (member_id IS NULL))
);
INSERT INTO accounts (id, member_id, kind) VALUES (1, NULL, 'community');

CREATE TABLE listings (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER NOT NULL REFERENCES members (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('offer', 'need')),
    category   TEXT    NOT NULL,
    body       TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 500),
    when_where TEXT    CHECK (when_where IS NULL OR length(when_where) <= 200),
    status     TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
CREATE INDEX listings_browse ON listings (status, kind, category, id);
CREATE INDEX listings_newest ON listings (status, kind, id);
CREATE INDEX listings_owner ON listings (owner_id, status);

-- Word search over listings, kept in step by triggers (external-content FTS5).
CREATE VIRTUAL TABLE listings_fts USING fts5 (
    body, when_where, content = 'listings', content_rowid = 'id'
);
CREATE TRIGGER listings_fts_insert AFTER INSERT ON listings BEGIN
    INSERT INTO listings_fts (rowid, body, when_where) VALUES (new.id, new.body, new.when_where);
END;
CREATE TRIGGER listings_fts_delete AFTER DELETE ON listings BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, body, when_where)
    VALUES ('delete', old.id, old.body, old.when_where);
END;
CREATE TRIGGER listings_fts_update AFTER UPDATE OF body, when_where ON listings BEGIN
    INSERT INTO listings_fts (listings_fts, rowid, body, when_where)
    VALUES ('delete', old.id, old.body, old.when_where);
    INSERT INTO listings_fts (rowid, body, when_where) VALUES (new.id, new.body, new.when_where);
END;

-- "I can help" / "I'd like this": one per member and listing.
CREATE TABLE responses (
    id           INTEGER PRIMARY KEY,
    listing_id   INTEGER NOT NULL REFERENCES listings (id),
    responder_id INTEGER NOT NULL REFERENCES members (id),
    status       TEXT    NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at   TEXT    NOT NULL,
    UNIQUE (listing_id, responder_id)
);
CREATE INDEX responses_listing ON responses (listing_id, status);

-- An agreed piece of help between a giver and a receiver.
-- agreed -> proposed (someone says it happened, with minutes) -> confirmed | held | disputed;
-- held (would pass the overdraft limit) -> confirmed by a coordinator;
-- proposed -> proposed (the other party corrects the minutes); agreed -> cancelled.
CREATE TABLE exchanges (
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
    CHECK (giver_id <> receiver_id)
);
CREATE INDEX exchanges_giver ON exchanges (giver_id, id);
CREATE INDEX exchanges_receiver ON exchanges (receiver_id, id);
CREATE INDEX exchanges_state ON exchanges (state, updated_at);

-- Double entry: every transaction has entries that sum to zero; a balance is a sum of entries.
-- The idempotency key makes "confirm twice" credit once (e.g. 'exchange:42').
CREATE TABLE ledger_transactions (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('exchange', 'coordinator', 'correction')),
    exchange_id     INTEGER REFERENCES exchanges (id),
    idempotency_key TEXT    NOT NULL UNIQUE,
    recorded_by     INTEGER REFERENCES members (id),
    note            TEXT,
    created_at      TEXT    NOT NULL
);
CREATE TABLE ledger_entries (
    id             INTEGER PRIMARY KEY,
    transaction_id INTEGER NOT NULL REFERENCES ledger_transactions (id),
    account_id     INTEGER NOT NULL REFERENCES accounts (id),
    minutes        INTEGER NOT NULL CHECK (minutes <> 0)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, minutes);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

-- Everything the bot sends on its own (notices to the other party, reminders, broadcasts)
-- is a row here before it is sent, so a restart resumes it. A row names what happened (kind,
-- ref_id, args); the text is rendered when it is sent, so it is never stale.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    member_id       INTEGER NOT NULL REFERENCES members (id),
    kind            TEXT    NOT NULL,
    ref_id          INTEGER,
    args            TEXT    NOT NULL DEFAULT '{}',
    due_at          TEXT    NOT NULL,
    expires_at      TEXT,
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT    UNIQUE,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (state, due_at);
