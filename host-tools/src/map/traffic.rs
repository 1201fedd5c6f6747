//! Packets between logical cores: what the placement optimiser minimises the hops of.
//!
//! Which cores talk, and how much, is fixed by the slices and the routing tables, not by where the cores
//! sit: a spike leaves as one packet per destination core of its routing entry, and learning-signal words
//! go from the readout's core and from downstream cores to the cores holding their neurons; the emulator's
//! results are bit-identical for every placement, so every packet is sent whatever the placement. A
//! **profile** (one emulator run over the stimulus, counting packets by source and destination) therefore
//! gives the traffic exactly, and Σ packets(a, b) × hops(a, b) is the run's hop-weighted packet count for
//! any placement (tested). The **static** estimate needs no run: every neuron spikes once per step and
//! sends one packet per destination core of its routing entry (the multicast fan-out), and every neuron
//! of a population that learns from the readout gets one word from the readout's core per step (the
//! `Symmetric` backprop words between populations are not in the estimate).
use super::measure;
use super::MapError;
use plasticore_core::graph::LambdaSource;
use plasticore_core::image::Stimulus;
use plasticore_emu::graph::mapping::routes;
use plasticore_emu::graph::{GraphMapping, GraphNetworkSpec};
use plasticore_emu::observe::StepView;
use plasticore_emu::{ChipDesc, Observer};

/// Packets from logical core a to logical core b (a ≠ b), row-major `cores × cores`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Traffic {
    n: usize,
    packets: Vec<u64>,
}

impl Traffic {
    /// No traffic between `n` cores.
    pub fn zero(n: usize) -> Self {
        Traffic { n, packets: vec![0; n * n] }
    }

    /// Logical cores.
    pub fn cores(&self) -> usize {
        self.n
    }

    /// Packets from `a` to `b`.
    pub fn get(&self, a: usize, b: usize) -> u64 {
        self.packets.get(a * self.n + b).copied().unwrap_or(0)
    }

    /// Add `k` packets from `a` to `b` (ignored out of range or when a = b: a core's own packets cross no link).
    pub fn add(&mut self, a: usize, b: usize, k: u64) {
        if a != b && a < self.n && b < self.n {
            self.packets[a * self.n + b] = self.packets[a * self.n + b].saturating_add(k);
        }
    }

    /// Total packets between distinct cores.
    pub fn total(&self) -> u64 {
        self.packets.iter().sum()
    }

    /// Undirected weights: per core, its neighbours with packets(a, b) + packets(b, a) (ascending).
    pub fn neighbours(&self) -> Vec<Vec<(usize, u64)>> {
        (0..self.n)
            .map(|a| (0..self.n).filter_map(|b| Some((b, self.get(a, b) + self.get(b, a))).filter(|&(_, w)| w > 0)).collect())
            .collect()
    }

    /// The static estimate for `steps` steps (module docs).
    pub fn estimate(spec: &GraphNetworkSpec, m: &GraphMapping, steps: u64) -> Result<Traffic, MapError> {
        let lay = spec.validate()?;
        let rt = routes(spec, &lay, m);
        let mut t = Traffic::zero(m.cores_used());
        for (a, entries) in rt.iter().enumerate() {
            let len = m.cores[a].len as u64;
            for e in entries {
                t.add(a, e.dst, len * steps);
            }
        }
        if spec.config.learn {
            let ro = &spec.config.readout;
            for (c, s) in m.cores.iter().enumerate() {
                let lam = spec.config.populations[s.population].lambda;
                let from_readout = s.population == ro.source as usize || matches!(lam, LambdaSource::RandomFeedback { .. });
                if from_readout && lam != LambdaSource::External {
                    t.add(m.readout_core, c, s.len as u64 * steps);
                }
            }
        }
        Ok(t)
    }

    /// The profile: run `spec` with the slices of `m` in logical order (no placement) over `stim` and
    /// count every packet by source and destination (`obs` sees the steps too).
    pub fn profile(chip: &ChipDesc, spec: &GraphNetworkSpec, m: &GraphMapping, stim: Stimulus, obs: &mut dyn Observer) -> Result<(Traffic, measure::Measured), MapError> {
        let plain = GraphMapping { placement: Vec::new(), stride: 1, ..m.clone() };
        let mut count = Count { t: Traffic::zero(plain.cores_used()) };
        let r = measure::run(chip, spec, &plain, stim, &mut (&mut count, obs))?;
        Ok((count.t, r))
    }
}

/// Counts packets by (physical) source and destination; with stride 1 and no placement they are the
/// logical cores.
struct Count {
    t: Traffic,
}

impl Observer for Count {
    fn on_step(&mut self, v: &StepView<'_>) {
        for p in v.packets {
            self.t.add(p.src as usize, p.dst as usize, 1);
        }
    }
}
