//! Sparse (CSR) connectivity gives the same bits as dense storage of the same network: for inference
//! with zeros where synapses are missing, and for learning when the dense run re-applies the
//! connectivity mask after every update (missing synapses do not exist, so they cannot learn). Malformed
//! CSR structures are rejected.

mod common;
use common::*;
use plasticore_core::layer::{Csr, Signal};
use plasticore_core::prelude::*;
use proptest::prelude::*;

type Net = SparseOwned;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn sparse_equals_masked_dense(
        axons in 1usize..20, neurons in 1usize..16, seed in any::<u64>(), accumulate in any::<bool>(),
    ) {
        let f = Formats { weight_bits: 10, ..Formats::DEFAULT };
        let cfg = lif_config(f, 0.9, Some((0.8, 0.2)), Reset::Soft, false);
        let s = cfg.neuron.states();
        let mut rng = plasticore_core::rng::XorShift32::new(seed as u32);
        // Random mask and weights.
        let mut mask = vec![false; axons * neurons];
        let mut dense = Owned::new(axons, neurons, s);
        let mut sp = Net { o: Owned::new(axons, neurons, s), row_start: vec![0], cols: vec![] };
        sp.o.weights.clear();
        for a in 0..axons {
            for j in 0..neurons {
                if rng.chance(u32::MAX / 3) {
                    let w = Weight(((rng.next_u32() % 401) as i32 - 200) as i16);
                    mask[a * neurons + j] = true;
                    dense.weights[a * neurons + j] = w;
                    sp.o.weights.push(w);
                    sp.cols.push(j as u16);
                }
            }
            sp.row_start.push(sp.cols.len() as u32);
        }
        let nnz = sp.cols.len();
        let mut acc_d = vec![0i32; axons * neurons];
        let mut acc_s = vec![0i32; nnz];
        let mut sp_spikes = vec![0u16; neurons];
        let mut d_spikes = vec![0u16; neurons];
        for t in 0..40 {
            let ev: Vec<u16> = (0..axons as u16).filter(|_| rng.chance(u32::MAX / 3)).collect();
            let lam: Vec<i32> = (0..neurons).map(|_| (rng.next_u32() % 200_000) as i32 - 100_000).collect();
            let (ls, ld);
            {
                let mut l = sparse_view(&mut sp, &cfg);
                l.integrate(&ev, true);
                ls = l.fire(true, &mut sp_spikes).1;
                if accumulate {
                    l.accumulate(Signal::Lambda(&lam), &mut acc_s).unwrap();
                    if t % 10 == 9 { l.apply_accumulated(&mut acc_s).unwrap(); }
                } else {
                    l.learn(Signal::Feedback(&lam));
                }
            }
            {
                let mut l = dense.view(&cfg);
                l.integrate(&ev, true);
                ld = l.fire(true, &mut d_spikes).1;
                if accumulate {
                    l.accumulate(Signal::Lambda(&lam), &mut acc_d).unwrap();
                    if t % 10 == 9 { l.apply_accumulated(&mut acc_d).unwrap(); }
                } else {
                    l.learn(Signal::Feedback(&lam));
                }
            }
            for (w, &m) in dense.weights.iter_mut().zip(&mask) {
                if !m { *w = Weight(0); }
            }
            prop_assert_eq!(&sp_spikes[..ls], &d_spikes[..ld]);
            prop_assert_eq!(&sp.o.state, &dense.state);
            prop_assert_eq!(&sp.o.etrace, &dense.etrace);
            let listed: Vec<Weight> = dense.weights.iter().zip(&mask).filter(|(_, &m)| m).map(|(w, _)| *w).collect();
            prop_assert_eq!(&sp.o.weights, &listed);
        }
    }
}

#[test]
fn malformed_csr_is_rejected() {
    let ok = Csr { row_start: &[0, 2, 3], cols: &[0, 3, 1] };
    assert!(ok.validate(2, 4).is_ok());
    // Wrong number of rows, not starting at 0, not ending at nnz, column out of range, not increasing.
    assert!(Csr { row_start: &[0, 2], cols: &[0, 3] }.validate(2, 4).is_err());
    assert!(Csr { row_start: &[1, 2, 3], cols: &[0, 3, 1] }.validate(2, 4).is_err());
    assert!(Csr { row_start: &[0, 2, 2], cols: &[0, 3, 1] }.validate(2, 4).is_err());
    assert!(Csr { row_start: &[0, 2, 3], cols: &[0, 4, 1] }.validate(2, 4).is_err());
    assert!(Csr { row_start: &[0, 2, 3], cols: &[3, 3, 1] }.validate(2, 4).is_err());
    assert!(Csr { row_start: &[0, 3, 2], cols: &[0, 1, 2] }.validate(2, 4).is_err());
}
