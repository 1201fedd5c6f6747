//! Snapshots of a graph chip between timesteps, in the header of [`crate::snapshot`] with magic
//! `PLCEMUG\0` and version [`GRAPH_VERSION`]. Payload: fingerprint (chip description, graph
//! configuration, learning epoch, mapping, every core's compressed-row structure), emulated time,
//! dropped host and population events, the ring position, the host's input history and every
//! population's spike history, then per core its weights, neuron states, traces, STD/STP state,
//! accumulators, ψ, counters and update counts, Σ B·e, its biases, its delay
//! buffers (the spikes already delivered for later timesteps: with the mesh drained at the barrier,
//! the whole in-flight state) and epoch accumulator; the readout; the routers' arbitration state.
//! Loading checks everything into temporary buffers first: a damaged or foreign file leaves the chip
//! untouched.

use crate::error::EmuError;
use crate::graph::emu::GraphEmulator;
use crate::snapshot::{bad, fnv64, R, W};
use plasticore_core::format::Weight;
use plasticore_core::layer::LayerScalars;
use std::io::Write as _;
use std::path::Path;

/// Graph snapshot format version. Version 3: STD/STP state and efficacies only for the axons of
/// projections that have STD/STP (per-projection formats; version 2 held them for every axon), and the
/// projections' weight shifts and STD/STP kinds in the fingerprint. A version-2 file is refused with an
/// error naming both versions (its payload cannot be reinterpreted: its STD/STP arrays have other lengths).
pub const GRAPH_VERSION: u32 = 3;
const MAGIC: &[u8; 8] = b"PLCEMUG\0";

struct CoreState {
    weights: Vec<Weight>,
    state: Vec<i32>,
    etrace: Vec<i32>,
    xtrace: Vec<u16>,
    presyn: Vec<[i32; 2]>,
    efficacy: Vec<i32>,
    psi: Vec<i32>,
    grad: Vec<i64>,
    scalars: LayerScalars,
    fb: Vec<i32>,
    bias: Vec<i32>,
    ring: Vec<Vec<u16>>,
    acc_w: Vec<i32>,
}

