//! Event files: labelled samples of sensor events `(t, x, y, p)` or `(t, channel)` (the form the `tonic`
//! library gives event-camera and audio data sets), read from and written to `.npz`, `.npy` or CSV, and
//! turned into per-timestep spike lists for a network's input. The file format, with exact array names,
//! dtypes, columns, units and limits, is `hw-notes/event-files.md`.
//!
//! Module tree = the path of the data:
//! - this file: the in-memory form ([`EventSet`] of [`Sample`]s of [`Event`]s on a [`Sensor`]), the one
//!   validation every reader ends in ([`assemble`]), errors, and [`read()`] / [`write()`] by file extension;
//! - [`npy`]: `.npz` (one array per field, samples as offsets) and `.npy` (one 2-D table) through
//!   `ndarray-npy` and `zip`;
//! - [`csv`]: the same table as `.npy`, as text with a header;
//! - [`bins`]: events → spikes per timestep ([`bins::to_spikes`]) and back ([`bins::from_spikes`]);
//! - [`digits`]: rate-coded sklearn digits as an event set (input for demonstrations and tests).
//!
//! Guarantee: no reader panics or allocates more than a small multiple of the file's size on any input;
//! every problem is one [`EventError`] naming the file and what is wrong (array or line, sample, event).
pub mod bins;
pub mod csv;
pub mod digits;
pub mod npy;

use std::fmt;
use std::path::Path;

/// Channels a sensor may have: channel numbers are `u16` in spike lists.
pub const MAX_CHANNELS: u64 = 1 << 16;

/// The sensor the events come from; fixes how `(x, y, p)` flatten to a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sensor {
    /// A 2-D sensor with polarities (tonic's `sensor_size = (W, H, P)`): channel = (p·H + y)·W + x, the
    /// row-major index of tonic's `ToFrame` layout `[P][H][W]`.
    Xyp {
        /// W: x in 0..W.
        width: u32,
        /// H: y in 0..H.
        height: u32,
        /// P: p in 0..P.
        polarities: u32,
    },
    /// Plain channels 0..n (tonic's audio data sets: `(t, x)` with `sensor_size = (n, 1, 1)`).
    Channels {
        /// n.
        n: u32,
    },
}

impl Sensor {
    /// Number of channels (W·H·P or n).
    pub fn channels(&self) -> u64 {
        match *self {
            Sensor::Xyp { width, height, polarities } => width as u64 * height as u64 * polarities as u64,
            Sensor::Channels { n } => n as u64,
        }
    }
    /// Check 1 ≤ channels ≤ 65 536 and no zero dimension.
    pub fn validate(&self) -> Result<(), String> {
        let c = self.channels();
        if c == 0 {
            return Err(format!("sensor size {self} has no channels"));
        }
        if c > MAX_CHANNELS {
            return Err(format!("sensor size {self} has {c} channels, more than the {MAX_CHANNELS} a u16 channel can name"));
        }
        Ok(())
    }
    /// Channel of `(x, y, p)`, or `None` if a coordinate is out of range (for `Channels`, `x` is the channel
    /// and `y`, `p` must be 0).
    pub fn channel(&self, x: i64, y: i64, p: i64) -> Option<u16> {
        match *self {
            Sensor::Xyp { width, height, polarities } => {
                let ok = (0..width as i64).contains(&x) && (0..height as i64).contains(&y) && (0..polarities as i64).contains(&p);
                ok.then(|| ((p * height as i64 + y) * width as i64 + x) as u16)
            }
            Sensor::Channels { n } => ((0..n as i64).contains(&x) && y == 0 && p == 0).then_some(x as u16),
        }
    }
    /// `(x, y, p)` of a channel (inverse of [`Sensor::channel`]; for `Channels`, `(channel, 0, 0)`).
    pub fn xyp(&self, channel: u16) -> (u32, u32, u32) {
        let c = channel as u32;
        match *self {
            // (max(1): a sensor that failed `validate` gives nonsense, not a division by zero)
            Sensor::Xyp { width, height, .. } => {
                let (w, h) = (width.max(1), height.max(1));
                (c % w, (c / w) % h, c / (w * h))
            }
            Sensor::Channels { .. } => (c, 0, 0),
        }
    }
    /// Parse `W,H,P` or `C` (the command-line form).
    pub fn parse(s: &str) -> Result<Self, String> {
        let v: Result<Vec<u32>, _> = s.split(',').map(|x| x.trim().parse::<u32>()).collect();
        let v = v.map_err(|e| format!("sensor size `{s}`: {e} (expected W,H,P or C)"))?;
        let sensor = match v[..] {
            [w, h, p] => Sensor::Xyp { width: w, height: h, polarities: p },
            [n] => Sensor::Channels { n },
            _ => return Err(format!("sensor size `{s}`: expected W,H,P or C")),
        };
        sensor.validate()?;
        Ok(sensor)
    }
}

