//! The time window a push must fall in to change anything. A correctly signed push is always stored and
//! answered 2xx (the push answer contract), but one whose times are far from its arrival is not applied:
//! a push dated years ahead would otherwise make every real push for its order look stale, freezing it.
//!
//! Tight ahead (clocks drift, not by ten minutes), generous behind: Shopee retries for 3 hours and keeps
//! lost pushes 3 days, and reconciliation recovers changes up to 15 days old.

use std::time::Duration;

use shoprelay_clock::UnixMs;
use shoprelay_core::error::UserFacing;

/// How far ahead of its arrival a push's time may be.
pub const MAX_AHEAD: Duration = Duration::from_secs(600);
/// How far behind its arrival a push's time may be.
pub const MAX_BEHIND: Duration = Duration::from_secs(30 * 86_400);

/// A push whose time is outside the window: stored, audited, not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutOfWindow {
    /// Dated more than [`MAX_AHEAD`] after it arrived.
    #[error("push.out_of_window: {field} {} is {} s ahead of its arrival at {}", time(*at), secs_between(*received, *at), time(*received))]
    Ahead {
        /// The push field holding the time.
        field: &'static str,
        /// The time it claims.
        at: UnixMs,
        /// When it arrived.
        received: UnixMs,
    },
    /// Dated more than [`MAX_BEHIND`] before it arrived.
    #[error("push.out_of_window: {field} {} is {} days behind its arrival at {}", time(*at), secs_between(*at, *received) / 86_400, time(*received))]
    Behind {
        /// The push field holding the time.
        field: &'static str,
        /// The time it claims.
        at: UnixMs,
        /// When it arrived.
        received: UnixMs,
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
                "推送的 {field}（{}）比接收时间（{}）超前 {} 秒，超过允许的 {} 秒：已保存但未应用，以免订单状态被未来时间锁死",
                time(*at),
                time(*received),
                secs_between(*received, *at),
                MAX_AHEAD.as_secs()
            ),
            OutOfWindow::Behind { field, at, received } => format!(
                "推送的 {field}（{}）比接收时间（{}）早 {} 天，超过允许的 {} 天：已保存但未应用",
                time(*at),
                time(*received),
                secs_between(*at, *received) / 86_400,
                MAX_BEHIND.as_secs() / 86_400
            ),
        }
    }

    fn message_en(&self) -> String {
        match self {
            OutOfWindow::Ahead { .. } => format!(
                "{}, more than the {} s allowed: stored but not applied, so a future time cannot freeze the order",
                self.to_string().trim_start_matches("push.out_of_window: "),
                MAX_AHEAD.as_secs()
            ),
            OutOfWindow::Behind { .. } => format!(
                "{}, more than the {} days allowed: stored but not applied",
                self.to_string().trim_start_matches("push.out_of_window: "),
                MAX_BEHIND.as_secs() / 86_400
            ),
        }
    }
}

/// An instant's whole second as UTC, or the number of seconds when it is no date.
fn time(at: UnixMs) -> String {
    let secs = at.as_secs();
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(|| secs.to_string(), |t| t.to_rfc3339())
}

/// Whole seconds from `earlier` to `later` (negative when `earlier` is later), saturating.
fn secs_between(earlier: UnixMs, later: UnixMs) -> i64 {
    later.as_secs().saturating_sub(earlier.as_secs())
}

/// A window bound in whole seconds.
fn secs(bound: Duration) -> i64 {
    i64::try_from(bound.as_secs()).unwrap_or(i64::MAX)
}

/// Checks every time a push claims against its arrival (`received`) — not against now, so a push
/// processed late or replayed is judged by when it came. Pushes' times are whole seconds, so they are
/// judged to the second (the arrival's milliseconds count for nothing).
pub fn check(times: &[(&'static str, UnixMs)], received: UnixMs) -> Result<(), OutOfWindow> {
    for &(field, at) in times {
        if secs_between(received, at) > secs(MAX_AHEAD) {
            return Err(OutOfWindow::Ahead { field, at, received });
        }
        if field == "timestamp" && secs_between(at, received) > secs(MAX_BEHIND) {
            return Err(OutOfWindow::Behind { field, at, received });
        }
    }
    Ok(())
}

/// Whether a stored order time lies beyond what any push may claim at `now`: it came before the window
/// existed, and later pushes must not be judged stale against it.
pub fn is_beyond_window(at: UnixMs, now: UnixMs) -> bool {
    secs_between(now, at) > secs(MAX_AHEAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The times a push claims, as an adapter reads them.
    fn push(timestamp: i64, update_time: i64) -> Vec<(&'static str, UnixMs)> {
        vec![
            ("timestamp", UnixMs::from_secs(timestamp)),
            ("data.update_time", UnixMs::from_secs(update_time)),
        ]
    }

    #[test]
    fn the_window_is_tight_ahead_and_generous_behind() {
        let secs = 1_800_000_000;
        let now = UnixMs::from_secs(secs);
        assert!(check(&push(secs + 600, secs + 600), now).is_ok(), "clock drift");
        assert!(
            check(&push(secs - 15 * 86_400, secs - 15 * 86_400), now).is_ok(),
            "reconciled"
        );
        assert!(matches!(
            check(&push(secs + 601, secs), now),
            Err(OutOfWindow::Ahead { field: "timestamp", .. })
        ));
        assert!(matches!(
            check(&push(secs, secs + 601), now),
            Err(OutOfWindow::Ahead {
                field: "data.update_time",
                ..
            })
        ));
        assert!(matches!(
            check(&push(secs - 31 * 86_400, secs), now),
            Err(OutOfWindow::Behind { .. })
        ));
        let huge = check(&push(i64::MAX, i64::MAX), now).unwrap_err();
        assert!(huge.message_en().contains("ahead") && huge.message_zh().contains("超前"));
        assert!(
            is_beyond_window(UnixMs::from_secs(secs + 601), now)
                && !is_beyond_window(UnixMs::from_secs(secs + 600), now)
        );
    }

    #[test]
    fn pushes_are_judged_to_the_second_and_say_so_in_seconds() {
        let secs = 1_800_000_000;
        let late_in_the_second = UnixMs::from_secs(secs) + Duration::from_millis(999);
        let oldest = [("timestamp", UnixMs::from_secs(secs - 30 * 86_400))];
        assert!(check(&oldest, late_in_the_second).is_ok());
        let ahead = check(&push(secs + 601, secs), late_in_the_second).unwrap_err();
        assert_eq!(
            ahead.to_string(),
            "push.out_of_window: timestamp 2027-01-15T08:10:01+00:00 is 601 s ahead of its arrival at 2027-01-15T08:00:00+00:00"
        );
    }
}