impl GraphEmulator {
    /// Fingerprint of what a snapshot belongs to: chip, graph, epoch, mapping, core structure.
    pub fn fingerprint(&self) -> u64 {
        let mut s = self.chip.to_toml();
        s.push_str(&format!("{:?}|{}|{:?}", self.cfg, self.epoch, self.mapping));
        let mut h = fnv64(s.as_bytes());
        for c in &self.cores {
            let mut b = vec![c.sparse as u8];
            for v in &c.row_start {
                b.extend_from_slice(&v.to_le_bytes());
            }
            for v in &c.cols {
                b.extend_from_slice(&v.to_le_bytes());
            }
            h ^= fnv64(&b).rotate_left(17);
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        h
    }

    /// The chip state as snapshot bytes (header included).
    pub fn snapshot_bytes(&self) -> Vec<u8> {
        let mut w = W::default();
        w.u64(self.fingerprint());
        w.u64(self.time.steps);
        w.u64(self.time.cycles.0);
        w.u32(self.host_dropped);
        w.u32(self.pop_dropped);
        w.u32(self.head as u32);
        for row in &self.inputs {
            w.u16s(row);
        }
        for row in &self.pop_hist {
            w.u16s(row);
        }
        for c in &self.cores {
            w.weights(&c.store.weights);
            w.i32s(&c.store.state);
            w.i32s(&c.store.etrace);
            w.u16s(&c.store.xtrace);
            w.pairs(&c.store.presyn);
            w.i32s(&c.store.efficacy);
            w.i32s(&c.store.psi);
            w.i64s(&c.store.grad);
            w.sat(&c.store.scalars.sat);
            w.u32(c.store.scalars.updates);
            w.i32s(&c.fb);
            w.i32s(&c.bias);
            for slot in &c.ring {
                w.u16s(slot);
            }
            w.i32s(&c.acc_w);
        }
        let r = &self.readout;
        w.weights(&r.store.weights);
        w.i32s(&r.store.r);
        w.u16s(&r.store.otrace);
        w.i32s(&r.store.err);
        w.i64s(&r.store.grad);
        w.sat(&r.store.sat);
        w.u32(r.store.updates);
        w.i32s(&r.acc_v);
        w.bytes(self.noc.arbitration());
        let payload = w.0;
        let mut out = Vec::with_capacity(payload.len() + 28);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&GRAPH_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&fnv64(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    /// Restore from snapshot bytes. On any error the chip is left unchanged.
    pub fn restore_bytes(&mut self, b: &[u8]) -> Result<(), EmuError> {
        if b.len() < 28 {
            return Err(bad("file too short for the header"));
        }
        if &b[..8] != MAGIC {
            return Err(bad("not a plasticore-emu graph snapshot (bad magic)"));
        }
        let version = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        if version != GRAPH_VERSION {
            return Err(EmuError::Snapshot(format!("graph format version {version}, this build reads {GRAPH_VERSION}")));
        }
        let mut l = [0u8; 8];
        l.copy_from_slice(&b[12..20]);
        if u64::from_le_bytes(l) != (b.len() - 28) as u64 {
            return Err(bad("payload length differs from the header (truncated?)"));
        }
        l.copy_from_slice(&b[20..28]);
        let payload = &b[28..];
        if fnv64(payload) != u64::from_le_bytes(l) {
            return Err(bad("checksum mismatch (damaged file)"));
        }
        let mut r = R { b: payload, pos: 0 };
        if r.u64()? != self.fingerprint() {
            return Err(bad("the snapshot belongs to a different chip, graph or mapping"));
        }
        let steps = r.u64()?;
        let cycles = r.u64()?;
        let host_dropped = r.u32()?;
        let pop_dropped = r.u32()?;
        let head = r.u32()? as usize;
        if head >= self.lay.depth {
            return Err(bad("ring position outside the history"));
        }
        let n_in = self.cfg.inputs;
        let mut inputs = Vec::with_capacity(self.inputs.len());
        for _ in 0..self.inputs.len() {
            let row = r.u16s(None, "input history")?;
            if row.len() > n_in as usize || row.iter().any(|&a| a >= n_in) {
                return Err(bad("input history names a channel that does not exist"));
            }
            inputs.push(row);
        }
        let np = self.lay.populations;
        let mut pop_hist = Vec::with_capacity(self.pop_hist.len());
        for k in 0..self.pop_hist.len() {
            let n = self.lay.pops[k % np].neurons;
            let row = r.u16s(None, "spike history")?;
            if row.len() > n || row.iter().any(|&j| j as usize >= n) || row.windows(2).any(|w| w[0] >= w[1]) {
                return Err(bad("spike history names a neuron that does not exist, or is not ascending"));
            }
            pop_hist.push(row);
        }
        let mut cs = Vec::with_capacity(self.cores.len());
        for c in &self.cores {
            let (a, n, s) = (c.axons, c.len, self.lay.pops[c.population].states);
            let mut st = CoreState {
                weights: r.weights(c.store.weights.len(), "weights")?,
                state: r.i32s(Some(n * s), "state")?,
                etrace: r.i32s(Some(n * s), "etrace")?,
                xtrace: r.u16s(Some(a), "xtrace")?,
                // STD/STP state only for the axons that have it (the population's layout).
                presyn: r.pairs(c.store.presyn.len(), "presyn")?,
                efficacy: r.i32s(Some(c.store.efficacy.len()), "efficacy")?,
                psi: r.i32s(Some(n), "psi")?,
                grad: r.i64s(Some(n), "grad")?,
                scalars: LayerScalars { sat: r.sat()?, updates: r.u32()? },
                fb: r.i32s(Some(n), "feedback")?,
                bias: r.i32s(Some(c.bias.len()), "bias")?,
                ring: Vec::with_capacity(c.ring.len()),
                acc_w: Vec::new(),
            };
            for k in 0..c.ring.len() {
                let inc = c.incoming[k % c.incoming.len().max(1)];
                let width = self.cfg.source_width(inc.source);
                let slot = r.u16s(None, "delay buffer")?;
                if slot.len() > width || slot.iter().any(|&j| j as usize >= width) {
                    return Err(bad("delay buffer names a neuron that does not exist"));
                }
                st.ring.push(slot);
            }
            st.acc_w = r.i32s(Some(c.acc_w.len()), "weight-update accumulator")?;
            let wmax = c.cfg.formats.weight_max();
            if st.weights.iter().any(|w| (w.0 as i32).abs() > wmax) {
                return Err(bad("weight outside its format"));
            }
            let one = plasticore_core::presyn::ONE;
            if st.efficacy.iter().any(|&e| !(0..=one).contains(&e)) || st.presyn.iter().flatten().any(|&e| !(0..=one).contains(&e)) {
                return Err(bad("STD/STP efficacy outside [0, 1]"));
            }
            cs.push(st);
        }
        let ro = &self.readout;
        let (nn, o) = (ro.n, ro.o);
        let ro_w = r.weights(nn * o, "readout weights")?;
        if ro_w.iter().any(|w| (w.0 as i32).abs() > ro.cfg.formats.weight_max()) {
            return Err(bad("readout weight outside its format"));
        }
        let ro_r = r.i32s(Some(o), "r")?;
        let ro_ot = r.u16s(Some(nn), "otrace")?;
        let ro_err = r.i32s(Some(o), "err")?;
        let ro_grad = r.i64s(Some(o), "readout grad")?;
        let ro_sat = r.sat()?;
        let ro_upd = r.u32()?;
        let ro_acc = r.i32s(Some(ro.acc_v.len()), "readout weight-update accumulator")?;
        let rr = r.bytes(Some(self.noc.arbitration().len()), "router arbitration")?;
        if r.pos != payload.len() {
            return Err(bad("trailing bytes after the state"));
        }
        // Commit (the arbitration state first: it is the only part that can still be refused).
        self.noc.set_arbitration(&rr).map_err(EmuError::Snapshot)?;
        for (c, st) in self.cores.iter_mut().zip(cs) {
            c.store.weights = st.weights;
            c.store.state = st.state;
            c.store.etrace = st.etrace;
            c.store.xtrace = st.xtrace;
            c.store.presyn = st.presyn;
            c.store.efficacy = st.efficacy;
            c.store.acc.fill(0);
            c.store.psi = st.psi;
            c.store.grad = st.grad;
            c.store.scalars = st.scalars;
            c.fb = st.fb;
            c.bias = st.bias;
            c.ring = st.ring;
            c.acc_w = st.acc_w;
        }
        let u = &mut self.readout;
        u.store.weights = ro_w;
        u.store.r = ro_r;
        u.store.otrace = ro_ot;
        u.store.err = ro_err;
        u.store.grad = ro_grad;
        u.store.sat = ro_sat;
        u.store.updates = ro_upd;
        u.acc_v = ro_acc;
        self.inputs = inputs;
        self.pop_hist = pop_hist;
        self.pop_dropped = pop_dropped;
        self.head = head;
        self.time.steps = steps;
        self.time.cycles = crate::time::Cycle(cycles);
        self.host_dropped = host_dropped;
        Ok(())
    }

    /// Write a snapshot atomically: `<path>.tmp`, sync, rename.
    pub fn save(&self, path: &Path) -> Result<(), EmuError> {
        let io = |e: std::io::Error| EmuError::Io { path: path.display().to_string(), msg: e.to_string() };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        {
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(&self.snapshot_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Restore from a file written by [`GraphEmulator::save`] (same chip, graph and mapping).
    pub fn load(&mut self, path: &Path) -> Result<(), EmuError> {
        let b = std::fs::read(path).map_err(|e| EmuError::Io { path: path.display().to_string(), msg: e.to_string() })?;
        self.restore_bytes(&b)
    }
}
