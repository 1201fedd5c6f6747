//! Cycle-level mesh simulation.
//!
//! Model (all in cycles of the chip clock):
//! * One router per tile with five input queues (local injection, from west, from east, from north,
//!   from south) and five output ports (eject, east, west, north, south).
//! * A packet is injected into its source tile's local queue at its `inject` cycle. The local queue is
//!   the cores' send queue: unbounded when `inject_packets` is 0, else it holds `inject_packets`, and a
//!   packet that finds it full waits in its core (which stalls: the tile's later packets queue behind it,
//!   in injection order) until a slot frees, each refused attempt counted as blocked
//!   (**back-pressure** at injection). The four link input queues hold `buffer_packets` each.
//! * Every visited cycle, each router serves its output ports in the order eject, east, west, north,
//!   south. An output port accepts up to `link_packets_per_cycle` packets per cycle from the heads of
//!   the input queues, round-robin (starting after the last queue it served). Only a queue's head can
//!   move (FIFO, head-of-line blocking) and only once it has arrived (its ready cycle ≤ now).
//! * A packet sent over a link reserves a slot in the downstream input buffer at send time (credit-based
//!   flow control); if the buffer is full it stays where it is (**back-pressure**) and is counted as a
//!   blocked attempt. It becomes ready downstream `hop_ew` or `hop_ns` cycles later. Routers are visited
//!   in tile order, so a slot freed earlier in a cycle can be used later in the same cycle.
//! * Ejection at the destination is immediate for packets that crossed at least one link; a packet whose
//!   source and destination share a tile is delivered `local` cycles after it is served. So without
//!   contention the latency is exactly Σ hop costs (or `local`).
//! * Only cycles in which some queue head is ready are visited; otherwise time jumps to the next arrival
//!   or injection.

use super::{Dir, RoutingKind, RoutingPolicy};
use crate::chip::{Mesh, NocDesc};
use crate::time::Cycle;
use std::collections::VecDeque;

/// One packet to route: a spike (or learning-signal word) from core `src` to core `dst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Source core.
    pub src: u32,
    /// Destination core.
    pub dst: u32,
    /// Cycle at which the source core hands it to its router.
    pub inject: Cycle,
    /// Payload (global neuron or axon id), carried for recorders.
    pub tag: u32,
}

/// What happened to one packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Cycle at which the destination core has it.
    pub arrive: Cycle,
    /// East-west hops taken.
    pub hops_ew: u16,
    /// North-south hops taken.
    pub hops_ns: u16,
    /// Cycles beyond the contention-free latency (arbitration and back-pressure).
    pub delay: u64,
}

/// Totals of one simulated batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundStats {
    /// Last arrival (zero when there were no packets).
    pub last_arrival: Cycle,
    /// Packets that arrived later than their contention-free latency.
    pub delayed: u64,
    /// Sum of those delays.
    pub delay_cycles: u64,
    /// Attempts refused because the downstream buffer was full (back-pressure events).
    pub blocked: u64,
    /// Cycles visited by the event-driven loop.
    pub visited_cycles: u64,
}

const PORTS: usize = 5;
const LOCAL: usize = 0;

/// Input queue reached by leaving through `d` (the queue named after where the packet came from).
fn in_port(d: Dir) -> usize {
    match d {
        Dir::East => 1,  // arrives from the west
        Dir::West => 2,  // arrives from the east
        Dir::North => 4, // arrives from the south
        Dir::South => 3, // arrives from the north
    }
}

fn out_port(d: Option<Dir>) -> usize {
    match d {
        None => 0,
        Some(d) => 1 + d.index(),
    }
}

