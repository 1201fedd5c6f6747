//! Network images: a versioned, checksummed binary description of a whole [`Net`] (dimensions, neuron
//! model and parameters, number formats, weights, learning configuration, loss window, seeds and an
//! optional seeded input stimulus), read **without allocation** from a byte slice (e.g. a
//! `&'static [u8]` in flash from `include_bytes!`).
//!
//! The full layout is documented in `hw-notes/image-format.md`; in short (all integers little-endian):
//!
//! ```text
//! header   16 B   "PCNI", version u16 (= 1), section count u16, total length u32 (incl. CRC), 0u32
//! table    12 B × count: kind u16, flags u16, offset u32 (from image start), length u32
//! sections (in table order, ascending offsets, non-overlapping, inside the image)
//! trailer   4 B   CRC-32 (IEEE 802.3, reflected, init/xorout 0xFFFFFFFF) of every preceding byte
//! ```
//! Section kinds of version 1: [`SECTION_NET`], [`SECTION_LAYER`], [`SECTION_READOUT`],
//! [`SECTION_HIDDEN_WEIGHTS`], [`SECTION_READOUT_WEIGHTS`] (all required and critical) and
//! [`SECTION_STIMULUS`] (optional). A section with the [`FLAG_CRITICAL`] bit whose kind a reader does
//! not know makes the image unreadable ([`ImageError::UnknownCriticalSection`]); a non-critical unknown
//! section is skipped. This is how later mapping tools add per-core placement and routing sections
//! (kinds `0x10..`, reserved) without a version bump for readers that do not need them.
//!
//! # Guarantees
//! * [`Image::parse`] checks the header, the length, the CRC and the section table; after it, every
//!   accessor only reads inside the slice. Every decoder checks each field (tags, reserved bytes that
//!   must be 0, exact section lengths) and every value goes through the core's own constructors
//!   (`Lif::new`, `LayerConfig::validate`, ...), whose [`ConfigError`] is returned inside
//!   [`ImageError::Config`]. A truncated, bit-flipped or hostile image gives an [`ImageError`], never a
//!   panic (property test `tests/image_props.rs`, fuzz target `fuzz/fuzz_targets/image_reader.rs`).
//! * [`Image::load`] validates everything (configuration, dimensions against the const generics, every
//!   weight against its range) **before** it touches the network.
//! * [`Runner`] drives a loaded network with the image's seeded [`Stimulus`]; host, emulator and
//!   firmware that run the same image through it get the same [`RunSummary`] bit for bit.
//!
//! ```
//! use plasticore_core::image::{self, Image};
//! use plasticore_core::net::Net;
//!
//! let desc = image::example_desc(8, 16, 2, true);
//! let hidden = [plasticore_core::format::Weight(1); (8 + 16) * 16];
//! let readout = [plasticore_core::format::Weight(-1); 16 * 2];
//! let mut buf = [0u8; 2048];
//! let len = image::encode(&desc, &hidden, &readout, None, &mut buf).unwrap();
//! let img = Image::parse(&buf[..len]).unwrap();
//! let mut net: Net<24, 16, 2, 1> = Net::new();
//! img.load(&mut net).unwrap();
//! assert_eq!(net.weights()[0].0, 1);
//! // A single flipped bit is caught.
//! buf[40] ^= 4;
//! assert!(Image::parse(&buf[..len]).is_err());
//! ```

use core::fmt;

use crate::checksum::Fnv;
use crate::error::{ConfigError, Field};
use crate::format::{Decay, Efficacy, Formats, Signal, Voltage, Weight};
use crate::layer::{LayerConfig, LearningRate};
use crate::net::{LossWindow, Net, NetConfig, StepReport, Timestep, UpdateMode};
use crate::neuron::{
    Alif, AlifParams, Lif, LifParams, LoihiCuba, LoihiParams, NeuronKind, Reset, SurrogateParams, Synapse, Wrap24,
};
use crate::presyn::{Depression, DepressionParams, Facilitation, FacilitationParams, PresynKind};
use crate::readout::{Feedback, Loss, ReadoutConfig, Target};
use crate::rng::XorShift32;

/// The four magic bytes at offset 0.
pub const MAGIC: [u8; 4] = *b"PCNI";
/// The format version this reader understands and the writer emits.
pub const VERSION: u16 = 1;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 16;
/// Bytes of one section-table entry.
pub const ENTRY_LEN: usize = 12;
/// Bytes of the CRC-32 trailer.
pub const CRC_LEN: usize = 4;
/// Most sections an image may declare (bounds the table scan).
pub const MAX_SECTIONS: usize = 64;

/// Section flag: a reader that does not know this kind must reject the image.
pub const FLAG_CRITICAL: u16 = 1;

/// Dimensions, recurrence, learning switch and loss window (16 bytes).
pub const SECTION_NET: u16 = 1;
/// Hidden layer: formats, neuron model and parameters, STD/STP, trace decay, learning rate, seed.
pub const SECTION_LAYER: u16 = 2;
/// Readout: formats, decay, loss, feedback, learning rate, seeds (28 bytes).
pub const SECTION_READOUT: u16 = 3;
/// Hidden weights: `axons × neurons` i16 mantissas, row-major by presynaptic axon.
pub const SECTION_HIDDEN_WEIGHTS: u16 = 4;
/// Readout weights V: `neurons × outputs` i16 mantissas, row-major by hidden neuron.
pub const SECTION_READOUT_WEIGHTS: u16 = 5;
/// Optional seeded input stream and target rule for a self-contained run (20 bytes).
pub const SECTION_STIMULUS: u16 = 6;
/// First kind reserved for the mapping tools (per-core placement, routing tables).
pub const SECTION_RESERVED_MAPPING: u16 = 0x10;

const NET_LEN: usize = 16;
pub(crate) const READOUT_LEN: usize = 28;
pub(crate) const STIMULUS_LEN: usize = 20;
/// Most steps a stimulus may ask for (2²⁰ = 1 048 576): [`Image::stimulus`] rejects more and [`encode`]
/// does not write more. The images run 1000 steps; the cap bounds what an outside image can make a host
/// run cost (2²⁰ reference-layer learning steps ≈ 10¹¹ Cortex-M4 instructions) and keeps the [`Runner`]'s
/// step counter (`Timestep`, u32) 2¹² times below its wrap.
pub const MAX_STEPS: u32 = 1 << 20;
const LAYER_FIXED_LEN: usize = 8 + 4 + 4 + 4 + 4;
const KINDS: [u16; 6] =
    [SECTION_NET, SECTION_LAYER, SECTION_READOUT, SECTION_HIDDEN_WEIGHTS, SECTION_READOUT_WEIGHTS, SECTION_STIMULUS];