impl fmt::Display for Sensor {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Sensor::Xyp { width, height, polarities } => write!(f, "({width}, {height}, {polarities})"),
            Sensor::Channels { n } => write!(f, "({n})"),
        }
    }
}

/// One event: time since the start of its sample and the flattened channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Event {
    /// Microseconds since the start of the sample (tonic's unit for t).
    pub t_us: u64,
    /// Channel, `< sensor.channels()`.
    pub channel: u16,
}

/// One labelled sample: its events in non-decreasing time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Class label.
    pub label: u32,
    /// Events, `t_us` non-decreasing.
    pub events: Vec<Event>,
}

/// A data set of labelled samples on one sensor. Invariants (checked by [`EventSet::validate`], and by
/// every reader): the sensor has 1..=65 536 channels, every channel is in range, times are non-decreasing
/// within a sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSet {
    /// The sensor.
    pub sensor: Sensor,
    /// Samples, in file order.
    pub samples: Vec<Sample>,
}

impl EventSet {
    /// Check the invariants of the type.
    pub fn validate(&self) -> Result<(), String> {
        self.sensor.validate()?;
        for (s, smp) in self.samples.iter().enumerate() {
            for (k, e) in smp.events.iter().enumerate() {
                if e.channel as u64 >= self.sensor.channels() {
                    return Err(format!("sample {s}, event {k}: channel {} out of range for sensor {}", e.channel, self.sensor));
                }
                if k > 0 && e.t_us < smp.events[k - 1].t_us {
                    return Err(format!("sample {s}, event {k}: t = {} µs before the previous event's {} µs", e.t_us, smp.events[k - 1].t_us));
                }
            }
        }
        Ok(())
    }
    /// Total number of events.
    pub fn n_events(&self) -> usize {
        self.samples.iter().map(|s| s.events.len()).sum()
    }
}

