//! `.npz` and `.npy` event files, through `ndarray-npy` (array headers and data) and `zip` (the container).
//!
//! Arrays are parsed with `ArrayView::view_npy` over bytes already in memory: the header's shape is checked
//! against the bytes present before any element is touched, so a truncated or lying header is an error,
//! never an allocation of the size it claims. Every integer dtype (`int8`..`int64`, `uint8`..`uint64`,
//! `bool`) is accepted, little-endian (numpy's default); values are widened to `i64`.
use super::{assemble, from_table, pick_sensor, table_rows, Columns, Coords, EventError, EventSet, Problem, Sensor};
use ndarray::{Array1, Array2, ArrayViewD};
use ndarray_npy::{NpzWriter, ViewNpyError, ViewNpyExt, WriteNpyExt};
use std::io::{Cursor, Read};
use std::path::Path;

/// Largest array read from a `.npz` entry (decompressed), 4 GiB: a guard against decompression bombs.
pub const MAX_ARRAY_BYTES: u64 = 1 << 32;

/// An integer array widened to i64, with its shape.
struct Ints {
    v: Vec<i64>,
    shape: Vec<usize>,
}

/// Parse one `.npy` image as an integer array of any dtype.
fn ints(path: &Path, array: &'static str, bytes: &[u8]) -> Result<Ints, EventError> {
    let err = |p| EventError::new(path, p);
    let detail = |e: ViewNpyError| {
        let d = match e {
            ViewNpyError::NonNativeEndian => "big-endian data; write it little-endian (numpy's default)".to_string(),
            e => e.to_string(),
        };
        err(Problem::Array { array, detail: d })
    };
    macro_rules! try_as {
        ($($ty:ty),*) => {{
            let mut found: Option<String> = None;
            $(
                match ArrayViewD::<$ty>::view_npy(bytes) {
                    Ok(view) => {
                        let mut v = Vec::with_capacity(view.len());
                        for &x in view.iter() {
                            v.push(i64::try_from(x).map_err(|_| {
                                err(Problem::Value(format!("array `{array}`: value {x} does not fit in int64")))
                            })?);
                        }
                        return Ok(Ints { v, shape: view.shape().to_vec() });
                    }
                    Err(ViewNpyError::WrongDescriptor(d)) => found = found.or(Some(d.to_string())),
                    Err(e) => return Err(detail(e)),
                }
            )*
            found.unwrap_or_default()
        }};
    }
    let found = try_as!(i64, i32, i16, i8, u64, u32, u16, u8, bool);
    Err(err(Problem::Dtype { array, found }))
}

/// Read entry `name` (numpy's `name.npy`, or `name`) of a zip archive; `None` if absent.
fn entry(path: &Path, zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &'static str) -> Result<Option<Vec<u8>>, EventError> {
    let err = |e: String| EventError::new(path, Problem::Container(format!("array `{name}`: {e}")));
    for candidate in [format!("{name}.npy"), name.to_string()] {
        match zip.by_name(&candidate) {
            Ok(f) => {
                let mut out = Vec::new();
                f.take(MAX_ARRAY_BYTES + 1).read_to_end(&mut out).map_err(|e| err(e.to_string()))?;
                if out.len() as u64 > MAX_ARRAY_BYTES {
                    return Err(err(format!("larger than {MAX_ARRAY_BYTES} bytes decompressed")));
                }
                return Ok(Some(out));
            }
            Err(zip::result::ZipError::FileNotFound) => {}
            Err(e) => return Err(err(e.to_string())),
        }
    }
    Ok(None)
}

/// A 1-D integer array of a `.npz`, or `None` if absent.
fn array1(path: &Path, zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &'static str) -> Result<Option<Vec<i64>>, EventError> {
    let Some(bytes) = entry(path, zip, name)? else { return Ok(None) };
    let a = ints(path, name, &bytes)?;
    if a.shape.len() != 1 {
        return Err(EventError::new(path, Problem::Shape { array: name, expected: "a 1-D array".into(), found: a.shape }));
    }
    Ok(Some(a.v))
}

