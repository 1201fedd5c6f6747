//! The emulator's third use of `unsafe`: asking Linux to back a large synapse buffer with transparent
//! huge pages (`ARCHITECTURE.md`, "Emulator").
//!
//! W1's synapse rows are read at addresses the hardware cannot predict (one row per spike), spread over
//! tens to hundreds of MB: with 4 KiB pages nearly every row costs a TLB miss and a page walk, with
//! 2 MiB pages the whole storage of N = 16000 fits the second-level TLB. On a kernel whose
//! `transparent_hugepage/enabled` is `madvise` (this machine's) only `madvise(MADV_HUGEPAGE)` gets them,
//! which is what the limit loop of `../shared/benchmarks/limit` does too.
//!
//! `madvise(MADV_HUGEPAGE)` changes how the kernel backs the pages of a range this process owns, never
//! their contents or validity (man 2 madvise); it fails harmlessly (ignored here) where THP is off. The
//! range is a fresh `Vec`'s unused capacity rounded inwards to whole 4 KiB pages, so it lies inside the
//! allocation. Nothing the emulator computes can depend on it. Elsewhere (not Linux, small buffers) the
//! `Vec` is returned as is.
#![allow(unsafe_code)]

/// Buffers smaller than this are left alone (a huge page is 2 MiB).
const MIN_BYTES: usize = 4 << 20;

/// An empty `Vec` with room for exactly `cap` elements, its pages advised as huge where that applies.
pub(crate) fn vec<T>(cap: usize) -> Vec<T> {
    let v: Vec<T> = Vec::with_capacity(cap);
    let bytes = cap.saturating_mul(std::mem::size_of::<T>());
    #[cfg(target_os = "linux")]
    if bytes >= MIN_BYTES {
        extern "C" {
            fn madvise(addr: *mut core::ffi::c_void, len: usize, advice: i32) -> i32;
        }
        const MADV_HUGEPAGE: i32 = 14;
        let p = v.as_ptr() as usize;
        let (a, e) = ((p + 4095) & !4095, (p + bytes) & !4095);
        if e > a {
            // SAFETY: [a, e) is inside `v`'s allocation (page-aligned inwards); MADV_HUGEPAGE only
            // changes the kernel's backing policy of those pages, not their contents; a failure
            // (THP disabled) is ignored.
            unsafe {
                madvise(a as *mut core::ffi::c_void, e - a, MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = bytes;
    v
}