/// Why an image was rejected. Small and `Copy`; `Display` for hosts, `defmt::Format` behind a feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ImageError {
    /// The slice ends before `needed` bytes (header, table or declared length).
    Truncated {
        /// Bytes the image needs.
        needed: usize,
        /// Bytes available.
        found: usize,
    },
    /// The first four bytes are not [`MAGIC`].
    BadMagic,
    /// A version this reader does not understand.
    UnsupportedVersion(u16),
    /// The declared total length differs from the slice length, or is too small to hold the table.
    BadLength {
        /// Length in the header.
        declared: u32,
        /// Length of the slice.
        actual: usize,
    },
    /// The CRC-32 trailer does not match.
    BadCrc {
        /// CRC stored in the image.
        stored: u32,
        /// CRC computed over the bytes.
        computed: u32,
    },
    /// Section-table entry `index` is malformed: out of bounds, overlapping or out of order, or has
    /// reserved flag bits set.
    BadSection {
        /// Index in the table.
        index: u16,
    },
    /// A section kind appears twice.
    DuplicateSection(u16),
    /// A required section is absent.
    MissingSection(u16),
    /// An unknown section is marked critical.
    UnknownCriticalSection(u16),
    /// A known section has the wrong length.
    SectionLength {
        /// Section kind.
        kind: u16,
        /// Length this reader expects.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// A tag or reserved byte inside a section has a value this version does not define.
    BadField {
        /// Section kind.
        kind: u16,
        /// Byte offset inside the section.
        offset: usize,
        /// The value found.
        value: u32,
    },
    /// The stimulus asks for more than [`MAX_STEPS`] steps.
    TooManySteps {
        /// Steps in the stimulus.
        steps: u32,
    },
    /// The decoded configuration or a weight was rejected by the core's validation.
    Config(ConfigError),
    /// Population `population` of a graph image has compressed rows, which a dense owner cannot hold
    /// (load it into pooled buffers: `graph::image::GraphImage::load_pooled`).
    Compressed {
        /// Population index.
        population: u8,
    },
    /// The output buffer of [`encode`] is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
}

impl From<ConfigError> for ImageError {
    fn from(e: ConfigError) -> Self {
        ImageError::Config(e)
    }
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ImageError::Truncated { needed, found } => write!(f, "image truncated: needs {needed} bytes, has {found}"),
            ImageError::BadMagic => f.write_str("not a network image (bad magic)"),
            ImageError::UnsupportedVersion(v) => write!(
                f,
                "image version {v} is not supported here (image::Image reads version {VERSION}; graph::image::GraphImage reads versions 1 and 2)"
            ),
            ImageError::BadLength { declared, actual } => {
                write!(f, "image declares {declared} bytes but has {actual}")
            }
            ImageError::BadCrc { stored, computed } => {
                write!(f, "image CRC mismatch: stored {stored:08x}, computed {computed:08x}")
            }
            ImageError::BadSection { index } => write!(f, "section table entry {index} is malformed"),
            ImageError::DuplicateSection(k) => write!(f, "section kind {k} appears twice"),
            ImageError::MissingSection(k) => write!(f, "required section kind {k} is missing"),
            ImageError::UnknownCriticalSection(k) => write!(f, "unknown critical section kind {k}"),
            ImageError::SectionLength { kind, expected, found } => {
                write!(f, "section kind {kind}: expected {expected} bytes, found {found}")
            }
            ImageError::BadField { kind, offset, value } => {
                write!(f, "section kind {kind}, byte {offset}: undefined value {value}")
            }
            ImageError::TooManySteps { steps } => {
                write!(f, "stimulus asks for {steps} steps, more than the limit of {MAX_STEPS}")
            }
            ImageError::Config(e) => write!(f, "invalid configuration in image: {e}"),
            ImageError::Compressed { population } => {
                write!(f, "population {population} has compressed rows: a dense graph cannot hold it")
            }
            ImageError::BufferTooSmall { needed } => write!(f, "output buffer too small: needs {needed} bytes"),
        }
    }
}

/// CRC-32 (IEEE 802.3: reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF), nibble table.
/// `crc32(b"123456789") == 0xCBF43926`.
pub fn crc32(bytes: &[u8]) -> u32 {
    const T: [u32; 16] = [
        0x0000_0000, 0x1DB7_1064, 0x3B6E_20C8, 0x26D9_30AC, 0x76DC_4190, 0x6B6B_51F4, 0x4DB2_6158, 0x5005_713C,
        0xEDB8_8320, 0xF00F_9344, 0xD6D6_A3E8, 0xCB61_B38C, 0x9B64_C2B0, 0x86D3_D2D4, 0xA00A_E278, 0xBDBD_F21C,
    ];
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= b as u32;
        c = (c >> 4) ^ T[(c & 15) as usize];
        c = (c >> 4) ^ T[(c & 15) as usize];
    }
    !c
}

// ---------------------------------------------------------------------------------------------------
// Descriptions: the raw (unvalidated) parameters an image carries.

/// Neuron model and its user parameters as stored in an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NeuronDesc {
    /// LIF (tag 1).
    Lif(LifParams),
    /// ALIF (tag 2).
    Alif(AlifParams),
    /// Loihi CUBA-LIF (tag 3).
    LoihiCuba(LoihiParams),
}

/// Input-side plasticity as stored in an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PresynDesc {
    /// None (tag 0).
    None,
    /// STD (tag 1).
    Depression(DepressionParams),
    /// STP (tag 2).
    Facilitation(FacilitationParams),
}

/// Hidden-layer description (section [`SECTION_LAYER`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LayerDesc {
    /// Number formats.
    pub formats: Formats,
    /// Neuron model.
    pub neuron: NeuronDesc,
    /// STD/STP.
    pub presyn: PresynDesc,
    /// ES-D-RTRL trace decay α, Q.`decay_frac`.
    pub trace_decay: Decay,
    /// η of the hidden weights.
    pub learning_rate: LearningRate,
    /// Stochastic-rounding seed.
    pub seed: u32,
}

/// Everything an image says about a network, before validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NetDesc {
    /// External input axons.
    pub inputs: u16,
    /// Hidden neurons.
    pub neurons: u16,
    /// Readout units.
    pub outputs: u16,
    /// State variables per neuron (must equal the neuron model's).
    pub states: u8,
    /// Recurrent: the hidden spikes of step t−1 are axons `inputs..inputs+neurons`.
    pub recurrent: bool,
    /// Learning on.
    pub learn: bool,
    /// Loss window.
    pub window: LossWindow,
    /// Hidden layer.
    pub layer: LayerDesc,
    /// Readout.
    pub readout: ReadoutConfig,
    /// Learning-signal source.
    pub feedback: Feedback,
}

impl LayerDesc {
    /// Build the [`LayerConfig`] through the core's constructors (`Lif::new`, `Depression::new`, ...);
    /// the axon-dependent checks are `LayerConfig::validate`'s.
    pub fn config(&self) -> Result<LayerConfig, ConfigError> {
        let f = &self.formats;
        let neuron = match self.neuron {
            NeuronDesc::Lif(p) => NeuronKind::Lif(Lif::new(p, f)?),
            NeuronDesc::Alif(p) => NeuronKind::Alif(Alif::new(p, f)?),
            NeuronDesc::LoihiCuba(p) => NeuronKind::LoihiCuba(LoihiCuba::new(p, f)?),
        };
        let presyn = match self.presyn {
            PresynDesc::None => PresynKind::None,
            PresynDesc::Depression(p) => PresynKind::Depression(Depression::new(p, f)?),
            PresynDesc::Facilitation(p) => PresynKind::Facilitation(Facilitation::new(p, f)?),
        };
        Ok(LayerConfig {
            formats: *f,
            neuron,
            presyn,
            trace_decay: self.trace_decay,
            learning_rate: self.learning_rate,
            seed: self.seed,
        })
    }
}

