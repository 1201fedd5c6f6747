//! Per-neuron thresholds and decays (`plasticore_core::neuron::params`). Questions answered:
//! * zero cost in bits: does a population whose per-neuron arrays all equal its scalars run exactly like
//!   the scalar population (states, spikes, ψ, weights, readout: checksum at every step, learning on),
//!   for LIF, ALIF and Loihi CUBA, with and without a bias?
//! * use: does every neuron of a per-neuron layer run exactly like a one-neuron scalar layer built from
//!   its own values — state, spikes, ψ(v̂) and the eligibility trace ẽ^f, so the surrogate and the
//!   Jacobians (hence the learning) use the neuron's own threshold and decays?
//! * validation: are values outside the model's ranges, a population without per-neuron parameters, a
//!   wrong length and an owner too small refused with an error?

mod common;

use plasticore_core::graph::{
    BiasMode, Graph, GraphConfig, GraphUpdate, LambdaSource, ParamMode, Population, Projection, ProjPresyn, ReadoutSpec, Source,
};
use plasticore_core::neuron::{NeuronParams, ParamSlot};
use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;

const I: usize = 8;
const H: usize = 16;
/// One population of H neurons (up to 3 states), input + recurrent axons, H parameter slots.
type G = Graph<H, { 3 * H }, { I + H }, { (I + H) * H }, 2, { 2 * (I + H) }, H>;

fn f() -> Formats {
    Formats::DEFAULT
}

fn one() -> u32 {
    1 << f().decay_frac
}

fn layer(neuron: NeuronKind, seed: u32) -> LayerConfig {
    LayerConfig {
        formats: f(),
        neuron,
        presyn: PresynKind::None,
        trace_decay: Decay(one() / 10 * 8),
        learning_rate: LearningRate { mant: 1, shift: 6 },
        seed,
    }
}

fn lif(synapse: Synapse, reset: Reset, threshold: i32, decay: u32) -> NeuronKind {
    let p = LifParams {
        decay: Decay(decay),
        threshold: Voltage(threshold),
        reset,
        detach_reset: false,
        synapse,
        surrogate: SurrogateParams::paper(&f()),
    };
    NeuronKind::Lif(Lif::new(p, &f()).unwrap())
}

fn alif(synapse: Synapse, threshold: i32, decay: u32, adapt: u32) -> NeuronKind {
    let p = AlifParams {
        decay: Decay(decay),
        adapt_decay: Decay(adapt),
        beta: Voltage(1 << 14),
        threshold: Voltage(threshold),
        reset: Reset::Soft,
        detach_reset: false,
        synapse,
        surrogate: SurrogateParams::paper(&f()),
    };
    NeuronKind::Alif(Alif::new(p, &f()).unwrap())
}

fn loihi(vth: u32, dv: u16, du: u16) -> NeuronKind {
    let p = LoihiParams {
        du,
        dv,
        bias_mant: 0,
        bias_exp: 0,
        vth_mant: vth,
        weight_exp: 0,
        surrogate: SurrogateParams { amplitude: Signal(1 << 15), width: Signal(1 << 22) },
        wrap: Default::default(),
    };
    NeuronKind::LoihiCuba(LoihiCuba::new(p, &f()).unwrap())
}

fn expon() -> Synapse {
    Synapse::Expon { decay: Decay(one() / 10 * 7), gain: Decay(one() / 4) }
}

/// The model variants of these tests, each built from (threshold, decay, adapt) like a slot's values.
#[derive(Clone, Copy, Debug)]
enum Model {
    LifDeltaSoft,
    LifExponHard,
    AlifDelta,
    AlifExpon,
    Loihi,
}

const MODELS: [Model; 5] = [Model::LifDeltaSoft, Model::LifExponHard, Model::AlifDelta, Model::AlifExpon, Model::Loihi];

