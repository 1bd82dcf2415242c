-- Notifications (design invariant 9): every appointment change writes an outbox row in the same
-- transaction; workers expand each row into deliveries (one per channel and recipient) and send
-- them at least once, deduplicated by the row's stable message id.

-- Who is told: a doctor's own address and mobile number; an organisation's admins.
ALTER TABLE doctors
    ADD COLUMN email text CHECK (length(email) BETWEEN 3 AND 254),
    ADD COLUMN mobile_phone text CHECK (mobile_phone ~ '^\+[1-9][0-9]{6,14}$');
ALTER TABLE organisations
    ADD COLUMN admin_emails text[] NOT NULL DEFAULT '{}' CHECK (cardinality(admin_emails) <= 20),
    ADD COLUMN low_rating_threshold smallint NOT NULL DEFAULT 2 CHECK (low_rating_threshold BETWEEN 0 AND 5);

-- One row per thing that happened; `data` is what a webhook's body carries under "data".
CREATE TABLE outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id       uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    organisation_id  uuid NOT NULL REFERENCES organisations (id),
    event_type       text NOT NULL CHECK (event_type ~ '^[a-z_]+\.[a-z_]+$'),
    appointment_id   uuid REFERENCES appointments (id),
    data             jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- set once the row's deliveries exist (in the same transaction that made them)
    expanded_at      timestamptz
);
CREATE INDEX outbox_unexpanded_idx ON outbox (id) WHERE expanded_at IS NULL;
CREATE INDEX outbox_appointment_idx ON outbox (appointment_id, id);

-- Signed webhook subscriptions per organisation (Standard Webhooks).
CREATE TABLE webhooks (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id   uuid NOT NULL REFERENCES organisations (id),
    url               text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
    event_types       text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 20),
    headers           jsonb NOT NULL DEFAULT '{}',
    description       text CHECK (length(description) <= 500),
    -- the whsec_ secret, encrypted with a key derived from GATEWAY_SECRET_KEY
    secret_ciphertext bytea NOT NULL,
    enabled           boolean NOT NULL DEFAULT true,
    disabled_reason   text,
    -- the first failure since the last success: a subscription failing for days is disabled
    failing_since     timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz
);
CREATE INDEX webhooks_organisation_idx ON webhooks (organisation_id) WHERE deleted_at IS NULL;

-- One message to one recipient over one channel; its own attempts, lease and log.
CREATE TABLE deliveries (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    outbox_id         bigint NOT NULL REFERENCES outbox (id),
    organisation_id   uuid NOT NULL REFERENCES organisations (id),
    channel           text NOT NULL CHECK (channel IN ('email', 'sms', 'webhook')),
    -- patient, doctor, admins, or subscriber (a webhook)
    recipient         text NOT NULL CHECK (recipient IN ('patient', 'doctor', 'admins', 'subscriber')),
    -- an email address, an E.164 number or a webhook id
    target            text NOT NULL CHECK (length(target) BETWEEN 1 AND 2000),
    webhook_id        uuid REFERENCES webhooks (id),
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    -- a worker that claimed the delivery owns it until then; one that dies lets it lapse
    locked_until      timestamptz,
    last_status_code  integer,
    last_error        text CHECK (length(last_error) <= 1000),
    delivered_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (outbox_id, channel, target)
);
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_webhook_idx ON deliveries (webhook_id, created_at DESC, id) WHERE webhook_id IS NOT NULL;

-- Reminder rules per appointment type; a reminder goes once per (appointment, rule, recipient).
CREATE TABLE reminder_rules (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id      uuid NOT NULL REFERENCES organisations (id),
    appointment_type_id  uuid NOT NULL,
    recipient            text NOT NULL CHECK (recipient IN ('patient', 'doctor', 'admins')),
    minutes_before       integer NOT NULL CHECK (minutes_before BETWEEN 1 AND 43200),
    send_email           boolean NOT NULL DEFAULT true,
    send_sms             boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (appointment_type_id, organisation_id) REFERENCES appointment_types (id, organisation_id),
    CHECK (send_email OR send_sms)
);
CREATE INDEX reminder_rules_type_idx ON reminder_rules (appointment_type_id);
-- The claim: whoever inserts the pair first writes the reminder's outbox row.
CREATE TABLE reminders_sent (
    appointment_id  uuid NOT NULL REFERENCES appointments (id),
    rule_id         uuid NOT NULL REFERENCES reminder_rules (id) ON DELETE CASCADE,
    outbox_id       bigint REFERENCES outbox (id),
    claimed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (appointment_id, rule_id)
);
-- Due reminders are looked for among confirmed appointments that have not started.
CREATE INDEX appointments_confirmed_start_idx ON appointments (starts_at) WHERE status = 'confirmed';

-- A patient's rating of a completed appointment, once.
CREATE TABLE reviews (
    appointment_id   uuid PRIMARY KEY REFERENCES appointments (id),
    organisation_id  uuid NOT NULL REFERENCES organisations (id),
    doctor_id        uuid NOT NULL REFERENCES doctors (id),
    rating           smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment          text CHECK (length(comment) <= 2000),
    created_at       timestamptz NOT NULL DEFAULT now()
);
