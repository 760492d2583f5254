-- Retention: the bulky parts of old drafts are pruned in batches. These
-- partial indexes hold only what is still to prune, so each pass finds its
-- batch without scanning the table, and they shrink as the pruning goes.
ALTER TABLE drafts ADD COLUMN details_pruned_at INTEGER;
CREATE INDEX drafts_prompt_kept ON drafts (updated_at) WHERE prompt IS NOT NULL;
CREATE INDEX drafts_details_kept ON drafts (updated_at) WHERE details_pruned_at IS NULL;
CREATE INDEX draft_events_note_kept ON draft_events (at) WHERE note IS NOT NULL;
