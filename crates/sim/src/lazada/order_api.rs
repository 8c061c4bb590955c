//! Reading orders: `/order/get`, `/order/items/get` and `/orders/get` (orders created or updated since an
//! ISO-8601 time, sorted, paged by offset and limit), in the shapes of Lazada's order API.

use chrono::{DateTime, FixedOffset};
use serde_json::{json, Value};

use super::api::{check_seller, Answer, ApiError, Call};
use super::orders::{Order, OrderItem};
use super::region::Region;
use super::state::Core;

/// The most orders one `/orders/get` page holds.
const MAX_LIMIT: usize = 100;

/// Which orders a call may see: those of the token's account, in the regional host's country when the
/// call came through one (a seller's Singapore token on the Malaysian host sees Malaysian orders only).
struct Scope {
    seller_ids: Vec<String>,
}

impl Scope {
    fn of(core: &Core, call: &Call, region: Option<Region>) -> Result<Self, ApiError> {
        let account = check_seller(core, call)?;
        let state = core.state();
        let seller_ids = state.sellers[account]
            .country_user_info
            .iter()
            .filter(|c| region.is_none_or(|r| r == c.country))
            .map(|c| c.seller_id.clone())
            .collect();
        Ok(Self { seller_ids })
    }

    fn sees(&self, order: &Order) -> bool {
        self.seller_ids.contains(&order.seller_id)
    }
}

/// `/order/get?order_id=`.
pub(crate) fn get_order(core: &Core, call: &Call, region: Option<Region>) -> Result<Answer, ApiError> {
    let scope = Scope::of(core, call, region)?;
    let state = core.state();
    let order = find(&state.orders, &scope, call.required("order_id")?)?;
    Ok(Answer::Data(order_json(order)))
}

/// `/order/items/get?order_id=`: the items as a list under `data`.
pub(crate) fn get_order_items(core: &Core, call: &Call, region: Option<Region>) -> Result<Answer, ApiError> {
    let scope = Scope::of(core, call, region)?;
    let state = core.state();
    let order = find(&state.orders, &scope, call.required("order_id")?)?;
    let items: Vec<Value> = order.items.iter().map(|i| item_json(order, i)).collect();
    Ok(Answer::Data(Value::Array(items)))
}

/// An order the scope sees, or Lazada's legacy `E016` error.
fn find<'a>(
    orders: &'a std::collections::BTreeMap<u64, Order>,
    scope: &Scope,
    raw_id: &str,
) -> Result<&'a Order, ApiError> {
    raw_id
        .parse::<u64>()
        .ok()
        .and_then(|id| orders.get(&id))
        .filter(|o| scope.sees(o))
        .ok_or_else(|| ApiError::isv("16", format!("E016: \"{raw_id}\" Invalid Order ID")))
}

/// `/orders/get`: filtered by `created_after/before`, `update_after/before` (inclusive, to the second, as
/// the API shows times) and `status`; sorted by `sort_by` (`created_at` by default) in `sort_direction`
/// (`DESC` by default, ties by order id); paged by `offset` and `limit` (at most 100).
pub(crate) fn get_orders(core: &Core, call: &Call, region: Option<Region>) -> Result<Answer, ApiError> {
    let scope = Scope::of(core, call, region)?;
    let bound = |name: &str| -> Result<Option<i64>, ApiError> {
        call.param(name)
            .map(|raw| parse_time(raw).ok_or_else(|| ApiError::invalid(name)))
            .transpose()
    };
    let (created_after, created_before) = (bound("created_after")?, bound("created_before")?);
    let (update_after, update_before) = (bound("update_after")?, bound("update_before")?);
    if created_after.is_none() && update_after.is_none() {
        return Err(ApiError::isv(
            "MissingParameter",
            "Either update_after or created_after is mandatory",
        ));
    }
    let by_update = match call.param("sort_by").unwrap_or("created_at") {
        "created_at" => false,
        "updated_at" => true,
        _ => return Err(ApiError::invalid("sort_by")),
    };
    let ascending = match call
        .param("sort_direction")
        .unwrap_or("DESC")
        .to_ascii_uppercase()
        .as_str()
    {
        "ASC" => true,
        "DESC" => false,
        _ => return Err(ApiError::invalid("sort_direction")),
    };
    let offset: usize = number(call, "offset")?.unwrap_or(0);
    let limit: usize = number(call, "limit")?.unwrap_or(MAX_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("limit"));
    }
    let status = call.param("status").filter(|s| *s != "all");
    let within = |secs: i64, after: Option<i64>, before: Option<i64>| {
        after.is_none_or(|a| secs >= a) && before.is_none_or(|b| secs <= b)
    };
    let state = core.state();
    let mut matching: Vec<&Order> = state
        .orders
        .values()
        .filter(|o| scope.sees(o))
        .filter(|o| within(o.created_at_ms.div_euclid(1000), created_after, created_before))
        .filter(|o| within(o.updated_at_ms.div_euclid(1000), update_after, update_before))
        .filter(|o| status.is_none_or(|s| o.items.iter().any(|i| i.status == s)))
        .collect();
    matching.sort_by_key(|o| (if by_update { o.updated_at_ms } else { o.created_at_ms }, o.order_id));
    if !ascending {
        matching.reverse();
    }
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|o| order_json(o))
        .collect();
    Ok(Answer::Data(json!({
        "count": page.len(),
        "countTotal": matching.len(),
        "orders": page,
    })))
}

