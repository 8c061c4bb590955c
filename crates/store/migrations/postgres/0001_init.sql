-- Facts about the database itself: the master key's check value, so a wrong key fails at start.
CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

-- Configuration objects applied from shoprelay.toml; secrets inside `body` are sealed.
CREATE TABLE config_objects (
    kind        TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);

-- Marketplace authorization per shop; tokens are sealed. `version` makes token rotation a compare-and-swap.
-- Shops authorized together (a main account) share one grant: one single-use refresh token for all.
CREATE TABLE shop_auth (
    app_id             TEXT    NOT NULL,
    shop_id            BIGINT NOT NULL,
    grant_id           TEXT    NOT NULL,
    access_token       TEXT    NOT NULL,
    refresh_token      TEXT    NOT NULL,
    access_expires_at  BIGINT NOT NULL,
    refresh_expires_at BIGINT NOT NULL,
    status             TEXT    NOT NULL,
    status_reason      TEXT,
    version            BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (app_id, shop_id)
);
CREATE INDEX shop_auth_grant ON shop_auth (grant_id);

-- One refresher per grant across every replica: the lease is taken before Shopee is called, because
-- a refresh spends the single-use refresh token whether or not its answer is stored.
CREATE TABLE token_refresh (
    grant_id         TEXT    NOT NULL PRIMARY KEY,
    refreshing_until BIGINT NOT NULL
);

-- Every verified push, stored before it is acknowledged.
CREATE TABLE inbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform        TEXT    NOT NULL,
    app_id          TEXT    NOT NULL,
    dedupe_key      TEXT    NOT NULL,
    code            BIGINT NOT NULL,
    shop_id         BIGINT,
    order_sn        TEXT,
    body            TEXT    NOT NULL,
    received_at     BIGINT NOT NULL,
    state           TEXT    NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    claim_token     TEXT,
    last_error      TEXT,
    UNIQUE (platform, app_id, dedupe_key)
);
CREATE INDEX inbox_due ON inbox (state, next_attempt_at);
-- Pushes of one order are processed one at a time, oldest first.
CREATE INDEX inbox_order ON inbox (app_id, shop_id, order_sn, state, id);

CREATE TABLE events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key  TEXT    NOT NULL UNIQUE,
    inbox_id    BIGINT,
    kind        TEXT    NOT NULL,
    app_id      TEXT    NOT NULL,
    shop_id     BIGINT,
    order_sn    TEXT,
    occurred_at BIGINT NOT NULL,
    body        TEXT    NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Last status seen per order, to tell a new order from a status change; `status_time` is the
-- platform's update time, so a late push never moves an order backwards.
CREATE TABLE order_state (
    app_id     TEXT    NOT NULL,
    shop_id    BIGINT NOT NULL,
    order_sn   TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    status_time BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (app_id, shop_id, order_sn)
);

-- The outbox: one row per (event, target), rendered once so every retry sends identical bytes.
CREATE TABLE deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        BIGINT NOT NULL,
    route_id        TEXT    NOT NULL,
    destination     TEXT    NOT NULL,
    shop_id         BIGINT,
    order_sn        TEXT,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    claim_token     TEXT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);

CREATE TABLE audit (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    kind        TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    app_id      TEXT,
    shop_id     BIGINT,
    order_sn    TEXT,
    destination TEXT,
    attempt     BIGINT,
    http_status BIGINT,
    errcode     BIGINT,
    latency_ms  BIGINT,
    detail      TEXT    NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_order ON audit (order_sn);
