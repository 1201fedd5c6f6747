//! Logical cores onto physical cores: greedy, then simulated annealing; and the seeded random placement
//! the result is compared with.
//!
//! Objective: the hop-weighted packets Σ_{a,b} packets(a, b) × hops(a, b), hops = Manhattan distance of
//! the two cores' tiles (XY and YX routes are minimal; a packet inside its tile crosses no link). Ties are
//! broken towards low tile indices (Σ tile index of the cores), because the emulator's barrier charges
//! the tiles up to the highest one in use; the reported cost is the hop-weighted packets alone.
//!
//! Determinism: every random draw comes from `XorShift32` seeded by the caller's seed, integer costs, and
//! an acceptance test that uses only `+ − × ÷` on `f64` (no `exp` from the platform's libm, whose last
//! bit may differ between targets), so the same seed gives the same placement everywhere.
use super::traffic::Traffic;
use super::MapError;
use plasticore_core::rng::XorShift32;
use plasticore_emu::ChipDesc;

/// The physical cores of a chip and the hops between them.
#[derive(Clone, Debug)]
pub struct Topology {
    xy: Vec<(i64, i64)>,
    tile: Vec<u64>,
    width: usize,
    per_tile: usize,
}

impl Topology {
    /// The chip's cores in physical order.
    pub fn new(chip: &ChipDesc) -> Self {
        let m = chip.mesh;
        let n = m.cores();
        let tile: Vec<u64> = (0..n).map(|c| m.tile_of(c) as u64).collect();
        let xy = (0..n).map(|c| m.xy(m.tile_of(c))).map(|(x, y)| (x as i64, y as i64)).collect();
        Topology { xy, tile, width: m.width as usize, per_tile: m.cores_per_tile as usize }
    }

    /// Physical cores.
    pub fn cores(&self) -> usize {
        self.xy.len()
    }

    /// Links a packet from physical core `a` to `b` crosses.
    pub fn hops(&self, a: usize, b: usize) -> u64 {
        let (p, q) = (self.xy[a], self.xy[b]);
        ((p.0 - q.0).abs() + (p.1 - q.1).abs()) as u64
    }
}

/// The same placement moved as a block towards tile (0, 0): every core shifted by (−min x, −min y) of
/// the tiles in use, keeping its slot in its tile. Hops between cores are unchanged, the highest tile in
/// use (the emulator's barrier cost) is no higher; annealing wanders the block over the mesh because
/// hop costs do not see where it sits.
pub fn to_origin(topo: &Topology, place: &[usize]) -> Vec<usize> {
    let (Some(x0), Some(y0)) = (place.iter().map(|&p| topo.xy[p].0).min(), place.iter().map(|&p| topo.xy[p].1).min()) else {
        return place.to_vec();
    };
    place
        .iter()
        .map(|&p| {
            let (x, y) = topo.xy[p];
            let tile = (y - y0) as usize * topo.width + (x - x0) as usize;
            tile * topo.per_tile + p % topo.per_tile.max(1)
        })
        .collect()
}

/// Hop-weighted packets of `place` (physical core of each logical core).
pub fn cost(topo: &Topology, t: &Traffic, place: &[usize]) -> u64 {
    let mut c = 0u64;
    for a in 0..t.cores() {
        for b in 0..t.cores() {
            let k = t.get(a, b);
            if k > 0 {
                c = c.saturating_add(k.saturating_mul(topo.hops(place[a], place[b])));
            }
        }
    }
    c
}

fn too_many(topo: &Topology, k: usize) -> Result<(), MapError> {
    if k > topo.cores() {
        return Err(MapError::Options(format!("{k} cores to place, the chip has {}", topo.cores())));
    }
    Ok(())
}

