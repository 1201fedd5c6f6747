//! A graph network (`plasticore_core::graph`) of any layout over heap-allocated pooled buffers: the
//! run-time-sized owner of the buffers behind a [`GraphMut`] (the core's `Graph` is sized at compile
//! time). Used by `image run` on graph images and by the quantization sweep (`sweep`).
use plasticore_core::error::ConfigError;
use plasticore_core::format::Weight;
use plasticore_core::graph::{GraphBuffers, GraphConfig, GraphMut, GraphScalars, PoolBuffers};
use plasticore_core::layer::{Csr, LayerScalars, Saturations};
use plasticore_core::neuron::ParamSlot;
use plasticore_core::readout::ReadoutBuffers;

/// Pooled storage for any graph layout, on the heap.
pub struct HeapGraph {
    w: Vec<Weight>,
    st: Vec<i32>,
    et: Vec<i32>,
    xt: Vec<u16>,
    pre: Vec<[i32; 2]>,
    eff: Vec<i32>,
    acc: Vec<i32>,
    psi: Vec<i32>,
    grad: Vec<i64>,
    bias: Vec<i32>,
    params: Vec<ParamSlot>,
    sc: Vec<LayerScalars>,
    ro: Vec<Weight>,
    r: Vec<i32>,
    ot: Vec<u16>,
    err: Vec<i32>,
    rg: Vec<i64>,
    sat: Saturations,
    upd: u32,
    fb: Vec<i32>,
    hist: Vec<u16>,
    hc: Vec<u16>,
    act: Vec<u16>,
    spk: Vec<u16>,
    dl: Vec<i32>,
    gs: GraphScalars,
}

impl HeapGraph {
    /// Buffers for `cfg` with `topo`, holding the pooled weights `w` (the layout's order), the readout
    /// weights `ro` (neuron-major), the biases (Σ neurons) and the per-neuron parameter records (empty when
    /// no population has them, `graph::ParamMode`). Lengths are checked by [`HeapGraph::view`].
    pub fn new(cfg: &GraphConfig, topo: &[Option<Csr<'_>>], w: Vec<Weight>, ro: Vec<Weight>, bias: Vec<i32>, params: Vec<ParamSlot>) -> Result<HeapGraph, ConfigError> {
        let l = cfg.layout(topo)?;
        let o = cfg.readout.outputs as usize;
        Ok(HeapGraph {
            w,
            st: vec![0; l.states],
            et: vec![0; l.states],
            xt: vec![0; l.axons],
            pre: vec![[0; 2]; l.presyn],
            eff: vec![0; l.presyn],
            acc: vec![0; l.neurons],
            psi: vec![0; l.neurons],
            grad: vec![0; l.neurons],
            bias,
            params,
            sc: vec![LayerScalars::default(); l.populations],
            ro,
            r: vec![0; o],
            ot: vec![0; l.readout_weights / o.max(1)],
            err: vec![0; o],
            rg: vec![0; o],
            sat: Saturations::default(),
            upd: 0,
            fb: vec![0; l.neurons],
            hist: vec![0; l.hist_len()],
            hc: vec![0; l.hist_counts()],
            act: vec![0; l.max_axons],
            spk: vec![0; l.max_neurons],
            dl: vec![0; l.max_neurons],
            gs: GraphScalars::default(),
        })
    }

    /// The datapath over these buffers, state reset (every buffer length checked by `GraphMut::new`).
    pub fn view<'a>(&'a mut self, cfg: &'a GraphConfig, topo: &[Option<Csr<'a>>]) -> Result<GraphMut<'a>, ConfigError> {
        let b = GraphBuffers {
            pool: PoolBuffers {
                weights: &mut self.w,
                state: &mut self.st,
                etrace: &mut self.et,
                xtrace: &mut self.xt,
                presyn: &mut self.pre,
                efficacy: &mut self.eff,
                acc: &mut self.acc,
                psi: &mut self.psi,
                grad: &mut self.grad,
                bias: &mut self.bias,
                params: &mut self.params,
                scalars: &mut self.sc,
            },
            readout: ReadoutBuffers {
                weights: &mut self.ro,
                r: &mut self.r,
                otrace: &mut self.ot,
                err: &mut self.err,
                grad: &mut self.rg,
                sat: &mut self.sat,
                updates: &mut self.upd,
            },
            fb: &mut self.fb,
            hist: &mut self.hist,
            hist_count: &mut self.hc,
            active: &mut self.act,
            spikes: &mut self.spk,
            delta: &mut self.dl,
            scalars: &mut self.gs,
        };
        let mut g = GraphMut::new(cfg, topo, b)?;
        g.reset_state();
        Ok(g)
    }
}
