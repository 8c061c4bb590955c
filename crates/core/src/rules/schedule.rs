//! Recurring local-time windows: a rule's quiet hours and a member's working hours. Read on the shop's
//! wall clock, like time-of-day conditions; a window whose end is before its start runs overnight.

use chrono::{Datelike, Duration, LocalResult, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;
use shoprelay_clock::UnixMs;

use super::compile::{fail, minutes, weekday_mask};
use super::condition::TimeWindow;
use super::error::{RuleError, RuleProblem};
use super::vars::local_datetime;

/// A compiled daily window, optionally on some weekdays only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    from: u16,
    to: u16,
    /// Weekdays the window starts on (Monday = bit 0); every day when all bits are set.
    days: u8,
}

const EVERY_DAY: u8 = 0b111_1111;

impl Window {
    /// Compiles `from`–`to` (HH:MM) on `days` (empty: every day); errors name `path`.
    pub fn compile(window: &TimeWindow, days: &[String], path: &str) -> Result<Self, RuleError> {
        let from = minutes(&window.from, false, format!("{path}.from"))?;
        let to = minutes(&window.to, true, format!("{path}.to"))?;
        if from == to {
            return fail(path.to_owned(), RuleProblem::EmptyWindow);
        }
        let days = if days.is_empty() {
            EVERY_DAY
        } else {
            weekday_mask(days, &format!("{path}.days"))?
        };
        Ok(Self { from, to, days })
    }

    fn overnight(&self) -> bool {
        self.to < self.from
    }

    /// Whether `at` falls inside the window in `tz`. An overnight window belongs to the day it starts
    /// on: `22:00`–`08:00` on `fri` covers Friday night until Saturday 08:00.
    pub fn contains(&self, at: UnixMs, tz: Tz) -> bool {
        let local = local_datetime(at, tz);
        let minute = (local.hour() * 60 + local.minute()) as u16;
        let day = local.weekday().num_days_from_monday();
        let on = |d: u32| self.days & (1 << (d % 7)) != 0;
        if !self.overnight() {
            on(day) && self.from <= minute && minute < self.to
        } else if minute >= self.from {
            on(day)
        } else {
            minute < self.to && on(day + 6)
        }
    }

    /// When the window that holds `at` ends; `None` when `at` is outside it.
    pub fn end_after(&self, at: UnixMs, tz: Tz) -> Option<UnixMs> {
        if !self.contains(at, tz) {
            return None;
        }
        let local = local_datetime(at, tz);
        let mut end = local.date().and_hms_opt(0, 0, 0)? + Duration::minutes(i64::from(self.to));
        if end <= local {
            end += Duration::days(1);
        }
        Some(to_unix(end, tz))
    }
}

/// A wall-clock time in `tz` as an instant; a time skipped by a DST change counts as an hour later.
fn to_unix(local: NaiveDateTime, tz: Tz) -> UnixMs {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => UnixMs::from_millis(t.timestamp_millis()),
        LocalResult::None => to_unix(local + Duration::hours(1), tz),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(from: &str, to: &str, days: &[&str]) -> Window {
        let days: Vec<String> = days.iter().map(|d| d.to_string()).collect();
        let w = TimeWindow {
            from: from.into(),
            to: to.into(),
        };
        Window::compile(&w, &days, "quiet_hours").unwrap()
    }

    const SG: Tz = chrono_tz::Asia::Singapore;
    /// 2024-08-10 (a Saturday) 00:00 in Singapore.
    const SAT_MIDNIGHT: UnixMs = UnixMs::from_secs(1_723_219_200);
    const HOUR: std::time::Duration = std::time::Duration::from_secs(3_600);

    #[test]
    fn overnight_window_spans_midnight_and_ends_next_morning() {
        let w = window("22:00", "08:00", &[]);
        let at = |h: u64, m: u64| SAT_MIDNIGHT + std::time::Duration::from_secs(h * 3600 + m * 60);
        assert!(w.contains(at(23, 0), SG));
        assert!(w.contains(at(7, 59), SG));
        assert!(!w.contains(at(8, 0), SG));
        assert!(!w.contains(at(12, 0), SG));
        assert_eq!(w.end_after(at(23, 0), SG), Some(at(24 + 8, 0)));
        assert_eq!(w.end_after(at(3, 0), SG), Some(at(8, 0)));
        assert_eq!(w.end_after(at(12, 0), SG), None);
    }

    #[test]
    fn daytime_window_on_weekdays_only() {
        let w = window("09:00", "18:00", &["mon", "tue", "wed", "thu", "fri"]);
        let saturday_ten = SAT_MIDNIGHT + 10 * HOUR;
        assert!(!w.contains(saturday_ten, SG));
        let monday_ten = saturday_ten + 48 * HOUR;
        assert!(w.contains(monday_ten, SG));
        assert_eq!(w.end_after(monday_ten, SG), Some(monday_ten + 8 * HOUR));
    }

    #[test]
    fn overnight_window_belongs_to_its_start_day() {
        // Friday night only: Saturday 03:00 is inside, Sunday 03:00 is not.
        let w = window("22:00", "08:00", &["fri"]);
        assert!(w.contains(SAT_MIDNIGHT + 3 * HOUR, SG));
        assert!(!w.contains(SAT_MIDNIGHT + 27 * HOUR, SG));
    }

    #[test]
    fn bad_times_and_days_name_their_place() {
        let w = TimeWindow {
            from: "22:00".into(),
            to: "25:00".into(),
        };
        let err = Window::compile(&w, &[], "rules[0].quiet_hours").unwrap_err();
        assert_eq!(err.path, "rules[0].quiet_hours.to");
        let w = TimeWindow {
            from: "09:00".into(),
            to: "18:00".into(),
        };
        let err = Window::compile(&w, &["funday".into()], "m").unwrap_err();
        assert_eq!(err.path, "m.days[0]");
    }
}
