//! What a Lazada order status means, in a handful of stages. Lazada's statuses are many and lower-case
//! (`ready_to_ship_pending`, `lost_by_3pl`, …) and Lazada adds new ones; this module only says which
//! stage each belongs to. Mapping a stage to core's neutral `OrderStatus` is normalisation's job.

/// The stage of an order a Lazada status stands for.
///
/// A local vocabulary on purpose: normalisation (written against the neutral order model) maps each
/// stage to core's neutral status, so this adapter does not fix that model's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LazadaStatusMeaning {
    /// Placed, not paid yet (`unpaid`).
    Unpaid,
    /// Paid or cash on delivery; the seller must pack and hand it over (`pending`, `packed`,
    /// `ready_to_ship`, …).
    ToShip,
    /// With the carrier (`shipped`).
    Shipped,
    /// Delivered to the buyer (`delivered`), the last forward status Lazada usually sends.
    Delivered,
    /// Closed after delivery (`confirmed`, `completed`).
    Completed,
    /// Cancelled (`canceled`; the reverse status `CANCEL_SUCCESS`).
    Cancelled,
    /// The buyer asked to cancel (the reverse status `CANCEL_INIT`).
    CancelRequested,
    /// Coming back to the seller: a buyer's return (`returned`, `RTM_INIT`) or a parcel the carrier could
    /// not deliver (`failed_delivery`, `shipped_back`, …).
    ReturnRequested,
    /// No stage fits (`lost_by_3pl`, `damaged_by_3pl`, `package_scrapped`) or Lazada added a status:
    /// the raw text says what happened.
    Other,
}

/// The stage a Lazada status belongs to. Reads the lower-case order statuses of the order API and of
/// push type 0, and the upper-case reverse-order statuses of returns and cancellations, in any case.
pub fn status_meaning(raw: &str) -> LazadaStatusMeaning {
    use LazadaStatusMeaning::*;
    match raw.trim().to_ascii_lowercase().as_str() {
        "unpaid" => Unpaid,
        "pending" | "topack" | "packed" | "repacked" | "toship" | "ready_to_ship_pending" | "ready_to_ship" => ToShip,
        "shipped" | "shipping" => Shipped,
        "delivered" => Delivered,
        "confirmed" | "completed" => Completed,
        "canceled" | "cancelled" | "cancel_success" | "cancel_refund_issued" => Cancelled,
        "cancel_init" => CancelRequested,
        "returned"
        | "rtm_init"
        | "failed"
        | "failed_delivery"
        | "shipped_back"
        | "shipped_back_success"
        | "shipped_back_failed" => ReturnRequested,
        _ => Other,
    }
}

#[cfg(test)]
mod tests {
    use super::LazadaStatusMeaning::*;
    use super::*;

    #[test]
    fn every_documented_status_has_its_stage() {
        let cases = [
            ("unpaid", Unpaid),
            ("pending", ToShip),
            ("topack", ToShip),
            ("packed", ToShip),
            ("repacked", ToShip),
            ("toship", ToShip),
            ("ready_to_ship_pending", ToShip),
            ("ready_to_ship", ToShip),
            ("shipped", Shipped),
            ("shipping", Shipped),
            ("delivered", Delivered),
            ("confirmed", Completed),
            ("canceled", Cancelled),
            ("CANCEL_SUCCESS", Cancelled),
            ("CANCEL_INIT", CancelRequested),
            ("returned", ReturnRequested),
            ("RTM_INIT", ReturnRequested),
            ("failed_delivery", ReturnRequested),
            ("failed", ReturnRequested),
            ("shipped_back", ReturnRequested),
            ("shipped_back_success", ReturnRequested),
            ("lost_by_3pl", Other),
            ("damaged_by_3pl", Other),
            ("package_scrapped", Other),
            ("RTM_CANCELED", Other),
            ("something_new", Other),
            ("", Other),
        ];
        for (raw, want) in cases {
            assert_eq!(status_meaning(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn case_and_padding_do_not_matter() {
        assert_eq!(status_meaning(" Ready_To_Ship "), ToShip);
        assert_eq!(status_meaning("UNPAID"), Unpaid);
        assert_eq!(status_meaning("cancel_init"), CancelRequested);
    }
}
