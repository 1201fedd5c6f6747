//! The units that live on emulated cores: a hidden-layer slice ([`HiddenCore`]) and the readout
//! ([`ReadoutUnit`]). They own run-time-sized buffers and call `plasticore-core`'s phases; they contain
//! no neuron or learning arithmetic of their own.

use crate::error::EmuError;
use plasticore_core::format::Weight;
use crate::network::NetworkSpec;
use crate::storage::{LayerStore, ReadoutStore};
use plasticore_core::layer::{compact_weights, Csr, FrozenCsr, LayerConfig, LayerMut, LayerScalars, OpCounts, RowHint, Signal};
use plasticore_core::readout::{ReadoutConfig, ReadoutMut};
use plasticore_core::layer::Saturations;

/// What one hidden core did in the current timestep (read by the cost model).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoreOps {
    /// Events in the active list (external + recurrent received).
    pub events_in: u32,
    /// Stored synapses of the active rows (the chip's synaptic ops).
    pub syn_stored: u64,
    /// Counts returned by `integrate`.
    pub integrate: OpCounts,
    /// Counts returned by `fire`.
    pub fire: OpCounts,
    /// Counts returned by `learn`.
    pub learn: OpCounts,
    /// Rows (axons with ε^x ≠ 0) touched by `learn` (for row-wise vector learning engines).
    pub learn_rows: u32,
    /// Recurrent events dropped because the active list was full.
    pub dropped: u32,
}

/// A contiguous slice `[first, first + len)` of the hidden layer: all presynaptic axons × `len` neurons,
/// dense (`axons × len` weights) or sparse (compressed rows of the non-zero weights).
pub struct HiddenCore {
    /// First global neuron.
    pub first: usize,
    /// Local neurons.
    pub len: usize,
    pub(crate) axons: usize,
    /// Weights (dense rows, compressed rows, or none when frozen), states, traces, counters.
    pub(crate) store: LayerStore,
    /// Stored synapses per presynaptic row on this core.
    pub(crate) stored: Vec<u32>,
    /// Recurrent events (global neuron ids) delivered by the network for the next timestep.
    pub(crate) inbox: Vec<u16>,
    pub(crate) active: Vec<u16>,
    pub(crate) spikes: Vec<u16>,
    pub(crate) listed: usize,
    pub(crate) ops: CoreOps,
    /// Weight-update accumulator (`axons × len`, weight LSB · 2⁻¹⁶) in learning-epoch mode, else empty.
    pub(crate) acc_w: Vec<i32>,
    /// Sparse structure (`axons + 1` row offsets and local columns), empty when dense.
    pub(crate) row_start: Vec<u32>,
    pub(crate) cols: Vec<u16>,
    pub(crate) sparse: bool,
    /// The synapses of a core that never learns, in compact form (`i8` weights): then the layer's own
    /// synapse buffers are empty (`weights`, `row_start`, `cols`; `LayerMut::new_frozen`) and
    /// `integrate` reads these.
    pub(crate) frozen: Option<Frozen>,
}

/// A frozen core's synapses: compressed rows of `u16` local columns and `i8` weights (3 bytes per
/// synapse) plus `axons + 1` row offsets.
pub type FrozenSynapses = FrozenCsr<Vec<u32>, Vec<u16>, Vec<i8>>;
pub(crate) type Frozen = FrozenSynapses;

/// Tells the memory system which synapse row a frozen core reads next (see [`RowHint`]): a software
/// prefetch of every cache line of the row four events ahead, so those lines are on their way while the
/// current row is summed (the synapse memory of W1 at N = 16000 is 77 MB; each row starts at an address
/// the hardware prefetcher cannot guess). A prefetch reads nothing into the program and cannot fault, so
/// it cannot change a result. Other targets get no hint. Rows are summed by the AVX-512 kernel of
/// [`crate::simd`] where the CPU has it (same bits as core-nostd's loop), else by core-nostd.
pub(crate) struct Prefetch;
impl RowHint for Prefetch {
    // W1 N = 16000, perf samples of integrate in 7 interleaved pairs (load 3.7-5.2): 4 ahead below 2
    // ahead in 5 pairs, mean -6 % (within the noise); 1 ahead no better; no prefetch +35-50 %.
    const AHEAD: usize = 4;
    #[inline(always)]
    fn upcoming(&mut self, cols: &[u16], weights: &[i8]) {
        for c in cols.chunks(32) {
            crate::prefetch::line(c.as_ptr() as *const u8);
        }
        for w in weights.chunks(64) {
            crate::prefetch::line(w.as_ptr() as *const u8);
        }
    }
    #[inline(always)]
    fn add_row(&mut self, acc: &mut [i32], cols: &[u16], weights: &[i8]) -> bool {
        crate::simd::add_row(acc, cols, weights)
    }
}

