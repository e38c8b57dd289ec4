-- Organisations (part "orgs"): a member is told when a coordinator names them to act for an
-- organisation, or takes them off it (ref_id: the organisation).
INSERT INTO outbox_kinds (kind) VALUES ('organisation_member_added'), ('organisation_member_removed');

-- Which party of an exchange the organisation stands in for: the one who posted the listing
-- for it, the giver of an offer or the receiver of a need. Kept on the exchange, not read from
-- the listing, because a listing may be deleted (retention, /forget) while a coordinator can
-- still settle or correct the exchange's hours, and those must move the organisation's hours.
ALTER TABLE exchanges ADD COLUMN organisation_side TEXT
    CHECK (organisation_side IN ('giver', 'receiver'));
