-- A person asked to replace a published answer to a review or question:
-- the new text (already through the guards), when it was asked, and when
-- the sender began the call (an edit begun and never finished is not sent
-- again: its outcome is reported as unknown).
ALTER TABLE drafts ADD COLUMN edit_text TEXT;
ALTER TABLE drafts ADD COLUMN edit_requested_at INTEGER;
ALTER TABLE drafts ADD COLUMN edit_started_at INTEGER;
CREATE INDEX drafts_edit ON drafts (edit_requested_at) WHERE edit_requested_at IS NOT NULL;
