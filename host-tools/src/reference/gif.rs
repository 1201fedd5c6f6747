//! A generalized integrate-and-fire (GIF) neuron with a slow adaptation current (spec §1.6, the DMS model),
//! which is **not** a built-in: it is written only as a generic [`NeuronModel::step`] over [`Scalar`], and
//! D-RTRL / ES-D-RTRL get its D_t and D^f_t from forward-mode dual numbers (the trait's defaults).
//!
//! States [g, V, I2, ρ_j]: an exponential current synapse g, the membrane V, the adaptation current I2 and
//! the neuron's own adaptation decay ρ_j = e^{−dt/τ_I2,j} (a per-neuron constant kept as a state that never
//! changes; τ_I2,j is drawn from U(τ_lo, τ_hi) by a hash of the neuron index and the seed).
//!
//! ```text
//! s_{t−1} = H((V_{t−1} − V_th)/V_th)            (reset spike detached)
//! g_t  = α_s·g_{t−1} + y_t
//! I2_t = ρ_j·(I2_{t−1} − A2·s_{t−1})
//! V_t  = α_m·(V_{t−1} − V_th·sg(s_{t−1})) + (1 − α_m)·(g_t + I2_t)
//! ```
use super::model::NeuronModel;
use super::rng::Rng;
use super::scalar::{Scalar, Surrogate};
use super::RefError;
use serde::{Deserialize, Serialize};

/// GIF parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gif {
    /// α_m = e^{−dt/τ_m}.
    pub alpha_m: f64,
    /// α_s = e^{−dt/τ_s}.
    pub alpha_s: f64,
    /// Threshold (V_reset = 0).
    pub v_th: f64,
    /// Adaptation jump A2 per spike (the current becomes more negative).
    pub a2: f64,
    /// Lower end of τ_I2 (ms, dt = 1 ms).
    pub tau_i2_lo: f64,
    /// Upper end of τ_I2 (ms).
    pub tau_i2_hi: f64,
    /// Seed of the per-neuron τ_I2 draw.
    pub seed: u64,
    /// Surrogate.
    pub surrogate: Surrogate,
}

impl Gif {
    /// The DMS setting of spec §5: τ_m = τ_s = 100 ms, A2 = 1, τ_I2 ~ U(100, 2250) ms, V_th = 1.
    pub fn dms(seed: u64) -> Self {
        Self {
            alpha_m: (-0.01f64).exp(),
            alpha_s: (-0.01f64).exp(),
            v_th: 1.0,
            a2: 1.0,
            tau_i2_lo: 100.0,
            tau_i2_hi: 2250.0,
            seed,
            surrogate: Surrogate::default(),
        }
    }
    /// Check ranges.
    pub fn validate(&self) -> Result<(), RefError> {
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        let ok = unit(self.alpha_m) && unit(self.alpha_s) && self.v_th > 0.0 && self.tau_i2_lo > 0.0 && self.tau_i2_hi >= self.tau_i2_lo;
        if !ok {
            return Err(RefError::Config("GIF: decays in [0, 1], v_th > 0, 0 < tau_lo <= tau_hi"));
        }
        Ok(())
    }
}

impl NeuronModel for Gif {
    fn n_states(&self) -> usize {
        4
    }
    fn membrane_index(&self) -> usize {
        1
    }
    fn init_state_for(&self, j: usize) -> Vec<f64> {
        let mut r = Rng::derive(self.seed, j as u64);
        let tau = self.tau_i2_lo + (self.tau_i2_hi - self.tau_i2_lo) * r.uniform();
        vec![0.0, 0.0, 0.0, (-1.0 / tau).exp()]
    }
    fn surrogate(&self) -> Surrogate {
        self.surrogate
    }
    fn vhat<T: Scalar>(&self, h: &[T]) -> T {
        (h[1] - T::cst(self.v_th)) / T::cst(self.v_th)
    }
    fn step<T: Scalar>(&self, h_prev: &[T], y: T, h: &mut [T]) {
        let s = self.vhat(h_prev).spike(&self.surrogate);
        let rho = h_prev[3];
        let g = T::cst(self.alpha_s) * h_prev[0] + y;
        let i2 = rho * (h_prev[2] - T::cst(self.a2) * s);
        let v = T::cst(self.alpha_m) * (h_prev[1] - T::cst(self.v_th) * s.detach())
            + T::cst(1.0 - self.alpha_m) * (g + i2);
        h[0] = g;
        h[1] = v;
        h[2] = i2;
        h[3] = rho;
    }
}
