//! Graph images: format **version 2**, a whole [`GraphConfig`] with its weights (dense or compressed rows
//! per population), its readout, learning configuration, loss window and an optional seeded stimulus,
//! read **without allocation** from a byte slice. Layout: `hw-notes/image-format.md`, "Version 2".
//!
//! The envelope (magic, version, section table, CRC-32) and the LAYER / READOUT / STIMULUS field codecs
//! are version 1's ([`crate::image`]); version 2 adds the section kinds [`SECTION_GRAPH`],
//! [`SECTION_POPULATIONS`], [`SECTION_PROJECTIONS`], [`SECTION_GRAPH_READOUT`],
//! [`SECTION_POPULATION_WEIGHTS`], [`SECTION_GRAPH_READOUT_WEIGHTS`] (all required and critical) and
//! reuses [`crate::image::SECTION_STIMULUS`] (optional).
//!
//! # Guarantees
//! * [`GraphImage::parse`] reads version 2, and version 1 as a one-population graph (an input projection
//!   of delay 0 and, if recurrent, a delay-1 projection of the population onto itself: the graph that is
//!   today's `Net` bit for bit). [`crate::image::Image::parse`] refuses version 2 with
//!   [`ImageError::UnsupportedVersion`]`(2)`.
//! * Every accessor only reads inside the slice and returns an [`ImageError`] for a truncated, bit-flipped
//!   or hostile image, never panics (`tests/graph_image.rs`, fuzz target `graph_image_reader`).
//! * [`GraphImage::load`] (dense [`Graph`] owner) and [`GraphImage::load_pooled`] (caller-provided pooled
//!   buffers, dense or compressed) validate the whole configuration through the core's constructors and
//!   [`GraphConfig::layout`] (which runs `Csr::validate` on every compressed population), and every
//!   weight against its population's range, **before** they touch the `Graph` (the pooled loader fills
//!   the caller's buffers as it checks them; on error their contents are unspecified).
//!
//! ```
//! use plasticore_core::graph::image::{self as gimage, GraphDesc, GraphImage, PopWeightsIn};
//! use plasticore_core::graph::Graph;
//! use plasticore_core::format::Weight;
//!
//! // A v1 description as a one-population graph: 4 inputs → 8 recurrent LIF → 2 outputs.
//! let desc = GraphDesc::from_net(&plasticore_core::image::example_desc(4, 8, 2, true));
//! let hidden = [Weight(3); 12 * 8];
//! let readout = [Weight(-1); 8 * 2];
//! let w = [PopWeightsIn::Dense(&hidden)];
//! let mut buf = [0u8; 1024];
//! let len = gimage::encode(&desc, &w, &[], &readout, None, &mut buf).unwrap();
//! let img = GraphImage::parse(&buf[..len]).unwrap();
//! assert_eq!(img.version(), 2);
//! let mut g: Graph<8, 8, 12, 96, 2, 24> = Graph::new();
//! assert_eq!(img.load(&mut g).unwrap(), desc);
//! // The version-1 reader names the version it refuses.
//! assert_eq!(
//!     plasticore_core::image::Image::parse(&buf[..len]).unwrap_err(),
//!     plasticore_core::image::ImageError::UnsupportedVersion(2)
//! );
//! ```

use super::{
    BiasMode, GraphConfig, Graph, LambdaSource, Layout, ParamMode, Population, Projection, ProjPresyn, ReadoutSpec, Source,
    MAX_POPULATIONS, MAX_PROJECTIONS,
};
use crate::neuron::{NeuronParams, ParamSlot};
use crate::error::{check_range, ConfigError, Field};
use crate::format::{Weight, WeightStore};
use crate::image::{
    self, crc32, layer_len, read_layer, read_readout, write_layer, write_readout, write_stimulus, Image, ImageError,
    LayerDesc, NetDesc, Rd, Stimulus, Weights, Wr, CRC_LEN, ENTRY_LEN, FLAG_CRITICAL, HEADER_LEN, MAGIC,
    MAX_STEPS, READOUT_LEN, SECTION_STIMULUS, STIMULUS_LEN,
};
use crate::format::{Decay, Efficacy};
use crate::layer::Csr;
use crate::net::LossWindow;
use crate::presyn::{DepressionParams, FacilitationParams};
use crate::readout::Feedback;

/// The format version of graph images.
pub const VERSION: u16 = 2;
/// Inputs, population and projection counts, learning switch, loss window (16 bytes).
pub const SECTION_GRAPH: u16 = 7;
/// Per population: neurons, states, λ source, storage (dense / compressed), then the LAYER encoding.
pub const SECTION_POPULATIONS: u16 = 8;
/// Per projection (12 bytes): source, target, delay, learn flag.
pub const SECTION_PROJECTIONS: u16 = 9;
/// Readout: source population, outputs, then the READOUT encoding (32 bytes).
pub const SECTION_GRAPH_READOUT: u16 = 10;
/// Per population in order: dense rows, or compressed rows (row_start, cols, weights).
pub const SECTION_POPULATION_WEIGHTS: u16 = 11;
/// Readout weights: `neurons of the source × outputs` i16, row-major by neuron.
pub const SECTION_GRAPH_READOUT_WEIGHTS: u16 = 12;
/// Per-neuron threshold and decays of the populations with [`ParamMode::PerNeuron`] (12 bytes per
/// neuron); critical, present exactly when some population has them.
pub const SECTION_NEURON_PARAMS: u16 = 13;
/// Per projection (16 bytes, in projection order): weight shift, STD/STP kind and parameters
/// ([`Projection::shift`], [`Projection::presyn`]); critical, present exactly when some projection has
/// a shift or an STD/STP of its own. Without it every projection has shift 0 and inherits its target's
/// STD/STP, which is what an image written before this section existed means.
pub const SECTION_PROJECTION_FORMATS: u16 = 14;

const GRAPH_LEN: usize = 16;
const POP_FIXED_LEN: usize = 12;
const PROJ_LEN: usize = 12;
const GRAPH_READOUT_LEN: usize = 4 + READOUT_LEN;
const PARAM_LEN: usize = 12;
const PROJ_FORMAT_LEN: usize = 16;
/// Known kinds, in the order the writer lays them out (the last three only when present).
const KINDS: [u16; 9] = [
    SECTION_GRAPH,
    SECTION_POPULATIONS,
    SECTION_PROJECTIONS,
    SECTION_GRAPH_READOUT,
    SECTION_POPULATION_WEIGHTS,
    SECTION_GRAPH_READOUT_WEIGHTS,
    SECTION_NEURON_PARAMS,
    SECTION_PROJECTION_FORMATS,
    SECTION_STIMULUS,
];

