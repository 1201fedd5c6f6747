//! The NIR graph as the file holds it (`shared/spec/nir-format.md` §B.2–B.4): named nodes with typed
//! parameter arrays, edges by name, nested `NIRGraph` subgraphs, metadata. Parsing checks types, required
//! datasets and per-node shapes; graph-level wiring (name resolution, sizes, cycles) is [`super::lower`]'s.
//!
//! Node types are table-driven ([`Kind::fields`]): one row per dataset, so reading, writing and the error
//! messages cannot disagree. Node types NIR has but Plasticore does not run (`Conv1d`, `Conv2d`,
//! `SumPool2d`, `AvgPool2d`, anything unknown) are kept as [`NodeKind::Unsupported`] with the reason, so the
//! file still reads and lowering reports them by name.
use super::h5::{Entry, FloatWidth, Tree, Value};
use super::NirError;
use std::collections::BTreeMap;

/// A float parameter array: shape, values widened to f64 exactly, and the stored width.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Dimensions (`[]` for a scalar).
    pub shape: Vec<usize>,
    /// C-order values.
    pub data: Vec<f64>,
    /// Width in the file (export writes the same).
    pub width: FloatWidth,
}

impl Array {
    /// A 1-D array.
    pub fn vec(data: Vec<f64>, width: FloatWidth) -> Self {
        Self {
            shape: vec![data.len()],
            data,
            width,
        }
    }
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// The node types Plasticore runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Kind {
    Input,
    Output,
    Affine,
    Linear,
    Scale,
    LI,
    LIF,
    CubaLI,
    CubaLIF,
    I,
    IF,
    Threshold,
    Delay,
    Flatten,
}

/// What one dataset of a node is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Field {
    /// Float array, required.
    Float,
    /// Float array; missing means the given default per element (same shape as the node's first array).
    FloatOr(f64),
    /// Integer array or scalar, required.
    Int,
    /// Integer array or scalar, optional.
    IntOpt,
}

impl Kind {
    /// The exact `type` string.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Input => "Input",
            Kind::Output => "Output",
            Kind::Affine => "Affine",
            Kind::Linear => "Linear",
            Kind::Scale => "Scale",
            Kind::LI => "LI",
            Kind::LIF => "LIF",
            Kind::CubaLI => "CubaLI",
            Kind::CubaLIF => "CubaLIF",
            Kind::I => "I",
            Kind::IF => "IF",
            Kind::Threshold => "Threshold",
            Kind::Delay => "Delay",
            Kind::Flatten => "Flatten",
        }
    }
    /// Parse a `type` string.
    pub fn from_type_name(s: &str) -> Option<Self> {
        use Kind::*;
        [
            Input, Output, Affine, Linear, Scale, LI, LIF, CubaLI, CubaLIF, I, IF, Threshold,
            Delay, Flatten,
        ]
        .into_iter()
        .find(|k| k.type_name() == s)
    }
    /// Datasets of this node type (nir 1.0.8). Missing `v_reset` reads as zeros and missing `w_in` as ones,
    /// as the reference reader does for older files.
    pub fn fields(self) -> &'static [(&'static str, Field)] {
        use Field::*;
        match self {
            Kind::Input | Kind::Output => &[("shape", Int)],
            Kind::Affine => &[("weight", Float), ("bias", Float)],
            Kind::Linear => &[("weight", Float)],
            Kind::Scale => &[("scale", Float)],
            Kind::LI => &[("tau", Float), ("r", Float), ("v_leak", Float)],
            Kind::LIF => &[
                ("tau", Float),
                ("r", Float),
                ("v_leak", Float),
                ("v_threshold", Float),
                ("v_reset", FloatOr(0.0)),
            ],
            Kind::CubaLI => &[
                ("tau_syn", Float),
                ("tau_mem", Float),
                ("r", Float),
                ("v_leak", Float),
                ("w_in", FloatOr(1.0)),
            ],
            Kind::CubaLIF => &[
                ("tau_syn", Float),
                ("tau_mem", Float),
                ("r", Float),
                ("v_leak", Float),
                ("v_threshold", Float),
                ("v_reset", FloatOr(0.0)),
                ("w_in", FloatOr(1.0)),
            ],
            Kind::I => &[("r", Float)],
            Kind::IF => &[
                ("r", Float),
                ("v_threshold", Float),
                ("v_reset", FloatOr(0.0)),
            ],
            Kind::Threshold => &[("threshold", Float)],
            Kind::Delay => &[("delay", Float)],
            Kind::Flatten => &[("start_dim", Int), ("end_dim", Int), ("input_type", IntOpt)],
        }
    }
    /// Neuron-like nodes whose parameters are per-neuron arrays of one common shape.
    pub fn is_elementwise(self) -> bool {
        matches!(
            self,
            Kind::Scale
                | Kind::LI
                | Kind::LIF
                | Kind::CubaLI
                | Kind::CubaLIF
                | Kind::I
                | Kind::IF
                | Kind::Threshold
                | Kind::Delay
        )
    }
}

