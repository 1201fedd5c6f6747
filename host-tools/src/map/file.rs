//! The mapping file: `plasticore-mapping` version 1, JSON (`hw-notes/mapping.md`). Written atomically
//! (a `.tmp` file next to the target, then renamed); loaded back into a [`GraphMapping`] for the same
//! network, checked against its shape (population sizes, projection count) and its slices' cover. The
//! per-core limits and the placement are checked against a chip when the mapping is used
//! (`GraphEmulator::with_mapping`, or [`load_checked`]).
use super::{shape, MapError};
use plasticore_emu::graph::mapping::check;
use plasticore_emu::graph::{GraphMapping, GraphNetworkSpec, PopSlice};
use plasticore_emu::ChipDesc;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The format name in every mapping file.
pub const FORMAT: &str = "plasticore-mapping";
/// The version this code writes and reads.
pub const VERSION: u32 = 1;

/// One logical core in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreEntry {
    /// Population index.
    pub population: usize,
    /// First population-local neuron.
    pub first: usize,
    /// Neurons on the core.
    pub len: usize,
    /// Physical core (tile = core / cores per tile).
    pub physical: usize,
}

/// The network a mapping was made for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkShape {
    /// Neurons of every population.
    pub populations: Vec<usize>,
    /// Number of projections.
    pub projections: usize,
}

/// A mapping file's contents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// Chip name the mapping was made for (informative; limits are checked where it is used).
    pub chip: String,
    /// The network's shape.
    pub network: NetworkShape,
    /// Logical cores in order.
    pub cores: Vec<CoreEntry>,
    /// Logical core of the readout (a core of its own when equal to `cores.len()`).
    pub readout_core: usize,
    /// Physical core of the readout when it has its own core, else null.
    pub readout_physical: Option<usize>,
    /// How it was made: seed, annealing steps, predicted and measured figures (free-form, not read back).
    #[serde(default)]
    pub provenance: serde_json::Value,
}

impl MappingFile {
    /// The file contents of `m` (which must carry a placement) for `spec` on `chip`.
    pub fn new(chip: &ChipDesc, spec: &GraphNetworkSpec, m: &GraphMapping, provenance: serde_json::Value) -> Self {
        let (populations, projections) = shape(spec);
        let cores = m
            .cores
            .iter()
            .enumerate()
            .map(|(i, s)| CoreEntry { population: s.population, first: s.first, len: s.len, physical: m.physical(i) })
            .collect();
        let readout_physical = (m.readout_core >= m.cores.len()).then(|| m.physical(m.readout_core));
        MappingFile {
            format: FORMAT.into(),
            version: VERSION,
            chip: chip.name.clone(),
            network: NetworkShape { populations, projections },
            cores,
            readout_core: m.readout_core,
            readout_physical,
            provenance,
        }
    }

    /// The mapping, after checking the format, the version, the network's shape and the slices' cover.
    pub fn mapping(&self, spec: &GraphNetworkSpec) -> Result<GraphMapping, String> {
        if self.format != FORMAT {
            return Err(format!("format is `{}`, expected `{FORMAT}`", self.format));
        }
        if self.version != VERSION {
            return Err(format!("version {} is not supported (this build reads version {VERSION})", self.version));
        }
        let (populations, projections) = shape(spec);
        if self.network.populations != populations || self.network.projections != projections {
            return Err(format!(
                "made for a network of populations {:?} and {} projections; this network has populations {populations:?} and {projections} projections",
                self.network.populations, self.network.projections
            ));
        }
        let separate = self.readout_core >= self.cores.len();
        if self.readout_core > self.cores.len() {
            return Err(format!("readout_core {} is beyond the {} cores listed (at most {})", self.readout_core, self.cores.len(), self.cores.len()));
        }
        if separate != self.readout_physical.is_some() {
            return Err("readout_physical must be given exactly when the readout has its own core (readout_core = number of cores)".into());
        }
        let cores = self.cores.iter().map(|c| PopSlice { population: c.population, first: c.first, len: c.len }).collect();
        let mut placement: Vec<usize> = self.cores.iter().map(|c| c.physical).collect();
        placement.extend(self.readout_physical);
        let m = GraphMapping { cores, readout_core: self.readout_core, stride: 1, placement };
        let lay = spec.validate().map_err(|e| e.to_string())?;
        // cover and per-core counts that do not depend on a chip are checked by `check`; a chip-free
        // check of the cover: every population's slices contiguous, non-empty, complete.
        for p in 0..lay.populations {
            let mut sl: Vec<&CoreEntry> = self.cores.iter().filter(|c| c.population == p).collect();
            sl.sort_by_key(|c| c.first);
            let mut next = 0;
            for c in sl {
                if c.first != next || c.len == 0 {
                    return Err(format!("population {p}: slices must be contiguous and non-empty (slice at {} of length {}, expected start {next})", c.first, c.len));
                }
                next += c.len;
            }
            if next != lay.pops[p].neurons {
                return Err(format!("the slices cover {next} neurons of population {p}, it has {}", lay.pops[p].neurons));
            }
        }
        if let Some(c) = self.cores.iter().find(|c| c.population >= lay.populations) {
            return Err(format!("population {} does not exist", c.population));
        }
        Ok(m)
    }
}

/// Write `file` to `path` atomically (`path.tmp`, then rename).
pub fn save(path: &Path, file: &MappingFile) -> Result<(), MapError> {
    let err = |what: String| MapError::File { path: path.display().to_string(), what };
    let text = serde_json::to_string_pretty(file).map_err(|e| err(e.to_string()))?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, text + "\n").map_err(|e| err(format!("writing {}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| err(format!("renaming {} into place: {e}", tmp.display())))
}

/// Read a mapping file for `spec`: format, version, network shape and cover checked (not yet a chip's
/// limits; see [`load_checked`]).
pub fn load(path: &Path, spec: &GraphNetworkSpec) -> Result<GraphMapping, MapError> {
    let err = |what: String| MapError::File { path: path.display().to_string(), what };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let f: MappingFile = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    f.mapping(spec).map_err(err)
}

/// [`load`], then every per-core limit and the placement checked against `chip`.
pub fn load_checked(path: &Path, spec: &GraphNetworkSpec, chip: &ChipDesc) -> Result<GraphMapping, MapError> {
    let m = load(path, spec)?;
    let lay = spec.validate()?;
    check(chip, spec, &lay, &m).map_err(|e| MapError::File { path: path.display().to_string(), what: e.to_string() })?;
    Ok(m)
}
