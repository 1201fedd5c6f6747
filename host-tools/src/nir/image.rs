//! A fixed-point network (a `.pcimg` image, version 1 or 2: what `image write`, `image run` and on-chip
//! learning write) → NIR, through a dequantized `plasticore-float-net` (issue 12).
//!
//! Dequantization (exact: every value is a mantissa times a power of two, held exactly by f64 and, for
//! mantissas of ≤ 24 bits, by the float32 arrays `nir export` writes by default): weight = m·2^−weight_frac
//! of its population (of the readout for V), decay = m·2^−decay_frac, threshold and bias =
//! m·2^−state_frac, surrogate = m·2^−signal_frac. The network must have the shape a float network file
//! holds: population 0 fed by the whole input, population p > 0 by population p − 1 (delay 0), each
//! optionally by itself with delay 1, the readout reading the last population; LIF neurons without
//! STD/STP (ALIF, Loihi CUBA and STD/STP have no NIR node). Everything else is an error naming the
//! population or projection. A population with per-neuron records (`ParamMode::PerNeuron`) exports as a
//! per-neuron (v2) layer with every neuron's α_m and θ dequantized the same way.
//!
//! The image has no dt: the caller gives the chip's step (`nir export --dt-ms`, default 1 ms, the
//! float-net convention). Metadata: the float export's (`dt`, `discretisation`, `reset_mechanism`, …)
//! with `source_format` = "plasticore image vN" and `fixed_point_formats`, a JSON string with the number
//! formats of every population and of the readout (weight bits and binary point, state, decay, trace,
//! eligibility-trace and signal formats), its neuron model, reset, bias mode and the raw mantissas of
//! its decays and threshold, so the fixed-point network can be rebuilt from the NIR file.
use super::float_net::{from_saved_net, ExportOptions};
use super::graph::NirFile;
use super::h5::Value;
use super::NirError;
use crate::reference::io::{ModelSpec, SavedNet, FORMAT};
use crate::reference::model::{Neuron, Presyn, ResetMode, Synapse};
use crate::reference::net::{LayerConfig, LayerParams, LossKind, NetConfig, Output, Params};
use crate::reference::scalar::Surrogate;
use plasticore_core::format::Formats;
use plasticore_core::graph::image::{GraphImage, PopWeights};
use plasticore_core::graph::{BiasMode, ParamMode, ProjPresyn, Source};
use plasticore_core::image::{NeuronDesc, PresynDesc};
use plasticore_core::neuron::{Reset, Synapse as CSynapse};
use plasticore_core::readout::Loss;

fn pow2(frac: u8) -> f64 {
    (-(frac as f64)).exp2()
}

fn bad(path: String, msg: impl Into<String>) -> NirError {
    NirError::Invalid { path, msg: msg.into() }
}

fn formats_json(f: &Formats) -> serde_json::Value {
    serde_json::json!({
        "weight_bits": f.weight_bits, "weight_frac": f.weight_frac, "state_frac": f.state_frac,
        "decay_frac": f.decay_frac, "trace_bits": f.trace_bits, "trace_frac": f.trace_frac,
        "etrace_frac": f.etrace_frac, "signal_frac": f.signal_frac,
    })
}