/// An optional non-negative number parameter.
fn number(call: &Call, name: &str) -> Result<Option<usize>, ApiError> {
    call.param(name)
        .map(|raw| raw.parse().map_err(|_| ApiError::invalid(name)))
        .transpose()
}

/// Unix seconds of an ISO-8601 time with an offset: `2024-05-01T09:00:00+08:00` (or `+0800`).
fn parse_time(raw: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%z"))
        .ok()
        .map(|t| t.timestamp())
}

/// A time as the order API writes it, in the shop's own offset: `2014-10-15 18:36:05 +0800`.
fn lazada_time(ms: i64, region: Region) -> String {
    let offset = FixedOffset::east_opt(region.utc_offset_secs());
    match (DateTime::from_timestamp_millis(ms), offset) {
        (Some(utc), Some(offset)) => utc.with_timezone(&offset).format("%Y-%m-%d %H:%M:%S %z").to_string(),
        _ => String::new(),
    }
}

/// An order in `/order/get`'s shape (and each of `/orders/get`'s).
fn order_json(order: &Order) -> Value {
    let price: f64 = order.items.iter().map(|i| i.item_price).sum();
    json!({
        "order_id": order.order_id,
        "order_number": order.order_id,
        "created_at": lazada_time(order.created_at_ms, order.country),
        "updated_at": lazada_time(order.updated_at_ms, order.country),
        "statuses": order.statuses(),
        "customer_first_name": order.customer_first_name,
        "customer_last_name": order.customer_last_name,
        "address_shipping": order.address_shipping,
        "address_billing": order.address_shipping,
        "price": format!("{price:.2}"),
        "payment_method": order.payment_method,
        "items_count": order.items.len(),
        "shipping_fee": order.shipping_fee,
        "voucher": 0.0,
        "remarks": "",
        "gift_option": false,
        "gift_message": "",
        "delivery_info": "",
        "warehouse_code": "dropshipping",
    })
}

/// An order item in `/order/items/get`'s shape.
fn item_json(order: &Order, item: &OrderItem) -> Value {
    json!({
        "order_item_id": item.order_item_id,
        "order_id": order.order_id,
        "sku": item.sku,
        "shop_sku": item.shop_sku,
        "name": item.name,
        "item_price": item.item_price,
        "paid_price": item.paid_price,
        "currency": order.country.currency(),
        "status": item.status,
        "tracking_code": item.tracking_code,
        "shipment_provider": item.shipment_provider,
        "shipping_type": "Dropshipping",
        "created_at": lazada_time(order.created_at_ms, order.country),
        "updated_at": lazada_time(item.updated_at_ms, order.country),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_the_shops_offset() {
        // 2014-10-15 10:36:05 UTC
        assert_eq!(lazada_time(1_413_369_365_000, Region::Sg), "2014-10-15 18:36:05 +0800");
        assert_eq!(lazada_time(1_413_369_365_000, Region::Th), "2014-10-15 17:36:05 +0700");
    }

    #[test]
    fn iso_times_with_either_offset_spelling() {
        assert_eq!(parse_time("2014-10-15T18:36:05+08:00"), Some(1_413_369_365));
        assert_eq!(parse_time("2014-10-15T18:36:05+0800"), Some(1_413_369_365));
        assert_eq!(parse_time("2014-10-15 18:36:05"), None);
    }
}
