-- Nudges: member settings, reachability, a time for agreed help, and the need-matching marker.

ALTER TABLE members ADD COLUMN nudges_enabled INTEGER NOT NULL DEFAULT 1
    CHECK (nudges_enabled IN (0, 1));
ALTER TABLE members ADD COLUMN nudge_digest INTEGER NOT NULL DEFAULT 0
    CHECK (nudge_digest IN (0, 1));
-- Quiet hours as local 'HH:MM'; NULL means the timebank's default, '' means none.
ALTER TABLE members ADD COLUMN quiet_hours TEXT;
-- Set when Telegram answers 403 (the member blocked the bot); cleared when they write again.
ALTER TABLE members ADD COLUMN unreachable_at TEXT;

ALTER TABLE exchanges ADD COLUMN scheduled_at TEXT;

-- Set once the "still needed?" question and the matching offers have been queued for a need.
ALTER TABLE listings ADD COLUMN nudged_at TEXT;
CREATE INDEX listings_unnudged_needs ON listings (created_at)
    WHERE kind = 'need' AND status = 'open' AND nudged_at IS NULL;
CREATE INDEX listings_offers_by_category ON listings (category, owner_id)
    WHERE kind = 'offer' AND status = 'open';
CREATE INDEX outbox_member_pending ON outbox (member_id, state);
