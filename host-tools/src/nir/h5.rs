//! The HDF5 layer: a whole NIR file as a tree of groups and typed datasets, read with the pure-Rust
//! `hdf5-reader` and written with `hdf5-writer` (no C library). Nothing above this module sees HDF5.
//!
//! NIR files hold no attributes (`shared/spec/nir-format.md` §B.2): every field is a dataset, so the tree
//! keeps datasets only. Dataset types kept: float32/float64 (as `f64`, with the stored width remembered so
//! export can write what was read), signed/unsigned integers up to 64 bits (as `i64`), fixed or
//! variable-length strings. Any other type is kept as [`Value::Other`] with a description, so a file is
//! rejected only if the NIR layer needs that dataset. Reads are bounded ([`MAX_READ_BYTES`],
//! [`MAX_DEPTH`]) so a corrupted size field cannot make the reader allocate without limit.
use super::NirError;
use std::collections::BTreeMap;

/// Largest number of bytes one dataset read may produce (a corrupted header cannot ask for more).
pub const MAX_READ_BYTES: usize = 256 << 20;
/// Deepest group nesting read (NIR subgraphs nest three groups per level).
pub const MAX_DEPTH: usize = 64;

/// Stored width of a float dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatWidth {
    /// IEEE binary32.
    F32,
    /// IEEE binary64.
    F64,
}

/// A dataset's contents.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar string.
    Str(String),
    /// A string array (C order).
    Strings {
        /// Dimensions.
        shape: Vec<usize>,
        /// Elements.
        data: Vec<String>,
    },
    /// A float array or scalar (shape `[]`), widened to `f64` exactly.
    Float {
        /// Dimensions (`[]` for a scalar).
        shape: Vec<usize>,
        /// Elements, C order.
        data: Vec<f64>,
        /// Stored width.
        width: FloatWidth,
    },
    /// An integer array or scalar.
    Int {
        /// Dimensions (`[]` for a scalar).
        shape: Vec<usize>,
        /// Elements, C order.
        data: Vec<i64>,
    },
    /// A type the NIR layer does not use, described.
    Other(String),
}

impl Value {
    /// Short type description for error messages.
    pub fn describe(&self) -> String {
        match self {
            Value::Str(_) => "string scalar".into(),
            Value::Strings { shape, .. } => format!("string array {shape:?}"),
            Value::Float { shape, width, .. } => {
                format!("{width:?} array {shape:?}").to_lowercase()
            }
            Value::Int { shape, .. } => format!("int64 array {shape:?}"),
            Value::Other(d) => d.clone(),
        }
    }
}

/// A group: named children, in name order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    /// Children by name.
    pub children: BTreeMap<String, Entry>,
}

/// A child of a group.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// A sub-group.
    Group(Tree),
    /// A dataset.
    Data(Value),
}

impl Tree {
    /// Child group `name`, if it is one.
    pub fn group(&self, name: &str) -> Option<&Tree> {
        match self.children.get(name) {
            Some(Entry::Group(g)) => Some(g),
            _ => None,
        }
    }
    /// Child dataset `name`, if it is one.
    pub fn data(&self, name: &str) -> Option<&Value> {
        match self.children.get(name) {
            Some(Entry::Data(v)) => Some(v),
            _ => None,
        }
    }
    /// Insert a dataset.
    pub fn put(&mut self, name: &str, v: Value) {
        self.children.insert(name.to_string(), Entry::Data(v));
    }
    /// Insert a group.
    pub fn put_group(&mut self, name: &str, g: Tree) {
        self.children.insert(name.to_string(), Entry::Group(g));
    }
    /// Every dataset with its slash-separated path (for tests and `--dump`).
    pub fn datasets(&self) -> Vec<(String, &Value)> {
        let mut out = Vec::new();
        fn walk<'a>(t: &'a Tree, prefix: &str, out: &mut Vec<(String, &'a Value)>) {
            for (k, e) in &t.children {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}/{k}")
                };
                match e {
                    Entry::Group(g) => walk(g, &p, out),
                    Entry::Data(v) => out.push((p, v)),
                }
            }
        }
        walk(self, "", &mut out);
        out
    }
}

