//! The narrow listed weight update with columns grouped by the top bits of their random word: a pair
//! whose stochastically rounded update is provably 0 is never visited.
//!
//! In the online update a synapse (i, j) moves by d = ⌊(x_i·G_j + r_ij) / 2³²⌋ with
//! r_ij = `row_key_i ^ (column word_j ≪ 16)` ([`super::narrow_pair`]). The top [`BITS`] bits of r_ij are
//! the XOR of the row key's and the column word's top bits, so they are known per (row, bucket of
//! columns) without touching a pair. With P the largest |x_i·G_j| over a row and one sign of G
//! (P < 2³² is the common case: most updates are sub-LSB):
//!
//! * G > 0: 0 ≤ x·G ≤ P, so d ≠ 0 needs r ≥ 2³² − P. A bucket whose r's top bits are u has
//!   r < (u + 1)·2^(32−BITS), so every u < ⌊(2³² − P) / 2^(32−BITS)⌋ gives d = 0.
//! * G < 0: −P ≤ x·G < 0, so d ≠ 0 (then d < 0) needs r < P. Every u ≥ ⌈P / 2^(32−BITS)⌉ has
//!   r ≥ P and gives d = 0.
//!
//! The buckets left are visited pair by pair with the same arithmetic as the plain listed loop
//! ([`super::narrow_pair`]), so the weights, the saturation count and the random words are those of the
//! dense loop bit for bit (`tests/properties.rs` and `tests/learning.rs` compare them); only the order in
//! which a row's distinct weights are written changes, and no weight is written twice. On the reference
//! image this visits about one pair in five of the listed ones (`firmware/BENCH.md`).
//!
//! With many listed columns ([`SPLIT_FROM`]) each sign's columns are further split by |G| into a large
//! and a small class ([`list_and_group_split`]): a row's block for the small class (|G| ≤ |G|max / 4) is
//! a quarter of the large class's, which drops most pairs of the rows whose block is the whole sign.
//!
//! Storage: the listed columns stay in `grad[..k]` ([`super::Listed`]), sorted by bucket (through the
//! empty dendritic accumulator, or in place when it is too short); the bucket bounds live on the stack.

use super::{narrow_pair, rng, WeightStore};

/// Bits of the random word that select a bucket (32 buckets per sign of G).
pub(super) const BITS: u32 = 5;
const B: usize = 1 << BITS;

/// The bucket of a listed entry: sign of G (positive first) then the top [`BITS`] bits of its column
/// word (bits 44..48 of a [`super::Listed`]).
#[inline(always)]
fn bucket(e: i64) -> usize {
    let neg = ((e as i32) < 0) as usize;
    (neg << BITS) | ((e >> (48 - BITS)) as usize & (B - 1))
}

/// Count entry `e` in its [`bucket`] (`start[bucket + 1]`) and in the largest |G| of its sign.
#[inline(always)]
fn count(start: &mut [u32; 2 * B + 1], gmax: &mut [u32; 2], e: i64) {
    start[bucket(e) + 1] += 1;
    let g = e as i32;
    let s = (g < 0) as usize;
    gmax[s] = gmax[s].max(g.unsigned_abs());
}

/// Turn the bucket sizes in `start[1..]` into bounds (prefix sums).
#[inline(always)]
fn prefix(start: &mut [u32; 2 * B + 1]) {
    for b in 0..2 * B {
        start[b + 1] += start[b];
    }
}

/// Sort `list` (narrow [`super::Listed`] entries, |G| < 2³¹) by [`bucket`] in place (a one-pass
/// counting sort that swaps each entry into its bucket's next free slot: O(k), no scratch) and return
/// the bucket bounds and the largest |G| of each sign (positive, negative).
#[inline(always)]
pub(super) fn group(list: &mut [i64]) -> ([u32; 2 * B + 1], [u32; 2]) {
    let mut start = [0u32; 2 * B + 1];
    let mut gmax = [0u32; 2];
    for &e in list.iter() {
        count(&mut start, &mut gmax, e);
    }
    prefix(&mut start);
    let mut next = start;
    for b in 0..2 * B {
        // Invariant: list[start[b]..next[b]] holds entries of bucket b; every swap places one entry
        // in its final bucket, so the loop runs at most k times in all.
        while next[b] < start[b + 1] {
            let i = next[b] as usize;
            let Some(&e) = list.get(i) else { break };
            let t = bucket(e);
            if t == b {
                next[b] += 1;
            } else {
                list.swap(i, next[t] as usize);
                next[t] += 1;
            }
        }
    }
    (start, gmax)
}

