//! Input readers of `plasticore nir simulate`, kept small and separate so the general event-file reader
//! (`host-tools/src/events/`, in progress elsewhere) can replace them.
//!
//! - **CSV events** (`.csv`): one event per line, `t,channel`; `t` is the step index (integer ≥ 0),
//!   `channel` the input index (integer, 0 ≤ channel < n_in, the top-level Input nodes concatenated in name
//!   order). A first line that does not parse as numbers is a header and is skipped; blank lines and lines
//!   starting with `#` are skipped. Each event adds 1 to `input[t][channel]` (two events on one step and
//!   channel give 2).
//! - **Dense `.npy`**: a float32 or float64 array of shape [T, n_in], read with `ndarray-npy`.
use super::NirError;
use std::path::Path;

/// Largest number of steps accepted from an input file.
pub const MAX_STEPS: usize = 10_000_000;

/// Parse CSV events into `steps × n_in` dense input (`steps` = max t + 1 when `None`).
pub fn events_csv(
    text: &str,
    n_in: usize,
    steps: Option<usize>,
) -> Result<Vec<Vec<f64>>, NirError> {
    let mut ev: Vec<(usize, usize)> = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let mut it = l.split(',').map(str::trim);
        let (a, b) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
        match (a.parse::<usize>(), b.parse::<usize>()) {
            (Ok(t), Ok(c)) if it.next().is_none() => {
                if c >= n_in {
                    return Err(NirError::Input(format!(
                        "line {}: channel {c} is not below the graph's {n_in} inputs",
                        ln + 1
                    )));
                }
                if t >= MAX_STEPS {
                    return Err(NirError::Input(format!(
                        "line {}: step {t} is beyond {MAX_STEPS}",
                        ln + 1
                    )));
                }
                ev.push((t, c));
            }
            _ if ev.is_empty() && ln == 0 => {} // header
            _ => {
                return Err(NirError::Input(format!(
                    "line {}: expected `t,channel` (two non-negative integers), got `{l}`",
                    ln + 1
                )))
            }
        }
    }
    let t_max = ev.iter().map(|e| e.0 + 1).max().unwrap_or(0);
    let steps = match steps {
        Some(s) if s < t_max => {
            return Err(NirError::Input(format!(
                "an event is at step {} but --steps is {s}",
                t_max - 1
            )))
        }
        Some(s) => s,
        None => t_max,
    };
    if steps > MAX_STEPS {
        return Err(NirError::Input(format!("{steps} steps exceed {MAX_STEPS}")));
    }
    let mut x = vec![vec![0.0; n_in]; steps];
    for (t, c) in ev {
        x[t][c] += 1.0;
    }
    Ok(x)
}

/// Read a dense [T, n_in] `.npy` (float32 or float64).
pub fn dense_npy(path: &Path, n_in: usize) -> Result<Vec<Vec<f64>>, NirError> {
    use ndarray_npy::ReadNpyExt;
    let open =
        || std::fs::File::open(path).map_err(|e| NirError::Io(format!("{}: {e}", path.display())));
    let a: ndarray::Array2<f64> = match ndarray::Array2::<f64>::read_npy(open()?) {
        Ok(a) => a,
        Err(_) => ndarray::Array2::<f32>::read_npy(open()?)
            .map_err(|e| {
                NirError::Input(format!(
                    "{}: not a 2-D float32/float64 .npy: {e}",
                    path.display()
                ))
            })?
            .mapv(f64::from),
    };
    if a.ncols() != n_in {
        return Err(NirError::Input(format!(
            "{}: {} columns, the graph takes {n_in} inputs",
            path.display(),
            a.ncols()
        )));
    }
    if a.iter().any(|x| !x.is_finite()) {
        return Err(NirError::Input(format!(
            "{}: values must be finite",
            path.display()
        )));
    }
    Ok(a.rows().into_iter().map(|r| r.to_vec()).collect())
}