/// The mesh and its router state (reused across batches; empty between batches).
pub struct MeshSim {
    mesh: Mesh,
    noc: NocDesc,
    queues: Vec<VecDeque<u32>>,
    occ: Vec<u32>,
    rr: Vec<u8>,
    queued: Vec<u32>,
    active: Vec<usize>,
    /// Per packet of the current batch: current tile, ready cycle.
    at: Vec<(u32, u64)>,
    /// Per packet: its next hop from the tile it is queued at (`None`: eject), computed when queued
    /// (routing depends only on the tile and the destination).
    hop: Vec<Option<Dir>>,
    /// Per tile: bit p set while input queue p is not empty.
    nonempty: Vec<u8>,
    /// `run_local`, per tile: cycle of its latest service and how many packets it served then.
    last_service: Vec<Option<(u64, u32)>>,
    order: Vec<u32>,
    /// Per tile: packets waiting in their cores for room in the injection queue (bounded queues only).
    pending: Vec<VecDeque<u32>>,
    /// Tile of each core (`Mesh::tile_of` without a division per packet).
    core_tile: Vec<u32>,
    /// (x, y) of each tile.
    xy: Vec<(u32, u32)>,
    /// `run_free`: the batch's service events as sort keys ([`event_key`]), events waiting to join
    /// them in order (also the merge's scratch), and the boundaries of the ascending runs.
    keys: Vec<u64>,
    later: Vec<u64>,
    runs: Vec<usize>,
    /// `run_free`, per directed link: its latest burst of sends; `epoch` numbers the batches.
    burst: Vec<Burst>,
    epoch: u32,
    /// `run`: batches to route with the cycle loop before trying `run_free` again, and the current
    /// back-off (doubled at each refusal up to 64, reset when accepted). A cost heuristic only: both
    /// routes give the same results, so it changes no result.
    free_skip: u32,
    free_backoff: u32,
}

/// `run_free`'s service events are sorted as `u64` keys: cycle relative to the batch's first injection
/// (bits 28..64), tile (8..28), output port (4..8), input port (0..4). So the sorted keys are in cycle
/// order, and within a cycle grouped by tile, then output port.
const KEY_TILE_BITS: u32 = 20;
const KEY_REL_LIMIT: u64 = 1 << 36;

fn event_key(rel: u64, tile: u32, outp: usize, inp: usize) -> u64 {
    (rel << 28) | ((tile as u64) << 8) | ((outp as u64) << 4) | inp as u64
}

/// `run_free`'s conditions 1, 2 and 4 on the service events of one tile in one cycle (sorted keys):
/// at most `k` per output port, one output port per input queue, at most `inj_cap` injections (0: any).
fn group_ok(group: &[u64], k: u32, inj_cap: u32) -> bool {
    let mut per_out = [0u32; PORTS];
    let mut port_of = [u8::MAX; PORTS];
    let mut injected = 0u32;
    for &key in group {
        let outp = ((key >> 4) & 0xF) as usize;
        let inp = (key & 0xF) as usize;
        per_out[outp] += 1;
        if per_out[outp] > k {
            return false;
        }
        if port_of[inp] == u8::MAX {
            port_of[inp] = outp as u8;
        } else if port_of[inp] as usize != outp {
            return false;
        }
        if inp == LOCAL {
            injected += 1;
            if inj_cap > 0 && injected > inj_cap {
                return false;
            }
        }
    }
    true
}

/// Sort `keys`, which are mostly a few ascending runs (one per core): the runs are merged pairwise
/// (branch-free merge of the overlapping parts), or, past 16 runs, sorted outright.
fn sort_runs(keys: &mut [u64], tmp: &mut Vec<u64>, runs: &mut Vec<usize>) {
    runs.clear();
    runs.push(0);
    for i in 1..keys.len() {
        if keys[i] < keys[i - 1] {
            runs.push(i);
            if runs.len() > 16 {
                keys.sort_unstable();
                return;
            }
        }
    }
    runs.push(keys.len());
    // `runs` holds the boundaries; each pass merges neighbouring pairs in place (through `tmp`).
    while runs.len() > 2 {
        let mut w = 1;
        let mut r = 0;
        while r + 1 < runs.len() {
            let (a, m) = (runs[r], runs[r + 1]);
            let b = if r + 2 < runs.len() { runs[r + 2] } else { m };
            merge_adjacent(&mut keys[a..b], m - a, tmp);
            runs[w] = b;
            w += 1;
            r += 2;
        }
        runs.truncate(w);
    }
}

/// Merge the ascending halves `v[..m]` and `v[m..]` in place: only the overlapping part of their
/// ranges is merged (through `tmp`); runs that do not overlap are swapped or left as they are.
fn merge_adjacent(v: &mut [u64], m: usize, tmp: &mut Vec<u64>) {
    if m == 0 || m == v.len() || v[m - 1] <= v[m] {
        return;
    }
    if v[v.len() - 1] < v[0] {
        v.rotate_left(m);
        return;
    }
    // v[..lo] ≤ v[m] and v[hi..] ≥ v[m - 1] are already in place.
    let lo = v[..m].partition_point(|&x| x <= v[m]);
    let hi = m + v[m..].partition_point(|&x| x < v[m - 1]);
    tmp.clear();
    tmp.resize(hi - lo, 0);
    merge(&v[lo..m], &v[m..hi], tmp);
    v[lo..hi].copy_from_slice(tmp);
}

