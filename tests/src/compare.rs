//! The step-by-step comparison of the fixed and float backends (see the crate docs and
//! [`crate::tolerance`] for every bound).

use crate::fixed;
use crate::float::{self, val, Constants};
use crate::scenario::{Loss, Mode, Model, Presyn, Scenario, Signal, StepTarget, N, NI, O, P};
use crate::tolerance::{ce_error, prod_err, Bounds};
use plasticore::reference::model::NeuronModel;
use plasticore::reference::net::Target;

/// Largest error seen for one quantity, relative to its tolerance.
#[derive(Clone, Debug, Default)]
pub struct Stat {
    /// Quantity.
    pub name: &'static str,
    /// max |fixed − float| / tolerance (≤ 1 passes).
    pub max_ratio: f64,
    /// max |fixed − float| (value units).
    pub max_err: f64,
    /// Comparisons made.
    pub compared: u64,
}

/// What a run compared and found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Scenario name.
    pub scenario: &'static str,
    /// Steps compared.
    pub steps: u32,
    /// Steps where the float's spike decision on the loaded state differed from the core's (the core
    /// rounds β·a; the step is not compared).
    pub desynced: u32,
    /// Neuron-steps whose spike is within the bound of the threshold (not compared).
    pub ambiguous: u32,
    /// Hidden spikes of the core.
    pub spikes: u64,
    /// Non-zero ψ of the core.
    pub psi_nonzero: u64,
    /// Non-zero hidden and readout weight updates of the core.
    pub updates_nonzero: (u64, u64),
    /// Chip effects (saturations, drops) of the core: the bounds assume none.
    pub chip_effects: u64,
    /// Per-quantity maxima.
    pub stats: Vec<Stat>,
    /// The first failures, with their context.
    pub failures: Vec<String>,
    /// `Online` mode only: the mean of ΔW_fixed − ΔW_float (LSB) over the updates the float makes
    /// (hidden, readout), with the number of them and the bound of that mean (see [`Bias`]).
    pub online_bias: [Bias; 2],
}

/// The mean error of the online updates. Each is stochastically rounded (floor or ceil of the core's exact
/// value, unbiased, variance ≤ ¼ LSB², pairwise independent across synapses and independent across steps:
/// `rng::col_word`), and the core's exact value differs from the float one by at most the bound of the
/// `Accumulate` comparison (`det`). So |mean| ≤ max det + 5·½/√n (five standard deviations of the mean).
/// The per-step tolerance of an online update is about 1 LSB and cannot see a rounding bias; this does.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bias {
    /// Σ (fixed − float).
    pub sum: f64,
    /// Updates counted.
    pub n: u64,
    /// Largest deterministic part of the per-update bound.
    pub det: f64,
}

impl Bias {
    /// The mean error.
    pub fn mean(&self) -> f64 {
        self.sum / self.n.max(1) as f64
    }
    /// Its bound.
    pub fn bound(&self) -> f64 {
        self.det + 5.0 * 0.5 / (self.n.max(1) as f64).sqrt()
    }
    fn add(&mut self, fixed: f64, float: f64, det: f64) {
        if float != 0.0 {
            self.sum += fixed - float;
            self.n += 1;
            self.det = self.det.max(det);
        }
    }
}

impl Report {
    fn check(&mut self, name: &'static str, fixed: f64, float: f64, tol: f64, ctx: impl FnOnce() -> String) {
        let err = (fixed - float).abs();
        let i = match self.stats.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.stats.push(Stat { name, ..Stat::default() });
                self.stats.len() - 1
            }
        };
        let s = &mut self.stats[i];
        s.compared += 1;
        s.max_err = s.max_err.max(err);
        let ratio = if tol > 0.0 { err / tol } else if err == 0.0 { 0.0 } else { f64::INFINITY };
        s.max_ratio = s.max_ratio.max(ratio);
        // A NaN error is a failure too.
        let within = err <= tol;
        if !within && self.failures.len() < 20 {
            self.failures.push(format!("{name}: fixed {fixed} float {float} |err| {err:e} > tol {tol:e} ({})", ctx()));
        }
    }

    /// The statistic of a quantity.
    pub fn stat(&self, name: &str) -> Option<&Stat> {
        self.stats.iter().find(|s| s.name == name)
    }
}

