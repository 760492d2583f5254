-- Web queue sessions, so a daemon restart does not log everyone out. The
-- cookie's token is stored only as a hash.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- What a person is typing for a chat, saved as they type: one text per chat,
-- with the draft it was typed for. A draft that supersedes that one picks it up.
CREATE TABLE working_texts (
    chat_id INTEGER PRIMARY KEY REFERENCES chats (id),
    draft_id INTEGER NOT NULL REFERENCES drafts (id),
    text TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
