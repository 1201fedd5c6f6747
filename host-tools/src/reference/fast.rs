//! Fast f32 kernels for the W2 workload (`shared/benchmarks/WORKLOADS.md`): one recurrent LIF layer with an
//! exponential current synapse (CUBA gain 1 − α_m), soft reset, ReluGrad surrogate, a leaky readout and a
//! per-step MSE loss. Specialised to that model; `tests/reference_fast.rs` checks every kernel against the
//! generic f64 [`super::algo`] on small instances.
//!
//! What the kernels exploit (all exact algebra, no approximation beyond f32 rounding):
//! - **Event-driven forward**: y = b + Σ_{i active} W[i,:], inputs and recurrent spikes are sparse; four rows
//!   per pass over y. The neuron update and every per-step trace update are branch-free vector passes.
//! - **ES-D-RTRL, blocked**: Σ_t ε^x_t ⊗ f_t over a block of K steps equals
//!   α·ε^x_{t0−1} ⊗ F_{t0} + Σ_{t'} x_{t'} ⊗ F_{t'} with F_{t'} = Σ_{t ≥ t'} α^{t−t'} f_t (within the block),
//!   a (n_x × (K+1))·((K+1) × N) product whose left factor is sparse (one dense column ε^x, then the 0/1
//!   events). It is applied as one pass over the rows of G per block: the block's events are grouped by row, and
//!   each row, loaded once into L1, receives its dense term and the F_q of its events. G (4.4 MB at N = 1000)
//!   is streamed T/K times instead of once per event, and F (K×N = 1 MB) stays in L2. Memory: K×N, independent
//!   of T. [`FastAlgo::EsdRankOne`] is the unblocked oracle (a dense rank-one update per step).
//! - **D-RTRL, blocked**: for this model the g-component of the per-weight trace does not depend on the
//!   postsynaptic neuron (D_gg = α_s, D^f_g = 1), so it is kept per axon. The V-component recursion
//!   ε_V ← d_j ε_V + k ε_g and the accumulation G += ε_V λ are unrolled over blocks of K steps into two
//!   (n_x × K)·(K × N) matrix products per block (see `drtrl`), rows split across threads.
//! - **BPTT**: stores O(T·N) membrane potentials and the event lists; the weight gradient only touches the
//!   rows of active axons, and the recurrent adjoint is computed only for neurons with ψ > 0.
//! - **Batches**: rayon over fixed chunks of sequences; chunk results are summed in chunk order, so the
//!   result is the same for any number of threads.
use super::algo::BiasCorrection;
use super::model::{Neuron, Presyn};
use super::net::{LayerConfig, LayerParams, LossKind, NetConfig, Output, Params, Sequence, Target};
use super::rng::Rng;
use super::RefError;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};
use rayon::prelude::*;

/// Sequences per parallel task (fixed, so the reduction order does not depend on the thread count).
pub const BATCH_CHUNK: usize = 4;
/// ES-D-RTRL block length K.
pub const ES_BLOCK: usize = 256;
// the block's event index stores step numbers q < ES_BLOCK as u16
const _: () = assert!(ES_BLOCK <= u16::MAX as usize + 1);
/// D-RTRL block length K.
pub const DR_BLOCK: usize = 64;
/// Rows of the ES-D-RTRL gradient per parallel task (B = 1).
const ES_ROWS: usize = 256;
/// Rows of the D-RTRL trace per parallel task.
const DR_ROWS: usize = 128;

/// W2 workload parameters.
#[derive(Clone, Debug)]
pub struct W2Config {
    /// Inputs (100).
    pub n_in: usize,
    /// Recurrent neurons N.
    pub n: usize,
    /// Readout outputs (4).
    pub n_out: usize,
    /// τ_m in ms (20).
    pub tau_m: f64,
    /// τ_s in ms (5).
    pub tau_s: f64,
    /// Readout τ_o in ms (5).
    pub tau_o: f64,
    /// Input Poisson rate in Hz (20), dt = 1 ms.
    pub rate_hz: f64,
    /// Kaiming-normal multiplier of the input block (6).
    pub ff_scale: f64,
    /// Kaiming-normal multiplier of the recurrent block (0.5).
    pub rec_scale: f64,
    /// SGD learning rate (1e-3).
    pub lr: f64,
}

