//! The chip: cores holding slices of a network, a mesh network-on-chip and the timestep.
//!
//! [`Emulator::step`] is the ordered list of phases, each its own function, in the same order as
//! `plasticore_core::net::Net::step`, `ARCHITECTURE.md` and the cost model:
//!
//! 1. `Emulator::deliver`: each core's active list = external events ++ the recurrent events the
//!    network delivered last step;
//! 2. `Emulator::integrate` and 3. `Emulator::fire`: `LayerMut::integrate` (`integrate_frozen` on a
//!    frozen core) / `LayerMut::fire`; phases 1–3 touch only a core's own buffers, so one parallel pass
//!    over the cores runs all three per core, in this order;
//! 4. `Emulator::route`: spikes → packets (one per destination core), simulated on the mesh; the
//!    readout integrates the spikes it received and computes the error and the learning signal, which is
//!    routed back to the hidden cores;
//! 5. `Emulator::learn`: `LayerMut::learn` on every core (in parallel) and the readout's learning;
//! 6. `Emulator::barrier`: per-core cycles and energy from the operation counts, timestep latency =
//!    slowest core + network drain + barrier, observers.
//!
//! Results (spikes, weights, traces, states) do not depend on the mapping, the thread count, the timing
//! switch or the observers: every arithmetic step is core-nostd's, on the same inputs in the same order.

use crate::chip::{ChipDesc, LearnCost};
use crate::core_unit::{FrozenSynapses, HiddenCore, ReadoutUnit};
use crate::error::EmuError;
use crate::mapping::{self, CoreUsage, Mapping};
use crate::network::NetworkSpec;
use crate::noc::mesh::{Delivery, MeshSim, Packet, RoundStats};
use crate::observe::{CoreStep, EnergyBreakdown, Observer, StepReport, StepView};
use crate::time::{Cycle, EmuTime};
use plasticore_core::layer::{LayerConfig, OpCounts, Saturations, Signal};
use plasticore_core::net::{LossWindow, Timestep};
use plasticore_core::readout::{Feedback, Target};

/// Run options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmuOptions {
    /// Worker threads for the per-core phases (1 = run on the caller's thread).
    pub threads: usize,
    /// Cycle, network and energy accounting (off: functional only, same spikes and weights).
    pub timing: bool,
    /// Turn chip effects (saturation, dropped events, router back-pressure) into errors.
    pub strict: bool,
}

impl Default for EmuOptions {
    fn default() -> Self {
        EmuOptions { threads: 1, timing: true, strict: false }
    }
}

/// The emulated chip with a network placed on it.
pub struct Emulator {
    pub(crate) chip: ChipDesc,
    pub(crate) layer: LayerConfig,
    pub(crate) n_ext: usize,
    pub(crate) neurons: usize,
    pub(crate) recurrent: bool,
    pub(crate) learn_on: bool,
    pub(crate) epoch: u32,
    pub(crate) feedback: Feedback,
    pub(crate) window: LossWindow,
    pub(crate) mapping: Mapping,
    pub(crate) usage: Vec<CoreUsage>,
    pub(crate) cores: Vec<HiddenCore>,
    pub(crate) readout: Option<ReadoutUnit>,
    pub(crate) opts: EmuOptions,
    pool: Option<crate::spin::Pool>,
    noc: MeshSim,
    pub(crate) time: EmuTime,
    pub(crate) host_dropped: u32,
    // Per-step scratch.
    ext: Vec<u16>,
    spikes: Vec<u16>,
    packets: Vec<Packet>,
    deliveries: Vec<Delivery>,
    scratch_del: Vec<Delivery>,
    link_load: Vec<u64>,
    local_load: Vec<u64>,
    core_steps: Vec<CoreStep>,
    fb: Vec<i32>,
    lam: Vec<i32>,
    route_end: Vec<u64>,
    fire_end: Vec<u64>,
    /// Spike packets each hidden core sent this step.
    spike_packets: Vec<u32>,
    ro_timing: RoTiming,
    noc_stats: RoundStats,
}

#[derive(Clone, Copy, Debug, Default)]
struct RoTiming {
    start: u64,
    integrate_end: u64,
    feedback_end: u64,
    feedback_packets: u32,
    fb_arrival: u64,
}

impl Emulator {
    /// Place `net` with the partitioner and build the chip.
    pub fn new(chip: ChipDesc, net: NetworkSpec, opts: EmuOptions) -> Result<Self, EmuError> {
        chip.validate()?;
        let (m, _) = mapping::partition(&chip, &net)?;
        Self::with_mapping(chip, net, m, opts)
    }

