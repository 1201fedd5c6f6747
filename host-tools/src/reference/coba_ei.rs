//! The evidence-accumulation network of the paper (spec §5, braintrace-snn-experiments
//! `ei_coba_net_decision_making`): EI-GIF neurons with conductance-based (COBA) exponential synapses,
//! 4:1 excitatory:inhibitory, sparse random connectivity. Like [`super::gif`], the neuron is written only as
//! a generic [`NeuronModel::step_ports`] over [`Scalar`]; D-RTRL / ES-D-RTRL get its 7×7 D_t and 7×3 D^f_t
//! from forward-mode duals.
//!
//! Three input ports per neuron, one per projection of the paper's network: 0 = feed-forward (external
//! inputs, excitatory reversal), 1 = recurrent excitatory (neurons `0..n_exc`), 2 = recurrent inhibitory
//! (neurons `n_exc..n`). As in the paper's `Linear` (`abs(x·W)·sign`, sign = +1), each projection's
//! summed input is rectified, |y_p|, before it enters its conductance, so conductances stay ≥ 0 whatever
//! the sign of the learned weights; which population is excitatory is set by the reversal potentials.
//!
//! States [g_ff, g_exc, g_inh, V, V_th, I1, I2] (S = 7), V_reset = 0, dt = 1 ms:
//! ```text
//! s_{t−1}  = H((V_{t−1} − sg(V_th,t−1)) / sg(V_th,t−1))     (detached in the reset when detach_reset)
//! g_p,t    = α_s·g_p,t−1 + |y_p,t|
//! V'       = V_{t−1} − V_th,t−1·s_{t−1}                       (soft reset to the adaptive threshold)
//! V_th,t   = V_∞ + ρ_th·(V_th,t−1 + A_th·s_{t−1} − V_∞)
//! I1_t     = ρ_1·(I1_{t−1} + A1·s_{t−1});   I2_t = ρ_2·(I2_{t−1} − A2·s_{t−1})
//! G        = Σ_p g_p,t;   V_eq = (V_rest + I1_t + I2_t + Σ_p g_p,t·E_p) / (1 + G)
//! V_t      = V_eq + (V' − V_eq)·e^{−(1 + G)·dt/τ_m}           (exponential Euler of
//!            τ_m dV/dt = −V + V_rest + I1 + I2 + Σ_p g_p (E_p − V), exact for frozen g)
//! ```
//! The readout reads (V − sg(V_th))/sg(V_th) (the paper's standardised membrane output, see
//! `Output::MembraneReadout`).
use super::model::NeuronModel;
use super::net::{InitScales, NetConfig, Params};
use super::rng::Rng;
use super::scalar::{Scalar, Surrogate};
use super::RefError;
use serde::{Deserialize, Serialize};

/// EI-GIF + COBA parameters (one population; neuron j < `n_exc` is excitatory).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CobaEi {
    /// Excitatory neurons (the first `n_exc` of the layer).
    pub n_exc: usize,
    /// α_m = e^{−dt/τ_m} (τ_m = 200 ms).
    pub alpha_m: f64,
    /// α_s = e^{−dt/τ_syn} of the three conductances (τ_syn = 10 ms).
    pub alpha_s: f64,
    /// Excitatory reversal potential (5).
    pub e_exc: f64,
    /// Inhibitory reversal potential (−10).
    pub e_inh: f64,
    /// Resting potential (0).
    pub v_rest: f64,
    /// Threshold at rest V_∞ (1).
    pub v_th_inf: f64,
    /// Threshold jump per spike A_th (1).
    pub a_th: f64,
    /// ρ_th = e^{−dt/τ_th} (τ_th = 100 ms).
    pub rho_th: f64,
    /// Spike-triggered depolarising current A1 (0.01).
    pub a1: f64,
    /// ρ_1 = e^{−dt/τ_I1} (τ_I1 = 50 ms).
    pub rho_1: f64,
    /// Spike-triggered adaptation current A2 (1; subtracted).
    pub a2: f64,
    /// ρ_2 = e^{−dt/τ_I2} (τ_I2 = 2000 ms).
    pub rho_2: f64,
    /// No surrogate gradient through the reset and the spike-triggered jumps (the paper's `diff_spike 0`).
    pub detach_reset: bool,
    /// Seed of the initial V ~ U(0, 1) per neuron.
    pub seed: u64,
    /// Surrogate ψ.
    pub surrogate: Surrogate,
}

impl CobaEi {
    /// The paper's evidence-accumulation setting for `n` neurons (4:1 E:I): τ_m 200, τ_syn 10, τ_I2 2000,
    /// τ_th 100, τ_I1 50, A_th 1, A1 0.01, A2 1, E_exc 5, E_inh −10, reset detached.
    pub fn paper(n: usize, seed: u64) -> Self {
        let d = |tau: f64| (-1.0 / tau).exp();
        Self {
            n_exc: n * 4 / 5,
            alpha_m: d(200.0),
            alpha_s: d(10.0),
            e_exc: 5.0,
            e_inh: -10.0,
            v_rest: 0.0,
            v_th_inf: 1.0,
            a_th: 1.0,
            rho_th: d(100.0),
            a1: 0.01,
            rho_1: d(50.0),
            a2: 1.0,
            rho_2: d(2000.0),
            detach_reset: true,
            seed,
            surrogate: Surrogate::default(),
        }
    }

