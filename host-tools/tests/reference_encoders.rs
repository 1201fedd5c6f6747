//! Saccade (N-MNIST-style) encoder and IDX reader: the properties `shared/spec/spike-encoding.md` §3
//! documents (sensor 34×34, 2 polarities, 300 ms, about half ON, event count falling with C, about 4.4k
//! events per sample at C = 0.5), determinism and seeding, and that bad files are errors.
use plasticore::tasks::mnist::{self, Image, SaccadeConfig};
use std::path::PathBuf;

/// The committed fixture: the first 200 images of each MNIST split (`tests/fixtures/README.md`).
fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mnist")
}

/// The full MNIST, for the `#[ignore]`d full-data test: `$PLASTICORE_DATA/mnist`, else `../shared/data/mnist`
/// beside the checkout. Asked for and missing is an error, never a skip.
fn full_mnist_dir() -> PathBuf {
    let dir = match std::env::var_os("PLASTICORE_DATA") {
        Some(d) => PathBuf::from(d).join("mnist"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(mnist::DEFAULT_DIR),
    };
    assert!(
        dir.join("t10k-images-idx3-ubyte.gz").exists(),
        "the full-data test was asked for but {} has no t10k-images-idx3-ubyte.gz: set PLASTICORE_DATA to the \
         directory holding mnist/ (shared/data)",
        dir.display()
    );
    dir
}

/// A synthetic 28×28 "digit": a bright ring.
fn ring() -> Image {
    let mut pixels = vec![0u8; 28 * 28];
    for y in 0..28 {
        for x in 0..28 {
            let r = (((y as f64 - 13.5).powi(2) + (x as f64 - 13.5).powi(2)).sqrt() - 8.0).abs();
            if r < 2.5 {
                pixels[y * 28 + x] = 255;
            }
        }
    }
    Image { rows: 28, cols: 28, pixels, label: 0 }
}

fn idx(magic_type: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, magic_type, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

#[test]
fn idx_reader_accepts_good_and_rejects_bad_buffers() {
    let im = idx(8, &[2, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7]);
    let lb = idx(8, &[2], &[3, 9]);
    let imgs = mnist::parse_images(&im, &lb).unwrap();
    assert_eq!(imgs.len(), 2);
    assert_eq!(imgs[1].pixels, vec![4, 5, 6, 7]);
    assert_eq!(imgs[1].label, 9);
    assert!(mnist::parse_idx(&[1, 0, 8, 1]).is_err(), "bad magic");
    assert!(mnist::parse_idx(&idx(0x0D, &[1], &[0, 0, 0, 0])).is_err(), "float element type");
    assert!(mnist::parse_idx(&idx(8, &[3], &[1, 2])).is_err(), "truncated data");
    assert!(mnist::parse_idx(&[0, 0, 8, 2, 0, 0]).is_err(), "truncated header");
    assert!(mnist::parse_idx(&idx(8, &[u32::MAX, u32::MAX, u32::MAX, u32::MAX], &[])).is_err(), "size overflow");
    assert!(mnist::parse_images(&im, &idx(8, &[2], &[3, 10])).is_err(), "label out of range");
    assert!(mnist::parse_images(&im, &idx(8, &[3], &[1, 2, 3])).is_err(), "count mismatch");
    assert!(mnist::load(std::path::Path::new("/nonexistent"), "t10k").is_err());
    assert!(mnist::parse_images(&idx(8, &[2, 0, 0], &[]), &idx(8, &[2], &[1, 2])).is_err(), "empty images");
}

#[test]
fn encoder_events_are_sorted_on_the_sensor_and_deterministic() {
    let cfg = SaccadeConfig::default();
    let img = ring();
    let e = cfg.encode(&img, 1).unwrap();
    assert_eq!(e.side, 34);
    assert!(!e.ev.is_empty());
    assert!(e.ev.windows(2).all(|w| w[0].0 <= w[1].0), "sorted by time");
    assert!(e.ev.iter().all(|&(t, x, y, p)| t < 300_000 && t % 1000 == 0 && x < 34 && y < 34 && p <= 1));
    // without jitter the seed does not matter
    assert_eq!(cfg.encode(&img, 2).unwrap(), e);
    // a blank image never changes, so it gives no events
    let blank = Image { pixels: vec![0; 28 * 28], ..img.clone() };
    assert!(cfg.encode(&blank, 1).unwrap().ev.is_empty());
    // jitter: reproducible from the seed, different across seeds
    let j = SaccadeConfig { c_jitter: 0.03, ..cfg.clone() };
    assert_eq!(j.encode(&img, 5).unwrap(), j.encode(&img, 5).unwrap());
    assert_ne!(j.encode(&img, 5).unwrap(), j.encode(&img, 6).unwrap());
    // the binned sequence carries every event once
    let seq = e.to_sequence(img.label, 75, 1);
    assert_eq!(seq.inputs.len(), 300);
    assert_eq!(seq.inputs[0].len(), e.channels());
    assert_eq!(seq.inputs.iter().flatten().sum::<f64>() as usize, e.ev.len());
    assert_eq!(seq.targets.iter().filter(|t| t.is_some()).count(), 75);
    // a hand-made event list with events off the sensor or after the end is binned without panicking
    let mut odd = e.clone();
    odd.ev.extend([(300_000, 0, 0, 1), (0, 40, 0, 0), (0, 0, 40, 1), (0, 0, 0, 7)]);
    assert_eq!(odd.to_sequence(img.label, 75, 1), seq);
    let pooled = e.to_sequence(img.label, 75, 2);
    assert_eq!(pooled.inputs[0].len(), 2 * 17 * 17);
    assert_eq!(pooled.inputs.iter().flatten().sum::<f64>() as usize, e.ev.len());
}

#[test]
fn encoder_rejects_bad_settings_and_images() {
    let img = ring();
    for bad in [
        SaccadeConfig { steps: 100, ..Default::default() },
        SaccadeConfig { steps: 0, ..Default::default() },
        SaccadeConfig { c: 0.0, ..Default::default() },
        SaccadeConfig { c: f64::NAN, ..Default::default() },
        SaccadeConfig { amp: 3.0, ..Default::default() },
        SaccadeConfig { amp: -1.0, ..Default::default() },
        SaccadeConfig { c_jitter: 0.7, ..Default::default() },
    ] {
        assert!(bad.encode(&img, 1).is_err(), "{bad:?}");
    }
    let cfg = SaccadeConfig::default();
    assert!(cfg.encode(&Image { rows: 28, cols: 27, pixels: vec![0; 28 * 27], label: 0 }, 1).is_err());
    assert!(cfg.encode(&Image { rows: 28, cols: 28, pixels: vec![0; 5], label: 0 }, 1).is_err());
}

/// Event statistics over the first 20 test images (the fixture's and the full set's first 20 are the same
/// images), C = 0.2 / 0.5 / 0.8.
fn check_event_statistics(test: &[Image]) {
    let mean_events = |c: f64| {
        let cfg = SaccadeConfig { c, ..Default::default() };
        let (mut n, mut on) = (0usize, 0usize);
        for im in &test[..20] {
            let e = cfg.encode(im, 0).unwrap();
            n += e.ev.len();
            on += e.ev.iter().filter(|e| e.3 == 1).count();
        }
        (n as f64 / 20.0, on as f64 / n as f64)
    };
    let (n2, _) = mean_events(0.2);
    let (n5, on5) = mean_events(0.5);
    let (n8, _) = mean_events(0.8);
    eprintln!("events per sample: C=0.2 {n2:.0}, C=0.5 {n5:.0} (ON fraction {on5:.3}), C=0.8 {n8:.0}");
    assert!(n2 > n5 && n5 > n8, "fewer events for a higher threshold");
    // spike-encoding.md: about 11.6k / 4.4k / 2.6k, half ON (checked with a ±10 % band; measured 11 608, 4 402, 2 489)
    for (got, want) in [(n2, 11_600.0), (n5, 4_400.0), (n8, 2_600.0)] {
        assert!((got / want - 1.0).abs() < 0.1, "{got} events per sample, spec says about {want}");
    }
    assert!((on5 - 0.5).abs() < 0.05, "ON fraction {on5}");
}

#[test]
fn mnist_fixture_has_its_counts_and_the_documented_event_statistics() {
    // Always runs: the first 200 images of each split, committed under tests/fixtures/mnist.
    let dir = fixture_dir();
    let test = mnist::load(&dir, "t10k").unwrap();
    assert_eq!(test.len(), 200);
    assert!(test.iter().all(|i| i.rows == 28 && i.cols == 28 && i.pixels.len() == 784));
    let mut counts = [0usize; 10];
    test.iter().for_each(|i| counts[i.label] += 1);
    assert_eq!(counts, [17, 28, 16, 16, 28, 20, 20, 24, 10, 21]);
    let train = mnist::load(&dir, "train").unwrap();
    let mut counts = [0usize; 10];
    train.iter().for_each(|i| counts[i.label] += 1);
    assert_eq!(counts, [21, 26, 20, 21, 21, 13, 19, 21, 15, 23]);
    check_event_statistics(&test);
}

#[test]
#[ignore = "full MNIST: PLASTICORE_DATA=<dir with mnist/> cargo test -p plasticore --test reference_encoders -- --ignored (scripts/ci.sh runs it)"]
fn full_mnist_has_the_documented_counts_and_event_statistics() {
    let dir = full_mnist_dir();
    let test = mnist::load(&dir, "t10k").unwrap();
    assert_eq!(test.len(), 10_000);
    let mut counts = [0usize; 10];
    test.iter().for_each(|i| counts[i.label] += 1);
    assert_eq!(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    // The fixture is the prefix of the full files.
    assert_eq!(mnist::load(&fixture_dir(), "t10k").unwrap()[..], test[..200]);
    check_event_statistics(&test);
}
