//! W1 smoke and fidelity: the 8-bit fixed-point network keeps the 10–20 Hz band of the float reference
//! (WORKLOADS.md: 14.5 Hz at N = 1000), runs on the `loihi` preset at N = 1000 with per-step cycles and
//! energy, has the synapses WORKLOADS.md's construction gives, charges exactly one synaptic op per stored
//! (non-zero) synapse of every delivered row, and gives the spikes of a direct core-nostd run.

mod common;
use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;
use plasticore_emu::observe::StepView;
use plasticore_emu::{mapping, presets, w1, EmuOptions, Emulator, NoObserver, Observer};

/// Per step: the chip's synaptic ops (`StepReport::syn_events`) and the hidden spikes.
#[derive(Default)]
struct Ops(Vec<(u64, Vec<u16>)>);
impl Observer for Ops {
    fn on_step(&mut self, v: &StepView<'_>) {
        self.0.push((v.report.syn_events, v.spikes.to_vec()));
    }
}

#[test]
fn w1_rate_stays_in_band_and_loihi_accounts_it() {
    let n = 1000;
    let w = w1::build(n, 1).unwrap();
    assert_eq!(w.clipped, 0, "no weight saturates at the chosen binary point");
    let csr = w.spec.csr.as_ref().unwrap();
    // WORKLOADS.md: input 100 × N and recurrent N × N, i.i.d. Bernoulli(p = 0.1). The generated edges are
    // the compressed rows, one row per axon with its out-degree; the counts are binomial, so they lie
    // within 5 σ (σ² = n·p·(1 − p)) of p·n: 10 000 ± 474 input, 100 000 ± 1 500 recurrent synapses.
    let rows: Vec<usize> = csr.row_start.windows(2).map(|r| (r[1] - r[0]) as usize).collect();
    assert_eq!(rows.len(), w1::INPUTS + n);
    assert!(rows.iter().zip(&w.out_degree).all(|(&r, &d)| r == d as usize), "row lengths are the out-degrees");
    let (e_in, e_rec): (usize, usize) = (rows[..w1::INPUTS].iter().sum(), rows[w1::INPUTS..].iter().sum());
    let within = |e: usize, slots: f64| ((e as f64) - 0.1 * slots).abs() <= 5.0 * (slots * 0.1 * 0.9).sqrt();
    assert!(within(e_in, (w1::INPUTS * n) as f64), "input synapses {e_in}");
    assert!(within(e_rec, (n * n) as f64), "recurrent synapses {e_rec}");
    // Every input weight is W_IN = 0.03 at the chosen binary point (nearest), never zero.
    let w_in = (0.03 * (1u64 << w.weight_frac) as f64).round() as i16;
    assert!(w_in > 0);
    assert!(csr.weights[..e_in].iter().all(|x| x.0 == w_in), "input weights = round(0.03 · 2^{})", w.weight_frac);
    let nonzero: Vec<u64> = (0..w1::INPUTS + n)
        .map(|a| csr.weights[csr.row_start[a] as usize..csr.row_start[a + 1] as usize].iter().filter(|x| x.0 != 0).count() as u64)
        .collect();

    let mut ops = Ops::default();
    let steps = 400;
    let r = w1::run_observed(presets::loihi(), n, steps, EmuOptions::default(), 1, 1, &mut ops).unwrap();
    assert!((10.0..=20.0).contains(&r.mean_rate_hz), "mean rate {} Hz", r.mean_rate_hz);
    assert!(r.cores >= 2, "synapse memory splits N = 1000 over cores");
    assert!(r.cycles_per_step > 0.0 && r.energy_per_step_nj > 0.0);
    assert_eq!(r.syn_events_total, r.syn_events_in + r.syn_events_rec);
    // The chip's synaptic ops, exactly: every input event reads its whole row (no input weight is
    // zero), and the spikes of step t are delivered at t + 1 and read only their non-zero synapses (a
    // weight that quantized to 0 is no synapse); the last step's spikes are never delivered. W1's own
    // count (`syn_events_total`) counts every edge of every spike, so the chip's is smaller.
    assert_eq!(ops.0.len(), steps as usize);
    let chip_ops: u64 = ops.0.iter().map(|o| o.0).sum();
    let rec_delivered: u64 = ops.0[..steps as usize - 1].iter().flat_map(|o| &o.1).map(|&j| nonzero[w1::INPUTS + j as usize]).sum();
    assert_eq!(chip_ops, r.syn_events_in + rec_delivered);
    let spikes: u64 = ops.0.iter().map(|o| o.1.len() as u64).sum();
    assert_eq!(spikes, r.spikes);
    assert!(rec_delivered < r.syn_events_rec, "zero-quantized edges are not charged");
}

#[test]
fn w1_on_loihi_cores_equals_a_direct_core_nostd_run() {
    // The emulator path (partitioned over several loihi cores, frozen compact rows, the AVX-512 row
    // kernel where present, threads) against the tests' reference: one core-nostd `LayerMut` over the
    // whole network's compressed rows, `integrate` + `fire` as `Net::step` orders them.
    let n = 1000;
    let w = w1::build(n, 2).unwrap();
    let mut spec = w.spec.clone();
    let csr = spec.csr.take().unwrap();
    spec.weights = vec![Weight(0); spec.axons() * n];
    for a in 0..spec.axons() {
        for k in csr.row_start[a] as usize..csr.row_start[a + 1] as usize {
            spec.weights[a * n + csr.cols[k] as usize] = csr.weights[k];
        }
    }
    let mut reference = common::Reference::new(&spec);
    let chip = presets::loihi();
    let (m, _) = mapping::partition(&chip, &w.spec).unwrap();
    assert!(m.hidden.len() >= 2, "several cores");
    let opts = EmuOptions { threads: 2, ..EmuOptions::default() };
    let mut emu = Emulator::with_mapping(chip, w.spec, m, opts).unwrap();
    let mut g = XorShift32::new(12345);
    let mut input = Vec::new();
    let mut spikes = 0;
    for t in 0..300u32 {
        w1::inputs(&mut g, &mut input);
        let (want, _) = reference.step(t, &input, Target::None);
        emu.step(Timestep(t), &input, Target::None, &mut NoObserver).unwrap();
        assert_eq!(emu.last_spikes(), &want[..], "step {t}");
        spikes += want.len();
    }
    assert!(spikes > 1000, "the network is active ({spikes} spikes)");
    assert_eq!(emu.hidden_state(), reference.l.state);
}
