//! [`UnixMs`]: an instant as shoprelay stores and sends it.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// An instant in unix milliseconds — the one unit every time inside shoprelay is kept in.
///
/// Serialised as the bare number (`#[serde(transparent)]`), so JSON, the API and the database see the same
/// integer they always did. A length of time is a [`Duration`], never a `UnixMs`: adding and subtracting one
/// saturates at the ends of `i64` instead of wrapping, since a time past the year 292 million is still "later".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMs(i64);

impl UnixMs {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: Self = Self(0);

    /// The instant `millis` milliseconds after the epoch (before it when negative).
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// The instant `secs` seconds after the epoch — how marketplaces give times; saturates past ±292 million years.
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs.saturating_mul(1_000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch, rounded down (so -1 ms is second -1, as a calendar reads it).
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1_000)
    }

    /// Signed milliseconds from `earlier` to `self` (negative when `earlier` is in fact later), saturating.
    pub const fn millis_since(self, earlier: Self) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// How long after `earlier` this instant is; zero when it is not after it.
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_millis(u64::try_from(self.millis_since(earlier)).unwrap_or(0))
    }
}

impl Add<Duration> for UnixMs {
    type Output = Self;

    fn add(self, by: Duration) -> Self {
        Self(self.0.saturating_add(millis(by)))
    }
}

impl Sub<Duration> for UnixMs {
    type Output = Self;

    fn sub(self, by: Duration) -> Self {
        Self(self.0.saturating_sub(millis(by)))
    }
}

/// The bare number of milliseconds, as it is stored and sent.
impl fmt::Display for UnixMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// `#[serde(with = "shoprelay_clock::unix_secs")]`: a [`UnixMs`] field whose JSON is whole unix seconds, for
/// documents that carried seconds before instants were typed (stored events, marketplaces' pushes) — their
/// stored form stays as it was. Milliseconds below a second are dropped on the way out.
pub mod unix_secs {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::UnixMs;

    /// Writes the instant as whole seconds.
    pub fn serialize<S: Serializer>(at: &UnixMs, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(at.as_secs())
    }

    /// Reads whole seconds as the instant.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<UnixMs, D::Error> {
        i64::deserialize(deserializer).map(UnixMs::from_secs)
    }
}

/// A duration in whole milliseconds, saturating far beyond any time shoprelay waits.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_milliseconds_convert_both_ways() {
        let t = UnixMs::from_secs(1_660_120_727);
        assert_eq!(t.as_millis(), 1_660_120_727_000);
        assert_eq!(t.as_secs(), 1_660_120_727);
        assert_eq!(UnixMs::from_millis(1_999).as_secs(), 1);
        assert_eq!(UnixMs::from_millis(2_000).as_secs(), 2);
    }

    #[test]
    fn seconds_round_down_before_the_epoch() {
        assert_eq!(UnixMs::from_millis(-1).as_secs(), -1);
        assert_eq!(UnixMs::from_millis(-1_000).as_secs(), -1);
        assert_eq!(UnixMs::from_millis(-1_001).as_secs(), -2);
        assert_eq!(UnixMs::from_secs(-3).as_millis(), -3_000);
    }

    #[test]
    fn arithmetic_saturates_at_the_ends() {
        assert_eq!(UnixMs::from_secs(i64::MAX), UnixMs::from_millis(i64::MAX));
        assert_eq!(UnixMs::from_secs(i64::MIN), UnixMs::from_millis(i64::MIN));
        assert_eq!(
            UnixMs::from_millis(i64::MAX - 1) + Duration::from_millis(5),
            UnixMs::from_millis(i64::MAX)
        );
        assert_eq!(UnixMs::from_millis(0) + Duration::MAX, UnixMs::from_millis(i64::MAX));
        assert_eq!(
            UnixMs::from_millis(i64::MIN + 1) - Duration::from_secs(1),
            UnixMs::from_millis(i64::MIN)
        );
        assert_eq!(
            UnixMs::from_millis(-5) - Duration::from_millis(5),
            UnixMs::from_millis(-10)
        );
        assert_eq!(
            UnixMs::from_millis(i64::MAX).millis_since(UnixMs::from_millis(-1)),
            i64::MAX
        );
        assert_eq!(
            UnixMs::from_millis(i64::MIN).millis_since(UnixMs::from_millis(1)),
            i64::MIN
        );
    }

    #[test]
    fn time_since_is_signed_or_clamped_at_zero() {
        let (early, late) = (UnixMs::from_millis(-500), UnixMs::from_millis(1_500));
        assert_eq!(late.millis_since(early), 2_000);
        assert_eq!(early.millis_since(late), -2_000);
        assert_eq!(late.saturating_duration_since(early), Duration::from_secs(2));
        assert_eq!(early.saturating_duration_since(late), Duration::ZERO);
        assert_eq!(
            UnixMs::from_millis(i64::MAX).saturating_duration_since(UnixMs::from_millis(i64::MIN)),
            Duration::from_millis(i64::MAX as u64)
        );
    }

    #[test]
    fn instants_order_as_their_numbers() {
        assert!(UnixMs::from_millis(-1) < UnixMs::EPOCH);
        assert!(UnixMs::from_secs(1) > UnixMs::from_millis(999));
        assert_eq!(UnixMs::default(), UnixMs::EPOCH);
    }

    #[test]
    fn json_and_display_are_the_bare_number() {
        let t = UnixMs::from_millis(-1_234);
        assert_eq!(serde_json::to_string(&t).unwrap(), "-1234");
        assert_eq!(
            serde_json::from_str::<UnixMs>("1700000000123").unwrap(),
            UnixMs::from_millis(1_700_000_000_123)
        );
        assert!(serde_json::from_str::<UnixMs>("\"12\"").is_err());
        assert_eq!(t.to_string(), "-1234");
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct InSeconds {
        #[serde(with = "unix_secs")]
        at: UnixMs,
    }

    #[test]
    fn a_field_in_seconds_keeps_its_json_in_seconds() {
        let doc = InSeconds {
            at: UnixMs::from_millis(1_660_120_727_999),
        };
        assert_eq!(serde_json::to_string(&doc).unwrap(), r#"{"at":1660120727}"#);
        let back: InSeconds = serde_json::from_str(r#"{"at":-2}"#).unwrap();
        assert_eq!(back.at, UnixMs::from_millis(-2_000));
    }
}