/// Greedy: the core with the most traffic on physical core 0; then, repeatedly, the unplaced core with the
/// most traffic to the placed ones (ties: most traffic in all, then lowest index) on the free physical
/// core that adds the fewest hop-weighted packets (ties: lowest physical core, hence lowest tile).
pub fn greedy(topo: &Topology, t: &Traffic) -> Result<Vec<usize>, MapError> {
    let k = t.cores();
    too_many(topo, k)?;
    let nb = t.neighbours();
    let total: Vec<u64> = nb.iter().map(|v| v.iter().map(|&(_, w)| w).sum()).collect();
    let mut place = vec![usize::MAX; k];
    let mut free = vec![true; topo.cores()];
    let mut to_placed = vec![0u64; k];
    for _ in 0..k {
        let a = (0..k)
            .filter(|&a| place[a] == usize::MAX)
            .max_by_key(|&a| (to_placed[a], total[a], std::cmp::Reverse(a)))
            .expect("an unplaced core remains");
        let mut best = (u64::MAX, usize::MAX);
        for p in (0..topo.cores()).filter(|&p| free[p]) {
            let c: u64 = nb[a].iter().filter(|&&(b, _)| place[b] != usize::MAX).map(|&(b, w)| w * topo.hops(p, place[b])).sum();
            if c < best.0 {
                best = (c, p);
            }
        }
        place[a] = best.1;
        free[best.1] = false;
        for &(b, w) in &nb[a] {
            to_placed[b] += w;
        }
    }
    Ok(place)
}

/// A uniformly random placement: the first `k` cores of a seeded Fisher–Yates shuffle of the chip's cores.
pub fn random(topo: &Topology, k: usize, seed: u64) -> Result<Vec<usize>, MapError> {
    too_many(topo, k)?;
    let mut rng = XorShift32::new((seed ^ (seed >> 32)) as u32);
    let mut all: Vec<usize> = (0..topo.cores()).collect();
    for i in (1..all.len()).rev() {
        let j = below(&mut rng, i + 1);
        all.swap(i, j);
    }
    all.truncate(k);
    Ok(all)
}

fn below(rng: &mut XorShift32, n: usize) -> usize {
    ((rng.next_u32() as u64 * n as u64) >> 32) as usize
}

/// e^(−x) for x ≥ 0 with `+ − × ÷` only: (1 − y + y²/2 − y³/6 + y⁴/24)^(2¹⁰) with y = x / 2¹⁰. Relative
/// error ≈ 2¹⁰ · y⁵/120 (the first omitted term, compounded by the 10 squarings) < 10⁻⁶ for x ≤ 40, far
/// below what an acceptance test needs; 0 beyond 40 (e^(−40) < 10⁻¹⁷, below the 2⁻³² draw resolution).
fn exp_neg(x: f64) -> f64 {
    if x > 40.0 {
        return 0.0;
    }
    let y = x / 1024.0;
    let mut e = 1.0 - y + y * y / 2.0 - y * y * y / 6.0 + y * y * y * y / 24.0;
    for _ in 0..10 {
        e *= e;
    }
    e
}

/// Objective change of moving logical `a` to physical `p` where logical `b` (if any) moves to `a`'s place.
fn delta(topo: &Topology, nb: &[Vec<(usize, u64)>], place: &[usize], a: usize, p: usize, b: Option<usize>, scale: i128) -> i128 {
    let pa = place[a];
    let mut d: i128 = 0;
    for &(c, w) in &nb[a] {
        if Some(c) == b {
            continue; // the pair a–b keeps its distance
        }
        d += w as i128 * (topo.hops(p, place[c]) as i128 - topo.hops(pa, place[c]) as i128);
    }
    if let Some(b) = b {
        for &(c, w) in &nb[b] {
            if c == a {
                continue;
            }
            d += w as i128 * (topo.hops(pa, place[c]) as i128 - topo.hops(p, place[c]) as i128);
        }
    }
    let mut dt = topo.tile[p] as i128 - topo.tile[pa] as i128;
    if b.is_some() {
        dt = 0; // a swap keeps the set of tiles
    }
    d * scale + dt
}

