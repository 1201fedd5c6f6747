//! Event files (`plasticore::events`, `hw-notes/event-files.md`): numpy-written files read as numpy wrote
//! them, binning into spikes, round trips through every format, and one clear error (naming the file and
//! what is wrong) for every malformed, truncated or mislabelled file, never a panic.
use ndarray::{Array1, Array2};
use ndarray_npy::{NpzWriter, WriteNpyExt};
use plasticore::events::bins::{from_spikes, to_spikes, Binning, SpikeSample};
use plasticore::events::{self, Event, EventError, EventSet, Problem, Sample, Sensor};
use std::io::Cursor;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/events_fixtures").join(name)
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("plasticore-events-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

const XYP: Sensor = Sensor::Xyp { width: 4, height: 3, polarities: 2 };

fn ev(t_us: u64, channel: u16) -> Event {
    Event { t_us, channel }
}

/// What `make.py` wrote into xyp.npz (channel = (p·3 + y)·4 + x).
fn xyp_expected() -> EventSet {
    EventSet {
        sensor: XYP,
        samples: vec![
            Sample { label: 2, events: vec![ev(0, 0), ev(1500, 23), ev(1500, 5), ev(2999, 14)] },
            Sample { label: 0, events: vec![] },
            Sample { label: 9, events: vec![ev(5, 23), ev(5, 23), ev(700, 4)] },
        ],
    }
}

#[test]
fn numpy_written_files_read_as_numpy_wrote_them() {
    // savez_compressed, mixed dtypes (uint8 x, int16 y, bool p, int32 labels)
    assert_eq!(events::read(&fixture("xyp.npz"), None).unwrap(), xyp_expected());
    assert_eq!(events::read(&fixture("xyp.npz"), Some(XYP)).unwrap(), xyp_expected());
    // savez (stored, not deflated), channel form, uint32 t
    let chan = EventSet {
        sensor: Sensor::Channels { n: 5 },
        samples: vec![Sample { label: 1, events: vec![ev(10, 4)] }, Sample { label: 3, events: vec![ev(20, 0), ev(20, 4)] }],
    };
    assert_eq!(events::read(&fixture("chan.npz"), None).unwrap(), chan);
    // the table form, int32, Fortran order: xyp.npz without its empty sample
    let mut want = xyp_expected();
    want.samples.remove(1);
    assert_eq!(events::read(&fixture("table.npy"), Some(XYP)).unwrap(), want);
}

#[test]
fn binning_floors_t_over_dt_sorts_channels_and_counts_merged_events() {
    let set = xyp_expected();
    let (s, st) = to_spikes(&set, Binning { dt_us: 1000, steps: None }).unwrap();
    assert_eq!(st.steps, 3, "longest sample: ⌊2999/1000⌋ + 1");
    assert_eq!((st.events, st.merged), (7, 1));
    assert_eq!(s[0], SpikeSample { label: 2, steps: vec![vec![0], vec![5, 23], vec![14]] });
    assert_eq!(s[1], SpikeSample { label: 0, steps: vec![vec![], vec![], vec![]] });
    assert_eq!(s[2], SpikeSample { label: 9, steps: vec![vec![4, 23], vec![], vec![]] });
    // a fixed length: padding with empty steps, and an error for an event beyond it
    let (s, _) = to_spikes(&set, Binning { dt_us: 1000, steps: Some(5) }).unwrap();
    assert_eq!(s[0].steps.len(), 5);
    assert!(s[0].steps[3].is_empty() && s[0].steps[4].is_empty());
    let e = to_spikes(&set, Binning { dt_us: 1000, steps: Some(2) }).unwrap_err();
    assert!(e.to_string().contains("sample 0") && e.to_string().contains("2999"), "{e}");
    assert!(to_spikes(&set, Binning { dt_us: 0, steps: None }).is_err());
    // asking for more steps than a sample may have is refused before anything is allocated
    let e = to_spikes(&set, Binning { dt_us: 1000, steps: Some(usize::MAX) }).unwrap_err();
    assert!(matches!(e, plasticore::events::bins::BinError::TooManySteps { .. }), "{e}");
    // a time stamp far away is an error, not a huge allocation
    let far = EventSet { sensor: XYP, samples: vec![Sample { label: 0, events: vec![ev(u64::MAX / 2, 0)] }] };
    assert!(to_spikes(&far, Binning { dt_us: 1, steps: None }).is_err());
}

/// A seeded event set with every kind of sample (empty ones only where the format can hold them).
fn random_set(sensor: Sensor, samples: usize, allow_empty: bool, seed: u64) -> EventSet {
    let mut r = plasticore::reference::rng::Rng::new(seed);
    let n = sensor.channels() as usize;
    let samples = (0..samples)
        .map(|_| {
            let k = if allow_empty { r.below(30) } else { 1 + r.below(30) };
            let mut t: Vec<u64> = (0..k).map(|_| r.below(50_000) as u64).collect();
            t.sort_unstable();
            Sample { label: r.below(10) as u32, events: t.into_iter().map(|t| ev(t, r.below(n) as u16)).collect() }
        })
        .collect();
    EventSet { sensor, samples }
}

#[test]
fn every_format_round_trips_bit_for_bit() {
    for sensor in [XYP, Sensor::Channels { n: 700 }, Sensor::Xyp { width: 256, height: 256, polarities: 1 }] {
        let with_empty = random_set(sensor, 40, true, 7);
        let p = tmp("rt.npz");
        events::write(&p, &with_empty).unwrap();
        assert_eq!(events::read(&p, None).unwrap(), with_empty, "npz {sensor}");
        let full = random_set(sensor, 40, false, 8);
        for ext in ["npz", "npy", "csv"] {
            let p = tmp(&format!("rt.{ext}"));
            events::write(&p, &full).unwrap();
            assert!(!Path::new(&format!("{}.tmp", p.display())).exists(), "written atomically");
            let given = if ext == "npz" { None } else { Some(sensor) };
            assert_eq!(events::read(&p, given).unwrap(), full, "{ext} {sensor}");
        }
        // a table cannot hold an empty sample: an error, not a silently dropped sample
        let e = events::write(&tmp("rt.csv"), &with_empty).unwrap_err();
        assert!(matches!(e.problem, Problem::Unrepresentable(_)), "{e}");
    }
}

#[test]
fn spikes_to_events_and_back_is_the_identity() {
    let set = random_set(XYP, 20, true, 9);
    let (spikes, st) = to_spikes(&set, Binning { dt_us: 250, steps: None }).unwrap();
    let back = from_spikes(XYP, &spikes, 250).unwrap();
    let (again, st2) = to_spikes(&back, Binning { dt_us: 250, steps: Some(st.steps) }).unwrap();
    assert_eq!(again, spikes);
    assert_eq!(st2.merged, 0);
    // lists that are not ascending or name a channel outside the sensor are refused
    let bad = vec![SpikeSample { label: 0, steps: vec![vec![3, 1]] }];
    assert!(from_spikes(XYP, &bad, 1).is_err());
    let bad = vec![SpikeSample { label: 0, steps: vec![vec![24]] }];
    assert!(from_spikes(XYP, &bad, 1).is_err());
}

#[test]
fn rate_coded_digits_carry_the_spikes_train_evaluates_on() {
    use plasticore::events::digits::{rate_coded, RateCoding};
    use plasticore::tasks::digits;
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(digits::DEFAULT_PATH);
    assert!(data.exists(), "the digits data set is missing: {} (the checkout must sit beside shared/)", data.display());
    let (_, test) = digits::split(digits::load(&data).unwrap(), 360, 1);
    let test = &test[..25];
    let c = RateCoding { steps: 40, p_max: 0.2, dt_us: 1000, seed: 1 };
    let p = tmp("digits.npz");
    events::write(&p, &rate_coded(test, c).unwrap()).unwrap();
    let read = events::read(&p, None).unwrap();
    let (spikes, st) = to_spikes(&read, Binning { dt_us: 1000, steps: Some(40) }).unwrap();
    assert_eq!(st.merged, 0);
    for (k, (d, s)) in test.iter().zip(&spikes).enumerate() {
        // the same trial `train --task digits --seed 1` builds for held-out image k
        let tr = digits::trial(d, 40, 10, 0.2, 1 ^ (k as u64 + 77));
        assert_eq!(s.label as usize, tr.label);
        for (step, x) in tr.seq.inputs.iter().enumerate() {
            let want: Vec<u16> = x.iter().enumerate().filter(|(_, &v)| v == 1.0).map(|(i, _)| i as u16).collect();
            assert_eq!(s.steps[step], want, "image {k}, step {step}");
        }
    }
}

// ---- malformed files ------------------------------------------------------------------------------------

/// A `.npz` of the given int64 arrays (and f64 ones), written with ndarray-npy.
fn npz(name: &str, ints: &[(&str, Vec<i64>)], floats: &[(&str, Vec<f64>)]) -> PathBuf {
    let mut w = NpzWriter::new(Cursor::new(Vec::new()));
    for (n, v) in ints {
        w.add_array(*n, &Array1::from(v.clone())).unwrap();
    }
    for (n, v) in floats {
        w.add_array(*n, &Array1::from(v.clone())).unwrap();
    }
    let p = tmp(name);
    std::fs::write(&p, w.finish().unwrap().into_inner()).unwrap();
    p
}

/// A valid channel-form set as arrays: 2 samples, sensor (8).
fn good() -> Vec<(&'static str, Vec<i64>)> {
    vec![
        ("t", vec![0, 5, 9, 3]),
        ("channel", vec![1, 7, 2, 0]),
        ("offsets", vec![0, 3, 4]),
        ("labels", vec![4, 1]),
        ("sensor_size", vec![8]),
    ]
}

fn with(name: &str, v: Vec<i64>) -> Vec<(&'static str, Vec<i64>)> {
    good().into_iter().map(|(n, old)| if n == name { (n, v.clone()) } else { (n, old) }).collect()
}

fn without(name: &str) -> Vec<(&'static str, Vec<i64>)> {
    good().into_iter().filter(|(n, _)| *n != name).collect()
}

/// Reading `p` fails with an error that names the file and satisfies `is`; the message contains `says`.
fn fails(p: &Path, sensor: Option<Sensor>, is: impl Fn(&Problem) -> bool, says: &str) -> EventError {
    let e = events::read(p, sensor).expect_err(&format!("{} should not read", p.display()));
    let msg = e.to_string();
    assert!(is(&e.problem), "{}: unexpected problem {:?}", p.display(), e.problem);
    assert!(msg.starts_with(&format!("event file {}: ", p.display())), "the message names the file: {msg}");
    assert!(msg.contains(says), "`{says}` not in: {msg}");
    assert_eq!(msg.lines().count(), 1, "one line: {msg}");
    e
}

#[test]
fn the_good_npz_reads() {
    let s = events::read(&npz("good.npz", &good(), &[]), None).unwrap();
    assert_eq!(s.samples[0].events, vec![ev(0, 1), ev(5, 7), ev(9, 2)]);
}

#[test]
fn truncated_files_are_errors_at_every_length() {
    for (name, sensor) in [("xyp.npz", None), ("table.npy", Some(XYP)), ("chan.npz", None)] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for len in 0..bytes.len() {
            let p = tmp(&format!("cut-{len}-{name}"));
            std::fs::write(&p, &bytes[..len]).unwrap();
            let e = events::read(&p, sensor).expect_err(&format!("{name} cut to {len} bytes read"));
            assert!(e.to_string().starts_with(&format!("event file {}", p.display())));
            std::fs::remove_file(&p).unwrap();
        }
    }
    // the two a user meets: a .npy cut inside its data, a .npz cut inside its directory
    let bytes = std::fs::read(fixture("table.npy")).unwrap();
    let p = tmp("cut.npy");
    std::fs::write(&p, &bytes[..bytes.len() - 5]).unwrap();
    fails(&p, Some(XYP), |q| matches!(q, Problem::Array { array: "table", .. }), "missing 5 bytes");
    let bytes = std::fs::read(fixture("xyp.npz")).unwrap();
    std::fs::write(p.with_extension("npz"), &bytes[..bytes.len() - 30]).unwrap();
    fails(&p.with_extension("npz"), None, |q| matches!(q, Problem::Container(_)), "zip");
}

