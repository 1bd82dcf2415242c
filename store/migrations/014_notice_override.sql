-- The front desk may book inside an appointment type's notice period (or its same-day rules) on a
-- patient's behalf; such an appointment says so, and who did it, from its insert on.
ALTER TABLE appointments
    ADD COLUMN notice_overridden boolean NOT NULL DEFAULT false,
    ADD COLUMN notice_overridden_by text;
