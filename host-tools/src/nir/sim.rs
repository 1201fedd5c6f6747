//! Runs a [`Discrete`] network in `f64` under the semantics of [`super::lower`] and records every node.
//!
//! One step t, nodes in evaluation order: x = sum of the node's sources (a delayed edge reads the source's
//! output of step t−1, 0 before the first step), then the node's operation. A spike's reset is applied at the start of the neuron's next update, so the membrane
//! recorded for step t is the one *before* the reset (as snnTorch and the float reference report it); the
//! trajectory equals an immediate reset followed by the next step's update. Initial state: all currents, membranes and delay lines 0.
use super::lower::{Discrete, Op, ResetMechanism};
use super::NirError;

/// What was recorded for one node over T steps (`[t][j]`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Trace {
    /// Node name.
    pub name: String,
    /// Outputs y_t (spikes as 0/1 for spiking nodes).
    pub out: Vec<Vec<f64>>,
    /// Membrane before reset (neuron nodes only).
    pub v: Vec<Vec<f64>>,
    /// Synaptic current (Cuba models only).
    pub i_syn: Vec<Vec<f64>>,
}

/// The simulator state.
#[derive(Clone, Debug)]
pub struct Sim<'a> {
    net: &'a Discrete,
    out: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
    i_syn: Vec<Vec<f64>>,
    /// Delay lines: per node, a ring of max_d+1 input vectors.
    lines: Vec<(Vec<Vec<f64>>, usize)>,
    /// Outputs of step t−1 of the nodes that feed delayed edges (empty for the others).
    prev: Vec<Vec<f64>>,
    x: Vec<f64>,
}

impl<'a> Sim<'a> {
    /// Zero state.
    pub fn new(net: &'a Discrete) -> Self {
        let out = net.nodes.iter().map(|d| vec![0.0; d.n_out]).collect();
        let v = net
            .nodes
            .iter()
            .map(|d| {
                if matches!(d.op, Op::Neuron(_)) {
                    vec![0.0; d.n_out]
                } else {
                    Vec::new()
                }
            })
            .collect();
        let i_syn = net
            .nodes
            .iter()
            .map(|d| match &d.op {
                Op::Neuron(p) if p.syn.is_some() => vec![0.0; d.n_out],
                _ => Vec::new(),
            })
            .collect();
        let lines = net
            .nodes
            .iter()
            .map(|d| match &d.op {
                Op::Delay(s) => {
                    let m = s.iter().copied().max().unwrap_or(0);
                    (vec![vec![0.0; d.n_out]; m + 1], 0)
                }
                _ => (Vec::new(), 0),
            })
            .collect();
        let mut prev: Vec<Vec<f64>> = net.nodes.iter().map(|_| Vec::new()).collect();
        for d in &net.nodes {
            for &(src, delayed) in &d.inputs {
                if delayed {
                    prev[src] = vec![0.0; net.nodes[src].n_out];
                }
            }
        }
        Self {
            net,
            out,
            v,
            i_syn,
            lines,
            prev,
            x: Vec::new(),
        }
    }

    /// Advance one step with external input `u` (width [`Discrete::n_inputs`]).
    pub fn step(&mut self, u: &[f64]) -> Result<(), NirError> {
        if u.len() != self.net.n_inputs {
            return Err(NirError::Input(format!(
                "a step has {} values, the graph takes {}",
                u.len(),
                self.net.n_inputs
            )));
        }
        for (p, o) in self.prev.iter_mut().zip(&self.out) {
            if !p.is_empty() {
                p.copy_from_slice(o);
            }
        }
        for (k, d) in self.net.nodes.iter().enumerate() {
            // x = Σ sources (a delayed edge reads the source's output of step t−1)
            self.x.clear();
            self.x.resize(d.n_in, 0.0);
            for &(src, delayed) in &d.inputs {
                let s = if delayed {
                    &self.prev[src]
                } else {
                    &self.out[src]
                };
                for (a, b) in self.x.iter_mut().zip(s) {
                    *a += *b;
                }
            }
            let x = &self.x;
            let y = &mut self.out[k];
            match &d.op {
                Op::Input { offset } => y.copy_from_slice(&u[*offset..*offset + d.n_out]),
                Op::Identity => y.copy_from_slice(x),
                Op::Affine { w, b } => {
                    for o in 0..d.n_out {
                        let row = &w[o * d.n_in..(o + 1) * d.n_in];
                        let mut acc = b.as_ref().map_or(0.0, |b| b[o]);
                        for (wi, xi) in row.iter().zip(x) {
                            acc += wi * xi;
                        }
                        y[o] = acc;
                    }
                }
                Op::Scale(s) => {
                    for j in 0..d.n_out {
                        y[j] = s[j] * x[j];
                    }
                }
                Op::Threshold(th) => {
                    for j in 0..d.n_out {
                        y[j] = if x[j] > th[j] { 1.0 } else { 0.0 };
                    }
                }
                Op::Delay(steps) => {
                    let (ring, head) = &mut self.lines[k];
                    let len = ring.len();
                    ring[*head].copy_from_slice(x);
                    for j in 0..d.n_out {
                        y[j] = ring[(*head + len - steps[j]) % len][j];
                    }
                    *head = (*head + 1) % len;
                }
                Op::Neuron(p) => {
                    let v = &mut self.v[k];
                    let is = &mut self.i_syn[k];
                    for j in 0..d.n_out {
                        // the reset of a spike of step t−1 (y still holds that step's output)
                        let mut after = 0.0;
                        if let Some(s) = &p.spiking {
                            if y[j] != 0.0 {
                                match s.reset {
                                    ResetMechanism::Value => v[j] = s.v_reset[j],
                                    ResetMechanism::Subtract => v[j] -= s.v_th[j],
                                    ResetMechanism::SubtractUndecayed => after = s.v_th[j],
                                }
                            }
                        }
                        let input = match &p.syn {
                            Some((alpha, a)) => {
                                is[j] = alpha[j] * is[j] + a[j] * x[j];
                                is[j]
                            }
                            None => x[j],
                        };
                        v[j] = p.beta[j] * v[j] + p.gain[j] * input + p.leak[j] - after;
                        y[j] = v[j];
                    }
                    if let Some(s) = &p.spiking {
                        for j in 0..d.n_out {
                            y[j] = if v[j] > s.v_th[j] { 1.0 } else { 0.0 };
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Run `inputs` (`[t][channel]`) from the zero state; one [`Trace`] per node, in evaluation order.
pub fn run(net: &Discrete, inputs: &[Vec<f64>]) -> Result<Vec<Trace>, NirError> {
    let mut sim = Sim::new(net);
    let mut tr: Vec<Trace> = net
        .nodes
        .iter()
        .map(|d| Trace {
            name: d.name.clone(),
            ..Default::default()
        })
        .collect();
    for u in inputs {
        sim.step(u)?;
        for (k, t) in tr.iter_mut().enumerate() {
            t.out.push(sim.out[k].clone());
            if !sim.v[k].is_empty() {
                t.v.push(sim.v[k].clone());
            }
            if !sim.i_syn[k].is_empty() {
                t.i_syn.push(sim.i_syn[k].clone());
            }
        }
    }
    Ok(tr)
}
