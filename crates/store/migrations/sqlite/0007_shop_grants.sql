-- Shopee: a main account's shops share their first token pair only until each shop's first refresh,
-- which gives every shop its own pair; from then on each shop rotates its own single-use refresh token.
-- So tokens are per shop, never copied between shops, and the refresh lease is per shop too.
DROP INDEX shop_auth_grant;
ALTER TABLE shop_auth DROP COLUMN grant_id;
DROP TABLE token_refresh;
CREATE TABLE token_refresh (
    app_id           TEXT    NOT NULL,
    shop_id          INTEGER NOT NULL,
    refreshing_until INTEGER NOT NULL,
    PRIMARY KEY (app_id, shop_id)
);

-- The state nonce of each authorization link handed out: the redirect must bring it back, once,
-- before it expires, or the redirect changes nothing.
CREATE TABLE auth_states (
    state      TEXT    NOT NULL PRIMARY KEY,
    app_id     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