impl NetDesc {
    /// Presynaptic axons of the hidden layer: `inputs + neurons` if recurrent, else `inputs`.
    pub fn axons(&self) -> usize {
        self.inputs as usize + if self.recurrent { self.neurons as usize } else { 0 }
    }

    /// Validate through the core's constructors and build the [`NetConfig`].
    pub fn config(&self) -> Result<NetConfig, ConfigError> {
        let layer = self.layer.config()?;
        crate::error::check_range(Field::Neurons, self.neurons as i64, 1, u16::MAX as i64)?;
        if self.recurrent && self.inputs == 0 {
            return Err(ConfigError::OutOfRange { field: Field::Axons, value: 0, min: 1, max: u16::MAX as i64 });
        }
        layer.validate(self.axons(), self.states as usize)?;
        self.readout.validate(self.neurons as usize, self.outputs as usize)?;
        Ok(NetConfig {
            layer,
            readout: self.readout,
            feedback: self.feedback,
            window: self.window,
            recurrent: self.recurrent,
            learn: self.learn,
        })
    }
}

/// How the [`Runner`] derives a target from the input stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TargetRule {
    /// No target (tag 0): inference only, no error and no learning.
    None,
    /// Tag 1: the external inputs are split into `outputs` contiguous groups (group of input i =
    /// ⌊i·O/inputs⌋). MSE: target_k = `amplitude` if any input of group k spiked at this step, else 0.
    /// Cross-entropy: the class is the group with most spikes (lowest index on ties).
    GroupActivity,
}

/// A seeded input stream (section [`SECTION_STIMULUS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stimulus {
    /// Seed of the [`XorShift32`] input generator.
    pub seed: u32,
    /// Probability that an external input spikes at a step, as `rate / 2³²`.
    pub rate: u32,
    /// Number of steps of a run.
    pub steps: u32,
    /// Target rule.
    pub target: TargetRule,
    /// Target amplitude for MSE, Q.`signal_frac` of the readout.
    pub amplitude: i32,
}

// ---------------------------------------------------------------------------------------------------
// Little-endian cursor over a section: every read is bounds-checked and turns into an error.

pub(crate) struct Rd<'a> {
    b: &'a [u8],
    pub(crate) pos: usize,
    kind: u16,
}

impl<'a> Rd<'a> {
    pub(crate) fn new(b: &'a [u8], kind: u16) -> Self {
        Rd { b, pos: 0, kind }
    }
    pub(crate) fn take<const K: usize>(&mut self) -> Result<[u8; K], ImageError> {
        let end = self.pos.checked_add(K).ok_or(ImageError::Truncated { needed: usize::MAX, found: self.b.len() })?;
        let s = self.b.get(self.pos..end).ok_or(ImageError::SectionLength {
            kind: self.kind,
            expected: end,
            found: self.b.len(),
        })?;
        let mut a = [0u8; K];
        a.copy_from_slice(s);
        self.pos = end;
        Ok(a)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, ImageError> {
        Ok(self.take::<1>()?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16, ImageError> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    pub(crate) fn i16(&mut self) -> Result<i16, ImageError> {
        Ok(i16::from_le_bytes(self.take()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, ImageError> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    pub(crate) fn i32(&mut self) -> Result<i32, ImageError> {
        Ok(i32::from_le_bytes(self.take()?))
    }
    pub(crate) fn bad(&self, at: usize, value: u32) -> ImageError {
        ImageError::BadField { kind: self.kind, offset: at, value }
    }
    /// A byte that must be zero (padding / reserved).
    pub(crate) fn zero8(&mut self) -> Result<(), ImageError> {
        let at = self.pos;
        let v = self.u8()?;
        if v != 0 {
            return Err(self.bad(at, v as u32));
        }
        Ok(())
    }
    pub(crate) fn zero16(&mut self) -> Result<(), ImageError> {
        let at = self.pos;
        let v = self.u16()?;
        if v != 0 {
            return Err(self.bad(at, v as u32));
        }
        Ok(())
    }
    pub(crate) fn bool(&mut self) -> Result<bool, ImageError> {
        let at = self.pos;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.bad(at, v as u32)),
        }
    }
    pub(crate) fn end(&self) -> Result<(), ImageError> {
        if self.pos == self.b.len() {
            Ok(())
        } else {
            Err(ImageError::SectionLength { kind: self.kind, expected: self.pos, found: self.b.len() })
        }
    }
    pub(crate) fn formats(&mut self) -> Result<Formats, ImageError> {
        let b: [u8; 8] = self.take()?;
        Ok(Formats {
            weight_bits: b[0],
            weight_frac: b[1],
            state_frac: b[2],
            decay_frac: b[3],
            trace_bits: b[4],
            trace_frac: b[5],
            etrace_frac: b[6],
            signal_frac: b[7],
        })
    }
    pub(crate) fn reset(&mut self) -> Result<Reset, ImageError> {
        let at = self.pos;
        match self.u8()? {
            0 => Ok(Reset::Soft),
            1 => Ok(Reset::Hard),
            v => Err(self.bad(at, v as u32)),
        }
    }
    /// Synapse: tag u8, pad u8, decay u32, gain u32 (both 0 for delta). Call after the tag byte position.
    pub(crate) fn synapse(&mut self) -> Result<Synapse, ImageError> {
        let at = self.pos;
        let tag = self.u8()?;
        self.zero8()?;
        let decay = Decay(self.u32()?);
        let gain = Decay(self.u32()?);
        match tag {
            0 if decay.0 == 0 && gain.0 == 0 => Ok(Synapse::Delta),
            0 => Err(self.bad(at + 2, decay.0 | gain.0)),
            1 => Ok(Synapse::Expon { decay, gain }),
            v => Err(self.bad(at, v as u32)),
        }
    }
    pub(crate) fn surrogate(&mut self) -> Result<SurrogateParams, ImageError> {
        Ok(SurrogateParams { amplitude: Signal(self.i32()?), width: Signal(self.i32()?) })
    }
}

/// Little-endian writer into a caller buffer.
pub(crate) struct Wr<'a> {
    pub(crate) b: &'a mut [u8],
    pub(crate) pos: usize,
}

impl Wr<'_> {
    pub(crate) fn put(&mut self, s: &[u8]) {
        // `encode` sized the buffer exactly before writing; a miss here would be a bug, so it is
        // ignored rather than panicking (the CRC/length then no longer match and the reader rejects it).
        if let Some(d) = self.b.get_mut(self.pos..self.pos + s.len()) {
            d.copy_from_slice(s);
        }
        self.pos += s.len();
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.put(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }
    pub(crate) fn i32(&mut self, v: i32) {
        self.put(&v.to_le_bytes());
    }
    pub(crate) fn formats(&mut self, f: &Formats) {
        self.put(&[
            f.weight_bits,
            f.weight_frac,
            f.state_frac,
            f.decay_frac,
            f.trace_bits,
            f.trace_frac,
            f.etrace_frac,
            f.signal_frac,
        ]);
    }
    pub(crate) fn synapse(&mut self, s: &Synapse) {
        match *s {
            Synapse::Delta => {
                self.put(&[0, 0]);
                self.u32(0);
                self.u32(0);
            }
            Synapse::Expon { decay, gain } => {
                self.put(&[1, 0]);
                self.u32(decay.0);
                self.u32(gain.0);
            }
        }
    }
    pub(crate) fn surrogate(&mut self, s: &SurrogateParams) {
        self.i32(s.amplitude.0);
        self.i32(s.width.0);
    }
}

fn reset_tag(r: Reset) -> u8 {
    match r {
        Reset::Soft => 0,
        Reset::Hard => 1,
    }
}

fn neuron_len(n: &NeuronDesc) -> usize {
    match n {
        NeuronDesc::Lif(_) => 4 + 4 + 2 + 10 + 8,
        NeuronDesc::Alif(_) => 4 + 4 + 4 + 4 + 2 + 10 + 8,
        NeuronDesc::LoihiCuba(_) => 2 + 2 + 2 + 1 + 1 + 4 + 8,
    }
}

fn presyn_len(p: &PresynDesc) -> usize {
    match p {
        PresynDesc::None => 0,
        PresynDesc::Depression(_) => 8,
        PresynDesc::Facilitation(_) => 12,
    }
}

pub(crate) fn layer_len(l: &LayerDesc) -> usize {
    LAYER_FIXED_LEN + neuron_len(&l.neuron) + presyn_len(&l.presyn)
}

// ---------------------------------------------------------------------------------------------------
// Reader.

/// A parsed image borrowing its bytes. Construct with [`Image::parse`] (header, length, CRC and section
/// table checked); the sections are decoded on demand.
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    bytes: &'a [u8],
    count: usize,
}

/// One section-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SectionInfo {
    /// Kind.
    pub kind: u16,
    /// Flags ([`FLAG_CRITICAL`]).
    pub flags: u16,
    /// Offset from the start of the image.
    pub offset: u32,
    /// Length in bytes.
    pub len: u32,
}

pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_le_bytes([s[0], s[1]]),
        None => 0,
    }
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