/// Simulated annealing from `start` for `steps` moves seeded by `seed`: a move takes a random logical
/// core to a random physical core (swapping with its occupant, if any); a move that does not raise the
/// objective is taken, a worse one with probability e^(−Δ/T), T falling geometrically from the mean
/// |Δ| of 64 random moves to 1/1000 of it. Returns the best placement seen and the moves accepted.
/// `progress(done, steps)` is called every 1/100 of the run.
pub fn anneal(topo: &Topology, t: &Traffic, start: Vec<usize>, seed: u64, steps: u64, mut progress: impl FnMut(u64, u64)) -> (Vec<usize>, u64) {
    let k = t.cores();
    let c = topo.cores();
    if steps == 0 || k < 2 && c < 2 {
        return (start, 0);
    }
    let nb = t.neighbours();
    let scale = (k as i128).max(1) * (topo.tile.iter().copied().max().unwrap_or(0) as i128 + 1);
    let mut place = start;
    let mut owner = vec![usize::MAX; c];
    for (a, &p) in place.iter().enumerate() {
        owner[p] = a;
    }
    let mut rng = XorShift32::new((seed ^ (seed >> 32)) as u32 ^ 0xA11E_A1ED);
    let draw = |rng: &mut XorShift32, owner: &[usize]| {
        let a = below(rng, k);
        let p = below(rng, c);
        let b = Some(owner[p]).filter(|&o| o != usize::MAX);
        (a, p, b)
    };
    // initial temperature: mean |Δ| of a few random moves
    let mut sum = 0f64;
    let mut probe = XorShift32::new((seed as u32) ^ 0x7E57_7E57);
    for _ in 0..64 {
        let (a, p, b) = draw(&mut probe, &owner);
        sum += (delta(topo, &nb, &place, a, p, b, scale) as f64).abs();
    }
    let t0 = (sum / 64.0).max(1.0);
    let (mut obj, mut best_obj) = (0i128, 0i128);
    let mut best = place.clone();
    let mut accepted = 0u64;
    let mut temp = t0;
    // per-step factor f with f^steps ≈ 1/1000, with + − × ÷ only: f = 1 + ln(10⁻³)/steps
    // (ln(10⁻³) = −6.907755…; f^steps → e^(ln 10⁻³) as steps grows).
    let f = (1.0 - 6.907_755_278_982_137 / steps as f64).max(0.5);
    let tick = (steps / 100).max(1);
    for s in 0..steps {
        let (a, p, b) = draw(&mut rng, &owner);
        if p != place[a] {
            let d = delta(topo, &nb, &place, a, p, b, scale);
            let take = d <= 0 || {
                let u = rng.next_u32() as f64 / 4_294_967_296.0;
                u < exp_neg(d as f64 / temp)
            };
            if take {
                let pa = place[a];
                if let Some(b) = b {
                    place[b] = pa;
                    owner[pa] = b;
                } else {
                    owner[pa] = usize::MAX;
                }
                place[a] = p;
                owner[p] = a;
                obj += d;
                accepted += 1;
                if obj < best_obj {
                    best_obj = obj;
                    best.clone_from(&place);
                }
            }
        }
        temp *= f;
        if (s + 1) % tick == 0 {
            progress(s + 1, steps);
        }
    }
    (best, accepted)
}

#[cfg(test)]
mod tests {
    use super::exp_neg;

    /// The bound stated on `exp_neg`: relative error < 10⁻⁶ against the platform's `exp` on [0, 40]
    /// (the platform's `exp` is within an ulp or two, far inside the bound).
    #[test]
    fn exp_neg_is_within_its_stated_bound() {
        let mut worst = 0f64;
        for i in 0..=40_000 {
            let x = i as f64 / 1000.0;
            let rel = (exp_neg(x) - (-x).exp()).abs() / (-x).exp();
            worst = worst.max(rel);
        }
        assert!(worst < 1e-6, "worst relative error {worst:e}");
        assert_eq!(exp_neg(0.0), 1.0);
        assert_eq!(exp_neg(41.0), 0.0);
    }
}
