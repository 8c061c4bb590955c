//! TikTok Shop's order statuses and the neutral stage of each, plus the statuses of a cancellation
//! request (push type 11), which the middle stores as the order's status like any other word.
//!
//! Words are read in any letter case; the platform's own spelling is kept as the status's word.

use shoprelay_core::order::{OrderStage, OrderStatus};

/// Every order status of the 202309 order API, then the cancellation statuses of push type 11, with
/// their stages, in the order of an order's life.
pub const STATUSES: [(&str, OrderStage); 12] = [
    ("UNPAID", OrderStage::Unpaid),
    // Paid, but held for the buyer's cancellation window (or a risk check): nothing to ship yet, but the
    // order is the seller's to prepare, like a paid one.
    ("ON_HOLD", OrderStage::ToShip),
    ("AWAITING_SHIPMENT", OrderStage::ToShip),
    // Some packages shipped, others not: the seller still has shipping to do.
    ("PARTIALLY_SHIPPING", OrderStage::ToShip),
    // Packed and handed to the logistics flow, waiting for the carrier to collect (Shopee's PROCESSED).
    ("AWAITING_COLLECTION", OrderStage::Arranged),
    ("IN_TRANSIT", OrderStage::Shipped),
    ("DELIVERED", OrderStage::Delivered),
    ("COMPLETED", OrderStage::Completed),
    // A cancellation request the seller must answer (push type 11).
    ("CANCELLATION_REQUEST_PENDING", OrderStage::CancelRequested),
    ("CANCELLED", OrderStage::Cancelled),
    // The cancellation request went through (push type 11).
    ("CANCELLATION_REQUEST_SUCCESS", OrderStage::Cancelled),
    ("CANCELLATION_REQUEST_COMPLETE", OrderStage::Cancelled),
];

fn position(raw: &str) -> Option<usize> {
    let raw = raw.trim();
    STATUSES.iter().position(|(name, _)| name.eq_ignore_ascii_case(raw))
}

/// A TikTok Shop status as the middle reads it; a word this version does not know keeps it under
/// [`OrderStage::Other`].
pub fn order_status(raw: &str) -> OrderStatus {
    let stage = position(raw).map_or(OrderStage::Other, |i| STATUSES[i].1);
    OrderStatus::new(stage, raw)
}

/// Whether TikTok Shop has a status of this name (any letter case).
pub fn is_status(name: &str) -> bool {
    position(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStage::*;

    #[test]
    fn every_documented_order_status_maps_to_its_neutral_stage() {
        let cases = [
            ("UNPAID", Unpaid),
            ("ON_HOLD", ToShip),
            ("AWAITING_SHIPMENT", ToShip),
            ("PARTIALLY_SHIPPING", ToShip),
            ("AWAITING_COLLECTION", Arranged),
            ("IN_TRANSIT", Shipped),
            ("DELIVERED", Delivered),
            ("COMPLETED", Completed),
            ("CANCELLED", Cancelled),
            ("CANCELLATION_REQUEST_PENDING", CancelRequested),
            ("CANCELLATION_REQUEST_SUCCESS", Cancelled),
        ];
        for (raw, want) in cases {
            let status = order_status(raw);
            assert_eq!((status.stage, status.raw.as_str()), (want, raw), "{raw}");
            assert!(is_status(raw), "{raw}");
        }
        // A new order is announced as created in either of its first statuses.
        assert!(order_status("UNPAID").is_creation() && order_status("ON_HOLD").is_creation());
        assert!(!order_status("AWAITING_COLLECTION").is_creation());
    }

    #[test]
    fn unknown_words_keep_their_word_and_case_does_not_matter() {
        let odd = order_status(" in_transit ");
        assert_eq!((odd.stage, odd.raw.as_str()), (Shipped, " in_transit "));
        let new = order_status("SOMETHING_NEW");
        assert_eq!((new.stage, new.raw.as_str()), (Other, "SOMETHING_NEW"));
        assert_eq!(order_status("").stage, Other);
        assert!(!is_status("AWAITING_SHIPMENTS") && !is_status(""));
        // Other platforms' words are not TikTok's.
        assert!(!is_status("READY_TO_SHIP") && !is_status("packed"));
    }

    #[test]
    fn statuses_are_listed_in_the_order_of_an_orders_life() {
        let rank = |stage| OrderStage::ALL.iter().position(|s| *s == stage);
        assert!(STATUSES.windows(2).all(|w| rank(w[0].1) <= rank(w[1].1)));
    }
}
