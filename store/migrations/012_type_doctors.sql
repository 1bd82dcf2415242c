-- An appointment type may be limited to the doctors who offer it. A type with no rows here is
-- offered by every doctor of its organisation (as before this migration); with rows, only by
-- those doctors. Both foreign keys carry the organisation, so Postgres itself refuses a doctor
-- of another organisation (the API checks first, for a clear 422); the (id, organisation_id)
-- keys they point at come from 006.

CREATE TABLE appointment_type_doctors (
    appointment_type_id  uuid NOT NULL,
    doctor_id            uuid NOT NULL,
    organisation_id      uuid NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (appointment_type_id, doctor_id),
    FOREIGN KEY (appointment_type_id, organisation_id)
        REFERENCES appointment_types (id, organisation_id) ON DELETE CASCADE,
    FOREIGN KEY (doctor_id, organisation_id)
        REFERENCES doctors (id, organisation_id) ON DELETE CASCADE
);
CREATE INDEX appointment_type_doctors_doctor_idx ON appointment_type_doctors (doctor_id);
