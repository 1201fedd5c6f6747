//! Short-term depression, literally as `es-d-rtrl.md` §1.5 states it (brainpy_state 0.1.0):
//!
//! ```text
//! x̃ = 1 − (1 − x_d)·e^{−dt/τ_d};   released = x̃·s;   x_d ← x̃ − U·s·x_d(old)
//! ```
//! State slot 0 = x_d (starts at 1), slot 1 unused.

use super::{mul16, relax, Presyn, ONE};
use crate::error::{check_range, ConfigError, Field};
use crate::format::{Decay, Efficacy, Formats};

/// STD parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DepressionParams {
    /// e^{−dt/τ_d}, Q.`decay_frac`.
    pub decay: Decay,
    /// Utilisation U, Q.16 in [0, 1].
    pub u: Efficacy,
}

/// Validated STD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Depression {
    p: DepressionParams,
    df: u32,
}

impl Depression {
    /// Validate against the layer formats.
    pub fn new(p: DepressionParams, fmt: &Formats) -> Result<Self, ConfigError> {
        check_range(Field::Presyn, p.decay.0 as i64, 0, 1i64 << fmt.decay_frac)?;
        check_range(Field::Presyn, p.u.0 as i64, 0, ONE as i64)?;
        Ok(Depression { p, df: fmt.decay_frac as u32 })
    }
}

impl Presyn for Depression {
    fn init(&self) -> [i32; 2] {
        [ONE, 0]
    }

    #[inline(always)]
    fn step(&self, st: &mut [i32; 2], spike: bool) -> i32 {
        let old = st[0];
        let xt = relax(old, self.p.decay.0, self.df);
        if spike {
            st[0] = (xt - mul16(self.p.u.0, old)).clamp(0, ONE);
            xt
        } else {
            st[0] = xt;
            0
        }
    }
}