/// A population as an image stores it (before validation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PopulationDesc {
    /// Neurons.
    pub neurons: u16,
    /// State variables per neuron (must equal the model's).
    pub states: u8,
    /// Formats, neuron model, STD/STP, trace decay, learning rate, seed.
    pub layer: LayerDesc,
    /// Learning-signal source.
    pub lambda: LambdaSource,
    /// Compressed rows (CSR) instead of dense rows.
    pub compressed: bool,
    /// Per-neuron bias: none, fixed or learnt (its values follow the population's weights).
    pub bias: BiasMode,
    /// Per-neuron threshold and decays (their values are in [`SECTION_NEURON_PARAMS`]).
    pub params: ParamMode,
    /// Weights stored with one byte per synapse (i8; needs `weight_bits` ≤ 8), instead of two (i16).
    pub narrow_weights: bool,
}

/// Everything a graph image says about a network, before validation ([`GraphDesc::config`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphDesc {
    /// External input channels.
    pub inputs: u16,
    /// Populations, in update order.
    pub populations: heapless::Vec<PopulationDesc, MAX_POPULATIONS>,
    /// Projections.
    pub projections: heapless::Vec<Projection, MAX_PROJECTIONS>,
    /// Readout.
    pub readout: ReadoutSpec,
    /// Loss window.
    pub window: LossWindow,
    /// Learning on.
    pub learn: bool,
}

fn lambda_of(fb: Feedback) -> LambdaSource {
    match fb {
        Feedback::Symmetric => LambdaSource::Symmetric,
        Feedback::Random { seed } => LambdaSource::RandomFeedback { seed },
        Feedback::External => LambdaSource::External,
    }
}

impl GraphDesc {
    /// The one-population graph of a version-1 description: input projection (channels 0..inputs, delay 0)
    /// and, if recurrent, the population onto itself with delay 1, both plastic; the v1 feedback becomes
    /// the population's λ source.
    pub fn from_net(d: &NetDesc) -> Self {
        let mut populations = heapless::Vec::new();
        let _ = populations.push(PopulationDesc {
            neurons: d.neurons,
            states: d.states,
            layer: d.layer,
            lambda: lambda_of(d.feedback),
            compressed: false,
            bias: BiasMode::None,
            params: ParamMode::Shared,
            narrow_weights: false,
        });
        let mut projections = heapless::Vec::new();
        let _ = projections.push(Projection { source: Source::Input { first: 0, width: d.inputs }, target: 0, delay: 0, learn: true, shift: 0, presyn: ProjPresyn::Inherit });
        if d.recurrent {
            let _ = projections.push(Projection { source: Source::Population(0), target: 0, delay: 1, learn: true, shift: 0, presyn: ProjPresyn::Inherit });
        }
        GraphDesc {
            inputs: d.inputs,
            populations,
            projections,
            readout: ReadoutSpec { source: 0, outputs: d.outputs, config: d.readout },
            window: d.window,
            learn: d.learn,
        }
    }

    /// Axons of population `p`: Σ of the widths of the projections onto it (0 for an unknown index;
    /// saturating, so a hostile description cannot overflow).
    pub fn axons(&self, p: usize) -> usize {
        self.projections.iter().filter(|q| q.target as usize == p).fold(0usize, |a, q| {
            let w = match q.source {
                Source::Input { width, .. } => width as usize,
                Source::Population(s) => self.populations.get(s as usize).map_or(0, |x| x.neurons as usize),
            };
            a.saturating_add(w)
        })
    }

    /// Build the [`GraphConfig`] through the core's constructors (`Lif::new`, `Depression::new`, ...) and
    /// check each population's `states` against its model. The graph-level checks (indices, delays,
    /// capacities, compressed rows) are [`GraphConfig::layout`]'s.
    pub fn config(&self) -> Result<GraphConfig, ConfigError> {
        let mut populations = heapless::Vec::new();
        for pd in &self.populations {
            let layer = pd.layer.config()?;
            let states = layer.neuron.states();
            if pd.states as usize != states {
                return Err(ConfigError::SizeMismatch { field: Field::States, expected: states, found: pd.states as usize });
            }
            if pd.narrow_weights {
                check_range(Field::WeightBits, layer.formats.weight_bits as i64, 2, 8)?;
            }
            // Same capacity as `self.populations`: cannot fail.
            let _ = populations.push(Population { neurons: pd.neurons, layer, lambda: pd.lambda, bias: pd.bias, params: pd.params });
        }
        Ok(GraphConfig {
            inputs: self.inputs,
            populations,
            projections: self.projections.clone(),
            readout: self.readout,
            window: self.window,
            learn: self.learn,
        })
    }

    /// Σ neurons of the populations with per-neuron parameters (saturating).
    pub fn param_neurons(&self) -> usize {
        self.populations.iter().filter(|p| p.params == ParamMode::PerNeuron).fold(0usize, |a, p| a.saturating_add(p.neurons as usize))
    }

    fn population(&self, p: usize) -> Result<&PopulationDesc, ImageError> {
        self.populations.get(p).ok_or(ImageError::Config(ConfigError::OutOfRange {
            field: Field::Population,
            value: p as i64,
            min: 0,
            max: self.populations.len() as i64 - 1,
        }))
    }
}

// ---------------------------------------------------------------------------------------------------
// Reader.

/// A parsed graph image (version 2, or version 1 read as a one-population graph) borrowing its bytes.
#[derive(Clone, Copy, Debug)]
pub struct GraphImage<'a> {
    img: Image<'a>,
    v1: bool,
}

/// Compressed rows of one population as stored: `axons + 1` row starts (u32), then one column (u16) and
/// one weight mantissa (i16, or i8 with one-byte weights) per synapse, all little-endian, read in place.
#[derive(Clone, Copy, Debug)]
pub struct CsrRows<'a> {
    row_start: &'a [u8],
    cols: &'a [u8],
    weights: &'a [u8],
    narrow: bool,
}

impl<'a> CsrRows<'a> {
    /// Number of synapses.
    pub fn synapses(&self) -> usize {
        self.cols.len() / 2
    }
    /// The row starts (`axons + 1` values).
    pub fn row_start(&self) -> impl Iterator<Item = u32> + 'a {
        self.row_start.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    }
    /// The column (local neuron index) of every synapse.
    pub fn cols(&self) -> impl Iterator<Item = u16> + 'a {
        self.cols.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]))
    }
    /// The weight mantissa of every synapse.
    pub fn weights(&self) -> Weights<'a> {
        Weights { b: self.weights, narrow: self.narrow }
    }
}

