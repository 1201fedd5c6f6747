//! `LayerMut::fire` without learning takes a specialised loop for LIF layers (`Lif::inference`); this
//! checks it bit for bit against the model's own `NeuronModel::input` + `update(.., None)` applied
//! neuron by neuron (the general loop's body): states, spikes listed and counted, the emptied
//! dendritic sums and the saturation counter, over random formats, decays, gains up to the 4.0 limit,
//! thresholds, resets, synapses and states/sums up to the i32 extremes (so saturation is exercised).
//! With learning, LIF layers with a delta synapse take another specialised loop (`Lif::learning`);
//! the second property checks it the same way against `update(.., Some(jac))` + `update_etrace`,
//! including ψ, ẽ^f and both saturation counters.

mod common;

use common::Owned;
use plasticore_core::layer::{update_etrace, LayerConfig};
use plasticore_core::neuron::{Jacobian, NeuronModel};
use plasticore_core::prelude::*;
use proptest::prelude::*;

fn config(sf: u8, wf: u8, df: u8, decay: f64, syn: Option<(f64, f64)>, reset: Reset, th: f64) -> LayerConfig {
    let fmt = Formats { state_frac: sf, weight_frac: wf, decay_frac: df, ..Formats::DEFAULT };
    common::lif_config_th(fmt, decay, syn, reset, true, th)
}

/// [`config`] with the reset's surrogate path attached or detached and the signal and ẽ^f formats chosen.
#[allow(clippy::too_many_arguments)]
fn config_learn(sf: u8, wf: u8, df: u8, gf: u8, ef: u8, decay: f64, reset: Reset, detach: bool, th: f64, alpha: f64) -> LayerConfig {
    let fmt = Formats { state_frac: sf, weight_frac: wf, decay_frac: df, signal_frac: gf, etrace_frac: ef, ..Formats::DEFAULT };
    let mut cfg = common::lif_config_th(fmt, decay, None, reset, detach, th);
    // α < 1 as drawn, but nearest rounding to few fractional bits can reach 1.0, which the layer
    // refuses (a trace must decay): keep it one LSB below.
    let a = fmt.decay(common::fx(alpha), plasticore_core::error::Field::Decay).unwrap();
    cfg.trace_decay = plasticore_core::format::Decay(a.0.min((1u32 << df) - 1));
    cfg
}

