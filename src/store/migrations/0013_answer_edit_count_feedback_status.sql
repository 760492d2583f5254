-- How many times a published answer was replaced (or may have been: an edit
-- of unknown outcome counts), so a marketplace's limit on edits (Wildberries:
-- one) is kept on our side instead of learnt from a refusal.
ALTER TABLE drafts ADD COLUMN edits_made INTEGER NOT NULL DEFAULT 0;

-- How reading a shop's reviews and questions on one marketplace is doing,
-- beside `connector_status` for its chats.
CREATE TABLE feedback_status (
    shop        TEXT    NOT NULL,
    marketplace TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    detail      TEXT,
    since       INTEGER NOT NULL,
    last_ok_at  INTEGER,
    retry_at    INTEGER,
    PRIMARY KEY (shop, marketplace)
);
