//! The grid of a sweep: the axes, their validation and the points in a fixed order.
use super::rounding::RoundingMode;
use super::SweepError;

/// The axes. Every list is non-empty and free of repeats; points run weight bits innermost.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// Hidden weight bits including sign (2..=16).
    pub weight_bits: Vec<u8>,
    /// Bits of the input and readout traces ε^x / ε^o (4..=16); their fractional bits are
    /// [`trace_frac`] of them.
    pub trace_bits: Vec<u8>,
    /// Fractional bits of the state V, g, a, r (8..=24).
    pub state_frac: Vec<u8>,
    /// Weight-update rounding.
    pub rounding: Vec<RoundingMode>,
    /// On-chip learning off / on.
    pub learn: Vec<bool>,
}

/// One grid point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    /// Hidden weight bits.
    pub weight_bits: u8,
    /// Trace bits.
    pub trace_bits: u8,
    /// State fractional bits.
    pub state_frac: u8,
    /// Weight-update rounding.
    pub rounding: RoundingMode,
    /// Learn on chip.
    pub learn: bool,
}

/// Fractional bits of a `bits`-bit trace: min(8, bits − 4), so at least 4 integer bits hold the largest
/// input trace Σ αᵏ = 1/(1 − α) = 10 at α = 0.9 (16 bits give the default 8, `Formats::DEFAULT`).
pub fn trace_frac(bits: u8) -> u8 {
    bits.saturating_sub(4).min(8)
}

impl Grid {
    /// Check ranges, emptiness and repeats, and that every rounding mode is available on this build.
    pub fn validate(&self) -> Result<(), SweepError> {
        fn axis<T: PartialEq + Copy + std::fmt::Display>(name: &str, v: &[T], ok: impl Fn(T) -> bool, range: &str) -> Result<(), SweepError> {
            if v.is_empty() {
                return Err(SweepError::Grid(format!("{name}: no value given")));
            }
            for (k, &x) in v.iter().enumerate() {
                if !ok(x) {
                    return Err(SweepError::Grid(format!("{name} {x} is outside {range}")));
                }
                if v[..k].contains(&x) {
                    return Err(SweepError::Grid(format!("{name} {x} is given twice")));
                }
            }
            Ok(())
        }
        axis("weight bits", &self.weight_bits, |b| (2..=16).contains(&b), "2..=16")?;
        axis("trace bits", &self.trace_bits, |b| (4..=16).contains(&b), "4..=16")?;
        axis("state fractional bits", &self.state_frac, |b| (8..=24).contains(&b), "8..=24")?;
        let names: Vec<&str> = self.rounding.iter().map(|r| r.name()).collect();
        axis("rounding", &names, |_| true, "")?;
        axis("learn", &self.learn, |_| true, "")?;
        self.rounding.iter().try_for_each(|r| r.check())
    }

    /// The points: rounding, trace bits, state bits, learning, then weight bits (innermost).
    pub fn points(&self) -> Vec<Point> {
        let mut out = Vec::new();
        for &rounding in &self.rounding {
            for &trace_bits in &self.trace_bits {
                for &state_frac in &self.state_frac {
                    for &learn in &self.learn {
                        for &weight_bits in &self.weight_bits {
                            out.push(Point { weight_bits, trace_bits, state_frac, rounding, learn });
                        }
                    }
                }
            }
        }
        out
    }
}
