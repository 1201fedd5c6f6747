//! Observers: statistics, recorders and CSV / VCD traces that look at each finished timestep through a shared
//! reference ([`StepView`]) and so cannot change results (a test checks this). Combine several with a
//! tuple: `(&mut stats, &mut recorder)`.

use crate::chip::Mesh;
use crate::noc::mesh::{Delivery, Packet};
use crate::time::Cycle;
use plasticore_core::layer::{OpCounts, Saturations};
use std::fmt::Write as _;

/// Phase names, in timestep order (the same order as `CoreStep::phases` and the energy breakdown).
pub const PHASES: [&str; 5] = ["deliver", "integrate", "fire", "route", "learn"];

/// One core's timestep: the interval of each phase (cycles from the start of the step), and energy.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CoreStep {
    /// Core index.
    pub core: usize,
    /// `[start, end)` of deliver, integrate, fire, route, learn.
    pub phases: [(Cycle, Cycle); 5],
    /// Energy per phase, pJ (same order).
    pub energy_pj: [f64; 5],
    /// Cycles the core was busy (sum of phase lengths).
    pub busy: u64,
    /// Packets it sent.
    pub packets_out: u32,
}

/// Energy of one timestep, pJ.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EnergyBreakdown {
    /// Per phase (deliver, integrate, fire, route, learn), all cores.
    pub phases: [f64; 5],
    /// Links and within-tile deliveries.
    pub noc: f64,
    /// Static power × latency × all cores of the chip.
    pub static_: f64,
}

impl EnergyBreakdown {
    /// Sum of every part.
    pub fn total(&self) -> f64 {
        self.phases.iter().sum::<f64>() + self.noc + self.static_
    }
}

/// Summary of one timestep.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepReport {
    /// Index of the step (0-based, since the chip was built).
    pub step: u64,
    /// Operation counts of every core-nostd phase on every core (the readout included).
    pub ops: OpCounts,
    /// Loss (Q.16) when a target was applied.
    pub loss_q16: Option<i64>,
    /// Hidden spikes.
    pub spikes: u32,
    /// Synaptic ops the chip performed: stored synapses of the active rows, every core.
    pub syn_events: u64,
    /// Timestep latency = `slowest_core` + `drain` + `barrier` (zero with timing off).
    pub cycles: Cycle,
    /// End of the busiest core's last phase.
    pub slowest_core: Cycle,
    /// How long the network kept delivering after the busiest core finished.
    pub drain: Cycle,
    /// Barrier synchronisation.
    pub barrier: Cycle,
    /// Energy of this step (zero with timing off).
    pub energy: EnergyBreakdown,
    /// Packets routed.
    pub packets: u64,
    /// Packets later than their contention-free latency.
    pub delayed_packets: u64,
    /// Sum of their delays, cycles.
    pub delay_cycles: u64,
    /// Router back-pressure events (a packet refused by a full buffer, per attempt).
    pub blocked: u64,
    /// Chip-effect counters, cumulative (hidden layer summed over cores, ε^x counted once, plus readout).
    pub saturations: Saturations,
}

/// What an observer sees after each timestep.
pub struct StepView<'a> {
    /// The summary.
    pub report: &'a StepReport,
    /// Per core (hidden cores, then the readout core if it is separate).
    pub cores: &'a [CoreStep],
    /// Packets of this step (spikes, then learning-signal words).
    pub packets: &'a [Packet],
    /// Their deliveries (same order).
    pub deliveries: &'a [Delivery],
    /// Hidden spikes of this step, global ids ascending.
    pub spikes: &'a [u16],
    /// Packets per directed link this step (`tile · 4 + dir`, dir = E, W, N, S).
    pub link_load: &'a [u64],
    /// Within-tile deliveries per tile this step.
    pub local_load: &'a [u64],
    /// The mesh.
    pub mesh: Mesh,
}

/// Something that watches timesteps.
pub trait Observer {
    /// Called once after every timestep.
    fn on_step(&mut self, v: &StepView<'_>);
}

/// Observes nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn on_step(&mut self, _: &StepView<'_>) {}
}

impl<A: Observer, B: Observer> Observer for (A, B) {
    fn on_step(&mut self, v: &StepView<'_>) {
        self.0.on_step(v);
        self.1.on_step(v);
    }
}

impl<T: Observer + ?Sized> Observer for &mut T {
    fn on_step(&mut self, v: &StepView<'_>) {
        (**self).on_step(v);
    }
}

/// A hot link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hotspot {
    /// Tile the link leaves.
    pub tile: (u32, u32),
    /// Direction ("E", "W", "N", "S").
    pub dir: &'static str,
    /// Packets carried.
    pub packets: u64,
}

