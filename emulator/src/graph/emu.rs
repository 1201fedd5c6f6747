//! [`GraphEmulator`]: a graph network placed on the chip, and its timestep.
//!
//! [`GraphEmulator::step`] runs the phases of `plasticore_core::graph::GraphMut::step` in the same
//! order, split over cores:
//!
//! 1. **deliver**: the host's input events (filtered as `GraphMut` filters them) go into the input
//!    history; each core's active list is built from it and from its delay buffer;
//! 2. **integrate** + 3. **fire**, population by population in list order, the cores of a population in
//!    parallel; after each population, 4. **route**: every spike becomes one packet per destination
//!    core of its core's routing table and lands in the destination's delay buffer at step t + delay
//!    (a delay-0 projection is read later in the same step: its target comes later in the order);
//! 5. **readout**: integrate the spikes it received, error;
//! 6. **learning signal**, populations in reverse order: the readout computes Σ B·e for the neurons of
//!    the populations that take it and sends one word per neuron; for a `Symmetric` population with
//!    delay-0 projections out of it, every core of each downstream population computes the exact i64
//!    partial sums Σ_i W_{j→i}·δ_i over its own columns and sends them (λ packets) to the cores holding
//!    the source neurons j, which add them exactly and round once (`backprop_finish`);
//! 7. **learn** on every core with a signal (in parallel), then the readout; epoch apply;
//! 8. **barrier**: cycles, one NoC simulation of all packets of the step, energy, observers.
//!
//! Timing: each packet's injection cycle follows its core's phases; a phase that waits for packets
//! (a delay-0 target's integrate, the readout, a backprop or learn step) starts at their
//! contention-free arrival; all packets of the step (spikes and learning-signal words) are then routed in
//! **one** mesh simulation, so they contend where they overlap in time, and a later arrival than
//! scheduled shows as delay and drain. Timing never feeds back into function.

use crate::chip::{ChipDesc, LearnCost};
use crate::core_unit::ReadoutUnit;
use crate::emu::{for_cores, EmuOptions};
use crate::error::EmuError;
use crate::graph::core::{Keep, PopCore};
use crate::graph::mapping::{self, GraphMapping, RouteEntry};
use crate::graph::spec::GraphNetworkSpec;
use crate::mapping::CoreUsage;
use crate::noc::mesh::{Delivery, MeshSim, Packet, RoundStats};
use crate::observe::{CoreStep, EnergyBreakdown, Observer, StepReport, StepView};
use crate::time::{Cycle, EmuTime};
use plasticore_core::graph::{backprop_finish, backprop_shift, GraphConfig, LambdaSource, Layout, Source, MAX_POPULATIONS};
use plasticore_core::layer::{OpCounts, Saturations};
use plasticore_core::net::Timestep;
use plasticore_core::readout::{Feedback, Target};

/// Tag bit of a learning-signal packet (the rest: global neuron id of the word's neuron).
pub const TAG_SIGNAL: u32 = 1 << 31;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sig {
    None,
    Feedback,
    Lambda(usize),
}

#[derive(Clone, Copy, Debug, Default)]
struct CoreTime {
    start: u64,
    fire_end: u64,
    route_end: u64,
    signal: u64,
}

/// The emulated chip with a graph placed on it.
pub struct GraphEmulator {
    pub(crate) chip: ChipDesc,
    pub(crate) cfg: GraphConfig,
    pub(crate) lay: Layout,
    pub(crate) mapping: GraphMapping,
    pub(crate) usage: Vec<CoreUsage>,
    pub(crate) routes: Vec<Vec<RouteEntry>>,
    pub(crate) cores: Vec<PopCore>,
    /// Logical cores of each population, in slice order.
    pub(crate) pop_cores: Vec<Vec<usize>>,
    pub(crate) readout: ReadoutUnit,
    pub(crate) opts: EmuOptions,
    pub(crate) epoch: u32,
    pub(crate) pool: Option<rayon::ThreadPool>,
    pub(crate) noc: MeshSim,
    pub(crate) time: EmuTime,
    pub(crate) host_dropped: u32,
    /// Population events dropped because a population's active list was full (as `GraphMut` counts them).
    pub(crate) pop_dropped: u32,
    pub(crate) head: usize,
    pub(crate) inputs: Vec<Vec<u16>>,
    /// Every population's spikes per ring slot (`pop_hist[slot · populations + p]`, local ids ascending):
    /// where `GraphMut`'s active-list cap falls ([`Keep`]).
    pub(crate) pop_hist: Vec<Vec<u16>>,
    // Per-step scratch.
    pub(crate) spikes: Vec<u16>,
    pub(crate) packets: Vec<Packet>,
    pub(crate) deliveries: Vec<Delivery>,
    pub(crate) link_load: Vec<u64>,
    pub(crate) local_load: Vec<u64>,
    pub(crate) core_steps: Vec<CoreStep>,
    ct: Vec<CoreTime>,
    pub(crate) sums: Vec<i64>,
    pub(crate) ro_time: (u64, u64, u64, u32),
    pub(crate) noc_stats: RoundStats,
}