/// Read a `.npz` event file (layout: `hw-notes/event-files.md`).
pub fn read_npz(path: &Path, bytes: &[u8], sensor: Option<Sensor>) -> Result<EventSet, EventError> {
    let err = |p| EventError::new(path, p);
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| err(Problem::Container(e.to_string())))?;
    let req = |zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &'static str| array1(path, zip, name)?.ok_or(err(Problem::MissingArray(name)));
    let t = req(&mut zip, "t")?;
    let offsets = req(&mut zip, "offsets")?;
    let labels = req(&mut zip, "labels")?;
    let channel = array1(path, &mut zip, "channel")?;
    let (x, y, p) = (array1(path, &mut zip, "x")?, array1(path, &mut zip, "y")?, array1(path, &mut zip, "p")?);
    let stored = match array1(path, &mut zip, "sensor_size")? {
        None => None,
        Some(s) => Some(match s[..] {
            [w, h, p] if [w, h, p].iter().all(|&v| (1..=u32::MAX as i64).contains(&v)) => {
                Sensor::Xyp { width: w as u32, height: h as u32, polarities: p as u32 }
            }
            [n] if (1..=u32::MAX as i64).contains(&n) => Sensor::Channels { n: n as u32 },
            _ => return Err(err(Problem::Sensor(format!("`sensor_size` {s:?}: expected [W, H, P] or [C], all positive")))),
        }),
    };
    let sensor = pick_sensor(path, stored, sensor)?;
    let len_ok = |name: &'static str, v: &[i64]| {
        if v.len() == t.len() {
            Ok(())
        } else {
            Err(err(Problem::Shape { array: name, expected: format!("[{}] (one value per event, as `t`)", t.len()), found: vec![v.len()] }))
        }
    };
    let coords = match (&channel, &x, &y, &p) {
        (Some(c), None, None, None) => {
            len_ok("channel", c)?;
            Coords::Channel(c)
        }
        (None, Some(x), Some(y), Some(p)) => {
            len_ok("x", x)?;
            len_ok("y", y)?;
            len_ok("p", p)?;
            Coords::Xyp(x, y, p)
        }
        (Some(_), ..) => return Err(err(Problem::Value("both `channel` and `x`/`y`/`p` arrays: store one form".into()))),
        (None, None, ..) => return Err(err(Problem::MissingArray("x (or channel)"))),
        (None, Some(_), None, _) => return Err(err(Problem::MissingArray("y"))),
        (None, Some(_), Some(_), None) => return Err(err(Problem::MissingArray("p"))),
    };
    if matches!(coords, Coords::Channel(_)) != matches!(sensor, Sensor::Channels { .. }) {
        return Err(err(Problem::Sensor(format!(
            "the file stores {} but the sensor size {sensor} is {}",
            if matches!(coords, Coords::Channel(_)) { "`channel`" } else { "`x`, `y`, `p`" },
            if matches!(sensor, Sensor::Channels { .. }) { "a channel count" } else { "W, H, P" }
        ))));
    }
    // offsets: S + 1 entries, 0 first, non-decreasing, the event count last
    if offsets.len() != labels.len() + 1 {
        return Err(err(Problem::Labels(format!(
            "{} labels but `offsets` has {} entries, i.e. {} samples (offsets needs one more entry than there are labels)",
            labels.len(),
            offsets.len(),
            offsets.len().saturating_sub(1)
        ))));
    }
    if offsets[0] != 0 || offsets[offsets.len() - 1] != t.len() as i64 {
        return Err(err(Problem::Value(format!(
            "`offsets` must start at 0 and end at the event count {}; it runs {} .. {}",
            t.len(),
            offsets[0],
            offsets[offsets.len() - 1]
        ))));
    }
    let mut ranges = Vec::with_capacity(labels.len());
    for (s, w) in offsets.windows(2).enumerate() {
        if w[1] < w[0] {
            return Err(err(Problem::Value(format!("`offsets` decreases at sample {s}: {} then {}", w[0], w[1]))));
        }
        ranges.push(w[0] as usize..w[1] as usize);
    }
    assemble(path, sensor, Columns { t: &t, coords, samples: &ranges, labels: &labels, row_name: &|i| format!("event {i}") })
}