/// Running statistics: per-core utilisation, link loads and hot spots, delays, chip effects.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Timesteps seen.
    pub steps: u64,
    /// Sum of timestep latencies.
    pub cycles: u64,
    /// Busy cycles per core.
    pub busy: Vec<u64>,
    /// Energy per core, pJ (dynamic, all phases).
    pub core_energy_pj: Vec<f64>,
    /// Packets per directed link.
    pub link_load: Vec<u64>,
    /// Within-tile deliveries per tile.
    pub local_load: Vec<u64>,
    /// Packets routed.
    pub packets: u64,
    /// Delayed packets.
    pub delayed_packets: u64,
    /// Their total delay.
    pub delay_cycles: u64,
    /// Back-pressure events.
    pub blocked: u64,
    /// Energy totals, pJ.
    pub energy: EnergyBreakdown,
    /// Latest cumulative chip-effect counters.
    pub saturations: Saturations,
    mesh: Option<Mesh>,
}

impl Stats {
    /// Fraction of all elapsed cycles each core was busy.
    pub fn utilisation(&self) -> Vec<f64> {
        self.busy.iter().map(|&b| if self.cycles == 0 { 0.0 } else { b as f64 / self.cycles as f64 }).collect()
    }

    /// The `k` links that carried the most packets (ties: lower link index first).
    pub fn hotspots(&self, k: usize) -> Vec<Hotspot> {
        let Some(mesh) = self.mesh else { return Vec::new() };
        let mut idx: Vec<usize> = (0..self.link_load.len()).filter(|&i| self.link_load[i] > 0).collect();
        idx.sort_by_key(|&i| (std::cmp::Reverse(self.link_load[i]), i));
        idx.truncate(k);
        idx.into_iter()
            .map(|i| Hotspot { tile: mesh.xy(i / 4), dir: ["E", "W", "N", "S"][i % 4], packets: self.link_load[i] })
            .collect()
    }

    /// Energy per link, pJ, given the hop energies.
    pub fn link_energy_pj(&self, ew_pj: f64, ns_pj: f64) -> Vec<f64> {
        self.link_load.iter().enumerate().map(|(i, &n)| n as f64 * if i % 4 < 2 { ew_pj } else { ns_pj }).collect()
    }
}

impl Observer for Stats {
    fn on_step(&mut self, v: &StepView<'_>) {
        let r = v.report;
        self.mesh = Some(v.mesh);
        self.steps += 1;
        self.cycles += r.cycles.0;
        for c in v.cores {
            if self.busy.len() <= c.core {
                self.busy.resize(c.core + 1, 0);
                self.core_energy_pj.resize(c.core + 1, 0.0);
            }
            self.busy[c.core] += c.busy;
            self.core_energy_pj[c.core] += c.energy_pj.iter().sum::<f64>();
        }
        if self.link_load.len() < v.link_load.len() {
            self.link_load.resize(v.link_load.len(), 0);
            self.local_load.resize(v.local_load.len(), 0);
        }
        for (a, b) in self.link_load.iter_mut().zip(v.link_load) {
            *a += b;
        }
        for (a, b) in self.local_load.iter_mut().zip(v.local_load) {
            *a += b;
        }
        self.packets += r.packets;
        self.delayed_packets += r.delayed_packets;
        self.delay_cycles += r.delay_cycles;
        self.blocked += r.blocked;
        for (a, b) in self.energy.phases.iter_mut().zip(r.energy.phases) {
            *a += b;
        }
        self.energy.noc += r.energy.noc;
        self.energy.static_ += r.energy.static_;
        self.saturations = r.saturations;
    }
}

/// One recorded packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketRecord {
    /// Timestep.
    pub step: u64,
    /// The packet.
    pub packet: Packet,
    /// Its delivery.
    pub delivery: Delivery,
}

/// Records hidden spikes (step, global neuron) and packets, up to `limit` entries each.
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    /// Maximum entries kept per list.
    pub limit: usize,
    /// (step, neuron).
    pub spikes: Vec<(u64, u16)>,
    /// Packets.
    pub packets: Vec<PacketRecord>,
}

impl Recorder {
    /// A recorder keeping at most `limit` spikes and `limit` packets.
    pub fn new(limit: usize) -> Self {
        Recorder { limit, ..Default::default() }
    }
}

impl Observer for Recorder {
    fn on_step(&mut self, v: &StepView<'_>) {
        let step = v.report.step;
        for &j in v.spikes {
            if self.spikes.len() < self.limit {
                self.spikes.push((step, j));
            }
        }
        for (p, d) in v.packets.iter().zip(v.deliveries) {
            if self.packets.len() < self.limit {
                self.packets.push(PacketRecord { step, packet: *p, delivery: *d });
            }
        }
    }
}

/// A CSV trace of timesteps `[from, to)`: one row per core phase and one per packet, absolute cycles.
///
/// Columns: `kind,step,core_or_src,phase_or_dst,start,end,tag`.
#[derive(Clone, Debug, Default)]
pub struct CsvTrace {
    /// First step traced.
    pub from: u64,
    /// First step not traced.
    pub to: u64,
    /// The CSV text (with a header).
    pub csv: String,
    base: u64,
}