impl HiddenCore {
    /// Buffers for `axons × len` with the weights of the slice copied out of the network (only the
    /// non-zero ones, in compressed rows, when sparse; in compact frozen form when `frozen` too).
    pub(crate) fn new(net: &NetworkSpec, first: usize, len: usize, stored: Vec<u32>, frozen: bool) -> Result<Self, EmuError> {
        let cfg = &net.layer;
        let axons = net.axons();
        let sparse = net.sparse;
        let s = cfg.neuron.states();
        let (mut weights, mut row_start, mut cols) = (Vec::new(), Vec::new(), Vec::new());
        let mut frozen_syn = None;
        if sparse {
            row_start.reserve(axons + 1);
            row_start.push(0u32);
            for a in 0..axons {
                net.for_each_stored(a, first, len, |j, w| {
                    cols.push(j);
                    weights.push(w);
                });
                if weights.len() > u32::MAX as usize {
                    return Err(EmuError::Network("more than 2^32 - 1 synapses on one core".into()));
                }
                row_start.push(weights.len() as u32);
            }
            if frozen {
                // Validated once, O(synapses); the layer keeps an empty synapse structure of its own.
                let mut w8 = vec![0i8; weights.len()];
                compact_weights(&weights, &mut w8)?;
                frozen_syn = Some(FrozenCsr::new(std::mem::take(&mut row_start), std::mem::take(&mut cols), w8, axons, len)?);
                weights = Vec::new();
            } else {
                // The O(synapses) structure check, once; every timestep re-checks only the O(axons) bounds.
                Csr { row_start: &row_start, cols: &cols }.validate(axons, len)?;
            }
        } else {
            let n = net.neurons;
            weights.reserve(axons * len);
            for a in 0..axons {
                weights.extend_from_slice(&net.weights[a * n + first..a * n + first + len]);
            }
        }
        let mut c = HiddenCore {
            first,
            len,
            axons,
            store: LayerStore::new(weights, axons, len, s),
            stored,
            inbox: Vec::new(),
            active: Vec::with_capacity(axons),
            spikes: vec![0; len],
            listed: 0,
            ops: CoreOps::default(),
            acc_w: Vec::new(),
            row_start,
            cols,
            sparse,
            frozen: frozen_syn,
        };
        // Same initial state as `Layer::configure` (reset_state), and a check that the buffers fit.
        c.view(cfg)?.reset_state();
        Ok(c)
    }

    /// The core's datapath over its buffers.
    pub fn view<'a>(&'a mut self, cfg: &'a LayerConfig) -> Result<LayerMut<'a>, EmuError> {
        let frozen = self.frozen.is_some();
        self.view_as(cfg, frozen)
    }

    /// [`HiddenCore::view`], told whether the core is frozen (its `FrozenCsr` may be lent out).
    fn view_as<'a>(&'a mut self, cfg: &'a LayerConfig, frozen: bool) -> Result<LayerMut<'a>, EmuError> {
        let b = self.store.buffers();
        Ok(if frozen {
            LayerMut::new_frozen(cfg, b, self.axons, self.len, self.first as u32)?
        } else if self.sparse {
            let csr = Csr { row_start: &self.row_start, cols: &self.cols };
            LayerMut::new_sparse_validated(cfg, b, csr, self.axons, self.len, self.first as u32)?
        } else {
            LayerMut::new(cfg, b, self.axons, self.len, self.first as u32)?
        })
    }