/// The listed columns of a narrow step, grouped: compact the `k` non-zero entries of `grad` (packed
/// factors, [`super::pack`], `k` their exact number) into [`super::Listed`] entries sorted by [`bucket`]
/// in `grad[..k]`, and return the bucket bounds and the largest |G| of each sign, as [`group`] does.
/// When `scratch` (the dendritic accumulator, empty between `fire` and `integrate`) holds two words per
/// entry, the entries are compacted there while their buckets are counted and then copied back in bucket
/// order (a counting sort through a buffer: O(n + k) without the in-place permutation's cycle walk), and
/// `scratch` is left empty again; otherwise they are compacted in place and sorted by [`group`]. Both
/// give each bucket the same entries (in another order within a bucket, which the update does not see:
/// a row's pairs touch distinct weights).
#[inline(never)]
pub(super) fn list_and_group(grad: &mut [i64], k: usize, scratch: &mut [i32]) -> ([u32; 2 * B + 1], [u32; 2]) {
    let n = grad.len();
    let Some(tmp) = scratch.get_mut(..2 * k) else {
        let mut m = 0;
        for j in 0..n {
            let (g, cw) = super::unpack(grad[j]);
            if g != 0 {
                // m ≤ j < n: in bounds (the compiler sees it from the slice length).
                grad[m] = super::Listed::new(g as i32, cw, j as u16).0;
                m += 1;
            }
        }
        return group(&mut grad[..m.min(k)]);
    };
    let mut start = [0u32; 2 * B + 1];
    let mut gmax = [0u32; 2];
    let (pairs, _) = tmp.as_chunks_mut::<2>();
    let mut m = 0;
    for (j, &p) in grad.iter().enumerate() {
        let (g, cw) = super::unpack(p);
        if g != 0 {
            let e = super::Listed::new(g as i32, cw, j as u16).0;
            if let Some(slot) = pairs.get_mut(m) {
                *slot = [e as i32, (e >> 32) as i32];
                m += 1;
            }
            count(&mut start, &mut gmax, e);
        }
    }
    prefix(&mut start);
    let mut next = start;
    for slot in pairs[..m].iter_mut() {
        let e = join(*slot);
        *slot = [0, 0];
        let b = bucket(e);
        if let Some(d) = grad.get_mut(next[b] as usize) {
            *d = e;
        }
        next[b] += 1;
    }
    (start, gmax)
}

/// From this many listed columns on, each sign's columns are split into two classes of |G|: large
/// (|G| > |G|max / 4) and small (the rest), each bucketed on its own ([`list_and_group_split`], [`NB`]
/// buckets); a row then visits one block per (sign, class), the small class's a quarter of the large
/// one's ([`learn_bucketed_narrow_split`]). On the reference image's busiest steps most visited pairs
/// are rows with a large ε^x whose block is the whole sign, sized by a few large |G|: the small class's
/// quarter block drops most of them (step 33: 3 366 visited pairs → 1 904; `firmware/BENCH-notes.md`).
/// Below this many columns the two extra blocks per row cost more than they save.
pub(super) const SPLIT_FROM: usize = 44;

/// Buckets of the split grouping: sign × class × the top [`BITS`] bits.
pub(super) const NB: usize = 4 * B;

/// The bucket of a listed entry in the split grouping: sign of G (positive first), class (large, |G| >
/// `thr` of its sign, first), then the top [`BITS`] bits of its column word.
#[inline(always)]
fn bucket_split(e: i64, thr: [u32; 2]) -> usize {
    let g = e as i32;
    let neg = (g < 0) as usize;
    // Small: −thr[1] ≤ G ≤ thr[0] (G ≠ 0 for a listed entry), as one unsigned range test: G + thr[1]
    // wraps above thr[0] + thr[1] exactly when G < −thr[1] (both thresholds < 2²⁹: no overflow).
    let small = ((g as u32).wrapping_add(thr[1]) <= thr[0] + thr[1]) as usize;
    (neg << (BITS + 1)) | (small << BITS) | ((e >> (48 - BITS)) as usize & (B - 1))
}

