//! The AVX-512 row kernel (`plasticore_emu::simd::add_row`) gives the same accumulator bits as
//! core-nostd's own row loop, which is the oracle: core-nostd's `LayerMut::integrate_frozen` over a
//! one-row `FrozenCsr` with no hint (`()`: the core sums the row itself). Rows of every length (ragged
//! tails included), columns in and out of range, sorted or shuffled (distinct within a row, as
//! `FrozenCsr` guarantees), sums that wrap. Because wrapping adds commute, the core's sum of the row's
//! in-range synapses in ascending order is the oracle for a shuffled row with out-of-range columns too.
//!
//! Which path ran is never silent: where the CPU has AVX-512F every row must be taken by the kernel
//! (`kernel_runs_where_the_cpu_has_avx512f`); elsewhere the kernel must decline and the tests check the
//! portable path (core-nostd's loop behind the emulator's hint) and say so on stderr.

mod common;
use plasticore_core::layer::{FrozenCsr, LayerConfig, LayerMut, RowHint};
use plasticore_emu::simd;
use plasticore_emu::storage::LayerStore;
use proptest::prelude::*;

/// The emulator's use of the kernel (as its frozen cores' hint does), counting the rows it took.
#[derive(Default)]
struct Kernel {
    rows: usize,
    taken: usize,
}
impl RowHint for Kernel {
    fn upcoming(&mut self, _cols: &[u16], _weights: &[i8]) {}
    fn add_row(&mut self, acc: &mut [i32], cols: &[u16], weights: &[i8]) -> bool {
        self.rows += 1;
        let took = simd::add_row(acc, cols, weights);
        self.taken += took as usize;
        took
    }
}

fn cfg() -> LayerConfig {
    common::lif_layer(false, false, 1)
}

/// core-nostd's `integrate_frozen` of a single row (axon 0) onto accumulators starting at `start`,
/// summed by `hint` (`()`: core-nostd's own loop). The row is the in-range synapses of (`cols`, `ws`)
/// (common prefix), in ascending column order, as a validated `FrozenCsr`.
fn core_sum<H: RowHint>(start: &[i32], cols: &[u16], ws: &[i8], hint: &mut H) -> Vec<i32> {
    let n = start.len();
    let mut row: Vec<(u16, i8)> = cols.iter().copied().zip(ws.iter().copied()).filter(|&(c, _)| (c as usize) < n).collect();
    row.sort_unstable_by_key(|p| p.0);
    let (c, w): (Vec<u16>, Vec<i8>) = row.into_iter().unzip();
    let syn = FrozenCsr::new(vec![0, c.len() as u32], c, w, 1, n).unwrap();
    let cfg = cfg();
    let mut st = LayerStore::new(Vec::new(), 1, n, cfg.neuron.states());
    st.acc.copy_from_slice(start);
    let mut l = LayerMut::new_frozen(&cfg, st.buffers(), 1, n, 0).unwrap();
    l.integrate_frozen(&syn, &[0], false, hint).unwrap();
    drop(l);
    st.acc
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

fn report_portable() {
    if !simd::available() {
        eprintln!("simd: this CPU has no AVX-512F: the AVX-512 kernel was NOT tested, only the portable path (core-nostd's loop)");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn kernel_equals_core_nostd_row_sum(
        acc_len in 1usize..600,
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
        let want = core_sum(&start, &cols, &ws, &mut ());
        // The kernel on the raw row (shuffled, out-of-range columns included).
        let mut got = start.clone();
        if simd::add_row(&mut got, &cols, &ws) {
            prop_assert_eq!(&got, &want);
        } else {
            prop_assert!(!simd::available(), "the kernel declined on a CPU with AVX-512F");
            prop_assert_eq!(&got, &start, "a declined row must leave acc alone");
        }
        // And through core-nostd's hint, as the emulator's frozen cores use it.
        let mut k = Kernel::default();
        prop_assert_eq!(core_sum(&start, &cols, &ws, &mut k), want);
        prop_assert_eq!(k.rows, 1);
        prop_assert_eq!(k.taken, simd::available() as usize);
    }
}

#[test]
fn kernel_runs_where_the_cpu_has_avx512f() {
    #[cfg(target_arch = "x86_64")]
    assert_eq!(simd::available(), std::is_x86_feature_detected!("avx512f"));
    #[cfg(not(target_arch = "x86_64"))]
    assert!(!simd::available());
    // A row long enough for full vectors and a tail; the kernel takes it exactly where available.
    let (cols, ws) = row(300, 100, true, 7);
    let start = vec![3i32; 256];
    let mut got = start.clone();
    let took = simd::add_row(&mut got, &cols, &ws);
    assert_eq!(took, simd::available());
    let want = core_sum(&start, &cols, &ws, &mut ());
    assert_ne!(want, start, "the row changes the sums");
    assert_eq!(if took { got } else { core_sum(&start, &cols, &ws, &mut Kernel::default()) }, want);
    report_portable();
}

/// Weights and columns of different lengths: only the common prefix is summed, as core-nostd's loop.
#[test]
fn uneven_slices_use_the_common_prefix() {
    let cols: Vec<u16> = (0..40).collect();
    let ws: Vec<i8> = (0..35).map(|i| i as i8 - 17).collect();
    for (c, w) in [(&cols[..], &ws[..]), (&cols[..33], &ws[..])] {
        let start = vec![5i32; 50];
        let want = core_sum(&start, c, w, &mut ());
        let mut got = start.clone();
        if simd::add_row(&mut got, c, w) {
            assert_eq!(got, want);
        } else {
            assert!(!simd::available());
            assert_eq!(got, start);
        }
    }
    report_portable();
}
