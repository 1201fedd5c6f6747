//! A NIR graph → a flat, discretised network ([`Discrete`]) for a chosen dt, method and reset mechanism.
//!
//! In order:
//! 1. **Flatten.** Nested `NIRGraph` nodes are inlined under dotted names (`rsnn.lif`); an edge that names
//!    a subgraph binds to that subgraph's `Input` nodes (as a destination) or `Output` nodes (as a source);
//!    a dotted name that is not a node of the graph (`rsnn.w_rec`) is resolved into the subgraph
//!    (`nir-format.md` §B.4). Flat dotted names as snnTorch and Norse write them (`1.lif`) are plain names.
//!    Unsupported nodes are all collected and reported together, each with its reason.
//! 2. **Sizes.** Every node's input and output width is inferred (weights give `[out, in]`, neuron arrays
//!    give n, `Input`/`Output` give their shape, `Flatten` passes its input through) and every edge is
//!    checked: the signals entering a node are summed, so they must all have the node's input width.
//! 3. **Cycles and order.** Every edge that leaves a stateful neuron node (LI, LIF, CubaLI, CubaLIF, I,
//!    IF) and lies on a cycle is *delayed*: it carries the source's output of the previous step (the
//!    recurrent `lif → w_rec` edge: spikes of step t reach the current at t+1, and `w_rec`'s bias is there
//!    from step 0, as in snnTorch's `RLeaky`). Then a depth-first search from the top-level inputs (then from
//!    any node not reached), in name order, delays any edge that still closes a cycle. Nodes run in reverse
//!    post-order of that search, so every other edge reads the value of the same step.
//! 4. **Discretise** each neuron node per neuron (`hw-notes/nir.md` has the equations): decay β, input gain,
//!    constant leak term; synaptic decay α and gain for the Cuba models; thresholds, reset values.
use super::graph::{Array, Graph, Kind, NodeKind};
use super::h5::Value;
use super::NirError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Integration scheme for the continuous-time ODEs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Method {
    /// Forward Euler: β = 1 − dt/τ, input gain r·dt/τ (snnTorch's import and export).
    Euler,
    /// Exact decay with the input held over the step (zero-order hold): β = e^{−dt/τ}, gain r·(1 − β).
    Exact,
}

/// What a spike does to the membrane (NIR files cannot say; an explicit import option).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum ResetMechanism {
    /// v ← v_reset (the NIR definition).
    Value,
    /// v ← v − v_threshold at the spike; the subtraction then decays with v over the next step
    /// (v_{t+1} = β·(v_t − θ) + …: the float reference's soft reset, the continuous-time reading).
    Subtract,
    /// snnTorch's `reset_mechanism="subtract"` (its default, which its NIR export cannot record): θ is
    /// subtracted after the next step's decay, v_{t+1} = β·v_t + … − θ·z_t.
    SubtractUndecayed,
}

/// Lowering options.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Step in seconds (the unit NIR exporters write time constants in).
    pub dt: f64,
    /// Scheme.
    pub method: Method,
    /// Reset.
    pub reset: ResetMechanism,
}

/// Spiking part of a neuron population.
#[derive(Clone, Debug, PartialEq)]
pub struct Spiking {
    /// Threshold per neuron (spike when v > v_th, strict).
    pub v_th: Vec<f64>,
    /// Reset value per neuron (used by [`ResetMechanism::Value`]).
    pub v_reset: Vec<f64>,
    /// Mechanism.
    pub reset: ResetMechanism,
}

/// A discretised neuron population, per neuron j:
/// `I_t = α_j·I_{t−1} + a_j·x_t` (Cuba models; otherwise `I_t = x_t`),
/// `v_t = β_j·v_{t−1} + c_j·I_t + l_j`, then for spiking models `z_t = [v_t > θ_j]` and the reset.
#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    /// Synaptic (α_j, a_j), if the model has a current state.
    pub syn: Option<(Vec<f64>, Vec<f64>)>,
    /// Membrane decay β_j.
    pub beta: Vec<f64>,
    /// Membrane input gain c_j.
    pub gain: Vec<f64>,
    /// Constant per-step term l_j (from v_leak).
    pub leak: Vec<f64>,
    /// Threshold and reset (spiking models); `None`: the node outputs v.
    pub spiking: Option<Spiking>,
}

