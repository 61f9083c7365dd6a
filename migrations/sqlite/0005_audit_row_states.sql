-- The state of the rows each audit event's change created or changed (issue 15, item 12): the
-- SHA-256 of every column, as canonical JSON text, covered by the event's hash. NULL on events
-- written before this migration, whose hash does not cover it.
ALTER TABLE audit_event ADD COLUMN row_states TEXT;
