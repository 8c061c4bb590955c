//! Lazada's order statuses and the neutral stage each one is. Lazada's trade-order statuses are many and
//! lower-case (`ready_to_ship_pending`, `lost_by_3pl`, …); the reverse-order statuses of cancellations and
//! returns that reach the same push are upper-case (`CANCEL_INIT`, `RTM_INIT`). Both are read in any
//! letter case, and the platform's own spelling is kept as the status's word.

use shoprelay_core::order::{OrderStage, OrderStatus};

/// Every order status Lazada documents, with its stage, in the order of an order's life: a status listed
/// earlier is less advanced ([`least_advanced`] relies on this).
pub const STATUSES: [(&str, OrderStage); 29] = [
    ("unpaid", OrderStage::Unpaid),
    // Paid, or cash on delivery accepted: the seller must pack.
    ("pending", OrderStage::ToShip),
    // The order list's filter name for orders still to pack.
    ("topack", OrderStage::ToShip),
    // Packed (and packed again after a change): waiting for the carrier, like Shopee's PROCESSED.
    ("packed", OrderStage::Arranged),
    ("repacked", OrderStage::Arranged),
    // The order list's filter name for packed orders not yet handed over.
    ("toship", OrderStage::Arranged),
    ("ready_to_ship_pending", OrderStage::Arranged),
    ("ready_to_ship", OrderStage::Arranged),
    ("shipped", OrderStage::Shipped),
    // The order list's filter name for orders with the carrier.
    ("shipping", OrderStage::Shipped),
    // Lazada usually sends nothing after this for a kept order; confirmation comes only in some countries.
    ("delivered", OrderStage::Delivered),
    ("confirmed", OrderStage::Completed),
    ("completed", OrderStage::Completed),
    ("CANCEL_INIT", OrderStage::CancelRequested),
    ("canceled", OrderStage::Cancelled),
    // British spelling seen in some answers.
    ("cancelled", OrderStage::Cancelled),
    ("CANCEL_SUCCESS", OrderStage::Cancelled),
    ("CANCEL_REFUND_ISSUED", OrderStage::Cancelled),
    ("returned", OrderStage::ReturnRequested),
    ("RTM_INIT", OrderStage::ReturnRequested),
    // A parcel the carrier could not deliver comes back to the seller: for the seller that is a return.
    ("failed", OrderStage::ReturnRequested),
    ("failed_delivery", OrderStage::ReturnRequested),
    ("shipped_back", OrderStage::ReturnRequested),
    ("shipped_back_success", OrderStage::ReturnRequested),
    ("shipped_back_failed", OrderStage::ReturnRequested),
    // Lost, damaged or destroyed by the carrier: neither a return nor a cancellation; the word says it.
    ("lost", OrderStage::Other),
    ("lost_by_3pl", OrderStage::Other),
    ("damaged_by_3pl", OrderStage::Other),
    ("package_scrapped", OrderStage::Other),
];

/// Where `raw` is in [`STATUSES`] (any letter case, padding ignored).
fn position(raw: &str) -> Option<usize> {
    let raw = raw.trim();
    STATUSES.iter().position(|(name, _)| name.eq_ignore_ascii_case(raw))
}

/// A Lazada status as the middle reads it; a status this version does not know keeps its word under
/// [`OrderStage::Other`].
pub fn order_status(raw: &str) -> OrderStatus {
    let stage = position(raw).map_or(OrderStage::Other, |i| STATUSES[i].1);
    OrderStatus::new(stage, raw)
}

/// Whether Lazada has an order status of this name (any letter case).
pub fn is_status(name: &str) -> bool {
    STATUSES.iter().any(|(s, _)| s.eq_ignore_ascii_case(name))
}