/// What a node computes in one step from the sum x of its inputs.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// External input channels `offset..offset+n` of the step.
    Input {
        /// First channel.
        offset: usize,
    },
    /// y = x (inner Input/Output, Flatten, top-level Output).
    Identity,
    /// y = W·x (+ b), `w[o*n_in + i]`.
    Affine {
        /// Row-major [out, in].
        w: Vec<f64>,
        /// Bias.
        b: Option<Vec<f64>>,
    },
    /// y = s ⊙ x.
    Scale(Vec<f64>),
    /// y = H(x − θ): 1 where x > θ (strict), else 0.
    Threshold(Vec<f64>),
    /// y_t = x_{t − d_j}, 0 before the start.
    Delay(Vec<usize>),
    /// A neuron population.
    Neuron(Population),
}

/// One node of the flat network.
#[derive(Clone, Debug, PartialEq)]
pub struct DNode {
    /// Dotted name.
    pub name: String,
    /// NIR type of the node (`Input`/`Output` also for inner binding nodes).
    pub kind: Kind,
    /// Computation.
    pub op: Op,
    /// Input width.
    pub n_in: usize,
    /// Output width.
    pub n_out: usize,
    /// Sources (indices into [`Discrete::nodes`]) and whether the edge is delayed by one step.
    pub inputs: Vec<(usize, bool)>,
    /// A top-level `Output` node.
    pub is_output: bool,
}

/// A flat, discretised network; nodes in evaluation order.
#[derive(Clone, Debug, PartialEq)]
pub struct Discrete {
    /// Nodes in evaluation order.
    pub nodes: Vec<DNode>,
    /// External input width (top-level Input nodes concatenated in name order).
    pub n_inputs: usize,
    /// Options used.
    pub opts: Options,
    /// Warnings (implausible parameters, ignored values).
    pub warnings: Vec<String>,
}

/// The dt hint in a graph's metadata (`dt`, `dt_s` or `dt_hint_s`, seconds), if any.
pub fn metadata_dt(g: &Graph) -> Option<f64> {
    ["dt", "dt_s", "dt_hint_s"]
        .iter()
        .find_map(|k| match g.metadata.get(*k) {
            Some(Value::Float { data, .. })
                if data.len() == 1 && data[0] > 0.0 && data[0].is_finite() =>
            {
                Some(data[0])
            }
            _ => None,
        })
}

/// The reset mechanism recorded in metadata by `plasticore nir export` (`reset_mechanism`), if any.
pub fn metadata_reset(g: &Graph) -> Option<ResetMechanism> {
    match g.metadata.get("reset_mechanism") {
        Some(Value::Str(s)) if s == "subtract" => Some(ResetMechanism::Subtract),
        Some(Value::Str(s)) if s == "subtract-undecayed" => Some(ResetMechanism::SubtractUndecayed),
        Some(Value::Str(s)) if s == "value" || s == "zero" => Some(ResetMechanism::Value),
        _ => None,
    }
}

/// A per-step input gain within this of 1 is taken as exactly 1 (2^-22, four float32 ulp at 1): files
/// written in the snnTorch convention (r = τ/dt, w_in = τ_syn/dt, `nir-format.md` §B.5) mean unit gain,
/// and the residue is the float32 rounding of τ (about 1e-8), not a parameter. This also makes
/// export → import exact (the gains written as 1/(1 − β) come back as 1, not 1 ± 1 ulp).
pub const UNIT_GAIN_SNAP: f64 = 1.0 / (1u64 << 22) as f64;

fn snap(g: f64) -> f64 {
    if (g - 1.0).abs() <= UNIT_GAIN_SNAP {
        1.0
    } else {
        g
    }
}

/// Largest delay in steps accepted (a ring buffer per neuron is allocated).
pub const MAX_DELAY_STEPS: usize = 1 << 20;

// ------------------------------------------------------------------------------------------- flatten

