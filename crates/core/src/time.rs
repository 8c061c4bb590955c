//! The shop's local time: messages show times as the seller's staff read them in that market.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use shoprelay_clock::UnixMs;

/// The time zone of a marketplace region (`SG`, `BR`, `GB`, …); UTC+8 when the region is unknown or spans
/// several zones (`US`), since that is where most of our sellers' staff sit.
pub fn region_timezone(region: Option<&str>) -> Tz {
    match region.map(str::to_ascii_uppercase).as_deref() {
        Some("TH") => chrono_tz::Asia::Bangkok,
        Some("VN") => chrono_tz::Asia::Ho_Chi_Minh,
        Some("ID") => chrono_tz::Asia::Jakarta,
        Some("MY") => chrono_tz::Asia::Kuala_Lumpur,
        Some("PH") => chrono_tz::Asia::Manila,
        Some("TW") => chrono_tz::Asia::Taipei,
        Some("SG") => chrono_tz::Asia::Singapore,
        Some("BR") => chrono_tz::America::Sao_Paulo,
        Some("MX") => chrono_tz::America::Mexico_City,
        Some("CO") => chrono_tz::America::Bogota,
        Some("CL") => chrono_tz::America::Santiago,
        Some("GB") => chrono_tz::Europe::London,
        Some("IE") => chrono_tz::Europe::Dublin,
        Some("DE") => chrono_tz::Europe::Berlin,
        Some("FR") => chrono_tz::Europe::Paris,
        Some("ES") => chrono_tz::Europe::Madrid,
        Some("IT") => chrono_tz::Europe::Rome,
        Some("JP") => chrono_tz::Asia::Tokyo,
        // The US spans six zones and no one of them is the shop's; the staff's own time is the honest default
        // (every time shown carries its UTC offset).
        _ => chrono_tz::Asia::Shanghai,
    }
}

/// Formats an instant as `2026-11-26 22:28 (UTC+08:00)` in the given zone.
pub fn format_local(at: UnixMs, tz: Tz) -> String {
    match DateTime::<Utc>::from_timestamp_millis(at.as_millis()) {
        Some(utc) => {
            let local = tz.from_utc_datetime(&utc.naive_utc());
            local.format("%Y-%m-%d %H:%M (UTC%:z)").to_string()
        }
        None => at.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_the_shop_zone() {
        // 2022-08-10 08:38:47 UTC
        assert_eq!(
            format_local(UnixMs::from_secs(1660120727), region_timezone(Some("SG"))),
            "2022-08-10 16:38 (UTC+08:00)"
        );
        assert_eq!(
            format_local(UnixMs::from_secs(1660120727), region_timezone(Some("th"))),
            "2022-08-10 15:38 (UTC+07:00)"
        );
        assert_eq!(
            format_local(UnixMs::from_secs(1660120727), region_timezone(Some("BR"))),
            "2022-08-10 05:38 (UTC-03:00)"
        );
    }

    #[test]
    fn tiktok_markets_in_europe_show_their_own_time_and_summer_time() {
        // 2022-08-10 08:38:47 UTC is British Summer Time; 2022-01-10 is not.
        assert_eq!(
            format_local(UnixMs::from_secs(1660120727), region_timezone(Some("GB"))),
            "2022-08-10 09:38 (UTC+01:00)"
        );
        assert_eq!(
            format_local(UnixMs::from_secs(1641803927), region_timezone(Some("GB"))),
            "2022-01-10 08:38 (UTC+00:00)"
        );
        assert_eq!(
            format_local(UnixMs::from_secs(1660120727), region_timezone(Some("US"))),
            "2022-08-10 16:38 (UTC+08:00)",
            "several zones: the staff's"
        );
    }
}