/// Read a `.npy` table: a 2-D integer array, one row per event, columns `sample, label, t, x, y, p` (6) or
/// `sample, label, t, channel` (4).
pub fn read_npy_table(path: &Path, bytes: &[u8], sensor: Option<Sensor>) -> Result<EventSet, EventError> {
    let a = ints(path, "table", bytes)?;
    let ncol = match a.shape[..] {
        [_, c @ (4 | 6)] => c,
        _ => {
            return Err(EventError::new(
                path,
                Problem::Shape {
                    array: "table",
                    expected: "[events, 6] (sample, label, t, x, y, p) or [events, 4] (sample, label, t, channel)".into(),
                    found: a.shape,
                },
            ))
        }
    };
    let rows = a.shape[0];
    let col = |c: usize| (0..rows).map(|r| a.v[r * ncol + c]).collect::<Vec<i64>>();
    let cols: Vec<Vec<i64>> = (0..ncol).map(col).collect();
    let coords: Vec<&[i64]> = cols[3..].iter().map(Vec::as_slice).collect();
    from_table(path, sensor, ncol == 6, [&cols[0], &cols[1], &cols[2]], &coords, &|i| format!("row {i}"))
}

fn write_err(path: &Path, e: impl std::fmt::Display) -> EventError {
    EventError::new(path, Problem::Io(e.to_string()))
}

/// The bytes of a compressed `.npz` holding `set`.
pub fn npz_bytes(path: &Path, set: &EventSet) -> Result<Vec<u8>, EventError> {
    let n = set.n_events();
    let mut t = Vec::with_capacity(n);
    let mut ch = Vec::with_capacity(n);
    let mut offsets = vec![0i64];
    for s in &set.samples {
        for e in &s.events {
            t.push(e.t_us as i64);
            ch.push(e.channel);
        }
        offsets.push(t.len() as i64);
    }
    let labels: Array1<i64> = set.samples.iter().map(|s| s.label as i64).collect();
    let mut w = NpzWriter::new_compressed(Cursor::new(Vec::new()));
    let mut add = |name: &str, a: Array1<i64>| w.add_array(name, &a).map_err(|e| write_err(path, e));
    add("t", Array1::from(t))?;
    match set.sensor {
        Sensor::Xyp { width, height, polarities } => {
            let xyp: Vec<(u32, u32, u32)> = ch.iter().map(|&c| set.sensor.xyp(c)).collect();
            add("x", xyp.iter().map(|v| v.0 as i64).collect())?;
            add("y", xyp.iter().map(|v| v.1 as i64).collect())?;
            add("p", xyp.iter().map(|v| v.2 as i64).collect())?;
            add("sensor_size", Array1::from(vec![width as i64, height as i64, polarities as i64]))?;
        }
        Sensor::Channels { n } => {
            add("channel", ch.iter().map(|&c| c as i64).collect())?;
            add("sensor_size", Array1::from(vec![n as i64]))?;
        }
    }
    add("offsets", Array1::from(offsets))?;
    add("labels", labels)?;
    Ok(w.finish().map_err(|e| write_err(path, e))?.into_inner())
}

/// The bytes of a `.npy` table holding `set` (int64, C order).
pub fn npy_table_bytes(path: &Path, set: &EventSet) -> Result<Vec<u8>, EventError> {
    let rows = table_rows(path, set)?;
    let ncol = if matches!(set.sensor, Sensor::Xyp { .. }) { 6 } else { 4 };
    let a = Array2::from_shape_vec((rows.len(), ncol), rows.concat()).map_err(|e| write_err(path, e))?;
    let mut out = Vec::new();
    a.write_npy(&mut out).map_err(|e| write_err(path, e))?;
    Ok(out)
}
