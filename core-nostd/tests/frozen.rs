//! A frozen compact CSR (`i8` weights, `u16` columns) integrates to exactly the bits of the layer's own
//! sparse path: accumulators after every `integrate`, and states, spikes, traces and counters over many
//! steps, with and without STD, learning traces, duplicate and out-of-range events, and row hints.
//! Shapes that do not match and weights wider than 8 bits are rejected.

mod common;
use common::*;
use plasticore_core::layer::{compact_weights, FrozenCsr, LayerConfig, LayerMut, OpCounts, RowHint, Signal};
use plasticore_core::prelude::*;
use proptest::prelude::*;

/// The sparse layer the frozen path is compared with.
type Sparse = SparseOwned;

fn view<'a>(n: &'a mut Sparse, cfg: &'a LayerConfig) -> LayerMut<'a> {
    sparse_view(n, cfg)
}

/// The layer of a frozen core: no synapses of its own (`LayerMut::new_frozen`).
fn frozen_view<'a>(o: &'a mut Owned, cfg: &'a LayerConfig) -> LayerMut<'a> {
    let (axons, neurons) = (o.axons, o.n);
    LayerMut::new_frozen(
        cfg,
        o.buffers(),
        axons,
        neurons,
        0,
    )
    .unwrap()
}

/// A hint that records what it was told (and checks it never sees a row out of order of the list).
#[derive(Default)]
struct Count(usize, usize);
impl RowHint for Count {
    const AHEAD: usize = 3;
    fn upcoming(&mut self, cols: &[u16], weights: &[i8]) {
        assert_eq!(cols.len(), weights.len());
        self.0 += 1;
        self.1 += cols.len();
    }
}

fn random_sparse(rng: &mut plasticore_core::rng::XorShift32, axons: usize, neurons: usize, s: usize, wmax: i32) -> Sparse {
    let mut sp = Sparse { o: Owned::new(axons, neurons, s), row_start: vec![0], cols: vec![] };
    sp.o.weights.clear();
    for _ in 0..axons {
        for j in 0..neurons {
            if rng.chance(u32::MAX / 3) {
                sp.o.weights.push(Weight(((rng.next_u32() % (2 * wmax as u32 + 1)) as i32 - wmax) as i16));
                sp.cols.push(j as u16);
            }
        }
        sp.row_start.push(sp.cols.len() as u32);
    }
    sp
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn frozen_equals_sparse_bits(
        axons in 1usize..40, neurons in 1usize..24, seed in any::<u64>(), presyn in 0u8..3, learn in any::<bool>(),
        bits in 2u8..=8,
    ) {
        let f = Formats { weight_bits: bits, weight_frac: bits.min(6) - 1, ..Formats::DEFAULT };
        let mut cfg = lif_config(f, 0.9, Some((0.8, 0.5)), Reset::Soft, false);
        cfg.presyn = match presyn {
            0 => PresynKind::None,
            1 => PresynKind::Depression(Depression::new(DepressionParams { decay: f.decay(fx(0.9), Field::Presyn).unwrap(), u: Efficacy(1 << 14) }, &f).unwrap()),
            _ => PresynKind::Facilitation(Facilitation::new(FacilitationParams {
                decay_f: f.decay(fx(0.8), Field::Presyn).unwrap(), decay_d: f.decay(fx(0.9), Field::Presyn).unwrap(), u: Efficacy(1 << 13) }, &f).unwrap()),
        };
        let s = cfg.neuron.states();
        let mut rng = plasticore_core::rng::XorShift32::new(seed as u32 | 1);
        let mut a = random_sparse(&mut rng, axons, neurons, s, f.weight_max());
        // The frozen copy, and a twin layer with no synapses of its own.
        let mut w8 = vec![0i8; a.cols.len()];
        compact_weights(&a.o.weights, &mut w8).unwrap();
        let frozen = FrozenCsr::new(a.row_start.clone(), a.cols.clone(), w8, axons, neurons).unwrap();
        let mut b = Sparse { o: Owned::new(axons, neurons, s), row_start: vec![0; axons + 1], cols: vec![] };
        b.o.weights.clear();
        {
            view(&mut a, &cfg).reset_state();
            view(&mut b, &cfg).reset_state();
        }
        let (mut sa, mut sb) = (vec![0u16; neurons], vec![0u16; neurons]);
        for _ in 0..30 {
            // Events: ascending ids, plus sometimes a duplicate and an id past the last axon.
            let mut ev: Vec<u16> = (0..axons as u16).filter(|_| rng.chance(u32::MAX / 3)).collect();
            if rng.chance(u32::MAX / 4) && !ev.is_empty() { ev.push(ev[0]); }
            if rng.chance(u32::MAX / 4) { ev.push(axons as u16 + 3); }
            let mut hint = Count::default();
            let ca: OpCounts = view(&mut a, &cfg).integrate(&ev, learn);
            let cb = if rng.chance(u32::MAX / 2) {
                view(&mut b, &cfg).integrate_frozen(&frozen, &ev, learn, &mut hint).unwrap()
            } else {
                frozen_view(&mut b.o, &cfg).integrate_frozen(&frozen, &ev, learn, &mut ()).unwrap()
            };
            prop_assert_eq!(ca, cb);
            prop_assert_eq!(&a.o.acc, &b.o.acc);
            prop_assert_eq!(&a.o.xtrace, &b.o.xtrace);
            prop_assert_eq!(&a.o.presyn, &b.o.presyn);
            prop_assert_eq!(&a.o.efficacy, &b.o.efficacy);
            prop_assert_eq!(a.o.scalars, b.o.scalars);
            let (fa, la) = view(&mut a, &cfg).fire(learn, &mut sa);
            let (fb, lb) = view(&mut b, &cfg).fire(learn, &mut sb);
            prop_assert_eq!(fa, fb);
            prop_assert_eq!(&sa[..la], &sb[..lb]);
            prop_assert_eq!(&a.o.state, &b.o.state);
            prop_assert_eq!(&a.o.etrace, &b.o.etrace);
        }
    }
}