/// The status of an order whose lines are in several: the least advanced one with a stage, so an order
/// with a line still to ship is still to ship, and cancelled or returned lines do not hide the lines
/// still on their way (a cancellation or return is the news of its own push). Statuses without a stage
/// (lost, unknown) count only when no line has one. `None` for no status at all.
pub fn least_advanced<'a>(raws: impl IntoIterator<Item = &'a str>) -> Option<OrderStatus> {
    raws.into_iter()
        .filter(|raw| !raw.trim().is_empty())
        .min_by_key(|raw| {
            let i = position(raw);
            match i.map(|i| STATUSES[i].1) {
                Some(OrderStage::Other) | None => (1, i.unwrap_or(usize::MAX)),
                Some(_) => (0, i.unwrap_or(usize::MAX)),
            }
        })
        .map(order_status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStage::*;

    #[test]
    fn every_documented_status_has_its_stage() {
        let cases = [
            ("unpaid", Unpaid),
            ("pending", ToShip),
            ("topack", ToShip),
            ("packed", Arranged),
            ("repacked", Arranged),
            ("toship", Arranged),
            ("ready_to_ship_pending", Arranged),
            ("ready_to_ship", Arranged),
            ("shipped", Shipped),
            ("shipping", Shipped),
            ("delivered", Delivered),
            ("confirmed", Completed),
            ("completed", Completed),
            ("canceled", Cancelled),
            ("CANCEL_SUCCESS", Cancelled),
            ("CANCEL_INIT", CancelRequested),
            ("returned", ReturnRequested),
            ("RTM_INIT", ReturnRequested),
            ("failed_delivery", ReturnRequested),
            ("failed", ReturnRequested),
            ("shipped_back", ReturnRequested),
            ("shipped_back_success", ReturnRequested),
            ("shipped_back_failed", ReturnRequested),
            ("lost_by_3pl", Other),
            ("damaged_by_3pl", Other),
            ("package_scrapped", Other),
        ];
        for (raw, want) in cases {
            let status = order_status(raw);
            assert_eq!((status.stage, status.raw.as_str()), (want, raw), "{raw:?}");
            assert!(is_status(raw), "{raw:?}");
        }
    }

    #[test]
    fn unknown_statuses_keep_their_word_and_case_does_not_matter() {
        let new = order_status("something_new");
        assert_eq!((new.stage, new.raw.as_str()), (Other, "something_new"));
        assert_eq!(order_status("RTM_CANCELED").stage, Other);
        assert_eq!(order_status("").stage, Other);
        // The word is kept as Lazada wrote it; only the stage lookup ignores case and padding.
        let odd = order_status(" Ready_To_Ship ");
        assert_eq!((odd.stage, odd.raw.as_str()), (Arranged, " Ready_To_Ship "));
        assert_eq!(order_status("UNPAID").stage, Unpaid);
        assert_eq!(order_status("cancel_init").stage, CancelRequested);
        assert!(is_status("READY_TO_SHIP"));
        assert!(is_status("rtm_init"));
        assert!(!is_status("ready_to_shipp"));
        assert!(!is_status(""));
    }

    #[test]
    fn statuses_are_listed_in_the_order_of_an_orders_life() {
        let rank = |stage| OrderStage::ALL.iter().position(|s| *s == stage);
        assert!(
            STATUSES.windows(2).all(|w| rank(w[0].1) <= rank(w[1].1)),
            "{STATUSES:?}"
        );
    }

    #[test]
    fn an_order_in_several_statuses_is_in_its_least_advanced_one() {
        let pick = |raws: &[&str]| least_advanced(raws.iter().copied()).map(|s| s.raw);
        assert_eq!(pick(&["shipped", "pending"]).as_deref(), Some("pending"));
        assert_eq!(pick(&["ready_to_ship", "packed"]).as_deref(), Some("packed"));
        // Cancelled or returned lines do not hide the lines still on their way.
        assert_eq!(pick(&["canceled", "shipped"]).as_deref(), Some("shipped"));
        assert_eq!(pick(&["returned", "delivered"]).as_deref(), Some("delivered"));
        assert_eq!(pick(&["returned", "canceled"]).as_deref(), Some("canceled"));
        // Lost or unknown lines count only when nothing else is known.
        assert_eq!(
            pick(&["lost_by_3pl", "something_new", "delivered"]).as_deref(),
            Some("delivered")
        );
        assert_eq!(pick(&["something_new", "lost_by_3pl"]).as_deref(), Some("lost_by_3pl"));
        assert_eq!(pick(&["something_new"]).as_deref(), Some("something_new"));
        assert_eq!(pick(&["", " "]), None);
        assert_eq!(pick(&[]), None);
    }
}
