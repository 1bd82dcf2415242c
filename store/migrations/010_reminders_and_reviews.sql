-- Reminder rules and reviews (issue 14): the constraints and indexes their queries lean on.

-- A type has one rule per recipient and lead time: a second would send the same reminder twice.
CREATE UNIQUE INDEX reminder_rules_once_idx ON reminder_rules (appointment_type_id, recipient, minutes_before);

-- Due reminders are looked for per rule: the type's confirmed appointments starting within the
-- rule's lead time (store/reminders.py, CLAIM_DUE).
CREATE INDEX appointments_confirmed_type_start_idx ON appointments (appointment_type_id, starts_at)
    WHERE status = 'confirmed';

-- An organisation's reviews, newest first, all of them or one doctor's (keyset paged).
CREATE INDEX reviews_organisation_idx ON reviews (organisation_id, created_at DESC, appointment_id DESC);
CREATE INDEX reviews_doctor_idx ON reviews (doctor_id, created_at DESC, appointment_id DESC);