impl CsvTrace {
    /// Trace steps `[from, to)`.
    pub fn new(from: u64, to: u64) -> Self {
        CsvTrace { from, to, csv: "kind,step,core_or_src,phase_or_dst,start,end,tag\n".into(), base: 0 }
    }
}

impl Observer for CsvTrace {
    fn on_step(&mut self, v: &StepView<'_>) {
        let r = v.report;
        if r.step >= self.from && r.step < self.to {
            let b = self.base;
            for c in v.cores {
                for (k, (s, e)) in c.phases.iter().enumerate() {
                    if e.0 > s.0 {
                        let _ = writeln!(self.csv, "phase,{},{},{},{},{},", r.step, c.core, PHASES[k], b + s.0, b + e.0);
                    }
                }
            }
            for (p, d) in v.packets.iter().zip(v.deliveries) {
                let _ = writeln!(
                    self.csv,
                    "packet,{},{},{},{},{},{}",
                    r.step,
                    p.src,
                    p.dst,
                    b + p.inject.0,
                    b + d.arrive.0,
                    p.tag
                );
            }
            let _ = writeln!(self.csv, "barrier,{},,,{},{},", r.step, b + r.cycles.0 - r.barrier.0, b + r.cycles.0);
        }
        self.base += r.cycles.0;
    }
}

/// A VCD (value change dump) trace of timesteps `[from, to)`, for waveform viewers: one 3-bit signal per
/// core with its phase (0 idle, 1 deliver, 2 integrate, 3 fire, 4 route, 5 learn) and a 1-bit barrier
/// signal, at absolute chip cycles (`$timescale` 1 cycle, written as 1 ns: the cycle is the unit).
#[derive(Clone, Debug, Default)]
pub struct VcdTrace {
    /// First step traced.
    pub from: u64,
    /// First step not traced.
    pub to: u64,
    cores: usize,
    body: String,
    base: u64,
    last_time: Option<u64>,
}

fn vcd_id(i: usize) -> String {
    // Printable identifiers '!'..'~', base 94.
    let mut i = i;
    let mut s = String::new();
    loop {
        s.push((b'!' + (i % 94) as u8) as char);
        i /= 94;
        if i == 0 {
            return s;
        }
    }
}

impl VcdTrace {
    /// Trace steps `[from, to)`.
    pub fn new(from: u64, to: u64) -> Self {
        // The header opens time 0, so changes at 0 belong to it.
        VcdTrace { from, to, last_time: Some(0), ..Default::default() }
    }

    /// The complete VCD text (header and the value changes recorded so far).
    pub fn finish(&self) -> String {
        let mut h = String::from("$version plasticore-emu $end\n$timescale 1ns $end\n$scope module chip $end\n");
        for c in 0..self.cores {
            let _ = writeln!(h, "$var wire 3 {} core{}_phase $end", vcd_id(c + 1), c);
        }
        let _ = writeln!(h, "$var wire 1 {} barrier $end", vcd_id(0));
        h.push_str("$upscope $end\n$enddefinitions $end\n#0\n$dumpvars\n");
        for c in 0..self.cores {
            let _ = writeln!(h, "b000 {}", vcd_id(c + 1));
        }
        let _ = writeln!(h, "0{}\n$end", vcd_id(0));
        h + &self.body
    }
}

impl Observer for VcdTrace {
    fn on_step(&mut self, v: &StepView<'_>) {
        let r = v.report;
        if r.step >= self.from && r.step < self.to {
            self.cores = self.cores.max(v.cores.len());
            // (time, order, signal id, value): ends (order 0) before starts (order 1) at equal times.
            let mut ev: Vec<(u64, u8, usize, u8)> = Vec::new();
            for c in v.cores {
                for (k, (s, e)) in c.phases.iter().enumerate() {
                    if e.0 > s.0 {
                        ev.push((self.base + s.0, 1, c.core + 1, k as u8 + 1));
                        ev.push((self.base + e.0, 0, c.core + 1, 0));
                    }
                }
            }
            if r.barrier.0 > 0 {
                ev.push((self.base + r.cycles.0 - r.barrier.0, 1, 0, 1));
                ev.push((self.base + r.cycles.0, 0, 0, 0));
            }
            ev.sort_unstable();
            for (t, _, id, val) in ev {
                if self.last_time != Some(t) {
                    let _ = writeln!(self.body, "#{t}");
                    self.last_time = Some(t);
                }
                if id == 0 {
                    let _ = writeln!(self.body, "{}{}", val, vcd_id(0));
                } else {
                    let _ = writeln!(self.body, "b{:03b} {}", val, vcd_id(id));
                }
            }
        }
        self.base += r.cycles.0;
    }
}
