//! The practical limit of W1 on this machine: a bare, single-purpose W1 loop with no chip model (no
//! timing, no NoC, no energy, no learning, float neurons), in the variants of
//! `/work/shared/benchmarks/WORKLOADS.md` ("The practical limit for W1 on this machine type"), on the
//! same graph as `plasticore bench w1` (`w1::build`, same seed). The emulator's W1 figures are read
//! against these (`hw-notes/emulator-w1.md`).
//!
//! ```text
//! cargo run --release -p plasticore-emu --example w1_bare -- [N] [T] [REPS]
//! ```
//! (defaults 16000, 1000, 5). One JSON line per variant and thread count, with the median and range
//! of M events/s over REPS runs (runs interleaved across variants, so load changes hit all alike).
//!
//! Variants: CSR rows per presynaptic neuron scattered into a fused decaying current (f32) or into i32
//! sums (i8 weights, u16 columns: 3 bytes per event), optionally with a software prefetch of every
//! line of the row two events ahead, or summed 16 synapses at a time by the emulator's AVX-512 kernel
//! (`plasticore_emu::simd`, where the CPU has AVX-512F), with or without the emulator's prefetch of the
//! row four events ahead; then one pass over the neurons. Two threads
//! split the neurons into disjoint halves, each with its own rows, sums and state (rayon, one join per
//! step), as the emulator's cores do.
#![allow(unsafe_code)]

use plasticore_core::rng::XorShift32;
use plasticore_emu::{simd, w1};
use std::time::Instant;

const BETA: f32 = 0.818_730_8; // exp(-1/5)
const ALPHA: f32 = 0.951_229_4; // exp(-1/20)

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    F32,
    F32Prefetch,
    I8,
    I8Prefetch,
    I8Avx512,
    I8Avx512Prefetch,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::F32 => "f32 weights, u32 columns",
            Kind::F32Prefetch => "f32, prefetch 2 rows ahead",
            Kind::I8 => "i8 weights, u16 columns, i32 sums",
            Kind::I8Prefetch => "i8, prefetch 2 rows ahead",
            Kind::I8Avx512 => "i8, AVX-512 gather/scatter (emulator kernel)",
            Kind::I8Avx512Prefetch => "i8, AVX-512, prefetch 4 rows ahead (as the emulator)",
        }
    }
}

/// One half (or all) of the neurons: its rows (local columns) and its state.
struct Part {
    first: usize,
    len: usize,
    row_start: Vec<u32>,
    cols16: Vec<u16>,
    cols32: Vec<u32>,
    w8: Vec<i8>,
    wf: Vec<f32>,
    i_syn: Vec<f32>,
    v: Vec<f32>,
    acc: Vec<i32>,
    spikes: Vec<u16>,
}

fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is in the x86-64 baseline; a prefetch never faults and changes no program state.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

impl Part {
    fn new(sw: &plasticore_emu::SparseWeights, first: usize, len: usize, scale: f32) -> Part {
        let axons = sw.row_start.len() - 1;
        let mut p = Part {
            first,
            len,
            row_start: vec![0],
            cols16: Vec::new(),
            cols32: Vec::new(),
            w8: Vec::new(),
            wf: Vec::new(),
            i_syn: vec![0.0; len],
            v: vec![0.0; len],
            acc: vec![0; len],
            spikes: Vec::new(),
        };
        for a in 0..axons {
            let (s, e) = (sw.row_start[a] as usize, sw.row_start[a + 1] as usize);
            for k in s..e {
                let c = sw.cols[k] as usize;
                if (first..first + len).contains(&c) {
                    p.cols16.push((c - first) as u16);
                    p.cols32.push((c - first) as u32);
                    let w = sw.weights[k].0 as i32;
                    p.w8.push(w.clamp(-128, 127) as i8);
                    p.wf.push(w as f32 * scale);
                }
            }
            p.row_start.push(p.cols16.len() as u32);
        }
        p
    }

    fn reset(&mut self) {
        self.i_syn.iter_mut().for_each(|x| *x = 0.0);
        self.v.iter_mut().for_each(|x| *x = 0.0);
        self.acc.iter_mut().for_each(|x| *x = 0);
    }

