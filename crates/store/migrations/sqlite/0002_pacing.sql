-- Pacing, coalescing and circuit breaking per destination.

-- Urgent deliveries (buyer messages, admin notices) go before bulk ones and are never coalesced.
ALTER TABLE deliveries ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
-- One line describing the delivery's event, for digests ("新订单 220810QSK8S7BX · SGD 29.30").
ALTER TABLE deliveries ADD COLUMN summary TEXT NOT NULL DEFAULT '';
-- Who the message is for (WeCom members it counts against, or a group key): deliveries coalesce only
-- with others for the same recipients.
ALTER TABLE deliveries ADD COLUMN recipients TEXT NOT NULL DEFAULT '';
-- Set on deliveries folded into a digest (state 'coalesced'): the digest delivery that carries them.
ALTER TABLE deliveries ADD COLUMN digest_id INTEGER;
-- On a digest delivery: the unguessable key of its page listing every event it carries.
ALTER TABLE deliveries ADD COLUMN link_token TEXT;
CREATE INDEX deliveries_destination ON deliveries (destination, state, priority, next_attempt_at);
CREATE INDEX deliveries_digest ON deliveries (digest_id);

-- A destination's breaker and pause: while paused_until is in the future nothing is claimed for it.
CREATE TABLE destinations (
    destination  TEXT    NOT NULL PRIMARY KEY,
    paused_until INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    failures     INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- Every send, per destination and per member, reserved before the request goes out: the budget is
-- counted over sliding windows of this log, so it holds across restarts.
CREATE TABLE sends (
    destination TEXT    NOT NULL,
    member      TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX sends_window ON sends (destination, member, at);

-- Which server process sends for a destination: one at a time, so its order and budget hold across
-- replicas. Renewed on every claim (a heartbeat); a dead replica's leases run out and move.
CREATE TABLE destination_leases (
    destination TEXT    NOT NULL PRIMARY KEY,
    owner       TEXT    NOT NULL,
    until       INTEGER NOT NULL
);