fn h5err(path: &str, e: impl std::fmt::Display) -> NirError {
    NirError::Hdf5(format!("{}: {e}", if path.is_empty() { "/" } else { path }))
}

/// Parse a whole HDF5 file from bytes.
pub fn read_bytes(bytes: &[u8]) -> Result<Tree, NirError> {
    use hdf5_reader::{Hdf5File, OpenOptions};
    let opts = OpenOptions::default()
        .with_max_read_bytes(MAX_READ_BYTES)
        .with_max_chunk_bytes(MAX_READ_BYTES);
    let f = Hdf5File::from_bytes_with_options(bytes, opts).map_err(|e| h5err("", e))?;
    let root = f.root_group().map_err(|e| h5err("", e))?;
    read_group(&root, "", 0)
}

fn read_group(g: &hdf5_reader::group::Group, path: &str, depth: usize) -> Result<Tree, NirError> {
    if depth > MAX_DEPTH {
        return Err(h5err(
            path,
            format!("groups nested deeper than {MAX_DEPTH}"),
        ));
    }
    let (groups, datasets) = g.members().map_err(|e| h5err(path, e))?;
    let mut t = Tree::default();
    for sub in &groups {
        let p = format!("{path}/{}", sub.name());
        if t.children.contains_key(sub.name()) {
            return Err(h5err(&p, "duplicate name"));
        }
        let child = read_group(sub, &p, depth + 1)?;
        t.put_group(sub.name(), child);
    }
    for d in &datasets {
        let p = format!("{path}/{}", d.name());
        if t.children.contains_key(d.name()) {
            return Err(h5err(&p, "duplicate name"));
        }
        let v = read_dataset(d, &p)?;
        t.put(d.name(), v);
    }
    Ok(t)
}

