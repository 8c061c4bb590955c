-- The latest seller-status push of each shop, as the marketplace worded it (Lazada's message_type 13:
-- `normal` or `close`). Only a newer report replaces it: marketplaces do not order their pushes.
CREATE TABLE shop_standing (
    app_id      TEXT    NOT NULL,
    shop_id     INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    reported_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, shop_id)
);

-- The response_code WeCom's message/send answered for an interactive card (one per delivered outbox row):
-- usable once, within 72 hours, to update the card for everyone it reached. Spent by a console action;
-- a member's click updates the card with the click's own code and leaves this one alone.
CREATE TABLE card_codes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     INTEGER NOT NULL UNIQUE,
    app_id          TEXT    NOT NULL,
    task_id         TEXT    NOT NULL,
    conversation_id INTEGER,
    task_ref        INTEGER,
    response_code   TEXT    NOT NULL,
    issued_at       INTEGER NOT NULL,
    spent_at        INTEGER
);
CREATE INDEX card_codes_conversation ON card_codes (conversation_id, issued_at);
CREATE INDEX card_codes_task ON card_codes (task_ref, issued_at);
CREATE INDEX card_codes_issued ON card_codes (issued_at);
