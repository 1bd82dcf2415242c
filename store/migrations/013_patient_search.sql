-- Staff find a patient by part of a name or an email address (GET /v1/appointments?patient=):
-- ILIKE '%…%' on both columns, served by trigram GIN indexes (pg_trgm).
--
-- Extensions are per database, not per schema, and every test migrates into a schema of its own:
-- the extension goes to public (on every search path), unless it exists already wherever it is;
-- two schemas migrating at once may both try to create it, and the loser finds it made. The
-- operator class is named with the extension's schema, so the index is built wherever pg_trgm
-- lives; ILIKE itself is built in and needs nothing from the extension.
DO $$
DECLARE
    trgm_schema name;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
    EXCEPTION WHEN unique_violation OR duplicate_object THEN
        NULL;  -- created by a concurrent migration
    END;
    SELECT extnamespace::regnamespace::name INTO STRICT trgm_schema FROM pg_extension WHERE extname = 'pg_trgm';
    EXECUTE format(
        'CREATE INDEX appointments_patient_search_idx ON appointments'
        ' USING gin (patient_name %1$I.gin_trgm_ops, patient_email %1$I.gin_trgm_ops)',
        trgm_schema
    );
END
$$;
