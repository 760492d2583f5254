-- How far a per-chat connector has read a chat (e.g. the last message id the chat list showed).
ALTER TABLE chats ADD COLUMN sync_marker TEXT;
-- When the other side read a message, where the marketplace reports it.
ALTER TABLE messages ADD COLUMN read_at INTEGER;
-- A person asked to withdraw a sent reply (where the marketplace allows it).
ALTER TABLE drafts ADD COLUMN retract_requested_at INTEGER;
CREATE INDEX drafts_retract ON drafts (retract_requested_at) WHERE retract_requested_at IS NOT NULL;
CREATE INDEX drafts_sent_message ON drafts (chat_id, sent_message_id) WHERE sent_message_id IS NOT NULL;