fn read_dataset(d: &hdf5_reader::Dataset, path: &str) -> Result<Value, NirError> {
    use hdf5_reader::Datatype;
    let shape: Vec<usize> = d
        .shape()
        .iter()
        .map(|&s| usize::try_from(s).map_err(|_| h5err(path, "dimension does not fit in memory")))
        .collect::<Result<_, _>>()?;
    let n = shape
        .iter()
        .try_fold(1usize, |a, &s| a.checked_mul(s))
        .ok_or_else(|| h5err(path, "element count overflows"))?;
    if n.saturating_mul(8) > MAX_READ_BYTES {
        return Err(h5err(
            path,
            format!("{n} elements exceed the read limit of {MAX_READ_BYTES} bytes"),
        ));
    }
    let flat = |v: Vec<f64>| -> Result<Vec<f64>, NirError> {
        if v.len() != n {
            return Err(h5err(
                path,
                format!("read {} elements, the dataspace says {n}", v.len()),
            ));
        }
        Ok(v)
    };
    match d.dtype() {
        Datatype::String { .. } | Datatype::VarLen { .. } => {
            let s = d.read_strings().map_err(|e| h5err(path, e))?;
            if shape.is_empty() {
                match <[String; 1]>::try_from(s) {
                    Ok([one]) => Ok(Value::Str(one)),
                    Err(v) => Err(h5err(
                        path,
                        format!("scalar string dataset holds {} strings", v.len()),
                    )),
                }
            } else if s.len() != n {
                Err(h5err(
                    path,
                    format!("read {} strings, the dataspace says {n}", s.len()),
                ))
            } else {
                Ok(Value::Strings { shape, data: s })
            }
        }
        Datatype::FloatingPoint { size: 4, .. } => {
            let a = d.read_array::<f32>().map_err(|e| h5err(path, e))?;
            let data = flat(a.iter().map(|&x| f64::from(x)).collect())?;
            Ok(Value::Float {
                shape,
                data,
                width: FloatWidth::F32,
            })
        }
        Datatype::FloatingPoint { size: 8, .. } => {
            let a = d.read_array::<f64>().map_err(|e| h5err(path, e))?;
            let data = flat(a.iter().copied().collect())?;
            Ok(Value::Float {
                shape,
                data,
                width: FloatWidth::F64,
            })
        }
        Datatype::FixedPoint { size, signed, .. } => {
            let data: Vec<i64> = match (size, signed) {
                (8, true) => d
                    .read_array::<i64>()
                    .map_err(|e| h5err(path, e))?
                    .iter()
                    .copied()
                    .collect(),
                (4, true) => d
                    .read_array::<i32>()
                    .map_err(|e| h5err(path, e))?
                    .iter()
                    .map(|&x| x.into())
                    .collect(),
                (2, true) => d
                    .read_array::<i16>()
                    .map_err(|e| h5err(path, e))?
                    .iter()
                    .map(|&x| x.into())
                    .collect(),
                (1, true) => d
                    .read_array::<i8>()
                    .map_err(|e| h5err(path, e))?
                    .iter()
                    .map(|&x| x.into())
                    .collect(),
                (4, false) => d
                    .read_array::<u32>()
                    .map_err(|e| h5err(path, e))?
                    .iter()
                    .map(|&x| x.into())
                    .collect(),
                (2, false) => d
                    .read_array::<u16>()
                    .map_err(|e| h5err(path, e))?
                    .iter()
                    .map(|&x| x.into())
                    .collect(),
                (1, false) => d
                    .read_array::<u8>()
                    .map_err(|e| h5err(path, e))?
                    .iter()
                    .map(|&x| x.into())
                    .collect(),
                (8, false) => d
                    .read_array::<u64>()
                    .map_err(|e| h5err(path, e))?
                    .iter()
                    .map(|&x| {
                        i64::try_from(x).map_err(|_| h5err(path, "uint64 value above i64::MAX"))
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Ok(Value::Other(format!("{size}-byte integer"))),
            };
            if data.len() != n {
                return Err(h5err(
                    path,
                    format!("read {} elements, the dataspace says {n}", data.len()),
                ));
            }
            Ok(Value::Int { shape, data })
        }
        other => Ok(Value::Other(
            format!("{other:?}").chars().take(80).collect(),
        )),
    }
}

/// Encode a tree as an HDF5 file (superblock v2, contiguous datasets, no attributes).
pub fn write_bytes(t: &Tree) -> Result<Vec<u8>, NirError> {
    use hdf5_writer::{DatasetBuilder, Hdf5Builder, WriteOptions};
    let werr = |p: &str, e: hdf5_writer::Error| NirError::Hdf5(format!("writing {p}: {e}"));
    let mut b = Hdf5Builder::new();
    for (path, v) in t.datasets() {
        let u = |s: &[usize]| s.iter().map(|&x| x as u64).collect::<Vec<u64>>();
        let ds = match v {
            Value::Str(s) => {
                DatasetBuilder::vlen_string_data(path.clone(), Vec::<u64>::new(), &[s.as_str()])
            }
            Value::Strings { shape, data } => {
                DatasetBuilder::vlen_string_data(path.clone(), u(shape), data)
            }
            Value::Float {
                shape,
                data,
                width: FloatWidth::F64,
            } => DatasetBuilder::typed_data(path.clone(), u(shape), data),
            Value::Float {
                shape,
                data,
                width: FloatWidth::F32,
            } => {
                let d32: Vec<f32> = data.iter().map(|&x| x as f32).collect();
                DatasetBuilder::typed_data(path.clone(), u(shape), &d32)
            }
            Value::Int { shape, data } => DatasetBuilder::typed_data(path.clone(), u(shape), data),
            Value::Other(d) => {
                return Err(NirError::Hdf5(format!(
                    "writing {path}: cannot write a dataset of type {d}"
                )))
            }
        }
        .map_err(|e| werr(&path, e))?;
        b = b.dataset(ds);
    }
    let plan = b.into_plan().map_err(|e| werr("plan", e))?;
    plan.encode(WriteOptions::default())
        .map_err(|e| werr("file", e))
}
