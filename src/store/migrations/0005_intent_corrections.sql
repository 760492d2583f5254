-- A person's correction of a turn's intent: the shop's own training examples.
CREATE TABLE intent_corrections (
    id         INTEGER PRIMARY KEY,
    shop       TEXT    NOT NULL,
    draft_id   INTEGER,
    text       TEXT    NOT NULL,
    was        TEXT    NOT NULL,
    intent     TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX intent_corrections_by_shop ON intent_corrections (shop, id);