/// The stored weights of one population.
#[derive(Clone, Copy, Debug)]
pub enum PopWeights<'a> {
    /// `axons × neurons` mantissas, row-major by axon.
    Dense(Weights<'a>),
    /// Compressed rows.
    Compressed(CsrRows<'a>),
}

/// Lengths of the pooled buffers [`GraphImage::load_pooled`] fills.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PooledSizes {
    /// Σ weights of every population (dense: axons × neurons; compressed: synapses).
    pub weights: usize,
    /// Σ (axons + 1) over the compressed populations.
    pub row_start: usize,
    /// Σ synapses over the compressed populations.
    pub cols: usize,
    /// Readout weights: neurons of the readout's source × outputs.
    pub readout: usize,
    /// Biases: Σ neurons (entries of populations without a bias stay 0).
    pub bias: usize,
    /// Per-neuron parameter slots: Σ neurons of the populations with [`ParamMode::PerNeuron`].
    pub params: usize,
}

/// Caller storage for [`GraphImage::load_pooled`] (lengths exactly [`GraphImage::pooled_sizes`]).
pub struct PooledStorage<'b, W: WeightStore = Weight> {
    /// The pooled weight buffer of [`super::GraphBuffers`] (population p at `Layout::pops[p].weight_off`),
    /// 16- or 8-bit storage (8-bit: every population's `weight_bits` ≤ 8, else a configuration error).
    pub weights: &'b mut [W],
    /// Row starts of the compressed populations, concatenated in population order.
    pub row_start: &'b mut [u32],
    /// Columns of the compressed populations, concatenated in population order.
    pub cols: &'b mut [u16],
    /// Readout weights (row-major by source neuron).
    pub readout: &'b mut [Weight],
    /// The pooled bias buffer of [`super::PoolBuffers`] (population p at `Layout::pops[p].neuron_off`).
    pub bias: &'b mut [i32],
    /// The pooled parameter slots of [`super::PoolBuffers`] (population p at `Layout::pops[p].param_off`).
    pub params: &'b mut [ParamSlot],
}

/// What [`GraphImage::load_pooled`] validated: the description, its configuration and layout, and where
/// each compressed population's rows are in the caller's `row_start` / `cols` buffers.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The description.
    pub desc: GraphDesc,
    /// The validated configuration.
    pub config: GraphConfig,
    /// Its pooled layout (for the given topology).
    pub layout: Layout,
    /// Per population: `(row_start offset, axons + 1, cols offset, synapses)` if compressed.
    pub csr: CsrRanges,
}

impl Loaded {
    /// The topology argument of [`super::GraphMut::new`] over the buffers `load_pooled` filled.
    pub fn topology<'t>(&self, row_start: &'t [u32], cols: &'t [u16]) -> [Option<Csr<'t>>; MAX_POPULATIONS] {
        topology_of(&self.csr, row_start, cols)
    }
}

type CsrRanges = [Option<(usize, usize, usize, usize)>; MAX_POPULATIONS];

fn topology_of<'t>(csr: &CsrRanges, row_start: &'t [u32], cols: &'t [u16]) -> [Option<Csr<'t>>; MAX_POPULATIONS] {
    let mut t = [None; MAX_POPULATIONS];
    for (slot, c) in t.iter_mut().zip(csr) {
        if let Some((ro, rl, co, cl)) = *c {
            if let (Some(rs), Some(cs)) = (row_start.get(ro..ro + rl), cols.get(co..co + cl)) {
                *slot = Some(Csr { row_start: rs, cols: cs });
            }
        }
    }
    t
}

fn bad_len(kind: u16, expected: usize, found: usize) -> ImageError {
    ImageError::SectionLength { kind, expected, found }
}

/// Byte range `(start, len)` of every population's weights in the weight section (its biases, if any,
/// follow them).
type Blocks = [(usize, usize); MAX_POPULATIONS];

/// Iterator over the i32 biases of one population (borrows the image).
#[derive(Clone, Copy, Debug)]
pub struct Biases<'a> {
    b: &'a [u8],
}

impl Iterator for Biases<'_> {
    type Item = i32;
    fn next(&mut self) -> Option<i32> {
        match self.b {
            [a, b, c, d, rest @ ..] => {
                let v = i32::from_le_bytes([*a, *b, *c, *d]);
                self.b = rest;
                Some(v)
            }
            _ => None,
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.b.len() / 4, Some(self.b.len() / 4))
    }
}

impl ExactSizeIterator for Biases<'_> {}

/// Iterator over the stored [`NeuronParams`] of one population (threshold i32, decay u32, adapt u32
/// each; borrows the image).
#[derive(Clone, Copy, Debug)]
pub struct ParamValues<'a> {
    b: &'a [u8],
}

impl Iterator for ParamValues<'_> {
    type Item = NeuronParams;
    fn next(&mut self) -> Option<NeuronParams> {
        let (x, rest) = self.b.split_first_chunk::<12>()?;
        self.b = rest;
        let w = |i: usize| [x[i], x[i + 1], x[i + 2], x[i + 3]];
        Some(NeuronParams { threshold: i32::from_le_bytes(w(0)), decay: u32::from_le_bytes(w(4)), adapt: u32::from_le_bytes(w(8)) })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.b.len() / PARAM_LEN, Some(self.b.len() / PARAM_LEN))
    }
}

impl ExactSizeIterator for ParamValues<'_> {}

