//! Saccade-encoded MNIST (`shared/spec/spike-encoding.md` §3, N-MNIST emulation) and the IDX reader.
//!
//! The encoder moves the image (padded by [`SaccadeConfig::pad`] pixels) along the triangle
//! (0,0) → (1,2) → (2,0) → (0,0) px, shifted by −1 so it stays inside the pad, one leg per third of the
//! steps, with bilinear sub-pixel shifts. Each pixel of the padded sensor runs a DVS change detector on
//! L = ln(I + 1/255): whenever |L − L_ref| ≥ C it emits floor(|ΔL|/C) events of polarity sign(ΔL) and moves
//! L_ref by that many multiples of C. Without jitter the encoder is deterministic; with `c_jitter > 0` each
//! pixel gets its own threshold C·(1 + σ·n), n ~ N(0, 1), drawn from a seeded generator, so runs are
//! reproducible from the seed. As in `encoders_prototype.py`, the detectors start adapted to the centred
//! (unshifted) image, so the jump to the first vertex gives an onset burst at t = 0.
//!
//! Events are `(t_us, x, y, p)` sorted by time (tonic's order): t in µs (step · 1000), x/y on the
//! (28 + 2·pad)² sensor, p = 1 for ON, 0 for OFF. [`Events::to_sequence`] bins them to 1 ms steps as a
//! network input with 2·side² channels (index p·side² + y·side + x, value = events in that step).
use super::Trial;
use crate::reference::net::{Sequence, Target};
use crate::reference::rng::Rng;
use crate::reference::RefError;
use std::io::Read;
use std::path::Path;

/// Default directory of the MNIST IDX files relative to the repository root (the checkout sits beside
/// `shared/`).
pub const DEFAULT_DIR: &str = "../shared/data/mnist";

/// One grey-level image (row-major, 0..255) and its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// rows·cols pixels.
    pub pixels: Vec<u8>,
    /// 0..9.
    pub label: usize,
}

fn read_gz(path: &Path) -> Result<Vec<u8>, RefError> {
    let f = std::fs::File::open(path).map_err(|e| RefError::File(format!("{}: {e}", path.display())))?;
    let mut b = Vec::new();
    flate2::read::GzDecoder::new(f).read_to_end(&mut b).map_err(|e| RefError::File(format!("{}: {e}", path.display())))?;
    Ok(b)
}

/// Parse an IDX byte buffer (ubyte data): returns the dimensions and the data. Checks the magic, the
/// element type and that the data length equals the product of the dimensions.
pub fn parse_idx(b: &[u8]) -> Result<(Vec<usize>, &[u8]), RefError> {
    if b.len() < 4 || b[0] != 0 || b[1] != 0 {
        return Err(RefError::File("IDX: bad magic".into()));
    }
    if b[2] != 0x08 {
        return Err(RefError::File(format!("IDX: element type 0x{:02x}, only ubyte (0x08) is supported", b[2])));
    }
    let nd = b[3] as usize;
    if nd == 0 || nd > 4 || b.len() < 4 + 4 * nd {
        return Err(RefError::File(format!("IDX: {nd} dimensions or truncated header")));
    }
    let dims: Vec<usize> =
        (0..nd).map(|i| u32::from_be_bytes([b[4 + 4 * i], b[5 + 4 * i], b[6 + 4 * i], b[7 + 4 * i]]) as usize).collect();
    let n = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| RefError::File("IDX: size overflows".into()))?;
    let data = &b[4 + 4 * nd..];
    if data.len() != n {
        return Err(RefError::File(format!("IDX: {} data bytes, header says {n}", data.len())));
    }
    Ok((dims, data))
}

/// Parse an images buffer and a labels buffer (both uncompressed IDX) into images.
pub fn parse_images(images: &[u8], labels: &[u8]) -> Result<Vec<Image>, RefError> {
    let (di, px) = parse_idx(images)?;
    let (dl, lb) = parse_idx(labels)?;
    if di.len() != 3 || dl.len() != 1 || di[0] != dl[0] {
        return Err(RefError::File(format!("IDX: image dims {di:?} do not match label dims {dl:?}")));
    }
    let (rows, cols) = (di[1], di[2]);
    if rows == 0 || cols == 0 {
        return Err(RefError::File("IDX: images with zero rows or columns".into()));
    }
    if let Some(bad) = lb.iter().find(|&&l| l > 9) {
        return Err(RefError::File(format!("IDX: label {bad} out of 0..9")));
    }
    Ok(px.chunks_exact(rows * cols).zip(lb).map(|(p, &l)| Image { rows, cols, pixels: p.to_vec(), label: l as usize }).collect())
}