type Floats = BTreeMap<String, Array>;
type Ints = BTreeMap<String, (Vec<usize>, Vec<i64>)>;

struct Raw {
    name: String,
    kind: Kind,
    node: (Floats, Ints),
    top: bool,
}

enum Item {
    Node(usize),
    Sub {
        scope: BTreeMap<String, Item>,
        entries: Vec<usize>,
        exits: Vec<usize>,
    },
}

impl Item {
    fn entries(&self) -> Vec<usize> {
        match self {
            Item::Node(i) => vec![*i],
            Item::Sub { entries, .. } => entries.clone(),
        }
    }
    fn exits(&self) -> Vec<usize> {
        match self {
            Item::Node(i) => vec![*i],
            Item::Sub { exits, .. } => exits.clone(),
        }
    }
}

fn resolve<'a>(scope: &'a BTreeMap<String, Item>, name: &str) -> Option<&'a Item> {
    if let Some(it) = scope.get(name) {
        return Some(it);
    }
    let (head, rest) = name.split_once('.')?;
    match scope.get(head)? {
        Item::Sub { scope: inner, .. } => resolve(inner, rest),
        Item::Node(_) => None,
    }
}

struct Flat {
    raw: Vec<Raw>,
    edges: Vec<(usize, usize)>,
    unsupported: Vec<(String, String, String)>,
}

fn flatten(
    g: &Graph,
    prefix: &str,
    top: bool,
    f: &mut Flat,
) -> Result<BTreeMap<String, Item>, NirError> {
    let mut scope = BTreeMap::new();
    for (name, n) in &g.nodes {
        let full = format!("{prefix}{name}");
        match n {
            NodeKind::Known { kind, floats, ints } => {
                f.raw.push(Raw {
                    name: full,
                    kind: *kind,
                    node: (floats.clone(), ints.clone()),
                    top,
                });
                scope.insert(name.clone(), Item::Node(f.raw.len() - 1));
            }
            NodeKind::Graph(sub) => {
                let inner = flatten(sub, &format!("{full}."), false, f)?;
                let pick = |k: Kind| -> Vec<usize> {
                    inner
                        .values()
                        .filter_map(|it| {
                            if let Item::Node(i) = it {
                                Some(*i)
                            } else {
                                None
                            }
                        })
                        .filter(|&i| f.raw[i].kind == k)
                        .collect()
                };
                let (entries, exits) = (pick(Kind::Input), pick(Kind::Output));
                if entries.is_empty() || exits.is_empty() {
                    return Err(NirError::Invalid {
                        path: full,
                        msg: "a subgraph needs at least one Input and one Output node".into(),
                    });
                }
                scope.insert(
                    name.clone(),
                    Item::Sub {
                        scope: inner,
                        entries,
                        exits,
                    },
                );
            }
            NodeKind::Unsupported {
                type_name, reason, ..
            } => {
                f.unsupported
                    .push((full, type_name.clone(), reason.clone()));
            }
        }
    }
    for (a, b) in &g.edges {
        let where_ = if prefix.is_empty() {
            "/node/edges".to_string()
        } else {
            format!("{}edges", prefix)
        };
        let is_unsupported = |n: &str| {
            f.unsupported
                .iter()
                .any(|(u, _, _)| *u == format!("{prefix}{n}"))
        };
        if is_unsupported(a) || is_unsupported(b) {
            continue; // reported as unsupported; the lowering fails below
        }
        let sa = resolve(&scope, a).ok_or_else(|| NirError::Invalid {
            path: where_.clone(),
            msg: format!("edge {a} → {b}: no node `{a}`"),
        })?;
        let sb = resolve(&scope, b).ok_or_else(|| NirError::Invalid {
            path: where_.clone(),
            msg: format!("edge {a} → {b}: no node `{b}`"),
        })?;
        for &x in &sa.exits() {
            for &y in &sb.entries() {
                f.edges.push((x, y));
            }
        }
    }
    Ok(scope)
}

// ------------------------------------------------------------------------------------------- lower

fn prod(v: &[usize]) -> usize {
    v.iter().product()
}

