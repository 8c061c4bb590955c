//! A TikTok Shop order as the neutral order snapshot events carry, holding only the personal fields the
//! shop's data policy keeps.
//!
//! TikTok lists every unit as a line item of its own (no quantity), so units of one SKU are grouped into
//! one line with their count; the buyer is known by a user id only (no public nickname), so the
//! snapshot's nickname stays empty.

use shoprelay_core::ids::OrderSn;
use shoprelay_core::order::{OrderItem, OrderSnapshot, Recipient, RecipientAddress};
use shoprelay_core::policy::FieldPolicy;

use super::error::TiktokError;
use super::model::{TiktokLineItem, TiktokOrder};
use super::status::order_status;

/// The order as an event carries it. `region` is the shop's market (`GB`, `US`, …) as configured; the
/// recipient's `region_code` stands in when it is not.
pub fn snapshot(order: &TiktokOrder, region: Option<&str>, policy: &FieldPolicy) -> Result<OrderSnapshot, TiktokError> {
    let invalid = |field, detail: String| TiktokError::InvalidField { field, detail };
    let id = order.id.as_deref().ok_or_else(|| invalid("id", "missing".into()))?;
    let order_sn = OrderSn::parse(id.trim()).map_err(|e| invalid("id", e.to_string()))?;
    let status = order
        .status
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(order_status)
        .ok_or_else(|| invalid("status", "missing".into()))?;
    let address = order.recipient_address.as_ref();
    let region = known(region)
        .or_else(|| address.and_then(|a| known(a.region_code.as_deref())))
        .map(|r| r.to_ascii_uppercase());
    let payment = order.payment.as_ref();
    let mut snapshot = OrderSnapshot {
        order_sn,
        status,
        region: region.clone(),
        currency: payment
            .and_then(|p| known(p.currency.as_deref()))
            .or_else(|| order.line_items.iter().find_map(|l| known(l.currency.as_deref()))),
        total_amount: payment.and_then(|p| p.total_amount),
        // TikTok gives the buyer as a user id, not a name a seller would recognise.
        buyer_username: None,
        items: group_units(&order.line_items),
        create_time: order.create_time,
        pay_time: order.paid_time,
        ship_by_date: None,
        cod: false,
        payment_method: None,
        shipping_carrier: None,
        message_to_seller: known(order.buyer_message.as_deref()),
        recipient: address
            .map(|a| Recipient {
                name: known(a.name.as_deref()),
                phone: known(a.phone_number.as_deref()),
                email: None,
                address: Some(RecipientAddress {
                    full_address: known(a.full_address.as_deref()),
                    region: known(a.region_code.as_deref()).or(region),
                    zipcode: known(a.postal_code.as_deref()),
                    ..RecipientAddress::default()
                })
                .filter(|address| !address.is_empty()),
            })
            .filter(|r| !r.is_empty()),
    };
    policy.apply(&mut snapshot);
    Ok(snapshot)
}

/// One order line per SKU (TikTok's id, else the seller's), with the count of its units; the unit price
/// is unknown when the units sold at different prices. Lines with no SKU at all stay apart.
fn group_units(lines: &[TiktokLineItem]) -> Vec<OrderItem> {
    let mut grouped: Vec<(Option<String>, OrderItem)> = Vec::new();
    for line in lines {
        let key = known(line.sku_id.as_deref()).or_else(|| known(line.seller_sku.as_deref()));
        match grouped.iter_mut().find(|(k, _)| k.is_some() && *k == key) {
            Some((_, item)) => {
                item.quantity = item.quantity.saturating_add(1);
                if item.unit_price != line.sale_price {
                    item.unit_price = None;
                }
            }
            None => grouped.push((
                key,
                OrderItem {
                    name: line.product_name.clone().unwrap_or_default(),
                    sku: known(line.seller_sku.as_deref()),
                    model_name: known(line.sku_name.as_deref()),
                    quantity: 1,
                    unit_price: line.sale_price,
                },
            )),
        }
    }
    grouped.into_iter().map(|(_, item)| item).collect()
}

/// A text TikTok actually gave: blank and fully masked (`****`) values are unknown, not values.
fn known(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.chars().all(|c| c == '*'))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use serde_json::json;
    use shoprelay_core::order::OrderStage;

    use super::*;

    fn order() -> TiktokOrder {
        serde_json::from_value(json!({
            "id": "576461413038785752", "status": "AWAITING_SHIPMENT", "user_id": "7494", "buyer_message": "gift wrap",
            "create_time": 1644412885, "paid_time": 1644412900,
            "recipient_address": {"name": "Ana Tan", "phone_number": "(+44)7700900123", "full_address": "1 High St, London",
                                  "postal_code": "SW1A 1AA", "region_code": "GB"},
            "line_items": [
                {"sku_id": "1729", "seller_sku": "MUG-BL", "product_name": "Mug", "sku_name": "Blue", "sale_price": "12.50", "currency": "GBP"},
                {"sku_id": "1729", "seller_sku": "MUG-BL", "product_name": "Mug", "sku_name": "Blue", "sale_price": "12.50", "currency": "GBP"},
                {"sku_id": "1730", "seller_sku": "TEA", "product_name": "Tea", "sale_price": "4.00", "currency": "GBP"}
            ],
            "payment": {"currency": "GBP", "total_amount": "29.00"}
        }))
        .unwrap()
    }

    #[test]
    fn an_order_becomes_a_snapshot_with_units_grouped() {
        let s = snapshot(&order(), None, &FieldPolicy::default()).unwrap();
        assert_eq!(s.order_sn.as_str(), "576461413038785752");
        assert_eq!(
            (s.status.stage, s.status.raw.as_str()),
            (OrderStage::ToShip, "AWAITING_SHIPMENT")
        );
        assert_eq!(s.region.as_deref(), Some("GB"));
        assert_eq!(s.currency.as_deref(), Some("GBP"));
        assert_eq!(s.total_amount, Some(Decimal::new(2900, 2)));
        assert_eq!(s.items.len(), 2);
        assert_eq!((s.items[0].name.as_str(), s.items[0].quantity), ("Mug", 2));
        assert_eq!(s.items[0].model_name.as_deref(), Some("Blue"));
        assert_eq!(s.items[0].unit_price, Some(Decimal::new(1250, 2)));
        assert_eq!((s.create_time, s.pay_time), (Some(1_644_412_885), Some(1_644_412_900)));
        assert_eq!(s.message_to_seller.as_deref(), Some("gift wrap"));
        assert_eq!(s.buyer_username, None);
    }

    #[test]
    fn a_configured_region_wins_and_an_order_without_id_or_status_is_refused() {
        let s = snapshot(&order(), Some("us"), &FieldPolicy::default()).unwrap();
        assert_eq!(s.region.as_deref(), Some("US"));
        let mut bad = order();
        bad.status = None;
        assert!(snapshot(&bad, None, &FieldPolicy::default()).is_err());
        let mut bad = order();
        bad.id = Some("not an id".into());
        assert!(snapshot(&bad, None, &FieldPolicy::default()).is_err());
    }
}
