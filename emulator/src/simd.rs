//! The emulator's second use of `unsafe`: an AVX-512 version of one frozen row's accumulation
//! (`ARCHITECTURE.md`, "Emulator"), handed to core-nostd through [`RowHint::add_row`].
//!
//! core-nostd's loop adds `w` to `acc[c]` one synapse at a time (wrapping i32 adds; a column outside
//! `acc` is skipped). This kernel does the same sixteen synapses at a time: widen 16 columns and 16
//! weights to i32 lanes, gather the 16 accumulators, add, scatter them back. It gives the same bits:
//! * the adds are the same wrapping i32 adds of the same values, and wrapping addition commutes, so
//!   the order in which synapses are added cannot matter;
//! * the columns of one row are strictly increasing ([`plasticore_core::layer::FrozenCsr`] validates
//!   it), so no two lanes of one gather/scatter address the same accumulator and no add is lost;
//! * lanes whose column is not below `acc.len()` are masked off in both the gather and the scatter,
//!   as the scalar loop skips them, so no access leaves `acc` whatever the slices hold.
//!
//! `tests/simd.rs` compares it with the scalar loop on random rows (including ragged tails, unsorted
//! and out-of-range columns for the memory-safety claim). Used only where the CPU reports AVX-512F
//! (checked once, [`std::is_x86_feature_detected`]); elsewhere, and for rows shorter than one vector,
//! core-nostd's own loop runs.
#![allow(unsafe_code)]

/// Whether this CPU runs [`add_row`] (AVX-512F on x86-64; the check is cached by `std`).
#[inline(always)]
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `acc[cols[i]] = acc[cols[i]].wrapping_add(weights[i] as i32)` for every `i` below the shorter
/// slice's length whose column is below `acc.len()`; returns `false` (and does nothing) where the CPU
/// has no AVX-512F, so the caller runs the scalar loop. Columns must not repeat within a row for the
/// result to equal the scalar loop's (a repeat loses an add; it cannot reach outside `acc`).
#[inline]
pub fn add_row(acc: &mut [i32], cols: &[u16], weights: &[i8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        if available() {
            // SAFETY: AVX-512F is present (checked just above); the kernel's accesses are in bounds
            // (see `add_row_avx512`).
            unsafe { add_row_avx512(acc, cols, weights) };
            return true;
        }
    }
    let _ = (acc, cols, weights);
    false
}

/// # Safety
/// The CPU must support AVX-512F. Memory: loads read `cols[i..i + 16]` and `weights[i..i + 16]` only
/// while `i + 16 ≤ n = min(len)`; gathers and scatters touch `acc[c]` only in lanes whose mask says
/// `c < acc.len()` (masked-off lanes neither load nor store, Intel SDM vol. 2, VPGATHERDD /
/// VPSCATTERDD); the tail is safe indexing.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn add_row_avx512(acc: &mut [i32], cols: &[u16], weights: &[i8]) {
    use core::arch::x86_64::*;
    let n = cols.len().min(weights.len());
    // `acc.len()` as an unsigned lane bound (a larger acc than u32 can index is clamped: a u16 column
    // never reaches it).
    let bound = _mm512_set1_epi32(acc.len().min(u32::MAX as usize) as u32 as i32);
    let base = acc.as_mut_ptr();
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 ≤ n, so both 16-element loads are inside their slices.
        let c = _mm512_cvtepu16_epi32(unsafe { _mm256_loadu_si256(cols.as_ptr().add(i).cast()) });
        let w = _mm512_cvtepi8_epi32(unsafe { _mm_loadu_si128(weights.as_ptr().add(i).cast()) });
        let m = _mm512_cmplt_epu32_mask(c, bound);
        // SAFETY: only lanes with c < acc.len() are read or written.
        let a = unsafe { _mm512_mask_i32gather_epi32::<4>(_mm512_setzero_si512(), m, c, base.cast_const()) };
        unsafe { _mm512_mask_i32scatter_epi32::<4>(base, m, c, _mm512_add_epi32(a, w)) };
        i += 16;
    }
    for (&c, &w) in cols[i..n].iter().zip(&weights[i..n]) {
        if let Some(p) = acc.get_mut(c as usize) {
            *p = p.wrapping_add(w as i32);
        }
    }
}
