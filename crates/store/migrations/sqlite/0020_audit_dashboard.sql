-- A delivery attempt's entry names the outbox row it sent (whose stored payload shows the message "as
-- WeCom received it") and when the push behind it was received (so the dashboard measures push → accepted
-- from the audit log alone, without joining rows that retention may have purged). NULL on other entries
-- and on entries written before these columns existed.
ALTER TABLE audit ADD COLUMN delivery_id INTEGER;
ALTER TABLE audit ADD COLUMN received_at INTEGER;
-- The audit page filters by shop, destination and outcome, newest first: each an index ending in id, so
-- a page (first or deep, by keyset) reads only its own rows even among millions.
CREATE INDEX audit_shop ON audit (shop_id, id);
CREATE INDEX audit_destination ON audit (destination, id);
CREATE INDEX audit_outcome ON audit (outcome, id);
-- The dashboard reads one kind of entry over a time window; the columns it counts and measures by are in
-- the index, so a day of a million-row log is read from the index alone, not row by row.
CREATE INDEX audit_kind_at ON audit (kind, at, outcome, shop_id, received_at);
-- Time to first response reads buyer messages and persons' replies over a window.
CREATE INDEX conversation_messages_author_at ON conversation_messages (author, at);
