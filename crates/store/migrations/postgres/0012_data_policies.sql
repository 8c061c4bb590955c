-- Per-shop data policy: the sensitive personal fields (phone, address, name, email) a shop keeps, and
-- who accepted the sensitive-information commitment that allows them, when, and which text version.
-- A shop without a row keeps none of them.
CREATE TABLE data_policies (
    app_id TEXT NOT NULL,
    shop_id BIGINT NOT NULL,
    fields TEXT NOT NULL,
    accepted_by TEXT,
    accepted_at BIGINT,
    commitment_version TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, shop_id)
);