#[test]
fn damaged_bytes_never_panic() {
    for (name, sensor) in [("xyp.npz", None), ("table.npy", Some(XYP))] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let p = tmp(&format!("flip-{name}"));
        for i in 0..bytes.len() {
            for mask in [0x01u8, 0xFF] {
                let mut b = bytes.clone();
                b[i] ^= mask;
                std::fs::write(&p, &b).unwrap();
                // Ok (a flipped value still in range) or one error, never a panic
                if let Err(e) = events::read(&p, sensor) {
                    assert_eq!(e.to_string().lines().count(), 1, "{name}, byte {i} ^ {mask:#x}: {e}");
                }
            }
        }
    }
}

#[test]
fn wrong_dtypes_shapes_and_missing_arrays_are_named() {
    let g = good();
    let float_t = npz("float-t.npz", &g.iter().filter(|(n, _)| *n != "t").cloned().collect::<Vec<_>>(), &[("t", vec![0.0, 5.0, 9.0, 3.0])]);
    fails(&float_t, None, |q| matches!(q, Problem::Dtype { array: "t", .. }), "'<f8'");
    fails(&npz("no-labels.npz", &without("labels"), &[]), None, |q| matches!(q, Problem::MissingArray("labels")), "`labels` is missing");
    fails(&npz("no-t.npz", &without("t"), &[]), None, |q| matches!(q, Problem::MissingArray("t")), "`t`");
    fails(&npz("no-ch.npz", &without("channel"), &[]), None, |q| matches!(q, Problem::MissingArray(_)), "channel");
    fails(&npz("short-ch.npz", &with("channel", vec![1, 7, 2]), &[]), None, |q| matches!(q, Problem::Shape { array: "channel", .. }), "[4]");
    // a 2-D `t`
    let mut w = NpzWriter::new(Cursor::new(Vec::new()));
    for (n, v) in without("t") {
        w.add_array(n, &Array1::from(v)).unwrap();
    }
    w.add_array("t", &Array2::<i64>::zeros((2, 2))).unwrap();
    let p = tmp("t2d.npz");
    std::fs::write(&p, w.finish().unwrap().into_inner()).unwrap();
    fails(&p, None, |q| matches!(q, Problem::Shape { array: "t", .. }), "1-D");
    // big-endian int64 `t`: a clear refusal
    let mut w = NpzWriter::new(Cursor::new(Vec::new()));
    for (n, v) in without("t") {
        w.add_array(n, &Array1::from(v)).unwrap();
    }
    w.finish().unwrap();
    let mut be = Vec::new();
    Array1::from(vec![0i64, 5, 9, 3]).write_npy(&mut be).unwrap();
    let hdr = be.windows(3).position(|w| w == b"<i8").unwrap();
    be[hdr] = b'>';
    let p = tmp("be.npy");
    std::fs::write(&p, &be).unwrap();
    fails(&p, Some(Sensor::Channels { n: 8 }), |q| matches!(q, Problem::Array { .. }), "big-endian");
    // a .npy table of the wrong width
    let mut b = Vec::new();
    Array2::<i64>::zeros((3, 5)).write_npy(&mut b).unwrap();
    let p = tmp("w5.npy");
    std::fs::write(&p, &b).unwrap();
    fails(&p, Some(XYP), |q| matches!(q, Problem::Shape { array: "table", .. }), "[3, 5]");
    // not an archive at all, and an unknown extension
    let p = tmp("text.npz");
    std::fs::write(&p, b"hello").unwrap();
    fails(&p, None, |q| matches!(q, Problem::Container(_)), "zip");
    let p = tmp("x.h5");
    std::fs::write(&p, b"hello").unwrap();
    fails(&p, None, |q| matches!(q, Problem::Extension), ".npz, .npy or .csv");
    fails(&tmp("absent.npz"), None, |q| matches!(q, Problem::Io(_)), "No such file");
}

