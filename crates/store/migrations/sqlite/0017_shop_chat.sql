-- What the marketplace last said when shoprelay sent chat for a shop: a refusal that no retry fixes
-- (chat API not whitelisted, sending unsupported in the shop's region) with its reason, or NULL when the
-- last send was accepted. notified_at: when the admins were told of the refusal (once, until it clears).
CREATE TABLE shop_chat (
    app_id       TEXT    NOT NULL,
    shop_id      INTEGER NOT NULL,
    refused_code TEXT,
    reason       TEXT,
    notified_at  INTEGER,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (app_id, shop_id)
);