/// Merge two ascending slices into `out` (their total length), without data-dependent branches.
fn merge(a: &[u64], b: &[u64], out: &mut [u64]) {
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        let take_a = x <= y;
        out[k] = if take_a { x } else { y };
        i += take_a as usize;
        j += (!take_a) as usize;
        k += 1;
    }
    out[k..k + a.len() - i].copy_from_slice(&a[i..]);
    let k = k + a.len() - i;
    out[k..].copy_from_slice(&b[j..]);
}

/// `run_free`, per directed link: the current burst of sends (valid while `epoch` is the batch's).
#[derive(Clone, Copy, Default)]
struct Burst {
    epoch: u32,
    last: u64,
    sends: u32,
}

impl MeshSim {
    /// An idle mesh.
    pub fn new(mesh: Mesh, noc: NocDesc) -> Self {
        let t = mesh.tiles();
        MeshSim {
            mesh,
            noc,
            queues: (0..t * PORTS).map(|_| VecDeque::new()).collect(),
            occ: vec![0; t * PORTS],
            rr: vec![0; t * PORTS],
            queued: vec![0; t],
            active: Vec::new(),
            at: Vec::new(),
            hop: Vec::new(),
            nonempty: vec![0; t],
            last_service: vec![None; t],
            order: Vec::new(),
            pending: (0..t).map(|_| VecDeque::new()).collect(),
            core_tile: (0..mesh.cores()).map(|c| mesh.tile_of(c) as u32).collect(),
            xy: (0..t).map(|i| mesh.xy(i)).collect(),
            keys: Vec::new(),
            later: Vec::new(),
            runs: Vec::new(),
            burst: vec![Burst::default(); t * 4],
            epoch: 0,
            free_skip: 0,
            free_backoff: 0,
        }
    }

    /// The routers' arbitration state: per tile and output port (eject, E, W, N, S), the input queue
    /// its round-robin starts from next. The only router state that outlives a batch (queues are empty
    /// between batches), so a snapshot of it makes a restored chip route the next batch identically.
    pub fn arbitration(&self) -> &[u8] {
        &self.rr
    }

    /// Restore [`MeshSim::arbitration`]; refused (state unchanged) unless it has one entry per tile and
    /// port, each a port index.
    pub fn set_arbitration(&mut self, rr: &[u8]) -> Result<(), String> {
        if rr.len() != self.rr.len() {
            return Err(format!("router arbitration: {} entries, expected {}", rr.len(), self.rr.len()));
        }
        if rr.iter().any(|&p| p as usize >= PORTS) {
            return Err("router arbitration: a port index out of range".into());
        }
        self.rr.copy_from_slice(rr);
        Ok(())
    }

    /// Number of directed links counted in `link_load` (4 per tile: E, W, N, S).
    pub fn links(&self) -> usize {
        self.mesh.tiles() * 4
    }

    fn tile_xy(&self, tile: usize) -> (u32, u32) {
        self.mesh.xy(tile)
    }

    /// Contention-free latency from core `src` to core `dst` and its hop counts (E-W, N-S).
    pub fn ideal(&self, src: u32, dst: u32) -> (u64, u16, u16) {
        let (a, b) = (self.mesh.tile_of(src as usize), self.mesh.tile_of(dst as usize));
        if a == b {
            return (self.noc.local as u64, 0, 0);
        }
        let (ax, ay) = self.tile_xy(a);
        let (bx, by) = self.tile_xy(b);
        let ew = ax.abs_diff(bx) as u16;
        let ns = ay.abs_diff(by) as u16;
        (ew as u64 * self.noc.hop_ew as u64 + ns as u64 * self.noc.hop_ns as u64, ew, ns)
    }