impl W2Config {
    /// The W2 definition for N neurons.
    pub fn new(n: usize) -> Self {
        Self { n_in: 100, n, n_out: 4, tau_m: 20.0, tau_s: 5.0, tau_o: 5.0, rate_hz: 20.0, ff_scale: 6.0, rec_scale: 0.5, lr: 1e-3 }
    }
}

/// Network of the W2 workload, f32.
#[derive(Clone, Debug)]
pub struct W2Net {
    /// Inputs.
    pub n_in: usize,
    /// Neurons.
    pub n: usize,
    /// Outputs.
    pub n_out: usize,
    /// W, (n_in + n) × n row-major.
    pub w: Vec<f32>,
    /// Bias.
    pub b: Vec<f32>,
    /// Readout, n × n_out.
    pub wout: Vec<f32>,
    /// α_m.
    pub am: f32,
    /// α_s.
    pub as_: f32,
    /// CUBA gain k = 1 − α_m.
    pub k: f32,
    /// κ.
    pub kappa: f32,
    /// SGD learning rate.
    pub lr: f32,
}

/// One W2 sequence: input spike indices per step and N(0,1) targets (T × n_out).
#[derive(Clone, Debug)]
pub struct W2Seq {
    /// Active input indices per step.
    pub spikes: Vec<Vec<u32>>,
    /// Targets, `targets[t*n_out + k]`.
    pub targets: Vec<f32>,
}

/// Which gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FastAlgo {
    /// ES-D-RTRL with decay α and the reference correction.
    Esd {
        /// α (W2: 0.98).
        alpha: f32,
    },
    /// ES-D-RTRL computed without blocking: a dense rank-one update of the gradient every step. The oracle of
    /// the blocked kernel (same algebra, other summation order) and the "before" of its benchmark.
    EsdRankOne {
        /// α.
        alpha: f32,
    },
    /// Pure D-RTRL.
    DRtrl,
    /// BPTT.
    Bptt,
}

/// Gradient and loss of a batch.
#[derive(Clone, Debug)]
pub struct W2Grad {
    /// ∂L/∂W.
    pub w: Vec<f32>,
    /// ∂L/∂b.
    pub b: Vec<f32>,
    /// ∂L/∂V.
    pub wout: Vec<f32>,
    /// Σ L.
    pub loss: f64,
    /// Recurrent spikes emitted.
    pub spikes: u64,
}

impl W2Grad {
    fn zeros(net: &W2Net) -> Self {
        Self {
            w: vec![0.0; (net.n_in + net.n) * net.n],
            b: vec![0.0; net.n],
            wout: vec![0.0; net.n * net.n_out],
            loss: 0.0,
            spikes: 0,
        }
    }
    fn add(&mut self, o: &Self) {
        for (a, b) in self.w.iter_mut().zip(&o.w) {
            *a += b;
        }
        for (a, b) in self.b.iter_mut().zip(&o.b) {
            *a += b;
        }
        for (a, b) in self.wout.iter_mut().zip(&o.wout) {
            *a += b;
        }
        self.loss += o.loss;
        self.spikes += o.spikes;
    }
}

impl W2Net {
    /// Kaiming-normal initialisation per block: input rows sd = ff·sqrt(2/n_in), recurrent rows
    /// sd = rec·sqrt(2/n), readout sd = sqrt(2/n), zero bias. (With one fan-in n_in + n for the whole matrix
    /// the hidden rate at N = 1000 is 0.46 Hz, far below the 10–20 Hz that WORKLOADS.md states; per-block
    /// fan-in gives rates inside that band, so it is taken as the intended reading.)
    pub fn new(c: &W2Config, seed: u64) -> Result<Self, RefError> {
        if c.n == 0 || c.n_in == 0 || c.n_out == 0 {
            return Err(RefError::Config("W2 sizes must be positive"));
        }
        if !(c.tau_m > 0.0 && c.tau_s > 0.0 && c.tau_o > 0.0) {
            return Err(RefError::Config("W2 time constants must be positive"));
        }
        let mut rng = Rng::new(seed);
        let nx = c.n_in + c.n;
        let mut w = vec![0.0f32; nx * c.n];
        for i in 0..nx {
            let s = if i < c.n_in {
                c.ff_scale * (2.0 / c.n_in as f64).sqrt()
            } else {
                c.rec_scale * (2.0 / c.n as f64).sqrt()
            };
            for j in 0..c.n {
                w[i * c.n + j] = (rng.normal() * s) as f32;
            }
        }
        let sdo = (2.0 / c.n as f64).sqrt();
        let wout = (0..c.n * c.n_out).map(|_| (rng.normal() * sdo) as f32).collect();
        let am = (-1.0 / c.tau_m).exp();
        Ok(Self {
            n_in: c.n_in,
            n: c.n,
            n_out: c.n_out,
            w,
            b: vec![0.0; c.n],
            wout,
            am: am as f32,
            as_: (-1.0 / c.tau_s).exp() as f32,
            k: (1.0 - am) as f32,
            kappa: (-1.0 / c.tau_o).exp() as f32,
            lr: c.lr as f32,
        })
    }

