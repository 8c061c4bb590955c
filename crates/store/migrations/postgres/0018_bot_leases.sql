-- Which server process holds the WeCom AI-bot long connection of a bot: WeCom keeps one connection per bot
-- (a second kicks the first), so in a cluster exactly one replica may dial. Renewed while connected (a
-- heartbeat); a dead replica's lease runs out and another takes the bot over.
CREATE TABLE bot_leases (
    bot   TEXT   NOT NULL PRIMARY KEY,
    owner TEXT   NOT NULL,
    until BIGINT NOT NULL
);