/// What is wrong with an event file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The file could not be read or written.
    Io(String),
    /// The extension is none of `.npz`, `.npy`, `.csv`.
    Extension,
    /// The zip container of a `.npz` is broken or truncated.
    Container(String),
    /// A required array is absent from the `.npz`.
    MissingArray(&'static str),
    /// An array is not a valid `.npy` (truncated, bad header, big-endian, ...).
    Array {
        /// Array name (`t`, `x`, ..., or `table` for a `.npy`).
        array: &'static str,
        /// The `ndarray-npy` error.
        detail: String,
    },
    /// An array's dtype is not an integer type.
    Dtype {
        /// Array name.
        array: &'static str,
        /// The descriptor found (for example `'<f8'`).
        found: String,
    },
    /// An array has the wrong number of dimensions or length.
    Shape {
        /// Array name.
        array: &'static str,
        /// What was expected.
        expected: String,
        /// The shape found.
        found: Vec<usize>,
    },
    /// A value is out of range (label < 0, offsets not increasing, a sample index that skips, ...).
    Value(String),
    /// The number of labels does not match the number of samples, or one sample has two labels.
    Labels(String),
    /// An event time is negative.
    NegativeTime {
        /// Where: "sample s, event k (row r)".
        at: String,
        /// t in µs.
        t: i64,
    },
    /// Event times go back within a sample.
    Unsorted {
        /// Where.
        at: String,
        /// This event's t.
        t: i64,
        /// The previous event's t.
        prev: i64,
    },
    /// A coordinate or channel is outside the sensor.
    OutOfRange {
        /// Where.
        at: String,
        /// The coordinates.
        what: String,
        /// The sensor.
        sensor: Sensor,
    },
    /// The sensor size is missing, invalid, or differs from the one asked for.
    Sensor(String),
    /// A CSV line cannot be parsed.
    Csv {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// The event set cannot be stored in this format (a `.npy`/CSV cannot hold a sample without events).
    Unrepresentable(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Problem::Io(e) => write!(f, "{e}"),
            Problem::Extension => write!(f, "unknown extension (expected .npz, .npy or .csv)"),
            Problem::Container(e) => write!(f, "not a readable .npz (zip) archive: {e}"),
            Problem::MissingArray(a) => write!(f, "array `{a}` is missing"),
            Problem::Array { array, detail } => write!(f, "array `{array}`: {detail}"),
            Problem::Dtype { array, found } => {
                write!(f, "array `{array}` has dtype {found}; an integer dtype is required (int8..int64, uint8..uint64 or bool)")?;
                if found.starts_with('[') {
                    write!(f, "; a structured array (tonic's in-memory form) must be saved as one array per field")?;
                }
                Ok(())
            }
            Problem::Shape { array, expected, found } => write!(f, "array `{array}` has shape {found:?}, expected {expected}"),
            Problem::Value(e) => write!(f, "{e}"),
            Problem::Labels(e) => write!(f, "labels: {e}"),
            Problem::NegativeTime { at, t } => write!(f, "{at}: negative time t = {t} µs"),
            Problem::Unsorted { at, t, prev } => {
                write!(f, "{at}: t = {t} µs is before the previous event's t = {prev} µs (times must not decrease within a sample)")
            }
            Problem::OutOfRange { at, what, sensor } => write!(f, "{at}: {what} is outside the sensor {sensor}"),
            Problem::Sensor(e) => write!(f, "sensor size: {e}"),
            Problem::Csv { line, detail } => write!(f, "line {line}: {detail}"),
            Problem::Unrepresentable(e) => write!(f, "{e}"),
        }
    }
}

/// An event-file error: the file and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("event file {path}: {problem}")]
pub struct EventError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub problem: Problem,
}

impl EventError {
    /// An error about `path`; the texts it carries from other libraries are folded onto one line.
    fn new(path: &Path, problem: Problem) -> Self {
        let problem = match problem {
            Problem::Io(e) => Problem::Io(one_line(&e)),
            Problem::Container(e) => Problem::Container(one_line(&e)),
            Problem::Array { array, detail } => Problem::Array { array, detail: one_line(&detail) },
            Problem::Dtype { array, found } => Problem::Dtype { array, found: one_line(&found) },
            p => p,
        };
        Self { path: path.display().to_string(), problem }
    }
}

/// Join the non-empty lines of `s` with "; ".
fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

/// Where the coordinates of the events come from.
pub enum Coords<'a> {
    /// x, y, p per event.
    Xyp(&'a [i64], &'a [i64], &'a [i64]),
    /// channel per event.
    Channel(&'a [i64]),
}

/// The columns every reader produces, before validation: event times and coordinates, each sample's event
/// range and its label.
pub struct Columns<'a> {
    /// t per event, µs.
    pub t: &'a [i64],
    /// Coordinates per event.
    pub coords: Coords<'a>,
    /// Per sample: the range of event indices.
    pub samples: &'a [std::ops::Range<usize>],
    /// Per sample: the label.
    pub labels: &'a [i64],
    /// How to name event i in a message ("event 17", "line 19", "row 17").
    pub row_name: &'a dyn Fn(usize) -> String,
}

