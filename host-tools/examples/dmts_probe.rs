//! Is the DMTS answer already in an *untrained* GIF network? Runs a randomly initialised network (the
//! DMTS defaults of `plasticore train`) over seeded trials and fits a logistic regression on each trial's
//! per-neuron spike counts in the test period (300 training trials, 300 held-out trials).
//!
//! `cargo run --release -p plasticore --example dmts_probe -- [N] [SAMPLE_MS] [TEST_MS] [FF_SCALE]`
//! (defaults 100 250 100 6). A high held-out accuracy means the 1000 ms memory is carried by the
//! adaptation currents of the random network and what remains to learn is mostly the readout.
use plasticore::reference::gif::Gif;
use plasticore::reference::model::Presyn;
use plasticore::reference::net::{forward_step, InitScales, LayerConfig, LossKind, NetConfig, NetState, Output, Params, StepRecord};
use plasticore::reference::rng::Rng;
use plasticore::tasks::dmts::DmtsConfig;

fn counts(cfg: &NetConfig<Gif>, p: &Params<f64>, t: &plasticore::tasks::Trial) -> Vec<f64> {
    let mut st = NetState::<f64>::new(cfg);
    let mut rec = StepRecord::default();
    let mut c = vec![0.0; cfg.layers[0].n];
    for (u, tg) in t.seq.inputs.iter().zip(&t.seq.targets) {
        forward_step(cfg, p, &mut st, u, &mut rec);
        if tg.is_some() {
            c.iter_mut().zip(&rec.layers[0].s).for_each(|(a, s)| *a += s);
        }
    }
    c
}

/// Logistic regression on standardised features (full-batch gradient descent, small L2); held-out accuracy.
fn logreg(x: &[Vec<f64>], y: &[usize], xt: &[Vec<f64>], yt: &[usize]) -> f64 {
    let d = x[0].len();
    let n = x.len() as f64;
    let mu: Vec<f64> = (0..d).map(|k| x.iter().map(|v| v[k]).sum::<f64>() / n).collect();
    let sd: Vec<f64> = (0..d).map(|k| (x.iter().map(|v| (v[k] - mu[k]).powi(2)).sum::<f64>() / n).sqrt() + 1e-9).collect();
    let z = |v: &Vec<f64>| -> Vec<f64> { (0..d).map(|k| (v[k] - mu[k]) / sd[k]).collect() };
    let (xn, xtn): (Vec<_>, Vec<_>) = (x.iter().map(z).collect(), xt.iter().map(z).collect());
    let mut w = vec![0.0; d + 1];
    let logit = |w: &[f64], v: &[f64]| w[d] + (0..d).map(|k| w[k] * v[k]).sum::<f64>();
    for _ in 0..2000 {
        let mut g = vec![0.0; d + 1];
        for (v, &l) in xn.iter().zip(y) {
            let e = 1.0 / (1.0 + (-logit(&w, v)).exp()) - l as f64;
            (0..d).for_each(|k| g[k] += e * v[k]);
            g[d] += e;
        }
        for k in 0..=d {
            w[k] -= 0.05 * (g[k] / n + if k < d { 1e-3 * w[k] } else { 0.0 });
        }
    }
    xtn.iter().zip(yt).filter(|(v, &l)| ((logit(&w, v) > 0.0) as usize) == l).count() as f64 / xt.len() as f64
}

fn main() {
    let a: Vec<f64> = std::env::args().skip(1).filter_map(|s| s.parse().ok()).collect();
    let arg = |i: usize, d: f64| a.get(i).copied().unwrap_or(d);
    let n = arg(0, 100.0) as usize;
    let task = DmtsConfig { sample: arg(1, 250.0) as usize, test: arg(2, 100.0) as usize, ..Default::default() };
    let cfg = NetConfig {
        layers: vec![LayerConfig { n_in: 100, n, recurrent: true, neuron: Gif::dms(1), presyn: Presyn::None }],
        output: Output::LeakyReadout { n_out: 2, kappa: (-1.0f64 / 50.0).exp() },
        loss: LossKind::CrossEntropy,
    };
    let p = Params::init_fan_in(&cfg, &mut Rng::new(1), InitScales { ff: arg(3, 6.0), rec: 2.0, out: 0.1 });
    let (tr, te) = (task.trials(300, 5), task.trials(300, 6));
    let x: Vec<_> = tr.iter().map(|t| counts(&cfg, &p, t)).collect();
    let xt: Vec<_> = te.iter().map(|t| counts(&cfg, &p, t)).collect();
    let y: Vec<usize> = tr.iter().map(|t| t.label).collect();
    let yt: Vec<usize> = te.iter().map(|t| t.label).collect();
    println!(
        "untrained GIF network, N = {n}, sample {} ms, delay {} ms, test {} ms: held-out accuracy of a linear \
         readout of test-period spike counts {:.3}",
        task.sample,
        task.delay,
        task.test,
        logreg(&x, &y, &xt, &yt)
    );
}
