-- What the Telegram bot has to send: one row per event per chat. A row is
-- written in the same transaction that moves the bot's watermark over the
-- event, so an event is never lost and never turned into two rows.
CREATE TABLE telegram_outbox (
    id          INTEGER PRIMARY KEY,
    event_key   TEXT    NOT NULL,
    chat_id     INTEGER NOT NULL,
    -- card (a draft's message), refresh (edit a draft's messages in place), note (text)
    kind        TEXT    NOT NULL,
    draft_id    INTEGER,
    -- note: the HTML text and the inline keyboard (JSON), and what a reply to it means
    text        TEXT,
    markup      TEXT,
    role        TEXT,
    created_at  INTEGER NOT NULL,
    run_after   INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    -- Committed before the HTTP call; set with no `done_at` after a crash
    -- means the call may have reached Telegram.
    started_at  INTEGER,
    done_at     INTEGER,
    last_error  TEXT,
    UNIQUE (event_key, chat_id)
);
CREATE INDEX telegram_outbox_due ON telegram_outbox (done_at, run_after);

-- The bot's messages about a draft: its card, and the prompts a reply answers.
CREATE TABLE telegram_messages (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    draft_id   INTEGER NOT NULL,
    role       TEXT    NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX telegram_messages_by_draft ON telegram_messages (draft_id);

-- Text a user proposed for a draft, shown back to them for confirmation.
CREATE TABLE telegram_edits (
    id         INTEGER PRIMARY KEY,
    draft_id   INTEGER NOT NULL,
    revision   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

-- `events`: the last draft event turned into notifications;
-- `updates`: the next `getUpdates` offset.
CREATE TABLE telegram_cursor (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