impl<'a> Image<'a> {
    /// Check header, declared length (must equal `bytes.len()`), CRC-32 and the section table: every
    /// entry inside the image between the table and the trailer, offsets ascending without overlap,
    /// reserved flag bits clear, no kind twice, no unknown critical kind, every required kind present.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ImageError> {
        Self::parse_envelope(bytes, VERSION, &KINDS, &[SECTION_STIMULUS])
    }

    /// The envelope check of [`Image::parse`] for `version` with the known section `kinds` (at most 32;
    /// every kind but [`SECTION_STIMULUS`] required). Shared with the graph image (version 2).
    /// `kinds`: the known section kinds; every one not in `optional` must be present.
    pub(crate) fn parse_envelope(bytes: &'a [u8], expected_version: u16, kinds: &[u16], optional: &[u16]) -> Result<Self, ImageError> {
        if bytes.len() < HEADER_LEN + CRC_LEN {
            return Err(ImageError::Truncated { needed: HEADER_LEN + CRC_LEN, found: bytes.len() });
        }
        if bytes[0..4] != MAGIC {
            return Err(ImageError::BadMagic);
        }
        let version = le16(bytes, 4);
        if version != expected_version {
            return Err(ImageError::UnsupportedVersion(version));
        }
        let count = le16(bytes, 6) as usize;
        let total = le32(bytes, 8);
        if total as usize > bytes.len() {
            return Err(ImageError::Truncated { needed: total as usize, found: bytes.len() });
        }
        let table_end = HEADER_LEN + count * ENTRY_LEN;
        if total as usize != bytes.len() || (total as usize) < table_end + CRC_LEN {
            return Err(ImageError::BadLength { declared: total, actual: bytes.len() });
        }
        let body = bytes.len() - CRC_LEN;
        let stored = le32(bytes, body);
        let computed = crc32(&bytes[..body]);
        if stored != computed {
            return Err(ImageError::BadCrc { stored, computed });
        }
        if le32(bytes, 12) != 0 {
            return Err(ImageError::BadField { kind: 0, offset: 12, value: le32(bytes, 12) });
        }
        if count > MAX_SECTIONS {
            return Err(ImageError::BadSection { index: MAX_SECTIONS as u16 });
        }
        let img = Image { bytes, count };
        let mut seen = 0u32;
        let mut next_free = table_end;
        for i in 0..count {
            let e = img.entry(i);
            let start = e.offset as usize;
            let end = start.checked_add(e.len as usize).ok_or(ImageError::BadSection { index: i as u16 })?;
            if e.flags & !FLAG_CRITICAL != 0 || start < next_free || end > body {
                return Err(ImageError::BadSection { index: i as u16 });
            }
            next_free = end;
            match kinds.iter().position(|&k| k == e.kind) {
                Some(p) => {
                    if seen & (1 << p) != 0 {
                        return Err(ImageError::DuplicateSection(e.kind));
                    }
                    seen |= 1 << p;
                }
                None if e.flags & FLAG_CRITICAL != 0 => return Err(ImageError::UnknownCriticalSection(e.kind)),
                None => {}
            }
        }
        for (p, &k) in kinds.iter().enumerate() {
            if !optional.contains(&k) && seen & (1 << p) == 0 {
                return Err(ImageError::MissingSection(k));
            }
        }
        Ok(img)
    }

    /// The whole image.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of sections in the table.
    pub fn section_count(&self) -> usize {
        self.count
    }

    /// Table entry `i` (`i < section_count()`; others read as zeros).
    pub fn entry(&self, i: usize) -> SectionInfo {
        let at = HEADER_LEN + i * ENTRY_LEN;
        SectionInfo {
            kind: le16(self.bytes, at),
            flags: le16(self.bytes, at + 2),
            offset: le32(self.bytes, at + 4),
            len: le32(self.bytes, at + 8),
        }
    }

    /// The CRC-32 stored in the trailer (identifies the image).
    pub fn crc(&self) -> u32 {
        le32(self.bytes, self.bytes.len() - CRC_LEN)
    }

    /// The bytes of the first section of `kind`, if present.
    pub fn section(&self, kind: u16) -> Option<&'a [u8]> {
        (0..self.count).map(|i| self.entry(i)).find(|e| e.kind == kind).and_then(|e| {
            let s = e.offset as usize;
            self.bytes.get(s..s + e.len as usize)
        })
    }

    fn required(&self, kind: u16) -> Result<&'a [u8], ImageError> {
        self.section(kind).ok_or(ImageError::MissingSection(kind))
    }

    /// Decode the network description (fields and tags checked; values not yet validated: see
    /// [`NetDesc::config`]).
    pub fn desc(&self) -> Result<NetDesc, ImageError> {
        // NET
        let s = self.required(SECTION_NET)?;
        if s.len() != NET_LEN {
            return Err(ImageError::SectionLength { kind: SECTION_NET, expected: NET_LEN, found: s.len() });
        }
        let mut r = Rd::new(s, SECTION_NET);
        let inputs = r.u16()?;
        let neurons = r.u16()?;
        let outputs = r.u16()?;
        let states = r.u8()?;
        let at = r.pos;
        let flags = r.u8()?;
        if flags & !3 != 0 {
            return Err(r.bad(at, flags as u32));
        }
        let window = LossWindow { start: r.u32()?, end: r.u32()? };
        r.end()?;

        // LAYER
        let s = self.required(SECTION_LAYER)?;
        let mut r = Rd::new(s, SECTION_LAYER);
        let layer = read_layer(&mut r)?;
        r.end()?;

        // READOUT
        let s = self.required(SECTION_READOUT)?;
        if s.len() != READOUT_LEN {
            return Err(ImageError::SectionLength { kind: SECTION_READOUT, expected: READOUT_LEN, found: s.len() });
        }
        let mut r = Rd::new(s, SECTION_READOUT);
        let (readout, feedback) = read_readout(&mut r)?;
        r.end()?;
        Ok(NetDesc {
            inputs,
            neurons,
            outputs,
            states,
            recurrent: flags & 1 != 0,
            learn: flags & 2 != 0,
            window,
            layer,
            readout,
            feedback,
        })
    }

    /// Decode the optional stimulus section.
    pub fn stimulus(&self) -> Result<Option<Stimulus>, ImageError> {
        let Some(s) = self.section(SECTION_STIMULUS) else { return Ok(None) };
        if s.len() != STIMULUS_LEN {
            return Err(ImageError::SectionLength { kind: SECTION_STIMULUS, expected: STIMULUS_LEN, found: s.len() });
        }
        let mut r = Rd::new(s, SECTION_STIMULUS);
        let seed = r.u32()?;
        let rate = r.u32()?;
        let steps = r.u32()?;
        if steps > MAX_STEPS {
            return Err(ImageError::TooManySteps { steps });
        }
        let at = r.pos;
        let target = match r.u8()? {
            0 => TargetRule::None,
            1 => TargetRule::GroupActivity,
            v => return Err(r.bad(at, v as u32)),
        };
        r.zero8()?;
        r.zero16()?;
        let amplitude = r.i32()?;
        r.end()?;
        Ok(Some(Stimulus { seed, rate, steps, target, amplitude }))
    }

    /// Hidden weights (row-major by axon), checked for length against `desc`.
    pub fn hidden_weights(&self, desc: &NetDesc) -> Result<Weights<'a>, ImageError> {
        self.weights(SECTION_HIDDEN_WEIGHTS, desc.axons().saturating_mul(desc.neurons as usize))
    }

    /// Readout weights (row-major by hidden neuron), checked for length against `desc`.
    pub fn readout_weights(&self, desc: &NetDesc) -> Result<Weights<'a>, ImageError> {
        self.weights(SECTION_READOUT_WEIGHTS, (desc.neurons as usize).saturating_mul(desc.outputs as usize))
    }

    fn weights(&self, kind: u16, count: usize) -> Result<Weights<'a>, ImageError> {
        let s = self.required(kind)?;
        let expected = count.saturating_mul(2);
        if s.len() != expected {
            return Err(ImageError::SectionLength { kind, expected, found: s.len() });
        }
        Ok(Weights { b: s, narrow: false })
    }

    /// Validate everything and load it into `net`: configuration (through the core's constructors),
    /// dimensions against the const generics, every weight against its range. `net` is modified only if
    /// all checks pass (then its configuration, state and every weight are replaced). Returns the
    /// description.
    pub fn load<const P: usize, const N: usize, const O: usize, const S: usize>(
        &self,
        net: &mut Net<P, N, O, S>,
    ) -> Result<NetDesc, ImageError> {
        let desc = self.desc()?;
        let dims = [
            (Field::Axons, P, desc.axons()),
            (Field::Neurons, N, desc.neurons as usize),
            (Field::Outputs, O, desc.outputs as usize),
            (Field::States, S, desc.states as usize),
        ];
        for (field, expected, found) in dims {
            if expected != found {
                return Err(ConfigError::SizeMismatch { field, expected, found }.into());
            }
        }
        let cfg = desc.config()?;
        let hw = self.hidden_weights(&desc)?;
        let rw = self.readout_weights(&desc)?;
        check_weights(hw, desc.layer.formats.weight_max())?;
        check_weights(rw, desc.readout.formats.weight_max())?;
        net.configure(cfg)?;
        // Row-major walks without a division (the M0 has no divider).
        let (mut row, mut col) = (0usize, 0usize);
        for w in hw {
            net.set_weight(row, col, w)?;
            col += 1;
            if col == N {
                (row, col) = (row + 1, 0);
            }
        }
        let (mut row, mut col) = (0usize, 0usize);
        for w in rw {
            net.set_readout_weight(row, col, w)?;
            col += 1;
            if col == O {
                (row, col) = (row + 1, 0);
            }
        }
        Ok(desc)
    }
}