    /// Build the chip with a given mapping (checked against every limit).
    pub fn with_mapping(chip: ChipDesc, net: NetworkSpec, mapping: Mapping, opts: EmuOptions) -> Result<Self, EmuError> {
        chip.validate()?;
        net.validate()?;
        let usage = mapping::check(&chip, &net, &mapping)?;
        let mut cores = Vec::with_capacity(mapping.hidden.len());
        for s in &mapping.hidden {
            let stored = mapping::stored_per_row(&chip, &net, *s);
            // A sparse core that never learns keeps its synapses frozen in compact form (8-bit weights),
            // integrated by core-nostd's `integrate_frozen` to the same bits.
            let frozen = !net.learn && net.sparse && net.layer.formats.weight_bits <= 8;
            let mut c = HiddenCore::new(&net, s.first, s.len, stored, frozen)?;
            if net.learn && net.learn_epoch > 1 {
                c.acc_w = vec![0; c.store.weights.len()];
            }
            cores.push(c);
        }
        let readout = match (&net.readout, mapping.readout_core) {
            (Some(r), Some(core)) => {
                let mut u = ReadoutUnit::new(core, r.config, net.neurons, r.outputs, r.weights.clone())?;
                if net.learn && net.learn_epoch > 1 {
                    u.acc_v = vec![0; r.weights.len()];
                }
                Some(u)
            }
            (Some(_), None) => return Err(EmuError::Network("the mapping has no core for the readout".into())),
            _ => None,
        };
        let threads = opts.threads.max(1);
        // A pool only when there are at least two cores to share out (one core gains nothing from it).
        // The calling thread works too (`for_cores_spin`), so the pool has `threads` − 1 workers, which
        // stay awake between timesteps (`spin`).
        let pool = if threads > 1 && cores.len() > 1 {
            Some(crate::spin::Pool::new(threads).map_err(|e| EmuError::Network(format!("thread pool: {e}")))?)
        } else {
            None
        };
        let tiles = chip.mesh.tiles();
        let n_cores = mapping.cores_used();
        Ok(Emulator {
            noc: MeshSim::new(chip.mesh, chip.noc),
            layer: net.layer,
            n_ext: net.inputs,
            neurons: net.neurons,
            recurrent: net.recurrent,
            learn_on: net.learn,
            epoch: net.learn_epoch.max(1),
            feedback: if net.readout.is_some() { net.feedback } else { Feedback::External },
            window: net.window,
            usage,
            cores,
            readout,
            opts: EmuOptions { threads, ..opts },
            pool,
            time: EmuTime::default(),
            host_dropped: 0,
            ext: Vec::new(),
            spikes: Vec::new(),
            packets: Vec::new(),
            deliveries: Vec::new(),
            scratch_del: Vec::new(),
            link_load: vec![0; tiles * 4],
            local_load: vec![0; tiles],
            core_steps: vec![CoreStep::default(); n_cores],
            fb: vec![0; net.neurons],
            lam: vec![0; net.neurons],
            route_end: vec![0; n_cores],
            fire_end: vec![0; n_cores],
            spike_packets: vec![0; n_cores],
            ro_timing: RoTiming::default(),
            noc_stats: RoundStats::default(),
            mapping,
            chip,
        })
    }

    /// Build the chip with a given mapping from synapses already in compact frozen form, one
    /// [`FrozenSynapses`] per hidden slice of `mapping` (`axons × len`, local columns): for networks too
    /// large to hold twice, since [`Emulator::with_mapping`] copies every core's rows out of `net`
    /// (`w1::build_frozen` builds them directly). `net` must not learn, be sparse with weights of at
    /// most 8 bits, and carry an **empty** compressed structure (no hidden synapse of its own). Every
    /// limit is checked as by `with_mapping` (synapse memory from these rows), and the chip is the same
    /// as `with_mapping` over a `net` holding these synapses: same stored counts, same storage.
    pub fn with_frozen_synapses(chip: ChipDesc, net: NetworkSpec, mapping: Mapping, opts: EmuOptions, syn: Vec<FrozenSynapses>) -> Result<Self, EmuError> {
        if net.learn || !net.sparse || net.layer.formats.weight_bits > 8 {
            return Err(EmuError::Network("frozen synapses need a sparse network that does not learn, with weights of at most 8 bits".into()));
        }
        if net.csr.as_ref().is_none_or(|c| !c.cols.is_empty() || !c.weights.is_empty()) {
            return Err(EmuError::Network("frozen synapses given with hidden weights in the network too (its compressed rows must be empty)".into()));
        }
        if syn.len() != mapping.hidden.len() {
            return Err(EmuError::Network(format!("{} frozen synapse sets for {} hidden slices", syn.len(), mapping.hidden.len())));
        }
        let axons = net.axons();
        for (s, f) in mapping.hidden.iter().zip(&syn) {
            if f.axons() != axons || f.neurons() != s.len {
                return Err(EmuError::Network(format!(
                    "frozen synapses of {} × {} for the slice at {} of {} neurons ({axons} axons)",
                    f.axons(),
                    f.neurons(),
                    s.first,
                    s.len
                )));
            }
        }
        // Every limit but synapse memory (the network holds none), and empty frozen cores.
        let mut emu = Self::with_mapping(chip, net, mapping, opts)?;
        let dense = matches!(emu.chip.limits.encoding, crate::chip::SynEncoding::Dense);
        for (i, (c, f)) in emu.cores.iter_mut().zip(syn).enumerate() {
            // Stored synapses per row as `mapping::stored_per_row` counts them.
            let stored: Vec<u32> = (0..axons).map(|a| if dense { c.len as u32 } else { f.row(a).0.len() as u32 }).collect();
            let bits: u64 = stored.iter().map(|&st| emu.chip.row_bits(st as u64, c.len as u64)).sum();
            let max = emu.chip.limits.syn_mem_bits;
            if bits > max {
                return Err(EmuError::Capacity {
                    core: i,
                    first: c.first,
                    end: c.first + c.len,
                    limit: "synapse memory bits",
                    count: bits,
                    max,
                    over: bits - max,
                });
            }
            if let Some(u) = emu.usage.get_mut(i) {
                u.syn_bits = bits;
            }
            c.stored = stored;
            c.frozen = Some(f);
        }
        Ok(emu)
    }

