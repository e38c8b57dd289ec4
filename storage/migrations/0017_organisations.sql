-- Organisations (a day centre, a ward, a community garden, a college) take part as members do:
-- they ask for help, give hours for it, run group activities, and offer things members can
-- spend their hours on. The whole schema comes in this one migration, so every table has its
-- privacy rule (storage/privacy.py) from the first commit.
--
-- - organisations and organisation_members: who acts for which organisation. Every action
--   taken for one records the member who took it (created_by, recorded_by, decided_by, …).
-- - accounts: an organisation has its own ledger account (kind 'organisation').
-- - listings and exchanges: a post made for an organisation names it; its account then stands
--   in for the poster's in the exchange that follows.
-- - activities and activity_signups: group activities, helpers and participants, a waiting
--   list, and the roll call.
-- - partner_offers and spends: what organisations offer for hours, and members spending them.
-- - ledger_kinds: the ledger's transaction kinds as rows, like outbox_kinds, so a new kind is
--   an INSERT; ledger_transactions gains activity_id and spend_id.

CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    area        TEXT    NOT NULL CHECK (length(area) BETWEEN 1 AND 80),
    description TEXT    NOT NULL CHECK (length(description) BETWEEN 1 AND 300),
    status      TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    created_by  INTEGER NOT NULL REFERENCES members (id),
    created_at  TEXT    NOT NULL
);
CREATE UNIQUE INDEX organisations_name ON organisations (name COLLATE NOCASE);

-- The members who act for an organisation: post for it, run its activities and roll calls,
-- confirm what members spend with it.
CREATE TABLE organisation_members (
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    member_id       INTEGER NOT NULL REFERENCES members (id),
    added_by        INTEGER NOT NULL REFERENCES members (id),
    added_at        TEXT    NOT NULL,
    PRIMARY KEY (organisation_id, member_id)
) WITHOUT ROWID;
CREATE INDEX organisation_members_member ON organisation_members (member_id);

-- accounts: the kind 'organisation', one account each.
CREATE TABLE accounts_new (
    id              INTEGER PRIMARY KEY,
    member_id       INTEGER REFERENCES members (id),
    organisation_id INTEGER REFERENCES organisations (id),
    kind            TEXT NOT NULL CHECK (kind IN ('member', 'community', 'organisation')),
    CHECK ((kind = 'member') = (member_id IS NOT NULL)),
    CHECK ((kind = 'organisation') = (organisation_id IS NOT NULL))
);
INSERT INTO accounts_new (id, member_id, kind) SELECT id, member_id, kind FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
CREATE INDEX accounts_member ON accounts (member_id);
CREATE UNIQUE INDEX accounts_one_each ON accounts (member_id) WHERE member_id <> 0;
CREATE UNIQUE INDEX accounts_organisation ON accounts (organisation_id)
    WHERE organisation_id IS NOT NULL;

-- A post for an organisation: owner_id is the member who posted it, organisation_id whom for.
ALTER TABLE listings ADD COLUMN organisation_id INTEGER REFERENCES organisations (id);
CREATE INDEX listings_organisation ON listings (organisation_id, status)
    WHERE organisation_id IS NOT NULL;
-- The exchange that follows: the listing owner's side is the organisation's account.
ALTER TABLE exchanges ADD COLUMN organisation_id INTEGER REFERENCES organisations (id);

-- A group activity, run by an organisation (or, with organisation_id NULL, by the timebank's
-- coordinators, paid from the community account). Helpers earn helper_minutes each;
-- participants (when there are places) pay price_minutes each to take part.
CREATE TABLE activities (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER REFERENCES organisations (id),
    title           TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    starts_at       TEXT    NOT NULL,
    place           TEXT    NOT NULL CHECK (length(place) BETWEEN 1 AND 200),
    helpers_wanted  INTEGER NOT NULL CHECK (helpers_wanted BETWEEN 0 AND 1000),
    helper_minutes  INTEGER NOT NULL
                    CHECK (helper_minutes BETWEEN 0 AND 720 AND helper_minutes % 15 = 0),
    places          INTEGER CHECK (places IS NULL OR places BETWEEN 1 AND 1000),
    price_minutes   INTEGER NOT NULL DEFAULT 0
                    CHECK (price_minutes BETWEEN 0 AND 720 AND price_minutes % 15 = 0),
    state           TEXT    NOT NULL DEFAULT 'open'
                    CHECK (state IN ('open', 'cancelled', 'done')),
    created_by      INTEGER NOT NULL REFERENCES members (id),
    roll_call_at    TEXT,
    credited_at     TEXT,
    credited_by     INTEGER REFERENCES members (id),
    created_at      TEXT    NOT NULL,
    CHECK (helpers_wanted > 0 OR places IS NOT NULL),
    CHECK (places IS NOT NULL OR price_minutes = 0)
);
CREATE INDEX activities_coming ON activities (state, starts_at);
CREATE INDEX activities_organisation ON activities (organisation_id, starts_at);