#[test]
fn label_count_and_mislabelled_samples_are_errors() {
    fails(&npz("3labels.npz", &with("labels", vec![4, 1, 2]), &[]), None, |q| matches!(q, Problem::Labels(_)), "3 labels");
    fails(&npz("neg-label.npz", &with("labels", vec![4, -1]), &[]), None, |q| matches!(q, Problem::Labels(_)), "label -1");
    let p = tmp("mislabelled.csv");
    std::fs::write(&p, "sample,label,t,channel\n0,4,0,1\n0,4,5,7\n0,3,9,2\n1,1,3,0\n").unwrap();
    fails(&p, Some(Sensor::Channels { n: 8 }), |q| matches!(q, Problem::Labels(_)), "line 4");
    let p = tmp("minus1.csv");
    std::fs::write(&p, "sample,label,t,channel\n-1,4,0,1\n").unwrap();
    fails(&p, Some(Sensor::Channels { n: 8 }), |q| matches!(q, Problem::Value(_)), "line 2: the first sample is -1, not 0");
    let p = tmp("skip.csv");
    std::fs::write(&p, "sample,label,t,channel\n0,4,0,1\n2,1,3,0\n").unwrap();
    fails(&p, Some(Sensor::Channels { n: 8 }), |q| matches!(q, Problem::Value(_)), "sample 2 follows sample 0");
}