/// [`list_and_group`] for the split grouping ([`SPLIT_FROM`]): the `k` listed entries sorted by
/// [`bucket_split`] in `grad[..k]` through `scratch` (which is left empty), with the bucket bounds and
/// [`coarse`] of each sign's largest |G| (the bounds go to `start`, which must be all zero: the caller's
/// array, so that the 129 words are not copied on return). `None` when `scratch` cannot hold two words
/// per entry (the
/// caller then takes the one-class grouping); nothing is changed then.
#[inline(never)]
pub(super) fn list_and_group_split(grad: &mut [i64], k: usize, scratch: &mut [i32], start: &mut [u32; NB + 1]) -> Option<[u32; 2]> {
    let tmp = scratch.get_mut(..2 * k)?;
    // The largest and the smallest G (each sign's largest |G| from them: branch-free min/max).
    let (mut hi, mut lo) = (0i32, 0i32);
    let (pairs, _) = tmp.as_chunks_mut::<2>();
    let mut m = 0;
    for (j, &p) in grad.iter().enumerate() {
        // `grad_factors` stores a zero G as 0: a non-zero entry is a listed column.
        if p != 0 {
            let (g, cw) = super::unpack(p);
            let e = super::Listed::new(g as i32, cw, j as u16).0;
            if let Some(slot) = pairs.get_mut(m) {
                *slot = [e as i32, (e >> 32) as i32];
                m += 1;
            }
            hi = hi.max(g as i32);
            lo = lo.min(g as i32);
        }
    }
    // |G| < 2³¹ on a narrow step, so −lo does not overflow.
    let gmax = [hi as u32, lo.unsigned_abs()];
    // Small: |G| ≤ |G|max / 4 of its sign.
    let thr = [gmax[0] >> 2, gmax[1] >> 2];
    let pairs = &mut pairs[..m];
    // Bucket b's size in start[b], then (inclusive prefix sums) its end; the copy back places each entry
    // at its bucket's end and moves the end down, so the ends become the starts (no second array).
    for &p in pairs.iter() {
        start[bucket_split(join(p), thr)] += 1;
    }
    for b in 1..NB {
        start[b] += start[b - 1];
    }
    start[NB] = start[NB - 1];
    for slot in pairs.iter_mut() {
        let e = join(*slot);
        *slot = [0, 0];
        let b = bucket_split(e, thr);
        start[b] = start[b].wrapping_sub(1);
        if let Some(d) = grad.get_mut(start[b] as usize) {
            *d = e;
        }
    }
    Some([coarse(gmax[0]), coarse(gmax[1])])
}

/// A [`super::Listed`] entry from the two words it was parked in (low word first).
#[inline(always)]
fn join(p: [i32; 2]) -> i64 {
    (p[0] as u32 as i64) | ((p[1] as i64) << 32)
}

/// ⌈|G|max / 2¹⁵⌉ for [`span`] (≤ 2¹⁶ since |G| < 2³¹).
#[inline(always)]
pub(super) fn coarse(gmax: u32) -> u32 {
    gmax.div_ceil(1 << 15)
}

/// The block of buckets a row with trace `x` must visit for one sign of G, as c − 1 with c a power of
/// two (1 ..= [`B`]). With P = x·|G|max, the buckets that can hold a non-zero update number
/// ⌈P / 2^(32−BITS)⌉ (module docs); `gq` = [`coarse`]`(|G|max)` bounds P from above by x·gq·2¹⁵ in
/// 32 bits (x < 2¹⁶, gq ≤ 2¹⁶), and rounding the count up to a power of two turns the visited set, a
/// block of u's with equal top bits, into one block of bucket indices after the XOR with the row key's
/// bits. Both roundings only add buckets, never drop one. Branch-free (measured cheaper on the
/// Cortex-M4 than the count and `next_power_of_two`): with p = x·gq, v = ⌈p / 2^(17−BITS)⌉ − 1 and the
/// mask is the all-ones number as wide as v (≥ v), clamped to B − 1.
#[inline(always)]
fn span_mask(x: u16, gq: u32) -> usize {
    (span_unclamped(x, gq) as usize).min(B - 1)
}

