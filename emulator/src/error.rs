//! Errors: small enums with `Display`. Every input from outside (TOML, mappings, networks, snapshots) is
//! checked once and rejected with one of these; the timestep itself fails only in strict mode.

use plasticore_core::error::ConfigError;
use thiserror::Error;

/// Everything the emulator can reject.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EmuError {
    /// A chip description is not valid TOML or has unknown / missing fields.
    #[error("chip description: {0}")]
    Toml(String),
    /// A chip-description field lies outside its allowed range.
    #[error("chip description: {field} = {value} is outside {min}..={max}")]
    Desc {
        /// The field (dotted TOML path).
        field: &'static str,
        /// The offending value (as text, so floats and integers both fit).
        value: String,
        /// Smallest allowed value.
        min: String,
        /// Largest allowed value.
        max: String,
    },
    /// No preset of that name.
    #[error("unknown preset `{0}` (known: loihi, loihi-sana-fe, reckon, brainscales2, mcu, loihi-xl, loihi-xl-tiles)")]
    UnknownPreset(String),
    /// A core of the mapping exceeds one of the chip's per-core limits.
    #[error("core {core} (neurons {first}..{end}): {count} {limit} > {max} per core (over by {over})")]
    Capacity {
        /// Core index.
        core: usize,
        /// First global neuron of the core's slice.
        first: usize,
        /// One past its last neuron.
        end: usize,
        /// Which limit ("input axons", "output axons", "neurons", "synapse memory bits").
        limit: &'static str,
        /// What the core would need.
        count: u64,
        /// The chip's limit.
        max: u64,
        /// `count − max`.
        over: u64,
    },
    /// A core of a graph mapping exceeds one of the chip's per-core limits.
    #[error("population {population}, core {core} (neurons {first}..{end}): {count} {limit} > {max} per core (over by {over})")]
    PopCapacity {
        /// Population index.
        population: usize,
        /// Logical core.
        core: usize,
        /// First population-local neuron of the core's slice.
        first: usize,
        /// One past its last neuron.
        end: usize,
        /// Which limit ("neurons", "input axons", "output axons", "synapse memory bits", "weight bits").
        limit: &'static str,
        /// What the core would need.
        count: u64,
        /// The chip's limit.
        max: u64,
        /// `count − max`.
        over: u64,
    },
    /// The network needs more cores than the chip has.
    #[error("the mapping needs {needed} cores, the chip has {available} ({width} x {height} tiles x {per_tile})")]
    TooManyCores {
        /// Cores needed.
        needed: usize,
        /// Cores available.
        available: usize,
        /// Mesh width.
        width: u32,
        /// Mesh height.
        height: u32,
        /// Cores per tile.
        per_tile: u32,
    },
    /// The network's weights need more bits than the chip stores per synapse.
    #[error("weights need {needed} bits, the chip stores {available} bits per synapse")]
    WeightBits {
        /// Bits of the network's weight format.
        needed: u8,
        /// Bits per synaptic weight on the chip.
        available: u8,
    },
    /// The network description itself is inconsistent.
    #[error("network: {0}")]
    Network(String),
    /// The core rejected a configuration or buffer.
    #[error("core datapath: {0}")]
    Core(ConfigError),
    /// Strict mode: a chip effect happened.
    #[error("strict mode: {what} at timestep {step} ({count})")]
    ChipEffect {
        /// Which effect.
        what: &'static str,
        /// Timestep at which it happened.
        step: u64,
        /// How many this step.
        count: u64,
    },
    /// Snapshot I/O failed.
    #[error("snapshot {path}: {msg}")]
    Io {
        /// File.
        path: String,
        /// OS error text.
        msg: String,
    },
    /// A snapshot is damaged, truncated, of another version or of another chip/network.
    #[error("snapshot: {0}")]
    Snapshot(String),
}

impl From<ConfigError> for EmuError {
    fn from(e: ConfigError) -> Self {
        EmuError::Core(e)
    }
}
