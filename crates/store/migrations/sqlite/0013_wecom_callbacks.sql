-- WeCom callbacks (members' messages to an app, card button clicks, events), verified and decrypted, stored
-- once per WeCom message (MsgId, or sender + CreateTime for events) before the 200 that stops WeCom's
-- retries. The body (the decrypted XML, which can quote buyers) is sealed by the store.
CREATE TABLE wecom_callbacks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id      TEXT    NOT NULL,
    dedupe_key  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'received',
    UNIQUE (app_id, dedupe_key)
);