    /// The weights as a dense `axons × len` matrix (zeros where a sparse core has no synapse).
    pub fn dense_weights(&self) -> Vec<Weight> {
        if let Some(f) = &self.frozen {
            let mut w = vec![Weight(0); self.axons * self.len];
            for a in 0..self.axons {
                let (cols, ws) = f.row(a);
                for (&j, &v) in cols.iter().zip(ws) {
                    w[a * self.len + j as usize] = Weight(v as i16);
                }
            }
            return w;
        }
        if !self.sparse {
            return self.store.weights.clone();
        }
        let mut w = vec![Weight(0); self.axons * self.len];
        for a in 0..self.axons {
            let (s, e) = (self.row_start[a] as usize, self.row_start[a + 1] as usize);
            for (&j, &v) in self.cols[s..e].iter().zip(&self.store.weights[s..e]) {
                w[a * self.len + j as usize] = v;
            }
        }
        w
    }

    /// Phase **deliver**: the active list = `ext` then the received recurrent events, ascending, at axon
    /// `n_ext + j`, at most `axons` in all (the rest dropped and counted, as `Net` does).
    pub(crate) fn deliver(&mut self, ext: &[u16], n_ext: usize) {
        let mut ops = CoreOps::default();
        self.active.clear();
        self.active.extend_from_slice(ext);
        self.inbox.sort_unstable();
        for &j in &self.inbox {
            if self.active.len() >= self.axons {
                ops.dropped += 1;
            } else {
                self.active.push((n_ext + j as usize) as u16);
            }
        }
        self.inbox.clear();
        ops.events_in = self.active.len() as u32;
        ops.syn_stored = self.active.iter().map(|&a| self.stored.get(a as usize).copied().unwrap_or(0) as u64).sum();
        self.ops = ops;
    }

    /// Phase **integrate**: `LayerMut::integrate` over the active list.
    pub(crate) fn integrate(&mut self, cfg: &LayerConfig, learn: bool) -> Result<(), EmuError> {
        let active = std::mem::take(&mut self.active);
        let frozen = self.frozen.take();
        let r = match &frozen {
            Some(f) => self.view_as(cfg, true).and_then(|mut l| Ok(l.integrate_frozen(f, &active, learn, &mut Prefetch)?)),
            None => self.view(cfg).map(|mut l| l.integrate(&active, learn)),
        };
        self.frozen = frozen;
        self.active = active;
        self.ops.integrate = r?;
        Ok(())
    }

    /// Phase **fire**: `LayerMut::fire`, listing the local spikes.
    pub(crate) fn fire(&mut self, cfg: &LayerConfig, learn: bool) -> Result<(), EmuError> {
        let mut spikes = std::mem::take(&mut self.spikes);
        let r = self.view(cfg).map(|mut l| l.fire(learn, &mut spikes));
        self.spikes = spikes;
        let (f, listed) = r?;
        self.ops.fire = f;
        self.listed = listed;
        Ok(())
    }

    /// Phase learn with this core's part of the learning signal (`fb` or `lambda`: one entry per local
    /// neuron): `LayerMut::learn`, or `LayerMut::accumulate` into the epoch accumulator.
    pub(crate) fn learn(&mut self, cfg: &LayerConfig, sig: Signal<'_>, count_rows: bool, accumulate: bool) -> Result<(), EmuError> {
        let c = if accumulate {
            let mut acc = std::mem::take(&mut self.acc_w);
            let r = self.view(cfg)?.accumulate(sig, &mut acc);
            self.acc_w = acc;
            r?
        } else {
            self.view(cfg)?.learn(sig)
        };
        self.ops.learn = c;
        self.ops.learn_rows =
            if count_rows && c.weight_updates > 0 { self.store.xtrace.iter().filter(|&&x| x != 0).count() as u32 } else { 0 };
        Ok(())
    }

    /// End of a learning epoch: `LayerMut::apply_accumulated` (every row is swept).
    pub(crate) fn apply_accumulated(&mut self, cfg: &LayerConfig) -> Result<(), EmuError> {
        let mut acc = std::mem::take(&mut self.acc_w);
        let r = self.view(cfg)?.apply_accumulated(&mut acc);
        self.acc_w = acc;
        self.ops.learn.add(&r?);
        self.ops.learn_rows = self.ops.learn_rows.max(self.axons as u32);
        Ok(())
    }