    /// Route a batch. `out[i]` receives packet `i`'s delivery, `link_load[tile·4 + dir]` counts packets
    /// per directed link and `local_load[tile]` within-tile deliveries (both are added to).
    ///
    /// A batch in which every packet stays on its tile takes [`MeshSim::run_local`] (unbounded injection
    /// queues), a batch in which no two packets can contend takes [`MeshSim::run_free`]; both compute
    /// the same deliveries, statistics and router state as the cycle loop in one pass. Any other batch
    /// is simulated cycle by cycle ([`MeshSim::run_general`]), and so are the 1, 2, 4, … 64 batches
    /// after a batch `run_free` refused (a cost heuristic: the results are the same either way).
    pub fn run(
        &mut self,
        packets: &[Packet],
        out: &mut Vec<Delivery>,
        link_load: &mut [u64],
        local_load: &mut [u64],
    ) -> RoundStats {
        let ct = &self.core_tile;
        let local = packets.iter().all(|p| match (ct.get(p.src as usize), ct.get(p.dst as usize)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        });
        if local && self.noc.inject_packets == 0 {
            return self.run_local(packets, out, local_load);
        }
        // On contended traffic most batches are refused, so after a refusal the next ones skip the
        // attempt (1, 2, 4, … 64 batches) instead of paying for it every time.
        if self.free_skip > 0 {
            self.free_skip -= 1;
        } else if let Some(st) = self.run_free(packets, out, link_load, local_load) {
            self.free_backoff = 0;
            return st;
        } else {
            self.free_backoff = (self.free_backoff * 2).clamp(1, 64);
            self.free_skip = self.free_backoff;
        }
        self.run_general(packets, out, link_load, local_load)
    }

    /// Injection order: by inject cycle, ties by batch index.
    fn sort_order(&mut self, packets: &[Packet]) {
        self.order.clear();
        self.order.extend(0..packets.len() as u32);
        if !packets.windows(2).all(|w| w[0].inject <= w[1].inject) {
            self.order.sort_by_key(|&i| (packets[i as usize].inject, i));
        }
    }

    /// [`MeshSim::run`] for a batch whose packets all stay on their source tile, in closed form. What
    /// the cycle loop does with such a batch: each tile's local queue is its only non-empty queue, so
    /// its eject port serves the queue in injection order, at most `link_packets_per_cycle` packets per
    /// cycle, each in the first cycle ≥ its injection with room left (every queued packet is ready, so
    /// the loop visits every cycle in which some queue is non-empty); a packet served at cycle c
    /// arrives at c + `local`, delayed by c − inject; the tile's eject port round-robin pointer moves
    /// past the local queue; the visited cycles are the union over packets of [inject, served]. The
    /// tests check it against [`MeshSim::run_general`] field by field and through the router state
    /// a following batch sees. Packets that leave their tile are not handled here (debug-asserted).
    pub fn run_local(&mut self, packets: &[Packet], out: &mut Vec<Delivery>, local_load: &mut [u64]) -> RoundStats {
        let mut st = RoundStats::default();
        out.clear();
        out.resize(packets.len(), Delivery::default());
        if packets.is_empty() {
            return st;
        }
        self.sort_order(packets);
        let k = self.noc.link_packets_per_cycle.max(1) as u64;
        let local = self.noc.local as u64;
        self.last_service.iter_mut().for_each(|x| *x = None);
        // The visited cycles: the union of [inject, served] over packets, merged in injection order.
        let mut span: Option<(u64, u64)> = None;
        for &i in &self.order {
            let p = &packets[i as usize];
            let tile = self.mesh.tile_of(p.src as usize);
            debug_assert_eq!(tile, self.mesh.tile_of(p.dst as usize), "run_local: packet {i} leaves its tile");
            // Served at injection if the queue emptied before it, else after the packets ahead of it.
            let c = match self.last_service[tile] {
                Some((last, n)) if p.inject.0 <= last => {
                    if (n as u64) < k {
                        last
                    } else {
                        last + 1
                    }
                }
                _ => p.inject.0,
            };
            self.last_service[tile] = match self.last_service[tile] {
                Some((last, n)) if last == c => Some((c, n + 1)),
                _ => Some((c, 1)),
            };
            let arrive = c + local;
            let d = &mut out[i as usize];
            d.arrive = Cycle(arrive);
            d.delay = c - p.inject.0;
            if d.delay > 0 {
                st.delayed += 1;
                st.delay_cycles += d.delay;
            }
            st.last_arrival = st.last_arrival.max(Cycle(arrive));
            local_load[tile] += 1;
            self.rr[tile * PORTS] = (LOCAL + 1) as u8;
            span = match span {
                Some((lo, hi)) if p.inject.0 <= hi => Some((lo, hi.max(c))),
                prev => {
                    if let Some((lo, hi)) = prev {
                        st.visited_cycles += hi - lo + 1;
                    }
                    Some((p.inject.0, c))
                }
            };
        }
        if let Some((lo, hi)) = span {
            st.visited_cycles += hi - lo + 1;
        }
        self.active.clear();
        st
    }