-- One row per member and activity. going: has a place; waiting: on the waiting list, in
-- queued_at order; offered: a place came free and is theirs until offer_expires_at;
-- cancelled: they gave it up (or let an offer lapse). attended is the roll call's mark.
-- A leaver's rows from past activities name the former member, so the attendance figures stay.
CREATE TABLE activity_signups (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id      INTEGER NOT NULL REFERENCES activities (id),
    member_id        INTEGER NOT NULL REFERENCES members (id),
    role             TEXT    NOT NULL CHECK (role IN ('helper', 'participant')),
    state            TEXT    NOT NULL CHECK (state IN ('going', 'waiting', 'offered', 'cancelled')),
    queued_at        TEXT    NOT NULL,
    offer_expires_at TEXT,
    attended         INTEGER CHECK (attended IN (0, 1)),
    marked_by        INTEGER REFERENCES members (id),
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    CHECK ((state = 'offered') = (offer_expires_at IS NOT NULL))
);
CREATE UNIQUE INDEX activity_signups_once ON activity_signups (activity_id, member_id)
    WHERE member_id <> 0;
CREATE INDEX activity_signups_queue ON activity_signups (activity_id, role, state, queued_at);
CREATE INDEX activity_signups_member ON activity_signups (member_id, state);
CREATE INDEX activity_signups_offers ON activity_signups (offer_expires_at)
    WHERE state = 'offered';

-- Something an organisation offers for hours (a course, a ride, a meal, a gym session).
CREATE TABLE partner_offers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    category        TEXT    NOT NULL,
    title           TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    details         TEXT    CHECK (details IS NULL OR length(details) <= 300),
    price_minutes   INTEGER NOT NULL
                    CHECK (price_minutes BETWEEN 15 AND 6000 AND price_minutes % 15 = 0),
    status          TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_by      INTEGER NOT NULL REFERENCES members (id),
    created_at      TEXT    NOT NULL
);
CREATE INDEX partner_offers_browse ON partner_offers (status, category, id);

-- A member spending hours on a partner's offer: asked, then confirmed (hours move member ->
-- organisation) or declined by someone acting for the organisation; withdrawn by the member.
-- minutes is the price when they asked, so a price change never surprises anyone.
CREATE TABLE spends (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    offer_id   INTEGER NOT NULL REFERENCES partner_offers (id),
    member_id  INTEGER NOT NULL REFERENCES members (id),
    minutes    INTEGER NOT NULL CHECK (minutes > 0),
    state      TEXT    NOT NULL DEFAULT 'asked'
               CHECK (state IN ('asked', 'confirmed', 'declined', 'withdrawn')),
    decided_by INTEGER REFERENCES members (id),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
CREATE INDEX spends_offer ON spends (offer_id, state);
CREATE INDEX spends_member ON spends (member_id, state);

-- The ledger's kinds as rows (tests/test_contracts.py holds them to storage.kinds.LedgerKind).
CREATE TABLE ledger_kinds (
    kind TEXT PRIMARY KEY CHECK (kind GLOB '[a-z]*' AND kind NOT GLOB '*[^a-z_]*')
) WITHOUT ROWID;
INSERT INTO ledger_kinds (kind) VALUES
    ('exchange'), ('coordinator'), ('correction'), ('visit'), ('activity'), ('spend');

CREATE TABLE ledger_transactions_new (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL REFERENCES ledger_kinds (kind),
    exchange_id     INTEGER REFERENCES exchanges (id),
    visit_id        INTEGER REFERENCES visits (id),
    activity_id     INTEGER REFERENCES activities (id),
    spend_id        INTEGER REFERENCES spends (id),
    idempotency_key TEXT    NOT NULL UNIQUE,
    recorded_by     INTEGER REFERENCES members (id),
    note            TEXT,
    created_at      TEXT    NOT NULL,
    CHECK ((kind = 'visit') = (visit_id IS NOT NULL)),
    CHECK ((kind = 'activity') = (activity_id IS NOT NULL)),
    CHECK ((kind = 'spend') = (spend_id IS NOT NULL))
);
INSERT INTO ledger_transactions_new (id, kind, exchange_id, visit_id, idempotency_key,
    recorded_by, note, created_at)
SELECT id, kind, exchange_id, visit_id, idempotency_key, recorded_by, note, created_at
FROM ledger_transactions;
DROP TABLE ledger_transactions;
ALTER TABLE ledger_transactions_new RENAME TO ledger_transactions;
CREATE INDEX ledger_transactions_exchange ON ledger_transactions (exchange_id);
CREATE INDEX ledger_transactions_visit ON ledger_transactions (visit_id) WHERE visit_id IS NOT NULL;
CREATE INDEX ledger_transactions_activity ON ledger_transactions (activity_id)
    WHERE activity_id IS NOT NULL;
CREATE INDEX ledger_transactions_spend ON ledger_transactions (spend_id)
    WHERE spend_id IS NOT NULL;
CREATE INDEX ledger_transactions_recorded_by ON ledger_transactions (recorded_by)
    WHERE recorded_by IS NOT NULL;
CREATE INDEX ledger_transactions_kind ON ledger_transactions (kind);