/// The rows of the narrow listed update over the sorted columns (see the module docs): for each row
/// with ε^x ≠ 0, the pairs of the one block of buckets per sign of G where the update can be non-zero.
/// `gq` is [`coarse`] of the largest |G| of each sign. Returns the rows with ε^x ≠ 0. Out of line so
/// that on a register-poor core the allocator sees only this loop's live values.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(super) fn learn_bucketed_narrow<W: WeightStore>(
    weights: &mut [W],
    xtrace: &[u16],
    n: usize,
    list: &[i64],
    start: &[u32; 2 * B + 1],
    gq: [u32; 2],
    uk: u32,
    wmax: i32,
    sat: &mut u32,
) -> u32 {
    let mut rows = 0;
    for (i, (row, &x)) in weights.chunks_exact_mut(n.max(1)).zip(xtrace).enumerate() {
        if x == 0 {
            continue;
        }
        rows += 1;
        let key = rng::row_key_in(uk, i as u32);
        let k = (key >> (32 - BITS)) as usize;
        let xl = x as i32 as i64;
        // G > 0: the top c bucket values u ∈ [B − c, B) (all ones in the top bits), i.e. the block of
        // bucket indices u ^ k starting at (k ^ (B − 1)) with its low log2(c) bits cleared.
        let m = span_mask(x, gq[0]);
        let a = (k ^ (B - 1)) & !m;
        visit(row, list, start[a], start[a + m + 1], xl, key, wmax, sat);
        // G < 0: u ∈ [0, c), the block starting at k with its low log2(c) bits cleared.
        let m = span_mask(x, gq[1]);
        let a = B + (k & !m);
        visit(row, list, start[a], start[a + m + 1], xl, key, wmax, sat);
    }
    rows
}

/// [`span_mask`] before its clamp to B − 1: c − 1 for the power of two c ≥ ⌈x·gq / 2¹²⌉ (up to
/// 2²⁰ − 1).
#[inline(always)]
fn span_unclamped(x: u16, gq: u32) -> u32 {
    let p = (x as u32).wrapping_mul(gq); // < 2³²: x ≤ 2¹⁶ − 1, gq ≤ 2¹⁶
    // p = 0 only for a class without columns (gq = 0): then v wraps to 2²⁰ − 1 and the block is all B
    // (empty) buckets.
    let v = p.wrapping_sub(1) >> (17 - BITS); // < 2²⁰: at least 12 leading zeros
    0x7FFF_FFFFu32 >> (v.leading_zeros() - 1)
}

/// [`learn_bucketed_narrow`] over the split grouping ([`list_and_group_split`]; `gq` = [`coarse`] of
/// each sign's largest |G|). Per row and sign, the large class's block is [`span_mask`]'s, sized by
/// |G|max; the small class's is a quarter of it (c/4 buckets, at least one), which is enough: its
/// columns have |G| ≤ |G|max / 4, so they need at most ⌈x·|G|max / 2²⁹⌉ ≤ c/4 buckets when c ≥ 4 (c is a
/// power of two ≥ ⌈x·|G|max / 2²⁷⌉, taken before the clamp to B so that a clamped c does not shrink
/// the small block below what it needs), and at most 1 ≤ c/4 rounded up otherwise. The pairs and their
/// arithmetic are those of the one-class loop (every non-zero update is in a visited block).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(super) fn learn_bucketed_narrow_split<W: WeightStore>(
    weights: &mut [W],
    xtrace: &[u16],
    n: usize,
    list: &[i64],
    start: &[u32; NB + 1],
    gq: [u32; 2],
    uk: u32,
    wmax: i32,
    sat: &mut u32,
) -> u32 {
    let mut rows = 0;
    let top = B as u32 - 1;
    for (i, (row, &x)) in weights.chunks_exact_mut(n.max(1)).zip(xtrace).enumerate() {
        if x == 0 {
            continue;
        }
        rows += 1;
        let key = rng::row_key_in(uk, i as u32);
        let k = key >> (32 - BITS);
        let xl = x as i32 as i64;
        // G > 0 (module docs): blocks entered at (k ^ (B − 1)) with the low bits cleared; the large
        // class's buckets are 0..B, the small class's B..2B.
        let u = span_unclamped(x, gq[0]);
        let (ml, ms) = (u.min(top), (u >> 2).min(top));
        let a = (k ^ top) & !ml;
        visit(row, list, start[a as usize], start[((a | ml) + 1) as usize], xl, key, wmax, sat);
        let a = (k ^ top) & !ms;
        visit(row, list, start[B + a as usize], start[B + (a | ms) as usize + 1], xl, key, wmax, sat);
        // G < 0: blocks entered at k with the low bits cleared; large 2B..3B, small 3B..4B.
        let u = span_unclamped(x, gq[1]);
        let (ml, ms) = (u.min(top), (u >> 2).min(top));
        let a = k & !ml;
        visit(row, list, start[2 * B + a as usize], start[2 * B + (a | ml) as usize + 1], xl, key, wmax, sat);
        let a = k & !ms;
        visit(row, list, start[3 * B + a as usize], start[3 * B + (a | ms) as usize + 1], xl, key, wmax, sat);
    }
    rows
}