    /// One timestep (see the module docs). `input` lists the external axons spiking at `t`; `target` is
    /// used inside the loss window. Fails only in strict mode, after completing the step, or before the
    /// step on a target that does not fit the readout (`Target::check`, as `Net::step`) or, with
    /// `Feedback::External`, on a `Target::Lambda` that does not hold exactly one λ per hidden neuron
    /// (`Net::step` pads a shorter one with zeros, i.e. silently leaves the last neurons without a
    /// learning signal; the emulator refuses it, `tests/target_check.rs`).
    pub fn step(&mut self, t: Timestep, input: &[u16], target: Target<'_>, obs: &mut dyn Observer) -> Result<StepReport, EmuError> {
        if let Some(ro) = &self.readout {
            target.check(ro.cfg.loss, ro.o)?;
        }
        if let (Feedback::External, Target::Lambda(l)) = (self.feedback, target) {
            if l.len() != self.neurons {
                let e = plasticore_core::error::ConfigError::SizeMismatch {
                    field: plasticore_core::error::Field::Target,
                    expected: self.neurons,
                    found: l.len(),
                };
                return Err(e.into());
            }
        }
        let sat_before = self.saturations().total();
        self.filter_host(input);
        // Phases 1-3 touch only each core's own buffers: one parallel pass runs them per core, in order.
        let ext = std::mem::take(&mut self.ext);
        let (n_ext, cfg, learn) = (self.n_ext, self.layer, self.learn_on);
        let r = self.each_core(|c| {
            Self::deliver(c, &ext, n_ext);
            Self::integrate(c, &cfg, learn)?;
            Self::fire(c, &cfg, learn)
        });
        self.ext = ext;
        r?;
        let loss = self.route(t, target)?;
        self.learn(t, target, loss.is_some())?;
        self.barrier(loss, sat_before, obs)
    }

    /// Run `f` on every hidden core, in parallel when the chip has a thread pool.
    fn each_core(&mut self, f: impl Fn(&mut HiddenCore) -> Result<(), EmuError> + Sync + Send) -> Result<(), EmuError> {
        for_cores_spin(self.pool.as_ref(), &mut self.cores, f)
    }

    /// Host events are filtered as `Net` does (ids ≥ the external inputs and overflow of the active list
    /// are dropped and counted) before phase 1.
    fn filter_host(&mut self, input: &[u16]) {
        let axons = self.n_ext + if self.recurrent { self.neurons } else { 0 };
        self.ext.clear();
        for &a in input {
            if (a as usize) < self.n_ext && self.ext.len() < axons {
                self.ext.push(a);
            } else {
                self.host_dropped = self.host_dropped.saturating_add(1);
            }
        }
    }

    /// Phase 1, **deliver** (one core): its active list from the filtered host events and the recurrent
    /// events the network delivered last step.
    fn deliver(c: &mut HiddenCore, ext: &[u16], n_ext: usize) {
        c.deliver(ext, n_ext);
    }

    /// Phase 2, **integrate** (one core): `LayerMut::integrate` (or `integrate_frozen`).
    fn integrate(c: &mut HiddenCore, cfg: &LayerConfig, learn: bool) -> Result<(), EmuError> {
        c.integrate(cfg, learn)
    }

    /// Phase 3, **fire** (one core): `LayerMut::fire`.
    fn fire(c: &mut HiddenCore, cfg: &LayerConfig, learn: bool) -> Result<(), EmuError> {
        c.fire(cfg, learn)
    }

