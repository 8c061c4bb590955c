-- WeCom QR login: a console account may be linked to one WeCom member (userid). WeCom compares userids
-- without case, so the link is unique without case too.
ALTER TABLE console_users ADD COLUMN wecom_userid TEXT;
CREATE UNIQUE INDEX console_users_wecom ON console_users (lower(wecom_userid));

-- The state of each WeCom login link handed out, kept only as a SHA-256 hash: the redirect must bring it
-- back once, before it expires, from the browser it was given to (the cookie it is derived from).
CREATE TABLE console_login_states (
    state_hash TEXT    PRIMARY KEY,
    expires_at BIGINT  NOT NULL
);