/// The dequantized float network of an image, and the fixed-point description for the metadata.
pub fn saved_net_from_image(bytes: &[u8], dt_ms: f64) -> Result<(SavedNet, serde_json::Value), NirError> {
    if !(dt_ms > 0.0 && dt_ms.is_finite()) {
        return Err(bad("dt".into(), format!("{dt_ms} ms is not a positive step")));
    }
    let img = GraphImage::parse(bytes).map_err(|e| bad("image".into(), format!("not a readable Plasticore image: {e}")))?;
    let desc = img.desc().map_err(|e| bad("image".into(), e.to_string()))?;
    desc.config().map_err(|e| bad("image".into(), format!("invalid network: {e}")))?;
    let np = desc.populations.len();
    let mut layers = Vec::new();
    let mut params = Vec::new();
    let mut pops_meta = Vec::new();
    for (p, pd) in desc.populations.iter().enumerate() {
        let name = format!("population {p}");
        let f = pd.layer.formats;
        let n = pd.neurons as usize;
        // incoming projections, in the axon layout's order: plastic first, each group in listed order
        let mut incoming: Vec<(usize, &plasticore_core::graph::Projection)> =
            desc.projections.iter().enumerate().filter(|(_, q)| q.target as usize == p).collect();
        incoming.sort_by_key(|(i, q)| (!q.learn, *i));
        let want_ff = |s: &Source| match (p, s) {
            (0, Source::Input { first: 0, width }) => *width == desc.inputs,
            (_, Source::Population(s)) => p > 0 && *s as usize == p - 1,
            _ => false,
        };
        let mut ff = None;
        let mut rec = None;
        let mut row = 0usize;
        for (i, q) in &incoming {
            let width = match q.source {
                Source::Input { width, .. } => width as usize,
                Source::Population(s) => desc.populations.get(s as usize).map_or(0, |x| x.neurons as usize),
            };
            if matches!(q.presyn, ProjPresyn::Depression(_) | ProjPresyn::Facilitation(_)) {
                return Err(bad(format!("projection {i}"), "presynaptic STD/STP has no NIR node"));
            }
            if q.delay == 0 && want_ff(&q.source) && ff.is_none() {
                ff = Some((row, width, q.shift));
            } else if q.delay == 1 && q.source == Source::Population(p as u8) && rec.is_none() {
                rec = Some((row, q.shift));
            } else {
                return Err(bad(
                    format!("projection {i} ({:?} → population {p}, delay {})", q.source, q.delay),
                    "a float network file (and so this export) holds only input → population 0, population p−1 → p with delay 0 and p → p with delay 1",
                ));
            }
            row += width;
        }
        let Some((ff_row, n_in, ff_shift)) = ff else {
            return Err(bad(name, "no feed-forward projection (from the input for population 0, else from the population before)"));
        };
        let axons = row;
        // dense axons × neurons mantissas
        let mut m = vec![0i16; axons * n];
        match img.population_weights(&desc, p).map_err(|e| bad(name.clone(), e.to_string()))? {
            PopWeights::Dense(w) => {
                let w: Vec<_> = w.collect();
                if w.len() != axons * n {
                    return Err(bad(name, format!("{} weights, expected {}", w.len(), axons * n)));
                }
                for (k, x) in w.iter().enumerate() {
                    m[k] = x.0;
                }
            }
            PopWeights::Compressed(c) => {
                let starts: Vec<u32> = c.row_start().collect();
                let cols: Vec<u16> = c.cols().collect();
                let ws: Vec<_> = c.weights().collect();
                for a in 0..axons.min(starts.len().saturating_sub(1)) {
                    for k in starts[a] as usize..(starts[a + 1] as usize).min(cols.len()).min(ws.len()) {
                        let j = cols[k] as usize;
                        if j >= n {
                            return Err(bad(name, format!("compressed row {a}: column {j} ≥ {n} neurons")));
                        }
                        m[a * n + j] = ws[k].0;
                    }
                }
            }
        }
        let wq = pow2(f.weight_frac);
        let recurrent = rec.is_some();
        let mut w = Vec::with_capacity((n_in + if recurrent { n } else { 0 }) * n);
        // A projection's weight shift s: its mantissas are m·2^(s − weight_frac).
        let wff = wq * 2f64.powi(ff_shift as i32);
        w.extend(m[ff_row * n..(ff_row + n_in) * n].iter().map(|&x| x as f64 * wff));
        if let Some((r, s)) = rec {
            let wr = wq * 2f64.powi(s as i32);
            w.extend(m[r * n..(r + n) * n].iter().map(|&x| x as f64 * wr));
        }
        let b: Vec<f64> = match pd.bias {
            BiasMode::None => vec![0.0; n],
            _ => {
                let b: Vec<f64> = img
                    .population_bias(&desc, p)
                    .map_err(|e| bad(name.clone(), e.to_string()))?
                    .map(|x| x as f64 * pow2(f.state_frac))
                    .collect();
                if b.len() != n {
                    return Err(bad(name, format!("{} biases for {n} neurons", b.len())));
                }
                b
            }
        };
        let NeuronDesc::Lif(lp) = pd.layer.neuron else {
            return Err(bad(name, "only LIF populations export to NIR (ALIF and Loihi CUBA have no NIR node)"));
        };
        if pd.layer.presyn != PresynDesc::None {
            return Err(bad(name, "STD/STP has no NIR node"));
        }
        let dq = pow2(f.decay_frac);
        let mut nn = Neuron::lif(lp.decay.0 as f64 * dq);
        nn.v_th = lp.threshold.0 as f64 * pow2(f.state_frac);
        nn.reset = match lp.reset {
            Reset::Soft => ResetMode::Soft,
            Reset::Hard => ResetMode::Hard,
        };
        nn.detach_reset = lp.detach_reset;
        nn.surrogate = Surrogate {
            height: lp.surrogate.amplitude.0 as f64 * pow2(f.signal_frac),
            width: lp.surrogate.width.0 as f64 * pow2(f.signal_frac),
        };
        let mut syn_meta = serde_json::json!("delta");
        if let CSynapse::Expon { decay, gain } = lp.synapse {
            nn.synapse = Synapse::Exponential { alpha_s: decay.0 as f64 * dq, gain: gain.0 as f64 * dq };
            syn_meta = serde_json::json!({ "exponential": { "decay_mantissa": decay.0, "gain_mantissa": gain.0 } });
        }
        pops_meta.push(serde_json::json!({
            "population": p, "neurons": n, "formats": formats_json(&f), "neuron": "LIF",
            "decay_mantissa": lp.decay.0, "threshold_mantissa": lp.threshold.0,
            "reset": format!("{:?}", lp.reset), "synapse": syn_meta,
            "bias": format!("{:?}", pd.bias), "trace_decay_mantissa": pd.layer.trace_decay.0,
            "per_neuron_thresholds_and_decays": pd.params == ParamMode::PerNeuron,
        }));
        // per-neuron records (`ParamMode::PerNeuron`): a per-neuron layer with every neuron's α_m and θ
        // dequantized (exact in f64), never the population's scalar fields alone
        let neuron = if pd.params == ParamMode::PerNeuron {
            let (am, th): (Vec<f64>, Vec<f64>) = img
                .population_params(&desc, p)
                .map_err(|e| bad(name.clone(), e.to_string()))?
                .map(|v| (v.decay as f64 * dq, v.threshold as f64 * pow2(f.state_frac)))
                .unzip();
            if am.len() != n {
                return Err(bad(name, format!("{} per-neuron records for {n} neurons", am.len())));
            }
            crate::quantize::float_net::with_per_neuron(&ModelSpec::Builtin(nn), am, th).map_err(|e| bad(name.clone(), e))?
        } else {
            ModelSpec::Builtin(nn)
        };
        layers.push(LayerConfig { n_in, n, recurrent, neuron, presyn: Presyn::None });
        params.push(LayerParams { w, b });
    }
    let ro = desc.readout;
    if np == 0 || ro.source as usize != np - 1 {
        return Err(bad("readout".into(), format!("reads population {}, not the last ({})", ro.source, np.saturating_sub(1))));
    }
    let rf = ro.config.formats;
    let n_out = ro.outputs as usize;
    let readout: Vec<f64> = img
        .readout_weights(&desc)
        .map_err(|e| bad("readout".into(), e.to_string()))?
        .map(|x| x.0 as f64 * pow2(rf.weight_frac))
        .collect();
    let kappa = ro.config.decay.0 as f64 * pow2(rf.decay_frac);
    let mut saved = SavedNet {
        format: FORMAT.into(),
        version: 1,
        task: "image-export".into(),
        algorithm: serde_json::json!({ "fixed_point_image": { "version": img.version() } }),
        dt_ms,
        config: NetConfig {
            layers,
            output: Output::LeakyReadout { n_out, kappa },
            loss: match ro.config.loss {
                Loss::Mse => LossKind::Mse,
                Loss::CrossEntropy => LossKind::CrossEntropy,
            },
        },
        params: Params { layers: params, readout },
        metrics: serde_json::json!({}),
    };
    saved.version = saved.required_version();
    let bytes = serde_json::to_vec(&saved).map_err(|e| bad("image".into(), e.to_string()))?;
    SavedNet::from_slice(&bytes).map_err(|e| bad("image".into(), format!("the dequantized network does not validate: {e}")))?;
    let meta = serde_json::json!({
        "image_version": img.version(), "dt_ms": dt_ms, "populations": pops_meta,
        "readout": { "outputs": n_out, "formats": formats_json(&rf), "decay_mantissa": ro.config.decay.0,
                     "loss": format!("{:?}", ro.config.loss) },
        "dequantization": "value = mantissa * 2^-frac (weights: weight_frac; decays: decay_frac; thresholds, biases: state_frac)",
    });
    Ok((saved, meta))
}

/// Export an image to NIR (module documentation).
pub fn from_image(bytes: &[u8], dt_ms: f64, o: ExportOptions) -> Result<NirFile, NirError> {
    let (saved, meta) = saved_net_from_image(bytes, dt_ms)?;
    let mut f = from_saved_net(&saved, o)?;
    let version = meta["image_version"].as_u64().unwrap_or(0);
    f.graph.metadata.insert("source_format".into(), Value::Str(format!("plasticore image v{version}")));
    f.graph.metadata.insert("fixed_point_formats".into(), Value::Str(meta.to_string()));
    Ok(f)
}