impl<'a> GraphImage<'a> {
    /// Check envelope, length, CRC-32 and section table (version 2), or parse a version-1 image.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ImageError> {
        if bytes.get(4..6) == Some(&image::VERSION.to_le_bytes()[..]) {
            return Ok(GraphImage { img: Image::parse(bytes)?, v1: true });
        }
        Ok(GraphImage { img: Image::parse_envelope(bytes, VERSION, &KINDS, &[SECTION_STIMULUS, SECTION_NEURON_PARAMS, SECTION_PROJECTION_FORMATS])?, v1: false })
    }

    /// Format version of the image (1 or 2).
    pub fn version(&self) -> u16 {
        if self.v1 {
            image::VERSION
        } else {
            VERSION
        }
    }

    /// The envelope (section table, CRC).
    pub fn envelope(&self) -> &Image<'a> {
        &self.img
    }

    fn required(&self, kind: u16) -> Result<&'a [u8], ImageError> {
        self.img.section(kind).ok_or(ImageError::MissingSection(kind))
    }

    /// The optional stimulus.
    pub fn stimulus(&self) -> Result<Option<Stimulus>, ImageError> {
        self.img.stimulus()
    }

    /// Decode the graph description (every tag, pad byte and section length checked; values not yet
    /// validated: see [`GraphDesc::config`]).
    pub fn desc(&self) -> Result<GraphDesc, ImageError> {
        if self.v1 {
            return Ok(GraphDesc::from_net(&self.img.desc()?));
        }
        // GRAPH
        let s = self.required(SECTION_GRAPH)?;
        if s.len() != GRAPH_LEN {
            return Err(bad_len(SECTION_GRAPH, GRAPH_LEN, s.len()));
        }
        let mut r = Rd::new(s, SECTION_GRAPH);
        let inputs = r.u16()?;
        let np = r.u8()? as usize;
        let nq = r.u8()? as usize;
        let at = r.pos;
        let flags = r.u8()?;
        if flags & !1 != 0 {
            return Err(r.bad(at, flags as u32));
        }
        r.zero8()?;
        r.zero16()?;
        let window = LossWindow { start: r.u32()?, end: r.u32()? };
        r.end()?;
        check_range(Field::Population, np as i64, 1, MAX_POPULATIONS as i64)?;
        check_range(Field::Projection, nq as i64, 0, MAX_PROJECTIONS as i64)?;

        // POPULATIONS
        let s = self.required(SECTION_POPULATIONS)?;
        let mut r = Rd::new(s, SECTION_POPULATIONS);
        let mut populations = heapless::Vec::new();
        for _ in 0..np {
            let neurons = r.u16()?;
            let states = r.u8()?;
            let at = r.pos;
            let tag = r.u8()?;
            let seed = r.u32()?;
            let lambda = match tag {
                0 if seed == 0 => LambdaSource::Symmetric,
                1 => LambdaSource::RandomFeedback { seed },
                2 if seed == 0 => LambdaSource::External,
                0 | 2 => return Err(r.bad(at + 1, seed)),
                v => return Err(r.bad(at, v as u32)),
            };
            let at = r.pos;
            let compressed = match r.u8()? {
                0 => false,
                1 => true,
                v => return Err(r.bad(at, v as u32)),
            };
            let at = r.pos;
            let bias = match r.u8()? {
                0 => BiasMode::None,
                1 => BiasMode::Fixed,
                2 => BiasMode::Learned,
                v => return Err(r.bad(at, v as u32)),
            };
            let at = r.pos;
            let params = match r.u8()? {
                0 => ParamMode::Shared,
                1 => ParamMode::PerNeuron,
                v => return Err(r.bad(at, v as u32)),
            };
            let at = r.pos;
            let narrow_weights = match r.u8()? {
                0 => false,
                1 => true,
                v => return Err(r.bad(at, v as u32)),
            };
            let layer = read_layer(&mut r)?;
            // np ≤ MAX_POPULATIONS: cannot fail.
            let _ = populations.push(PopulationDesc { neurons, states, layer, lambda, compressed, bias, params, narrow_weights });
        }
        r.end()?;

        // PROJECTIONS
        let s = self.required(SECTION_PROJECTIONS)?;
        if s.len() != nq * PROJ_LEN {
            return Err(bad_len(SECTION_PROJECTIONS, nq * PROJ_LEN, s.len()));
        }
        let mut r = Rd::new(s, SECTION_PROJECTIONS);
        let mut projections = heapless::Vec::new();
        for _ in 0..nq {
            let at = r.pos;
            let tag = r.u8()?;
            let pop = r.u8()?;
            let target = r.u8()?;
            let delay = r.u8()?;
            let first = r.u16()?;
            let width = r.u16()?;
            let source = match tag {
                0 if pop == 0 => Source::Input { first, width },
                1 if first == 0 && width == 0 => Source::Population(pop),
                0 => return Err(r.bad(at + 1, pop as u32)),
                1 => return Err(r.bad(at + 4, first as u32 | (width as u32) << 16)),
                v => return Err(r.bad(at, v as u32)),
            };
            let fat = r.pos;
            let f = r.u8()?;
            if f & !1 != 0 {
                return Err(r.bad(fat, f as u32));
            }
            r.zero8()?;
            r.zero16()?;
            // nq ≤ MAX_PROJECTIONS: cannot fail.
            let _ = projections.push(Projection { source, target, delay, learn: f & 1 != 0, shift: 0, presyn: ProjPresyn::Inherit });
        }
        r.end()?;

        // PROJECTION_FORMATS (optional)
        if let Some(s) = self.img.section(SECTION_PROJECTION_FORMATS) {
            if s.len() != nq * PROJ_FORMAT_LEN {
                return Err(bad_len(SECTION_PROJECTION_FORMATS, nq * PROJ_FORMAT_LEN, s.len()));
            }
            let mut r = Rd::new(s, SECTION_PROJECTION_FORMATS);
            for pr in projections.iter_mut() {
                let shift = r.u8()?;
                let at = r.pos;
                let tag = r.u8()?;
                r.zero16()?;
                let (a, b, c) = (r.u32()?, r.u32()?, r.u32()?);
                pr.shift = shift;
                pr.presyn = match tag {
                    0 | 1 if a == 0 && b == 0 && c == 0 => {
                        if tag == 0 {
                            ProjPresyn::Inherit
                        } else {
                            ProjPresyn::None
                        }
                    }
                    2 if c == 0 => ProjPresyn::Depression(DepressionParams { decay: Decay(a), u: Efficacy(b as i32) }),
                    3 => ProjPresyn::Facilitation(FacilitationParams { decay_f: Decay(a), decay_d: Decay(b), u: Efficacy(c as i32) }),
                    0..=3 => return Err(r.bad(at + 3, a | b | c)),
                    v => return Err(r.bad(at, v as u32)),
                };
            }
            r.end()?;
        }

        // READOUT
        let s = self.required(SECTION_GRAPH_READOUT)?;
        if s.len() != GRAPH_READOUT_LEN {
            return Err(bad_len(SECTION_GRAPH_READOUT, GRAPH_READOUT_LEN, s.len()));
        }
        let mut r = Rd::new(s, SECTION_GRAPH_READOUT);
        let source = r.u8()?;
        r.zero8()?;
        let outputs = r.u16()?;
        let (config, fb) = read_readout(&mut r)?;
        // λ sources are per population; the readout's feedback byte and seed are reserved (0).
        if fb != Feedback::Symmetric {
            return Err(r.bad(4 + 13, match fb {
                Feedback::Random { .. } => 1,
                _ => 2,
            }));
        }
        r.end()?;
        let desc = GraphDesc {
            inputs,
            populations,
            projections,
            readout: ReadoutSpec { source, outputs, config },
            window,
            learn: flags & 1 != 0,
        };
        // NEURON_PARAMS: present exactly when some population has per-neuron parameters.
        let k = SECTION_NEURON_PARAMS;
        let need = desc.param_neurons().saturating_mul(PARAM_LEN);
        match self.img.section(k) {
            None if need == 0 => {}
            None => return Err(ImageError::MissingSection(k)),
            Some(_) if need == 0 => return Err(ConfigError::Inconsistent { field: Field::Image, with: Field::Population }.into()),
            Some(s) if s.len() != need => return Err(bad_len(k, need, s.len())),
            Some(_) => {}
        }
        Ok(desc)
    }

    /// The per-neuron threshold and decays of population `p` as stored (empty for a population with
    /// shared parameters; values not yet validated, see [`ParamSlot::new`]).
    pub fn population_params(&self, desc: &GraphDesc, p: usize) -> Result<ParamValues<'a>, ImageError> {
        let pd = desc.population(p)?;
        if self.v1 || pd.params == ParamMode::Shared {
            return Ok(ParamValues { b: &[] });
        }
        let s = self.required(SECTION_NEURON_PARAMS)?;
        let off = desc.populations[..p]
            .iter()
            .filter(|q| q.params == ParamMode::PerNeuron)
            .fold(0usize, |a, q| a + q.neurons as usize * PARAM_LEN);
        let len = pd.neurons as usize * PARAM_LEN;
        s.get(off..off + len).map(|b| ParamValues { b }).ok_or(bad_len(SECTION_NEURON_PARAMS, off + len, s.len()))
    }

    /// Locate every population's block in the weight section; the blocks must fill it exactly.
    fn blocks(&self, desc: &GraphDesc) -> Result<(&'a [u8], Blocks), ImageError> {
        let k = SECTION_POPULATION_WEIGHTS;
        let s = self.required(k)?;
        let mut blocks = [(0usize, 0usize); MAX_POPULATIONS];
        let mut off = 0usize;
        for (p, pd) in desc.populations.iter().enumerate() {
            let axons = desc.axons(p);
            let wb = if pd.narrow_weights { 1 } else { 2 };
            let len = if pd.compressed {
                let rs = axons.checked_add(1).and_then(|a| a.checked_mul(4)).ok_or(bad_len(k, usize::MAX, s.len()))?;
                let last = off.saturating_add(rs);
                if last > s.len() {
                    return Err(bad_len(k, last, s.len()));
                }
                let nnz = image::le32(s, last - 4) as usize;
                nnz.checked_mul(2 + wb).and_then(|b| b.checked_add(rs)).ok_or(bad_len(k, usize::MAX, s.len()))?
            } else {
                axons.checked_mul(pd.neurons as usize).and_then(|n| n.checked_mul(wb)).ok_or(bad_len(k, usize::MAX, s.len()))?
            };
            let bias = if pd.bias == BiasMode::None { 0 } else { 4 * pd.neurons as usize };
            let end = off.checked_add(len).and_then(|e| e.checked_add(bias)).ok_or(bad_len(k, usize::MAX, s.len()))?;
            if end > s.len() {
                return Err(bad_len(k, end, s.len()));
            }
            if let Some(b) = blocks.get_mut(p) {
                *b = (off, len);
            }
            off = end;
        }
        if off != s.len() {
            return Err(bad_len(k, off, s.len()));
        }
        Ok((s, blocks))
    }

    /// The stored weights of population `p` (lengths checked against `desc`; values not yet checked).
    pub fn population_weights(&self, desc: &GraphDesc, p: usize) -> Result<PopWeights<'a>, ImageError> {
        let pd = desc.population(p)?;
        if self.v1 {
            let d = self.img.desc()?;
            return Ok(PopWeights::Dense(self.img.hidden_weights(&d)?));
        }
        let (s, blocks) = self.blocks(desc)?;
        let (off, len) = blocks[p];
        let b = s.get(off..off + len).unwrap_or(&[]);
        let narrow = pd.narrow_weights;
        if !pd.compressed {
            return Ok(PopWeights::Dense(Weights { b, narrow }));
        }
        let rs = (desc.axons(p) + 1) * 4;
        let nnz = (len - rs) / (2 + if narrow { 1 } else { 2 });
        Ok(PopWeights::Compressed(CsrRows {
            row_start: b.get(..rs).unwrap_or(&[]),
            cols: b.get(rs..rs + 2 * nnz).unwrap_or(&[]),
            weights: b.get(rs + 2 * nnz..).unwrap_or(&[]),
            narrow,
        }))
    }

    /// The biases of population `p` (empty if its bias mode is none).
    pub fn population_bias(&self, desc: &GraphDesc, p: usize) -> Result<Biases<'a>, ImageError> {
        let pd = desc.population(p)?;
        if self.v1 || pd.bias == BiasMode::None {
            return Ok(Biases { b: &[] });
        }
        let (s, blocks) = self.blocks(desc)?;
        let (off, len) = blocks[p];
        let start = off + len;
        Ok(Biases { b: s.get(start..start + 4 * pd.neurons as usize).unwrap_or(&[]) })
    }

    /// Readout weights (row-major by source neuron), length checked against `desc`.
    pub fn readout_weights(&self, desc: &GraphDesc) -> Result<Weights<'a>, ImageError> {
        if self.v1 {
            let d = self.img.desc()?;
            return self.img.readout_weights(&d);
        }
        let k = SECTION_GRAPH_READOUT_WEIGHTS;
        let s = self.required(k)?;
        let n = desc.populations.get(desc.readout.source as usize).map_or(0, |p| p.neurons as usize);
        let expected = n * desc.readout.outputs as usize * 2;
        if s.len() != expected {
            return Err(bad_len(k, expected, s.len()));
        }
        Ok(Weights { b: s, narrow: false })
    }

    /// Sizes of the pooled buffers [`GraphImage::load_pooled`] needs for this image.
    pub fn pooled_sizes(&self, desc: &GraphDesc) -> Result<PooledSizes, ImageError> {
        let mut z = PooledSizes::default();
        for p in 0..desc.populations.len() {
            match self.population_weights(desc, p)? {
                PopWeights::Dense(w) => z.weights = z.weights.saturating_add(w.len()),
                PopWeights::Compressed(c) => {
                    z.weights = z.weights.saturating_add(c.synapses());
                    z.cols = z.cols.saturating_add(c.synapses());
                    z.row_start = z.row_start.saturating_add(desc.axons(p) + 1);
                }
            }
        }
        z.readout = self.readout_weights(desc)?.len();
        z.bias = desc.populations.iter().map(|p| p.neurons as usize).sum();
        z.params = desc.param_neurons();
        Ok(z)
    }

    /// Validate everything and load a dense graph into `g`: configuration (core constructors and
    /// [`GraphConfig::layout`]), capacities against the const generics, every weight against its range.
    /// `g` is modified only if all checks pass (then its configuration, state and every weight are
    /// replaced). A population with compressed rows gives [`ImageError::Compressed`].
    pub fn load<
        const NEU: usize,
        const ST: usize,
        const AX: usize,
        const W: usize,
        const O: usize,
        const H: usize,
        const PN: usize,
        WS: WeightStore,
        const PS: usize,
    >(
        &self,
        g: &mut Graph<NEU, ST, AX, W, O, H, PN, WS, PS>,
    ) -> Result<GraphDesc, ImageError> {
        let desc = self.desc()?;
        let cfg = desc.config()?;
        if let Some(p) = desc.populations.iter().position(|p| p.compressed) {
            return Err(ImageError::Compressed { population: p as u8 });
        }
        let lay = cfg.layout(&[])?;
        for (p, pop) in cfg.populations.iter().enumerate() {
            let PopWeights::Dense(w) = self.population_weights(&desc, p)? else {
                return Err(ImageError::Compressed { population: p as u8 });
            };
            if w.len() != lay.pops[p].weights {
                return Err(ConfigError::SizeMismatch { field: Field::Weight, expected: lay.pops[p].weights, found: w.len() }.into());
            }
            check_weights(w, pop.layer.formats.weight_max())?;
        }
        let rw = self.readout_weights(&desc)?;
        check_weights(rw, cfg.readout.config.formats.weight_max())?;
        for (p, pop) in cfg.populations.iter().enumerate() {
            for v in self.population_params(&desc, p)? {
                ParamSlot::new(&pop.layer, v)?;
            }
        }
        // Capacities are checked by `configure`, which changes nothing on error.
        g.configure(cfg)?;
        for p in 0..desc.populations.len() {
            for (j, v) in self.population_params(&desc, p)?.enumerate() {
                g.set_neuron_params(p, j, v)?;
            }
        }
        for p in 0..desc.populations.len() {
            let n = lay.pops[p].neurons;
            if let PopWeights::Dense(w) = self.population_weights(&desc, p)? {
                // Row-major walk without a division (the M0 has no divider).
                let (mut a, mut j) = (0usize, 0usize);
                for x in w {
                    g.set_weight(p, a, j, x)?;
                    j += 1;
                    if j == n {
                        (a, j) = (a + 1, 0);
                    }
                }
            }
        }
        for p in 0..desc.populations.len() {
            for (j, b) in self.population_bias(&desc, p)?.enumerate() {
                g.set_bias(p, j, b)?;
            }
        }
        let o = desc.readout.outputs as usize;
        let (mut j, mut k) = (0usize, 0usize);
        for x in rw {
            g.set_readout_weight(j, k, x)?;
            k += 1;
            if k == o {
                (j, k) = (j + 1, 0);
            }
        }
        Ok(desc)
    }

    /// Validate everything and fill caller-provided pooled buffers (any mix of dense and compressed
    /// populations): the buffers must have exactly [`GraphImage::pooled_sizes`]. Row starts and columns
    /// are copied first and the whole graph is then validated by [`GraphConfig::layout`] with that
    /// topology (`Csr::validate` per compressed population); every weight is checked against its range
    /// as it is copied. Build the datapath with [`super::GraphMut::new`]`(&loaded.config,
    /// &loaded.topology(row_start, cols), buffers)`.
    pub fn load_pooled<W: WeightStore>(&self, out: PooledStorage<'_, W>) -> Result<Loaded, ImageError> {
        let desc = self.desc()?;
        let config = desc.config()?;
        for pop in &config.populations {
            check_range(Field::WeightBits, pop.layer.formats.weight_bits as i64, 2, W::BITS as i64)?;
        }
        let z = self.pooled_sizes(&desc)?;
        let sizes = [
            (z.weights, out.weights.len()),
            (z.row_start, out.row_start.len()),
            (z.cols, out.cols.len()),
            (z.readout, out.readout.len()),
            (z.bias, out.bias.len()),
            (z.params, out.params.len()),
        ];
        for (expected, found) in sizes {
            if expected != found {
                return Err(ConfigError::SizeMismatch { field: Field::Buffer, expected, found }.into());
            }
        }
        let mut csr = [None; MAX_POPULATIONS];
        let (mut ro, mut co) = (0usize, 0usize);
        for (p, slot) in csr.iter_mut().enumerate().take(desc.populations.len()) {
            if let PopWeights::Compressed(c) = self.population_weights(&desc, p)? {
                let rl = desc.axons(p) + 1;
                let cl = c.synapses();
                let short = ConfigError::SizeMismatch { field: Field::Buffer, expected: ro + rl, found: out.row_start.len() };
                for (d, v) in out.row_start.get_mut(ro..ro + rl).ok_or(short)?.iter_mut().zip(c.row_start()) {
                    *d = v;
                }
                let short = ConfigError::SizeMismatch { field: Field::Buffer, expected: co + cl, found: out.cols.len() };
                for (d, v) in out.cols.get_mut(co..co + cl).ok_or(short)?.iter_mut().zip(c.cols()) {
                    *d = v;
                }
                *slot = Some((ro, rl, co, cl));
                ro += rl;
                co += cl;
            }
        }
        let topo = topology_of(&csr, out.row_start, out.cols);
        let layout = config.layout(&topo[..desc.populations.len()])?;
        if layout.weights != z.weights {
            return Err(ConfigError::SizeMismatch { field: Field::Weight, expected: layout.weights, found: z.weights }.into());
        }
        for (p, pop) in config.populations.iter().enumerate() {
            let l = layout.pops[p];
            let w = match self.population_weights(&desc, p)? {
                PopWeights::Dense(w) => w,
                PopWeights::Compressed(c) => c.weights(),
            };
            if w.len() != l.weights {
                return Err(ConfigError::SizeMismatch { field: Field::Weight, expected: l.weights, found: w.len() }.into());
            }
            let max = pop.layer.formats.weight_max() as i64;
            let short = ConfigError::SizeMismatch { field: Field::Buffer, expected: l.weight_off + l.weights, found: out.weights.len() };
            for (d, x) in out.weights.get_mut(l.weight_off..l.weight_off + l.weights).ok_or(short)?.iter_mut().zip(w) {
                check_range(Field::Weight, x.0 as i64, -max, max)?;
                *d = W::from_clamped(x.0 as i32);
            }
        }
        let max = config.readout.config.formats.weight_max() as i64;
        for (d, x) in out.readout.iter_mut().zip(self.readout_weights(&desc)?) {
            check_range(Field::Weight, x.0 as i64, -max, max)?;
            *d = x;
        }
        out.bias.fill(0);
        for p in 0..desc.populations.len() {
            let l = layout.pops[p];
            let dst = out.bias.get_mut(l.neuron_off..l.neuron_off + l.neurons).unwrap_or(&mut []);
            for (d, b) in dst.iter_mut().zip(self.population_bias(&desc, p)?) {
                *d = b;
            }
        }
        for (p, pop) in config.populations.iter().enumerate() {
            let l = layout.pops[p];
            if l.params == ParamMode::Shared {
                continue;
            }
            let short = ConfigError::SizeMismatch { field: Field::Buffer, expected: l.param_off + l.neurons, found: out.params.len() };
            let dst = out.params.get_mut(l.param_off..l.param_off + l.neurons).ok_or(short)?;
            for (d, v) in dst.iter_mut().zip(self.population_params(&desc, p)?) {
                *d = ParamSlot::new(&pop.layer, v)?;
            }
        }
        Ok(Loaded { desc, config, layout, csr })
    }
}

