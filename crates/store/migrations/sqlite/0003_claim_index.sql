-- The delivery claim skips a destination while another claim of it is in flight; without this index
-- that check scanned the destination's whole backlog for every candidate row (quadratic in the backlog).
CREATE INDEX deliveries_in_flight ON deliveries (destination, state, claimed_until);