impl Model {
    fn kind(self, v: NeuronParams) -> NeuronKind {
        match self {
            Model::LifDeltaSoft => lif(Synapse::Delta, Reset::Soft, v.threshold, v.decay),
            Model::LifExponHard => lif(expon(), Reset::Hard, v.threshold, v.decay),
            Model::AlifDelta => alif(Synapse::Delta, v.threshold, v.decay, v.adapt),
            Model::AlifExpon => alif(expon(), v.threshold, v.decay, v.adapt),
            Model::Loihi => loihi(v.threshold as u32, v.decay as u16, v.adapt as u16),
        }
    }
    /// The population's scalar values.
    fn base(self) -> NeuronParams {
        match self {
            Model::LifDeltaSoft | Model::LifExponHard => NeuronParams { threshold: 1 << 16, decay: one() / 10 * 9, adapt: 0 },
            Model::AlifDelta | Model::AlifExpon => NeuronParams { threshold: 1 << 16, decay: one() / 10 * 9, adapt: one() / 100 * 97 },
            Model::Loihi => NeuronParams { threshold: 150, decay: 300, adapt: 500 },
        }
    }
    /// Neuron j's own values: thresholds over [0.5, 1.5) of the base, decays spread below it.
    fn spread(self, r: &mut XorShift32) -> NeuronParams {
        let b = self.base();
        match self {
            Model::Loihi => NeuronParams {
                threshold: 60 + (r.next_u32() % 200) as i32,
                decay: 100 + r.next_u32() % 1500,
                adapt: 100 + r.next_u32() % 1500,
            },
            _ => NeuronParams {
                threshold: b.threshold / 2 + (r.next_u32() % b.threshold as u32) as i32,
                decay: one() / 2 + r.next_u32() % (one() / 2),
                adapt: if b.adapt == 0 { 0 } else { one() / 2 + r.next_u32() % (one() / 2) },
            },
        }
    }
    fn weight_span(self) -> i32 {
        match self {
            Model::Loihi => 120,
            // 8-bit weights of weight_frac 6 (Formats::DEFAULT): ±1.4 of V_th per event at most.
            _ => 90,
        }
    }
}

fn readout_cfg() -> ReadoutConfig {
    ReadoutConfig { formats: f(), decay: Decay(one() / 10 * 7), loss: Loss::Mse, learning_rate: LearningRate { mant: 1, shift: 8 }, seed: 12 }
}

