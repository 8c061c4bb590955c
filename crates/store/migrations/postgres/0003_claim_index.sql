-- The delivery claim skips a destination while another claim of it is in flight; without this index
-- that check scanned the destination's whole backlog for every candidate row (quadratic in the backlog).
CREATE INDEX deliveries_in_flight ON deliveries (destination, state, claimed_until);
-- A destination's next deliveries in claim order (urgent first, then oldest), read a few at a time.
CREATE INDEX deliveries_claim_order ON deliveries (destination, state, priority, id);
