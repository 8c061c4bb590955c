//! `POST /order/202309/orders/search`: the shop's orders filtered by the JSON body's time ranges (unix
//! seconds, `*_ge` inclusive, `*_lt` exclusive) and status, sorted by `sort_field` / `sort_order` (TikTok's
//! defaults: `create_time`, `DESC`), `page_size` (1–100) a page, continued by an opaque `page_token`;
//! `next_page_token` is empty on the last page. Read from the raw body with serde_json alone: nothing of
//! the client's parsing is shared.

use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{check_seller, ApiError, Call, INVALID_REQUEST};
use super::orders::{order_json, Order};
use super::state::Core;

/// The largest `page_size` TikTok takes.
const MAX_PAGE_SIZE: usize = 100;
/// What the simulator's page tokens start with (the rest is the offset; clients treat it as opaque).
const TOKEN_PREFIX: &str = "sim-page-";

/// The body filters the simulator knows; an unknown one is refused, so a client's typo shows.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filters {
    order_status: Option<String>,
    create_time_ge: Option<i64>,
    create_time_lt: Option<i64>,
    update_time_ge: Option<i64>,
    update_time_lt: Option<i64>,
}

impl Filters {
    fn admits(&self, o: &Order) -> bool {
        let within = |t: i64, ge: Option<i64>, lt: Option<i64>| ge.is_none_or(|g| t >= g) && lt.is_none_or(|l| t < l);
        self.order_status.as_deref().is_none_or(|s| s == o.status)
            && within(o.create_time, self.create_time_ge, self.create_time_lt)
            && within(o.update_time, self.update_time_ge, self.update_time_lt)
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(INVALID_REQUEST, message)
}

/// The search: see the module documentation.
pub(crate) fn search_orders(core: &Core, call: &Call) -> Result<Value, ApiError> {
    let seller = check_seller(core, call)?;
    let cipher = call.required("shop_cipher")?;
    let page_size = call
        .required("page_size")?
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
        .ok_or_else(|| invalid(format!("page_size must be 1 to {MAX_PAGE_SIZE}")))?;
    let by_update = match call.param("sort_field").unwrap_or("create_time") {
        "create_time" => false,
        "update_time" => true,
        other => return Err(invalid(format!("sort_field {other} is not supported"))),
    };
    let descending = match call.param("sort_order").unwrap_or("DESC") {
        "ASC" => false,
        "DESC" => true,
        other => return Err(invalid(format!("sort_order {other} is not supported"))),
    };
    let offset = match call.param("page_token") {
        None => 0,
        Some(token) => token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| invalid("page_token is invalid"))?,
    };
    let filters: Filters = if call.body.iter().all(u8::is_ascii_whitespace) {
        Filters::default()
    } else {
        serde_json::from_slice(&call.body).map_err(|e| invalid(format!("the request body is invalid: {e}")))?
    };
    let state = core.state();
    let shop = state.sellers[seller]
        .shops
        .iter()
        .find(|s| s.cipher == cipher)
        .ok_or_else(|| invalid("shop_cipher is not one of this seller's shops"))?;
    let mut found: Vec<&Order> = state
        .orders
        .values()
        .filter(|o| o.shop_id == shop.id && filters.admits(o))
        .collect();
    // Ties keep the order id's order, so pages do not overlap.
    found.sort_by_key(|o| (if by_update { o.update_time } else { o.create_time }, o.id));
    if descending {
        found.reverse();
    }
    let total = found.len();
    let orders: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|o| order_json(o))
        .collect();
    let end = offset.saturating_add(page_size);
    let next = if end < total {
        format!("{TOKEN_PREFIX}{end}")
    } else {
        String::new()
    };
    Ok(json!({ "orders": orders, "next_page_token": next, "total_count": total }))
}