    /// Phase 4, **route**: every spike becomes one packet per destination core (all hidden cores when
    /// recurrent, then the readout core), injected after the core's fire phase at `spike_out` +
    /// `msg_out` spacing, and is simulated on the mesh; arrivals fill the destination inboxes. Then the
    /// readout integrates what it received, computes the error and the learning signal, and routes the
    /// signal back (one packet per hidden neuron).
    fn route(&mut self, t: Timestep, target: Target<'_>) -> Result<Option<i64>, EmuError> {
        let timing = self.opts.timing;
        let cost = self.chip.cost;
        self.packets.clear();
        self.spikes.clear();
        let n_hidden = self.cores.len();
        let stride = self.mapping.stride.max(1);
        let ro_core = self.readout.as_ref().map(|r| r.core);
        for (ci, c) in self.cores.iter().enumerate() {
            let ops = &c.ops;
            let deliver = ops.events_in as u64 * cost.axon_in as u64;
            let integrate = self.integrate_cycles(c);
            let fire = self.fire_cycles(&ops.fire);
            let mut tt = deliver + integrate + fire;
            self.fire_end[ci] = tt;
            let before = self.packets.len();
            for &j in c.spikes() {
                let g = (c.first + j as usize) as u16;
                self.spikes.push(g);
                tt += cost.spike_out as u64;
                if self.recurrent {
                    for d in 0..n_hidden {
                        tt += cost.msg_out as u64;
                        self.packets.push(Packet { src: (ci * stride) as u32, dst: (d * stride) as u32, inject: Cycle(tt), tag: g as u32 });
                    }
                }
                if let Some(r) = ro_core {
                    if !(self.recurrent && r < n_hidden) {
                        tt += cost.msg_out as u64;
                        self.packets.push(Packet { src: (ci * stride) as u32, dst: (r * stride) as u32, inject: Cycle(tt), tag: g as u32 });
                    }
                }
            }
            self.route_end[ci] = tt;
            self.spike_packets[ci] = (self.packets.len() - before) as u32;
        }
        self.link_load.iter_mut().for_each(|x| *x = 0);
        self.local_load.iter_mut().for_each(|x| *x = 0);
        self.noc_stats = RoundStats::default();
        self.deliveries.clear();
        if timing {
            let st = self.noc.run(&self.packets, &mut self.deliveries, &mut self.link_load, &mut self.local_load);
            self.noc_stats = st;
        }
        // Arrivals fill the inboxes (all packets arrive within the step: the barrier waits for the drain).
        let mut ro_last = 0u64;
        for (i, p) in self.packets.iter().enumerate() {
            let d = p.dst as usize / stride;
            if self.recurrent && d < n_hidden {
                self.cores[d].inbox.push(p.tag as u16);
            }
            if Some(d) == ro_core {
                if let Some(ro) = self.readout.as_mut() {
                    ro.inbox.push(p.tag as u16);
                }
                if timing {
                    ro_last = ro_last.max(self.deliveries[i].arrive.0);
                }
            }
        }
        // Readout: integrate the hidden spikes of this step, error, learning signal.
        let in_window = self.window.contains(t);
        let target = if in_window { target } else { Target::None };
        let learn = self.learn_on;
        let mut loss = None;
        let mut ops_ro = OpCounts::default();
        if let Some(ro) = self.readout.as_mut() {
            let mut inbox = std::mem::take(&mut ro.inbox);
            inbox.sort_unstable();
            {
                let mut r = ro.view()?;
                ops_ro = r.integrate(&inbox, learn);
                loss = r.error(target);
                if learn && in_window && loss.is_some() && !matches!(self.feedback, Feedback::External) {
                    r.feedback(self.feedback, 0, &mut self.fb);
                }
            }
            inbox.clear();
            ro.inbox = inbox;
            ro.ops_integrate = ops_ro;
            ro.ops_learn = OpCounts::default();
        }
        if timing {
            self.readout_timing(ro_core, ro_last, &ops_ro, learn && in_window && loss.is_some())?;
        }
        Ok(loss)
    }

    fn readout_timing(&mut self, ro_core: Option<usize>, ro_last: u64, ops: &OpCounts, fb: bool) -> Result<(), EmuError> {
        let cost = self.chip.cost;
        self.ro_timing = RoTiming::default();
        let Some(rc) = ro_core else { return Ok(()) };
        let Some(ro) = self.readout.as_ref() else { return Ok(()) };
        let stride = self.mapping.stride.max(1);
        let own = if rc < self.cores.len() { self.route_end[rc] } else { 0 };
        let start = ro_last.max(own);
        let lanes = cost.syn_lanes as u64;
        let integ = ops.events_in as u64 * cost.axon_in as u64
            + ops.events_in as u64 * (ro.o as u64).div_ceil(lanes) * cost.syn_op as u64
            + ops.neuron_updates as u64 * cost.neuron_inactive as u64
            + ops.trace_updates as u64 * cost.trace as u64;
        let mut tt = start + integ;
        let integrate_end = tt;
        let mut n_fb = 0;
        let base = self.packets.len();
        if fb && self.feedback != Feedback::External {
            // Feedback Σ_k B_jk·e_k: N·O multiply-accumulates, charged as synaptic ops \[assumption\].
            tt += (self.neurons as u64 * ro.o as u64).div_ceil(lanes) * cost.syn_op as u64;
            for (ci, c) in self.cores.iter().enumerate() {
                for j in 0..c.len {
                    tt += cost.msg_out as u64;
                    self.packets.push(Packet {
                        src: (rc * stride) as u32,
                        dst: (ci * stride) as u32,
                        inject: Cycle(tt),
                        tag: (c.first + j) as u32,
                    });
                    n_fb += 1;
                }
            }
        }
        let mut fb_arrival = 0;
        if n_fb > 0 {
            let st = self.noc.run(&self.packets[base..], &mut self.scratch_del, &mut self.link_load, &mut self.local_load);
            self.deliveries.extend_from_slice(&self.scratch_del);
            fb_arrival = st.last_arrival.0;
            let s = &mut self.noc_stats;
            s.last_arrival = s.last_arrival.max(st.last_arrival);
            s.delayed += st.delayed;
            s.delay_cycles += st.delay_cycles;
            s.blocked += st.blocked;
            s.visited_cycles += st.visited_cycles;
        }
        self.ro_timing = RoTiming { start, integrate_end, feedback_end: tt, feedback_packets: n_fb, fb_arrival };
        Ok(())
    }