    /// Local spikes of the last `fire` (local indices, ascending).
    pub fn spikes(&self) -> &[u16] {
        &self.spikes[..self.listed]
    }
    /// Whether the core's synapses are frozen (compact `i8`, never learn; `weights` is then empty).
    pub fn is_frozen(&self) -> bool {
        self.frozen.is_some()
    }
    /// A frozen core's synapses (compressed rows of local `u16` columns and `i8` weights).
    pub fn frozen_synapses(&self) -> Option<&FrozenSynapses> {
        self.frozen.as_ref()
    }
    /// Stored synapses per presynaptic row (what synaptic ops and synapse memory charge).
    pub fn stored(&self) -> &[u32] {
        &self.stored
    }
    /// Stored weights: row-major by axon (`axons × len`) when dense, compressed rows when sparse, empty
    /// when frozen (see [`HiddenCore::dense_weights`]).
    pub fn weights(&self) -> &[Weight] {
        &self.store.weights
    }
    /// Neuron states (`len × states`).
    pub fn state(&self) -> &[i32] {
        &self.store.state
    }
    /// ẽ^f (`len × states`).
    pub fn etrace(&self) -> &[i32] {
        &self.store.etrace
    }
    /// ε^x (replicated on every core).
    pub fn xtrace(&self) -> &[u16] {
        &self.store.xtrace
    }
    /// Counters and update count.
    pub fn scalars(&self) -> &LayerScalars {
        &self.store.scalars
    }
    /// What the core did this timestep.
    pub fn ops(&self) -> &CoreOps {
        &self.ops
    }
}

/// The readout, placed on one core.
pub struct ReadoutUnit {
    /// Core it lives on.
    pub core: usize,
    pub(crate) cfg: ReadoutConfig,
    pub(crate) n: usize,
    pub(crate) o: usize,
    /// V, r, ε^o, error, gradient factors, counters.
    pub(crate) store: ReadoutStore,
    /// Hidden spikes received this step (global ids).
    pub(crate) inbox: Vec<u16>,
    pub(crate) ops_integrate: OpCounts,
    pub(crate) ops_learn: OpCounts,
    /// Readout weight-update accumulator (`n × o`, weight LSB · 2⁻¹⁶) in learning-epoch mode, else empty.
    pub(crate) acc_v: Vec<i32>,
}

impl ReadoutUnit {
    pub(crate) fn new(core: usize, cfg: ReadoutConfig, n: usize, o: usize, weights: Vec<Weight>) -> Result<Self, EmuError> {
        let mut u = ReadoutUnit {
            core,
            cfg,
            n,
            o,
            store: ReadoutStore::new(weights, n, o),
            inbox: Vec::new(),
            ops_integrate: OpCounts::default(),
            ops_learn: OpCounts::default(),
            acc_v: Vec::new(),
        };
        u.view()?;
        Ok(u)
    }

    /// The readout datapath.
    pub fn view(&mut self) -> Result<ReadoutMut<'_>, EmuError> {
        Ok(ReadoutMut::new(
            &self.cfg,
            self.store.buffers(),
            self.n,
            self.o,
        )?)
    }

    /// Learn: `ReadoutMut::learn` (online), or `ReadoutMut::accumulate` into the epoch accumulator.
    pub(crate) fn learn(&mut self, accumulate: bool) -> Result<(), EmuError> {
        self.ops_learn = if accumulate {
            let mut acc = std::mem::take(&mut self.acc_v);
            let r = self.view()?.accumulate(&mut acc);
            self.acc_v = acc;
            r?
        } else {
            self.view()?.learn()
        };
        Ok(())
    }

    /// End of a learning epoch: `ReadoutMut::apply_accumulated`.
    pub(crate) fn apply_accumulated(&mut self) -> Result<(), EmuError> {
        let mut acc = std::mem::take(&mut self.acc_v);
        let r = self.view()?.apply_accumulated(&mut acc);
        self.acc_v = acc;
        self.ops_learn.add(&r?);
        Ok(())
    }

    /// Readout weights V.
    pub fn weights(&self) -> &[Weight] {
        &self.store.weights
    }
    /// r_k.
    pub fn outputs(&self) -> &[i32] {
        &self.store.r
    }
    /// ε^o.
    pub fn otrace(&self) -> &[u16] {
        &self.store.otrace
    }
    /// Counters.
    pub fn saturations(&self) -> &Saturations {
        &self.store.sat
    }
}
