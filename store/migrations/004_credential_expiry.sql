-- Organisation admin keys and doctor credentials may expire; both are listed and revoked by id.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
ALTER TABLE doctor_credentials ADD COLUMN expires_at timestamptz;
