//! The time window a push must fall in to change anything. A correctly signed push is always stored and
//! answered 2xx (the push answer contract), but one whose times are far from its arrival is not applied:
//! a push dated years ahead would otherwise make every real push for its order look stale, freezing it.
//!
//! Tight ahead (clocks drift, not by ten minutes), generous behind: Shopee retries for 3 hours and keeps
//! lost pushes 3 days, and reconciliation recovers changes up to 15 days old.

use shoprelay_core::error::UserFacing;

/// How far ahead of its arrival a push's time may be.
pub const MAX_AHEAD_SECS: i64 = 600;
/// How far behind its arrival a push's time may be.
pub const MAX_BEHIND_SECS: i64 = 30 * 86_400;

/// A push whose time is outside the window: stored, audited, not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutOfWindow {
    /// Dated more than [`MAX_AHEAD_SECS`] after it arrived.
    #[error("push.out_of_window: {field} {} is {} s ahead of its arrival at {}", time(*at), at.saturating_sub(*received), time(*received))]
    Ahead {
        /// The push field holding the time.
        field: &'static str,
        /// The time it claims (unix seconds).
        at: i64,
        /// When it arrived (unix seconds).
        received: i64,
    },
    /// Dated more than [`MAX_BEHIND_SECS`] before it arrived.
    #[error("push.out_of_window: {field} {} is {} days behind its arrival at {}", time(*at), received.saturating_sub(*at) / 86_400, time(*received))]
    Behind {
        /// The push field holding the time.
        field: &'static str,
        /// The time it claims (unix seconds).
        at: i64,
        /// When it arrived (unix seconds).
        received: i64,
    },
}

impl UserFacing for OutOfWindow {
    fn code(&self) -> &'static str {
        "push.out_of_window"
    }

    fn status(&self) -> u16 {
        // Never an answer to the marketplace (the push is answered 200): this describes the audit entry.
        200
    }

    fn message_zh(&self) -> String {
        match self {
            OutOfWindow::Ahead { field, at, received } => format!(
                "推送的 {field}（{}）比接收时间（{}）超前 {} 秒，超过允许的 {MAX_AHEAD_SECS} 秒：已保存但未应用，以免订单状态被未来时间锁死",
                time(*at),
                time(*received),
                at.saturating_sub(*received)
            ),
            OutOfWindow::Behind { field, at, received } => format!(
                "推送的 {field}（{}）比接收时间（{}）早 {} 天，超过允许的 {} 天：已保存但未应用",
                time(*at),
                time(*received),
                received.saturating_sub(*at) / 86_400,
                MAX_BEHIND_SECS / 86_400
            ),
        }
    }

    fn message_en(&self) -> String {
        match self {
            OutOfWindow::Ahead { .. } => format!(
                "{}, more than the {MAX_AHEAD_SECS} s allowed: stored but not applied, so a future time cannot freeze the order",
                self.to_string().trim_start_matches("push.out_of_window: ")
            ),
            OutOfWindow::Behind { .. } => format!(
                "{}, more than the {} days allowed: stored but not applied",
                self.to_string().trim_start_matches("push.out_of_window: "),
                MAX_BEHIND_SECS / 86_400
            ),
        }
    }
}

/// Unix seconds as UTC, or the number when it is no date.
fn time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(|| secs.to_string(), |t| t.to_rfc3339())
}

/// Checks every time a push claims against its arrival (`received`, unix seconds) — not against now,
/// so a push processed late or replayed is judged by when it came.
pub fn check(times: &[(&'static str, i64)], received: i64) -> Result<(), OutOfWindow> {
    for &(field, at) in times {
        if at > received.saturating_add(MAX_AHEAD_SECS) {
            return Err(OutOfWindow::Ahead { field, at, received });
        }
        if field == "timestamp" && at < received.saturating_sub(MAX_BEHIND_SECS) {
            return Err(OutOfWindow::Behind { field, at, received });
        }
    }
    Ok(())
}

/// Whether a stored order time lies beyond what any push may claim at `now`: it came before the window
/// existed, and later pushes must not be judged stale against it.
pub fn is_beyond_window(at: i64, now: i64) -> bool {
    at > now.saturating_add(MAX_AHEAD_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The times a push claims, as an adapter reads them.
    fn push(timestamp: i64, update_time: i64) -> Vec<(&'static str, i64)> {
        vec![("timestamp", timestamp), ("data.update_time", update_time)]
    }

    #[test]
    fn the_window_is_tight_ahead_and_generous_behind() {
        let now = 1_800_000_000;
        assert!(check(&push(now + 600, now + 600), now).is_ok(), "clock drift");
        assert!(
            check(&push(now - 15 * 86_400, now - 15 * 86_400), now).is_ok(),
            "reconciled"
        );
        assert!(matches!(
            check(&push(now + 601, now), now),
            Err(OutOfWindow::Ahead { field: "timestamp", .. })
        ));
        assert!(matches!(
            check(&push(now, now + 601), now),
            Err(OutOfWindow::Ahead {
                field: "data.update_time",
                ..
            })
        ));
        assert!(matches!(
            check(&push(now - 31 * 86_400, now), now),
            Err(OutOfWindow::Behind { .. })
        ));
        let huge = check(&push(i64::MAX, i64::MAX), now).unwrap_err();
        assert!(huge.message_en().contains("ahead") && huge.message_zh().contains("超前"));
        assert!(is_beyond_window(now + 601, now) && !is_beyond_window(now + 600, now));
    }
}
