//! The emulator's one use of `unsafe`: a software prefetch hint (`ARCHITECTURE.md`, "Emulator").
//!
//! `_mm_prefetch` is an `unsafe fn` only because it is a `#[target_feature(enable = "sse")]` intrinsic
//! called from code compiled without that attribute; SSE is part of the x86-64 baseline, so the feature
//! is always present. A prefetch (`PREFETCHT0`) never faults, whatever the address, and changes no
//! architectural state (Intel SDM vol. 2, PREFETCHh: "does not affect program behavior"), so no result
//! of the emulator can depend on it. On other targets it does nothing.
#![allow(unsafe_code)]

/// Ask for the cache line holding `p` to be brought towards the core (a hint; may do nothing).
#[inline(always)]
pub(crate) fn line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is in the x86-64 baseline; a prefetch of any address is architecturally a no-op.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

