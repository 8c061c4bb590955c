//! Reading orders: `get_order_detail` (default fields only, unless asked for) and `get_order_list`
//! (time range of at most 15 days, cursor paging), and a parcel's trail (`get_tracking_info`).

use std::collections::HashSet;

use axum::extract::{Query as QueryParams, State};
use axum::response::Response;
use serde_json::{json, Value};

use super::api::{check_shop, number, ok, ApiError, Query};
use super::orders::Order;
use super::state::Shared;

const ORDER_DETAIL: &str = "/api/v2/order/get_order_detail";
const ORDER_LIST: &str = "/api/v2/order/get_order_list";
const TRACKING_INFO: &str = "/api/v2/logistics/get_tracking_info";
const MAX_DETAIL_BATCH: usize = 50;
const MAX_LIST_RANGE_SECS: i64 = 15 * 86400;

/// `GET /api/v2/order/get_order_detail`.
pub(crate) async fn get_order_detail(
    State(core): State<Shared>,
    QueryParams(q): QueryParams<Query>,
) -> Result<Response, ApiError> {
    let shop_id = check_shop(&core, ORDER_DETAIL, &q)?;
    let wanted: Vec<&str> = q
        .get("order_sn_list")
        .map(|l| l.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if wanted.is_empty() {
        return Err(ApiError::param("order_sn_list is required."));
    }
    if wanted.len() > MAX_DETAIL_BATCH {
        return Err(ApiError::param("order_sn_list should be no more than 50."));
    }
    let optional: HashSet<&str> = q
        .get("response_optional_fields")
        .map(|f| f.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let state = core.state();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for sn in wanted {
        match state.orders.get(sn).filter(|o| o.shop_id == shop_id) {
            Some(order) => found.push(detail_json(order, &optional)),
            None => missing.push(sn),
        }
    }
    let warning = (!missing.is_empty()).then(|| format!("order_sn not found: {}", missing.join(",")));
    Ok(ok(json!({ "order_list": found }), warning))
}

/// An order with the default fields, plus the optional ones asked for.
fn detail_json(order: &Order, optional: &HashSet<&str>) -> Value {
    let mut detail = json!({
        "order_sn": order.order_sn,
        "region": order.region,
        "currency": order.currency,
        "cod": order.cod,
        "order_status": order.order_status,
        "message_to_seller": order.message_to_seller,
        "create_time": order.create_time,
        "update_time": order.update_time,
        "days_to_ship": order.days_to_ship,
        "ship_by_date": order.ship_by_date,
    });
    let masked_name = order
        .buyer_username
        .chars()
        .take(1)
        .chain("****".chars())
        .collect::<String>();
    let extra = [
        ("buyer_user_id", json!(order.buyer_user_id)),
        ("buyer_username", json!(order.buyer_username)),
        (
            "recipient_address",
            match &order.recipient {
                Some(r) => json!({
                    "name": r.name, "phone": r.phone, "town": r.town, "district": r.district, "city": r.city,
                    "state": r.state, "region": order.region, "zipcode": r.zipcode, "full_address": r.full_address,
                }),
                None => json!({
                    "name": masked_name, "phone": "******64", "town": "", "district": "", "city": "",
                    "state": "", "region": order.region, "zipcode": "******", "full_address": "****",
                }),
            },
        ),
        ("item_list", json!(order.item_list)),
        ("pay_time", json!(order.pay_time.unwrap_or(0))),
        ("total_amount", json!(order.total_amount)),
        (
            "package_list",
            json!([{
                "package_number": order.package_number,
                "logistics_status": if order.tracking_no.is_some() { "LOGISTICS_READY" } else { "LOGISTICS_NOT_START" },
                "shipping_carrier": order.shipping_carrier,
            }]),
        ),
        ("payment_method", json!(order.payment_method)),
        ("shipping_carrier", json!(order.shipping_carrier)),
        ("cancel_by", json!("")),
        ("cancel_reason", json!("")),
    ];
    for (field, value) in extra {
        if optional.contains(field) {
            detail[field] = value;
        }
    }
    detail
}

/// `GET /api/v2/order/get_order_list`.
pub(crate) async fn get_order_list(
    State(core): State<Shared>,
    QueryParams(q): QueryParams<Query>,
) -> Result<Response, ApiError> {
    let shop_id = check_shop(&core, ORDER_LIST, &q)?;
    let by_update = match q.get("time_range_field").map(String::as_str) {
        Some("update_time") => true,
        Some("create_time") => false,
        _ => {
            return Err(ApiError::param(
                "time_range_field should be create_time or update_time.",
            ))
        }
    };
    let from: i64 = number(&q, "time_from")?.ok_or_else(|| ApiError::param("time_from is required."))?;
    let to: i64 = number(&q, "time_to")?.ok_or_else(|| ApiError::param("time_to is required."))?;
    if from > to || to - from > MAX_LIST_RANGE_SECS {
        return Err(ApiError::param("The time range should be no more than 15 days."));
    }
    let page_size: usize = number(&q, "page_size")?.ok_or_else(|| ApiError::param("page_size is required."))?;
    if !(1..=100).contains(&page_size) {
        return Err(ApiError::param("page_size should be between 1 and 100."));
    }
    let offset: usize = number(&q, "cursor")?.unwrap_or(0);
    let status_filter = q.get("order_status").filter(|s| !s.is_empty());
    let with_status = q
        .get("response_optional_fields")
        .is_some_and(|f| f.split(',').any(|x| x.trim() == "order_status"));
    let state = core.state();
    let mut matching: Vec<&Order> = state
        .orders
        .values()
        .filter(|o| o.shop_id == shop_id)
        .filter(|o| (from..=to).contains(&if by_update { o.update_time } else { o.create_time }))
        .filter(|o| status_filter.is_none_or(|s| *s == o.order_status))
        .collect();
    matching.sort_by_key(|o| {
        (
            if by_update { o.update_time } else { o.create_time },
            o.order_sn.clone(),
        )
    });
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|o| {
            if with_status {
                json!({ "order_sn": o.order_sn, "order_status": o.order_status })
            } else {
                json!({ "order_sn": o.order_sn })
            }
        })
        .collect();
    let more = matching.len() > offset + page_size;
    let next_cursor = if more {
        (offset + page_size).to_string()
    } else {
        String::new()
    };
    Ok(ok(
        json!({ "more": more, "next_cursor": next_cursor, "order_list": page }),
        None,
    ))
}

/// `GET /api/v2/logistics/get_tracking_info?order_sn&package_number`: the trail, newest first, with the
/// latest status on top.
pub(crate) async fn get_tracking_info(
    State(core): State<Shared>,
    QueryParams(q): QueryParams<Query>,
) -> Result<Response, ApiError> {
    let shop_id = check_shop(&core, TRACKING_INFO, &q)?;
    let Some(order_sn) = q.get("order_sn").filter(|s| !s.is_empty()) else {
        return Err(ApiError::param("order_sn is required."));
    };
    let state = core.state();
    let Some(order) = state.orders.get(order_sn.as_str()).filter(|o| o.shop_id == shop_id) else {
        return Err(ApiError::new("logistics.order_not_found", "order_sn not found"));
    };
    let steps: Vec<Value> = order
        .tracking
        .iter()
        .rev()
        .map(|s| json!({"update_time": s.update_time, "description": s.description, "logistics_status": s.logistics_status}))
        .collect();
    let latest = order.tracking.last().map_or_else(
        || {
            if order.tracking_no.is_some() {
                "LOGISTICS_READY"
            } else {
                "LOGISTICS_NOT_START"
            }
            .to_owned()
        },
        |s| s.logistics_status.clone(),
    );
    Ok(ok(
        json!({
            "order_sn": order.order_sn,
            "package_number": order.package_number,
            "logistics_status": latest,
            "tracking_info": steps,
        }),
        None,
    ))
}
