//! Snapshots of the whole chip state between timesteps: every core's weights, neuron states, traces,
//! STD/STP state, accumulators, counters and update counts (the stochastic-rounding key), the events
//! the network delivered for the next step, the learning-epoch accumulators (at a step boundary the mesh
//! itself is drained by the barrier, so these inboxes are the network's whole in-flight state), the
//! readout (with its epoch accumulator since version 3), the routers' round-robin arbitration state
//! (since version 4: it decides which packet goes first on a contended port, so a restored chip
//! reports the same cycles), and emulated time. Graph chips ([`crate::graph::GraphEmulator`]) use the
//! same header with their own magic (`PLCEMUG\0`) and payload (`graph/snapshot.rs`).
//!
//! File layout (little endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `PLCEMU\0\0` |
//! | 4 | format version ([`VERSION`]) |
//! | 8 | payload length |
//! | 8 | FNV-1a 64 checksum of the payload |
//! | … | payload: fingerprint of chip + network + mapping (u64), then the state |
//!
//! Files are written to `<path>.tmp`, synced, then renamed over `<path>` (atomic on POSIX). Loading
//! checks magic, version, length, checksum and fingerprint, parses everything into temporary buffers of
//! the exact expected lengths, and only then replaces the chip's state: a damaged file leaves the chip
//! untouched and returns [`EmuError::Snapshot`].

use crate::emu::Emulator;
use crate::error::EmuError;
use plasticore_core::format::Weight;
use plasticore_core::layer::{LayerScalars, Saturations};
use std::io::Write as _;
use std::path::Path;

/// Snapshot format version.
pub const VERSION: u32 = 4;
const MAGIC: &[u8; 8] = b"PLCEMU\0\0";

/// FNV-1a, 64 bit (all arithmetic **wraps**, by definition of the hash).
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

#[derive(Default)]
pub(crate) struct W(pub(crate) Vec<u8>);

impl W {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn i32s(&mut self, v: &[i32]) {
        self.u64(v.len() as u64);
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
    }
    pub(crate) fn i64s(&mut self, v: &[i64]) {
        self.u64(v.len() as u64);
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
    }
    pub(crate) fn u16s(&mut self, v: &[u16]) {
        self.u64(v.len() as u64);
        for x in v {
            self.0.extend_from_slice(&x.to_le_bytes());
        }
    }
    pub(crate) fn weights(&mut self, v: &[Weight]) {
        self.u64(v.len() as u64);
        for x in v {
            self.0.extend_from_slice(&x.0.to_le_bytes());
        }
    }
    pub(crate) fn pairs(&mut self, v: &[[i32; 2]]) {
        self.u64(v.len() as u64);
        for x in v {
            self.0.extend_from_slice(&x[0].to_le_bytes());
            self.0.extend_from_slice(&x[1].to_le_bytes());
        }
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.0.extend_from_slice(v);
    }
    pub(crate) fn sat(&mut self, s: &Saturations) {
        for v in [s.state, s.xtrace, s.etrace, s.weight, s.grad, s.dropped_events] {
            self.u32(v);
        }
    }
}

pub(crate) struct R<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) pos: usize,
}

pub(crate) fn bad(msg: &str) -> EmuError {
    EmuError::Snapshot(msg.to_string())
}

impl<'a> R<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], EmuError> {
        let end = self.pos.checked_add(n).ok_or_else(|| bad("length overflow"))?;
        let s = self.b.get(self.pos..end).ok_or_else(|| bad("truncated payload"))?;
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, EmuError> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u32(&mut self) -> Result<u32, EmuError> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, EmuError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    pub(crate) fn len(&mut self, expected: Option<usize>, what: &str, elem: usize) -> Result<usize, EmuError> {
        let n = self.u64()?;
        if let Some(e) = expected {
            if n != e as u64 {
                return Err(EmuError::Snapshot(format!("{what}: length {n}, expected {e}")));
            }
        }
        if n.saturating_mul(elem as u64) > (self.b.len() - self.pos) as u64 {
            return Err(EmuError::Snapshot(format!("{what}: truncated")));
        }
        Ok(n as usize)
    }
    pub(crate) fn i32s(&mut self, e: Option<usize>, what: &str) -> Result<Vec<i32>, EmuError> {
        let n = self.len(e, what, 4)?;
        (0..n).map(|_| self.u32().map(|v| v as i32)).collect()
    }
    pub(crate) fn i64s(&mut self, e: Option<usize>, what: &str) -> Result<Vec<i64>, EmuError> {
        let n = self.len(e, what, 8)?;
        (0..n).map(|_| self.u64().map(|v| v as i64)).collect()
    }
    pub(crate) fn u16s(&mut self, e: Option<usize>, what: &str) -> Result<Vec<u16>, EmuError> {
        let n = self.len(e, what, 2)?;
        (0..n)
            .map(|_| {
                let s = self.take(2)?;
                Ok(u16::from_le_bytes([s[0], s[1]]))
            })
            .collect()
    }
    pub(crate) fn weights(&mut self, e: usize, what: &str) -> Result<Vec<Weight>, EmuError> {
        Ok(self.u16s(Some(e), what)?.into_iter().map(|v| Weight(v as i16)).collect())
    }
    pub(crate) fn pairs(&mut self, e: usize, what: &str) -> Result<Vec<[i32; 2]>, EmuError> {
        let n = self.len(Some(e), what, 8)?;
        (0..n).map(|_| Ok([self.u32()? as i32, self.u32()? as i32])).collect()
    }
    pub(crate) fn bytes(&mut self, e: Option<usize>, what: &str) -> Result<Vec<u8>, EmuError> {
        let n = self.len(e, what, 1)?;
        Ok(self.take(n)?.to_vec())
    }
    pub(crate) fn sat(&mut self) -> Result<Saturations, EmuError> {
        Ok(Saturations {
            state: self.u32()?,
            xtrace: self.u32()?,
            etrace: self.u32()?,
            weight: self.u32()?,
            grad: self.u32()?,
            dropped_events: self.u32()?,
        })
    }
}

