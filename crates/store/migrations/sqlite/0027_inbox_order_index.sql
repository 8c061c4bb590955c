-- One index of an order's pushes where there were two: the claim's "no older pending push of this order"
-- (app, shop and order all equal) and forgetting a buyer (a shop's orders) both read it with the shop and
-- the order first. Every push wrote an entry into both, each at a random place (order numbers are random),
-- which is what a group commit's cost grows with.
DROP INDEX inbox_shop_order;
DROP INDEX inbox_order;
CREATE INDEX inbox_order ON inbox (shop_id, order_sn, app_id, state, id);
