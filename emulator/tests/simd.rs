//! The AVX-512 row kernel (`plasticore_emu::simd::add_row`) gives the same accumulator bits as
//! core-nostd's scalar loop: on random rows of every length (ragged tails included), with columns in
//! and out of range, sorted or shuffled (distinct within a row, as `FrozenCsr` guarantees), and with
//! sums that wrap. On a CPU without AVX-512F the kernel declines (`false`) and the test checks that.

use plasticore_emu::simd;
use proptest::prelude::*;

/// core-nostd's contract for one unscaled row (`RowHint::add_row`).
fn scalar(acc: &mut [i32], cols: &[u16], ws: &[i8]) {
    for (&c, &w) in cols.iter().zip(ws) {
        if let Some(p) = acc.get_mut(c as usize) {
            *p = p.wrapping_add(w as i32);
        }
    }
}

/// A row of distinct columns below `span`, shuffled if asked, with random weights.
fn row(span: u16, len: usize, shuffle: bool, seed: u64) -> (Vec<u16>, Vec<i8>) {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut cols: Vec<u16> = (0..span).collect();
    for i in (1..cols.len()).rev() {
        cols.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    cols.truncate(len.min(span as usize));
    if !shuffle {
        cols.sort_unstable();
    }
    let ws = cols.iter().map(|_| next() as i8).collect();
    (cols, ws)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn kernel_equals_scalar_loop(
        acc_len in 0usize..600,
        over in 0u16..200,
        len in 0usize..400,
        shuffle in any::<bool>(),
        near_wrap in any::<bool>(),
        seed in any::<u64>(),
    ) {
        // Columns range over acc plus `over` slots past its end (skipped by both).
        let span = (acc_len as u16).saturating_add(over).max(1);
        let (cols, ws) = row(span, len, shuffle, seed);
        let start: Vec<i32> = (0..acc_len)
            .map(|i| if near_wrap { i32::MAX - (i as i32 % 64) } else { (i as i32).wrapping_mul(-7919) })
            .collect();
        let mut want = start.clone();
        scalar(&mut want, &cols, &ws);
        let mut got = start.clone();
        if simd::add_row(&mut got, &cols, &ws) {
            prop_assert_eq!(got, want);
        } else {
            prop_assert!(!simd::available());
            prop_assert_eq!(got, start, "a declined row must leave acc alone");
        }
    }
}

/// Weights and columns of different lengths: only the common prefix is summed, as the scalar zip.
#[test]
fn uneven_slices_use_the_common_prefix() {
    let cols: Vec<u16> = (0..40).collect();
    let ws: Vec<i8> = (0..35).map(|i| i as i8 - 17).collect();
    for (c, w) in [(&cols[..], &ws[..]), (&cols[..33], &ws[..])] {
        let mut want = vec![5i32; 50];
        scalar(&mut want, c, w);
        let mut got = vec![5i32; 50];
        if simd::add_row(&mut got, c, w) {
            assert_eq!(got, want);
        }
    }
}
