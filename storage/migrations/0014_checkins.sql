-- Check-ins after a visit (storage/checkins.py): the notices they send, and the index the
-- scheduler's pass walks to find planned visits owed a prompt, so it never reads the visits
-- already done.
INSERT INTO outbox_kinds (kind) VALUES
    ('checkin_prompt'),
    ('checkin_alert'),
    ('checkin_reach'),
    ('checkin_come_again');

CREATE INDEX visits_planned ON visits (id) WHERE state = 'planned';
