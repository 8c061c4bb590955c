//! Shopee's order statuses and the neutral stage each one is; its carriers' logistics statuses and what
//! each means for the parcel.

use shoprelay_core::event::LogisticsIssue;
use shoprelay_core::order::{OrderStage, OrderStatus};

use crate::adapter::ParcelState;

/// Every order status Shopee documents, with its stage.
pub const STATUSES: [(&str, OrderStage); 11] = [
    ("UNPAID", OrderStage::Unpaid),
    ("READY_TO_SHIP", OrderStage::ToShip),
    // Brazil: the order waits for the seller's invoice before it can ship.
    ("INVOICE_PENDING", OrderStage::ToShip),
    // Shipment must be arranged again: back to the seller.
    ("RETRY_SHIP", OrderStage::ToShip),
    ("PROCESSED", OrderStage::Arranged),
    ("SHIPPED", OrderStage::Shipped),
    ("TO_CONFIRM_RECEIVE", OrderStage::Delivered),
    ("COMPLETED", OrderStage::Completed),
    ("IN_CANCEL", OrderStage::CancelRequested),
    ("CANCELLED", OrderStage::Cancelled),
    ("TO_RETURN", OrderStage::ReturnRequested),
];

/// A Shopee status as the middle reads it; a status this version does not know keeps its word under
/// [`OrderStage::Other`].
pub fn order_status(raw: &str) -> OrderStatus {
    let stage = STATUSES
        .iter()
        .find(|(name, _)| *name == raw)
        .map_or(OrderStage::Other, |(_, stage)| *stage);
    OrderStatus::new(stage, raw)
}

/// Whether Shopee has an order status of this name (any letter case).
pub fn is_status(name: &str) -> bool {
    STATUSES.iter().any(|(s, _)| s.eq_ignore_ascii_case(name))
}

/// What a carrier's logistics status on a Shopee trail means. Named statuses only: a status that merely
/// contains "FAILED" (a failed pickup request the carrier retries) is no exception of the parcel.
pub fn parcel_state(status: &str) -> ParcelState {
    match status.trim().to_ascii_uppercase().as_str() {
        "FAILED_DELIVERED" | "FAILED_DELIVERY" | "DELIVERY_FAILED" | "LOGISTICS_DELIVERY_FAILED" => {
            ParcelState::Exception(LogisticsIssue::FailedDelivery)
        }
        "RETURNED" | "RETURNING" | "RETURN_TO_SENDER" | "LOGISTICS_RETURNED" | "FAILED_RETURNED" => {
            ParcelState::Exception(LogisticsIssue::ReturnToSender)
        }
        "LOST" | "LOGISTICS_LOST" | "PARCEL_LOST" => ParcelState::Exception(LogisticsIssue::Lost),
        "DELIVERED" | "LOGISTICS_DELIVERY_DONE" | "DELIVERY_DONE" => ParcelState::Delivered,
        _ => ParcelState::Moving,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_maps_to_its_stage_and_unknown_ones_keep_their_word() {
        assert_eq!(order_status("READY_TO_SHIP").stage, OrderStage::ToShip);
        assert_eq!(order_status("PROCESSED").stage, OrderStage::Arranged);
        assert_eq!(order_status("TO_CONFIRM_RECEIVE").stage, OrderStage::Delivered);
        assert_eq!(order_status("IN_CANCEL").stage, OrderStage::CancelRequested);
        let new = order_status("SOMETHING_NEW");
        assert_eq!((new.stage, new.raw.as_str()), (OrderStage::Other, "SOMETHING_NEW"));
        assert!(is_status("ready_to_ship"));
        assert!(!is_status("READY_TO_SHIPP"));
    }

    #[test]
    fn only_named_carrier_statuses_are_exceptions() {
        assert_eq!(
            parcel_state("FAILED_DELIVERED"),
            ParcelState::Exception(LogisticsIssue::FailedDelivery)
        );
        assert_eq!(parcel_state("lost"), ParcelState::Exception(LogisticsIssue::Lost));
        assert_eq!(
            parcel_state("LOGISTICS_RETURNED"),
            ParcelState::Exception(LogisticsIssue::ReturnToSender)
        );
        assert_eq!(parcel_state("FAILED_PICKUP_REQUESTED"), ParcelState::Moving);
        assert_eq!(parcel_state("DELIVERED"), ParcelState::Delivered);
        assert_eq!(parcel_state("LOGISTICS_DELIVERY_DONE"), ParcelState::Delivered);
        assert_eq!(parcel_state("LOGISTICS_PICKUP_DONE"), ParcelState::Moving);
    }
}
