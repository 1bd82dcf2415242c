-- The clinic's schedule and its appointments. Postgres is the truth (design invariant 5).

CREATE TABLE organisations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE doctors (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id  uuid NOT NULL REFERENCES organisations (id),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone         text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX doctors_organisation_idx ON doctors (organisation_id);

CREATE TABLE appointment_types (
    id                           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id              uuid NOT NULL REFERENCES organisations (id),
    name                         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    duration_minutes             integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 720 AND duration_minutes % 5 = 0),
    hold_ttl_seconds             integer NOT NULL DEFAULT 900 CHECK (hold_ttl_seconds BETWEEN 10 AND 7200),
    buffer_minutes               integer NOT NULL DEFAULT 0 CHECK (buffer_minutes BETWEEN 0 AND 240 AND buffer_minutes % 5 = 0),
    min_notice_minutes           integer NOT NULL DEFAULT 0 CHECK (min_notice_minutes >= 0),
    max_advance_days             integer NOT NULL DEFAULT 60 CHECK (max_advance_days BETWEEN 1 AND 730),
    same_day_allowed             boolean NOT NULL DEFAULT true,
    same_day_cutoff_minute       integer CHECK (same_day_cutoff_minute BETWEEN 0 AND 1440),
    cancellation_notice_minutes  integer NOT NULL DEFAULT 0 CHECK (cancellation_notice_minutes >= 0),
    max_reschedules              integer CHECK (max_reschedules >= 0),
    rebooking_mode               text NOT NULL DEFAULT 'same_doctor' CHECK (rebooking_mode IN ('same_doctor', 'any_doctor')),
    requires_approval            boolean NOT NULL DEFAULT false,
    max_active_per_patient       integer CHECK (max_active_per_patient >= 1),
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX appointment_types_organisation_idx ON appointment_types (organisation_id);

-- Recurring weekly availability: ISO weekday, minutes since local midnight in the doctor's zone.
CREATE TABLE availability_windows (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    doctor_id       uuid NOT NULL REFERENCES doctors (id),
    weekday         smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    start_minute    integer NOT NULL CHECK (start_minute BETWEEN 0 AND 1435 AND start_minute % 5 = 0),
    end_minute      integer NOT NULL CHECK (end_minute BETWEEN 5 AND 1440 AND end_minute % 5 = 0),
    buffer_minutes  integer NOT NULL DEFAULT 0 CHECK (buffer_minutes BETWEEN 0 AND 240 AND buffer_minutes % 5 = 0),
    valid_from      date,
    valid_until     date,
    active          boolean NOT NULL DEFAULT true,
    deleted_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (start_minute < end_minute),
    CHECK (valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until)
);
CREATE INDEX availability_windows_doctor_idx ON availability_windows (doctor_id) WHERE deleted_at IS NULL;

-- One override per doctor and date: a day off (available = false) or other windows that day.
CREATE TABLE date_overrides (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    doctor_id   uuid NOT NULL REFERENCES doctors (id),
    date        date NOT NULL,
    available   boolean NOT NULL,
    windows     jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (doctor_id, date)
);

CREATE TABLE appointments (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id          uuid NOT NULL REFERENCES organisations (id),
    doctor_id                uuid NOT NULL REFERENCES doctors (id),
    appointment_type_id      uuid NOT NULL REFERENCES appointment_types (id),
    hold_id                  uuid UNIQUE,
    patient_name             text NOT NULL,
    patient_email            text NOT NULL,
    patient_phone            text,
    patient_timezone         text,
    patient_ref              text,
    starts_at                timestamptz NOT NULL,
    ends_at                  timestamptz NOT NULL,
    -- ends_at plus the buffer the doctor needs after it: the interval no other appointment may touch.
    blocked_until            timestamptz NOT NULL,
    status                   text NOT NULL CHECK (status IN
                               ('confirmed', 'pending_approval', 'cancelled', 'completed', 'no_show', 'rescheduled')),
    meeting_url              text,
    previous_appointment_id  uuid REFERENCES appointments (id),
    cancellation             jsonb,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at < ends_at AND ends_at <= blocked_until),
    -- Invariant 1: two active appointments of one doctor never overlap. Redis holds are only the
    -- fast gate in front of this; this constraint is the last word.
    CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
        doctor_id WITH =,
        tstzrange(starts_at, blocked_until) WITH &&
    ) WHERE (status IN ('confirmed', 'pending_approval'))
);
CREATE INDEX appointments_doctor_time_idx ON appointments (doctor_id, starts_at);
CREATE INDEX appointments_organisation_time_idx ON appointments (organisation_id, starts_at);