fn check_weights(w: Weights<'_>, max: i32) -> Result<(), ImageError> {
    for x in w {
        check_range(Field::Weight, x.0 as i64, -(max as i64), max as i64)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Writer (no allocation: into a caller buffer).

/// The weights of one population given to [`encode`].
#[derive(Clone, Copy, Debug)]
pub enum PopWeightsIn<'a> {
    /// `axons × neurons` mantissas, row-major by axon.
    Dense(&'a [Weight]),
    /// Compressed rows: `row_start` (`axons + 1`), `cols` and `weights` (one per synapse).
    Compressed {
        /// Row starts.
        row_start: &'a [u32],
        /// Column of each synapse.
        cols: &'a [u16],
        /// Weight of each synapse.
        weights: &'a [Weight],
    },
}

/// Bytes of one population's weight block with `wb` bytes per weight (2, or 1 for one-byte weights).
fn block_len(w: &PopWeightsIn<'_>, wb: usize) -> usize {
    match w {
        PopWeightsIn::Dense(ws) => ws.len().saturating_mul(wb),
        PopWeightsIn::Compressed { row_start, cols, .. } => {
            row_start.len().saturating_mul(4).saturating_add(cols.len().saturating_mul(2 + wb))
        }
    }
}

fn weight_bytes(desc: &GraphDesc, p: usize) -> usize {
    if desc.populations.get(p).is_some_and(|pd| pd.narrow_weights) {
        1
    } else {
        2
    }
}

/// Bytes [`encode`] writes for `desc` with `weights` (and a stimulus section if `with_stimulus`).
pub fn encoded_len(desc: &GraphDesc, weights: &[PopWeightsIn<'_>], with_stimulus: bool) -> usize {
    let params = desc.param_neurons().saturating_mul(PARAM_LEN);
    let formats = proj_formats_len(desc);
    let sections = 6 + with_stimulus as usize + (params > 0) as usize + (formats > 0) as usize;
    let biases = bias_bytes(desc);
    let pops = desc.populations.iter().fold(0usize, |a, p| a.saturating_add(POP_FIXED_LEN + layer_len(&p.layer)));
    let blocks = weights.iter().enumerate().fold(0usize, |a, (p, w)| a.saturating_add(block_len(w, weight_bytes(desc, p))));
    let n_ro = desc.populations.get(desc.readout.source as usize).map_or(0, |p| p.neurons as usize);
    let readout = n_ro.saturating_mul(desc.readout.outputs as usize).saturating_mul(2);
    (HEADER_LEN
        + sections * ENTRY_LEN
        + GRAPH_LEN
        + desc.projections.len() * PROJ_LEN
        + GRAPH_READOUT_LEN
        + if with_stimulus { STIMULUS_LEN } else { 0 }
        + CRC_LEN)
        .saturating_add(pops)
        .saturating_add(blocks)
        .saturating_add(biases)
        .saturating_add(readout)
        .saturating_add(params)
        .saturating_add(formats)
}

/// Bytes of the projection-format section: 16 per projection when some projection has a shift or an
/// STD/STP of its own, else 0 (the section is left out).
fn proj_formats_len(desc: &GraphDesc) -> usize {
    if desc.projections.iter().any(|q| q.shift != 0 || q.presyn != ProjPresyn::Inherit) {
        desc.projections.len() * PROJ_FORMAT_LEN
    } else {
        0
    }
}

fn bias_bytes(desc: &GraphDesc) -> usize {
    desc.populations.iter().filter(|p| p.bias != BiasMode::None).map(|p| 4 * p.neurons as usize).sum()
}

/// Write a version-2 image of `desc` with one [`PopWeightsIn`] per population (dense or compressed as
/// `desc` says), the biases (one slice per population, of its neuron count if its bias mode is not
/// none, else empty; or no slices at all when no population has a bias) and the readout weights, into
/// `out`; returns the bytes written. The description is validated through [`GraphDesc::config`] and
/// [`GraphConfig::layout`] (with the compressed rows), every weight against its range and the stimulus
/// steps against [`MAX_STEPS`] first: an invalid network is never written.
pub fn encode(
    desc: &GraphDesc,
    weights: &[PopWeightsIn<'_>],
    biases: &[&[i32]],
    readout: &[Weight],
    stimulus: Option<&Stimulus>,
    out: &mut [u8],
) -> Result<usize, ImageError> {
    encode_with_params(desc, weights, biases, &[], readout, stimulus, out)
}

/// [`encode`] with the per-neuron threshold and decays: one slice per population, of its neuron count
/// if it has [`ParamMode::PerNeuron`], else empty (or no slices at all when no population has them).
/// Every value is validated by [`ParamSlot::new`] for its population first.
pub fn encode_with_params(
    desc: &GraphDesc,
    weights: &[PopWeightsIn<'_>],
    biases: &[&[i32]],
    params: &[&[NeuronParams]],
    readout: &[Weight],
    stimulus: Option<&Stimulus>,
    out: &mut [u8],
) -> Result<usize, ImageError> {
    let cfg = desc.config()?;
    let np = desc.populations.len();
    if weights.len() != np {
        return Err(ConfigError::SizeMismatch { field: Field::Population, expected: np, found: weights.len() }.into());
    }
    let mut topo = [None; MAX_POPULATIONS];
    for (p, (pd, w)) in desc.populations.iter().zip(weights).enumerate() {
        match (pd.compressed, w) {
            (false, PopWeightsIn::Dense(_)) => {}
            (true, PopWeightsIn::Compressed { row_start, cols, .. }) => topo[p] = Some(Csr { row_start, cols }),
            _ => return Err(ConfigError::Inconsistent { field: Field::Buffer, with: Field::Population }.into()),
        }
    }
    let lay = cfg.layout(&topo[..np])?;
    for (p, w) in weights.iter().enumerate() {
        let ws = match w {
            PopWeightsIn::Dense(ws) => ws,
            PopWeightsIn::Compressed { weights, .. } => weights,
        };
        if ws.len() != lay.pops[p].weights {
            return Err(ConfigError::SizeMismatch { field: Field::Weight, expected: lay.pops[p].weights, found: ws.len() }.into());
        }
        let m = cfg.populations[p].layer.formats.weight_max() as i64;
        for x in ws.iter() {
            check_range(Field::Weight, x.0 as i64, -m, m)?;
        }
    }
    if readout.len() != lay.readout_weights {
        return Err(ConfigError::SizeMismatch { field: Field::Weight, expected: lay.readout_weights, found: readout.len() }.into());
    }
    let m = cfg.readout.config.formats.weight_max() as i64;
    for x in readout {
        check_range(Field::Weight, x.0 as i64, -m, m)?;
    }
    if !(biases.is_empty() && bias_bytes(desc) == 0) && biases.len() != np {
        return Err(ConfigError::SizeMismatch { field: Field::Population, expected: np, found: biases.len() }.into());
    }
    for (pd, b) in desc.populations.iter().zip(biases) {
        let want = if pd.bias == BiasMode::None { 0 } else { pd.neurons as usize };
        if b.len() != want {
            return Err(ConfigError::SizeMismatch { field: Field::Neurons, expected: want, found: b.len() }.into());
        }
    }
    let with_params = desc.param_neurons() > 0;
    if (with_params || !params.is_empty()) && params.len() != np {
        return Err(ConfigError::SizeMismatch { field: Field::Population, expected: np, found: params.len() }.into());
    }
    for ((pd, pop), v) in desc.populations.iter().zip(&cfg.populations).zip(params) {
        let want = if pd.params == ParamMode::Shared { 0 } else { pd.neurons as usize };
        if v.len() != want {
            return Err(ConfigError::SizeMismatch { field: Field::Neurons, expected: want, found: v.len() }.into());
        }
        for x in v.iter() {
            ParamSlot::new(&pop.layer, *x)?;
        }
    }
    if let Some(&Stimulus { steps, .. }) = stimulus.filter(|s| s.steps > MAX_STEPS) {
        return Err(ImageError::TooManySteps { steps });
    }
    let total = encoded_len(desc, weights, stimulus.is_some());
    if total > u32::MAX as usize {
        return Err(ConfigError::OutOfRange { field: Field::Image, value: total as i64, min: 0, max: u32::MAX as i64 }.into());
    }
    let out = out.get_mut(..total).ok_or(ImageError::BufferTooSmall { needed: total })?;
    let formats_len = proj_formats_len(desc);
    let count = 6 + with_params as usize + (formats_len > 0) as usize + stimulus.is_some() as usize;
    let mut w = Wr { b: out, pos: 0 };
    w.put(&MAGIC);
    w.u16(VERSION);
    w.u16(count as u16);
    w.u32(total as u32);
    w.u32(0);
    let pops_len = desc.populations.iter().map(|p| POP_FIXED_LEN + layer_len(&p.layer)).sum::<usize>();
    let weights_len = weights.iter().enumerate().map(|(p, w)| block_len(w, weight_bytes(desc, p))).sum::<usize>() + bias_bytes(desc);
    let lens = [
        GRAPH_LEN,
        pops_len,
        desc.projections.len() * PROJ_LEN,
        GRAPH_READOUT_LEN,
        weights_len,
        2 * readout.len(),
        desc.param_neurons() * PARAM_LEN,
        formats_len,
        STIMULUS_LEN,
    ];
    let present = [true, true, true, true, true, true, with_params, formats_len > 0, stimulus.is_some()];
    let mut off = HEADER_LEN + count * ENTRY_LEN;
    for ((kind, len), _) in KINDS.iter().zip(lens).zip(present).filter(|(_, p)| *p) {
        w.u16(*kind);
        w.u16(if *kind == SECTION_STIMULUS { 0 } else { FLAG_CRITICAL });
        w.u32(off as u32);
        w.u32(len as u32);
        off += len;
    }
    // GRAPH
    w.u16(desc.inputs);
    w.u8(np as u8);
    w.u8(desc.projections.len() as u8);
    w.put(&[desc.learn as u8, 0, 0, 0]);
    w.u32(desc.window.start);
    w.u32(desc.window.end);
    // POPULATIONS
    for p in &desc.populations {
        w.u16(p.neurons);
        w.u8(p.states);
        let (tag, seed) = match p.lambda {
            LambdaSource::Symmetric => (0, 0),
            LambdaSource::RandomFeedback { seed } => (1, seed),
            LambdaSource::External => (2, 0),
        };
        w.u8(tag);
        w.u32(seed);
        let bias = match p.bias {
            BiasMode::None => 0,
            BiasMode::Fixed => 1,
            BiasMode::Learned => 2,
        };
        let pm = match p.params {
            ParamMode::Shared => 0,
            ParamMode::PerNeuron => 1,
        };
        w.put(&[p.compressed as u8, bias, pm, p.narrow_weights as u8]);
        write_layer(&mut w, &p.layer);
    }
    // PROJECTIONS
    for q in &desc.projections {
        let (tag, pop, first, width) = match q.source {
            Source::Input { first, width } => (0, 0, first, width),
            Source::Population(s) => (1, s, 0, 0),
        };
        w.put(&[tag, pop, q.target, q.delay]);
        w.u16(first);
        w.u16(width);
        w.put(&[q.learn as u8, 0, 0, 0]);
    }
    // READOUT
    w.put(&[desc.readout.source, 0]);
    w.u16(desc.readout.outputs);
    write_readout(&mut w, &desc.readout.config, Feedback::Symmetric);
    // POPULATION_WEIGHTS (each population's biases after its weights)
    for (p, pw) in weights.iter().enumerate() {
        // One-byte weights: the mantissa's low byte (it fits: weight_bits ≤ 8 and every weight was
        // range-checked above).
        let narrow = weight_bytes(desc, p) == 1;
        let put = |w: &mut Wr<'_>, x: &Weight| {
            if narrow {
                w.put(&[x.0 as i8 as u8]);
            } else {
                w.put(&x.0.to_le_bytes());
            }
        };
        match pw {
            PopWeightsIn::Dense(ws) => {
                for x in ws.iter() {
                    put(&mut w, x);
                }
            }
            PopWeightsIn::Compressed { row_start, cols, weights } => {
                for x in row_start.iter() {
                    w.u32(*x);
                }
                for c in cols.iter() {
                    w.u16(*c);
                }
                for x in weights.iter() {
                    put(&mut w, x);
                }
            }
        }
        for b in biases.get(p).copied().unwrap_or(&[]) {
            w.i32(*b);
        }
    }
    // READOUT_WEIGHTS
    for x in readout {
        w.put(&x.0.to_le_bytes());
    }
    // NEURON_PARAMS
    for v in params.iter().flat_map(|v| v.iter()) {
        w.i32(v.threshold);
        w.u32(v.decay);
        w.u32(v.adapt);
    }
    // PROJECTION_FORMATS
    if formats_len > 0 {
        for q in &desc.projections {
            let (tag, a, b, c) = match q.presyn {
                ProjPresyn::Inherit => (0u8, 0u32, 0u32, 0u32),
                ProjPresyn::None => (1, 0, 0, 0),
                ProjPresyn::Depression(d) => (2, d.decay.0, d.u.0 as u32, 0),
                ProjPresyn::Facilitation(f) => (3, f.decay_f.0, f.decay_d.0, f.u.0 as u32),
            };
            w.put(&[q.shift, tag, 0, 0]);
            w.u32(a);
            w.u32(b);
            w.u32(c);
        }
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