    /// Phase 5, **learn**: with the learning signal (the readout's feedback slice or the host's λ) every
    /// core runs `LayerMut::learn` (online) or `LayerMut::accumulate` (learning epochs) in parallel, and
    /// the readout its own online `learn`; at the end of an epoch every core applies its accumulator.
    fn learn(&mut self, t: Timestep, target: Target<'_>, has_loss: bool) -> Result<(), EmuError> {
        for c in &mut self.cores {
            c.ops.learn = OpCounts::default();
            c.ops.learn_rows = 0;
        }
        if self.learn_on && self.window.contains(t) {
            self.learn_signal(target, has_loss)?;
        }
        if self.learn_on && self.epoch > 1 && (t.0 as u64 + 1).is_multiple_of(self.epoch as u64) {
            self.apply_epoch()?;
        }
        Ok(())
    }

    fn learn_signal(&mut self, target: Target<'_>, has_loss: bool) -> Result<(), EmuError> {
        let accumulate = self.epoch > 1;
        let lambda = match (self.feedback, target) {
            (Feedback::External, Target::Lambda(lam)) => {
                for (j, v) in self.lam.iter_mut().enumerate() {
                    *v = lam.get(j).copied().unwrap_or(0);
                }
                true
            }
            (Feedback::External, _) => {
                if let Some(ro) = self.readout.as_mut() {
                    if has_loss {
                        ro.learn(accumulate)?;
                    }
                }
                return Ok(());
            }
            _ if has_loss => false,
            _ => return Ok(()),
        };
        let rows = matches!(self.chip.cost.learn, LearnCost::RowVector { .. }) && self.opts.timing;
        let (cfg, fb, lam) = (&self.layer, &self.fb[..], &self.lam[..]);
        let run = |c: &mut HiddenCore| {
            let sig = if lambda {
                Signal::Lambda(&lam[c.first..c.first + c.len])
            } else {
                Signal::Feedback(&fb[c.first..c.first + c.len])
            };
            c.learn(cfg, sig, rows, accumulate)
        };
        for_cores_spin(self.pool.as_ref(), &mut self.cores, run)?;
        if has_loss {
            if let Some(ro) = self.readout.as_mut() {
                ro.learn(accumulate)?;
            }
        }
        Ok(())
    }

    /// End of a learning epoch: every core applies and clears its accumulator, then the readout (the
    /// order of `Net::apply`).
    fn apply_epoch(&mut self) -> Result<(), EmuError> {
        let cfg = &self.layer;
        let run = |c: &mut HiddenCore| c.apply_accumulated(cfg);
        for_cores_spin(self.pool.as_ref(), &mut self.cores, run)?;
        if let Some(ro) = self.readout.as_mut() {
            ro.apply_accumulated()?;
        }
        Ok(())
    }

    fn integrate_cycles(&self, c: &HiddenCore) -> u64 {
        let cost = &self.chip.cost;
        let lanes = cost.syn_lanes as u64;
        let syn = if lanes == 1 {
            c.ops.syn_stored
        } else {
            c.active.iter().map(|&a| (c.stored.get(a as usize).copied().unwrap_or(0) as u64).div_ceil(lanes)).sum()
        };
        syn * cost.syn_op as u64
            + (c.ops.integrate.trace_updates as u64 + c.ops.integrate.presyn_updates as u64) * cost.trace as u64
    }

    fn fire_cycles(&self, f: &OpCounts) -> u64 {
        let cost = &self.chip.cost;
        let active = f.spikes.min(f.neuron_updates) as u64;
        (f.neuron_updates as u64 - active) * cost.neuron_inactive as u64
            + active * cost.neuron_active as u64
            + f.trace_updates as u64 * cost.trace as u64
    }

    fn learn_cycles(&self, ops: &OpCounts, rows: u32, len: usize) -> u64 {
        match self.chip.cost.learn {
            LearnCost::PerSynapse { cycles } => ops.weight_updates as u64 * cycles as u64,
            LearnCost::RowVector { lanes, cycles_per_vector } => {
                rows as u64 * (len as u64).div_ceil(lanes as u64) * cycles_per_vector as u64
            }
        }
    }

