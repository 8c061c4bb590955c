//! A Lazada order and its lines as the neutral order snapshot events carry, holding only the personal
//! fields the shop's data policy keeps.
//!
//! Lazada differs from the neutral model in three ways this module absorbs: an order has no status of
//! its own but the distinct statuses of its lines; every unit is a line of its own (no quantity); and the
//! buyer is known only by real name (no public nickname), so the snapshot's nickname stays empty.

use shoprelay_core::ids::OrderSn;
use shoprelay_core::order::{OrderItem, OrderSnapshot, Recipient, RecipientAddress};
use shoprelay_core::policy::FieldPolicy;

use super::error::LazadaError;
use super::model::{parse_time, LazadaAddress, LazadaOrder, LazadaOrderItem};
use super::region::LazadaRegion;
use super::status::least_advanced;

/// The order as an event carries it.
///
/// `items` are the order's lines from `/order/items/get` (lines of another order are ignored); `region`
/// is the seller's country as a code (`SG`, `sg`) or a push's site (`lazada_sg`), and decides the
/// currency. The status is the least advanced of the lines' (see [`least_advanced`]), keeping that
/// line's word; `statuses[]` is read first, the lines' own statuses when it is empty.
pub fn snapshot(
    order: &LazadaOrder,
    items: &[LazadaOrderItem],
    region: Option<&str>,
    policy: &FieldPolicy,
) -> Result<OrderSnapshot, LazadaError> {
    let invalid = |field, detail: String| LazadaError::InvalidField { field, detail };
    let order_id = order
        .order_id
        .as_deref()
        .ok_or_else(|| invalid("order_id", "missing".into()))?;
    let order_sn = OrderSn::parse(order_id).map_err(|e| invalid("order_id", e.to_string()))?;
    let lines: Vec<&LazadaOrderItem> = items
        .iter()
        .filter(|line| line.order_id.as_deref().is_none_or(|id| id.trim() == order_id.trim()))
        .collect();
    let status = least_advanced(order.statuses.iter().map(String::as_str))
        .or_else(|| least_advanced(lines.iter().filter_map(|line| line.status.as_deref())))
        .ok_or_else(|| invalid("statuses", "missing".into()))?;
    let region = region.and_then(|r| LazadaRegion::from_code(r.trim()).or_else(|| LazadaRegion::from_site(r)));
    let payment_method = known(order.payment_method.as_deref());
    let mut snapshot = OrderSnapshot {
        order_sn,
        status,
        region: region.map(|r| r.code().to_owned()),
        currency: region
            .map(|r| r.currency().to_owned())
            .or_else(|| lines.iter().find_map(|line| known(line.currency.as_deref()))),
        total_amount: order.price,
        // Lazada gives no public nickname; the customer's name is a real name, kept only as the recipient's.
        buyer_username: None,
        items: group_units(&lines),
        create_time: order.created_time(),
        // Lazada's order answer has no payment time.
        pay_time: None,
        // Lazada sometimes writes this without a time zone; such a time is left out rather than guessed.
        ship_by_date: order.promised_shipping_times.as_deref().and_then(parse_time),
        cod: payment_method.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("COD")),
        payment_method,
        shipping_carrier: carriers(&lines),
        message_to_seller: known(order.remarks.as_deref()),
        recipient: Some(recipient(order, region)).filter(|r| !r.is_empty()),
    };
    policy.apply(&mut snapshot);
    Ok(snapshot)
}

/// One order line per product: Lazada lists every unit as a line of its own, so units of one SKU (the
/// seller's, else Lazada's) become one line with their count. The unit price is what the buyer paid for
/// a unit, and unknown when the units were paid differently (a voucher spread unevenly). Lines with no
/// SKU at all stay apart.
fn group_units(lines: &[&LazadaOrderItem]) -> Vec<OrderItem> {
    let mut grouped: Vec<(Option<String>, OrderItem)> = Vec::new();
    for line in lines {
        let sku = known(line.sku.as_deref()).or_else(|| known(line.shop_sku.as_deref()));
        let same = grouped
            .iter_mut()
            .find(|(key, _)| key.is_some() && *key == sku)
            .map(|(_, item)| item);
        match same {
            Some(item) => {
                item.quantity = item.quantity.saturating_add(1);
                if item.unit_price != line.paid_price {
                    item.unit_price = None;
                }
            }
            None => grouped.push((
                sku.clone(),
                OrderItem {
                    name: line.name.clone().unwrap_or_default(),
                    sku,
                    model_name: known(line.variation.as_deref()),
                    quantity: 1,
                    unit_price: line.paid_price,
                },
            )),
        }
    }
    grouped.into_iter().map(|(_, item)| item).collect()
}

/// The lines' carriers, each once, in line order (the lines of one order may ship apart).
fn carriers(lines: &[&LazadaOrderItem]) -> Option<String> {
    let mut seen: Vec<String> = Vec::new();
    for carrier in lines.iter().filter_map(|line| known(line.shipment_provider.as_deref())) {
        if !seen.contains(&carrier) {
            seen.push(carrier);
        }
    }
    (!seen.is_empty()).then(|| seen.join(", "))
}

/// Everything Lazada says about who receives the parcel; the data policy removes what it does not keep.
/// The name is the shipping address's, else the customer's (both are real names).
fn recipient(order: &LazadaOrder, region: Option<LazadaRegion>) -> Recipient {
    let empty = LazadaAddress::default();
    let a = order.address_shipping.as_ref().unwrap_or(&empty);
    let name = full_name(a.first_name.as_deref(), a.last_name.as_deref()).or_else(|| {
        full_name(
            order.customer_first_name.as_deref(),
            order.customer_last_name.as_deref(),
        )
    });
    let city = known(a.city.as_deref());
    let zipcode = known(a.post_code.as_deref());
    let address = RecipientAddress {
        full_address: full_address(a),
        town: None,
        district: None,
        city,
        state: None,
        region: region
            .map(|r| r.code().to_owned())
            .or_else(|| known(a.country.as_deref())),
        zipcode,
    };
    Recipient {
        name,
        phone: known(a.phone.as_deref()).or_else(|| known(a.phone2.as_deref())),
        email: None,
        address: (!address.is_empty()).then_some(address),
    }
}

/// The address as one text: Lazada's five lines (whose meaning varies by country), then the city and the
/// post code, each part once.
fn full_address(a: &LazadaAddress) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let lines = [
        &a.address1,
        &a.address2,
        &a.address3,
        &a.address4,
        &a.address5,
        &a.city,
        &a.post_code,
    ];
    for part in lines.into_iter().filter_map(|p| known(p.as_deref())) {
        if !parts.iter().any(|p| p.eq_ignore_ascii_case(&part)) {
            parts.push(part);
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A first and a last name as one; either may be missing.
fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let parts: Vec<String> = [first, last].into_iter().filter_map(known).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// A text Lazada actually gave: blank and fully masked (`****`) values are unknown, not values.
fn known(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.chars().all(|c| c == '*'))
        .map(str::to_owned)
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