/// The one validation of every reader: label count, label range, times (non-negative, non-decreasing within
/// a sample), coordinates inside the sensor.
pub fn assemble(path: &Path, sensor: Sensor, c: Columns) -> Result<EventSet, EventError> {
    let err = |p| EventError::new(path, p);
    sensor.validate().map_err(|e| err(Problem::Sensor(e)))?;
    if c.labels.len() != c.samples.len() {
        return Err(err(Problem::Labels(format!("{} labels for {} samples", c.labels.len(), c.samples.len()))));
    }
    let mut samples = Vec::with_capacity(c.samples.len());
    for (s, (range, &label)) in c.samples.iter().zip(c.labels).enumerate() {
        let label = u32::try_from(label).map_err(|_| err(Problem::Labels(format!("sample {s}: label {label} is not in 0..2^32"))))?;
        let mut events = Vec::with_capacity(range.len());
        let mut prev = 0i64;
        for (k, i) in range.clone().enumerate() {
            let at = || format!("sample {s}, event {k} ({})", (c.row_name)(i));
            let t = c.t[i];
            if t < 0 {
                return Err(err(Problem::NegativeTime { at: at(), t }));
            }
            if k > 0 && t < prev {
                return Err(err(Problem::Unsorted { at: at(), t, prev }));
            }
            prev = t;
            let (x, y, p) = match c.coords {
                Coords::Xyp(x, y, p) => (x[i], y[i], p[i]),
                Coords::Channel(ch) => (ch[i], 0, 0),
            };
            let channel = sensor.channel(x, y, p).ok_or_else(|| {
                let what = match c.coords {
                    Coords::Xyp(..) => format!("(x, y, p) = ({x}, {y}, {p})"),
                    Coords::Channel(_) => format!("channel {x}"),
                };
                err(Problem::OutOfRange { at: at(), what, sensor })
            })?;
            events.push(Event { t_us: t as u64, channel });
        }
        samples.push(Sample { label, events });
    }
    Ok(EventSet { sensor, samples })
}

/// Reconcile the sensor size stored in a file (if any) with the one the caller gives (if any).
fn pick_sensor(path: &Path, in_file: Option<Sensor>, given: Option<Sensor>) -> Result<Sensor, EventError> {
    let err = |m: String| EventError::new(path, Problem::Sensor(m));
    match (in_file, given) {
        (Some(f), Some(g)) if f != g => Err(err(format!("the file says {f}, the caller asked for {g}"))),
        (Some(s), _) | (None, Some(s)) => {
            s.validate().map_err(err)?;
            Ok(s)
        }
        (None, None) => Err(err("the file stores none (.npy and CSV never do): give one (W,H,P or C)".into())),
    }
}

/// File formats, chosen by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.npz`: one array per field.
    Npz,
    /// `.npy`: one 2-D integer table.
    Npy,
    /// `.csv`: the same table as text.
    Csv,
}

impl Format {
    /// The format of a path by its extension (case-insensitive).
    pub fn of(path: &Path) -> Result<Self, EventError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("npz") => Ok(Format::Npz),
            Some("npy") => Ok(Format::Npy),
            Some("csv") => Ok(Format::Csv),
            _ => Err(EventError::new(path, Problem::Extension)),
        }
    }
}

/// Read an event file (format by extension). `sensor` is required for `.npy` and CSV (they store none);
/// for a `.npz` it must equal the stored one if given.
pub fn read(path: &Path, sensor: Option<Sensor>) -> Result<EventSet, EventError> {
    let format = Format::of(path)?;
    let bytes = std::fs::read(path).map_err(|e| EventError::new(path, Problem::Io(e.to_string())))?;
    match format {
        Format::Npz => npy::read_npz(path, &bytes, sensor),
        Format::Npy => npy::read_npy_table(path, &bytes, sensor),
        Format::Csv => csv::read_csv(path, &bytes, sensor),
    }
}