/// Run `sc` on both backends and compare every step.
pub fn run(sc: &Scenario) -> Report {
    match sc.model {
        Model::Loihi => run_with(sc, float::loihi(sc)),
        _ => run_with(sc, float::neuron(sc)),
    }
}

fn run_with<M: NeuronModel>(sc: &Scenario, m: M) -> Report {
    let f = sc.formats();
    let (b, c) = (Bounds::of(sc), Constants::of(sc));
    let (s, map) = (sc.states(), sc.slot_map());
    let mi = m.membrane_index();
    let lr = val(1, f.state_frac); // readout state LSB (Q.state_frac in every mode)
    let (eta, eta_o) = ((-(Scenario::SHIFT as f64)).exp2(), (-(Scenario::SHIFT_O as f64)).exp2());
    let two_wf = (f.weight_frac as f64).exp2();
    let (unit, vunit) = (sc.hidden_unit(), val(1, f.weight_frac));
    let mut rep = Report { scenario: sc.name, ..Report::default() };
    let mut fx = fixed::backend(sc);
    let mut fl = float::learner(sc, m.clone());
    let mut before = fx.snapshot();
    for t in 0..sc.steps {
        let st = float::state(sc, &before);
        fl.load(&st).expect("same shapes");
        fl.params = float::params(sc, &before.w, &before.v);
        let acc0 = fl.accumulated().clone();
        let synced = (0..N).all(|j| (m.vhat(&st.h[j * s..(j + 1) * s]) > 0.0) == before.spikes.contains(&(j as u16)));
        fx.step(t);
        let after = fx.snapshot();
        let input = sc.input(t);
        let u: Vec<f64> = (0..NI).map(|i| if input.contains(&(i as u16)) { 1.0 } else { 0.0 }).collect();
        let gf = f.signal_frac;
        let (tgt, lam_ext, readout_learns) = match sc.target(t) {
            StepTarget::None => (None, None, false),
            StepTarget::Values(v) => (Some(Target::Values(v.iter().map(|&x| val(x as i64, gf)).collect())), None, true),
            StepTarget::Class(k) => (Some(Target::Class(k as usize)), None, true),
            StepTarget::Lambda(l) => (None, Some(l.iter().map(|&x| val(x as i64, gf)).collect::<Vec<f64>>()), false),
        };
        let hidden_learns = readout_learns || lam_ext.is_some();
        let loss_f = fl.step(&u, tgt.as_ref(), lam_ext.as_deref()).expect("valid step");
        rep.spikes += after.spikes.len() as u64;
        rep.psi_nonzero += after.psi.iter().filter(|&&p| p != 0).count() as u64;
        if !synced {
            rep.desynced += 1;
            before = after;
            continue;
        }
        rep.steps += 1;
        let fs = fl.snapshot();
        let rec = fl.record();
        let ctx = |what: &str| format!("{} step {t} {what}", sc.name);

        // --- dendritic input error δy_j (STD/STP only) and the presynaptic states
        let x_act: Vec<bool> = rec.layers[0].a.iter().map(|&a| a != 0.0).collect();
        let dy: Vec<f64> = (0..N)
            .map(|j| {
                if sc.presyn == Presyn::None {
                    return 0.0;
                }
                let sw: f64 = (0..P).filter(|&i| x_act[i]).map(|i| (before.w[i * N + j] as f64 * unit).abs()).sum();
                sw * (0.5 * 2f64.powi(-12) + b.d_eff) + 0.5 * b.ls
            })
            .collect();
        let pn = match sc.presyn {
            Presyn::None => 0,
            Presyn::Std => 1,
            Presyn::Stp => 2,
        };
        for i in 0..P {
            for k in 0..pn {
                let fixed_v = val(after.presyn[i][k] as i64, 16);
                rep.check("presyn state", fixed_v, fs.pre[i * pn + k], b.d_pre[k], || ctx(&format!("axon {i} slot {k}")));
            }
        }

        // --- neuron states, spikes, ψ
        let mut d_d = [0.0; N];
        let mut d_psi = [0.0; N];
        for j in 0..N {
            let hf = &fs.h[j * s..(j + 1) * s];
            let core_spike = after.spikes.contains(&(j as u16));
            let float_spike = rec.layers[0].s[j] > 0.5;
            // per float slot: tolerance of the state
            let half = 0.5 * b.ls;
            let tol: Vec<f64> = match sc.model {
                Model::Lif { expon: false, .. } => vec![half + dy[j]],
                Model::Lif { expon: true, .. } => {
                    let dg = half + dy[j];
                    vec![dg, half + c.gain * dg + half]
                }
                Model::Alif { expon: false } => vec![half + dy[j], half],
                Model::Alif { expon: true } => {
                    let dg = half + dy[j];
                    vec![dg, half + c.gain * dg + half, half]
                }
                Model::Loihi => vec![1.0, 2.0],
            };
            let (dv, da) = (tol[mi], if let Model::Alif { .. } = sc.model { tol[mi + 1] } else { 0.0 });
            d_d[j] = dv + c.beta * da + if let Model::Alif { .. } = sc.model { half } else { 0.0 };
            let dist = m.vhat(hf) * b.delta;
            if dist.abs() > d_d[j] {
                if core_spike != float_spike {
                    rep.check("spike", core_spike as u8 as f64, float_spike as u8 as f64, 0.0, || ctx(&format!("neuron {j}, d = {dist:e}")));
                }
            } else {
                rep.ambiguous += 1;
            }
            for (fsl, &csl) in map.iter().enumerate() {
                if sc.model == Model::Loihi && fsl == 1 && (core_spike || float_spike) {
                    continue; // the core's v is after the reset, the float's before it
                }
                let fixed_v = after.state[j * s + csl] as f64 * sc.state_unit();
                rep.check("neuron state", fixed_v, hf[fsl], tol[fsl], || ctx(&format!("neuron {j} slot {fsl}")));
            }
            d_psi[j] = b.d_psi + b.amp / b.delta * d_d[j];
            let psi_f = m.surrogate().psi(m.vhat(hf));
            rep.check("psi", val(after.psi[j] as i64, gf), psi_f, d_psi[j], || ctx(&format!("neuron {j}")));
        }

        // --- ẽ^f: δẽ_k ≤ ½L_e + α(½L_e + Σ_l δD_kl·|ẽ_l|), δD ≤ |∂D/∂ψ|·δψ_arith + L_J
        let hp = &st.h;
        for j in 0..N {
            let sens = match sc.model {
                Model::Lif { hard, .. } => c.alpha_m * if hard { hp[j * s + mi].abs() } else { 1.0 },
                Model::Alif { .. } => [c.alpha_m, c.alpha_m * c.beta, c.rho, c.rho * c.beta].iter().copied().fold(0.0, f64::max),
                Model::Loihi => 0.0,
            };
            let dd = sens / b.delta * b.d_psi + b.lj;
            let sum_e: f64 = (0..s).map(|l| st.ef[j * s + l].abs()).sum();
            let tol = 0.5 * b.le + c.alpha * (0.5 * b.le + dd * sum_e);
            for (fsl, &csl) in map.iter().enumerate() {
                let fixed_v = val(after.etrace[j * s + csl] as i64, f.etrace_frac);
                rep.check("etrace", fixed_v, fs.ef[j * s + fsl], tol, || ctx(&format!("neuron {j} slot {fsl}")));
            }
        }

        // --- ε^x, ε^o, r
        let dx: Vec<f64> = (0..P)
            .map(|_| b.lt + if sc.presyn == Presyn::None { 0.0 } else { 0.5 * b.lt + b.d_eff })
            .collect();
        for i in 0..P {
            rep.check("xtrace", val(after.xtrace[i] as i64, f.trace_frac), fs.ex[i], dx[i], || ctx(&format!("axon {i}")));
        }
        for j in 0..N {
            rep.check("otrace", val(after.otrace[j] as i64, f.trace_frac), fs.eo[j], b.lt, || ctx(&format!("neuron {j}")));
        }
        for k in 0..O {
            rep.check("readout r", val(after.r[k] as i64, f.state_frac), fs.r[k], 0.5 * lr, || ctx(&format!("output {k}")));
        }

        // --- error e and loss
        let de: Vec<f64> = match sc.loss {
            Loss::Mse => vec![0.5 * lr; O],
            Loss::CrossEntropy => ce_error(&fs.r, 0.5 * lr, gf),
        };
        if readout_learns {
            let e_f = fl.error();
            for k in 0..O {
                rep.check("error e", val(after.err[k] as i64, gf), e_f[k], de[k], || ctx(&format!("output {k}")));
            }
            let loss_fixed = after.loss_q16.map(|l| val(l, 16)).unwrap_or(f64::NAN);
            let tol = match sc.loss {
                Loss::Mse => (0..O).map(|k| 0.5 * prod_err(&[(e_f[k], de[k]), (e_f[k], de[k])]) + 0.5 / 65_536.0).sum::<f64>(),
                // −ln p_c = ln Σv − ln v_c against ln ΣV − ln V_c: |ln(Σv/ΣV)| ≤ ΣD (both sums ≥ 1),
                // |ln(v_c/V_c)| ≤ D_c/(V_c − D_c) ≤ 2·δe_c/p_c when δe_c ≤ p_c/2 (δe_c ≥ D_c/ΣV), the r
                // errors move the loss by ≤ Σ_j |p_j − y_j|·dr ≤ 2·dr, the two log2 tables err by < 2⁻¹³
                // each (times ln 2), ln 2's Q.16 constant by 2·10⁻⁶ relative, the final shift floors (2⁻¹⁶).
                // Below p_c/2 the bound is void and the loss is not compared.
                Loss::CrossEntropy => {
                    let StepTarget::Class(k) = sc.target(t) else { unreachable!("cross-entropy target") };
                    let p_c = e_f[k as usize] + 1.0;
                    let sd: f64 = de.iter().sum();
                    if de[k as usize] <= 0.5 * p_c {
                        sd + 2.0 * de[k as usize] / p_c
                            + lr
                            + 2.0 * 2f64.powi(-13) * std::f64::consts::LN_2
                            + 2e-6 * loss_f.abs()
                            + 2f64.powi(-16)
                    } else {
                        f64::INFINITY
                    }
                }
            };
            rep.check("loss", loss_fixed, loss_f, tol, || ctx("loss"));
        }

        // --- ΔW: η·2^wf·[ε^x, ẽ_V, λ] + ½·x_raw·2⁻³² + (½·2⁻¹⁶ | 1)
        let lam_f: Vec<f64> = if hidden_learns { fl.lambda(0).to_vec() } else { vec![0.0; N] };
        let e_f: Vec<f64> = if readout_learns { fl.error().to_vec() } else { vec![0.0; O] };
        let (bmat, fb_f): (Vec<f64>, Vec<f64>) = {
            let bm: Vec<f64> = (0..N * O)
                .map(|q| match sc.signal {
                    Signal::Random => val(sc.random_feedback(q / O, q % O) as i64, f.weight_frac),
                    _ => val(before.v[q] as i64, f.weight_frac),
                })
                .collect();
            let fb = (0..N).map(|j| (0..O).map(|k| bm[j * O + k] * e_f[k]).sum()).collect();
            (bm, fb)
        };
        let round_tail = match sc.mode {
            Mode::Accumulate => 0.5 / 65_536.0,
            Mode::Online => 1.0,
        };
        let acc1 = fl.accumulated();
        for j in 0..N {
            let d_lam = match sc.signal {
                Signal::External => 0.0,
                _ if !hidden_learns => 0.0,
                _ => {
                    let dfb = 0.5 * b.lg + (0..O).map(|k| bmat[j * O + k].abs() * de[k]).sum::<f64>();
                    let psi_f = m.surrogate().psi(m.vhat(&fs.h[j * s..(j + 1) * s]));
                    0.5 * b.lg + prod_err(&[(psi_f, d_psi[j]), (fb_f[j], dfb)])
                }
            };
            let ef_v = fs.ef[j * s + mi];
            let etol = {
                // the ẽ_V bound computed above, recomputed here for the product
                let sens = match sc.model {
                    Model::Lif { hard, .. } => c.alpha_m * if hard { hp[j * s + mi].abs() } else { 1.0 },
                    Model::Alif { .. } => [c.alpha_m, c.alpha_m * c.beta, c.rho, c.rho * c.beta].iter().copied().fold(0.0, f64::max),
                    Model::Loihi => 0.0,
                };
                let sum_e: f64 = (0..s).map(|l| st.ef[j * s + l].abs()).sum();
                0.5 * b.le + c.alpha * (0.5 * b.le + (sens / b.delta * b.d_psi + b.lj) * sum_e)
            };
            for i in 0..P {
                let (fixed_d, float_d) = match sc.mode {
                    Mode::Accumulate => (
                        (after.acc_w[i * N + j] as f64 - before.acc_w[i * N + j] as f64) / 65_536.0,
                        (acc1.layers[0].w[i * N + j] - acc0.layers[0].w[i * N + j]) / unit,
                    ),
                    Mode::Online => (
                        after.w[i * N + j] as f64 - before.w[i * N + j] as f64,
                        (fl.params.layers[0].w[i * N + j] - before.w[i * N + j] as f64 * unit) / unit,
                    ),
                };
                if fixed_d != 0.0 {
                    rep.updates_nonzero.0 += 1;
                }
                let x_raw = after.xtrace[i] as f64;
                let tol = eta * two_wf * prod_err(&[(fs.ex[i], dx[i]), (ef_v, etol), (lam_f[j], d_lam)])
                    + 0.5 * x_raw * 2f64.powi(-32)
                    + round_tail;
                rep.check("dW", fixed_d, float_d, tol, || ctx(&format!("W[{i}][{j}]")));
                if sc.mode == Mode::Online {
                    rep.online_bias[0].add(fixed_d, float_d, tol - round_tail);
                }
            }
        }
        for j in 0..N {
            for k in 0..O {
                let (fixed_d, float_d) = match sc.mode {
                    Mode::Accumulate => (
                        (after.acc_v[j * O + k] as f64 - before.acc_v[j * O + k] as f64) / 65_536.0,
                        (acc1.readout[j * O + k] - acc0.readout[j * O + k]) / vunit,
                    ),
                    Mode::Online => (
                        after.v[j * O + k] as f64 - before.v[j * O + k] as f64,
                        (fl.params.readout[j * O + k] - before.v[j * O + k] as f64 * vunit) / vunit,
                    ),
                };
                if fixed_d != 0.0 {
                    rep.updates_nonzero.1 += 1;
                }
                let x_raw = after.otrace[j] as f64;
                let de_k = if readout_learns { de[k] } else { 0.0 };
                let tol = eta_o * two_wf * prod_err(&[(fs.eo[j], b.lt), (e_f[k], de_k)]) + 0.5 * x_raw * 2f64.powi(-32) + round_tail;
                rep.check("dV", fixed_d, float_d, tol, || ctx(&format!("V[{j}][{k}]")));
                if sc.mode == Mode::Online {
                    rep.online_bias[1].add(fixed_d, float_d, tol - round_tail);
                }
            }
        }
        before = after;
    }
    rep.chip_effects = before.chip_effects;
    rep
}

