-- The latest seller-status push of each shop, as the marketplace worded it (Lazada's message_type 13:
-- `normal` or `close`). Only a newer report replaces it: marketplaces do not order their pushes.
CREATE TABLE shop_standing (
    app_id      TEXT    NOT NULL,
    shop_id     BIGINT NOT NULL,
    status      TEXT    NOT NULL,
    reported_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, shop_id)
);

-- The response_code WeCom's message/send answered for an interactive card (one per delivered outbox row):
-- usable once, within 72 hours, to update the card for everyone it reached. Spent by a console action;
-- a member's click updates the card with the click's own code and leaves this one alone.
CREATE TABLE card_codes (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id     BIGINT NOT NULL UNIQUE,
    app_id          TEXT    NOT NULL,
    task_id         TEXT    NOT NULL,
    conversation_id BIGINT,
    task_ref        BIGINT,
    response_code   TEXT    NOT NULL,
    issued_at       BIGINT NOT NULL,
    spent_at        BIGINT
);
CREATE INDEX card_codes_conversation ON card_codes (conversation_id, issued_at);
CREATE INDEX card_codes_task ON card_codes (task_ref, issued_at);
CREATE INDEX card_codes_issued ON card_codes (issued_at);