impl GraphEmulator {
    /// Place `spec` with the partitioner ([`mapping::partition`]) and build the chip.
    pub fn new(chip: ChipDesc, spec: GraphNetworkSpec, opts: EmuOptions) -> Result<Self, EmuError> {
        chip.validate()?;
        let m = mapping::partition(&chip, &spec)?;
        Self::with_mapping(chip, spec, m, opts)
    }

    /// Build the chip with a given mapping (checked against every limit).
    pub fn with_mapping(chip: ChipDesc, spec: GraphNetworkSpec, mapping: GraphMapping, opts: EmuOptions) -> Result<Self, EmuError> {
        chip.validate()?;
        let lay = spec.validate()?;
        let (usage, routes) = mapping::check(&chip, &spec, &lay, &mapping)?;
        let epoch = spec.learn_epoch.max(1);
        let accumulate = spec.config.learn && epoch > 1;
        let mut cores = Vec::with_capacity(mapping.cores.len());
        let mut pop_cores = vec![Vec::new(); lay.populations];
        for (i, s) in mapping.cores.iter().enumerate() {
            let stored = mapping::stored_per_row(&chip, &spec, &lay, *s);
            let mut c = PopCore::new(&spec, &lay, s.population, s.first, s.len, stored)?;
            if accumulate {
                c.acc_w = vec![0; c.accumulator_len()];
            }
            cores.push(c);
            pop_cores[s.population].push(i);
        }
        for pc in &mut pop_cores {
            pc.sort_by_key(|&i| mapping.cores[i].first);
        }
        let ro = &spec.config.readout;
        let n_ro = lay.pops[ro.source as usize].neurons;
        let mut readout = ReadoutUnit::new(mapping.readout_core, ro.config, n_ro, ro.outputs as usize, spec.readout_weights.clone())?;
        readout.view()?.reset_state();
        if accumulate {
            readout.acc_v = vec![0; spec.readout_weights.len()];
        }
        let threads = opts.threads.max(1);
        let pool = if threads > 1 && cores.len() > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads - 1)
                    .build()
                    .map_err(|e| EmuError::Network(format!("thread pool: {e}")))?,
            )
        } else {
            None
        };
        let tiles = chip.mesh.tiles();
        let n_cores = mapping.cores_used();
        Ok(GraphEmulator {
            noc: MeshSim::new(chip.mesh, chip.noc),
            cfg: spec.config,
            usage,
            routes,
            cores,
            pop_cores,
            readout,
            opts: EmuOptions { threads, ..opts },
            epoch,
            pool,
            time: EmuTime::default(),
            host_dropped: 0,
            pop_dropped: 0,
            head: 0,
            inputs: vec![Vec::new(); lay.depth],
            pop_hist: vec![Vec::new(); lay.depth * lay.populations],
            spikes: Vec::new(),
            packets: Vec::new(),
            deliveries: Vec::new(),
            link_load: vec![0; tiles * 4],
            local_load: vec![0; tiles],
            core_steps: vec![CoreStep::default(); n_cores],
            ct: vec![CoreTime::default(); n_cores],
            sums: vec![0; lay.max_neurons],
            ro_time: (0, 0, 0, 0),
            noc_stats: RoundStats::default(),
            lay,
            mapping,
            chip,
        })
    }

    /// Number of λ values [`GraphEmulator::step`] expects in `external` (as `GraphMut::external_len`).
    pub fn external_len(&self) -> usize {
        self.cfg
            .populations
            .iter()
            .zip(&self.lay.pops)
            .filter(|(p, _)| p.lambda == LambdaSource::External)
            .map(|(_, l)| l.neurons)
            .sum()
    }

    /// Start a new sequence, as `GraphMut::reset_state`: neuron states, traces, readout state and every
    /// pending (delayed) spike are cleared; weights and counters kept.
    pub fn reset_state(&mut self) -> Result<(), EmuError> {
        for c in &mut self.cores {
            c.view()?.reset_state();
            c.ring.iter_mut().for_each(Vec::clear);
            c.fb.fill(0);
        }
        self.readout.view()?.reset_state();
        self.inputs.iter_mut().for_each(Vec::clear);
        self.pop_hist.iter_mut().for_each(Vec::clear);
        self.head = 0;
        Ok(())
    }

    /// One timestep (module docs). Arguments as `GraphMut::step` (`external` for the `External`
    /// populations, or empty); a learning epoch > 1 accumulates and applies as `GraphUpdate::Accumulate`
    /// and `GraphMut::apply`. Fails on a target that does not fit the readout (`Target::check`, as
    /// `GraphMut::step`) or a wrong `external` length before touching any state, or in strict mode after
    /// the step.
    pub fn step(&mut self, t: Timestep, input: &[u16], target: Target<'_>, external: &[i32], obs: &mut dyn Observer) -> Result<StepReport, EmuError> {
        target.check(self.cfg.readout.config.loss, self.cfg.readout.outputs as usize)?;
        let ext_len = self.external_len();
        if !external.is_empty() && external.len() != ext_len {
            return Err(EmuError::Network(format!("external λ: {} values, the graph's External populations have {ext_len}", external.len())));
        }
        let sat_before = self.saturations().total();
        let learn = self.cfg.learn;
        self.packets.clear();
        self.spikes.clear();
        self.ct.iter_mut().for_each(|c| *c = CoreTime::default());
        for c in &mut self.cores {
            c.backprop_ops = 0;
            c.ops.learn = OpCounts::default();
        }
        // 1. deliver: the host's events into the input history.
        let depth = self.lay.depth;
        self.head = (self.head + 1) % depth;
        let head = self.head;
        let n_inputs = self.cfg.inputs as usize;
        let row = &mut self.inputs[head];
        row.clear();
        for &a in input {
            if (a as usize) < n_inputs && row.len() < n_inputs {
                row.push(a);
            } else {
                self.host_dropped = self.host_dropped.saturating_add(1);
            }
        }
        // 2-4. population by population: deliver + integrate + fire on its cores, then route.
        let mut ro_ready = 0u64;
        for p in 0..self.lay.populations {
            let (keep, dropped) = self.keep(p);
            self.pop_dropped = self.pop_dropped.saturating_add(dropped);
            let inputs = &self.inputs;
            let idx = &self.pop_cores[p];
            let mut mine: Vec<&mut PopCore> = self.cores.iter_mut().enumerate().filter(|(i, _)| idx.contains(i)).map(|(_, c)| c).collect();
            for_cores(self.pool.as_ref(), self.opts.threads, &mut mine, |c| {
                c.deliver(head, depth, inputs, &keep);
                c.integrate(learn)?;
                c.fire(learn)
            })?;
            ro_ready = ro_ready.max(self.route(p));
        }
        // 5. readout.
        let (loss, ops_ro) = {
            let ro = &mut self.readout;
            let mut inbox = std::mem::take(&mut ro.inbox);
            inbox.sort_unstable();
            let in_window = self.cfg.window.contains(t);
            let target = if in_window { target } else { Target::None };
            let r = {
                let mut r = ro.view()?;
                let ops = r.integrate(&inbox, learn);
                (r.error(target), ops)
            };
            inbox.clear();
            ro.inbox = inbox;
            ro.ops_integrate = r.1;
            ro.ops_learn = OpCounts::default();
            r
        };
        let cost = self.chip.cost;
        let lanes = cost.syn_lanes.max(1) as u64;
        let ro_integrate_end = ro_ready
            + ops_ro.events_in as u64 * cost.axon_in as u64
            + ops_ro.events_in as u64 * (self.readout.o as u64).div_ceil(lanes) * cost.syn_op as u64
            + ops_ro.neuron_updates as u64 * cost.neuron_inactive as u64
            + ops_ro.trace_updates as u64 * cost.trace as u64;
        self.ro_time = (ro_ready, ro_integrate_end, ro_integrate_end, 0);
        // 6-7. learning signals and learning.
        let in_window = self.cfg.window.contains(t);
        if learn && in_window {
            let sig = self.signals(loss.is_some(), external, ro_integrate_end)?;
            self.learn(&sig, external)?;
            if loss.is_some() {
                self.readout.learn(self.epoch > 1)?;
            }
        }
        if learn && self.epoch > 1 && (t.0 as u64 + 1).is_multiple_of(self.epoch as u64) {
            for_cores(self.pool.as_ref(), self.opts.threads, &mut self.cores, |c| c.apply_accumulated())?;
            self.readout.apply_accumulated()?;
        }
        self.barrier(loss, sat_before, obs)
    }

    /// Where `GraphMut`'s cap on population `p`'s active list (its axon count) falls this step: the
    /// whole list is the incoming projections' events in block order, of which the first `axons` are
    /// kept; per projection, how many of its events are kept ([`Keep`]), and how many events are dropped.
    /// Only duplicate host events in one step can make the list longer than the axons.
    fn keep(&self, p: usize) -> (Vec<Keep>, u32) {
        let Some(&c0) = self.pop_cores.get(p).and_then(|v| v.first()) else { return (Vec::new(), 0) };
        let (depth, np) = (self.lay.depth, self.lay.populations);
        let mut room = self.lay.pops[p].axons;
        let mut dropped = 0u32;
        let mut keep = Vec::with_capacity(self.cores[c0].incoming.len());
        for inc in &self.cores[c0].incoming {
            let slot = (self.head + depth - inc.delay as usize) % depth;
            let (full, k) = match inc.source {
                Source::Input { first, width } => {
                    let full = self.inputs[slot].iter().filter(|&&e| e >= first && e - first < width).count();
                    (full, Keep::First(full.min(room) as u32))
                }
                Source::Population(s) => {
                    let list = &self.pop_hist[slot * np + s as usize];
                    (list.len(), Keep::Below(list.get(room).map_or(u32::MAX, |&e| e as u32)))
                }
            };
            let n = full.min(room);
            room -= n;
            dropped = dropped.saturating_add((full - n) as u32);
            keep.push(k);
        }
        (keep, dropped)
    }

    /// Phase 4, **route** population `p`: spikes → one packet per destination core (routing table),
    /// into the destination cores' delay buffers and the readout's inbox; injection cycles after each
    /// core's fire phase. Returns the contention-free arrival of the last packet at the readout.
    fn route(&mut self, p: usize) -> u64 {
        let cost = self.chip.cost;
        let depth = self.lay.depth;
        let neuron_off = self.lay.pops[p].neuron_off;
        let mut ro_ready = 0u64;
        let hist_slot = self.head * self.lay.populations + p;
        self.pop_hist[hist_slot].clear();
        for &ci in &self.pop_cores[p] {
            let (first, listed) = (self.cores[ci].first, self.cores[ci].listed);
            let mut tt = {
                let c = &self.cores[ci];
                let ct = &mut self.ct[ci];
                let start = ct.start;
                let d = c.ops.events_in as u64 * cost.axon_in as u64;
                tt_phases(&self.chip, c, start + d)
            };
            self.ct[ci].fire_end = tt;
            for s in 0..listed {
                let j = self.cores[ci].spikes[s] as usize;
                let g = (neuron_off + first + j) as u32;
                self.spikes.push(g as u16);
                self.pop_hist[hist_slot].push((first + j) as u16);
                tt += cost.spike_out as u64;
                for e in &self.routes[ci] {
                    tt += cost.msg_out as u64;
                    let (src, dst) = (self.mapping.physical(ci) as u32, self.mapping.physical(e.dst) as u32);
                    self.packets.push(Packet { src, dst, inject: Cycle(tt), tag: g });
                    let arrive = tt + self.noc.ideal(src, dst).0;
                    for &q in &e.projections {
                        let pr = self.cfg.projections[q];
                        let dc = &mut self.cores[e.dst];
                        let k_in = dc.incoming.len();
                        if let Some(k) = dc.incoming.iter().position(|x| x.q == q) {
                            let slot = (self.head + pr.delay as usize) % depth;
                            dc.ring[slot * k_in + k].push((first + j) as u16);
                        }
                        if pr.delay == 0 {
                            let c = &mut self.ct[e.dst];
                            c.start = c.start.max(arrive);
                        }
                    }
                    if e.readout {
                        self.readout.inbox.push((first + j) as u16);
                        ro_ready = ro_ready.max(arrive);
                    }
                }
            }
            self.ct[ci].route_end = tt;
            if self.mapping.readout_core == ci {
                ro_ready = ro_ready.max(tt);
            }
        }
        ro_ready
    }

    /// Phase 6, **learning signal** of every population, downstream first (module docs). Returns each
    /// population's signal.
    fn signals(&mut self, has_loss: bool, external: &[i32], ro_start: u64) -> Result<[Sig; MAX_POPULATIONS], EmuError> {
        let cost = self.chip.cost;
        let lanes = cost.syn_lanes.max(1) as u64;
        let np = self.lay.populations;
        let mut sig = [Sig::None; MAX_POPULATIONS];
        let mut ext_off = [0usize; MAX_POPULATIONS];
        let mut o = 0;
        for (p, pop) in self.cfg.populations.iter().enumerate() {
            if pop.lambda == LambdaSource::External {
                ext_off[p] = o;
                o += self.lay.pops[p].neurons;
            }
        }
        let src = self.cfg.readout.source as usize;
        let ro_phys = self.mapping.physical(self.mapping.readout_core) as u32;
        let mut ro_tt = ro_start;
        for p in (0..np).rev() {
            let pop = self.cfg.populations[p];
            let from_readout = match pop.lambda {
                LambdaSource::RandomFeedback { seed } if has_loss => Some(Feedback::Random { seed }),
                LambdaSource::Symmetric if src == p && has_loss => Some(Feedback::Symmetric),
                _ => None,
            };
            sig[p] = match pop.lambda {
                LambdaSource::External if !external.is_empty() => Sig::Lambda(ext_off[p]),
                LambdaSource::External => Sig::None,
                LambdaSource::RandomFeedback { .. } if !has_loss => Sig::None,
                _ => Sig::Feedback,
            };
            if let Some(kind) = from_readout {
                // The readout's Σ B·e for the neurons of p (N·O multiply-adds, charged as synaptic ops),
                // one word per neuron to the core holding it.
                let n = self.lay.pops[p].neurons as u64;
                ro_tt += (n * self.readout.o as u64).div_ceil(lanes) * cost.syn_op as u64;
                let r = self.readout.view()?;
                for &ci in &self.pop_cores[p] {
                    let c = &mut self.cores[ci];
                    r.feedback_where(kind, c.first, &c.store.psi, &mut c.fb);
                    let dst = self.mapping.physical(ci) as u32;
                    for j in 0..c.len {
                        ro_tt += cost.msg_out as u64;
                        let g = (self.lay.pops[p].neuron_off + c.first + j) as u32;
                        self.packets.push(Packet { src: ro_phys, dst, inject: Cycle(ro_tt), tag: TAG_SIGNAL | g });
                        let ct = &mut self.ct[ci];
                        ct.signal = ct.signal.max(ro_tt + self.noc.ideal(ro_phys, dst).0);
                    }
                    self.ro_time.3 += c.len as u32;
                }
            } else if pop.lambda == LambdaSource::Symmetric {
                for &ci in &self.pop_cores[p] {
                    self.cores[ci].fb.fill(0);
                }
            }
            if pop.lambda != LambdaSource::Symmetric {
                continue;
            }
            let mut any = from_readout.is_some();
            for (q, pr) in self.cfg.projections.iter().enumerate() {
                if pr.delay != 0 || pr.source != Source::Population(p as u8) {
                    continue;
                }
                let m = pr.target as usize;
                let lam_m = match sig[m] {
                    Sig::None => continue,
                    Sig::Feedback => None,
                    Sig::Lambda(off) => Some(off),
                };
                let (block, np_n, dvdy) = (self.lay.block[q], self.lay.pops[p].neurons, self.lay.pops[m].dvdy);
                // Downstream cores: δ and exact partial sums over their columns, in parallel.
                let idx = &self.pop_cores[m];
                let mut mine: Vec<&mut PopCore> = self.cores.iter_mut().enumerate().filter(|(i, _)| idx.contains(i)).map(|(_, c)| c).collect();
                for_cores(self.pool.as_ref(), self.opts.threads, &mut mine, |c| {
                    let lam = lam_m.map(|off| &external[off + c.first..off + c.first + c.len]);
                    c.backprop(lam, dvdy, block, np_n);
                    Ok(())
                })?;
                // λ packets: one word per source neuron whose row has a synapse on the downstream core,
                // to the core holding that neuron; the source side adds the words exactly.
                self.sums[..np_n].fill(0);
                for &mi in &self.pop_cores[m] {
                    let mc = &self.cores[mi];
                    let mut tt = self.ct[mi].route_end.max(self.ct[mi].signal);
                    let reads: u64 = (0..np_n).map(|j| (mc.stored.get(block + j).copied().unwrap_or(0) as u64).div_ceil(lanes)).sum();
                    tt += reads * cost.syn_op as u64;
                    let src_phys = self.mapping.physical(mi) as u32;
                    for &pi in &self.pop_cores[p] {
                        let pc = &self.cores[pi];
                        let dst = self.mapping.physical(pi) as u32;
                        for j in pc.first..pc.first + pc.len {
                            if mc.stored.get(block + j).copied().unwrap_or(0) == 0 {
                                continue;
                            }
                            self.sums[j] += mc.partial[j];
                            tt += cost.msg_out as u64;
                            let g = (self.lay.pops[p].neuron_off + j) as u32;
                            self.packets.push(Packet { src: src_phys, dst, inject: Cycle(tt), tag: TAG_SIGNAL | g });
                            let ct = &mut self.ct[pi];
                            ct.signal = ct.signal.max(tt + self.noc.ideal(src_phys, dst).0);
                        }
                    }
                }
                // Source cores: one rounding per neuron with ψ ≠ 0 (as GraphMut), saturating add.
                // A projection with weight shift s: effective weights m·2^s (as GraphMut).
                let shift = backprop_shift(&self.cfg, p, m) + pr.shift as i32;
                for &pi in &self.pop_cores[p] {
                    let c = &mut self.cores[pi];
                    for j in 0..c.len {
                        if c.store.psi[j] != 0 {
                            backprop_finish(&mut c.fb[j], self.sums[c.first + j], shift);
                        }
                    }
                }
                any = true;
            }
            if !any {
                sig[p] = Sig::None;
            }
        }
        self.ro_time.2 = ro_tt;
        Ok(sig)
    }

    /// Phase 7, **learn**: every core whose population has a signal, in parallel.
    fn learn(&mut self, sig: &[Sig; MAX_POPULATIONS], external: &[i32]) -> Result<(), EmuError> {
        let accumulate = self.epoch > 1;
        for_cores(self.pool.as_ref(), self.opts.threads, &mut self.cores, |c| match sig[c.population] {
            Sig::None => Ok(()),
            Sig::Feedback => c.learn(None, accumulate),
            Sig::Lambda(off) => c.learn(Some(&external[off + c.first..off + c.first + c.len]), accumulate),
        })
    }

    fn learn_cycles(&self, ops: &OpCounts, rows: u64, len: usize) -> u64 {
        match self.chip.cost.learn {
            LearnCost::PerSynapse { cycles } => ops.weight_updates as u64 * cycles as u64,
            LearnCost::RowVector { lanes, cycles_per_vector } => rows * (len as u64).div_ceil(lanes as u64) * cycles_per_vector as u64,
        }
    }

    /// Phase 8, **barrier**: the step's packets on the mesh in one simulation, per-core phase intervals
    /// and energy, latency = slowest core + drain + barrier, observers, strict-mode check.
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
            ops.syn_ops = ops.syn_ops.saturating_add(c.backprop_ops);
            rep.syn_events += c.ops.syn_stored;
        }
        ops.add(&self.readout.ops_integrate);
        ops.add(&self.readout.ops_learn);
        rep.ops = ops;
        rep.packets = self.packets.len() as u64;
        self.link_load.iter_mut().for_each(|x| *x = 0);
        self.local_load.iter_mut().for_each(|x| *x = 0);
        self.deliveries.clear();
        self.noc_stats = RoundStats::default();
        if timing {
            self.noc_stats = self.noc.run(&self.packets, &mut self.deliveries, &mut self.link_load, &mut self.local_load);
            let mut slowest = 0u64;
            for ci in 0..self.cores.len() {
                let c = &self.cores[ci];
                let o = &c.ops;
                let ct = self.ct[ci];
                let d = o.events_in as u64 * cost.axon_in as u64;
                let i = integrate_cycles(&self.chip, c);
                let f = fire_cycles(&self.chip, &o.fire);
                let rows = if o.learn.weight_updates > 0 { c.store.xtrace.iter().filter(|&&x| x != 0).count() as u64 } else { 0 };
                let bp = (c.backprop_ops as u64).div_ceil(cost.syn_lanes.max(1) as u64) * cost.syn_op as u64;
                let l = self.learn_cycles(&o.learn, rows, c.len) + bp;
                let l_start = ct.route_end.max(ct.signal);
                let l_end = l_start + l;
                let pk = self.packets.iter().filter(|p| p.src as usize == self.mapping.physical(ci) && p.tag & TAG_SIGNAL == 0).count() as u32;
                let active = o.fire.spikes.min(o.fire.neuron_updates) as f64;
                let inactive = o.fire.neuron_updates as f64 - active;
                let traces_i = (o.integrate.trace_updates + o.integrate.presyn_updates) as f64;
                let cs = &mut self.core_steps[ci];
                cs.core = ci;
                cs.phases = [
                    (Cycle(ct.start), Cycle(ct.start + d)),
                    (Cycle(ct.start + d), Cycle(ct.start + d + i)),
                    (Cycle(ct.start + d + i), Cycle(ct.fire_end)),
                    (Cycle(ct.fire_end), Cycle(ct.route_end)),
                    (Cycle(l_start), Cycle(l_end)),
                ];
                cs.busy = d + i + f + (ct.route_end - ct.fire_end) + l;
                cs.packets_out = pk;
                cs.energy_pj = [
                    o.events_in as f64 * e.axon_in_pj,
                    o.syn_stored as f64 * e.syn_op_pj + traces_i * e.trace_pj,
                    inactive * e.neuron_inactive_pj + active * e.neuron_active_pj + o.fire.trace_updates as f64 * e.trace_pj,
                    o.fire.spikes as f64 * e.spike_out_pj + pk as f64 * e.msg_out_pj,
                    o.learn.weight_updates as f64 * e.learn_pj + c.backprop_ops as f64 * e.syn_op_pj,
                ];
                slowest = slowest.max(l_end).max(ct.route_end);
            }
            // Readout core.
            let ro = &self.readout;
            let (start, integ_end, fb_end, n_fb) = self.ro_time;
            let rows = if ro.ops_learn.weight_updates > 0 { ro.store.otrace.iter().filter(|&&x| x != 0).count() as u64 } else { 0 };
            let l = self.learn_cycles(&ro.ops_learn, rows, ro.o);
            let l_end = fb_end + l;
            let oi = &ro.ops_integrate;
            let en = [
                oi.events_in as f64 * e.axon_in_pj,
                oi.syn_ops as f64 * e.syn_op_pj + oi.trace_updates as f64 * e.trace_pj,
                oi.neuron_updates as f64 * e.neuron_inactive_pj,
                n_fb as f64 * (e.msg_out_pj + ro.o as f64 * e.syn_op_pj),
                ro.ops_learn.weight_updates as f64 * e.learn_pj,
            ];
            let busy = (integ_end - start) + (fb_end - integ_end) + l;
            let rc = ro.core;
            if rc < self.cores.len() {
                let cs = &mut self.core_steps[rc];
                for (a, b) in cs.energy_pj.iter_mut().zip(en) {
                    *a += b;
                }
                cs.busy += busy;
                cs.phases[4].1 = cs.phases[4].1.max(Cycle(l_end));
            } else {
                self.core_steps[rc] = CoreStep {
                    core: rc,
                    phases: [
                        (Cycle(start), Cycle(integ_end)),
                        (Cycle(integ_end), Cycle(integ_end)),
                        (Cycle(integ_end), Cycle(integ_end)),
                        (Cycle(integ_end), Cycle(fb_end)),
                        (Cycle(fb_end), Cycle(l_end)),
                    ],
                    energy_pj: en,
                    busy,
                    packets_out: n_fb,
                };
            }
            slowest = slowest.max(l_end);
            let drain = self.noc_stats.last_arrival.0.saturating_sub(slowest);
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
            let mut noc = 0.0;
            for (i, &n) in self.link_load.iter().enumerate() {
                noc += n as f64 * if i % 4 < 2 { e.hop_ew_pj } else { e.hop_ns_pj };
            }
            noc += self.local_load.iter().sum::<u64>() as f64 * e.local_pj;
            eb.noc = noc;
            eb.static_ = e.static_mw_per_core * self.chip.mesh.cores() as f64 * rep.cycles.as_ns(self.chip.clock_mhz);
            rep.energy = eb;
            rep.delayed_packets = self.noc_stats.delayed;
            rep.delay_cycles = self.noc_stats.delay_cycles;
            rep.blocked = self.noc_stats.blocked;
        }
        rep.saturations = self.saturations();
        self.time.steps += 1;
        self.time.cycles += rep.cycles;
        self.spikes.sort_unstable();
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

    /// Chip-effect counters summed over cores (ε^x saturations of every core: each core keeps the
    /// traces of the axons that reach it), dropped host and delivered events, and the readout's.
    pub fn saturations(&self) -> Saturations {
        let mut s = Saturations::default();
        for c in &self.cores {
            let k = &c.store.scalars.sat;
            s.state += k.state;
            s.xtrace += k.xtrace;
            s.etrace += k.etrace;
            s.weight += k.weight;
            s.grad += k.grad;
            s.dropped_events += k.dropped_events;
        }
        s.dropped_events = s.dropped_events.saturating_add(self.host_dropped).saturating_add(self.pop_dropped);
        let k = self.readout.store.sat;
        s.state += k.state;
        s.xtrace += k.xtrace;
        s.weight += k.weight;
        s.grad += k.grad;
        s.dropped_events += k.dropped_events;
        s
    }

    /// The population cores, in logical core order.
    pub fn cores(&self) -> &[PopCore] {
        &self.cores
    }
    /// The readout.
    pub fn readout(&self) -> &ReadoutUnit {
        &self.readout
    }
    /// The mapping.
    pub fn mapping(&self) -> &GraphMapping {
        &self.mapping
    }
    /// The routing tables (per logical core).
    pub fn routes(&self) -> &[Vec<RouteEntry>] {
        &self.routes
    }
    /// What each core uses of its limits.
    pub fn usage(&self) -> &[CoreUsage] {
        &self.usage
    }
    /// The pooled layout of the graph.
    pub fn layout(&self) -> &Layout {
        &self.lay
    }
    /// The chip description.
    pub fn chip(&self) -> &ChipDesc {
        &self.chip
    }
    /// Elapsed emulated time.
    pub fn time(&self) -> EmuTime {
        self.time
    }

    /// Spikes of population `p` in the last step, population-local ids ascending.
    pub fn spikes(&self, p: usize) -> Vec<u16> {
        let mut v = Vec::new();
        for &ci in self.pop_cores.get(p).map(|v| &v[..]).unwrap_or(&[]) {
            let c = &self.cores[ci];
            v.extend(c.spikes().iter().map(|&j| (c.first + j as usize) as u16));
        }
        v
    }

    /// Weights of population `p` gathered as a dense `axons × neurons` matrix.
    pub fn dense_weights(&self, p: usize) -> Vec<plasticore_core::format::Weight> {
        let Some(l) = self.lay.pops.get(p).filter(|_| p < self.lay.populations) else { return Vec::new() };
        let mut w = vec![plasticore_core::format::Weight(0); l.axons * l.neurons];
        for &ci in &self.pop_cores[p] {
            let c = &self.cores[ci];
            let d = c.dense_weights();
            for a in 0..l.axons {
                w[a * l.neurons + c.first..a * l.neurons + c.first + c.len].copy_from_slice(&d[a * c.len..(a + 1) * c.len]);
            }
        }
        w
    }

    /// Per-neuron data of population `p` gathered in neuron order (`f` picks a core's slice: states,
    /// ẽ^f, ψ, feedback, ...).
    pub fn gather<'s>(&'s self, p: usize, f: impl Fn(&'s PopCore) -> &'s [i32]) -> Vec<i32> {
        let mut v = Vec::new();
        for &ci in self.pop_cores.get(p).map(|v| &v[..]).unwrap_or(&[]) {
            v.extend_from_slice(f(&self.cores[ci]));
        }
        v
    }
}

fn integrate_cycles(chip: &ChipDesc, c: &PopCore) -> u64 {
    let cost = &chip.cost;
    let lanes = cost.syn_lanes.max(1) as u64;
    let syn = if lanes == 1 {
        c.ops.syn_stored
    } else {
        c.active.iter().map(|&a| (c.stored.get(a as usize).copied().unwrap_or(0) as u64).div_ceil(lanes)).sum()
    };
    syn * cost.syn_op as u64 + (c.ops.integrate.trace_updates as u64 + c.ops.integrate.presyn_updates as u64) * cost.trace as u64
}

fn fire_cycles(chip: &ChipDesc, f: &OpCounts) -> u64 {
    let cost = &chip.cost;
    let active = f.spikes.min(f.neuron_updates) as u64;
    (f.neuron_updates as u64 - active) * cost.neuron_inactive as u64 + active * cost.neuron_active as u64 + f.trace_updates as u64 * cost.trace as u64
}

/// End of fire for a core whose integrate starts at `start`.
fn tt_phases(chip: &ChipDesc, c: &PopCore, start: u64) -> u64 {
    start + integrate_cycles(chip, c) + fire_cycles(chip, &c.ops.fire)
}
