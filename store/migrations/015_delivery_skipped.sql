-- A delivery that must not go out any more (a reminder whose appointment was cancelled or moved
-- after the reminder was claimed) ends "skipped": neither sent nor failed.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'delivered', 'failed', 'dead', 'skipped'));