fn shape_len(name: &str, v: &[i64]) -> Result<usize, NirError> {
    v.iter()
        .try_fold(1usize, |a, &d| {
            usize::try_from(d).ok().and_then(|d| a.checked_mul(d))
        })
        .ok_or_else(|| NirError::Shape {
            path: name.into(),
            msg: format!("shape {v:?} is not a list of sizes"),
        })
}

/// Lower a graph. Errors: unsupported nodes (all of them, by name), unknown edge names, size mismatches,
/// non-positive time constants, delays beyond [`MAX_DELAY_STEPS`].
pub fn lower(g: &Graph, opts: Options) -> Result<Discrete, NirError> {
    if !(opts.dt > 0.0 && opts.dt.is_finite()) {
        return Err(NirError::Invalid {
            path: "dt".into(),
            msg: format!("dt must be positive and finite, got {}", opts.dt),
        });
    }
    let mut f = Flat {
        raw: Vec::new(),
        edges: Vec::new(),
        unsupported: Vec::new(),
    };
    flatten(g, "", true, &mut f)?;
    if !f.unsupported.is_empty() {
        return Err(NirError::Unsupported(f.unsupported));
    }
    let n = f.raw.len();
    if n == 0 {
        return Err(NirError::Invalid {
            path: "/node".into(),
            msg: "the graph has no nodes".into(),
        });
    }
    let mut warnings = Vec::new();
    // sizes: (n_in, n_out), None = inferred from the inputs (Flatten)
    let mut n_in: Vec<Option<usize>> = vec![None; n];
    let mut n_out: Vec<Option<usize>> = vec![None; n];
    for (i, r) in f.raw.iter().enumerate() {
        let (fl, ints) = (&r.node.0, &r.node.1);
        match r.kind {
            Kind::Input | Kind::Output => {
                let s = shape_len(&r.name, &ints["shape"].1)?;
                n_in[i] = Some(s);
                n_out[i] = Some(s);
            }
            Kind::Affine | Kind::Linear => {
                let w = &fl["weight"];
                n_out[i] = Some(w.shape[0]);
                n_in[i] = Some(prod(&w.shape[1..]));
            }
            Kind::Flatten => {
                if let Some((_, it)) = ints.get("input_type") {
                    let s = shape_len(&r.name, it)?;
                    n_in[i] = Some(s);
                    n_out[i] = Some(s);
                }
            }
            _ => {
                let len = fl.values().next().map_or(0, |a| a.len());
                n_in[i] = Some(len);
                n_out[i] = Some(len);
            }
        }
    }
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in &f.edges {
        if !preds[b].contains(&a) {
            preds[b].push(a);
            succs[a].push(b);
        }
    }
    loop {
        let mut changed = false;
        for i in 0..n {
            if n_in[i].is_none() {
                if let Some(s) = preds[i].iter().find_map(|&p| n_out[p]) {
                    n_in[i] = Some(s);
                    n_out[i] = Some(s);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    for i in 0..n {
        let Some(want) = n_in[i] else {
            return Err(NirError::Shape {
                path: f.raw[i].name.clone(),
                msg: "input size cannot be inferred (no sized input reaches it)".into(),
            });
        };
        for &p in &preds[i] {
            let got = n_out[p].unwrap_or(0);
            if got != want {
                return Err(NirError::Shape {
                    path: f.raw[i].name.clone(),
                    msg: format!(
                        "edge {} → {}: {} values arrive, the node takes {}",
                        f.raw[p].name, f.raw[i].name, got, want
                    ),
                });
            }
        }
        let top_input = f.raw[i].top && f.raw[i].kind == Kind::Input;
        if preds[i].is_empty() && !top_input {
            warnings.push(format!(
                "node `{}` receives no edge; its input is 0",
                f.raw[i].name
            ));
        }
        if top_input && !preds[i].is_empty() {
            return Err(NirError::Invalid {
                path: f.raw[i].name.clone(),
                msg: "a top-level Input node cannot receive edges".into(),
            });
        }
    }
    // delayed edges: first every edge leaving a stateful neuron node on a cycle (v reaches u), so a
    // recurrent projection w_rec runs on the spikes of step t−1 (and its bias is there from step 0, as in
    // snnTorch's RLeaky); then any edge closing a remaining cycle (found by the DFS below)
    let stateful = |k: Kind| {
        matches!(
            k,
            Kind::LI | Kind::LIF | Kind::CubaLI | Kind::CubaLIF | Kind::I | Kind::IF
        )
    };
    let mut delayed: std::collections::HashSet<(usize, usize)> = std::collections::HashSet::new();
    for u in 0..n {
        if !stateful(f.raw[u].kind) {
            continue;
        }
        for &v in &succs[u] {
            // does v reach u?
            let mut seen = vec![false; n];
            let mut todo = vec![v];
            seen[v] = true;
            let mut hit = v == u;
            while let (false, Some(x)) = (hit, todo.pop()) {
                for &y in &succs[x] {
                    if y == u {
                        hit = true;
                    }
                    if !seen[y] {
                        seen[y] = true;
                        todo.push(y);
                    }
                }
            }
            if hit {
                delayed.insert((u, v));
            }
        }
    }
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    let mut post: Vec<usize> = Vec::with_capacity(n);
    let roots: Vec<usize> = (0..n)
        .filter(|&i| f.raw[i].top && f.raw[i].kind == Kind::Input)
        .chain(0..n)
        .collect();
    for r in roots {
        if state[r] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(r, 0)];
        state[r] = 1;
        while let Some(&mut (u, ref mut k)) = stack.last_mut() {
            if *k < succs[u].len() {
                let v = succs[u][*k];
                *k += 1;
                if delayed.contains(&(u, v)) {
                    continue;
                }
                match state[v] {
                    0 => {
                        state[v] = 1;
                        stack.push((v, 0));
                    }
                    1 => {
                        delayed.insert((u, v));
                    }
                    _ => {}
                }
            } else {
                state[u] = 2;
                post.push(u);
                stack.pop();
            }
        }
    }
    post.reverse();
    let mut pos = vec![0usize; n];
    for (k, &i) in post.iter().enumerate() {
        pos[i] = k;
    }
    let mut offset = 0usize;
    let mut nodes = Vec::with_capacity(n);
    for &i in &post {
        let r = &f.raw[i];
        let fl = &r.node.0;
        let op = match r.kind {
            Kind::Input if r.top => {
                let o = Op::Input { offset };
                offset += n_out[i].unwrap_or(0);
                o
            }
            Kind::Input | Kind::Output | Kind::Flatten => Op::Identity,
            Kind::Affine | Kind::Linear => Op::Affine {
                w: fl["weight"].data.clone(),
                b: fl.get("bias").map(|b| b.data.clone()),
            },
            Kind::Scale => Op::Scale(fl["scale"].data.clone()),
            Kind::Threshold => Op::Threshold(fl["threshold"].data.clone()),
            Kind::Delay => Op::Delay(delay_steps(
                &r.name,
                &fl["delay"].data,
                opts.dt,
                &mut warnings,
            )?),
            Kind::LI | Kind::LIF | Kind::CubaLI | Kind::CubaLIF | Kind::I | Kind::IF => {
                Op::Neuron(discretise(&r.name, r.kind, fl, opts, &mut warnings)?)
            }
        };
        let inputs = preds[i]
            .iter()
            .map(|&p| (pos[p], delayed.contains(&(p, i))))
            .collect();
        nodes.push(DNode {
            name: r.name.clone(),
            kind: r.kind,
            op,
            n_in: n_in[i].unwrap_or(0),
            n_out: n_out[i].unwrap_or(0),
            inputs,
            is_output: r.top && r.kind == Kind::Output,
        });
    }
    if !nodes.iter().any(|d| d.is_output) {
        warnings.push("the graph has no top-level Output node".into());
    }
    Ok(Discrete {
        nodes,
        n_inputs: offset,
        opts,
        warnings,
    })
}

fn delay_steps(
    name: &str,
    d: &[f64],
    dt: f64,
    warn: &mut Vec<String>,
) -> Result<Vec<usize>, NirError> {
    let mut off = 0usize;
    let steps = d
        .iter()
        .map(|&x| {
            let s = x / dt;
            if !(s >= 0.0) || s > MAX_DELAY_STEPS as f64 {
                return Err(NirError::Invalid {
                    path: name.into(),
                    msg: format!(
                        "delay {x} s is negative or above {MAX_DELAY_STEPS} steps of dt = {dt} s"
                    ),
                });
            }
            let r = s.round();
            if (s - r).abs() > 1e-6 * s.max(1.0) {
                off += 1;
            }
            Ok(r as usize)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if off > 0 {
        warn.push(format!("node `{name}`: {off} delays are not a whole number of steps of dt = {dt} s; rounded to the nearest step"));
    }
    Ok(steps)
}

fn discretise(
    name: &str,
    kind: Kind,
    fl: &BTreeMap<String, Array>,
    o: Options,
    warn: &mut Vec<String>,
) -> Result<Population, NirError> {
    let dt = o.dt;
    let get = |k: &str| fl[k].data.as_slice();
    let check_tau = |k: &str, warn: &mut Vec<String>| -> Result<(), NirError> {
        let t = get(k);
        if let Some(j) = t.iter().position(|&x| !(x > 0.0)) {
            return Err(NirError::Invalid {
                path: format!("{name}/{k}"),
                msg: format!("neuron {j}: time constant {} must be positive", t[j]),
            });
        }
        let below = t.iter().filter(|&&x| x < dt).count();
        if below > 0 {
            let min = t.iter().copied().fold(f64::INFINITY, f64::min);
            warn.push(format!(
                "node `{name}`: {k} of {below}/{} neurons is below dt = {dt} s (min {min:e} s){}; check the time unit (Norse 1.1 wrote 1e-5 s for a 10 ms membrane)",
                t.len(),
                if o.method == Method::Euler && t.iter().any(|&x| x < dt / 2.0) { ", forward Euler is unstable for tau < dt/2" } else { "" }
            ));
        }
        Ok(())
    };
    let decay = |tau: f64| match o.method {
        Method::Euler => 1.0 - dt / tau,
        Method::Exact => (-dt / tau).exp(),
    };
    let step_gain = |tau: f64| match o.method {
        Method::Euler => dt / tau,
        Method::Exact => 1.0 - (-dt / tau).exp(),
    };
    let r = get("r");
    let n = r.len();
    let (tau_key, has_syn) = match kind {
        Kind::LI | Kind::LIF => (Some("tau"), false),
        Kind::CubaLI | Kind::CubaLIF => (Some("tau_mem"), true),
        _ => (None, false),
    };
    let (beta, gain, leak) = if let Some(k) = tau_key {
        check_tau(k, warn)?;
        let tau = get(k);
        let vl = get("v_leak");
        (
            tau.iter().map(|&t| decay(t)).collect(),
            (0..n).map(|j| snap(r[j] * step_gain(tau[j]))).collect(),
            (0..n).map(|j| vl[j] * step_gain(tau[j])).collect(),
        )
    } else {
        // I, IF: v̇ = R·I, exact for an input held over the step
        (
            vec![1.0; n],
            r.iter().map(|&x| snap(x * dt)).collect(),
            vec![0.0; n],
        )
    };
    let syn = if has_syn {
        check_tau("tau_syn", warn)?;
        let ts = get("tau_syn");
        let w = get("w_in");
        Some((
            ts.iter().map(|&t| decay(t)).collect(),
            (0..n).map(|j| snap(w[j] * step_gain(ts[j]))).collect(),
        ))
    } else {
        None
    };
    let spiking = if matches!(kind, Kind::LIF | Kind::CubaLIF | Kind::IF) {
        let v_reset = get("v_reset").to_vec();
        if o.reset != ResetMechanism::Value && v_reset.iter().any(|&x| x != 0.0) {
            warn.push(format!(
                "node `{name}`: v_reset is ignored with --reset subtract (v ← v − v_threshold)"
            ));
        }
        Some(Spiking {
            v_th: get("v_threshold").to_vec(),
            v_reset,
            reset: o.reset,
        })
    } else {
        None
    };
    Ok(Population {
        syn,
        beta,
        gain,
        leak,
        spiking,
    })
}