/// Decode a LAYER encoding (v1 section 2; v2 repeats it per population) at the cursor: every tag and pad
/// byte checked, values not yet validated (see [`LayerDesc::config`]).
pub(crate) fn read_layer(r: &mut Rd<'_>) -> Result<LayerDesc, ImageError> {
    let formats = r.formats()?;
    let trace_decay = Decay(r.u32()?);
    let mant = r.u16()?;
    let shift = r.u8()?;
    r.zero8()?;
    let seed = r.u32()?;
    let at = r.pos;
    let ntag = r.u8()?;
    let ptag = r.u8()?;
    r.zero16()?;
    let neuron = match ntag {
        1 => {
            let decay = Decay(r.u32()?);
            let threshold = Voltage(r.i32()?);
            let reset = r.reset()?;
            let detach_reset = r.bool()?;
            let synapse = r.synapse()?;
            let surrogate = r.surrogate()?;
            NeuronDesc::Lif(LifParams { decay, threshold, reset, detach_reset, synapse, surrogate })
        }
        2 => {
            let decay = Decay(r.u32()?);
            let adapt_decay = Decay(r.u32()?);
            let beta = Voltage(r.i32()?);
            let threshold = Voltage(r.i32()?);
            let reset = r.reset()?;
            let detach_reset = r.bool()?;
            let synapse = r.synapse()?;
            let surrogate = r.surrogate()?;
            NeuronDesc::Alif(AlifParams {
                decay,
                adapt_decay,
                beta,
                threshold,
                reset,
                detach_reset,
                synapse,
                surrogate,
            })
        }
        3 => {
            let du = r.u16()?;
            let dv = r.u16()?;
            let bias_mant = r.i16()?;
            // bias_exp is 3 bits; bit 7 of its byte selects Lava's wrap of u (0: two's complement).
            let exp_byte = r.u8()?;
            let (bias_exp, wrap) =
                (exp_byte & 0x7F, if exp_byte & 0x80 != 0 { Wrap24::Lava } else { Wrap24::TwosComplement });
            let weight_exp = r.u8()? as i8;
            let vth_mant = r.u32()?;
            let surrogate = r.surrogate()?;
            NeuronDesc::LoihiCuba(LoihiParams { du, dv, bias_mant, bias_exp, vth_mant, weight_exp, surrogate, wrap })
        }
        v => return Err(r.bad(at, v as u32)),
    };
    let presyn = match ptag {
        0 => PresynDesc::None,
        1 => PresynDesc::Depression(DepressionParams { decay: Decay(r.u32()?), u: Efficacy(r.i32()?) }),
        2 => PresynDesc::Facilitation(FacilitationParams {
            decay_f: Decay(r.u32()?),
            decay_d: Decay(r.u32()?),
            u: Efficacy(r.i32()?),
        }),
        v => return Err(r.bad(at + 1, v as u32)),
    };
    Ok(LayerDesc { formats, neuron, presyn, trace_decay, learning_rate: LearningRate { mant, shift }, seed })
}