#[test]
fn negative_or_unsorted_times_are_errors() {
    fails(&npz("neg-t.npz", &with("t", vec![0, -5, 9, 3]), &[]), None, |q| matches!(q, Problem::NegativeTime { t: -5, .. }), "sample 0, event 1");
    fails(&npz("unsorted.npz", &with("t", vec![0, 9, 5, 3]), &[]), None, |q| matches!(q, Problem::Unsorted { t: 5, prev: 9, .. }), "sample 0, event 2");
    // times restart at every sample: sample 1 starting before sample 0 ended is fine
    assert!(events::read(&npz("restart.npz", &with("t", vec![10, 20, 30, 0]), &[]), None).is_ok());
}

#[test]
fn coordinates_outside_the_sensor_are_errors() {
    fails(&npz("ch8.npz", &with("channel", vec![1, 8, 2, 0]), &[]), None, |q| matches!(q, Problem::OutOfRange { .. }), "channel 8");
    fails(&npz("ch-neg.npz", &with("channel", vec![1, -1, 2, 0]), &[]), None, |q| matches!(q, Problem::OutOfRange { .. }), "channel -1");
    let p = tmp("x4.csv");
    std::fs::write(&p, "sample,label,t,x,y,p\n0,1,0,3,2,1\n0,1,1,4,0,0\n").unwrap();
    fails(&p, Some(XYP), |q| matches!(q, Problem::OutOfRange { .. }), "(x, y, p) = (4, 0, 0)");
    fails(&p, Some(XYP), |_| true, "line 3");
    fails(&npz("offsets.npz", &with("offsets", vec![0, 5, 4]), &[]), None, |q| matches!(q, Problem::Value(_)), "offsets");
    fails(&npz("offsets0.npz", &with("offsets", vec![1, 3, 4]), &[]), None, |q| matches!(q, Problem::Value(_)), "start at 0");
}