/// The pairs `list[s..e]` of one row, each with [`narrow_pair`]'s arithmetic.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn visit<W: WeightStore>(row: &mut [W], list: &[i64], s: u32, e: u32, x: i64, key: u32, wmax: i32, sat: &mut u32) {
    // Most blocks of a row with a small ε^x are empty: one compare leaves them.
    if s >= e {
        return;
    }
    let Some(entries) = list.get(s as usize..e as usize) else { return };
    for &entry in entries {
        if !narrow_pair(row, entry, x, key, wmax, sat) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::rng::XorShift32;
    use std::{vec, vec::Vec};

    /// The split bucket's class test (one unsigned range check) is |G| ≤ thr of G's sign, for random
    /// and edge G (±thr, ±(thr + 1), ±(2³¹ − 1)) and thresholds up to (2³¹ − 1) / 4.
    #[test]
    fn split_class_is_magnitude_at_most_the_signs_threshold() {
        let mut r = XorShift32::new(0x5_11C3);
        for k in 0..200_000u32 {
            let thr = [(r.next_u32() >> 3) >> (r.next_u32() % 20), (r.next_u32() >> 3) >> (r.next_u32() % 20)];
            let g: i32 = match k % 6 {
                0 => thr[0] as i32,
                1 => -(thr[1] as i32),
                2 => thr[0] as i32 + 1,
                3 => -(thr[1] as i32) - 1,
                4 => {
                    if r.next_u32() % 2 == 0 {
                        i32::MAX
                    } else {
                        -i32::MAX
                    }
                }
                _ => ((r.next_u32() as i32) >> (r.next_u32() % 31)).max(-i32::MAX),
            };
            if g == 0 {
                continue;
            }
            let e = super::super::Listed::new(g, r.next_u32(), 7).0;
            let neg = (g < 0) as usize;
            let want_small = g.unsigned_abs() <= thr[neg];
            let b = bucket_split(e, thr);
            assert_eq!(b >> (BITS + 1), neg, "g={g}");
            assert_eq!((b >> BITS) & 1 == 1, want_small, "g={g} thr={thr:?}");
        }
    }

    /// Through the scratch buffer or in place, `list_and_group` gives the same bucket bounds, the same
    /// largest |G| per sign and the same entries in each bucket (sorted here to compare: the order
    /// within a bucket may differ), every entry in its bucket, and leaves the scratch empty.
    #[test]
    fn grouping_through_the_scratch_equals_grouping_in_place() {
        let mut r = XorShift32::new(0xB0C4_E75);
        for case in 0..300 {
            let n = 1 + (r.next_u32() % 300) as usize;
            let density = r.next_u32() % 5;
            let grad: Vec<i64> = (0..n)
                .map(|_| {
                    if r.next_u32() % 5 >= density {
                        return 0;
                    }
                    let g = ((r.next_u32() as i32) >> (r.next_u32() % 31)).max(i32::MIN + 1) as i64;
                    if g == 0 {
                        0
                    } else {
                        super::super::pack(g, r.next_u32())
                    }
                })
                .collect();
            let k = grad.iter().filter(|&&p| super::super::unpack(p).0 != 0).count();
            let (mut a, mut b) = (grad.clone(), grad.clone());
            let mut scratch = vec![0i32; 2 * k + (case % 3)];
            let (sa, ga) = list_and_group(&mut a, k, &mut scratch);
            let (sb, gb) = list_and_group(&mut b, k, &mut []);
            assert!(scratch.iter().all(|&w| w == 0), "case {case}: scratch left dirty");
            assert_eq!((sa, ga), (sb, gb), "case {case}");
            assert_eq!(sa[2 * B] as usize, k);
            for bk in 0..2 * B {
                let (s, e) = (sa[bk] as usize, sa[bk + 1] as usize);
                let (mut x, mut y) = (a[s..e].to_vec(), b[s..e].to_vec());
                assert!(x.iter().all(|&v| bucket(v) == bk), "case {case}: entry outside its bucket {bk}");
                x.sort_unstable();
                y.sort_unstable();
                assert_eq!(x, y, "case {case}: bucket {bk}");
            }
        }
    }
}