/// Write an event set (format by extension), atomically (a `.tmp` file, then a rename).
pub fn write(path: &Path, set: &EventSet) -> Result<(), EventError> {
    let format = Format::of(path)?;
    set.validate().map_err(|e| EventError::new(path, Problem::Value(format!("the event set to write is invalid: {e}"))))?;
    let bytes = match format {
        Format::Npz => npy::npz_bytes(path, set)?,
        Format::Npy => npy::npy_table_bytes(path, set)?,
        Format::Csv => csv::csv_bytes(path, set)?,
    };
    crate::reference::plot::write_atomic(path, &bytes).map_err(|e| EventError::new(path, Problem::Io(e.to_string())))
}

/// The table form shared by `.npy` and CSV: one row per event, `sample, label, t, x, y, p` or
/// `sample, label, t, channel`. Rows must be grouped by sample, samples numbered 0, 1, 2, ... in order.
pub(crate) fn table_rows(path: &Path, set: &EventSet) -> Result<Vec<Vec<i64>>, EventError> {
    let mut rows = Vec::with_capacity(set.n_events());
    for (s, smp) in set.samples.iter().enumerate() {
        if smp.events.is_empty() {
            return Err(EventError::new(
                path,
                Problem::Unrepresentable(format!("sample {s} has no events, which a one-row-per-event table cannot hold (write a .npz)")),
            ));
        }
        for e in &smp.events {
            let mut r = vec![s as i64, smp.label as i64, e.t_us as i64];
            match set.sensor {
                Sensor::Xyp { .. } => {
                    let (x, y, p) = set.sensor.xyp(e.channel);
                    r.extend([x as i64, y as i64, p as i64]);
                }
                Sensor::Channels { .. } => r.push(e.channel as i64),
            }
            rows.push(r);
        }
    }
    Ok(rows)
}

/// Split a table (`sample, label, t, coords...` per row, already parsed) into samples and validate it.
pub(crate) fn from_table(
    path: &Path,
    sensor: Option<Sensor>,
    xyp: bool,
    cols: [&[i64]; 3],
    coords: &[&[i64]],
    row_name: &dyn Fn(usize) -> String,
) -> Result<EventSet, EventError> {
    let [sample, label, t] = cols;
    let err = |p| EventError::new(path, p);
    let sensor = pick_sensor(path, None, sensor)?;
    if xyp != matches!(sensor, Sensor::Xyp { .. }) {
        return Err(err(Problem::Sensor(format!(
            "the file has {} columns but the sensor size {sensor} is {}",
            if xyp { "x, y, p" } else { "channel" },
            if xyp { "one channel count" } else { "W,H,P" }
        ))));
    }
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut labels: Vec<i64> = Vec::new();
    for i in 0..sample.len() {
        let (s, l) = (sample[i], label[i]);
        let cur = ranges.len() as i64 - 1;
        if cur >= 0 && s == cur {
            if l != labels[cur as usize] {
                return Err(err(Problem::Labels(format!(
                    "sample {s} is labelled {} and, at {}, {l} (one label per sample)",
                    labels[cur as usize],
                    row_name(i)
                ))));
            }
            if let Some(r) = ranges.last_mut() {
                r.end = i + 1;
            }
        } else if s == cur + 1 {
            ranges.push(i..i + 1);
            labels.push(l);
        } else if cur < 0 {
            return Err(err(Problem::Value(format!("{}: the first sample is {s}, not 0 (samples are numbered 0, 1, 2, ... in order)", row_name(i)))));
        } else {
            return Err(err(Problem::Value(format!(
                "{}: sample {s} follows sample {cur} (rows must be grouped by sample, numbered 0, 1, 2, ... in order)",
                row_name(i)
            ))));
        }
    }
    let coords = if xyp { Coords::Xyp(coords[0], coords[1], coords[2]) } else { Coords::Channel(coords[0]) };
    assemble(path, sensor, Columns { t, coords, samples: &ranges, labels: &labels, row_name })
}
