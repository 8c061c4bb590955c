-- Personal data at rest: inbox bodies, event bodies, delivery payloads and summaries and task summaries
-- are sealed by the store (AES-256-GCM, the master key); rows written before are read as they are until
-- `shoprelay keys rotate` seals them.

-- The keyed hash (HMAC-SHA256) of the event's shop and buyer: how a buyer's data is found (data-subject
-- deletion) without storing who the buyer is. NULL for events about no buyer.
ALTER TABLE events ADD COLUMN buyer_hash TEXT;
CREATE INDEX events_buyer ON events (buyer_hash) WHERE buyer_hash IS NOT NULL;
-- Forgetting a buyer also removes their orders' pushes, events and tasks.
CREATE INDEX inbox_shop_order ON inbox (shop_id, order_sn);
CREATE INDEX tasks_event ON tasks (event_key);
CREATE INDEX deliveries_event ON deliveries (event_id);
