-- Who may do what: organisation admin keys, doctor credentials, partner booking secrets, origins.

CREATE TABLE api_keys (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organisation_id  uuid NOT NULL REFERENCES organisations (id),
    -- sha256 of the key; the key itself is shown once and never stored
    key_hash         text NOT NULL UNIQUE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz
);
CREATE INDEX api_keys_organisation_idx ON api_keys (organisation_id);

CREATE TABLE doctor_credentials (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    doctor_id   uuid NOT NULL REFERENCES doctors (id),
    token_hash  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX doctor_credentials_doctor_idx ON doctor_credentials (doctor_id);

-- Secrets partner backends sign booking tokens with; encrypted at rest (AES-GCM).
CREATE TABLE booking_secrets (
    key_id           text PRIMARY KEY,
    organisation_id  uuid NOT NULL REFERENCES organisations (id),
    ciphertext       bytea NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz
);
CREATE INDEX booking_secrets_organisation_idx ON booking_secrets (organisation_id);

-- Origins allowed to embed the organisation's booking (CORS).
ALTER TABLE organisations ADD COLUMN allowed_origins text[] NOT NULL DEFAULT '{}';
