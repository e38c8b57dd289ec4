-- The rules' holes closed in the schema.
--
-- A response can be withdrawn: when help that was agreed doesn't happen, the helper's answer
-- stops counting, so they may say "I can help" with the same listing again. Only one standing
-- answer (pending, accepted or declined) per member and listing, by a partial unique index.
-- SQLite can't change a CHECK or drop a UNIQUE in place, so the table is rebuilt (foreign keys
-- are off while migrations run, and checked at the end).
CREATE TABLE responses_new (
    id           INTEGER PRIMARY KEY,
    listing_id   INTEGER NOT NULL REFERENCES listings (id),
    responder_id INTEGER NOT NULL REFERENCES members (id),
    status       TEXT    NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'accepted', 'declined', 'withdrawn')),
    created_at   TEXT    NOT NULL
);
INSERT INTO responses_new (id, listing_id, responder_id, status, created_at)
SELECT id, listing_id, responder_id, status, created_at FROM responses;
DROP TABLE responses;
ALTER TABLE responses_new RENAME TO responses;
CREATE INDEX responses_listing ON responses (listing_id, status);
CREATE UNIQUE INDEX responses_standing ON responses (listing_id, responder_id)
    WHERE status <> 'withdrawn';

-- Why an exchange waits for a coordinator, and who asked: the hours were disputed ('hours'),
-- or one party said it didn't happen after hours were proposed ('didnt_happen').
ALTER TABLE exchanges ADD COLUMN disputed_by INTEGER REFERENCES members (id);
ALTER TABLE exchanges ADD COLUMN dispute_reason TEXT
    CHECK (dispute_reason IS NULL OR dispute_reason IN ('hours', 'didnt_happen'));

-- Hours a coordinator recorded by hand carry the key of the /record that made them, so tapping
-- its last button again records nothing twice and can say what was recorded.
ALTER TABLE exchanges ADD COLUMN record_key TEXT;
CREATE UNIQUE INDEX exchanges_record_key ON exchanges (record_key) WHERE record_key IS NOT NULL;