    /// Seeded batch of W2 sequences: Poisson inputs (Bernoulli per ms) and N(0,1) targets.
    pub fn make_batch(&self, c: &W2Config, t: usize, b: usize, seed: u64) -> Vec<W2Seq> {
        let p = c.rate_hz * 1e-3;
        (0..b)
            .map(|s| {
                let mut rng = Rng::derive(seed, s as u64);
                let spikes = (0..t).map(|_| (0..self.n_in as u32).filter(|_| rng.bernoulli(p)).collect()).collect();
                let targets = (0..t * self.n_out).map(|_| rng.normal() as f32).collect();
                W2Seq { spikes, targets }
            })
            .collect()
    }

    /// The same network for the generic f64 reference (for cross-checks).
    pub fn to_reference(&self) -> (NetConfig<Neuron>, Params<f64>) {
        let n = Neuron::lif(self.am as f64).with_exp_gain(self.as_ as f64, self.k as f64);
        let cfg = NetConfig {
            layers: vec![LayerConfig { n_in: self.n_in, n: self.n, recurrent: true, neuron: n, presyn: Presyn::None }],
            output: Output::LeakyReadout { n_out: self.n_out, kappa: self.kappa as f64 },
            loss: LossKind::Mse,
        };
        let p = Params {
            layers: vec![LayerParams {
                w: self.w.iter().map(|&x| x as f64).collect(),
                b: self.b.iter().map(|&x| x as f64).collect(),
            }],
            readout: self.wout.iter().map(|&x| x as f64).collect(),
        };
        (cfg, p)
    }

    /// Batch gradient (sum over sequences).
    pub fn batch_grad(&self, batch: &[W2Seq], algo: FastAlgo) -> W2Grad {
        let parts: Vec<W2Grad> = if batch.len() == 1 {
            let mut g = W2Grad::zeros(self);
            self.seq_grad(&batch[0], algo, &mut g, true);
            vec![g]
        } else {
            batch
                .par_chunks(BATCH_CHUNK)
                .map(|ch| {
                    let mut g = W2Grad::zeros(self);
                    for s in ch {
                        self.seq_grad(s, algo, &mut g, false);
                    }
                    g
                })
                .collect()
        };
        let mut it = parts.into_iter();
        let mut g = it.next().unwrap_or_else(|| W2Grad::zeros(self));
        for p in it {
            g.add(&p);
        }
        g
    }

    /// One training step: batch gradient, then one SGD step on the loss averaged over batch and time steps
    /// (L = 1/(B·T) Σ_b Σ_t ½‖r_t − y_t‖²). Returns that mean loss.
    pub fn train_step(&mut self, batch: &[W2Seq], algo: FastAlgo) -> f64 {
        let g = self.batch_grad(batch, algo);
        let bt = (batch.len().max(1) * batch.first().map_or(1, |s| s.spikes.len().max(1))) as f32;
        let s = self.lr / bt;
        for (w, d) in self.w.iter_mut().zip(&g.w) {
            *w -= s * d;
        }
        for (w, d) in self.b.iter_mut().zip(&g.b) {
            *w -= s * d;
        }
        for (w, d) in self.wout.iter_mut().zip(&g.wout) {
            *w -= s * d;
        }
        g.loss / bt as f64
    }

    /// Gradient of one sequence added to `g`.
    pub fn seq_grad(&self, seq: &W2Seq, algo: FastAlgo, g: &mut W2Grad, parallel_rows: bool) {
        match algo {
            FastAlgo::Esd { alpha } => self.esd(seq, alpha, g, parallel_rows, true),
            FastAlgo::EsdRankOne { alpha } => self.esd(seq, alpha, g, parallel_rows, false),
            FastAlgo::DRtrl => self.drtrl(seq, g, parallel_rows),
            FastAlgo::Bptt => self.bptt(seq, g),
        }
    }

