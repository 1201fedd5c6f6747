//! The population view of a [`Discrete`] network: for each population (neuron node or `Threshold`), the
//! affine map that feeds it, as one dense matrix per source (the external input or a population) and
//! delay in steps, plus a constant. Chains of Affine/Linear/Scale/Flatten/Identity nodes are composed;
//! delayed edges and uniform `Delay` nodes add to the delay. This is the shape of a graph of populations
//! and projections (issue 10's fixed-point graph): a consumer maps each [`PopulationFeed`] onto a
//! population with per-neuron parameters (from [`Op::Neuron`]) and each matrix onto a projection.
use super::lower::{Discrete, Op};
use super::NirError;
use std::collections::BTreeMap;

/// Where a signal comes from, as seen by a population.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// The external input vector, with the number of steps it is delayed by on the way.
    Input(usize),
    /// A population (index into [`Discrete::nodes`]), with the number of steps it is delayed by (delayed
    /// edges and `Delay` nodes on the path).
    Pop(usize, usize),
}

/// An affine map from origins: y = Σ_o M_o·x_o + b (M_o row-major [n_out, n_origin]).
#[derive(Clone, Debug, Default)]
pub struct Aff {
    /// One matrix per origin, row-major [n_target, n_origin].
    pub terms: BTreeMap<Origin, Vec<f64>>,
    /// Constant term.
    pub b: Vec<f64>,
}

/// Neuron populations and `Threshold` nodes: the nodes that hold state or emit spikes.
pub fn is_pop(op: &Op) -> bool {
    matches!(op, Op::Neuron(_) | Op::Threshold(_))
}

/// Compose the affine map that feeds node `k` (the sum of its inputs), in terms of inputs and populations.
pub fn feed(net: &Discrete, k: usize, depth: usize, errs: &mut Vec<String>) -> Option<Aff> {
    let d = &net.nodes[k];
    if depth > net.nodes.len() + 1 {
        errs.push(format!("`{}`: a cycle without a neuron population", d.name));
        return None;
    }
    let mut acc = Aff {
        terms: BTreeMap::new(),
        b: vec![0.0; d.n_in],
    };
    for &(src, delayed) in &d.inputs {
        let s = &net.nodes[src];
        let part = match &s.op {
            Op::Input { offset } => {
                let mut m = vec![0.0; s.n_out * net.n_inputs];
                for j in 0..s.n_out {
                    m[j * net.n_inputs + offset + j] = 1.0;
                }
                Aff {
                    terms: [(Origin::Input(0), m)].into(),
                    b: vec![0.0; s.n_out],
                }
            }
            op if is_pop(op) => {
                let mut m = vec![0.0; s.n_out * s.n_out];
                for j in 0..s.n_out {
                    m[j * s.n_out + j] = 1.0;
                }
                Aff {
                    terms: [(Origin::Pop(src, 0), m)].into(),
                    b: vec![0.0; s.n_out],
                }
            }
            Op::Identity => feed(net, src, depth + 1, errs)?,
            Op::Affine { w, b } => {
                let inner = feed(net, src, depth + 1, errs)?;
                let mut out = Aff {
                    terms: BTreeMap::new(),
                    b: b.clone().unwrap_or_else(|| vec![0.0; s.n_out]),
                };
                for o in 0..s.n_out {
                    for i in 0..s.n_in {
                        out.b[o] += w[o * s.n_in + i] * inner.b[i];
                    }
                }
                for (org, m) in inner.terms {
                    let cols = m.len() / s.n_in.max(1);
                    let mut r = vec![0.0; s.n_out * cols];
                    for o in 0..s.n_out {
                        for i in 0..s.n_in {
                            let wi = w[o * s.n_in + i];
                            if wi != 0.0 {
                                for c in 0..cols {
                                    r[o * cols + c] += wi * m[i * cols + c];
                                }
                            }
                        }
                    }
                    out.terms.insert(org, r);
                }
                out
            }
            Op::Scale(sc) => {
                let mut inner = feed(net, src, depth + 1, errs)?;
                for (j, bj) in inner.b.iter_mut().enumerate() {
                    *bj *= sc[j];
                }
                for m in inner.terms.values_mut() {
                    let cols = m.len() / s.n_in.max(1);
                    for j in 0..s.n_in {
                        for c in 0..cols {
                            m[j * cols + c] *= sc[j];
                        }
                    }
                }
                inner
            }
            Op::Delay(steps) => {
                let mut inner = feed(net, src, depth + 1, errs)?;
                let d0 = steps.first().copied().unwrap_or(0);
                if steps.iter().any(|&x| x != d0) {
                    errs.push(format!(
                        "`{}`: per-channel delays differ (a projection has one axonal delay)",
                        s.name
                    ));
                    return None;
                }
                if inner.b.iter().any(|&x| x != 0.0) {
                    errs.push(format!(
                        "`{}`: a delayed constant (bias before a Delay)",
                        s.name
                    ));
                    return None;
                }
                inner.terms = inner
                    .terms
                    .into_iter()
                    .map(|(o, m)| {
                        let o = match o {
                            Origin::Input(dl) => Origin::Input(dl + d0),
                            Origin::Pop(p, dl) => Origin::Pop(p, dl + d0),
                        };
                        (o, m)
                    })
                    .collect();
                inner
            }
            _ => unreachable!("populations handled above"),
        };
        // a delayed edge adds one step to every origin of this part
        for (org, m) in part.terms {
            let org = match (org, delayed) {
                (Origin::Pop(p, dl), true) => Origin::Pop(p, dl + 1),
                (Origin::Input(dl), true) => Origin::Input(dl + 1),
                (o, false) => o,
            };
            match acc.terms.get_mut(&org) {
                Some(a) => a.iter_mut().zip(&m).for_each(|(x, y)| *x += y),
                None => {
                    acc.terms.insert(org, m);
                }
            }
        }
        acc.b.iter_mut().zip(&part.b).for_each(|(x, y)| *x += y);
    }
    Some(acc)
}

/// One population and what feeds it.
#[derive(Clone, Debug)]
pub struct PopulationFeed {
    /// Index into [`Discrete::nodes`].
    pub node: usize,
    /// Incoming projections: source, delay in steps, matrix row-major [n, n_source].
    pub projections: Vec<(Origin, Vec<f64>)>,
    /// Constant input per neuron (biases composed along the chains).
    pub bias: Vec<f64>,
}

/// Every population of `net` in evaluation order with its incoming projections. Errors name each node
/// that cannot be expressed this way (per-channel delays, a cycle without a population, a bias before a
/// delay).
pub fn populations(net: &Discrete) -> Result<Vec<PopulationFeed>, NirError> {
    let mut errs = Vec::new();
    let mut out = Vec::new();
    for k in (0..net.nodes.len()).filter(|&k| is_pop(&net.nodes[k].op)) {
        if let Some(a) = feed(net, k, 0, &mut errs) {
            out.push(PopulationFeed {
                node: k,
                projections: a.terms.into_iter().collect(),
                bias: a.b,
            });
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(NirError::Invalid {
            path: "populations".into(),
            msg: errs.join("; "),
        })
    }
}
