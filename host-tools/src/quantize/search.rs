//! The per-projection search of the binary point and the report of populations that go silent or saturate.
//!
//! Greedy, input side first (the order the projections are given in): projection k tries every binary point
//! `f` in `frac_min..=frac_max` with projections 0..k already at their chosen points and k+1.. still in
//! float, runs the calibration, and keeps the `f` whose activities differ least from the float run's,
//! summed over all populations:
//!
//! `score = Σ_pop |r_q − r_f| / max(r_f, 10⁻³) + (|lo_q − lo_f| + |hi_q − hi_f|) / max(hi_f − lo_f, 10⁻⁶)`
//!
//! (rate error relative to the float rate, for spiking populations, plus the shift of the 1st–99th
//! percentile membrane or output range relative to its float width). Ties (within 10⁻¹²) go to the smaller
//! weight RMS error. Then every population is judged against the float run: silent if its rate falls
//! below `silent_below` × the float rate, saturated if it fires at ≥ `saturated_above` spikes per neuron
//! per step while the float run does not, or if its membrane range leaves the state format's range; the
//! reason names the incoming projections with how many weights rounded to 0 or clipped.
use super::weights::{max_mantissa, no_clip_frac, quantize, QuantStats};
use super::{Activity, Calibration, Projection, QuantizeError};

/// What to search and how to judge.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchConfig {
    /// Weight mantissa bits including sign, 2..=16 (the chips: 8 or 16).
    pub bits: u8,
    /// Smallest binary point tried.
    pub frac_min: i8,
    /// Largest binary point tried.
    pub frac_max: i8,
    /// Silent: rate below this fraction of the float rate.
    pub silent_below: f64,
    /// Saturated: at least this many spikes per neuron per step (while the float run stays below).
    pub saturated_above: f64,
    /// If set, a membrane range beyond ±2^(31 − state_frac) (an i32 in Q.state_frac) is saturation too.
    pub state_frac: Option<u8>,
}

impl SearchConfig {
    /// `bits`-bit weights, binary points 0..=15 (the core's `weight_frac` range), silent below 10 % of the
    /// float rate, saturated at ≥ 0.9 spikes per neuron per step, Q.16 state.
    pub fn new(bits: u8) -> Self {
        Self { bits, frac_min: 0, frac_max: 15, silent_below: 0.1, saturated_above: 0.9, state_frac: Some(16) }
    }
    fn validate(&self) -> Result<(), QuantizeError> {
        let bad = |m: String| Err(QuantizeError::Config(m));
        if !(2..=16).contains(&self.bits) {
            return bad(format!("weight bits {} outside 2..=16", self.bits));
        }
        if self.frac_min > self.frac_max || self.frac_min < -16 || self.frac_max > 30 {
            return bad(format!("binary points {}..={} (need frac_min ≤ frac_max within -16..=30)", self.frac_min, self.frac_max));
        }
        if !(self.silent_below > 0.0 && self.silent_below < 1.0) || !(self.saturated_above > 0.0 && self.saturated_above <= 1.0) {
            return bad("silent_below must be in (0, 1) and saturated_above in (0, 1]".into());
        }
        if self.state_frac.is_some_and(|f| f > 30) {
            return bad("state_frac above 30".into());
        }
        Ok(())
    }
}

/// One binary point tried for a projection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// Binary point.
    pub frac: i8,
    /// Activity mismatch to the float run (see the module doc).
    pub score: f64,
    /// What the quantization did to the weights.
    pub stats: QuantStats,
}

/// The choice for one projection.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectionChoice {
    /// Projection name.
    pub name: String,
    /// Population it drives.
    pub target: String,
    /// Chosen binary point: value = m·2^−frac.
    pub frac: i8,
    /// Weight statistics at the chosen point.
    pub stats: QuantStats,
    /// The largest point at which no weight clips (`None`: all weights 0).
    pub no_clip_frac: Option<i32>,
    /// Every point tried, in order (empty for [`evaluate`]).
    pub candidates: Vec<Candidate>,
}

/// How a population fares.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Active, within the limits.
    Alive,
    /// Goes silent; the reason.
    Silent(String),
    /// Saturates; the reason.
    Saturated(String),
    /// Silent in the float run already (nothing quantization could keep alive).
    SilentInFloat,
}

