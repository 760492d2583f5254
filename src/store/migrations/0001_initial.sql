-- Chats and their full history, one row per marketplace message.
CREATE TABLE chats (
    id              INTEGER PRIMARY KEY,
    shop            TEXT    NOT NULL,
    marketplace     TEXT    NOT NULL,
    external_id     TEXT    NOT NULL,
    reply_handle    TEXT,
    buyer_name      TEXT,
    order_json      TEXT,
    created_at      INTEGER NOT NULL,
    last_message_at INTEGER,
    -- An unanswered buyer turn is due for drafting from this time on.
    turn_due_at     INTEGER,
    -- A human answered in the marketplace's own UI; no auto-replies until then.
    takeover_until  INTEGER,
    UNIQUE (shop, marketplace, external_id)
);
CREATE INDEX chats_turn_due ON chats (turn_due_at) WHERE turn_due_at IS NOT NULL;

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats (id),
    external_id TEXT    NOT NULL,
    author      TEXT    NOT NULL CHECK (author IN ('buyer', 'seller', 'system')),
    via_api     INTEGER NOT NULL DEFAULT 0,
    channel     TEXT,
    text        TEXT    NOT NULL,
    attachments TEXT,
    created_at  INTEGER NOT NULL,
    stored_at   INTEGER NOT NULL,
    -- Set when this message is the marketplace's echo of one of our sends.
    draft_id    INTEGER REFERENCES drafts (id),
    UNIQUE (chat_id, external_id)
);
CREATE INDEX messages_by_chat ON messages (chat_id, created_at, id);

-- Per shop and marketplace: where polling continues, and when it last caught up.
CREATE TABLE sync_state (
    shop        TEXT    NOT NULL,
    marketplace TEXT    NOT NULL,
    cursor      TEXT,
    -- The last time a poll read everything the marketplace had.
    synced_at   INTEGER,
    PRIMARY KEY (shop, marketplace)
);

-- What people see about each connector: healthy, auth failed, rate limited...
CREATE TABLE connector_status (
    shop        TEXT    NOT NULL,
    marketplace TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    detail      TEXT,
    since       INTEGER NOT NULL,
    last_ok_at  INTEGER,
    retry_at    INTEGER,
    PRIMARY KEY (shop, marketplace)
);

CREATE TABLE drafts (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL REFERENCES chats (id),
    -- The last buyer message this draft answers. One draft per buyer turn.
    turn_message_id INTEGER NOT NULL REFERENCES messages (id),
    state           TEXT    NOT NULL,
    intent          TEXT    NOT NULL,
    confidence      REAL    NOT NULL,
    classification  TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    drafter         TEXT    NOT NULL,
    drafter_note    TEXT,
    prompt          TEXT,
    decision        TEXT    NOT NULL,
    findings        TEXT    NOT NULL DEFAULT '[]',
    effect          TEXT    NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 1,
    -- Scheduled drafts are the outbox: sent at or after this time.
    send_at         INTEGER,
    -- Exactly what goes (or went) to the buyer, frozen at approval.
    final_text      TEXT,
    state_reason    TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    send_started_at INTEGER,
    sent_at         INTEGER,
    sent_message_id TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (chat_id, turn_message_id)
);
CREATE INDEX drafts_by_state ON drafts (state, send_at);
CREATE INDEX drafts_by_chat ON drafts (chat_id, state);

-- Every state change of every draft: who, when, from what, to what, why.
CREATE TABLE draft_events (
    id         INTEGER PRIMARY KEY,
    draft_id   INTEGER NOT NULL REFERENCES drafts (id),
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    from_state TEXT,
    to_state   TEXT    NOT NULL,
    note       TEXT
);
CREATE INDEX draft_events_by_draft ON draft_events (draft_id, id);