/// Decode a READOUT encoding (v1 section 3, 28 bytes) at the cursor.
pub(crate) fn read_readout(r: &mut Rd<'_>) -> Result<(ReadoutConfig, Feedback), ImageError> {
    let rformats = r.formats()?;
    let decay = Decay(r.u32()?);
    let at = r.pos;
    let loss = match r.u8()? {
        0 => Loss::Mse,
        1 => Loss::CrossEntropy,
        v => return Err(r.bad(at, v as u32)),
    };
    let ftag = r.u8()?;
    let rshift = r.u8()?;
    r.zero8()?;
    let rmant = r.u16()?;
    r.zero16()?;
    let rseed = r.u32()?;
    let fseed = r.u32()?;
    let feedback = match ftag {
        0 if fseed == 0 => Feedback::Symmetric,
        1 => Feedback::Random { seed: fseed },
        2 if fseed == 0 => Feedback::External,
        0 | 2 => return Err(r.bad(at + 12, fseed)),
        v => return Err(r.bad(at + 1, v as u32)),
    };
    Ok((ReadoutConfig {
        formats: rformats,
        decay,
        loss,
        learning_rate: LearningRate { mant: rmant, shift: rshift },
        seed: rseed,
    }, feedback))
}

fn check_weights(w: Weights<'_>, max: i32) -> Result<(), ImageError> {
    for x in w {
        crate::error::check_range(Field::Weight, x.0 as i64, -(max as i64), max as i64)?;
    }
    Ok(())
}

/// Iterator over the weight mantissas of a weight section (borrows the image): i16 each, or i8 each
/// for a graph population stored with one byte per synapse (image version 2), both read as [`Weight`].
#[derive(Clone, Copy, Debug)]
pub struct Weights<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) narrow: bool,
}