    /// Phase 6, **barrier**: per-core phase intervals and energy from the operation counts, timestep
    /// latency = slowest core + network drain + barrier, static energy, observers, strict-mode check.
    fn barrier(&mut self, loss: Option<i64>, sat_before: u64, obs: &mut dyn Observer) -> Result<StepReport, EmuError> {
        let timing = self.opts.timing;
        let cost = self.chip.cost;
        let e = self.chip.energy;
        let mut rep = StepReport { step: self.time.steps, loss_q16: loss, spikes: self.spikes.len() as u32, ..Default::default() };
        let mut ops = OpCounts::default();
        for c in &self.cores {
            ops.add(&c.ops.integrate);
            ops.add(&c.ops.fire);
            ops.add(&c.ops.learn);
            rep.syn_events += c.ops.syn_stored;
        }
        if let Some(ro) = &self.readout {
            ops.add(&ro.ops_integrate);
            ops.add(&ro.ops_learn);
        }
        rep.ops = ops;
        rep.packets = self.packets.len() as u64;
        if timing {
            let stride = self.mapping.stride.max(1);
            // Feedback arrival per hidden core.
            let mut fb_arr = vec![0u64; self.cores.len()];
            let n_spike_packets = self.packets.len() - self.ro_timing.feedback_packets as usize;
            for (p, d) in self.packets[n_spike_packets..].iter().zip(&self.deliveries[n_spike_packets..]) {
                let c = p.dst as usize / stride;
                if c < fb_arr.len() {
                    fb_arr[c] = fb_arr[c].max(d.arrive.0);
                }
            }
            let mut slowest = 0u64;
            for (ci, c) in self.cores.iter().enumerate() {
                let o = &c.ops;
                let d = o.events_in as u64 * cost.axon_in as u64;
                let i = self.integrate_cycles(c);
                let f = self.fire_cycles(&o.fire);
                let r_end = self.route_end[ci];
                let l = self.learn_cycles(&o.learn, o.learn_rows, c.len);
                let l_start = r_end.max(fb_arr[ci]);
                let l_end = l_start + l;
                let pk = self.spike_packets[ci];
                let active = o.fire.spikes.min(o.fire.neuron_updates) as f64;
                let inactive = o.fire.neuron_updates as f64 - active;
                let traces_i = (o.integrate.trace_updates + o.integrate.presyn_updates) as f64;
                let cs = &mut self.core_steps[ci];
                cs.core = ci;
                cs.phases = [
                    (Cycle(0), Cycle(d)),
                    (Cycle(d), Cycle(d + i)),
                    (Cycle(d + i), Cycle(d + i + f)),
                    (Cycle(self.fire_end[ci]), Cycle(r_end)),
                    (Cycle(l_start), Cycle(l_end)),
                ];
                cs.busy = d + i + f + (r_end - self.fire_end[ci]) + l;
                cs.packets_out = pk;
                cs.energy_pj = [
                    o.events_in as f64 * e.axon_in_pj,
                    o.syn_stored as f64 * e.syn_op_pj + traces_i * e.trace_pj,
                    inactive * e.neuron_inactive_pj + active * e.neuron_active_pj + o.fire.trace_updates as f64 * e.trace_pj,
                    o.fire.spikes as f64 * e.spike_out_pj + pk as f64 * e.msg_out_pj,
                    o.learn.weight_updates as f64 * e.learn_pj,
                ];
                slowest = slowest.max(l_end).max(r_end);
            }
            // Readout core.
            if let Some(ro) = &self.readout {
                let rc = ro.core;
                let rt = self.ro_timing;
                let l = self.learn_cycles(&ro.ops_learn, if ro.ops_learn.weight_updates > 0 { ro.store.otrace.iter().filter(|&&x| x != 0).count() as u32 } else { 0 }, ro.o);
                let l_end = rt.feedback_end + l;
                let oi = &ro.ops_integrate;
                let en = [
                    oi.events_in as f64 * e.axon_in_pj,
                    oi.syn_ops as f64 * e.syn_op_pj + oi.trace_updates as f64 * e.trace_pj,
                    oi.neuron_updates as f64 * e.neuron_inactive_pj,
                    rt.feedback_packets as f64 * e.msg_out_pj
                        + if rt.feedback_packets > 0 { (self.neurons * ro.o) as f64 * e.syn_op_pj } else { 0.0 },
                    ro.ops_learn.weight_updates as f64 * e.learn_pj,
                ];
                let phases = [
                    (Cycle(rt.start), Cycle(rt.integrate_end)),
                    (Cycle(rt.integrate_end), Cycle(rt.integrate_end)),
                    (Cycle(rt.integrate_end), Cycle(rt.integrate_end)),
                    (Cycle(rt.integrate_end), Cycle(rt.feedback_end)),
                    (Cycle(rt.feedback_end), Cycle(l_end)),
                ];
                let busy = (rt.integrate_end - rt.start) + (rt.feedback_end - rt.integrate_end) + l;
                if rc < self.cores.len() {
                    // Co-located with a hidden slice: add to that core.
                    let cs = &mut self.core_steps[rc];
                    for (a, b) in cs.energy_pj.iter_mut().zip(en) {
                        *a += b;
                    }
                    cs.busy += busy;
                    cs.phases[4].1 = cs.phases[4].1.max(Cycle(l_end));
                } else {
                    let cs = &mut self.core_steps[rc];
                    *cs = CoreStep { core: rc, phases, energy_pj: en, busy, packets_out: rt.feedback_packets };
                }
                slowest = slowest.max(l_end);
            }
            let last = self.noc_stats.last_arrival.0.max(self.ro_timing.fb_arrival);
            let drain = last.saturating_sub(slowest);
            let used_tiles = self.chip.mesh.tile_of(self.mapping.cores_spanned() - 1) + 1;
            let barrier = cost.barrier_cycles(used_tiles);
            rep.slowest_core = Cycle(slowest);
            rep.drain = Cycle(drain);
            rep.barrier = Cycle(barrier);
            rep.cycles = Cycle(slowest + drain + barrier);
            let mut eb = EnergyBreakdown::default();
            for cs in &self.core_steps {
                for (a, b) in eb.phases.iter_mut().zip(cs.energy_pj) {
                    *a += b;
                }
            }
            // Links in order; an idle link adds 0 · pJ = +0, which leaves the sum as it is (energies are
            // finite and ≥ 0), so runs of idle links are skipped.
            let mut noc = 0.0;
            for (c, chunk) in self.link_load.chunks(8).enumerate() {
                if chunk.iter().all(|&n| n == 0) {
                    continue;
                }
                for (j, &n) in chunk.iter().enumerate() {
                    noc += n as f64 * if (c * 8 + j) % 4 < 2 { e.hop_ew_pj } else { e.hop_ns_pj };
                }
            }
            noc += self.local_load.iter().sum::<u64>() as f64 * e.local_pj;
            eb.noc = noc;
            // mW × ns = pJ.
            eb.static_ = e.static_mw_per_core * self.chip.mesh.cores() as f64 * rep.cycles.as_ns(self.chip.clock_mhz);
            rep.energy = eb;
            rep.delayed_packets = self.noc_stats.delayed;
            rep.delay_cycles = self.noc_stats.delay_cycles;
            rep.blocked = self.noc_stats.blocked;
        }
        rep.saturations = self.saturations();
        self.time.steps += 1;
        self.time.cycles += rep.cycles;
        {
            let view = StepView {
                report: &rep,
                cores: &self.core_steps,
                packets: &self.packets,
                deliveries: &self.deliveries,
                spikes: &self.spikes,
                link_load: &self.link_load,
                local_load: &self.local_load,
                mesh: self.chip.mesh,
            };
            obs.on_step(&view);
        }
        if self.opts.strict {
            let now = rep.saturations.total();
            if now > sat_before {
                return Err(EmuError::ChipEffect { what: "saturation or dropped event", step: rep.step, count: now - sat_before });
            }
            if rep.blocked > 0 {
                return Err(EmuError::ChipEffect { what: "router buffer full (back-pressure)", step: rep.step, count: rep.blocked });
            }
        }
        Ok(rep)
    }

