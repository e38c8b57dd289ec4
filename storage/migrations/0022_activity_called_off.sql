-- An organiser may call a group activity off before it starts (storage/activities.call_off):
-- each person who had a place, was offered one or was waiting is told. ref_id: their signup.
INSERT INTO outbox_kinds (kind) VALUES ('activity_called_off');