    /// Scatter the active rows, then one pass over the neurons (W1's update, reset to 0).
    fn step(&mut self, kind: Kind, active: &[u16], scale: f32) {
        let rs = &self.row_start;
        for (k, &a) in active.iter().enumerate() {
            if matches!(kind, Kind::F32Prefetch | Kind::I8Prefetch | Kind::I8Avx512Prefetch) {
                let ahead = if kind == Kind::I8Avx512Prefetch { 4 } else { 2 };
                if let Some(&b) = active.get(k + ahead) {
                    let (s, e) = (rs[b as usize] as usize, rs[b as usize + 1] as usize);
                    if kind == Kind::F32Prefetch {
                        self.cols32[s..e].chunks(16).for_each(|c| prefetch(c.as_ptr().cast()));
                        self.wf[s..e].chunks(16).for_each(|c| prefetch(c.as_ptr().cast()));
                    } else {
                        self.cols16[s..e].chunks(32).for_each(|c| prefetch(c.as_ptr().cast()));
                        self.w8[s..e].chunks(64).for_each(|c| prefetch(c.as_ptr().cast()));
                    }
                }
            }
            let (s, e) = (rs[a as usize] as usize, rs[a as usize + 1] as usize);
            match kind {
                Kind::F32 | Kind::F32Prefetch => {
                    for (&c, &w) in self.cols32[s..e].iter().zip(&self.wf[s..e]) {
                        if let Some(x) = self.i_syn.get_mut(c as usize) {
                            *x += w;
                        }
                    }
                }
                Kind::I8Avx512 | Kind::I8Avx512Prefetch if simd::add_row(&mut self.acc, &self.cols16[s..e], &self.w8[s..e]) => {}
                _ => {
                    for (&c, &w) in self.cols16[s..e].iter().zip(&self.w8[s..e]) {
                        if let Some(x) = self.acc.get_mut(c as usize) {
                            *x = x.wrapping_add(w as i32);
                        }
                    }
                }
            }
        }
        self.spikes.clear();
        let float = matches!(kind, Kind::F32 | Kind::F32Prefetch);
        for j in 0..self.len {
            // I_t = β·I_{t−1} + input (already in i_syn for f32; i32 sums scaled here), V = α·V + I.
            let i = if float { self.i_syn[j] } else { self.i_syn[j] + self.acc[j] as f32 * scale };
            self.acc[j] = 0;
            let v = ALPHA * self.v[j] + i;
            let s = v >= 1.0;
            self.v[j] = if s { 0.0 } else { v };
            self.i_syn[j] = BETA * i;
            if s {
                self.spikes.push((self.first + j) as u16);
            }
        }
    }
}

struct Run {
    wall_s: f64,
    spikes: u64,
    events: u64,
}

fn run(parts: &mut [Part], kind: Kind, steps: u32, deg: &[u32], scale: f32) -> Run {
    parts.iter_mut().for_each(Part::reset);
    let mut g = XorShift32::new(1 ^ 0x5151_0001);
    let (mut input, mut active, mut rec) = (Vec::new(), Vec::new(), Vec::<u16>::new());
    let (mut spikes, mut events) = (0u64, 0u64);
    let t0 = Instant::now();
    for _ in 0..steps {
        w1::inputs(&mut g, &mut input);
        active.clear();
        active.extend_from_slice(&input);
        active.extend(rec.iter().map(|&j| j + w1::INPUTS as u16));
        events += active.iter().map(|&a| deg[a as usize] as u64).sum::<u64>();
        match parts {
            [p] => p.step(kind, &active, scale),
            [p, q] => {
                rayon::join(|| p.step(kind, &active, scale), || q.step(kind, &active, scale));
            }
            _ => unreachable!("one or two parts"),
        }
        rec.clear();
        for p in parts.iter() {
            rec.extend_from_slice(&p.spikes);
        }
        spikes += rec.len() as u64;
    }
    Run { wall_s: t0.elapsed().as_secs_f64(), spikes, events }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(16000);
    let steps: u32 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let reps: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(5).max(1);
    let t0 = Instant::now();
    let w = w1::build(n, 1)?;
    let sw = w.spec.csr.as_ref().ok_or("W1 is built in compressed rows")?;
    let scale = 1.0 / (1u32 << w.weight_frac) as f32;
    let h = n.div_ceil(2);
    let mut layouts = [vec![Part::new(sw, 0, n, scale)], vec![Part::new(sw, 0, h, scale), Part::new(sw, h, n - h, scale)]];
    let build_s = t0.elapsed().as_secs_f64();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build()?;
    let mut kinds = vec![Kind::F32, Kind::F32Prefetch, Kind::I8, Kind::I8Prefetch];
    if simd::available() {
        kinds.extend([Kind::I8Avx512, Kind::I8Avx512Prefetch]);
    }
    let cases: Vec<(Kind, usize)> = kinds.iter().flat_map(|&k| [(k, 1), (k, 2)]).collect();
    let mut results: Vec<Vec<Run>> = cases.iter().map(|_| Vec::new()).collect();
    for _ in 0..reps {
        for (ci, &(kind, threads)) in cases.iter().enumerate() {
            let parts = &mut layouts[threads - 1];
            let r = pool.install(|| run(parts, kind, steps, &w.out_degree, scale));
            results[ci].push(r);
        }
    }
    for ((kind, threads), mut rs) in cases.into_iter().zip(results) {
        rs.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s));
        let med = &rs[rs.len() / 2];
        let meps = |r: &Run| r.events as f64 / r.wall_s / 1e6;
        println!(
            "{{\"workload\":\"w1-bare\",\"variant\":\"{}\",\"N\":{n},\"T\":{steps},\"threads\":{threads},\"reps\":{reps},\"build_s\":{build_s:.3},\"wall_s\":{:.4},\"spikes\":{},\"mean_rate_hz\":{:.2},\"syn_events_total\":{},\"m_events_per_s\":{:.0},\"m_events_per_s_min\":{:.0},\"m_events_per_s_max\":{:.0},\"loadavg_1min\":{}}}",
            kind.name(),
            med.wall_s,
            med.spikes,
            med.spikes as f64 / (n as f64 * steps as f64 * 1e-3),
            med.events,
            meps(med),
            meps(&rs[rs.len() - 1]),
            meps(&rs[0]),
            std::fs::read_to_string("/proc/loadavg").ok().and_then(|s| s.split_whitespace().next().map(String::from)).unwrap_or_else(|| "null".into()),
        );
    }
    Ok(())
}