    /// Chip-effect counters: hidden-layer counters summed over cores (ε^x counted once, since every core
    /// Start a new sequence, as `Net::reset_state` does: every core's neuron state, traces and pending
    /// recurrent events, and the readout's state, are cleared; weights, counters, time and statistics are
    /// kept (the mesh is already empty between timesteps).
    pub fn reset_state(&mut self) -> Result<(), EmuError> {
        let cfg = self.layer;
        for c in &mut self.cores {
            c.view(&cfg)?.reset_state();
            c.inbox.clear();
        }
        if let Some(r) = &mut self.readout {
            r.view()?.reset_state();
        }
        Ok(())
    }

    /// Readout outputs r_k after the last step (empty without a readout).
    pub fn outputs(&self) -> &[i32] {
        self.readout.as_ref().map_or(&[], |r| r.outputs())
    }

    /// keeps the same replicated ε^x), dropped host and recurrent events, plus the readout's.
    pub fn saturations(&self) -> Saturations {
        let mut s = Saturations::default();
        for (i, c) in self.cores.iter().enumerate() {
            let k = &c.store.scalars.sat;
            s.state += k.state;
            s.etrace += k.etrace;
            s.weight += k.weight;
            s.grad += k.grad;
            s.dropped_events += k.dropped_events + c.ops.dropped;
            if i == 0 {
                s.xtrace += k.xtrace;
            }
        }
        s.dropped_events += self.host_dropped;
        if let Some(r) = &self.readout {
            let k = r.store.sat;
            s.state += k.state;
            s.xtrace += k.xtrace;
            s.weight += k.weight;
            s.grad += k.grad;
            s.dropped_events += k.dropped_events;
        }
        s
    }

