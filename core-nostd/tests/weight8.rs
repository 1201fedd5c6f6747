//! One-byte weight storage (`Weight8`, `es-d-rtrl.md` §8.2) against today's two-byte `Weight`: with
//! `weight_bits` ≤ 8 every stored mantissa lies in ±127, so the same network gives the same bits with
//! either storage — dense and compressed rows, online and accumulated learning, through saturation.

mod common;

use plasticore_core::format::{Weight8, WeightStore};
use plasticore_core::layer::{Buffers, Csr, LayerConfig, LayerMut, LayerScalars, Signal};
use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;

struct Store<W> {
    weights: Vec<W>,
    state: Vec<i32>,
    etrace: Vec<i32>,
    xtrace: Vec<u16>,
    presyn: Vec<[i32; 2]>,
    efficacy: Vec<i32>,
    acc: Vec<i32>,
    psi: Vec<i32>,
    grad: Vec<i64>,
    scalars: LayerScalars,
}

impl<W: WeightStore> Store<W> {
    fn new(weights: Vec<W>, axons: usize, n: usize) -> Self {
        Store {
            weights,
            state: vec![0; n],
            etrace: vec![0; n],
            xtrace: vec![0; axons],
            presyn: vec![[0; 2]; axons],
            efficacy: vec![0; axons],
            acc: vec![0; n],
            psi: vec![0; n],
            grad: vec![0; n],
            scalars: LayerScalars::default(),
        }
    }
    fn view<'a>(&'a mut self, cfg: &'a LayerConfig, csr: Option<Csr<'a>>, axons: usize, n: usize) -> LayerMut<'a, W> {
        let b = Buffers {
            weights: &mut self.weights,
            state: &mut self.state,
            etrace: &mut self.etrace,
            xtrace: &mut self.xtrace,
            presyn: &mut self.presyn,
            efficacy: &mut self.efficacy,
            acc: &mut self.acc,
            psi: &mut self.psi,
            grad: &mut self.grad,
            scalars: &mut self.scalars,
        };
        match csr {
            Some(c) => LayerMut::new_sparse(cfg, b, c, axons, n, 0).unwrap(),
            None => LayerMut::new(cfg, b, axons, n, 0).unwrap(),
        }
    }
}

const A: usize = 24;
const N: usize = 20;

fn run(sparse: bool, accumulate: bool) {
    let mut cfg = common::lif_config(Formats::DEFAULT, 0.9, None, Reset::Soft, false);
    // A large rate so that weights saturate at ±127 too.
    cfg.learning_rate = plasticore_core::layer::LearningRate { mant: 1, shift: 0 };
    let mut rng = XorShift32::new(9);
    // CSR structure: each axon reaches about half the neurons.
    let mut row_start = vec![0u32];
    let mut cols = Vec::new();
    for _ in 0..A {
        for j in 0..N as u16 {
            if !sparse || rng.chance(u32::MAX / 2) {
                cols.push(j);
            }
        }
        row_start.push(cols.len() as u32);
    }
    let m: Vec<i32> = (0..cols.len()).map(|_| (rng.next_u32() % 255) as i32 - 127).collect();
    let mut w16 = Store::new(m.iter().map(|&v| Weight(v as i16)).collect(), A, N);
    let mut w8 = Store::new(m.iter().map(|&v| Weight8(v as i8)).collect(), A, N);
    let csr = Csr { row_start: &row_start, cols: &cols };
    let topo = if sparse { Some(csr) } else { None };
    let (mut acc16, mut acc8) = (vec![0i32; cols.len()], vec![0i32; cols.len()]);
    let mut saturated = 0;
    for t in 0..400u32 {
        let active: Vec<u16> = (0..A as u16).filter(|_| rng.chance(u32::MAX / 4)).collect();
        let fb: Vec<i32> = (0..N).map(|_| (rng.next_u32() % 40001) as i32 - 20000).collect();
        let mut sp = [0u16; N];
        let mut v16 = w16.view(&cfg, topo, A, N);
        let mut v8 = w8.view(&cfg, topo, A, N);
        assert_eq!(v16.integrate(&active, true), v8.integrate(&active, true));
        assert_eq!(v16.fire(true, &mut sp), v8.fire(true, &mut sp));
        if accumulate {
            assert_eq!(v16.accumulate(Signal::Feedback(&fb), &mut acc16), v8.accumulate(Signal::Feedback(&fb), &mut acc8));
            if t % 20 == 19 {
                assert_eq!(v16.apply_accumulated(&mut acc16), v8.apply_accumulated(&mut acc8));
            }
        } else {
            assert_eq!(v16.learn(Signal::Feedback(&fb)), v8.learn(Signal::Feedback(&fb)));
        }
        let a: Vec<i32> = v16.weights().iter().map(|w| w.get()).collect();
        let b: Vec<i32> = v8.weights().iter().map(|w| w.get()).collect();
        assert_eq!(a, b, "step {t}");
        assert_eq!(v16.state(), v8.state());
        assert_eq!(v16.etrace(), v8.etrace());
        saturated = v16.scalars().sat.weight;
        assert_eq!(v16.scalars(), v8.scalars());
    }
    let moved = w16.weights.iter().zip(&m).filter(|(w, &m)| w.0 as i32 != m).count();
    assert!(moved > cols.len() / 4, "only {moved} weights moved: the comparison needs learning");
    assert!(saturated > 0, "no weight reached ±127: the saturation path is untested");
}

#[test]
fn one_byte_weights_equal_two_byte_weights_dense_online() {
    run(false, false);
}

#[test]
fn one_byte_weights_equal_two_byte_weights_sparse_online() {
    run(true, false);
}

#[test]
fn one_byte_weights_equal_two_byte_weights_dense_accumulate() {
    run(false, true);
}

#[test]
fn one_byte_storage_refuses_more_than_eight_bits() {
    let mut cfg = common::lif_config(Formats { weight_bits: 9, ..Formats::DEFAULT }, 0.9, None, Reset::Soft, false);
    cfg.formats.weight_bits = 9;
    let mut s = Store::new(vec![Weight8(0); 4 * 2], 4, 2);
    let b = Buffers {
        weights: &mut s.weights,
        state: &mut s.state,
        etrace: &mut s.etrace,
        xtrace: &mut s.xtrace,
        presyn: &mut s.presyn,
        efficacy: &mut s.efficacy,
        acc: &mut s.acc,
        psi: &mut s.psi,
        grad: &mut s.grad,
        scalars: &mut s.scalars,
    };
    let e = LayerMut::new(&cfg, b, 4, 2, 0).err();
    assert_eq!(e, Some(ConfigError::OutOfRange { field: Field::WeightBits, value: 9, min: 2, max: 8 }));
}
