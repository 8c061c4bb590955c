//! A rule template as an operator (or anyone with API access) writes it: compiling and rendering it
//! against every event kind's sample must fail cleanly — never panic, never run away with memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoprelay_core::event::EventKind;
use shoprelay_core::rules::MessageTemplate;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(template) = MessageTemplate::compile("fuzz", source) {
        for kind in [
            EventKind::OrderCreated,
            EventKind::BuyerMessage,
            EventKind::LogisticsException,
        ] {
            let _ = template.preview(kind);
        }
    }
});
