//! The rounding axis of the sweep: how the core rounds a weight update into the weight format.
//!
//! Wiring point. The core rounds weight updates stochastically today (`es-d-rtrl.md` §8.2). A selectable
//! mode (`plasticore_core::Rounding { Stochastic, Nearest, Truncate }` with `GraphMut::set_rounding(pop,
//! mode)`) is being added on another branch. When it lands, this file changes in two places and nowhere
//! else: [`AVAILABLE`] lists all three modes, and [`apply`]'s marked line calls
//! `g.set_rounding(0, mode.into())` (with a `From<RoundingMode>` for the core's enum next to it). Until
//! then the sweep refuses the other two modes before it runs anything (`Grid::validate`, and again per
//! point): no figure is produced for a mode the datapath does not implement.
use super::SweepError;
use plasticore_core::graph::GraphMut;

/// The modes the core on this build implements.
pub const AVAILABLE: &[RoundingMode] = &[RoundingMode::Stochastic];

/// Rounding of weight updates (ΔW into the weight's format).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum RoundingMode {
    /// Stochastic rounding with the core's counter-based random words (unbiased).
    Stochastic,
    /// Round to nearest.
    Nearest,
    /// Truncate (toward −∞).
    Truncate,
}

impl RoundingMode {
    /// Name in the CSV and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            RoundingMode::Stochastic => "stochastic",
            RoundingMode::Nearest => "nearest",
            RoundingMode::Truncate => "truncate",
        }
    }

    /// Parse a CSV / command-line name.
    pub fn parse(s: &str) -> Option<Self> {
        [RoundingMode::Stochastic, RoundingMode::Nearest, RoundingMode::Truncate].into_iter().find(|m| m.name() == s)
    }

    /// Whether the core on this build can round this way ([`AVAILABLE`]).
    pub fn available(self) -> bool {
        AVAILABLE.contains(&self)
    }

    /// The refusal for a mode this build cannot run.
    pub fn check(self) -> Result<(), SweepError> {
        if self.available() {
            Ok(())
        } else {
            Err(SweepError::Unavailable(self.name()))
        }
    }
}

/// Set population 0's weight-update rounding on `g` (the one place the axis reaches the core).
pub fn apply(g: &mut GraphMut<'_>, mode: RoundingMode) -> Result<(), SweepError> {
    mode.check()?;
    // wiring: `g.set_rounding(0, mode.into()).map_err(|e| SweepError::Config(e.to_string()))?;` — today
    // the only available mode is the core's fixed (stochastic) rounding, so there is nothing to set.
    let _ = g;
    Ok(())
}