/// One population: float and fixed activity and the verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationReport {
    /// Name.
    pub name: String,
    /// Float run.
    pub float: Activity,
    /// With the quantized weights.
    pub fixed: Activity,
    /// Verdict.
    pub verdict: Verdict,
}

/// The outcome: a binary point per projection and a verdict per population.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Per projection, in the order given.
    pub projections: Vec<ProjectionChoice>,
    /// Per population, in the calibration's order.
    pub populations: Vec<PopulationReport>,
}

impl Report {
    /// One line per population that goes silent or saturates: `NAME goes silent: REASON`.
    pub fn problems(&self) -> Vec<String> {
        self.populations
            .iter()
            .filter_map(|p| match &p.verdict {
                Verdict::Silent(r) => Some(format!("{} goes silent: {r}", p.name)),
                Verdict::Saturated(r) => Some(format!("{} saturates: {r}", p.name)),
                _ => None,
            })
            .collect()
    }
}

fn check(projs: &[Projection], cal: &dyn Calibration, cfg: &SearchConfig) -> Result<Vec<String>, QuantizeError> {
    cfg.validate()?;
    if projs.is_empty() {
        return Err(QuantizeError::Config("no projections".into()));
    }
    let pops = cal.populations();
    for p in projs {
        p.validate()?;
        if !pops.contains(&p.target) {
            return Err(QuantizeError::UnknownTarget { projection: p.name.clone(), target: p.target.clone() });
        }
    }
    Ok(pops)
}

fn run(cal: &mut dyn Calibration, w: &[Vec<f64>], n_pops: usize) -> Result<Vec<Activity>, QuantizeError> {
    let a = cal.run(w)?;
    if a.len() != n_pops {
        return Err(QuantizeError::Calibration(format!("{} activities for {n_pops} populations", a.len())));
    }
    if a.iter().any(|x| !x.lo.is_finite() || !x.hi.is_finite() || x.rate.is_some_and(|r| !r.is_finite())) {
        return Err(QuantizeError::Calibration("a non-finite activity".into()));
    }
    Ok(a)
}

/// Activity mismatch of `q` to the float run `f` (see the module doc).
pub fn score(q: &[Activity], f: &[Activity]) -> f64 {
    q.iter()
        .zip(f)
        .map(|(q, f)| {
            let rate = match (q.rate, f.rate) {
                (Some(rq), Some(rf)) => (rq - rf).abs() / rf.max(1e-3),
                _ => 0.0,
            };
            rate + ((q.lo - f.lo).abs() + (q.hi - f.hi).abs()) / (f.hi - f.lo).max(1e-6)
        })
        .sum()
}

/// Search a binary point per projection (see the module doc) and judge every population.
pub fn search(projs: &[Projection], cal: &mut dyn Calibration, cfg: &SearchConfig) -> Result<Report, QuantizeError> {
    let pops = check(projs, cal, cfg)?;
    let mut w: Vec<Vec<f64>> = projs.iter().map(|p| p.w.clone()).collect();
    let float = run(cal, &w, pops.len())?;
    let mut choices = Vec::with_capacity(projs.len());
    for (k, p) in projs.iter().enumerate() {
        let mut cands: Vec<(Candidate, Vec<f64>)> = Vec::new();
        for frac in cfg.frac_min..=cfg.frac_max {
            let (q, stats) = quantize(&p.w, cfg.bits, frac);
            w[k] = q;
            let act = run(cal, &w, pops.len())?;
            cands.push((Candidate { frac, score: score(&act, &float), stats }, std::mem::take(&mut w[k])));
        }
        let best = (0..cands.len())
            .min_by(|&a, &b| {
                let (ca, cb) = (&cands[a].0, &cands[b].0);
                if (ca.score - cb.score).abs() <= 1e-12 {
                    ca.stats.rms_err.total_cmp(&cb.stats.rms_err)
                } else {
                    ca.score.total_cmp(&cb.score)
                }
            })
            .unwrap_or(0);
        let chosen = cands[best].0;
        w[k] = std::mem::take(&mut cands[best].1);
        choices.push(ProjectionChoice {
            name: p.name.clone(),
            target: p.target.clone(),
            frac: chosen.frac,
            stats: chosen.stats,
            no_clip_frac: no_clip_frac(&p.w, cfg.bits),
            candidates: cands.into_iter().map(|c| c.0).collect(),
        });
    }
    let fixed = run(cal, &w, pops.len())?;
    Ok(Report { populations: judge(&pops, &float, &fixed, &choices, cfg), projections: choices })
}

