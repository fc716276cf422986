//! An allocator wrapper that counts, for the examples that measure memory: allocations made
//! (a reallocation counts as one) and bytes live. One global allocator per process, so the
//! counts are process-wide.
//!
//! ```
//! use websight_testkit::alloc::{Counting, allocations, live_bytes};
//!
//! #[global_allocator]
//! static ALLOCATOR: Counting<std::alloc::System> = Counting(std::alloc::System);
//!
//! fn main() {
//!     let (made, live) = (allocations(), live_bytes());
//!     let held = vec![0u8; 4096];
//!     assert_eq!(allocations(), made + 1);
//!     assert!(live_bytes() >= live + 4096);
//!     drop(held);
//!     assert!(live_bytes() < live + 4096);
//! }
//! ```

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicI64 = AtomicI64::new(0);

/// Wraps an allocator and counts what it hands out: two atomic additions a call.
pub struct Counting<A>(pub A);

/// Allocations and reallocations made so far in this process.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Relaxed)
}

/// Bytes allocated and not yet freed in this process.
pub fn live_bytes() -> i64 {
    LIVE.load(Relaxed)
}

// SAFETY: every call is passed on unchanged to the allocator wrapped; only counters change.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        LIVE.fetch_add(layout.size() as i64, Relaxed);
        // SAFETY: the caller's guarantees, passed on.
        unsafe { self.0.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Relaxed);
        // SAFETY: as above.
        unsafe { self.0.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Relaxed);
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Relaxed);
        // SAFETY: as above.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}
