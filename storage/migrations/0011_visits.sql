-- Peer visits after hospital discharge: visitors (former patients, checked and briefed),
-- referrals (a coordinator's, or the patient's own by a ward's link), offers to one visitor at a
-- time, visits with their check-ins, alerts that stay open until a coordinator is on it, and
-- the answers to a short loneliness check. See storage/visits.py and storage/matching.py.
--
-- Two tables are rebuilt (foreign keys are off while migrations run, checked at the end):
-- - outbox: its kind now names a row of outbox_kinds instead of a CHECK list, so a flow that
--   adds a kind adds a row, not a rebuild of the biggest table (tests/test_contracts.py holds
--   outbox_kinds to storage.kinds.OutboxKind).
-- - ledger_transactions: the kind 'visit' (a visitor's hours, from the community account) and
--   the visit it credits.

CREATE TABLE outbox_kinds (
    kind TEXT PRIMARY KEY CHECK (kind GLOB '[a-z]*' AND kind NOT GLOB '*[^a-z_]*')
) WITHOUT ROWID;
INSERT INTO outbox_kinds (kind) VALUES
    ('response_new'),
    ('response_accepted'),
    ('response_declined'),
    ('exchange_proposed'),
    ('exchange_confirmed'),
    ('exchange_approved'),
    ('exchange_held'),
    ('exchange_held_party'),
    ('exchange_disputed'),
    ('exchange_disputed_party'),
    ('exchange_cancelled'),
    ('exchange_time_set'),
    ('exchange_recorded'),
    ('exchange_settled'),
    ('nudge_first_post'),
    ('nudge_unconfirmed'),
    ('nudge_confirm_waiting'),
    ('coordinator_confirm_stuck'),
    ('need_still_open'),
    ('need_match'),
    ('reminder_day_before'),
    ('reminder_hour_before'),
    ('broadcast'),
    ('broadcast_report'),
    ('member_applied'),
    ('member_active'),
    ('member_declined'),
    ('role_promoted'),
    ('role_demoted'),
    ('member_reported'),
    ('member_paused'),
    ('member_resumed'),
    ('partner_left'),
    ('member_left');

CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    member_id       INTEGER NOT NULL REFERENCES members (id),
    kind            TEXT    NOT NULL REFERENCES outbox_kinds (kind),
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

-- Someone who offered to visit patients at home: applied, then approved by a coordinator
-- (after a check and a briefing, visitor_checks), paused or retired by one. check_expires_on
-- is the latest valid check's expiry, kept here so matching reads one row per visitor.
CREATE TABLE visitors (
    member_id        INTEGER PRIMARY KEY REFERENCES members (id),
    status           TEXT    NOT NULL DEFAULT 'applied'
                     CHECK (status IN ('applied', 'approved', 'paused', 'retired', 'declined')),
    free_when        TEXT    CHECK (free_when IS NULL OR length(free_when) BETWEEN 1 AND 200),
    source           TEXT    NOT NULL DEFAULT 'volunteered'
                     CHECK (source IN ('volunteered', 'paid_forward')),
    check_expires_on TEXT,
    applied_at       TEXT    NOT NULL,
    decided_by       INTEGER REFERENCES members (id),
    decided_at       TEXT,
    updated_at       TEXT    NOT NULL
);
CREATE INDEX visitors_decided_by ON visitors (decided_by) WHERE decided_by IS NOT NULL;

-- The neighbourhoods a visitor can reach: matching walks (area, visitor) by this key.
CREATE TABLE visitor_areas (
    area      TEXT    NOT NULL,
    member_id INTEGER NOT NULL REFERENCES visitors (member_id),
    PRIMARY KEY (area, member_id)
) WITHOUT ROWID;
CREATE INDEX visitor_areas_member ON visitor_areas (member_id);

-- A check and briefing a coordinator recorded (kind of check, when, until when, a note).
CREATE TABLE visitor_checks (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES visitors (member_id),
    kind        TEXT    NOT NULL CHECK (length(kind) BETWEEN 1 AND 60),
    checked_on  TEXT    NOT NULL,
    expires_on  TEXT    NOT NULL,
    note        TEXT    CHECK (note IS NULL OR length(note) BETWEEN 1 AND 500),
    recorded_by INTEGER NOT NULL REFERENCES members (id),
    created_at  TEXT    NOT NULL,
    CHECK (expires_on > checked_on)
);
CREATE INDEX visitor_checks_member ON visitor_checks (member_id, expires_on);
CREATE INDEX visitor_checks_recorded_by ON visitor_checks (recorded_by);

-- A patient discharged from hospital who is promised a home visit. patient_id is theirs when
-- they joined by a ward's link; a coordinator may register someone not on Telegram (NULL).
-- contact, address and notes are shown to the accepted visitor only (and coordinators), each
-- showing logged; the address is deleted some days after the last visit (address_deleted_at).
CREATE TABLE referrals (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id        INTEGER REFERENCES members (id),
    first_name        TEXT    NOT NULL CHECK (length(first_name) <= 60),
    area              TEXT    NOT NULL,
    contact           TEXT    CHECK (contact IS NULL OR length(contact) BETWEEN 1 AND 60),
    address           TEXT    CHECK (address IS NULL OR length(address) BETWEEN 1 AND 300),
    needs             TEXT    NOT NULL DEFAULT '[]',
    notes             TEXT    CHECK (notes IS NULL OR length(notes) BETWEEN 1 AND 1000),
    discharged_at     TEXT    NOT NULL,
    ward              TEXT,
    source            TEXT    NOT NULL CHECK (source IN ('coordinator', 'ward')),
    registered_by     INTEGER REFERENCES members (id),
    state             TEXT    NOT NULL DEFAULT 'matching'
                      CHECK (state IN ('matching', 'accepted', 'visited', 'closed',
                                       'withdrawn')),
    visitor_id        INTEGER REFERENCES members (id),
    code_word         TEXT,
    accepted_at       TEXT,
    first_visit_at    TEXT,
    address_deleted_at TEXT,
    readmitted_on     TEXT,
    readmission_by    INTEGER REFERENCES members (id),
    pay_forward       TEXT    CHECK (pay_forward IS NULL OR pay_forward IN ('asked', 'yes', 'no')),
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    CHECK (state <> 'matching' OR visitor_id IS NULL),
    CHECK (state NOT IN ('accepted', 'visited') OR visitor_id IS NOT NULL),
    CHECK ((visitor_id IS NULL) = (code_word IS NULL))
);
CREATE INDEX referrals_open ON referrals (state, discharged_at)
    WHERE state IN ('matching', 'accepted');
CREATE INDEX referrals_patient ON referrals (patient_id) WHERE patient_id IS NOT NULL;
CREATE INDEX referrals_visitor ON referrals (visitor_id) WHERE visitor_id IS NOT NULL;
CREATE INDEX referrals_registered_by ON referrals (registered_by) WHERE registered_by IS NOT NULL;
CREATE INDEX referrals_readmission_by ON referrals (readmission_by)
    WHERE readmission_by IS NOT NULL;

-- A referral offered to one visitor at a time. A visitor is offered a referral at most once
-- (the UNIQUE), so a restart in the middle of matching never asks anyone twice; at most one
-- offer of a referral is open at a time.
CREATE TABLE visit_offers (
    id          INTEGER PRIMARY KEY,
    referral_id INTEGER NOT NULL REFERENCES referrals (id),
    visitor_id  INTEGER NOT NULL REFERENCES members (id),
    state       TEXT    NOT NULL DEFAULT 'open'
                CHECK (state IN ('open', 'accepted', 'declined', 'timed_out', 'withdrawn')),
    offered_at  TEXT    NOT NULL,
    answer_by   TEXT    NOT NULL,
    answered_at TEXT,
    UNIQUE (referral_id, visitor_id)
);
CREATE UNIQUE INDEX visit_offers_one_open ON visit_offers (referral_id) WHERE state = 'open';
CREATE INDEX visit_offers_due ON visit_offers (answer_by) WHERE state = 'open';
-- "Offered something longest ago" breaks ties between visitors (matching).
CREATE INDEX visit_offers_visitor ON visit_offers (visitor_id, offered_at);

-- A visit (number 1 the first, then the follow-ups), its time, and the visitor's check-in:
-- warm enough, food in, medicines, anything worrying (1 yes, 0 no), a free note.
CREATE TABLE visits (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id   INTEGER NOT NULL REFERENCES referrals (id),
    visitor_id    INTEGER NOT NULL REFERENCES members (id),
    number        INTEGER NOT NULL CHECK (number >= 1),
    due_on        TEXT,
    scheduled_at  TEXT,
    state         TEXT    NOT NULL DEFAULT 'planned'
                  CHECK (state IN ('planned', 'done', 'unreached', 'cancelled')),
    warm          INTEGER CHECK (warm IN (0, 1)),
    food          INTEGER CHECK (food IN (0, 1)),
    medicines     INTEGER CHECK (medicines IN (0, 1)),
    worry         INTEGER CHECK (worry IN (0, 1)),
    note          TEXT    CHECK (note IS NULL OR length(note) BETWEEN 1 AND 500),
    reported_at   TEXT,
    reach_tries   INTEGER NOT NULL DEFAULT 0,
    confirmed_by  INTEGER REFERENCES members (id),
    confirmed_at  TEXT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    UNIQUE (referral_id, number)
);
-- "Fewest recent visits first": a visitor's visits done lately, and those still planned.
CREATE INDEX visits_visitor ON visits (visitor_id, state, reported_at);
CREATE INDEX visits_confirmed_by ON visits (confirmed_by) WHERE confirmed_by IS NOT NULL;

-- Something a coordinator must hear of: a worry at a visit, a patient nobody could reach, a
-- referral nobody accepted by its deadline (once). Open until a coordinator taps "I'm on it";
-- worries and unreached patients are told again at next_alert_at until then.
CREATE TABLE visit_alerts (
    id              INTEGER PRIMARY KEY,
    referral_id     INTEGER NOT NULL REFERENCES referrals (id),
    visit_id        INTEGER REFERENCES visits (id),
    reason          TEXT    NOT NULL CHECK (reason IN ('worry', 'unreached', 'unmatched')),
    raised_at       TEXT    NOT NULL,
    times_told      INTEGER NOT NULL DEFAULT 1,
    next_alert_at   TEXT,
    acknowledged_by INTEGER REFERENCES members (id),
    acknowledged_at TEXT,
    CHECK ((acknowledged_at IS NULL) = (acknowledged_by IS NULL))
);
CREATE UNIQUE INDEX visit_alerts_unmatched_once ON visit_alerts (referral_id)
    WHERE reason = 'unmatched';
CREATE INDEX visit_alerts_due ON visit_alerts (next_alert_at) WHERE acknowledged_at IS NULL;
CREATE INDEX visit_alerts_referral ON visit_alerts (referral_id);
CREATE INDEX visit_alerts_acknowledged_by ON visit_alerts (acknowledged_by)
    WHERE acknowledged_by IS NOT NULL;

-- The three-question loneliness check (UCLA-3: 1 hardly ever, 2 some of the time, 3 often),
-- offered at the first and the last contact.
CREATE TABLE loneliness_scores (
    id            INTEGER PRIMARY KEY,
    referral_id   INTEGER NOT NULL REFERENCES referrals (id),
    stage         TEXT    NOT NULL CHECK (stage IN ('first', 'last')),
    companionship INTEGER NOT NULL CHECK (companionship BETWEEN 1 AND 3),
    left_out      INTEGER NOT NULL CHECK (left_out BETWEEN 1 AND 3),
    isolated      INTEGER NOT NULL CHECK (isolated BETWEEN 1 AND 3),
    created_at    TEXT    NOT NULL,
    UNIQUE (referral_id, stage)
);

CREATE TABLE ledger_transactions_new (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL
                    CHECK (kind IN ('exchange', 'coordinator', 'correction', 'visit')),
    exchange_id     INTEGER REFERENCES exchanges (id),
    visit_id        INTEGER REFERENCES visits (id),
    idempotency_key TEXT    NOT NULL UNIQUE,
    recorded_by     INTEGER REFERENCES members (id),
    note            TEXT,
    created_at      TEXT    NOT NULL,
    CHECK ((kind = 'visit') = (visit_id IS NOT NULL))
);
INSERT INTO ledger_transactions_new (id, kind, exchange_id, idempotency_key, recorded_by, note,
    created_at)
SELECT id, kind, exchange_id, idempotency_key, recorded_by, note, created_at
FROM ledger_transactions;
DROP TABLE ledger_transactions;
ALTER TABLE ledger_transactions_new RENAME TO ledger_transactions;
CREATE INDEX ledger_transactions_exchange ON ledger_transactions (exchange_id);
CREATE INDEX ledger_transactions_visit ON ledger_transactions (visit_id) WHERE visit_id IS NOT NULL;
CREATE INDEX ledger_transactions_recorded_by ON ledger_transactions (recorded_by)
    WHERE recorded_by IS NOT NULL;
