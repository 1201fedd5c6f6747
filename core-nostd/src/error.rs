//! Configuration errors. The datapath itself has no error path: everything that can be wrong is rejected
//! once, by the constructors, with one of these.

use core::fmt;

/// Which configuration field a [`ConfigError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Field {
    /// `Formats::weight_bits`.
    WeightBits,
    /// `Formats::weight_frac`.
    WeightFrac,
    /// `Formats::state_frac`.
    StateFrac,
    /// `Formats::decay_frac`.
    DecayFrac,
    /// `Formats::trace_bits`.
    TraceBits,
    /// `Formats::trace_frac`.
    TraceFrac,
    /// `Formats::etrace_frac`.
    EtraceFrac,
    /// `Formats::signal_frac`.
    SignalFrac,
    /// A decay constant (α_m, α_s, ρ, κ, α).
    Decay,
    /// A synaptic gain.
    Gain,
    /// The firing threshold.
    Threshold,
    /// ALIF β.
    Beta,
    /// Surrogate amplitude or width.
    Surrogate,
    /// Learning rate.
    LearningRate,
    /// A Loihi register (du, dv, bias, vth, weight_exp).
    LoihiRegister,
    /// STD / STP parameter (U, decays).
    Presyn,
    /// Loss window.
    LossWindow,
    /// A weight value.
    Weight,
    /// Number of input axons.
    Axons,
    /// Number of neurons.
    Neurons,
    /// Number of readout units.
    Outputs,
    /// Number of state variables per neuron.
    States,
    /// Length of a caller-provided buffer.
    Buffer,
    /// Axons with STD/STP state (a graph owner's capacity for them).
    PresynAxons,
    /// A field of a binary network image.
    Image,
    /// A population of a graph (index or count).
    Population,
    /// A projection of a graph (index, count, source or target).
    Projection,
    /// A projection's weight shift (`layer::MAX_WEIGHT_SHIFT`).
    WeightShift,
    /// An axonal delay.
    Delay,
    /// A learning-signal source.
    Feedback,
    /// A step's target (MSE values per output, class index).
    Target,
}

/// A configuration value was rejected. Small and `Copy` so it can be returned from `const`-friendly code
/// and logged over defmt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfigError {
    /// A value lies outside its allowed range `[min, max]`.
    OutOfRange {
        /// Field concerned.
        field: Field,
        /// Offending value (saturated to i64).
        value: i64,
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// Two fields are inconsistent, e.g. `weight_frac > state_frac`.
    Inconsistent {
        /// First field.
        field: Field,
        /// Second field it conflicts with.
        with: Field,
    },
    /// A buffer or const-generic capacity does not match the configuration.
    SizeMismatch {
        /// Field concerned.
        field: Field,
        /// Expected length.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// The combination is not supported by this model (e.g. STD inputs into the Loihi neuron).
    Unsupported {
        /// Field concerned.
        field: Field,
    },
    /// A const-generic container was used before `configure` succeeded.
    NotConfigured,
    /// Summing every input of one neuron could overflow the 32-bit dendritic accumulator.
    AccumulatorOverflow {
        /// Number of presynaptic axons.
        axons: usize,
        /// Weight bits.
        weight_bits: u8,
    },
    /// With the weight shifts of its projections, the dendritic sum of a population could overflow its
    /// 32-bit accumulator: `projection` has the largest shift (the one to lower), `shift` is its value.
    ProjectionOverflow {
        /// Projection index in the graph.
        projection: u8,
        /// Its weight shift.
        shift: u8,
    },
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Field::WeightBits => "weight_bits",
            Field::WeightFrac => "weight_frac",
            Field::StateFrac => "state_frac",
            Field::DecayFrac => "decay_frac",
            Field::TraceBits => "trace_bits",
            Field::TraceFrac => "trace_frac",
            Field::EtraceFrac => "etrace_frac",
            Field::SignalFrac => "signal_frac",
            Field::Decay => "decay",
            Field::Gain => "synaptic gain",
            Field::Threshold => "threshold",
            Field::Beta => "ALIF beta",
            Field::Surrogate => "surrogate",
            Field::LearningRate => "learning rate",
            Field::LoihiRegister => "Loihi register",
            Field::Presyn => "STD/STP parameter",
            Field::LossWindow => "loss window",
            Field::Weight => "weight",
            Field::Axons => "axons",
            Field::Neurons => "neurons",
            Field::Outputs => "outputs",
            Field::States => "states per neuron",
            Field::Buffer => "buffer length",
            Field::PresynAxons => "axons with STD/STP state",
            Field::Image => "network image",
            Field::Population => "population",
            Field::Projection => "projection",
            Field::WeightShift => "weight shift",
            Field::Delay => "axonal delay",
            Field::Feedback => "learning-signal source",
            Field::Target => "target",
        };
        f.write_str(s)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::OutOfRange { field, value, min, max } => {
                write!(f, "{field} = {value} is outside the allowed range {min}..={max}")
            }
            ConfigError::Inconsistent { field, with } => write!(f, "{field} is inconsistent with {with}"),
            ConfigError::SizeMismatch { field, expected, found } => {
                write!(f, "{field}: expected {expected}, found {found}")
            }
            ConfigError::Unsupported { field } => write!(f, "{field}: not supported by this neuron model"),
            ConfigError::NotConfigured => f.write_str("used before a valid configuration was loaded"),
            ConfigError::AccumulatorOverflow { axons, weight_bits } => write!(
                f,
                "{axons} axons of {weight_bits}-bit weights could overflow the 32-bit dendritic accumulator"
            ),
            ConfigError::ProjectionOverflow { projection, shift } => write!(
                f,
                "projection {projection}: its weight shift {shift} could overflow the 32-bit dendritic accumulator of its target population"
            ),
        }
    }
}

/// Check `min <= value <= max`, else an [`ConfigError::OutOfRange`] naming `field`.
pub(crate) fn check_range(field: Field, value: i64, min: i64, max: i64) -> Result<(), ConfigError> {
    if value < min || value > max {
        Err(ConfigError::OutOfRange { field, value, min, max })
    } else {
        Ok(())
    }
}

impl core::error::Error for ConfigError {}
