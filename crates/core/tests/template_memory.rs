//! A template cannot make the process allocate far beyond what a message may hold: measured with a
//! counting allocator, in a test binary of its own so nothing else allocates meanwhile.

// A test fails by panicking: unwrap and expect are how it says what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use shoprelay_core::event::EventKind;
use shoprelay_core::rules::template::TemplateError;
use shoprelay_core::rules::MessageTemplate;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(live, Ordering::SeqCst);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn repeating_a_string_past_the_output_limit_fails_without_allocating_it() {
    for source in [
        "{{ 'x' * 1e8 }}",
        "{{ 1e8 * 'x' }}",
        "{{ 'abc' * 30000000 }}",
        "{{ ('x' * 60000) * 1600 }}",
        "{{ order.buyer_username * 100000000 }}",
        "{{ (['x'] * 100000000) | join }}",
    ] {
        let before = LIVE.load(Ordering::SeqCst);
        PEAK.store(before, Ordering::SeqCst);
        let result = MessageTemplate::compile("big", source).and_then(|t| t.preview(EventKind::OrderCreated));
        let grew = PEAK.load(Ordering::SeqCst) - before;
        assert!(
            matches!(result, Err(TemplateError::OutputTooLarge { .. })),
            "{source}: {result:?}"
        );
        assert!(grew < 4 * 1024 * 1024, "{source} allocated {grew} bytes");
    }
    // Multiplying numbers, and small repeats, still work.
    let fine = MessageTemplate::compile("fine", "{{ 3 * 4 }} {{ '-' * 10 }} {{ order.total_amount * 2 }}")
        .and_then(|t| t.preview(EventKind::OrderCreated))
        .unwrap();
    assert!(fine.starts_with("12 ----------"), "{fine}");
}
