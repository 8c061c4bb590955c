-- Buyer chat as conversations: one per marketplace conversation (thread: its keyed hash), held by at most one member at a time,
-- with every buyer message, staff reply and automatic answer (the archive). The buyer's name and every
-- text are sealed by the store; buyer_hash finds a buyer's conversations for deletion.
CREATE TABLE conversations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id        TEXT    NOT NULL,
    shop_id       INTEGER NOT NULL,
    thread        TEXT    NOT NULL,
    buyer_id      TEXT    NOT NULL,
    buyer_name    TEXT    NOT NULL,
    buyer_hash    TEXT    NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'open',
    holder        TEXT,
    holder_app    TEXT,
    last_buyer_at INTEGER NOT NULL,
    last_reply_at INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (app_id, shop_id, thread)
);
CREATE INDEX conversations_holder ON conversations (holder, state, last_buyer_at);
CREATE INDEX conversations_buyer ON conversations (buyer_hash);

CREATE TABLE conversation_messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    author          TEXT    NOT NULL,
    sender          TEXT,
    text            TEXT    NOT NULL,
    at              INTEGER NOT NULL,
    outcome         TEXT    NOT NULL,
    note            TEXT,
    rule            TEXT,
    platform_message_id TEXT
);
CREATE INDEX conversation_messages_by_conversation ON conversation_messages (conversation_id, id);

-- Stored callbacks are acted on by a worker: claimed with a lease, then closed with what was done.
ALTER TABLE wecom_callbacks ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE wecom_callbacks ADD COLUMN note TEXT;
CREATE INDEX wecom_callbacks_due ON wecom_callbacks (state, claimed_until);
