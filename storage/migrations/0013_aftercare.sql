-- Aftercare (peer visits, after a visit is done): the patient or a coordinator confirms it and
-- the visitor is thanked; the ward's coordinator hears of a first visit; weeks later the
-- patient is asked whether they would visit someone too; the loneliness check. See
-- storage/aftercare.py.
INSERT INTO outbox_kinds (kind) VALUES
    ('visit_confirm_patient'),
    ('visit_confirm_coordinator'),
    ('visit_denied'),
    ('visit_credited'),
    ('first_visit_done'),
    ('pay_forward_ask'),
    ('loneliness_offer');