    #[inline]
    fn psi(v: f32) -> f32 {
        (0.3 * (1.0 - (v - 1.0).abs())).max(0.0)
    }

    /// Forward of one step shared by the online kernels: updates g, v, the spike list and the readout; writes
    /// the active axon list, d_VV per neuron and the error e. Returns the step loss. The neuron update is one
    /// branch-free pass (it vectorises); the spike list is a second pass.
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &self,
        seq: &W2Seq,
        t: usize,
        gs: &mut [f32],
        vs: &mut [f32],
        spk: &mut Vec<u32>,
        r: &mut [f32],
        y: &mut [f32],
        act: &mut Vec<u32>,
        dvv: &mut [f32],
        e: &mut [f32],
    ) -> f64 {
        let (n, no) = (self.n, self.n_out);
        act.clear();
        act.extend_from_slice(&seq.spikes[t]);
        act.extend(spk.iter().map(|&j| self.n_in as u32 + j));
        y.copy_from_slice(&self.b);
        add_rows(y, &self.w, act, n);
        let (am, as_, k) = (self.am, self.as_, self.k);
        for (((g, v), d), &yj) in gs[..n].iter_mut().zip(vs[..n].iter_mut()).zip(dvv[..n].iter_mut()).zip(&y[..n]) {
            let vp = *v;
            let sp = if vp > 1.0 { 1.0 } else { 0.0 };
            *d = am * (1.0 - Self::psi(vp));
            let gn = as_ * *g + yj;
            *g = gn;
            *v = am * (vp - sp) + k * gn;
        }
        spk.clear();
        for (j, &v) in vs[..n].iter().enumerate() {
            if v > 1.0 {
                spk.push(j as u32);
            }
        }
        for rk in r.iter_mut() {
            *rk *= self.kappa;
        }
        for &j in spk.iter() {
            for k in 0..no {
                r[k] += self.wout[j as usize * no + k];
            }
        }
        let mut l = 0.0f64;
        for k in 0..no {
            e[k] = r[k] - seq.targets[t * no + k];
            l += 0.5 * (e[k] as f64) * (e[k] as f64);
        }
        l
    }

    /// ES-D-RTRL for one sequence. `blocked = false` is the unblocked oracle (a dense rank-one update
    /// G += ε^x_t ⊗ f_t every step); `blocked = true` is the kernel described in the module doc: per block of
    /// K steps one backward recursion F, then one pass over the rows of G adding the dense part
    /// α·ε^x_{t0−1}[i]·F_{t0} and F_q for every step q of the block at which axon i was active.
    fn esd(&self, seq: &W2Seq, alpha: f32, g: &mut W2Grad, parallel_rows: bool, blocked: bool) {
        let (n, no, nx) = (self.n, self.n_out, self.n_in + self.n);
        let tn = seq.spikes.len();
        let (mut gs, mut vs, mut y, mut dvv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let (mut efg, mut efv, mut eo, mut d) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
        let mut ex = vec![0.0f32; nx];
        let mut ex0 = vec![0.0f32; nx];
        let (mut r, mut e) = (vec![0.0; no], vec![0.0; no]);
        // readout weights and readout gradient transposed (n_out rows of length n), so the per-step work on
        // them is n_out vector passes
        let mut wo_t = vec![0.0f32; no * n];
        for j in 0..n {
            for kk in 0..no {
                wo_t[kk * n + j] = self.wout[j * no + kk];
            }
        }
        let mut gwo_t = vec![0.0f32; no * n];
        let mut spk = Vec::new();
        let mut act = Vec::new();
        let kb = if blocked { ES_BLOCK } else { 1 };
        let mut fbuf = vec![0.0f32; kb * n];
        let mut acts: Vec<Vec<u32>> = vec![Vec::new(); kb];
        let (mut rstart, mut rfill, mut rq) = (vec![0u32; nx + 1], vec![0u32; nx], Vec::<u16>::new());
        let mut nb = 0usize;
        let (a1, k, as_, kappa) = (1.0 - alpha, self.k, self.as_, self.kappa);
        for t in 0..tn {
            if nb == 0 {
                ex0.copy_from_slice(&ex);
            }
            g.loss += self.forward(seq, t, &mut gs, &mut vs, &mut spk, &mut r, &mut y, &mut act, &mut dvv, &mut e);
            g.spikes += spk.len() as u64;
            // traces: ε^x (dense, cheap), ε^f = [g, V], readout ε^o
            for v in ex.iter_mut() {
                *v *= alpha;
            }
            for &i in &act {
                ex[i as usize] += 1.0;
            }
            for ((fg, fv), &dj) in efg.iter_mut().zip(efv.iter_mut()).zip(&dvv) {
                let g0 = *fg;
                *fv = alpha * (k * as_ * g0 + dj * *fv) + a1 * k;
                *fg = alpha * as_ * g0 + a1;
            }
            decay_flush(&mut eo, kappa);
            for &j in &spk {
                eo[j as usize] += 1.0;
            }
            // readout gradient (exact trace) and λ_V = ψ·(Vᵀe); f_t = ε^f_V·λ_V / c_t
            d.iter_mut().for_each(|x| *x = 0.0);
            for kk in 0..no {
                axpy(&mut gwo_t[kk * n..(kk + 1) * n], e[kk], &eo);
                axpy(&mut d, e[kk], &wo_t[kk * n..(kk + 1) * n]);
            }
            let c = BiasCorrection::Reference.c(alpha as f64, t) as f32;
            let f = &mut fbuf[nb * n..(nb + 1) * n];
            for (((fj, &fv), &vj), (&dj, bj)) in f.iter_mut().zip(&efv).zip(&vs).zip(d.iter().zip(g.b.iter_mut())) {
                *fj = fv * (Self::psi(vj) * dj) / c;
                *bj += *fj;
            }
            if !blocked {
                // unblocked: G += ε^x_t ⊗ f_t, rows with ε^x = 0 skipped
                for (i, &xi) in ex.iter().enumerate() {
                    if xi != 0.0 {
                        axpy(&mut g.w[i * n..(i + 1) * n], xi, f);
                    }
                }
                continue;
            }
            acts[nb].clear();
            acts[nb].extend_from_slice(&act);
            nb += 1;
            if nb == kb || t + 1 == tn {
                // F_t = f_t + α F_{t+1}, backwards within the block
                for q in (0..nb.saturating_sub(1)).rev() {
                    let (lo, hi) = fbuf.split_at_mut((q + 1) * n);
                    axpy(&mut lo[q * n..(q + 1) * n], alpha, &hi[..n]);
                }
                // the block's events grouped by row (counting sort; q ascending within a row)
                rstart.iter_mut().for_each(|x| *x = 0);
                for act_q in &acts[..nb] {
                    for &i in act_q {
                        rstart[i as usize + 1] += 1;
                    }
                }
                for i in 0..nx {
                    rstart[i + 1] += rstart[i];
                }
                rfill.copy_from_slice(&rstart[..nx]);
                rq.resize(rstart[nx] as usize, 0);
                for (q, act_q) in acts[..nb].iter().enumerate() {
                    for &i in act_q {
                        rq[rfill[i as usize] as usize] = q as u16;
                        rfill[i as usize] += 1;
                    }
                }
                // G[i,:] += α·ε^x_{t0−1}[i]·F_{t0} + Σ_{q: i ∈ act_q} F_q, one pass over G per block (each row
                // is loaded once and stays in L1 while its terms are added). Rows split across tasks at B = 1:
                // each row is owned by one task and summed in the same order whatever the thread count.
                let (fb, ex0_r, rs, rq_r) = (&fbuf, &ex0, &rstart, &rq);
                let body = |(blk, gc): (usize, &mut [f32])| {
                    let r0 = blk * ES_ROWS;
                    for (di, grow) in gc.chunks_exact_mut(n).enumerate() {
                        let i = r0 + di;
                        let a = alpha * ex0_r[i];
                        if a != 0.0 {
                            axpy(grow, a, &fb[..n]);
                        }
                        for &q in &rq_r[rs[i] as usize..rs[i + 1] as usize] {
                            let q = q as usize;
                            add(grow, &fb[q * n..(q + 1) * n]);
                        }
                    }
                };
                if parallel_rows {
                    g.w.par_chunks_mut(ES_ROWS * n).enumerate().for_each(body);
                } else {
                    g.w.chunks_mut(ES_ROWS * n).enumerate().for_each(body);
                }
                nb = 0;
            }
        }
        for j in 0..n {
            for kk in 0..no {
                g.wout[j * no + kk] += gwo_t[kk * n + j];
            }
        }
    }

    fn drtrl(&self, seq: &W2Seq, g: &mut W2Grad, parallel_rows: bool) {
        // Blocked D-RTRL (exact): over a block of K steps with per-neuron decays d_j(t) and learning signals
        // λ_j(t), with E0 = ε_V at the block start and c_i(t') = k·ε_g,i(t'):
        //   Σ_t λ_j(t) ε_V[i,j](t) = E0[i,j]·A_j + Σ_t' c_i(t')·Λ_j(t'),   Λ_j(t') = λ_j(t') + d_j(t'+1)·Λ_j(t'+1)
        //   ε_V[i,j](end)          = E0[i,j]·P_j  + Σ_t' c_i(t')·Q_j(t'),   Q_j(t')  = d_j(t'+1)·Q_j(t'+1), Q(end) = 1
        // with A_j = d_j(t0)·Λ_j(t0) and P_j = d_j(t0)·Q_j(t0): two (n_x × K)·(K × N) products per block.
        let (n, no, nx) = (self.n, self.n_out, self.n_in + self.n);
        let tn = seq.spikes.len();
        let kb = DR_BLOCK;
        let (mut gs, mut vs, mut y, mut dvv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut eo = vec![0.0f32; n];
        let mut eg = vec![0.0f32; nx];
        let mut ev = vec![0.0f32; nx * n];
        let (mut r, mut e) = (vec![0.0; no], vec![0.0; no]);
        let (mut bg, mut bv) = (vec![0.0f32; n], vec![0.0f32; n]);
        let mut cblk = vec![0.0f32; nx * kb];
        let mut lblk = vec![0.0f32; kb * n];
        let mut dblk = vec![0.0f32; kb * n];
        let mut qblk = vec![0.0f32; kb * n];
        let (mut aj, mut pj) = (vec![0.0f32; n], vec![0.0f32; n]);
        let mut spk = Vec::new();
        let mut act = Vec::new();
        let (k, as_) = (self.k, self.as_);
        let mut nb = 0usize;
        for t in 0..tn {
            g.loss += self.forward(seq, t, &mut gs, &mut vs, &mut spk, &mut r, &mut y, &mut act, &mut dvv, &mut e);
            g.spikes += spk.len() as u64;
            decay_flush(&mut eg, as_);
            for &i in &act {
                eg[i as usize] += 1.0;
            }
            for i in 0..nx {
                cblk[i * kb + nb] = k * eg[i];
            }
            decay_flush(&mut eo, self.kappa);
            for &j in &spk {
                eo[j as usize] += 1.0;
            }
            let lam = &mut lblk[nb * n..(nb + 1) * n];
            for j in 0..n {
                if eo[j] != 0.0 {
                    for kk in 0..no {
                        g.wout[j * no + kk] += eo[j] * e[kk];
                    }
                }
                let psi = Self::psi(vs[j]);
                let mut d = 0.0;
                if psi > 0.0 {
                    for kk in 0..no {
                        d += self.wout[j * no + kk] * e[kk];
                    }
                }
                lam[j] = psi * d;
                // bias: the trace of an always-on input, per neuron
                bg[j] = as_ * bg[j] + 1.0;
                bv[j] = dvv[j] * bv[j] + k * bg[j];
                g.b[j] += bv[j] * lam[j];
            }
            dblk[nb * n..(nb + 1) * n].copy_from_slice(&dvv);
            nb += 1;
            if nb < kb && t + 1 < tn {
                continue;
            }
            // backward recursions within the block
            qblk[(nb - 1) * n..nb * n].iter_mut().for_each(|v| *v = 1.0);
            for q in (0..nb - 1).rev() {
                for j in 0..n {
                    let d = dblk[(q + 1) * n + j];
                    qblk[q * n + j] = d * qblk[(q + 1) * n + j];
                    lblk[q * n + j] += d * lblk[(q + 1) * n + j];
                }
            }
            for j in 0..n {
                aj[j] = dblk[j] * lblk[j];
                pj[j] = dblk[j] * qblk[j];
            }
            let rows = DR_ROWS;
            let body = |(blk, (evc, gwc)): (usize, (&mut [f32], &mut [f32]))| {
                let m = evc.len() / n;
                for (evr, gwr) in evc.chunks_exact_mut(n).zip(gwc.chunks_exact_mut(n)) {
                    for (((e0, gw), &a), &p) in evr.iter_mut().zip(gwr.iter_mut()).zip(&aj).zip(&pj) {
                        *gw += *e0 * a;
                        *e0 *= p;
                    }
                }
                let c = ArrayView2::from_shape((m, nb).strides((kb, 1)), &cblk[blk * rows * kb..(blk * rows + m) * kb])
                    .expect("block shape");
                let l = ArrayView2::from_shape((nb, n), &lblk[..nb * n]).expect("block shape");
                let q = ArrayView2::from_shape((nb, n), &qblk[..nb * n]).expect("block shape");
                let mut gm = ArrayViewMut2::from_shape((m, n), gwc).expect("block shape");
                general_mat_mul(1.0, &c, &l, 1.0, &mut gm);
                let mut em = ArrayViewMut2::from_shape((m, n), evc).expect("block shape");
                general_mat_mul(1.0, &c, &q, 1.0, &mut em);
            };
            if parallel_rows {
                ev.par_chunks_mut(rows * n).zip(g.w.par_chunks_mut(rows * n)).enumerate().for_each(body);
            } else {
                ev.chunks_mut(rows * n).zip(g.w.chunks_mut(rows * n)).enumerate().for_each(body);
            }
            nb = 0;
        }
    }

    fn bptt(&self, seq: &W2Seq, g: &mut W2Grad) {
        let (n, no, nin) = (self.n, self.n_out, self.n_in);
        let tn = seq.spikes.len();
        let (mut gs, mut vs, mut y, mut dvv) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let (mut r, mut e) = (vec![0.0; no], vec![0.0; no]);
        let mut spk = Vec::new();
        let mut act = Vec::new();
        // stored: V_t (T×N), errors (T×n_out), event lists
        let mut vhist = vec![0.0f32; tn * n];
        let mut ehist = vec![0.0f32; tn * no];
        let mut acts: Vec<Vec<u32>> = Vec::with_capacity(tn);
        let mut spks: Vec<Vec<u32>> = Vec::with_capacity(tn);
        for t in 0..tn {
            g.loss += self.forward(seq, t, &mut gs, &mut vs, &mut spk, &mut r, &mut y, &mut act, &mut dvv, &mut e);
            g.spikes += spk.len() as u64;
            vhist[t * n..(t + 1) * n].copy_from_slice(&vs);
            ehist[t * no..(t + 1) * no].copy_from_slice(&e);
            acts.push(act.clone());
            spks.push(spk.clone());
        }
        let (mut dg, mut dv, mut dsr, mut dy) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
        let mut dr = vec![0.0f32; no];
        let (am, as_, k, kappa) = (self.am, self.as_, self.k, self.kappa);
        for t in (0..tn).rev() {
            for kk in 0..no {
                dr[kk] += ehist[t * no + kk];
            }
            for &j in &spks[t] {
                for kk in 0..no {
                    g.wout[j as usize * no + kk] += dr[kk];
                }
            }
            let vt = &vhist[t * n..(t + 1) * n];
            for j in 0..n {
                let psi = Self::psi(vt[j]);
                if psi > 0.0 {
                    let mut d = dsr[j];
                    for kk in 0..no {
                        d += self.wout[j * no + kk] * dr[kk];
                    }
                    dv[j] += psi * d;
                }
            }
            decay_flush(&mut dr, kappa);
            for j in 0..n {
                dy[j] = dg[j] + k * dv[j];
                g.b[j] += dy[j];
            }
            for &i in &acts[t] {
                add(&mut g.w[i as usize * n..(i as usize + 1) * n], &dy);
            }
            for j in 0..n {
                let vp = if t > 0 { vhist[(t - 1) * n + j] } else { 0.0 };
                let psi_p = Self::psi(vp);
                dg[j] = flush(as_ * dg[j] + k * as_ * dv[j]);
                dv[j] = flush(dv[j] * am * (1.0 - psi_p));
                // adjoint of s_{t−1} through the recurrent rows (only needed where ψ_{t−1} > 0)
                dsr[j] = if t > 0 && psi_p > 0.0 {
                    dot(&self.w[(nin + j) * n..(nin + j + 1) * n], &dy)
                } else {
                    0.0
                };
            }
        }
    }
}

/// Convert a W2 sequence to the generic reference format (for cross-checks).
pub fn to_sequence(net: &W2Net, s: &W2Seq) -> Sequence {
    let inputs = s
        .spikes
        .iter()
        .map(|sp| {
            let mut u = vec![0.0; net.n_in];
            for &i in sp {
                u[i as usize] = 1.0;
            }
            u
        })
        .collect();
    let targets = (0..s.spikes.len())
        .map(|t| Some(Target::Values(s.targets[t * net.n_out..(t + 1) * net.n_out].iter().map(|&x| x as f64).collect())))
        .collect();
    Sequence { inputs, targets }
}

/// Learning-state bytes of one sequence for W2-shaped networks (analytic, f32 storage as in these kernels).
pub fn learning_state_bytes(algo: FastAlgo, n_in: usize, n: usize, t: usize) -> usize {
    let nx = n_in + n;
    let f = 4;
    match algo {
        // ε^x and its block-start copy, ε^f (2 states), ε^o, Vᵀe, readout and its gradient transposed (2·4N),
        // block F (K×N), row index of the block's events (2·(n_x+1) u32); event lists not counted
        FastAlgo::Esd { .. } => f * (2 * nx + 2 * n + n + n + 2 * 4 * n + ES_BLOCK * n + 2 * (nx + 1)),
        // as ES without the block: ε^x, ε^f, ε^o, Vᵀe, readout and its gradient transposed, f_t
        FastAlgo::EsdRankOne { .. } => f * (nx + 2 * n + n + n + 2 * 4 * n + n),
        // per-axon g trace + per-synapse V trace + ε^o + block buffers (K×n_x, 3·K×N)
        FastAlgo::DRtrl => f * (nx + nx * n + n + DR_BLOCK * nx + 3 * DR_BLOCK * n),
        // V_t and errors per step (event lists not counted)
        FastAlgo::Bptt => f * (t * n + t * 4),
    }
}

/// y += x (slices of equal length; written as a zip so it vectorises).
#[inline]
fn add(y: &mut [f32], x: &[f32]) {
    for (a, b) in y.iter_mut().zip(x) {
        *a += b;
    }
}

/// y += Σ_{i ∈ rows} w[i·n .. (i+1)·n], four rows per pass over y: y += (w_a + w_b) + (w_c + w_d). Four
/// independent row streams keep more loads in flight than one (the rows of W live in L3, not L2, at N = 1000),
/// and y is read and written a quarter as often.
#[inline]
fn add_rows(y: &mut [f32], w: &[f32], rows: &[u32], n: usize) {
    let row = |i: u32| &w[i as usize * n..(i as usize + 1) * n];
    let mut quads = rows.chunks_exact(4);
    for q in &mut quads {
        let (a, b, c, d) = (row(q[0]), row(q[1]), row(q[2]), row(q[3]));
        for ((((u, &x0), &x1), &x2), &x3) in y.iter_mut().zip(a).zip(b).zip(c).zip(d) {
            *u += (x0 + x1) + (x2 + x3);
        }
    }
    for &i in quads.remainder() {
        add(y, row(i));
    }
}

/// y += a·x.
#[inline]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (u, v) in y.iter_mut().zip(x) {
        *u += a * v;
    }
}

/// x·y with 8 independent accumulators (vectorisable without re-association by the compiler).
#[inline]
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for q in 0..8 {
            acc[q] += a[q] * b[q];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (a, b) in xr.iter().zip(yr) {
        s += a * b;
    }
    s
}

/// v ← a·v, with values below 1e-30 flushed to zero: decaying traces of silent axons would otherwise become
/// subnormal and slow every product that reads them by two orders of magnitude (the change is < 1e-30).
#[inline]
fn decay_flush(v: &mut [f32], a: f32) {
    for x in v.iter_mut() {
        let y = *x * a;
        *x = if y.abs() < 1e-30 { 0.0 } else { y };
    }
}

/// Zero below 1e-30 (see [`decay_flush`]).
#[inline]
fn flush(y: f32) -> f32 {
    if y.abs() < 1e-30 {
        0.0
    } else {
        y
    }
}
