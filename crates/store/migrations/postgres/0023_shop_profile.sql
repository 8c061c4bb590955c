-- What the marketplace told about the shop at authorization: its name and region, and data only the
-- shop's marketplace adapter reads (JSON, e.g. the identifier every API call about the shop must carry),
-- so that after a restart the adapter does not ask the marketplace again. NULL until an authorization
-- (or a refresh) tells; a token seeded from the configuration file has none.
ALTER TABLE shop_auth ADD COLUMN profile_name TEXT;
ALTER TABLE shop_auth ADD COLUMN profile_region TEXT;
ALTER TABLE shop_auth ADD COLUMN profile_data TEXT;
