-- An inbox item's state changes once, when it is closed, and every index naming the state moved its
-- entry then: inbox_due (state, due time) twice, inbox_order (…, state, id) twice at a random place (order
-- numbers are random). Each of those entries dirtied a page of a group commit that acknowledgements
-- wait for. What reads the state now reads an index of only the items in it:
-- the claim's "no older pending push of this order" reads the pending items of an order;
DROP INDEX inbox_order;
CREATE INDEX inbox_pending_order ON inbox (app_id, shop_id, order_sn, id) WHERE state = 'pending';
-- forgetting a buyer reads a shop's orders, whatever their state;
CREATE INDEX inbox_order ON inbox (shop_id, order_sn, app_id, id);
-- replaying failed pushes reads the failed ones (counting the pending ones reads inbox_pending).
DROP INDEX inbox_due;
CREATE INDEX inbox_failed ON inbox (id) WHERE state = 'failed';