/// Load `{prefix}-images-idx3-ubyte.gz` and `{prefix}-labels-idx1-ubyte.gz` (prefix `train` or `t10k`) from
/// `dir`.
pub fn load(dir: &Path, prefix: &str) -> Result<Vec<Image>, RefError> {
    let im = read_gz(&dir.join(format!("{prefix}-images-idx3-ubyte.gz")))?;
    let lb = read_gz(&dir.join(format!("{prefix}-labels-idx1-ubyte.gz")))?;
    parse_images(&im, &lb)
}

/// Saccade encoder settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SaccadeConfig {
    /// Padding in pixels on every side (3: a 28×28 image gives N-MNIST's 34×34 sensor).
    pub pad: usize,
    /// Steps of 1 ms over the three legs (300); must be a positive multiple of 3.
    pub steps: usize,
    /// Contrast threshold C on the log intensity (0.5).
    pub c: f64,
    /// Saccade amplitude in pixels (1: the triangle (0,0) → (1,2) → (2,0) spans 2 px).
    pub amp: f64,
    /// Relative per-pixel threshold jitter σ (0 = deterministic; ≈ 0.03 for realism).
    pub c_jitter: f64,
}

impl Default for SaccadeConfig {
    fn default() -> Self {
        Self { pad: 3, steps: 300, c: 0.5, amp: 1.0, c_jitter: 0.0 }
    }
}

/// Events of one image, sorted by time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Events {
    /// Sensor side (rows = columns = image side + 2·pad).
    pub side: usize,
    /// Steps (1 ms each).
    pub steps: usize,
    /// (t_us, x, y, p).
    pub ev: Vec<(u64, u16, u16, u8)>,
}

impl SaccadeConfig {
    /// Check ranges.
    pub fn validate(&self) -> Result<(), RefError> {
        let ok = self.steps >= 3
            && self.steps % 3 == 0
            && self.c > 0.0
            && self.c.is_finite()
            && self.amp >= 0.0
            && (self.amp == 0.0 || self.amp.floor() + 1.0 <= self.pad as f64)
            && (0.0..0.5).contains(&self.c_jitter)
            && self.pad < 1000;
        if ok {
            Ok(())
        } else {
            Err(RefError::Config("saccade: steps a positive multiple of 3, C > 0, 0 <= amp with floor(amp) + 1 <= pad, jitter in [0, 0.5)"))
        }
    }

    /// Sensor side for an image of `cols` columns (square images only).
    pub fn side(&self, img: &Image) -> usize {
        img.cols + 2 * self.pad
    }

    /// Log-intensity frame of the padded sensor with the image shifted by (dy, dx) px (bilinear).
    fn frame(&self, img: &Image, dy: f64, dx: f64, out: &mut [f64]) {
        let side = self.side(img);
        let (iy, ix) = (dy.floor(), dx.floor());
        let (fy, fx) = (dy - iy, dx - ix);
        let (iy, ix) = (iy as isize, ix as isize);
        let mut lin = vec![0.0; side * side];
        for (oy, ox, w) in [(0, 0, (1.0 - fy) * (1.0 - fx)), (1, 0, fy * (1.0 - fx)), (0, 1, (1.0 - fy) * fx), (1, 1, fy * fx)] {
            if w == 0.0 {
                continue;
            }
            for r in 0..img.rows {
                let y = self.pad as isize + iy + oy + r as isize;
                for c in 0..img.cols {
                    let x = self.pad as isize + ix + ox + c as isize;
                    // validate() keeps the shifted image on the sensor; the check only guards rounding
                    if (0..side as isize).contains(&y) && (0..side as isize).contains(&x) {
                        lin[y as usize * side + x as usize] += w * img.pixels[r * img.cols + c] as f64 / 255.0;
                    }
                }
            }
        }
        for (o, l) in out.iter_mut().zip(&lin) {
            *o = (l + 1.0 / 255.0).ln();
        }
    }

