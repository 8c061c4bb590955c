-- The dashboard's sums of the sealed audit log, so a week is read from a few thousand summary rows rather
-- than every entry (see src/sql/dashboard.rs). What is summed is decided by the chain position `seq`, not
-- by time: every entry sealed at or below dashboard_rollup.seq is in the sums exactly once, whatever its
-- `at`, and every other entry is read from the log. One row.
CREATE TABLE dashboard_rollup (
    id  INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq BIGINT  NOT NULL
);
INSERT INTO dashboard_rollup (id, seq) VALUES (1, 0);
-- Per period (its start, unix ms) and shop (0: entries tied to no shop; shop ids are positive): pushes
-- accepted, deliveries accepted, failed delivery attempts.
CREATE TABLE dashboard_traffic (
    period    BIGINT NOT NULL,
    shop_id   BIGINT NOT NULL,
    pushes    BIGINT NOT NULL,
    delivered BIGINT NOT NULL,
    failed    BIGINT NOT NULL,
    PRIMARY KEY (period, shop_id)
);
-- Failed delivery attempts per period, destination kind, outcome and errcode (`no_errcode` = 1 and
-- errcode 0 for none: a key column cannot be NULL, and every integer is some WeCom errcode).
CREATE TABLE dashboard_failures (
    period           BIGINT  NOT NULL,
    destination_kind TEXT    NOT NULL,
    outcome          TEXT    NOT NULL,
    errcode          BIGINT  NOT NULL,
    no_errcode       INTEGER NOT NULL,
    n                BIGINT  NOT NULL,
    PRIMARY KEY (period, destination_kind, outcome, errcode, no_errcode)
);
-- Push → accepted latency of deliveries accepted, per period and shop, as a histogram: `bucket` is the
-- latency rounded down to three significant digits (exact below a second).
CREATE TABLE dashboard_latency (
    period  BIGINT NOT NULL,
    shop_id BIGINT NOT NULL,
    bucket  BIGINT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (period, shop_id, bucket)
);
-- Each order push routed to WeCom whose attempts are summed, with its first accepted WeCom attempt
-- (NULL: none yet). An order's attempts can be sealed in different rollups, so "in WeCom within 30 s" is
-- kept per order, not per period; the index answers a window's count from the index alone.
CREATE TABLE dashboard_orders (
    shop_id     BIGINT NOT NULL,
    order_sn    TEXT   NOT NULL,
    received_at BIGINT NOT NULL,
    first_ok    BIGINT,
    PRIMARY KEY (shop_id, order_sn, received_at)
);
CREATE INDEX dashboard_orders_received ON dashboard_orders (received_at, first_ok);