fn graph(m: Model, bias: BiasMode, params: ParamMode) -> Box<G> {
    let mut g = Box::new(G::new());
    let mut pops = heapless::Vec::new();
    pops.push(Population { neurons: H as u16, layer: layer(m.kind(m.base()), 5), lambda: LambdaSource::Symmetric, bias, params }).unwrap();
    let mut projs = heapless::Vec::new();
    projs.push(Projection { source: Source::Input { first: 0, width: I as u16 }, target: 0, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    projs.push(Projection { source: Source::Population(0), target: 0, delay: 1, learn: true, shift: 0, presyn: ProjPresyn::Inherit }).unwrap();
    g.configure(GraphConfig {
        inputs: I as u16,
        populations: pops,
        projections: projs,
        readout: ReadoutSpec { source: 0, outputs: 2, config: readout_cfg() },
        window: LossWindow::ALWAYS,
        learn: true,
    })
    .unwrap();
    let mut r = XorShift32::new(7);
    let span = m.weight_span();
    for a in 0..I + H {
        for j in 0..H {
            let s = if a < I { span } else { span / 4 };
            g.set_weight(0, a, j, Weight(((r.next_u32() % (2 * s as u32 + 1)) as i32 - s) as i16)).unwrap();
        }
    }
    for j in 0..H {
        for k in 0..2 {
            g.set_readout_weight(j, k, Weight(((r.next_u32() % 41) as i32 - 20) as i16)).unwrap();
        }
        if bias != BiasMode::None {
            let b = if matches!(m, Model::Loihi) { (r.next_u32() % 400) as i32 } else { (r.next_u32() % (1 << 13)) as i32 };
            g.set_bias(0, j, b).unwrap();
        }
    }
    g
}

#[test]
fn per_neuron_arrays_equal_to_the_scalars_give_the_scalar_bits() {
    for m in MODELS {
        let biases: &[BiasMode] = match m {
            Model::Loihi => &[BiasMode::None, BiasMode::Fixed],
            _ => &[BiasMode::None, BiasMode::Fixed, BiasMode::Learned],
        };
        for &bias in biases {
            let mut scalar = graph(m, bias, ParamMode::Shared);
            let mut arrays = graph(m, bias, ParamMode::PerNeuron);
            for j in 0..H {
                arrays.set_neuron_params(0, j, m.base()).unwrap();
            }
            let before = scalar.view().unwrap().weights(0).to_vec();
            let (mut vs, mut va) = (scalar.view().unwrap(), arrays.view().unwrap());
            assert!(vs.neuron_params(0).is_empty() && va.neuron_params(0).len() == H);
            let mut r = XorShift32::new(11);
            let mut spikes = 0usize;
            let mut psi_nonzero = 0usize;
            for t in 0..120u32 {
                let ev: Vec<u16> = (0..I as u16).filter(|_| r.chance(u32::MAX / 4)).collect();
                let target = if (t / 10) % 2 == 0 { [1 << 16, 0] } else { [0, 1 << 16] };
                let a = vs.step(Timestep(t), &ev, Target::Values(&target), &[], GraphUpdate::Online).unwrap();
                let b = va.step(Timestep(t), &ev, Target::Values(&target), &[], GraphUpdate::Online).unwrap();
                assert_eq!(a, b, "{m:?} {bias:?} step {t}: report");
                assert_eq!(vs.checksum(), va.checksum(), "{m:?} {bias:?} step {t}: checksum");
                assert_eq!(vs.spikes(0), va.spikes(0), "{m:?} {bias:?} step {t}: spikes");
                assert_eq!(vs.psi(0), va.psi(0), "{m:?} {bias:?} step {t}: ψ");
                assert_eq!(vs.bias(0), va.bias(0), "{m:?} {bias:?} step {t}: bias");
                spikes += vs.spikes(0).len();
                psi_nonzero += vs.psi(0).iter().filter(|&&p| p != 0).count();
            }
            assert!(spikes > 100, "{m:?} {bias:?}: {spikes} spikes, the comparison needs activity");
            assert!(psi_nonzero > 100, "{m:?} {bias:?}: ψ ≠ 0 on only {psi_nonzero} neuron-steps");
            assert_ne!(vs.weights(0), &before[..], "{m:?} {bias:?}: no weight learned");
        }
    }
}

/// Owned buffers of a layer of `n` neurons over `axons` axons.
fn owned(m: Model, axons: usize, n: usize) -> common::Owned {
    common::Owned::new(axons, n, m.kind(m.base()).states())
}

#[test]
fn each_neuron_runs_with_its_own_threshold_and_decays() {
    const A: usize = 6;
    const N: usize = 12;
    for m in MODELS {
        let mut r = XorShift32::new(31);
        let values: Vec<NeuronParams> = (0..N).map(|_| m.spread(&mut r)).collect();
        let cfg = layer(m.kind(m.base()), 9);
        let slots: Vec<ParamSlot> = values.iter().map(|v| ParamSlot::new(&cfg, *v).unwrap()).collect();
        assert_eq!(slots.iter().map(ParamSlot::values).collect::<Vec<_>>(), values);
        // The per-neuron layer, the scalar layer (base values) and one one-neuron layer per neuron.
        let singles: Vec<LayerConfig> = values.iter().map(|v| layer(m.kind(*v), 9)).collect();
        let (mut per, mut base) = (owned(m, A, N), owned(m, A, N));
        let mut one: Vec<common::Owned> = (0..N).map(|_| owned(m, A, 1)).collect();
        let span = m.weight_span();
        for a in 0..A {
            for (j, o) in one.iter_mut().enumerate() {
                let w = Weight(((r.next_u32() % (2 * span as u32 + 1)) as i32 - span / 3) as i16);
                per.weights[a * N + j] = w;
                base.weights[a * N + j] = w;
                o.weights[a] = w;
            }
        }
        let s = cfg.neuron.states();
        let (mut spikes, mut psi_nonzero, mut differs) = (0usize, 0usize, 0usize);
        for t in 0..150 {
            let ev: Vec<u16> = (0..A as u16).filter(|_| r.chance(u32::MAX / 3)).collect();
            let mut sp = [0u16; N];
            let (mut v, mut vb) = (per.view(&cfg), base.view(&cfg));
            v.set_neuron_params(&slots).unwrap();
            v.integrate(&ev, true);
            let (_, k) = v.fire(true, &mut sp);
            vb.integrate(&ev, true);
            vb.fire(true, &mut [0u16; N]);
            spikes += k;
            for (j, (o, c)) in one.iter_mut().zip(&singles).enumerate() {
                let mut s1 = [0u16; 1];
                let mut v1 = o.view(c);
                v1.integrate(&ev, true);
                let (_, k1) = v1.fire(true, &mut s1);
                assert_eq!(k1 == 1, sp[..k].contains(&(j as u16)), "{m:?} step {t} neuron {j}: spike");
                assert_eq!(o.state[..], per.state[j * s..(j + 1) * s], "{m:?} step {t} neuron {j}: state");
                assert_eq!(o.etrace[..], per.etrace[j * s..(j + 1) * s], "{m:?} step {t} neuron {j}: ẽ^f");
                assert_eq!(o.psi[0], per.psi[j], "{m:?} step {t} neuron {j}: ψ");
                psi_nonzero += (per.psi[j] != 0) as usize;
            }
            differs += (0..N).filter(|&j| per.state[j * s..(j + 1) * s] != base.state[j * s..(j + 1) * s] || per.psi[j] != base.psi[j]).count();
        }
        assert!(spikes > 100, "{m:?}: {spikes} spikes, the comparison needs activity");
        assert!(psi_nonzero > 100, "{m:?}: ψ ≠ 0 on only {psi_nonzero} neuron-steps");
        assert!(differs > N * 50, "{m:?}: the per-neuron values changed only {differs} neuron-steps against the scalar layer");
    }
}

#[test]
fn out_of_range_values_and_misuse_are_refused() {
    let lif_cfg = layer(Model::LifDeltaSoft.kind(Model::LifDeltaSoft.base()), 1);
    let alif_cfg = layer(Model::AlifDelta.kind(Model::AlifDelta.base()), 1);
    let loihi_cfg = layer(Model::Loihi.kind(Model::Loihi.base()), 1);
    let ok = Model::LifDeltaSoft.base();
    assert!(ParamSlot::new(&lif_cfg, ok).is_ok());
    // α_m above 1.0, V_th below 2^-4, an adaptation decay on a LIF.
    assert!(ParamSlot::new(&lif_cfg, NeuronParams { decay: one() + 1, ..ok }).is_err());
    assert!(ParamSlot::new(&lif_cfg, NeuronParams { threshold: 1, ..ok }).is_err());
    assert!(ParamSlot::new(&lif_cfg, NeuronParams { adapt: 1, ..ok }).is_err());
    assert!(ParamSlot::new(&alif_cfg, NeuronParams { adapt: one() + 1, ..Model::AlifDelta.base() }).is_err());
    // Loihi's register ranges (and vth = 0 accepted, as for the scalar register).
    let lb = Model::Loihi.base();
    assert!(ParamSlot::new(&loihi_cfg, NeuronParams { threshold: 131_072, ..lb }).is_err());
    assert!(ParamSlot::new(&loihi_cfg, NeuronParams { threshold: -1, ..lb }).is_err());
    assert!(ParamSlot::new(&loihi_cfg, NeuronParams { decay: 4096, ..lb }).is_err());
    assert!(ParamSlot::new(&loihi_cfg, NeuronParams { adapt: 4096, ..lb }).is_err());
    assert!(ParamSlot::new(&loihi_cfg, NeuronParams { threshold: 0, ..lb }).is_ok());
    // LayerMut: wrong length; an ALIF slot (ρ ≠ 0) on a LIF layer.
    let mut o = owned(Model::LifDeltaSoft, 3, 4);
    let good = vec![ParamSlot::new(&lif_cfg, ok).unwrap(); 4];
    let alif_slots = vec![ParamSlot::new(&alif_cfg, Model::AlifDelta.base()).unwrap(); 4];
    {
        let mut v = o.view(&lif_cfg);
        assert!(v.set_neuron_params(&good[..3]).is_err());
        assert!(v.set_neuron_params(&alif_slots).is_err());
        assert!(v.neuron_params().is_none());
        v.set_neuron_params(&good).unwrap();
        assert_eq!(v.neuron_params().map(<[ParamSlot]>::len), Some(4));
    }
    // Graph: a shared population has no slots; a bad value leaves the slot unchanged.
    let mut g = graph(Model::LifDeltaSoft, BiasMode::None, ParamMode::Shared);
    assert!(g.set_neuron_params(0, 0, ok).is_err());
    let mut g = graph(Model::LifDeltaSoft, BiasMode::None, ParamMode::PerNeuron);
    assert!(g.set_neuron_params(0, H, ok).is_err());
    assert!(g.set_neuron_params(0, 0, NeuronParams { decay: u32::MAX, ..ok }).is_err());
    assert_eq!(g.view().unwrap().neuron_params(0)[0].values(), ok);
    // An owner without parameter slots cannot hold a per-neuron population.
    let mut small: Box<Graph<H, { 3 * H }, { I + H }, { (I + H) * H }, 2, { 2 * (I + H) }>> = Box::default();
    let cfg = g.config().unwrap().clone();
    assert!(small.configure(cfg).is_err());
}
