-- What the guards found in the exact text a person approved (JSON, like `findings`).
ALTER TABLE drafts ADD COLUMN final_findings TEXT;
-- The buyer wrote again and this draft was withdrawn for a new one.
ALTER TABLE drafts ADD COLUMN superseded_at INTEGER;
-- A person has looked at a withdrawn draft and put it aside.
ALTER TABLE drafts ADD COLUMN dismissed_at INTEGER;