impl Iterator for Weights<'_> {
    type Item = Weight;
    fn next(&mut self) -> Option<Weight> {
        match (self.narrow, self.b) {
            (true, [x, rest @ ..]) => {
                self.b = rest;
                Some(Weight(*x as i8 as i16))
            }
            (false, [lo, hi, rest @ ..]) => {
                let w = Weight(i16::from_le_bytes([*lo, *hi]));
                self.b = rest;
                Some(w)
            }
            _ => None,
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = if self.narrow { self.b.len() } else { self.b.len() / 2 };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Weights<'_> {}

// ---------------------------------------------------------------------------------------------------
// Writer (no allocation: into a caller buffer; host-tools wraps it).

/// Bytes [`encode`] writes for `desc` (and a stimulus section if `with_stimulus`). Computed in u64 with
/// checked operations (the dimensions are u16, so the weight count alone can exceed a 32-bit `usize`): a
/// length beyond the header's u32 length field is [`ConfigError::OutOfRange`] on [`Field::Image`], never
/// a wrapped or saturated length.
pub fn encoded_len(desc: &NetDesc, with_stimulus: bool) -> Result<usize, ImageError> {
    let sections: u64 = if with_stimulus { 6 } else { 5 };
    let fixed = (HEADER_LEN + NET_LEN + layer_len(&desc.layer) + READOUT_LEN + CRC_LEN) as u64
        + sections * ENTRY_LEN as u64
        + if with_stimulus { STIMULUS_LEN as u64 } else { 0 };
    let (axons, n, o) = (desc.axons() as u64, desc.neurons as u64, desc.outputs as u64);
    let total = axons
        .checked_mul(n)
        .and_then(|h| n.checked_mul(o).and_then(|r| h.checked_add(r)))
        .and_then(|w| w.checked_mul(2))
        .and_then(|w| w.checked_add(fixed));
    let too_long = |value: i64| ConfigError::OutOfRange { field: Field::Image, value, min: 0, max: u32::MAX as i64 };
    match total {
        Some(t) if t <= u32::MAX as u64 => usize::try_from(t).map_err(|_| too_long(t as i64).into()),
        Some(t) => Err(too_long(t.min(i64::MAX as u64) as i64).into()),
        None => Err(too_long(i64::MAX).into()),
    }
}

/// Write an image of `desc` with weights `hidden` (`axons × neurons`, row-major by axon) and `readout`
/// (`neurons × outputs`) into `out`; returns the number of bytes written. The description, the stimulus's
/// step count (at most [`MAX_STEPS`]) and every weight are validated first (an invalid network is never
/// written).
pub fn encode(
    desc: &NetDesc,
    hidden: &[Weight],
    readout: &[Weight],
    stimulus: Option<&Stimulus>,
    out: &mut [u8],
) -> Result<usize, ImageError> {
    desc.config()?;
    let nh = desc.axons().saturating_mul(desc.neurons as usize);
    let nr = desc.neurons as usize * desc.outputs as usize;
    if hidden.len() != nh {
        return Err(ConfigError::SizeMismatch { field: Field::Weight, expected: nh, found: hidden.len() }.into());
    }
    if readout.len() != nr {
        return Err(ConfigError::SizeMismatch { field: Field::Weight, expected: nr, found: readout.len() }.into());
    }
    for (ws, f) in [(hidden, &desc.layer.formats), (readout, &desc.readout.formats)] {
        let m = f.weight_max() as i64;
        for w in ws {
            crate::error::check_range(Field::Weight, w.0 as i64, -m, m)?;
        }
    }
    if let Some(&Stimulus { steps, .. }) = stimulus.filter(|s| s.steps > MAX_STEPS) {
        return Err(ImageError::TooManySteps { steps });
    }
    let total = encoded_len(desc, stimulus.is_some())?;
    let out = out.get_mut(..total).ok_or(ImageError::BufferTooSmall { needed: total })?;
    let count = if stimulus.is_some() { 6 } else { 5 };
    let mut w = Wr { b: out, pos: 0 };
    w.put(&MAGIC);
    w.u16(VERSION);
    w.u16(count as u16);
    w.u32(total as u32);
    w.u32(0);
    let lens = [NET_LEN, layer_len(&desc.layer), READOUT_LEN, 2 * nh, 2 * nr, STIMULUS_LEN];
    let mut off = HEADER_LEN + count * ENTRY_LEN;
    for (kind, len) in KINDS.iter().zip(lens).take(count) {
        w.u16(*kind);
        w.u16(if *kind == SECTION_STIMULUS { 0 } else { FLAG_CRITICAL });
        w.u32(off as u32);
        w.u32(len as u32);
        off += len;
    }
    // NET
    w.u16(desc.inputs);
    w.u16(desc.neurons);
    w.u16(desc.outputs);
    w.u8(desc.states);
    w.u8(desc.recurrent as u8 | (desc.learn as u8) << 1);
    w.u32(desc.window.start);
    w.u32(desc.window.end);
    // LAYER
    write_layer(&mut w, &desc.layer);
    // READOUT
    write_readout(&mut w, &desc.readout, desc.feedback);
    // WEIGHTS
    for x in hidden.iter().chain(readout) {
        w.put(&x.0.to_le_bytes());
    }
    if let Some(s) = stimulus {
        write_stimulus(&mut w, s);
    }
    let body = w.pos;
    let crc = crc32(w.b.get(..body).unwrap_or(&[]));
    w.u32(crc);
    if w.pos != total {
        return Err(ImageError::BadLength { declared: total as u32, actual: w.pos });
    }
    Ok(total)
}

/// The LAYER encoding of `l` (v1 section 2; v2 repeats it per population).
pub(crate) fn write_layer(w: &mut Wr<'_>, l: &LayerDesc) {
    w.formats(&l.formats);
    w.u32(l.trace_decay.0);
    w.u16(l.learning_rate.mant);
    w.u8(l.learning_rate.shift);
    w.u8(0);
    w.u32(l.seed);
    let ntag = match l.neuron {
        NeuronDesc::Lif(_) => 1,
        NeuronDesc::Alif(_) => 2,
        NeuronDesc::LoihiCuba(_) => 3,
    };
    let ptag = match l.presyn {
        PresynDesc::None => 0,
        PresynDesc::Depression(_) => 1,
        PresynDesc::Facilitation(_) => 2,
    };
    w.put(&[ntag, ptag, 0, 0]);
    match l.neuron {
        NeuronDesc::Lif(p) => {
            w.u32(p.decay.0);
            w.i32(p.threshold.0);
            w.put(&[reset_tag(p.reset), p.detach_reset as u8]);
            w.synapse(&p.synapse);
            w.surrogate(&p.surrogate);
        }
        NeuronDesc::Alif(p) => {
            w.u32(p.decay.0);
            w.u32(p.adapt_decay.0);
            w.i32(p.beta.0);
            w.i32(p.threshold.0);
            w.put(&[reset_tag(p.reset), p.detach_reset as u8]);
            w.synapse(&p.synapse);
            w.surrogate(&p.surrogate);
        }
        NeuronDesc::LoihiCuba(p) => {
            w.u16(p.du);
            w.u16(p.dv);
            w.put(&p.bias_mant.to_le_bytes());
            let wrap_bit = if p.wrap == Wrap24::Lava { 0x80 } else { 0 };
            w.put(&[p.bias_exp | wrap_bit, p.weight_exp as u8]);
            w.u32(p.vth_mant);
            w.surrogate(&p.surrogate);
        }
    }
    match l.presyn {
        PresynDesc::None => {}
        PresynDesc::Depression(p) => {
            w.u32(p.decay.0);
            w.i32(p.u.0);
        }
        PresynDesc::Facilitation(p) => {
            w.u32(p.decay_f.0);
            w.u32(p.decay_d.0);
            w.i32(p.u.0);
        }
    }
}

/// The STIMULUS encoding (section 6, 20 bytes; the same in versions 1 and 2).
pub(crate) fn write_stimulus(w: &mut Wr<'_>, s: &Stimulus) {
    w.u32(s.seed);
    w.u32(s.rate);
    w.u32(s.steps);
    w.put(&[match s.target {
        TargetRule::None => 0,
        TargetRule::GroupActivity => 1,
    }, 0, 0, 0]);
    w.i32(s.amplitude);
}

/// The READOUT encoding (v1 section 3, 28 bytes) of `r` with feedback `feedback`.
pub(crate) fn write_readout(w: &mut Wr<'_>, r: &ReadoutConfig, feedback: Feedback) {
    w.formats(&r.formats);
    w.u32(r.decay.0);
    let (ftag, fseed) = match feedback {
        Feedback::Symmetric => (0, 0),
        Feedback::Random { seed } => (1, seed),
        Feedback::External => (2, 0),
    };
    w.put(&[match r.loss {
        Loss::Mse => 0,
        Loss::CrossEntropy => 1,
    }, ftag, r.learning_rate.shift, 0]);
    w.u16(r.learning_rate.mant);
    w.u16(0);
    w.u32(r.seed);
    w.u32(fseed);
}

/// A LIF + delta-synapse description with the default formats and the paper's surrogate: the network
/// the firmware and examples use (`inputs` external axons, `neurons` LIF neurons, `outputs` MSE readout
/// units, symmetric feedback, learning on, loss on every step). α_m ≈ 0.9, threshold 1.0, soft reset,
/// trace decay α = 0.5, η = 2⁻⁴ (hidden) and 2⁻⁶ (readout), readout κ ≈ 0.8.
pub fn example_desc(inputs: u16, neurons: u16, outputs: u16, recurrent: bool) -> NetDesc {
    let f = Formats::DEFAULT;
    let one_d = 1u32 << f.decay_frac;
    NetDesc {
        inputs,
        neurons,
        outputs,
        states: 1,
        recurrent,
        learn: true,
        window: LossWindow::ALWAYS,
        layer: LayerDesc {
            formats: f,
            neuron: NeuronDesc::Lif(LifParams {
                decay: Decay(one_d / 10 * 9),
                threshold: Voltage(1 << f.state_frac),
                reset: Reset::Soft,
                detach_reset: false,
                synapse: Synapse::Delta,
                surrogate: SurrogateParams::paper(&f),
            }),
            presyn: PresynDesc::None,
            trace_decay: Decay(one_d / 2),
            learning_rate: LearningRate { mant: 1, shift: 4 },
            seed: 0x5EED_0001,
        },
        readout: ReadoutConfig {
            formats: f,
            decay: Decay(one_d / 5 * 4),
            loss: Loss::Mse,
            learning_rate: LearningRate { mant: 1, shift: 6 },
            seed: 0x5EED_0002,
        },
        feedback: Feedback::Symmetric,
    }
}

// ---------------------------------------------------------------------------------------------------
// Runner: the seeded stimulus loop every backend shares.

/// The kind of target [`Runner::draw`] produced (the values themselves are in the caller's buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StepTarget {
    /// No target this step.
    None,
    /// `Target::Values` with the buffer passed to `draw`.
    Values,
    /// `Target::Class`.
    Class(u16),
}

/// What a run produced: the numbers host, emulator and firmware compare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RunSummary {
    /// Steps run.
    pub steps: u32,
    /// [`Net::checksum`]: weights, neuron states, traces, readout state and traces.
    pub checksum: u32,
    /// FNV-1a over the per-step (spike count, loss) sequence: the spike/loss trajectory.
    pub trajectory: u32,
    /// Spikes emitted by the hidden layer over the run.
    pub spikes: u32,
    /// Σ loss (Q.16) over the steps that had one.
    pub loss_sum_q16: i64,
    /// Σ loss over the first `steps / 8` steps (compare with `loss_tail_q16`: learning lowers it).
    pub loss_head_q16: i64,
    /// Σ loss over the last `steps / 8` steps.
    pub loss_tail_q16: i64,
    /// Chip effects (saturations, dropped events) of hidden layer + readout.
    pub saturations: u32,
}