    /// The hidden cores (hidden slice i on core i).
    pub fn cores(&self) -> &[HiddenCore] {
        &self.cores
    }
    /// The readout, if any.
    pub fn readout(&self) -> Option<&ReadoutUnit> {
        self.readout.as_ref()
    }
    /// The mapping.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }
    /// What each core uses of its limits.
    pub fn usage(&self) -> &[CoreUsage] {
        &self.usage
    }
    /// The chip description.
    pub fn chip(&self) -> &ChipDesc {
        &self.chip
    }
    /// Elapsed emulated time.
    pub fn time(&self) -> EmuTime {
        self.time
    }
    /// Options in force.
    pub fn options(&self) -> EmuOptions {
        self.opts
    }

    /// All hidden weights gathered into one `axons × neurons` row-major matrix (for comparisons).
    pub fn hidden_weights(&self) -> Vec<plasticore_core::format::Weight> {
        let axons = self.n_ext + if self.recurrent { self.neurons } else { 0 };
        let mut w = vec![plasticore_core::format::Weight(0); axons * self.neurons];
        for c in &self.cores {
            let d = c.dense_weights();
            for a in 0..axons {
                w[a * self.neurons + c.first..a * self.neurons + c.first + c.len].copy_from_slice(&d[a * c.len..(a + 1) * c.len]);
            }
        }
        w
    }

    /// All hidden states gathered (`neurons × states`).
    pub fn hidden_state(&self) -> Vec<i32> {
        self.cores.iter().flat_map(|c| c.store.state.iter().copied()).collect()
    }

    /// All ẽ^f gathered (`neurons × states`).
    pub fn hidden_etrace(&self) -> Vec<i32> {
        self.cores.iter().flat_map(|c| c.store.etrace.iter().copied()).collect()
    }

    /// The routers' arbitration state (see `MeshSim::arbitration`).
    pub(crate) fn noc_arbitration(&self) -> &[u8] {
        self.noc.arbitration()
    }

    /// Restore the routers' arbitration state.
    pub(crate) fn set_noc_arbitration(&mut self, rr: &[u8]) -> Result<(), String> {
        self.noc.set_arbitration(rr)
    }

    /// Hidden spikes of the last step, global ids ascending.
    pub fn last_spikes(&self) -> &[u16] {
        &self.spikes
    }
}

/// Run `f` on every core. Without a pool, in order on this thread. With one (`threads` − 1 workers),
/// the cores are split into `threads` contiguous groups: this thread runs the first group while the
/// workers take the others (`ThreadPool::in_place_scope`), so no more than `threads` threads are ever
/// runnable: on a machine with exactly that many, a worker waiting for the next parallel phase never
/// takes a core from the serial phases (route, NoC, barrier) as a pool that this thread only waited
/// on did. Cores share nothing, so the grouping cannot change a result; the error returned is the
/// first in core order.
pub(crate) fn for_cores<T: Send, F>(pool: Option<&rayon::ThreadPool>, threads: usize, cores: &mut [T], f: F) -> Result<(), EmuError>
where
    F: Fn(&mut T) -> Result<(), EmuError> + Sync,
{
    let Some(pool) = pool else { return cores.iter_mut().try_for_each(f) };
    let per = cores.len().div_ceil(threads.max(1)).max(1);
    let mut results: Vec<Result<(), EmuError>> = cores.chunks(per).map(|_| Ok(())).collect();
    let f = &f;
    pool.in_place_scope(|s| {
        let mut groups = cores.chunks_mut(per).zip(results.iter_mut());
        let first = groups.next();
        for (g, r) in groups {
            s.spawn(move |_| *r = g.iter_mut().try_for_each(f));
        }
        if let Some((g, r)) = first {
            *r = g.iter_mut().try_for_each(f);
        }
    });
    results.into_iter().collect()
}

/// Run `f` on every core (the single-layer chip's `for_cores`). Without a pool, in order on this thread.
/// With one, the cores are split into `pool.threads()` contiguous groups, group 0 on this thread and
/// group i on worker i, all of which stay awake between timesteps (`spin::Pool`). Cores share nothing,
/// so the grouping cannot change a result; the error returned is the first in core order.
pub(crate) fn for_cores_spin<T: Send, F>(pool: Option<&crate::spin::Pool>, cores: &mut [T], f: F) -> Result<(), EmuError>
where
    F: Fn(&mut T) -> Result<(), EmuError> + Sync,
{
    let Some(pool) = pool else { return cores.iter_mut().try_for_each(f) };
    let per = cores.len().div_ceil(pool.threads()).max(1);
    // One uncontended lock per group hands each thread its own cores.
    type Group<'g, T> = std::sync::Mutex<(&'g mut [T], Result<(), EmuError>)>;
    let groups: Vec<Group<'_, T>> = cores.chunks_mut(per).map(|g| std::sync::Mutex::new((g, Ok(())))).collect();
    pool.run(&|i| {
        if let Some(m) = groups.get(i) {
            if let Ok(mut g) = m.lock() {
                let (cs, r) = &mut *g;
                *r = cs.iter_mut().try_for_each(&f);
            }
        }
    });
    groups
        .into_iter()
        .try_for_each(|m| m.into_inner().map_err(|_| EmuError::Network("a core group's lock was poisoned".into())).and_then(|(_, r)| r))
}