#[test]
fn sensor_sizes_are_checked() {
    let p = npz("good2.npz", &good(), &[]);
    fails(&p, Some(Sensor::Channels { n: 9 }), |q| matches!(q, Problem::Sensor(_)), "the file says (8), the caller asked for (9)");
    fails(&p, Some(XYP), |q| matches!(q, Problem::Sensor(_)), "(4, 3, 2)");
    fails(&npz("huge.npz", &with("sensor_size", vec![65_537]), &[]), None, |q| matches!(q, Problem::Sensor(_)), "65537 channels");
    fails(&npz("zero.npz", &with("sensor_size", vec![0]), &[]), None, |q| matches!(q, Problem::Sensor(_)), "sensor_size");
    fails(&npz("nosensor.npz", &without("sensor_size"), &[]), None, |q| matches!(q, Problem::Sensor(_)), "give one");
    assert!(events::read(&npz("nosensor2.npz", &without("sensor_size"), &[]), Some(Sensor::Channels { n: 8 })).is_ok());
    fails(&fixture("table.npy"), None, |q| matches!(q, Problem::Sensor(_)), "give one");
    fails(&fixture("table.npy"), Some(Sensor::Channels { n: 9 }), |q| matches!(q, Problem::Sensor(_)), "x, y, p");
    assert!(Sensor::parse("8,8").is_err() && Sensor::parse("300,300,1").is_err() && Sensor::parse("a").is_err());
    assert_eq!(Sensor::parse("34, 34, 2"), Ok(Sensor::Xyp { width: 34, height: 34, polarities: 2 }));
}

#[test]
fn csv_syntax_errors_name_the_line() {
    let s = Some(Sensor::Channels { n: 8 });
    for (text, says) in [
        ("", "empty file"),
        ("sample,label,time,channel\n", "missing `t`"),
        ("sample,label,t,channel\n0,1,2\n", "line 2: 3 fields"),
        ("sample,label,t,channel\n0,1,2,3\n0,1,2.5,3\n", "line 3: column `t`: `2.5` is not an integer"),
        ("# comment\nsample,label,t,channel\n\n0,1,2,3\n0,1,x,3\n", "line 5"),
    ] {
        let p = tmp("syntax.csv");
        std::fs::write(&p, text).unwrap();
        fails(&p, s, |q| matches!(q, Problem::Csv { .. }), says);
    }
    // columns in another order, comments and blank lines are fine
    let p = tmp("order.csv");
    std::fs::write(&p, "# made by hand\nt,channel,label,sample\n\n0,1,4,0\n5,7,4,0\n").unwrap();
    assert_eq!(events::read(&p, s).unwrap().samples[0].events, vec![ev(0, 1), ev(5, 7)]);
}