/// One node.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A node type Plasticore runs, with its datasets.
    Known {
        /// Type.
        kind: Kind,
        /// Float datasets by name (defaults filled in).
        floats: BTreeMap<String, Array>,
        /// Integer datasets by name: (shape, values).
        ints: BTreeMap<String, (Vec<usize>, Vec<i64>)>,
    },
    /// A nested `NIRGraph`.
    Graph(Box<Graph>),
    /// A node type that is read but not run, with the reason; its datasets are kept for `--dump`.
    Unsupported {
        /// The `type` string.
        type_name: String,
        /// Why Plasticore does not run it.
        reason: String,
        /// Its datasets as read.
        raw: Tree,
    },
}

/// A NIR graph.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Graph {
    /// Nodes by name (name order, as HDF5 lists them).
    pub nodes: BTreeMap<String, NodeKind>,
    /// Edges (source, destination), names in this graph (or dotted into a subgraph).
    pub edges: Vec<(String, String)>,
    /// Metadata datasets as read.
    pub metadata: BTreeMap<String, Value>,
}

/// A NIR file: format version and top-level graph.
#[derive(Clone, Debug, PartialEq)]
pub struct NirFile {
    /// `/version` (e.g. "1.0.8"); `None` when absent.
    pub version: Option<String>,
    /// `/node`.
    pub graph: Graph,
    /// Warnings (unknown datasets ignored, defaults filled in).
    pub warnings: Vec<String>,
}

/// Maximum subgraph nesting accepted.
pub const MAX_NESTING: usize = 16;

fn unsupported_reason(t: &str) -> &'static str {
    match t {
        "Conv1d" | "Conv2d" => {
            "convolutions are not mapped: Plasticore networks are populations with dense or sparse projections; unroll the convolution into an Affine/Linear first"
        }
        "SumPool2d" | "AvgPool2d" => "pooling is not mapped: unroll it into a Linear (a fixed 0/1 or 1/k matrix) first",
        "Identity" => "Identity has no serialised form in nir 1.0.8",
        _ => "unknown NIR node type",
    }
}

impl NirFile {
    /// Parse a NIR file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, NirError> {
        let tree = super::h5::read_bytes(bytes)?;
        Self::from_tree(&tree)
    }
    /// Read a NIR file.
    pub fn load(path: &std::path::Path) -> Result<Self, NirError> {
        let b =
            std::fs::read(path).map_err(|e| NirError::Io(format!("{}: {e}", path.display())))?;
        Self::from_bytes(&b).map_err(|e| e.in_file(path))
    }
    /// Interpret an HDF5 tree.
    pub fn from_tree(tree: &Tree) -> Result<Self, NirError> {
        let version = match tree.data("version") {
            Some(Value::Str(s)) => Some(s.clone()),
            Some(v) => {
                return Err(NirError::Type {
                    path: "/version".into(),
                    expected: "string".into(),
                    got: v.describe(),
                })
            }
            None => None,
        };
        let node = tree
            .group("node")
            .ok_or_else(|| NirError::Missing("/node (the top-level graph group)".into()))?;
        let mut warnings = Vec::new();
        if version.is_none() {
            warnings.push("/version is missing; reading as nir 1.0".into());
        }
        let graph = match parse_node(node, "/node", 0, &mut warnings)? {
            NodeKind::Graph(g) => *g,
            _ => {
                return Err(NirError::Invalid {
                    path: "/node".into(),
                    msg: "the top-level node is not a NIRGraph".into(),
                })
            }
        };
        Ok(Self {
            version,
            graph,
            warnings,
        })
    }
    /// The HDF5 tree of this file (what [`super::h5::write_bytes`] encodes).
    pub fn to_tree(&self) -> Tree {
        let mut t = Tree::default();
        t.put(
            "version",
            Value::Str(self.version.clone().unwrap_or_else(|| "1.0.8".into())),
        );
        t.put_group("node", graph_tree(&self.graph));
        t
    }
    /// Encode as NIR HDF5 bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, NirError> {
        super::h5::write_bytes(&self.to_tree())
    }
}

fn type_of(g: &Tree, path: &str) -> Result<Option<String>, NirError> {
    match g.data("type") {
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        Some(v) => Err(NirError::Type {
            path: format!("{path}/type"),
            expected: "string".into(),
            got: v.describe(),
        }),
        None => Ok(None),
    }
}

