-- How urgent a row is: `reply` (an answer to the user's own tap or message,
-- never held back), `normal` (held during the user's quiet hours, cards go
-- into the digest) or `urgent` (escalations: break through quiet hours).
ALTER TABLE telegram_outbox ADD COLUMN urgency TEXT NOT NULL DEFAULT 'normal';
-- When the row was first held back for quiet hours or a digest.
ALTER TABLE telegram_outbox ADD COLUMN held_at INTEGER;
-- How a finished row ended: `sent`, `failed` (Telegram refused it for good,
-- `last_error` says why) or `digested` (a digest stood for it). NULL while waiting.
ALTER TABLE telegram_outbox ADD COLUMN outcome TEXT;
UPDATE telegram_outbox SET urgency = 'reply' WHERE event_key LIKE 'u:%';
UPDATE telegram_outbox
   SET outcome = CASE WHEN last_error IS NULL THEN 'sent' ELSE 'failed' END
 WHERE done_at IS NOT NULL;
CREATE INDEX telegram_outbox_failed ON telegram_outbox (done_at) WHERE outcome = 'failed';

-- When each chat last got a digest.
CREATE TABLE telegram_digests (
    chat_id INTEGER PRIMARY KEY,
    sent_at INTEGER NOT NULL
);

-- Updates Telegram POSTed to the webhook (`[telegram.webhook]`), stored
-- before the answer 200 so none is lost; the bot handles them in order and
-- moves its `updates` cursor past them.
CREATE TABLE telegram_inbox (
    update_id   INTEGER PRIMARY KEY,
    body        TEXT    NOT NULL,
    received_at INTEGER NOT NULL
);
