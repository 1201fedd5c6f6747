//! Rate-coded 8×8 digits (`shared/data/sklearn-digits/digits.csv.gz`: 1797 rows of 64 pixels 0..16 + label).
use super::{rate_encode, Trial};
use crate::reference::net::{Sequence, Target};
use crate::reference::rng::Rng;
use crate::reference::RefError;
use std::io::Read;
use std::path::Path;

/// Default path of the data file relative to the repository root (the checkout sits beside `shared/`).
pub const DEFAULT_PATH: &str = "../shared/data/sklearn-digits/digits.csv.gz";

/// One image.
#[derive(Clone, Debug, PartialEq)]
pub struct Digit {
    /// 64 pixels, 0..16, row-major.
    pub pixels: Vec<f64>,
    /// 0..9.
    pub label: usize,
}

/// Parse the gzip CSV (no header, 65 integer columns).
pub fn load(path: &Path) -> Result<Vec<Digit>, RefError> {
    let f = std::fs::File::open(path).map_err(|e| RefError::File(format!("{}: {e}", path.display())))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(f).read_to_string(&mut text).map_err(|e| RefError::File(format!("{}: {e}", path.display())))?;
    parse_csv(&text)
}

/// Parse CSV text of 65 integer columns per row.
pub fn parse_csv(text: &str) -> Result<Vec<Digit>, RefError> {
    let mut out = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Result<Vec<f64>, _> = line.split(',').map(|x| x.trim().parse::<f64>()).collect();
        let v = v.map_err(|e| RefError::File(format!("line {}: {e}", ln + 1)))?;
        if v.len() != 65 {
            return Err(RefError::File(format!("line {}: expected 65 columns, got {}", ln + 1, v.len())));
        }
        let label = v[64];
        if !(0.0..=9.0).contains(&label) || label.fract() != 0.0 || v[..64].iter().any(|p| !(0.0..=16.0).contains(p)) {
            return Err(RefError::File(format!("line {}: pixel or label out of range", ln + 1)));
        }
        out.push(Digit { pixels: v[..64].to_vec(), label: label as usize });
    }
    Ok(out)
}

/// Rate-coded trial: p = p_max·x/16 per step, `steps` steps, cross-entropy on the last `loss_steps` steps.
pub fn trial(d: &Digit, steps: usize, loss_steps: usize, p_max: f64, seed: u64) -> Trial {
    let mut rng = Rng::new(seed);
    let inputs = rate_encode(&d.pixels, 16.0, p_max, steps, &mut rng);
    let targets = (0..steps).map(|t| (t + loss_steps >= steps).then_some(Target::Class(d.label))).collect();
    Trial { seq: Sequence { inputs, targets }, label: d.label }
}

/// Deterministic split: a seeded shuffle, the first `n_test` are the test set.
pub fn split(mut data: Vec<Digit>, n_test: usize, seed: u64) -> (Vec<Digit>, Vec<Digit>) {
    let mut rng = Rng::new(seed);
    for i in (1..data.len()).rev() {
        let j = rng.below(i + 1);
        data.swap(i, j);
    }
    let test = data.drain(..n_test.min(data.len())).collect();
    (data, test)
}