fn parse_node(
    g: &Tree,
    path: &str,
    depth: usize,
    warn: &mut Vec<String>,
) -> Result<NodeKind, NirError> {
    let t = type_of(g, path)?.ok_or_else(|| NirError::Missing(format!("{path}/type")))?;
    if t == "NIRGraph" {
        if depth >= MAX_NESTING {
            return Err(NirError::Invalid {
                path: path.into(),
                msg: format!("subgraphs nested deeper than {MAX_NESTING}"),
            });
        }
        return Ok(NodeKind::Graph(Box::new(parse_graph(
            g,
            path,
            depth + 1,
            warn,
        )?)));
    }
    let Some(kind) = Kind::from_type_name(&t) else {
        return Ok(NodeKind::Unsupported {
            reason: unsupported_reason(&t).into(),
            type_name: t,
            raw: g.clone(),
        });
    };
    let mut floats = BTreeMap::new();
    let mut ints = BTreeMap::new();
    let fields = kind.fields();
    for &(name, f) in fields {
        let p = format!("{path}/{name}");
        match (f, g.data(name)) {
            (Field::Float | Field::FloatOr(_), Some(Value::Float { shape, data, width })) => {
                if let Some(i) = data.iter().position(|x| !x.is_finite()) {
                    return Err(NirError::Invalid {
                        path: p,
                        msg: format!("element {i} is not finite ({})", data[i]),
                    });
                }
                floats.insert(
                    name.to_string(),
                    Array {
                        shape: shape.clone(),
                        data: data.clone(),
                        width: *width,
                    },
                );
            }
            (Field::Int | Field::IntOpt, Some(Value::Int { shape, data })) => {
                ints.insert(name.to_string(), (shape.clone(), data.clone()));
            }
            (Field::Float | Field::FloatOr(_), Some(v)) => {
                return Err(NirError::Type {
                    path: p,
                    expected: "float32 or float64 array".into(),
                    got: v.describe(),
                })
            }
            (Field::Int | Field::IntOpt, Some(v)) => {
                return Err(NirError::Type {
                    path: p,
                    expected: "integer array or scalar".into(),
                    got: v.describe(),
                })
            }
            (Field::Float | Field::Int, None) => return Err(NirError::Missing(p)),
            (Field::FloatOr(_) | Field::IntOpt, None) => {}
        }
    }
    // defaults, shaped like the node's first float array
    for &(name, f) in fields {
        if let (Field::FloatOr(d), false) = (f, floats.contains_key(name)) {
            let like = floats
                .values()
                .next()
                .cloned()
                .ok_or_else(|| NirError::Missing(format!("{path}/{name}")))?;
            warn.push(format!(
                "{path}: no `{name}` dataset; using {d} for every neuron (as nir's reader does)"
            ));
            floats.insert(
                name.to_string(),
                Array {
                    data: vec![d; like.len()],
                    ..like
                },
            );
        }
    }
    for name in g.children.keys() {
        if name != "type" && !fields.iter().any(|(f, _)| f == name) {
            warn.push(format!(
                "{path}: ignored dataset or group `{name}` (not part of a {t} node in nir 1.0.8)"
            ));
        }
    }
    check_node_shapes(kind, &floats, &ints, path)?;
    Ok(NodeKind::Known { kind, floats, ints })
}

