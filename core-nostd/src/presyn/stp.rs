//! Short-term plasticity (facilitation u, resources x), literally as `es-d-rtrl.md` §1.5 states it:
//!
//! ```text
//! u_new = u·e^{−dt/τ_f} + U·s·(1 − u_old)
//! x̃ = 1 − (1 − x_old)·e^{−dt/τ_d};   released = u_new·x̃·s;   x ← x̃ − s·u_new·x_old
//! ```
//! State slot 0 = u (starts at 0), slot 1 = x (starts at 1).

use super::{mul16, relax, Presyn, ONE};
use crate::error::{check_range, ConfigError, Field};
use crate::format::{Decay, Efficacy, Formats};

/// STP parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FacilitationParams {
    /// e^{−dt/τ_f}, Q.`decay_frac`.
    pub decay_f: Decay,
    /// e^{−dt/τ_d}, Q.`decay_frac`.
    pub decay_d: Decay,
    /// U, Q.16 in [0, 1].
    pub u: Efficacy,
}

/// Validated STP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Facilitation {
    p: FacilitationParams,
    df: u32,
}

impl Facilitation {
    /// Validate against the layer formats.
    pub fn new(p: FacilitationParams, fmt: &Formats) -> Result<Self, ConfigError> {
        let one = 1i64 << fmt.decay_frac;
        check_range(Field::Presyn, p.decay_f.0 as i64, 0, one)?;
        check_range(Field::Presyn, p.decay_d.0 as i64, 0, one)?;
        check_range(Field::Presyn, p.u.0 as i64, 0, ONE as i64)?;
        Ok(Facilitation { p, df: fmt.decay_frac as u32 })
    }
}

impl Presyn for Facilitation {
    fn init(&self) -> [i32; 2] {
        [0, ONE]
    }

    #[inline(always)]
    fn step(&self, st: &mut [i32; 2], spike: bool) -> i32 {
        let (u_old, x_old) = (st[0], st[1]);
        let mut u = crate::arith::shr_nearest(u_old as i64 * self.p.decay_f.0 as i64, self.df) as i32;
        if spike {
            u += mul16(self.p.u.0, ONE - u_old);
        }
        let u = u.clamp(0, ONE);
        let xt = relax(x_old, self.p.decay_d.0, self.df);
        st[0] = u;
        if spike {
            st[1] = (xt - mul16(u, x_old)).clamp(0, ONE);
            mul16(u, xt)
        } else {
            st[1] = xt;
            0
        }
    }
}