#[test]
fn the_events_command_writes_digits_inspects_and_converts() {
    let bin = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_plasticore"));
        c.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE").current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        c
    };
    let npz = tmp("cli-digits.npz");
    let csv = tmp("cli-digits.csv");
    let (n, c) = (npz.to_string_lossy().into_owned(), csv.to_string_lossy().into_owned());
    let o = bin().args(["events", "digits", "-o", &n, "--limit", "30", "--steps", "50"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = bin().args(["events", "convert", &n, &c]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let info = |args: &[&str]| -> serde_json::Value {
        let o = bin().args(["events", "info"]).args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let a = info(&[&n]);
    let b = info(&[&c, "--sensor", "8,8,1"]);
    assert_eq!(a["samples"], 30);
    assert_eq!(a["steps"], 50);
    assert_eq!(a["sensor"], serde_json::json!([8, 8, 1]));
    for k in ["events", "spikes", "labels", "merged", "max_t_us"] {
        assert_eq!(a[k], b[k], "{k}");
    }
    assert_eq!(a["events"], a["spikes"], "one event per (step, channel): nothing merged at dt = 1 ms");
    // a bad file: one line naming it, exit 1
    let o = bin().args(["events", "info", &c]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("error: event file {c}: sensor size")), "{err}");
}

#[test]
fn a_digits_event_file_reproduces_train_accuracy_and_feeds_quantize() {
    // the pipeline on "rate-coded digits read from an event file": train in float, write the held-out
    // digits as events, read them back as the input of `quantize`
    let bin = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_plasticore"));
        c.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE").current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        c
    };
    let d = tmp("pipeline");
    let ds = d.to_string_lossy().into_owned();
    let ev = d.join("test.npz").to_string_lossy().into_owned();
    let json = |o: std::process::Output| -> serde_json::Value {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(o.stdout.split(|&b| b == b'\n').next().unwrap()).unwrap()
    };
    let t = json(
        bin()
            .args(["train", "--task", "digits", "--hidden", "16,8", "--recurrent", "1,0", "--iters", "30", "--batch", "8", "--steps", "20"])
            .args(["--test-trials", "60", "--eval-every", "30", "--lr", "0.01", "--out", &ds])
            .output()
            .unwrap(),
    );
    json(bin().args(["events", "digits", "-o", &ev, "--limit", "60", "--steps", "20"]).output().unwrap());
    let net = d.join("train_digits_net.json").to_string_lossy().into_owned();
    let q = json(bin().args(["quantize", "--net", &net, "--events", &ev, "--bits", "16", "--calib", "10"]).output().unwrap());
    // the same spikes, the same network: the same accuracy, to the bit
    assert_eq!(q["accuracy_float"], t["metrics"]["final_test_accuracy"]);
    assert_eq!(q["samples"], 60);
    assert_eq!(q["loss_steps"], 5, "steps / 4, as train");
    let names: Vec<&str> = q["projections"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["L0.in", "L0.rec", "L1.in", "readout"]);
    assert!(q["problems"].as_array().unwrap().is_empty(), "{}", q["problems"]);
    // 16-bit weights: every weight within 2^-(frac+1) of its float value with frac ≥ 10 here, far below the
    // membrane margins of these spikes; allow one sample of 60 to flip
    let (f, w) = (q["accuracy_float"].as_f64().unwrap(), q["accuracy_quantized_weights"].as_f64().unwrap());
    assert!((f - w).abs() <= 1.0 / 60.0 + 1e-12, "float {f}, 16-bit weights {w}");
    for p in q["projections"].as_array().unwrap() {
        assert!(p["frac"].as_i64().unwrap() >= 10, "{p}");
    }
    // a network whose inputs do not match the sensor is one clear error
    let o = bin().args(["quantize", "--net", &net, "--events", &fixture("chan.npz").to_string_lossy()]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.trim_end().lines().count() == 1 && err.contains("5 channels, the network 64 inputs"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}