fn check_node_shapes(
    kind: Kind,
    floats: &BTreeMap<String, Array>,
    ints: &BTreeMap<String, (Vec<usize>, Vec<i64>)>,
    path: &str,
) -> Result<(), NirError> {
    if kind.is_elementwise() {
        let mut first: Option<(&str, &Vec<usize>)> = None;
        for (name, a) in kind
            .fields()
            .iter()
            .filter_map(|(f, _)| floats.get(*f).map(|a| (*f, a)))
        {
            match first {
                None => first = Some((name, &a.shape)),
                Some((n0, s0)) if *s0 != a.shape => {
                    return Err(NirError::Shape {
                        path: format!("{path}/{name}"),
                        msg: format!("shape {:?} differs from `{n0}` {:?}", a.shape, s0),
                    })
                }
                _ => {}
            }
        }
        if let Some((n0, _)) = first {
            if floats[n0].is_empty() {
                return Err(NirError::Shape {
                    path: format!("{path}/{n0}"),
                    msg: "no neurons".into(),
                });
            }
        }
    }
    match kind {
        Kind::Affine | Kind::Linear => {
            let w = &floats["weight"];
            if w.shape.len() < 2 || w.shape.contains(&0) {
                return Err(NirError::Shape {
                    path: format!("{path}/weight"),
                    msg: format!("expected [out, in] with both > 0, got {:?}", w.shape),
                });
            }
            if let Some(b) = floats.get("bias") {
                if b.shape.len() != 1 || b.shape[0] != w.shape[0] {
                    return Err(NirError::Shape {
                        path: format!("{path}/bias"),
                        msg: format!("expected [{}] (weight rows), got {:?}", w.shape[0], b.shape),
                    });
                }
            }
        }
        Kind::Input | Kind::Output => {
            let (s, v) = &ints["shape"];
            if s.len() > 1 || v.is_empty() || v.iter().any(|&d| d <= 0) {
                return Err(NirError::Shape {
                    path: format!("{path}/shape"),
                    msg: format!("expected a list of positive sizes, got {v:?}"),
                });
            }
        }
        Kind::Flatten => {
            for k in ["start_dim", "end_dim"] {
                if ints[k].1.len() != 1 {
                    return Err(NirError::Shape {
                        path: format!("{path}/{k}"),
                        msg: "expected a scalar".into(),
                    });
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn parse_graph(
    g: &Tree,
    path: &str,
    depth: usize,
    warn: &mut Vec<String>,
) -> Result<Graph, NirError> {
    let nodes_t = g
        .group("nodes")
        .ok_or_else(|| NirError::Missing(format!("{path}/nodes")))?;
    let mut nodes = BTreeMap::new();
    for (name, e) in &nodes_t.children {
        let p = format!("{path}/nodes/{name}");
        match e {
            Entry::Group(ng) => {
                nodes.insert(name.clone(), parse_node(ng, &p, depth, warn)?);
            }
            Entry::Data(v) => {
                return Err(NirError::Type {
                    path: p,
                    expected: "a node group".into(),
                    got: v.describe(),
                });
            }
        }
    }
    let edges = match g.data("edges") {
        Some(Value::Strings { shape, data }) if shape.len() == 2 && shape[1] == 2 => data
            .chunks(2)
            .map(|c| (c[0].clone(), c[1].clone()))
            .collect(),
        Some(Value::Strings { shape, .. }) => {
            return Err(NirError::Shape {
                path: format!("{path}/edges"),
                msg: format!("expected [E, 2], got {shape:?}"),
            })
        }
        // an empty edge list may be written as an empty numeric array
        Some(v) if is_empty_value(v) => Vec::new(),
        Some(v) => {
            return Err(NirError::Type {
                path: format!("{path}/edges"),
                expected: "string array [E, 2]".into(),
                got: v.describe(),
            })
        }
        None => return Err(NirError::Missing(format!("{path}/edges"))),
    };
    let mut metadata = BTreeMap::new();
    if let Some(m) = g.group("metadata") {
        for (k, e) in &m.children {
            match e {
                Entry::Data(v) => {
                    metadata.insert(k.clone(), v.clone());
                }
                Entry::Group(_) => warn.push(format!(
                    "{path}/metadata/{k}: nested metadata group ignored"
                )),
            }
        }
    }
    Ok(Graph {
        nodes,
        edges,
        metadata,
    })
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Float { data, .. } => data.is_empty(),
        Value::Int { data, .. } => data.is_empty(),
        _ => false,
    }
}

fn graph_tree(g: &Graph) -> Tree {
    let mut t = Tree::default();
    t.put("type", Value::Str("NIRGraph".into()));
    let flat: Vec<String> = g
        .edges
        .iter()
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    t.put(
        "edges",
        Value::Strings {
            shape: vec![g.edges.len(), 2],
            data: flat,
        },
    );
    let mut nodes = Tree::default();
    for (name, n) in &g.nodes {
        let nt = match n {
            NodeKind::Graph(sub) => graph_tree(sub),
            NodeKind::Unsupported { raw, .. } => raw.clone(),
            NodeKind::Known { kind, floats, ints } => {
                let mut nt = Tree::default();
                nt.put("type", Value::Str(kind.type_name().into()));
                for (k, a) in floats {
                    nt.put(
                        k,
                        Value::Float {
                            shape: a.shape.clone(),
                            data: a.data.clone(),
                            width: a.width,
                        },
                    );
                }
                for (k, (s, v)) in ints {
                    nt.put(
                        k,
                        Value::Int {
                            shape: s.clone(),
                            data: v.clone(),
                        },
                    );
                }
                nt
            }
        };
        nodes.put_group(name, nt);
    }
    t.put_group("nodes", nodes);
    if !g.metadata.is_empty() {
        let mut m = Tree::default();
        for (k, v) in &g.metadata {
            m.put(k, v.clone());
        }
        t.put_group("metadata", m);
    }
    t
}