/// The report for given binary points (one per projection), e.g. to see what a naive choice does.
pub fn evaluate(projs: &[Projection], fracs: &[i8], cal: &mut dyn Calibration, cfg: &SearchConfig) -> Result<Report, QuantizeError> {
    let pops = check(projs, cal, cfg)?;
    if fracs.len() != projs.len() {
        return Err(QuantizeError::Config(format!("{} binary points for {} projections", fracs.len(), projs.len())));
    }
    let w: Vec<Vec<f64>> = projs.iter().map(|p| p.w.clone()).collect();
    let float = run(cal, &w, pops.len())?;
    let mut wq = Vec::with_capacity(projs.len());
    let mut choices = Vec::with_capacity(projs.len());
    for (p, &frac) in projs.iter().zip(fracs) {
        let (q, stats) = quantize(&p.w, cfg.bits, frac);
        wq.push(q);
        choices.push(ProjectionChoice {
            name: p.name.clone(),
            target: p.target.clone(),
            frac,
            stats,
            no_clip_frac: no_clip_frac(&p.w, cfg.bits),
            candidates: Vec::new(),
        });
    }
    let fixed = run(cal, &wq, pops.len())?;
    Ok(Report { populations: judge(&pops, &float, &fixed, &choices, cfg), projections: choices })
}

/// The incoming projections of `pop`, described by what quantization did to their weights.
fn incoming(pop: &str, choices: &[ProjectionChoice], bits: u8) -> String {
    let v: Vec<String> = choices
        .iter()
        .filter(|c| c.target == pop)
        .map(|c| {
            let lim = max_mantissa(bits) as f64 * 2f64.powi(-(c.frac as i32));
            let fit = c.no_clip_frac.map_or(String::new(), |f| format!("; none clips at frac ≤ {f}"));
            format!(
                "{} at {bits} bits, frac {}: {} of {} weights round to 0 (LSB {}), {} clip at ±{lim} (largest |w| {:.4}{fit})",
                c.name,
                c.frac,
                c.stats.zeroed,
                c.stats.n,
                2f64.powi(-(c.frac as i32)),
                c.stats.clipped,
                c.stats.max_abs
            )
        })
        .collect();
    if v.is_empty() {
        "no quantized projection drives it (an upstream population changed)".into()
    } else {
        v.join("; ")
    }
}

fn judge(pops: &[String], float: &[Activity], fixed: &[Activity], choices: &[ProjectionChoice], cfg: &SearchConfig) -> Vec<PopulationReport> {
    let v_max = cfg.state_frac.map(|f| 2f64.powi(31 - f as i32));
    pops.iter()
        .zip(float.iter().zip(fixed))
        .map(|(name, (&f, &q))| {
            let why = || incoming(name, choices, cfg.bits);
            let verdict = match (f.rate, q.rate) {
                (Some(rf), _) if rf == 0.0 => Verdict::SilentInFloat,
                (Some(rf), Some(rq)) if rq < cfg.silent_below * rf => {
                    Verdict::Silent(format!("{rq:.4} spikes/neuron/step against {rf:.4} in float; {}", why()))
                }
                (Some(rf), Some(rq)) if rq >= cfg.saturated_above && rf < cfg.saturated_above => {
                    Verdict::Saturated(format!("{rq:.4} spikes/neuron/step against {rf:.4} in float; {}", why()))
                }
                _ => match v_max {
                    Some(m) if q.lo < -m || q.hi > m => Verdict::Saturated(format!(
                        "membrane range {:.1}..{:.1} leaves ±{m} (i32 Q.{}); {}",
                        q.lo,
                        q.hi,
                        cfg.state_frac.unwrap_or(0),
                        why()
                    )),
                    _ => Verdict::Alive,
                },
            };
            PopulationReport { name: name.clone(), float: f, fixed: q, verdict }
        })
        .collect()
}
