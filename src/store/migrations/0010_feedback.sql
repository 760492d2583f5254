-- Reviews and product questions are threads beside chats: one row in `chats`
-- (its kind says which), the buyer's review or question as its one buyer
-- message, the published answer as a seller message.
ALTER TABLE chats ADD COLUMN kind TEXT NOT NULL DEFAULT 'chat'
    CHECK (kind IN ('chat', 'review', 'question'));
CREATE INDEX chats_by_kind ON chats (shop, kind);

-- What a review or question says besides its text.
CREATE TABLE feedback (
    chat_id         INTEGER PRIMARY KEY REFERENCES chats (id),
    -- Reviews only: 1..5 stars.
    rating          INTEGER CHECK (rating BETWEEN 1 AND 5),
    text            TEXT    NOT NULL DEFAULT '',
    pros            TEXT    NOT NULL DEFAULT '',
    cons            TEXT    NOT NULL DEFAULT '',
    has_photos      INTEGER NOT NULL DEFAULT 0,
    product_id      TEXT,
    product_name    TEXT,
    created_at      INTEGER NOT NULL,
    -- The answer the marketplace shows, as last read.
    answer_text     TEXT,
    answer_editable INTEGER,
    -- The last time the marketplace's own record of this thread was read in
    -- full (a list page or a read by id): what settles an unknown send.
    checked_at      INTEGER
);
CREATE INDEX feedback_by_product ON feedback (product_id);

-- Per shop, marketplace and kind: where polling continues, and when it last caught up.
CREATE TABLE feedback_sync (
    shop        TEXT    NOT NULL,
    marketplace TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('review', 'question')),
    cursor      TEXT,
    synced_at   INTEGER,
    PRIMARY KEY (shop, marketplace, kind)
);
