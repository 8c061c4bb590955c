-- Logistics watch: what the ship-by date is, when the parcel's trail was last polled and last moved.
ALTER TABLE order_state ADD COLUMN ship_by_date INTEGER;
-- Unix ms of the last get_tracking_info poll (claimed before the call, so one replica polls an order).
ALTER TABLE order_state ADD COLUMN tracking_checked_at INTEGER NOT NULL DEFAULT 0;
-- Unix seconds of the trail's newest step, and its status.
ALTER TABLE order_state ADD COLUMN tracking_updated_at INTEGER;
ALTER TABLE order_state ADD COLUMN logistics_status TEXT;
CREATE INDEX order_state_watch ON order_state (status, tracking_checked_at);
CREATE INDEX order_state_ship_by ON order_state (status, ship_by_date);

-- The delivery claim groups due rows by destination from this index alone (no row lookups), which keeps
-- a restart with a million queued deliveries quick.
CREATE INDEX deliveries_claimable ON deliveries (state, destination, next_attempt_at, claimed_until, priority, id);
