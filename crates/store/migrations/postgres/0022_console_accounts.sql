-- The console's local accounts. Passwords are kept only as argon2 PHC strings; sessions and the one-time
-- setup link only as SHA-256 hashes of their tokens, so a copy of the database logs nobody in.
CREATE TABLE console_users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    disabled_at   BIGINT
);

CREATE TABLE console_sessions (
    token_hash TEXT    PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES console_users (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);

-- At most one live setup link: making a new one replaces the old.
CREATE TABLE console_setup_tokens (
    token_hash TEXT    PRIMARY KEY,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);

-- Every change made through the console: who, what, on what, when. Read newest first by id (keyset).
CREATE TABLE console_actions (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT  NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT,
    detail TEXT    NOT NULL
);
CREATE INDEX console_actions_actor ON console_actions (actor, id);
