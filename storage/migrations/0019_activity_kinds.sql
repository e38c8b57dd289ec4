-- Group activities (storage/activities.py): what the bot tells the people signed up and the
-- organisers. The tables themselves came with 0017_organisations.sql.
--   activity_reminder:  the day before and the hour before, to each person going (ref: signup)
--   activity_offered:   a place came free; theirs until offer_expires_at (ref: signup)
--   activity_roll_call: to each organiser after it started: who came? (ref: activity)
--   activity_thanks:    to each person who came, once credited, with their balance (ref: activity)
INSERT INTO outbox_kinds (kind) VALUES
    ('activity_reminder'), ('activity_offered'), ('activity_roll_call'), ('activity_thanks');
