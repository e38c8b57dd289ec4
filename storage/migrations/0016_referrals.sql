-- Referrals (peer visits): the visitor who had accepted a referral hears when a coordinator
-- closes it, so nobody goes to a door that no longer expects them.
INSERT INTO outbox_kinds (kind) VALUES ('referral_closed');
