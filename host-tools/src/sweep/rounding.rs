//! The rounding axis of the sweep: how the core rounds a weight update into the weight format.
//!
//! The core's `plasticore_core::Rounding` (`es-d-rtrl.md` §8.2 is the stochastic default): [`apply`] sets
//! it on the hidden population (`GraphMut::set_rounding`) and on the readout
//! (`GraphMut::set_readout_rounding`), so a point's mode governs every learnt weight. [`AVAILABLE`] lists
//! the modes this build implements (all three); a mode outside it would be refused before anything runs
//! (`Grid::validate`, and again per point): no figure is produced for a mode the datapath lacks.
use super::SweepError;
use plasticore_core::graph::GraphMut;

/// The modes the core on this build implements.
pub const AVAILABLE: &[RoundingMode] = &[RoundingMode::Stochastic, RoundingMode::Nearest, RoundingMode::Truncate];

/// Rounding of weight updates (ΔW into the weight's format).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum RoundingMode {
    /// Stochastic rounding with the core's counter-based random words (unbiased).
    Stochastic,
    /// Round to nearest, ties away from zero (no random word).
    Nearest,
    /// Truncate toward zero (no random word; a sub-LSB update is lost).
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

impl From<RoundingMode> for plasticore_core::Rounding {
    fn from(m: RoundingMode) -> Self {
        match m {
            RoundingMode::Stochastic => plasticore_core::Rounding::Stochastic,
            RoundingMode::Nearest => plasticore_core::Rounding::Nearest,
            RoundingMode::Truncate => plasticore_core::Rounding::Truncate,
        }
    }
}

/// Set the weight-update rounding of population 0 and of the readout on `g` (the one place the axis
/// reaches the core).
pub fn apply(g: &mut GraphMut<'_>, mode: RoundingMode) -> Result<(), SweepError> {
    mode.check()?;
    g.set_rounding(0, mode.into()).map_err(|e| SweepError::Config(e.to_string()))?;
    g.set_readout_rounding(mode.into());
    Ok(())
}
