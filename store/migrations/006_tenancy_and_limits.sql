-- Tenants never see each other (design invariant 8), down to the rows: an appointment's
-- organisation must be its doctor's and its type's. Composite foreign keys make Postgres refuse
-- anything else, whatever the code above it gets wrong.
ALTER TABLE doctors ADD CONSTRAINT doctors_id_organisation_key UNIQUE (id, organisation_id);
ALTER TABLE appointment_types ADD CONSTRAINT appointment_types_id_organisation_key UNIQUE (id, organisation_id);
ALTER TABLE appointments
    ADD CONSTRAINT appointments_doctor_organisation_fkey
        FOREIGN KEY (doctor_id, organisation_id) REFERENCES doctors (id, organisation_id),
    ADD CONSTRAINT appointments_type_organisation_fkey
        FOREIGN KEY (appointment_type_id, organisation_id) REFERENCES appointment_types (id, organisation_id);

-- Text the API lets in is bounded there; these bounds hold for every other writer too.
ALTER TABLE doctors ADD CONSTRAINT doctors_timezone_length CHECK (length(timezone) BETWEEN 1 AND 64);
ALTER TABLE appointments
    ADD CONSTRAINT appointments_patient_name_length CHECK (length(patient_name) BETWEEN 1 AND 200),
    ADD CONSTRAINT appointments_patient_email_length CHECK (length(patient_email) BETWEEN 3 AND 254),
    ADD CONSTRAINT appointments_patient_phone_length CHECK (length(patient_phone) <= 40),
    ADD CONSTRAINT appointments_patient_timezone_length CHECK (length(patient_timezone) <= 64),
    ADD CONSTRAINT appointments_patient_ref_length CHECK (length(patient_ref) <= 300),
    ADD CONSTRAINT appointments_meeting_url_length CHECK (length(meeting_url) <= 2000);
ALTER TABLE appointment_events
    ADD CONSTRAINT appointment_events_actor_ref_length CHECK (length(actor_ref) <= 300),
    ADD CONSTRAINT appointment_events_reason_length CHECK (length(reason) <= 1000);

-- The room's address is handed out by /join only, computed when asked; none is kept per appointment.
UPDATE appointments SET meeting_url = NULL WHERE meeting_url IS NOT NULL;
