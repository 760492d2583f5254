-- Who approved a draft (NULL: nobody; an `auto` decision scheduled it).
ALTER TABLE drafts ADD COLUMN approved_by TEXT;

-- Per-shop kill switch for auto-sending.
CREATE TABLE shop_controls (
    shop      TEXT    PRIMARY KEY,
    paused    INTEGER NOT NULL DEFAULT 0,
    reason    TEXT,
    changed_by TEXT,
    changed_at INTEGER NOT NULL
);

-- The outcome of the last attempt to (re)load a shop's policy or prompts.
CREATE TABLE reload_status (
    shop      TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    ok        INTEGER NOT NULL,
    detail    TEXT,
    at        INTEGER NOT NULL,
    PRIMARY KEY (shop, kind)
);
