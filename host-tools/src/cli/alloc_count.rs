//! A counting global allocator for the `plasticore` binary: every allocation goes to [`System`]; the bytes
//! currently live and their high-water mark are kept in two atomics, so a command can measure the peak heap
//! of a piece of work ([`reset_peak`], run it, [`peak`] − baseline) instead of the process RSS, which is
//! dominated by the network's weights, the code and allocator slack.
//!
//! This file holds the only `unsafe` of host-tools (the library forbids it): `GlobalAlloc` is an unsafe
//! trait. Every method forwards its arguments unchanged to `System` and only counts `layout.size()` of the
//! blocks that `System` actually handed out or took back, so it adds no memory-safety obligation of its own.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The counting allocator (install with `#[global_allocator]`).
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(live, Relaxed);
}

fn shrank(bytes: usize) {
    LIVE.fetch_sub(bytes, Relaxed);
}

// SAFETY: each method calls the same method of `System` with the caller's arguments and returns its result;
// the counters never influence what is allocated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was returned by this allocator, i.e. by `System`, with this layout.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as `dealloc`; on failure the old block is untouched and still counted.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

/// Heap bytes live now (requested sizes, without allocator overhead).
pub fn live() -> usize {
    LIVE.load(Relaxed)
}

/// Highest [`live`] since the start or the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Relaxed)
}

/// Restart the high-water mark at the bytes live now.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Relaxed), Relaxed);
}

/// Peak heap bytes above the bytes live at the call, while `f` runs (other threads' allocations count too:
/// measure with nothing else running), and `f`'s result.
pub fn peak_during<R>(f: impl FnOnce() -> R) -> (usize, R) {
    reset_peak();
    let base = live();
    let r = f();
    (peak().saturating_sub(base), r)
}