    /// Encode one image; `seed` drives the threshold jitter only (ignored when `c_jitter == 0`).
    pub fn encode(&self, img: &Image, seed: u64) -> Result<Events, RefError> {
        self.validate()?;
        if img.rows != img.cols || img.rows == 0 || img.pixels.len() != img.rows * img.cols {
            return Err(RefError::Config("saccade: square, non-empty images only"));
        }
        let side = self.side(img);
        if side > u16::MAX as usize {
            return Err(RefError::Config("saccade: sensor too large"));
        }
        let mut rng = Rng::new(seed);
        let thr: Vec<f64> = (0..side * side)
            .map(|_| if self.c_jitter > 0.0 { (self.c * (1.0 + self.c_jitter * rng.normal())).max(0.01 * self.c) } else { self.c })
            .collect();
        let a = self.amp;
        let verts = [(-a, -a), (0.0, a), (a, -a), (-a, -a)]; // (dy, dx) = triangle − amp
        let leg = self.steps / 3;
        // the detectors start adapted to the centred image (as the prototype does), so the jump to the first
        // vertex (−amp, −amp) at t = 0 is an onset burst
        let mut rf = vec![0.0; side * side];
        self.frame(img, 0.0, 0.0, &mut rf);
        let mut l = vec![0.0; side * side];
        let mut ev = Vec::new();
        for t in 0..self.steps {
            let seg = (t / leg).min(2);
            let f = (t % leg) as f64 / leg as f64;
            let dy = verts[seg].0 + f * (verts[seg + 1].0 - verts[seg].0);
            let dx = verts[seg].1 + f * (verts[seg + 1].1 - verts[seg].1);
            self.frame(img, dy, dx, &mut l);
            let t_us = t as u64 * 1000;
            for p in 0..side * side {
                let d = l[p] - rf[p];
                let n = (d.abs() / thr[p]).floor();
                if n >= 1.0 {
                    let pol = (d > 0.0) as u8;
                    for _ in 0..n as usize {
                        ev.push((t_us, (p % side) as u16, (p / side) as u16, pol));
                    }
                    rf[p] += d.signum() * n * thr[p];
                }
            }
        }
        Ok(Events { side, steps: self.steps, ev })
    }
}

impl Events {
    /// Input channels of [`Events::to_sequence`]: 2·side².
    pub fn channels(&self) -> usize {
        2 * self.side * self.side
    }
    /// Bin to 1 ms steps (channel p·side² + y·side + x, value = number of events), optionally pooled over
    /// `pool`×`pool` sensor blocks (channels 2·⌈side/pool⌉²); targets on the last `loss_steps` steps.
    /// Events outside the sensor or the steps are ignored.
    pub fn to_sequence(&self, label: usize, loss_steps: usize, pool: usize) -> Sequence {
        let pool = pool.max(1);
        let ps = self.side.div_ceil(pool);
        let mut inputs = vec![vec![0.0; 2 * ps * ps]; self.steps];
        for &(t, x, y, p) in &self.ev {
            let (step, x, y) = ((t / 1000) as usize, x as usize, y as usize);
            // events off the sensor or after the last step (a hand-made `Events`) are dropped
            if step >= self.steps || x >= self.side || y >= self.side || p > 1 {
                continue;
            }
            let ch = p as usize * ps * ps + (y / pool) * ps + x / pool;
            inputs[step][ch] += 1.0;
        }
        let targets = (0..self.steps).map(|t| (t + loss_steps >= self.steps).then_some(Target::Class(label))).collect();
        Sequence { inputs, targets }
    }
}

/// A labelled trial of one image.
pub fn trial(cfg: &SaccadeConfig, img: &Image, loss_steps: usize, pool: usize, seed: u64) -> Result<Trial, RefError> {
    let e = cfg.encode(img, seed)?;
    Ok(Trial { seq: e.to_sequence(img.label, loss_steps, pool), label: img.label })
}
