//! The paper's training loop (spec §4.2): per batch, sum per-step gradients over the loss window, clip the
//! global norm, one optimiser step; and accuracy on labelled trials.
use super::algo::{batch_grad, Algorithm, OnlineOptions};
use super::model::NeuronModel;
use super::net::{forward_step, NetConfig, NetState, Params, Sequence, StepRecord};
use super::optim::{clip_global_norm, Optimizer};
use super::RefError;
use rayon::prelude::*;

/// One optimiser step on a batch; returns (mean loss per sequence, gradient norm before clipping).
pub fn train_batch<M: NeuronModel>(
    cfg: &NetConfig<M>,
    p: &mut Params<f64>,
    opt: &mut Optimizer,
    algo: Algorithm,
    batch: &[Sequence],
    clip: Option<f64>,
) -> Result<(f64, f64), RefError> {
    train_batch_masked(cfg, p, opt, algo, batch, clip, None)
}

/// [`train_batch`] with a fixed connectivity mask per layer (`mask[l][i*n + j]`, `false` = no synapse):
/// the gradient of an absent synapse is zeroed before clipping, so (with zero initial weights there)
/// absent synapses stay exactly 0 under SGD and Adam.
pub fn train_batch_masked<M: NeuronModel>(
    cfg: &NetConfig<M>,
    p: &mut Params<f64>,
    opt: &mut Optimizer,
    algo: Algorithm,
    batch: &[Sequence],
    clip: Option<f64>,
    mask: Option<&[Vec<bool>]>,
) -> Result<(f64, f64), RefError> {
    let (loss, mut g) = batch_grad(cfg, p, algo, OnlineOptions::default(), batch)?;
    if let Some(m) = mask {
        if m.len() != g.layers.len() {
            return Err(RefError::Shape { what: "mask layers", expected: g.layers.len(), got: m.len() });
        }
        for (ml, gl) in m.iter().zip(g.layers.iter_mut()) {
            if ml.len() != gl.w.len() {
                return Err(RefError::Shape { what: "mask weights", expected: gl.w.len(), got: ml.len() });
            }
            for (gw, &keep) in gl.w.iter_mut().zip(ml) {
                if !keep {
                    *gw = 0.0;
                }
            }
        }
    }
    g.scale(1.0 / batch.len().max(1) as f64);
    let norm = match clip {
        Some(c) => clip_global_norm(&mut g, c),
        None => g.norm(),
    };
    opt.step(p, &g);
    Ok((loss / batch.len().max(1) as f64, norm))
}

/// Predicted class of a trial: argmax of the outputs summed over the steps that carry a target.
pub fn predict<M: NeuronModel>(cfg: &NetConfig<M>, p: &Params<f64>, seq: &Sequence) -> usize {
    let mut st = NetState::<f64>::new(cfg);
    let mut rec = StepRecord::default();
    let mut acc = vec![0.0; cfg.n_out()];
    for (u, t) in seq.inputs.iter().zip(&seq.targets) {
        forward_step(cfg, p, &mut st, u, &mut rec);
        if t.is_some() {
            for (a, o) in acc.iter_mut().zip(&rec.output) {
                *a += o;
            }
        }
    }
    acc.iter().enumerate().fold((0, f64::NEG_INFINITY), |b, (k, &v)| if v > b.1 { (k, v) } else { b }).0
}

/// Fraction of trials classified correctly (parallel over trials).
pub fn accuracy<M: NeuronModel>(cfg: &NetConfig<M>, p: &Params<f64>, trials: &[(Sequence, usize)]) -> f64 {
    if trials.is_empty() {
        return 0.0;
    }
    let ok: usize = trials.par_iter().map(|(s, l)| (predict(cfg, p, s) == *l) as usize).sum();
    ok as f64 / trials.len() as f64
}