/// A value spread over the whole i32 range, with the extremes and small values likely.
fn wide() -> impl Strategy<Value = i32> {
    prop_oneof![
        any::<i32>(),
        -70_000i32..70_000,
        Just(i32::MAX),
        Just(i32::MIN),
        (i32::MAX - 1000)..=i32::MAX,
        i32::MIN..(i32::MIN + 1000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn inference_fire_equals_the_model_update(
        sf in 8u8..=24,
        wf_off in 0u8..=8,
        df in 8u8..=30,
        decay in 0.0f64..=1.0,
        syn in prop_oneof![Just(None), (0.0f64..=1.0, 0.0f64..=3.99).prop_map(Some)],
        soft in any::<bool>(),
        th in 0.0625f64..8.0,
        n in 1usize..80,
        seed_states in proptest::collection::vec((wide(), wide(), wide()), 80),
        room in 0usize..8,
    ) {
        let reset = if soft { Reset::Soft } else { Reset::Hard };
        let wf = sf.saturating_sub(wf_off).min(15);
        let cfg = config(sf, wf, df, decay, syn, reset, th);
        let NeuronKind::Lif(m) = cfg.neuron else { unreachable!() };
        let s = m.states();
        let mut o = Owned::new(1, n, s);
        for (j, &(v, g, a)) in seed_states.iter().take(n).enumerate() {
            o.state[j * s] = v;
            if s == 2 {
                o.state[j * s + 1] = g;
            }
            o.acc[j] = a;
        }
        // Expected: the model, neuron by neuron.
        let (mut want_state, want_acc) = (o.state.clone(), o.acc.clone());
        let mut want_spikes = Vec::new();
        let mut want_sat = 0u32;
        for j in 0..n {
            let y = m.input(want_acc[j], cfg.acc_frac());
            let f = m.update(&mut want_state[j * s..(j + 1) * s], y, None);
            want_sat += f.saturated as u32;
            if f.spike {
                want_spikes.push(j as u16);
            }
        }
        // The layer (listing room for at most `room` spikes: the rest are counted, not listed).
        let mut spikes = vec![u16::MAX; room];
        let (c, listed) = o.view(&cfg).fire(false, &mut spikes);
        prop_assert_eq!(&o.state, &want_state);
        prop_assert!(o.acc.iter().all(|&a| a == 0));
        prop_assert_eq!(c.spikes as usize, want_spikes.len());
        prop_assert_eq!(c.neuron_updates as usize, n);
        prop_assert_eq!(listed, want_spikes.len().min(room));
        prop_assert_eq!(&spikes[..listed], &want_spikes[..listed]);
        prop_assert_eq!(o.scalars.sat.state, want_sat);
    }
}

/// The body of the learning-fire properties: the learning `fire` against the model's update and
/// `update_etrace`, neuron by neuron.
#[allow(clippy::too_many_arguments)]
fn learning_fire_case(
    sf: u8,
    wf_off: u8,
    df: u8,
    gf: u8,
    ef: u8,
    decay: f64,
    alpha: f64,
    reset: (Reset, bool),
    th: f64,
    n: usize,
    seed_states: &[(i32, i32, i32)],
    room: usize,
) -> Result<(), TestCaseError> {
    let wf = sf.saturating_sub(wf_off).min(15);
    let cfg = config_learn(sf, wf, df, gf, ef, decay, reset.0, reset.1, th, alpha);
    let NeuronKind::Lif(m) = cfg.neuron else { unreachable!() };
    let mut o = Owned::new(1, n, 1);
    for (j, &(v, e, a)) in seed_states.iter().take(n).enumerate() {
        o.state[j] = v;
        o.etrace[j] = e;
        o.acc[j] = a;
    }
    let (mut want_state, mut want_e, want_acc) = (o.state.clone(), o.etrace.clone(), o.acc.clone());
    let (mut want_spikes, mut want_psi) = (Vec::new(), Vec::new());
    let (mut want_sat, mut want_sat_e) = (0u32, 0u32);
    for j in 0..n {
        let y = m.input(want_acc[j], cfg.acc_frac());
        let mut jac = Jacobian::default();
        let f = m.update(&mut want_state[j..j + 1], y, Some(&mut jac));
        want_sat += f.saturated as u32;
        want_sat_e += update_etrace(&mut want_e[j..j + 1], &jac, cfg.trace_decay.0, &cfg.formats);
        want_psi.push(f.psi);
        if f.spike {
            want_spikes.push(j as u16);
        }
    }
    let mut spikes = vec![u16::MAX; room];
    let (c, listed) = o.view(&cfg).fire(true, &mut spikes);
    prop_assert_eq!(&o.state, &want_state);
    prop_assert_eq!(&o.psi, &want_psi);
    prop_assert_eq!(&o.etrace, &want_e);
    prop_assert!(o.acc.iter().all(|&a| a == 0));
    prop_assert_eq!(c.spikes as usize, want_spikes.len());
    prop_assert_eq!(c.neuron_updates as usize, n);
    prop_assert_eq!(c.trace_updates as usize, n);
    prop_assert_eq!(listed, want_spikes.len().min(room));
    prop_assert_eq!(&spikes[..listed], &want_spikes[..listed]);
    prop_assert_eq!(o.scalars.sat.state, want_sat);
    prop_assert_eq!(o.scalars.sat.etrace, want_sat_e);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn learning_fire_equals_the_model_update_and_etrace(
        sf in 8u8..=24,
        wf_off in 0u8..=8,
        df in 8u8..=30,
        gf in 8u8..=24,
        ef in 8u8..=28,
        decay in 0.0f64..=1.0,
        alpha in 0.0f64..0.999,
        reset in prop_oneof![Just((Reset::Soft, false)), Just((Reset::Soft, true)), Just((Reset::Hard, true))],
        // Powers of two take ψ's shifted form (`Surrogate::pow2_shifts`), the others the general one.
        th in prop_oneof![0.0625f64..8.0, (-4i32..3).prop_map(|e| 2f64.powi(e))],
        n in 1usize..80,
        // Small states cluster around the threshold, where ψ ≠ 0 (the Jacobian's reset term).
        seed_states in proptest::collection::vec((prop_oneof![wide(), -(1i32 << 20)..(1 << 20)], wide(), wide()), 80),
        room in 0usize..8,
    ) {
        learning_fire_case(sf, wf_off, df, gf, ef, decay, alpha, reset, th, n, &seed_states, room)?;
    }

    /// The reference's surrogate shape: Δ = V_th = 1 and width 1 with state_frac = signal_frac, where
    /// ψ's four shifts are all 0 (`LifLearning`'s `psi_ident` path).
    #[test]
    fn learning_fire_equals_the_model_update_with_identity_psi_shifts(
        f in 8u8..=24,
        wf_off in 0u8..=8,
        df in 8u8..=30,
        ef in 8u8..=28,
        decay in 0.0f64..=1.0,
        alpha in 0.0f64..0.999,
        reset in prop_oneof![Just((Reset::Soft, false)), Just((Reset::Soft, true)), Just((Reset::Hard, true))],
        n in 1usize..80,
        seed_states in proptest::collection::vec((prop_oneof![wide(), -(1i32 << 20)..(1 << 20)], wide(), wide()), 80),
        room in 0usize..8,
    ) {
        learning_fire_case(f, wf_off, df, f, ef, decay, alpha, reset, 1.0, n, &seed_states, room)?;
    }
}