impl Emulator {
    /// Fingerprint of what a snapshot belongs to: chip description, network configuration and mapping.
    pub fn fingerprint(&self) -> u64 {
        let mut s = self.chip.to_toml();
        s.push_str(&format!(
            "{:?}|{}|{}|{}|{}|{}|{:?}|{:?}|{:?}|{:?}",
            self.layer,
            self.epoch,
            self.n_ext,
            self.neurons,
            self.recurrent,
            self.learn_on,
            self.feedback,
            self.window,
            self.mapping,
            self.readout.as_ref().map(|r| (r.cfg, r.o))
        ));
        let mut h = fnv64(s.as_bytes());
        // The fixed sparse structure of every core (its weights are state, its shape is not; a frozen
        // core's weights are not state either).
        for c in &self.cores {
            let mut b = Vec::with_capacity(4 * c.row_start.len() + 2 * c.cols.len() + 1);
            b.push(c.sparse as u8);
            for v in &c.row_start {
                b.extend_from_slice(&v.to_le_bytes());
            }
            for v in &c.cols {
                b.extend_from_slice(&v.to_le_bytes());
            }
            // A frozen core's synapses never change: structure and weights belong to the network.
            if let Some(f) = &c.frozen {
                let csr = f.csr();
                b.push(2);
                for v in csr.row_start {
                    b.extend_from_slice(&v.to_le_bytes());
                }
                for v in csr.cols {
                    b.extend_from_slice(&v.to_le_bytes());
                }
                b.extend(f.weights().iter().map(|&w| w as u8));
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
        w.u32(self.cores.len() as u32);
        for c in &self.cores {
            w.u64(c.first as u64);
            w.u64(c.len as u64);
            w.weights(&c.store.weights);
            w.i32s(&c.store.state);
            w.i32s(&c.store.etrace);
            w.u16s(&c.store.xtrace);
            w.pairs(&c.store.presyn);
            w.i32s(&c.store.efficacy);
            w.i32s(&c.store.acc);
            w.i32s(&c.store.psi);
            w.i64s(&c.store.grad);
            w.sat(&c.store.scalars.sat);
            w.u32(c.store.scalars.updates);
            w.u16s(&c.inbox);
            w.i32s(&c.acc_w);
        }
        match &self.readout {
            None => w.u8(0),
            Some(r) => {
                w.u8(1);
                w.weights(&r.store.weights);
                w.i32s(&r.store.r);
                w.u16s(&r.store.otrace);
                w.i32s(&r.store.err);
                w.i64s(&r.store.grad);
                w.sat(&r.store.sat);
                w.u32(r.store.updates);
                w.i32s(&r.acc_v);
            }
        }
        w.bytes(self.noc_arbitration());
        let payload = w.0;
        let mut out = Vec::with_capacity(payload.len() + 28);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
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
            return Err(bad("not a plasticore-emu snapshot (bad magic)"));
        }
        let version = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        if version != VERSION {
            return Err(EmuError::Snapshot(format!("format version {version}, this build reads {VERSION}")));
        }
        let mut l = [0u8; 8];
        l.copy_from_slice(&b[12..20]);
        let len = u64::from_le_bytes(l);
        if len != (b.len() - 28) as u64 {
            return Err(EmuError::Snapshot(format!("payload length {} but header says {len} (truncated?)", b.len() - 28)));
        }
        l.copy_from_slice(&b[20..28]);
        let sum = u64::from_le_bytes(l);
        let payload = &b[28..];
        if fnv64(payload) != sum {
            return Err(bad("checksum mismatch (damaged file)"));
        }
        let mut r = R { b: payload, pos: 0 };
        if r.u64()? != self.fingerprint() {
            return Err(bad("the snapshot belongs to a different chip, network or mapping"));
        }
        let steps = r.u64()?;
        let cycles = r.u64()?;
        let host_dropped = r.u32()?;
        let n = r.u32()? as usize;
        if n != self.cores.len() {
            return Err(EmuError::Snapshot(format!("{n} cores, expected {}", self.cores.len())));
        }
        let s = self.layer.neuron.states();
        struct CoreState {
            weights: Vec<Weight>,
            state: Vec<i32>,
            etrace: Vec<i32>,
            xtrace: Vec<u16>,
            presyn: Vec<[i32; 2]>,
            efficacy: Vec<i32>,
            acc: Vec<i32>,
            psi: Vec<i32>,
            grad: Vec<i64>,
            scalars: LayerScalars,
            inbox: Vec<u16>,
            acc_w: Vec<i32>,
        }
        let mut cs = Vec::with_capacity(n);
        for c in &self.cores {
            let (first, len) = (r.u64()?, r.u64()?);
            if first != c.first as u64 || len != c.len as u64 {
                return Err(bad("core slice differs"));
            }
            let (a, nl) = (c.axons, c.len);
            cs.push(CoreState {
                weights: r.weights(c.store.weights.len(), "weights")?,
                state: r.i32s(Some(nl * s), "state")?,
                etrace: r.i32s(Some(nl * s), "etrace")?,
                xtrace: r.u16s(Some(a), "xtrace")?,
                presyn: r.pairs(a, "presyn")?,
                efficacy: r.i32s(Some(a), "efficacy")?,
                acc: r.i32s(Some(nl), "acc")?,
                psi: r.i32s(Some(nl), "psi")?,
                grad: r.i64s(Some(nl), "grad")?,
                scalars: LayerScalars { sat: r.sat()?, updates: r.u32()? },
                inbox: r.u16s(None, "inbox")?,
                acc_w: r.i32s(Some(c.acc_w.len()), "weight-update accumulator")?,
            });
            if cs.last().map(|x| x.inbox.iter().any(|&j| j as usize >= self.neurons)).unwrap_or(false) {
                return Err(bad("inbox names a neuron that does not exist"));
            }
        }
        let has_ro = r.u8()?;
        let ro = match (has_ro, self.readout.as_ref()) {
            (0, None) => None,
            (1, Some(ro)) => {
                let (nn, o) = (ro.n, ro.o);
                let weights = r.weights(nn * o, "readout weights")?;
                let wmax = ro.cfg.formats.weight_max();
                if weights.iter().any(|w| (w.0 as i32).abs() > wmax) {
                    return Err(bad("readout weight outside its format"));
                }
                Some((
                    weights,
                    r.i32s(Some(o), "r")?,
                    r.u16s(Some(nn), "otrace")?,
                    r.i32s(Some(o), "err")?,
                    r.i64s(Some(o), "readout grad")?,
                    r.sat()?,
                    r.u32()?,
                    r.i32s(Some(ro.acc_v.len()), "readout weight-update accumulator")?,
                ))
            }
            _ => return Err(bad("readout presence differs")),
        };
        let rr = r.bytes(Some(self.noc_arbitration().len()), "router arbitration")?;
        if r.pos != payload.len() {
            return Err(bad("trailing bytes after the state"));
        }
        let wmax = self.layer.formats.weight_max();
        if cs.iter().any(|c| c.weights.iter().any(|w| (w.0 as i32).abs() > wmax)) {
            return Err(bad("hidden weight outside its format"));
        }
        // Invariants between timesteps: dendritic sums are empty, efficacies lie in [0, 1] (Q.16).
        let one = plasticore_core::presyn::ONE;
        if cs.iter().any(|c| c.acc.iter().any(|&a| a != 0)) {
            return Err(bad("dendritic accumulators not empty"));
        }
        if cs.iter().any(|c| {
            c.efficacy.iter().any(|&e| !(0..=one).contains(&e)) || c.presyn.iter().flatten().any(|&e| !(0..=one).contains(&e))
        }) {
            return Err(bad("STD/STP efficacy outside [0, 1]"));
        }
        // Commit (the arbitration state first: it is the only part that can still be refused).
        self.set_noc_arbitration(&rr).map_err(EmuError::Snapshot)?;
        for (c, st) in self.cores.iter_mut().zip(cs) {
            c.store.weights = st.weights;
            c.store.state = st.state;
            c.store.etrace = st.etrace;
            c.store.xtrace = st.xtrace;
            c.store.presyn = st.presyn;
            c.store.efficacy = st.efficacy;
            c.store.acc = st.acc;
            c.store.psi = st.psi;
            c.store.grad = st.grad;
            c.store.scalars = st.scalars;
            c.inbox = st.inbox;
            c.acc_w = st.acc_w;
        }
        if let (Some(u), Some((weights, rr, otrace, err, grad, sat, updates, acc_v))) = (self.readout.as_mut(), ro) {
            u.store.weights = weights;
            u.store.r = rr;
            u.store.otrace = otrace;
            u.store.err = err;
            u.store.grad = grad;
            u.store.sat = sat;
            u.store.updates = updates;
            u.acc_v = acc_v;
        }
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

    /// Restore from a file written by [`Emulator::save`] (same chip, network and mapping).
    pub fn load(&mut self, path: &Path) -> Result<(), EmuError> {
        let b = std::fs::read(path).map_err(|e| EmuError::Io { path: path.display().to_string(), msg: e.to_string() })?;
        self.restore_bytes(&b)
    }
}
