//! A configuration file: TOML parsing, the cross-field checks and rule compilation (conditions, CEL,
//! templates) must report problems, never panic.
#![no_main]

use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use shoprelay_engine::config::parse_config;

static QUIET: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // shoprelay contains a panic of the CEL crate with catch_unwind and reports the rule as invalid (its
    // predecessor, cel-interpreter 0.10, panicked on some malformed expressions). libfuzzer-sys's panic hook would
    // abort even on a contained panic, so this target uses a silent hook: a panic that escapes
    // `parse_config` still aborts the run (libfuzzer-sys catches it and aborts), and is saved as a crash.
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_config(text);
    }
});
