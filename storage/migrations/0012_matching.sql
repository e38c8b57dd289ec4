-- Peer visits, matching: what a visitor, a patient and the coordinators are told.
INSERT INTO outbox_kinds (kind) VALUES
    ('visit_offer'),
    ('visit_matched'),
    ('visit_matched_coordinator'),
    ('visit_unmatched'),
    ('visit_time_set'),
    ('visit_reminder'),
    ('visit_withdrawn'),
    ('visit_visitor_left');