    /// Check ranges.
    pub fn validate(&self) -> Result<(), RefError> {
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        let fin = [self.e_exc, self.e_inh, self.v_rest, self.a_th, self.a1, self.a2].iter().all(|x| x.is_finite());
        if !(unit(self.alpha_m) && unit(self.alpha_s) && unit(self.rho_th) && unit(self.rho_1) && unit(self.rho_2))
            || !fin
            || !(self.v_th_inf > 0.0 && self.v_th_inf.is_finite())
            || self.a_th < 0.0
        {
            return Err(RefError::Config("COBA E/I: decays in [0, 1], finite constants, V_inf > 0, A_th >= 0"));
        }
        Ok(())
    }

    /// Build a one-layer recurrent network's parameters as the paper script does, plus the fixed
    /// connectivity mask (`true` = synapse exists): each of the three projections is drawn dense from
    /// brainstate's `KaimingNormal(scale)` (sd = sqrt(scale / fan_in), fan_in = the projection's
    /// presynaptic count; scales ff, rec and rec·`w_ei_ratio` for inhibition), then masked with an
    /// independent Bernoulli(`p_connect`) per synapse (the paper's `sparsity = 0.1`). Masked weights are 0.
    pub fn init_params<M: NeuronModel>(
        &self,
        cfg: &NetConfig<M>,
        rng: &mut Rng,
        scales: InitScales,
        w_ei_ratio: f64,
        p_connect: f64,
    ) -> Result<(Params<f64>, Vec<Vec<bool>>), RefError> {
        if cfg.layers.len() != 1 || !cfg.layers[0].recurrent || cfg.layers[0].n <= self.n_exc || self.n_exc == 0 {
            return Err(RefError::Config("COBA E/I: one recurrent layer with both E and I neurons"));
        }
        if !(0.0..=1.0).contains(&p_connect) || !(w_ei_ratio > 0.0 && w_ei_ratio.is_finite()) {
            return Err(RefError::Config("COBA E/I: p_connect in [0, 1], w_ei_ratio > 0"));
        }
        let c = &cfg.layers[0];
        let (n, n_in) = (c.n, c.n_in);
        let n_inh = n - self.n_exc;
        let mut p = Params::zeros(cfg);
        let mut mask = vec![false; c.n_x() * n];
        for i in 0..c.n_x() {
            let sd = match self.axon_port(i, n_in) {
                0 => (scales.ff / n_in.max(1) as f64).sqrt(),
                1 => (scales.rec / self.n_exc as f64).sqrt(),
                _ => (scales.rec * w_ei_ratio / n_inh as f64).sqrt(),
            };
            for j in 0..n {
                let w = rng.normal() * sd;
                if rng.bernoulli(p_connect) {
                    mask[i * n + j] = true;
                    p.layers[0].w[i * n + j] = w;
                }
            }
        }
        let sd = (scales.out / n as f64).sqrt();
        p.readout.iter_mut().for_each(|v| *v = rng.normal() * sd);
        Ok((p, vec![mask]))
    }
}

impl NeuronModel for CobaEi {
    fn n_states(&self) -> usize {
        7
    }
    fn membrane_index(&self) -> usize {
        3
    }
    fn n_ports(&self) -> usize {
        3
    }
    fn axon_port(&self, i: usize, n_in: usize) -> usize {
        if i < n_in {
            0
        } else if i < n_in + self.n_exc {
            1
        } else {
            2
        }
    }
    fn init_state_for(&self, j: usize) -> Vec<f64> {
        let v0 = Rng::derive(self.seed, j as u64).uniform();
        vec![0.0, 0.0, 0.0, v0, self.v_th_inf, 0.0, 0.0]
    }
    fn surrogate(&self) -> Surrogate {
        self.surrogate
    }
    fn vhat<T: Scalar>(&self, h: &[T]) -> T {
        let th = h[4].detach();
        (h[3] - th) / th
    }
    fn step<T: Scalar>(&self, h_prev: &[T], y: T, h: &mut [T]) {
        self.step_ports(h_prev, &[y, T::zero(), T::zero()], h)
    }
    fn step_ports<T: Scalar>(&self, h_prev: &[T], y: &[T], h: &mut [T]) {
        let s = self.vhat(h_prev).spike(&self.surrogate);
        let s_r = if self.detach_reset { s.detach() } else { s };
        let abs = |v: T| if v.val() < 0.0 { -v } else { v };
        let c = T::cst;
        let mut gsum = T::zero();
        let mut ge = T::zero();
        for p in 0..3 {
            let g = c(self.alpha_s) * h_prev[p] + abs(y[p]);
            h[p] = g;
            gsum += g;
            ge += g * c(if p == 2 { self.e_inh } else { self.e_exc });
        }
        let v_reset = h_prev[3] - h_prev[4] * s_r;
        let vth = c(self.v_th_inf) + c(self.rho_th) * (h_prev[4] + c(self.a_th) * s_r - c(self.v_th_inf));
        let i1 = c(self.rho_1) * (h_prev[5] + c(self.a1) * s_r);
        let i2 = c(self.rho_2) * (h_prev[6] - c(self.a2) * s_r);
        let one_g = c(1.0) + gsum;
        let v_eq = (c(self.v_rest) + i1 + i2 + ge) / one_g;
        // e^{−(1+G)·dt/τ_m} = α_m^{1+G}
        let decay = (c(self.alpha_m.ln()) * one_g).exp();
        h[3] = v_eq + (v_reset - v_eq) * decay;
        h[4] = vth;
        h[5] = i1;
        h[6] = i2;
    }
}
