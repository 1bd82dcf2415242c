-- The appointment lifecycle: history, reschedule count, payments, calendar sequence.

ALTER TABLE appointments
    ADD COLUMN reschedule_count integer NOT NULL DEFAULT 0,
    ADD COLUMN ics_sequence integer NOT NULL DEFAULT 0,
    ADD COLUMN payment jsonb,
    ADD COLUMN created_by text NOT NULL DEFAULT 'patient';

-- Lists page by (starts_at, id); patients list their own by reference.
CREATE INDEX appointments_patient_idx ON appointments (organisation_id, patient_ref, starts_at);

-- Every change of an appointment: who, when, from, to, why.
CREATE TABLE appointment_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    appointment_id  uuid NOT NULL REFERENCES appointments (id),
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL CHECK (actor IN ('patient', 'partner', 'doctor', 'admin', 'platform', 'system')),
    actor_ref       text,
    from_status     text,
    to_status       text NOT NULL,
    reason          text,
    detail          jsonb
);
CREATE INDEX appointment_events_appointment_idx ON appointment_events (appointment_id, id);

-- What a type asks the patient to pay when confirming (no processor is called; the gateway records).
ALTER TABLE appointment_types
    ADD COLUMN payment_mode text NOT NULL DEFAULT 'none' CHECK (payment_mode IN ('none', 'token', 'advance', 'full')),
    ADD COLUMN fee_cents integer CHECK (fee_cents >= 0),
    ADD COLUMN token_amount_cents integer CHECK (token_amount_cents >= 0),
    ADD COLUMN advance_percent integer CHECK (advance_percent BETWEEN 1 AND 100),
    ADD COLUMN currency text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$');