    /// [`MeshSim::run`] in closed form for a batch in which no packet can wait for another, or `None`
    /// (nothing changed: no router state, no load) when that is not certain; then the batch needs the
    /// cycle loop ([`MeshSim::run_general`]).
    ///
    /// Every packet's path is its routing policy's; its *service events* are the cycles at which a
    /// router serves it: at injection on its source tile, then on every tile it reaches, `hop_ew` or
    /// `hop_ns` cycles per link later. If every packet is served at the cycle it becomes ready, the cycle
    /// loop delivers it with the contention-free latency (delay 0, no blocked attempt), and visits
    /// exactly the distinct cycles of the service events (each cycle it visits has a ready head, which
    /// is served; between them time jumps to the next injection or arrival). These conditions, checked
    /// on the service events sorted by cycle, tile and port, make it so (by induction over the cycles:
    /// when cycle c starts, each queue holds only packets ready at c, at its front, and later ones):
    ///
    /// 1. no output port serves more than `link_packets_per_cycle` packets in one cycle;
    /// 2. the packets that one input queue holds ready in one cycle all leave by the same output port
    ///    (the loop serves the ports in a fixed order, so a head bound for a later port would block a
    ///    packet behind it bound for an earlier one: head-of-line blocking);
    /// 3. no link sends more than `buffer_packets` packets in any `hop + 1` consecutive cycles (a packet
    ///    holds its credit in the downstream buffer from its send to its service `hop` cycles later, so
    ///    this bounds the buffer's occupancy; conservative: a slot freed earlier in the same cycle is
    ///    counted as taken; checked per burst of sends, see `free_check`);
    /// 4. with a bounded injection queue, no tile injects more than `inject_packets` packets in one cycle
    ///    (each cycle's injections find the queue empty of earlier ones);
    ///
    /// and hop latencies of at least one cycle (a packet sent in a cycle is not ready in it). The
    /// round-robin pointers then move as the loop moves them: in each cycle an output port serves the
    /// set S of input queues, in rotation order from its pointer r, so the pointer ends one past the
    /// last of S in that order (the largest queue of S below r, else the largest of S). The tests
    /// (`emulator/tests/noc_free.rs`) check it against [`MeshSim::run_general`] field by field, through the
    /// router state a following batch sees, and that a refused batch leaves everything as it was.
    pub fn run_free(
        &mut self,
        packets: &[Packet],
        out: &mut Vec<Delivery>,
        link_load: &mut [u64],
        local_load: &mut [u64],
    ) -> Option<RoundStats> {
        let mut st = RoundStats::default();
        out.clear();
        out.resize(packets.len(), Delivery::default());
        if packets.is_empty() {
            return Some(st);
        }
        let noc = self.noc;
        let k = noc.link_packets_per_cycle;
        if noc.hop_ew == 0 || noc.hop_ns == 0 || k == 0 || self.xy.len() > 1 << KEY_TILE_BITS {
            return None;
        }
        let (hop_ew, hop_ns, local) = (noc.hop_ew as u64, noc.hop_ns as u64, noc.local as u64);
        let routing = noc.routing;
        let w = self.mesh.width as usize;
        let t0 = packets.iter().map(|p| p.inject.0).min().unwrap_or(0);
        // Service events as sort keys, emitted in ascending runs: a packet's injection event goes out
        // at once, its later events wait in `later` (ascending) until no later packet of the run can
        // precede them. Each core's packets come in injection order (as `Emulator::route` makes them),
        // so the keys form about one run per core.
        self.keys.clear();
        let pending = &mut self.later;
        pending.clear();
        let mut head = 0;
        for (p, o) in packets.iter().zip(out.iter_mut()) {
            let (&s, &d) = (self.core_tile.get(p.src as usize)?, self.core_tile.get(p.dst as usize)?);
            let mut rel = p.inject.0 - t0;
            if rel >= KEY_REL_LIMIT {
                return None;
            }
            let dxy = self.xy[d as usize];
            let first = routing.next(self.xy[s as usize], dxy);
            let k0 = event_key(rel, s, out_port(first), LOCAL);
            if self.keys.last().is_some_and(|&l| k0 < l) {
                // A new run: the pending events end the previous one.
                self.keys.extend_from_slice(&pending[head..]);
                pending.clear();
                head = 0;
            }
            while head < pending.len() && pending[head] < k0 {
                self.keys.push(pending[head]);
                head += 1;
            }
            if head == pending.len() {
                pending.clear();
                head = 0;
            }
            self.keys.push(k0);
            if s == d {
                o.arrive = Cycle(p.inject.0 + local);
            } else {
                let (mut here, mut dir) = (s as usize, first);
                while let Some(dn) = dir {
                    if dn.is_ew() {
                        rel += hop_ew;
                        o.hops_ew += 1;
                    } else {
                        rel += hop_ns;
                        o.hops_ns += 1;
                    }
                    if rel >= KEY_REL_LIMIT {
                        return None;
                    }
                    here = match dn {
                        Dir::East => here + 1,
                        Dir::West => here - 1,
                        Dir::North => here - w,
                        Dir::South => here + w,
                    };
                    dir = routing.next(self.xy[here], dxy);
                    // Insert in order (usually at the end: later packets' events come later).
                    let key = event_key(rel, here as u32, out_port(dir), in_port(dn));
                    let mut at = pending.len();
                    while at > head && pending[at - 1] > key {
                        at -= 1;
                    }
                    pending.insert(at, key);
                }
                o.arrive = Cycle(t0 + rel);
            }
            st.last_arrival = st.last_arrival.max(o.arrive);
        }
        self.keys.extend_from_slice(&pending[head..]);
        sort_runs(&mut self.keys, &mut self.later, &mut self.runs);
        if !self.free_check(k, noc.buffer_packets, noc.inject_packets, &mut st) {
            return None;
        }
        // Router state and loads, in cycle order: a port that serves one packet in a cycle points past
        // its input queue; one that serves several takes the rotation rule.
        let keys = &self.keys[..];
        let n = keys.len();
        let mut i = 0;
        while i < n {
            let key = keys[i];
            let g = key >> 4;
            let tile = ((g >> 4) & ((1 << KEY_TILE_BITS) - 1)) as usize;
            let outp = (g & 0xF) as usize;
            let rr = &mut self.rr[tile * PORTS + outp];
            let (mut m, mut n_local);
            if i + 1 < n && keys[i + 1] >> 4 == g {
                let mut set = 0u32;
                (m, n_local) = (0u64, 0u64);
                while i < n && keys[i] >> 4 == g {
                    let inp = (keys[i] & 0xF) as usize;
                    set |= 1 << inp;
                    m += 1;
                    n_local += (inp == LOCAL) as u64;
                    i += 1;
                }
                let below = set & ((1u32 << *rr) - 1);
                let last = 31 - if below != 0 { below } else { set }.leading_zeros();
                *rr = ((last as usize + 1) % PORTS) as u8;
            } else {
                let inp = (key & 0xF) as usize;
                *rr = ((inp + 1) % PORTS) as u8;
                (m, n_local) = (1, (inp == LOCAL) as u64);
                i += 1;
            }
            if outp == 0 {
                local_load[tile] += n_local;
            } else {
                link_load[tile * 4 + outp - 1] += m;
            }
        }
        Some(st)
    }