#[test]
fn frozen_rejects_bad_shapes_and_wide_weights() {
    // Columns out of range, unsorted, wrong weight count.
    assert!(FrozenCsr::new(vec![0u32, 1], vec![5u16], vec![1i8], 1, 4).is_err());
    assert!(FrozenCsr::new(vec![0u32, 2], vec![2u16, 1], vec![1i8, 1], 1, 4).is_err());
    assert!(FrozenCsr::new(vec![0u32, 1], vec![1u16], vec![1i8, 2], 1, 4).is_err());
    assert!(FrozenCsr::new(vec![0u32], vec![0u16; 0], vec![0i8; 0], 1, 4).is_err());
    let ok = FrozenCsr::new(vec![0u32, 1, 1], vec![3u16], vec![-7i8], 2, 4).unwrap();
    assert_eq!(ok.row(0), (&[3u16][..], &[-7i8][..]));
    assert_eq!(ok.row(1), (&[][..], &[][..]));
    assert_eq!(ok.row(9), (&[][..], &[][..]));
    assert_eq!(ok.weight(0), Some(Weight(-7)));
    // Weights wider than 8 bits cannot be compacted.
    let mut out = [0i8; 2];
    assert!(compact_weights(&[Weight(127), Weight(128)], &mut out).is_err());
    assert!(compact_weights(&[Weight(-128), Weight(5)], &mut out).is_ok());
    assert_eq!(out, [-128, 5]);
    // A frozen structure of another shape than the layer's is refused (no sums taken).
    let f = Formats { weight_bits: 8, ..Formats::DEFAULT };
    let cfg = lif_config(f, 0.9, None, Reset::Soft, false);
    let mut b = Sparse { o: Owned::new(3, 4, 1), row_start: vec![0; 4], cols: vec![] };
    b.o.weights.clear();
    assert!(view(&mut b, &cfg).integrate_frozen(&ok, &[0], false, &mut ()).is_err());
    assert!(b.o.acc.iter().all(|&x| x == 0));
}

#[test]
fn a_frozen_layer_has_no_synapses_to_read_or_learn() {
    // `new_frozen`: integrate adds nothing, learn / accumulate / apply change nothing and do not panic,
    // even with a learning signal and non-zero traces; a non-empty weight buffer is refused.
    let f = Formats { weight_bits: 8, ..Formats::DEFAULT };
    let cfg = lif_config(f, 0.9, None, Reset::Soft, false);
    let mut o = Owned::new(5, 4, 1);
    o.weights.clear();
    let mut spikes = [0u16; 4];
    for _ in 0..5 {
        let mut l = frozen_view(&mut o, &cfg);
        let c = l.integrate(&[0, 2, 4, 9], true);
        assert_eq!((c.syn_ops, c.events_in), (0, 3));
        assert!(l.xtrace().iter().any(|&x| x != 0));
        l.fire(true, &mut spikes);
        let lam = [40_000, -40_000, 30_000, 1];
        assert_eq!(l.learn(Signal::Lambda(&lam)).weight_updates, 0);
        assert_eq!(l.accumulate(Signal::Lambda(&lam), &mut []).unwrap().weight_updates, 0);
        assert_eq!(l.apply_accumulated(&mut []).unwrap().weight_updates, 0);
    }
    assert!(o.acc.iter().all(|&x| x == 0));
    let mut o = Owned::new(5, 4, 1);
    let b = o.buffers();
    assert!(LayerMut::new_frozen(&cfg, b, 5, 4, 0).is_err());
}
