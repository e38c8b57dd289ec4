-- Visitors, part of peer visits: the visitors table (0011) replaces members.peer_visitor.
-- Someone a coordinator had marked as a peer visitor becomes an approved visitor with no check
-- recorded yet, so no referral reaches them until a coordinator records one; the
-- neighbourhood they gave when joining is the area they can reach, until they say otherwise.
INSERT INTO visitors (member_id, status, source, applied_at, updated_at)
SELECT id, 'approved', 'volunteered', created_at, strftime('%Y-%m-%dT%H:%M:%f000Z')
FROM members WHERE peer_visitor = 1 AND id <> 0;
INSERT INTO visitor_areas (area, member_id)
SELECT neighbourhood, id FROM members
WHERE peer_visitor = 1 AND id <> 0 AND neighbourhood IS NOT NULL AND neighbourhood <> '';

ALTER TABLE members DROP COLUMN peer_visitor;

INSERT INTO outbox_kinds (kind) VALUES
    ('visitor_applied'),
    ('visitor_approved'),
    ('visitor_declined'),
    ('visitor_checked'),
    ('visitor_paused'),
    ('visitor_resumed'),
    ('visitor_retired'),
    ('visitor_check_expiring'),
    ('visitor_check_expired');