    /// `run_free`'s conditions 1–4 on the sorted service events; counts the distinct cycles into
    /// `st.visited_cycles`. Condition 3 is checked per link on *bursts* (maximal runs of sends whose
    /// successive gaps are at most `hop` cycles): the sends in any `hop + 1` consecutive cycles that end
    /// at a send are the tail of that send's burst, so bursts of at most `buffer_packets` sends suffice.
    fn free_check(&mut self, k: u32, cap: u32, inj_cap: u32, st: &mut RoundStats) -> bool {
        let (hop_ew, hop_ns) = (self.noc.hop_ew as u64, self.noc.hop_ns as u64);
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.burst.iter_mut().for_each(|b| b.epoch = 0);
            self.epoch = 1;
        }
        let epoch = self.epoch;
        let keys = &self.keys[..];
        let n = keys.len();
        let mut prev_rel = u64::MAX;
        let mut i = 0;
        while i < n {
            let g = keys[i] >> 8;
            let rel = keys[i] >> 28;
            if rel != prev_rel {
                st.visited_cycles += 1;
                prev_rel = rel;
            }
            let mut j = i + 1;
            while j < n && keys[j] >> 8 == g {
                j += 1;
            }
            // A tile serving one packet in a cycle meets conditions 1, 2 and 4 (k ≥ 1, cap ≥ 1).
            if j - i > 1 && !group_ok(&keys[i..j], k, inj_cap) {
                return false;
            }
            for &key in &keys[i..j] {
                let outp = ((key >> 4) & 0xF) as usize;
                if outp == 0 {
                    continue;
                }
                // 3. Downstream buffer credits, per link burst.
                let link = (((key >> 8) & ((1 << KEY_TILE_BITS) - 1)) as usize) * 4 + outp - 1;
                let lat = if outp <= 2 { hop_ew } else { hop_ns };
                let b = &mut self.burst[link];
                if b.epoch != epoch || rel - b.last > lat {
                    *b = Burst { epoch, last: rel, sends: 1 };
                } else {
                    b.last = rel;
                    b.sends += 1;
                    if b.sends > cap {
                        return false;
                    }
                }
            }
            i = j;
        }
        true
    }

    /// [`MeshSim::run`] simulated cycle by cycle, for any batch.
    pub fn run_general(
        &mut self,
        packets: &[Packet],
        out: &mut Vec<Delivery>,
        link_load: &mut [u64],
        local_load: &mut [u64],
    ) -> RoundStats {
        let mut st = RoundStats::default();
        out.clear();
        out.resize(packets.len(), Delivery::default());
        if packets.is_empty() {
            return st;
        }
        let routing: RoutingKind = self.noc.routing;
        let k = self.noc.link_packets_per_cycle;
        let cap = self.noc.buffer_packets;
        self.sort_order(packets);
        self.at.clear();
        self.at.extend(packets.iter().map(|p| (self.mesh.tile_of(p.src as usize) as u32, p.inject.0)));
        self.hop.clear();
        self.hop.resize(packets.len(), None);
        let mut next_inj = 0usize;
        let mut in_flight = 0usize;
        let inj_cap = if self.noc.inject_packets == 0 { usize::MAX } else { self.noc.inject_packets as usize };
        let mut stalled = 0usize;
        let mut now = packets[self.order[0] as usize].inject.0;
        let mut snapshot: Vec<usize> = Vec::new();
        loop {
            // Stalled packets first (each tile's in order), then this cycle's new ones behind them.
            if stalled > 0 {
                for t in 0..self.pending.len() {
                    while let Some(&i) = self.pending[t].front() {
                        if self.queues[t * PORTS + LOCAL].len() >= inj_cap {
                            st.blocked += 1;
                            break;
                        }
                        self.pending[t].pop_front();
                        stalled -= 1;
                        self.push(t, LOCAL, i, packets[i as usize].dst, routing);
                    }
                }
            }
            while next_inj < self.order.len() && packets[self.order[next_inj] as usize].inject.0 <= now {
                let i = self.order[next_inj];
                let tile = self.at[i as usize].0 as usize;
                if !self.pending[tile].is_empty() || self.queues[tile * PORTS + LOCAL].len() >= inj_cap {
                    self.pending[tile].push_back(i);
                    stalled += 1;
                    st.blocked += 1;
                } else {
                    self.push(tile, LOCAL, i, packets[i as usize].dst, routing);
                }
                next_inj += 1;
                in_flight += 1;
            }
            if in_flight == 0 {
                if next_inj >= self.order.len() {
                    break;
                }
                now = packets[self.order[next_inj] as usize].inject.0;
                continue;
            }
            st.visited_cycles += 1;
            snapshot.clear();
            snapshot.extend(self.active.iter().copied().filter(|&t| self.queued[t] > 0));
            snapshot.sort_unstable();
            snapshot.dedup();
            self.active.clone_from(&snapshot);
            let mut busy = false;
            for &tile in &snapshot {
                let here = self.tile_xy(tile);
                for outp in 0..PORTS {
                    // Only this tile's own service empties its queues, and nothing is queued here
                    // while it is served (packets move to neighbours), so an empty tile stays empty.
                    let m = self.nonempty[tile] as u32;
                    if m == 0 {
                        break;
                    }
                    let mut served = 0u32;
                    let start = self.rr[tile * PORTS + outp] as u32;
                    // The non-empty queues in round-robin order from `start` (empty ones have no head
                    // to serve; skipping them changes nothing).
                    let mut rot = ((m >> start) | (m << (PORTS as u32 - start))) & ((1 << PORTS) - 1);
                    while rot != 0 {
                        let off = rot.trailing_zeros();
                        rot &= rot - 1;
                        let p = (start + off) as usize % PORTS;
                        let q = tile * PORTS + p;
                        while served < k {
                            let Some(&head) = self.queues[q].front() else { break };
                            let (_, ready) = self.at[head as usize];
                            if ready > now {
                                break;
                            }
                            let pk = &packets[head as usize];
                            let dir = self.hop[head as usize];
                            debug_assert_eq!(dir, routing.next(here, self.tile_xy(self.mesh.tile_of(pk.dst as usize))));
                            if out_port(dir) != outp {
                                break;
                            }
                            match dir {
                                None => {
                                    let src_tile = self.mesh.tile_of(pk.src as usize);
                                    let arrive =
                                        if src_tile == tile { now + self.noc.local as u64 } else { now };
                                    let (ideal, _, _) = self.ideal(pk.src, pk.dst);
                                    let d = &mut out[head as usize];
                                    d.arrive = Cycle(arrive);
                                    d.delay = arrive.saturating_sub(pk.inject.0 + ideal);
                                    if d.delay > 0 {
                                        st.delayed += 1;
                                        st.delay_cycles += d.delay;
                                    }
                                    st.last_arrival = st.last_arrival.max(Cycle(arrive));
                                    if src_tile == tile {
                                        local_load[tile] += 1;
                                    }
                                    in_flight -= 1;
                                }
                                Some(dir) => {
                                    let next = self.neighbour(tile, dir);
                                    let dq = next * PORTS + in_port(dir);
                                    if self.occ[dq] >= cap {
                                        st.blocked += 1;
                                        busy = true;
                                        break;
                                    }
                                    self.occ[dq] += 1;
                                    let lat = if dir.is_ew() { self.noc.hop_ew } else { self.noc.hop_ns } as u64;
                                    self.at[head as usize] = (next as u32, now + lat);
                                    link_load[tile * 4 + dir.index()] += 1;
                                    let d = &mut out[head as usize];
                                    if dir.is_ew() {
                                        d.hops_ew += 1;
                                    } else {
                                        d.hops_ns += 1;
                                    }
                                    self.push(next, in_port(dir), head, pk.dst, routing);
                                }
                            }
                            self.queues[q].pop_front();
                            if self.queues[q].is_empty() {
                                self.nonempty[tile] &= !(1 << p);
                            }
                            self.queued[tile] -= 1;
                            if p != LOCAL {
                                self.occ[q] -= 1;
                            }
                            served += 1;
                            self.rr[tile * PORTS + outp] = ((p + 1) % PORTS) as u8;
                        }
                    }
                }
            }
            if in_flight == 0 && next_inj >= self.order.len() {
                break;
            }
            // Next cycle: now + 1 if some head is ready (or blocked), else jump to the next event.
            let mut next = u64::MAX;
            if next_inj < self.order.len() {
                next = packets[self.order[next_inj] as usize].inject.0;
            }
            for &t in &self.active {
                for p in 0..PORTS {
                    if self.nonempty[t] & (1 << p) == 0 {
                        continue;
                    }
                    if let Some(&h) = self.queues[t * PORTS + p].front() {
                        next = next.min(self.at[h as usize].1);
                    }
                }
            }
            now = if busy || stalled > 0 || next <= now { now + 1 } else { next };
        }
        st
    }

    /// Queue packet `pkt` (bound for core `dst`) at input `port` of `tile`, with its next hop from there.
    fn push(&mut self, tile: usize, port: usize, pkt: u32, dst: u32, routing: RoutingKind) {
        let dst_tile = self.mesh.tile_of(dst as usize);
        self.hop[pkt as usize] = routing.next(self.tile_xy(tile), self.tile_xy(dst_tile));
        self.queues[tile * PORTS + port].push_back(pkt);
        self.nonempty[tile] |= 1 << port;
        if self.queued[tile] == 0 {
            self.active.push(tile);
        }
        self.queued[tile] += 1;
    }

    fn neighbour(&self, tile: usize, d: Dir) -> usize {
        let w = self.mesh.width as usize;
        match d {
            Dir::East => tile + 1,
            Dir::West => tile - 1,
            Dir::North => tile - w,
            Dir::South => tile + w,
        }
    }
}
