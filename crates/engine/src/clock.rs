//! The time source: wall-clock unix milliseconds.

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    now_ms() / 1_000
}