/// Drives a network with a [`Stimulus`]: at each step every external input spikes with probability
/// `rate / 2³²` (drawn in input order from one [`XorShift32`]), the target follows the [`TargetRule`],
/// and the step runs in `UpdateMode::Online`. With `Feedback::External` no target is given.
#[derive(Clone, Debug)]
pub struct Runner {
    stim: Stimulus,
    rng: XorShift32,
    t: u32,
    traj: Fnv,
    sum: RunSummary,
}

impl Runner {
    /// A runner at step 0.
    pub fn new(stim: Stimulus) -> Self {
        Runner { stim, rng: XorShift32::new(stim.seed), t: 0, traj: Fnv::new(), sum: RunSummary::default() }
    }

    /// The stimulus.
    pub fn stimulus(&self) -> &Stimulus {
        &self.stim
    }

    /// Next timestep to run.
    pub fn timestep(&self) -> Timestep {
        Timestep(self.t)
    }

    /// Draw the next step's stimulus for a network with `ext` external inputs, `values.len()` outputs,
    /// `loss` and `feedback`: the spiking inputs go into `input` (ascending; returns how many, at most
    /// `input.len()`) and a `Values` target into `values`. Then run the step on any backend and call
    /// [`Runner::record`]. [`Runner::step`] is exactly `draw` + `Net::step` + `record`.
    pub fn draw(
        &mut self,
        ext: usize,
        loss: Loss,
        feedback: Feedback,
        input: &mut [u16],
        values: &mut [i32],
    ) -> (usize, StepTarget) {
        let o = values.len();
        values.fill(0); // per-group spike counts first, then the target
        let mut n = 0usize;
        let mut g = 0usize;
        // group g = floor(i·O / ext): the largest g < O with g·ext ≤ i·O, tracked by the first input of
        // the next group, ⌈(g + 1)·ext / O⌉ (i·O ≥ (g + 1)·ext exactly when i ≥ that bound): one
        // compare per input and one division per group.
        let mut next = ext.div_ceil(o.max(1));
        for i in 0..ext {
            while g + 1 < o && i >= next {
                g += 1;
                next = ((g + 1) * ext).div_ceil(o);
            }
            if self.rng.chance(self.stim.rate) {
                if let Some(slot) = input.get_mut(n) {
                    *slot = i as u16;
                    n += 1;
                }
                if let Some(c) = values.get_mut(g) {
                    *c = c.saturating_add(1);
                }
            }
        }
        let target = match (self.stim.target, feedback, loss) {
            (TargetRule::None, ..) | (_, Feedback::External, _) => StepTarget::None,
            (TargetRule::GroupActivity, _, Loss::Mse) => StepTarget::Values,
            (TargetRule::GroupActivity, _, Loss::CrossEntropy) => {
                let mut best = 0usize;
                let mut most = 0i32;
                for (k, &c) in values.iter().enumerate() {
                    if c > most {
                        (best, most) = (k, c);
                    }
                }
                StepTarget::Class(best as u16)
            }
        };
        let amp = self.stim.amplitude;
        for v in values.iter_mut() {
            *v = if matches!(target, StepTarget::Values) && *v > 0 { amp } else { 0 };
        }
        (n, target)
    }

    /// Record what the step just run produced (hidden spikes, loss) and advance to the next step.
    pub fn record(&mut self, spikes: u32, loss_q16: Option<i64>) {
        let k = self.stim.steps / 8;
        let loss = loss_q16.unwrap_or(0);
        self.traj.write(&spikes.to_le_bytes());
        self.traj.write(&[loss_q16.is_some() as u8]);
        self.traj.write(&loss.to_le_bytes());
        let s = &mut self.sum;
        s.spikes = s.spikes.saturating_add(spikes);
        s.loss_sum_q16 = s.loss_sum_q16.saturating_add(loss);
        if self.t < k {
            s.loss_head_q16 = s.loss_head_q16.saturating_add(loss);
        }
        if self.t >= self.stim.steps.saturating_sub(k) && self.t < self.stim.steps {
            s.loss_tail_q16 = s.loss_tail_q16.saturating_add(loss);
        }
        self.t = self.t.wrapping_add(1);
        s.steps = self.t;
    }

    /// The trajectory hash and counters so far, without a network checksum (for backends other than
    /// [`Net`]; `checksum` and `saturations` are 0).
    pub fn partial_summary(&self) -> RunSummary {
        RunSummary { trajectory: self.traj.finish(), ..self.sum }
    }

    /// Run one step. Fails only if `net` was never configured.
    pub fn step<const P: usize, const N: usize, const O: usize, const S: usize>(
        &mut self,
        net: &mut Net<P, N, O, S>,
    ) -> Result<StepReport, ConfigError> {
        let cfg = *net.config().ok_or(ConfigError::NotConfigured)?;
        let ext = net.external_inputs();
        let mut input = [0u16; P];
        let mut values = [0i32; O];
        let (n, t) = self.draw(ext, cfg.readout.loss, cfg.feedback, &mut input, &mut values);
        let target = match t {
            StepTarget::None => Target::None,
            StepTarget::Values => Target::Values(&values),
            StepTarget::Class(c) => Target::Class(c),
        };
        let rep = net.step(Timestep(self.t), input.get(..n).unwrap_or(&[]), target, UpdateMode::Online)?;
        self.record(rep.ops.spikes, rep.loss_q16);
        Ok(rep)
    }

    /// Run the remaining steps up to `stimulus().steps`.
    pub fn run<const P: usize, const N: usize, const O: usize, const S: usize>(
        &mut self,
        net: &mut Net<P, N, O, S>,
    ) -> Result<RunSummary, ConfigError> {
        while self.t < self.stim.steps {
            self.step(net)?;
        }
        Ok(self.summary(net))
    }

    /// Summary so far, with `net`'s current checksum and counters.
    pub fn summary<const P: usize, const N: usize, const O: usize, const S: usize>(
        &self,
        net: &Net<P, N, O, S>,
    ) -> RunSummary {
        let (a, b) = net.saturations();
        let sat = a.total().saturating_add(b.total()).min(u32::MAX as u64) as u32;
        RunSummary { checksum: net.checksum(), trajectory: self.traj.finish(), saturations: sat, ..self.sum }
    }
}

impl fmt::Display for RunSummary {
    /// The one-line result every backend prints (the CI compares these lines).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RESULT steps={} checksum={:08x} trajectory={:08x} spikes={} loss_sum_q16={} loss_head_q16={} loss_tail_q16={} saturations={}",
            self.steps,
            self.checksum,
            self.trajectory,
            self.spikes,
            self.loss_sum_q16,
            self.loss_head_q16,
            self.loss_tail_q16,
            self.saturations
        )
    }
}
