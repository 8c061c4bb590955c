-- The marketplace of the app an audit entry concerns (`shopee`, `lazada`, …), so the log filters by
-- platform. NULL for entries about no marketplace app (deliveries, WeCom callbacks, key rotations) and for
-- entries written before the column existed. Filtered newest first, like every audit query.
ALTER TABLE audit ADD COLUMN platform TEXT;
CREATE INDEX audit_platform ON audit (platform, id);
