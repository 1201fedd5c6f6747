//! Properties of the network-image reader on any byte string. The fuzz target `image_reader` and the
//! core's test `tests/fuzz_seeds.rs` (which runs every committed seed and regression input) run this same
//! file, so a property is checked in `cargo test` too, not only under libFuzzer.
//!
//! 1. `parse`, `desc`, `config`, `stimulus`, the weight sections, `load` and a few `Runner` steps never
//!    panic: anything wrong is an `ImageError`.
//! 2. `load` is all-or-nothing: when it fails, a network that already held another image keeps its
//!    configuration and every bit (`Net::checksum`).
//! 3. An image that loads equals a fresh load: loading into a used network gives the same checksum and the
//!    same run (`RunSummary`) as loading into a new one.
//! 4. An image that loads re-encodes: `encode(desc, loaded weights, stimulus)` succeeds with exactly
//!    `encoded_len` bytes, parses back to the same description, stimulus and weights, loads to the same
//!    checksum and run, and is a fixed point (encoding its parse again gives the same bytes). If the input
//!    has the writer's section table (same entries) and length, the re-encoding is the input byte for
//!    byte: every field has one encoding, so the reader accepts no second spelling of an image.
//!
//! The CRC would stop almost every mutated input at the door, so an input whose first byte is odd has it
//! removed and its declared length and CRC fixed first ([`prepare`]), letting the fuzzer reach the field
//! decoders and the core's validation.

use plasticore_core::image::{self, Image, NetDesc, RunSummary, Runner, Stimulus, TargetRule};
use plasticore_core::net::Net;

/// Hidden-layer inputs, neurons and outputs of the networks the checker loads into (the firmware's smoke
/// shape: 4 external inputs + 8 recurrent neurons = 12 axons, or 12 feed-forward inputs).
pub const AXONS: usize = 12;
/// Hidden neurons.
pub const NEURONS: usize = 8;
/// Readout units.
pub const OUTPUTS: usize = 2;
/// Steps of the runs compared in properties 3 and 4.
pub const RUN_STEPS: u32 = 4;

/// How far an input got (the seed test asserts that the corpus reaches every stage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reached {
    /// `Image::parse` rejected it.
    Parse,
    /// Parsed; the description, stimulus or weight sections were rejected.
    Decode,
    /// Decoded; `load` rejected it (configuration, dimensions, a weight).
    Load,
    /// Loaded, re-encoded and ran.
    Run,
}

/// The fuzz target's CRC switch: an odd first byte is dropped and the declared length (if the header is
/// there) and the trailing CRC are recomputed.
pub fn prepare(data: &[u8]) -> Vec<u8> {
    let mut buf = data.to_vec();
    if buf.len() >= 5 && buf[0] & 1 == 1 {
        buf.remove(0);
        let n = buf.len();
        if n >= 12 {
            buf[8..12].copy_from_slice(&(n as u32).to_le_bytes());
        }
        let c = image::crc32(&buf[..n - 4]);
        buf[n - 4..].copy_from_slice(&c.to_le_bytes());
    }
    buf
}

/// Run every property on `data` (after [`prepare`]); panics on a violated property.
pub fn check(data: &[u8]) -> Reached {
    let buf = prepare(data);
    let Ok(img) = Image::parse(&buf) else { return Reached::Parse };
    let Ok(desc) = img.desc() else { return Reached::Decode };
    let config = desc.config();
    let Ok(stim) = img.stimulus() else { return Reached::Decode };
    let hidden = img.hidden_weights(&desc);
    let readout = img.readout_weights(&desc);
    let _ = image::encoded_len(&desc, stim.is_some());
    if hidden.is_err() || readout.is_err() {
        return Reached::Decode;
    }
    let reached = match desc.states {
        2 => check_load::<2>(&img, &desc, stim),
        3 => check_load::<3>(&img, &desc, stim),
        _ => check_load::<1>(&img, &desc, stim),
    };
    if reached == Reached::Run {
        assert!(config.is_ok(), "load accepted a description whose config() fails: {:?}", config.err());
    }
    reached
}

type TestNet<const S: usize> = Net<AXONS, NEURONS, OUTPUTS, S>;

/// A valid image of the checker's shape with `S` states per neuron (LIF delta, LIF exponential synapse,
/// ALIF exponential synapse), deterministic weights: what the "used" network holds before each load.
pub fn sentinel_image<const S: usize>() -> Vec<u8> {
    use plasticore_core::format::Decay;
    use plasticore_core::image::NeuronDesc;
    use plasticore_core::neuron::{AlifParams, Synapse};
    let mut d = image::example_desc(4, 8, 2, true);
    let one = 1u32 << d.layer.formats.decay_frac;
    let expon = Synapse::Expon { decay: Decay(one / 2), gain: Decay(one / 4) };
    if let NeuronDesc::Lif(p) = d.layer.neuron {
        d.states = S as u8;
        d.layer.neuron = match S {
            2 => NeuronDesc::Lif(plasticore_core::neuron::LifParams { synapse: expon, ..p }),
            3 => NeuronDesc::Alif(AlifParams {
                decay: p.decay,
                adapt_decay: Decay(one / 100 * 99),
                beta: plasticore_core::format::Voltage(1 << 14),
                threshold: p.threshold,
                reset: p.reset,
                detach_reset: false,
                synapse: expon,
                surrogate: p.surrogate,
            }),
            _ => d.layer.neuron,
        };
    }
    let mut x = 0x9E37_79B9u32;
    let mut w = |span: u32| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        plasticore_core::format::Weight(((x % (2 * span + 1)) as i32 - span as i32) as i16)
    };
    let hidden: Vec<_> = (0..AXONS * NEURONS).map(|_| w(60)).collect();
    let readout: Vec<_> = (0..NEURONS * OUTPUTS).map(|_| w(20)).collect();
    let stim = Stimulus { seed: 5, rate: 1 << 30, steps: 8, target: TargetRule::GroupActivity, amplitude: 1 << 16 };
    let mut buf = vec![0u8; image::encoded_len(&d, true).expect("small image")];
    let n = image::encode(&d, &hidden, &readout, Some(&stim), &mut buf).expect("valid sentinel");
    assert_eq!(n, buf.len());
    buf
}

/// The stimulus the runs use: the image's, or a fixed one.
fn stimulus(s: Option<Stimulus>) -> Stimulus {
    s.unwrap_or(Stimulus { seed: 1, rate: 1 << 30, steps: RUN_STEPS, target: TargetRule::GroupActivity, amplitude: 1 << 16 })
}

/// `RUN_STEPS` steps of the stimulus on `net`.
fn run<const S: usize>(net: &mut TestNet<S>, stim: Stimulus) -> RunSummary {
    let mut r = Runner::new(stim);
    for _ in 0..RUN_STEPS {
        r.step(net).expect("a loaded network steps");
    }
    r.summary(net)
}

fn check_load<const S: usize>(img: &Image<'_>, desc: &NetDesc, stim: Option<Stimulus>) -> Reached {
    // Property 2: a used network is untouched by a failed load.
    let sentinel = sentinel_image::<S>();
    let mut used: Box<TestNet<S>> = Box::default();
    Image::parse(&sentinel).and_then(|s| s.load(&mut *used)).expect("sentinel loads");
    run(&mut used, stimulus(None));
    let (sum_before, cfg_before) = (used.checksum(), *used.config().expect("configured"));
    let loaded = img.load(&mut *used);
    let Ok(d) = loaded else {
        assert_eq!(used.checksum(), sum_before, "a failed load ({:?}) changed the network", loaded.err());
        assert_eq!(used.config(), Some(&cfg_before), "a failed load changed the configuration");
        return Reached::Load;
    };
    assert_eq!(&d, desc);
    // Property 3: loading into a used network = loading into a new one.
    let mut fresh: Box<TestNet<S>> = Box::default();
    img.load(&mut *fresh).expect("the same image loads into a new network");
    let loaded_sum = fresh.checksum();
    assert_eq!(used.checksum(), loaded_sum, "load into a used network differs from a fresh load");
    assert_eq!(used.weights(), fresh.weights());
    assert_eq!(used.readout_weights(), fresh.readout_weights());
    // Property 4: re-encode from what was loaded.
    let len = image::encoded_len(desc, stim.is_some()).expect("a loaded image has a representable length");
    let mut re = vec![0u8; len];
    let n = image::encode(desc, fresh.weights(), fresh.readout_weights(), stim.as_ref(), &mut re)
        .expect("a loaded network re-encodes");
    assert_eq!(n, len, "encode wrote a length other than encoded_len");
    let re_img = Image::parse(&re).expect("a re-encoded image parses");
    assert_eq!(re_img.desc().as_ref(), Ok(desc));
    assert_eq!(re_img.stimulus(), Ok(stim));
    let hw: Vec<_> = re_img.hidden_weights(desc).expect("hidden weights").collect();
    let rw: Vec<_> = re_img.readout_weights(desc).expect("readout weights").collect();
    assert_eq!((&hw[..], &rw[..]), (fresh.weights(), fresh.readout_weights()));
    let mut again: Box<TestNet<S>> = Box::default();
    re_img.load(&mut *again).expect("a re-encoded image loads");
    assert_eq!(again.checksum(), loaded_sum);
    let mut re2 = vec![0u8; len];
    image::encode(desc, &hw, &rw, stim.as_ref(), &mut re2).expect("re-encodes again");
    assert_eq!(re2, re, "encoding is not a fixed point");
    // Unused bytes between or after the payloads are allowed by the format (hw-notes/image-format.md):
    // only an input of the writer's table *and* length has no room for them.
    let canonical = img.bytes().len() == re.len()
        && img.section_count() == re_img.section_count()
        && (0..img.section_count()).all(|i| img.entry(i) == re_img.entry(i));
    if canonical {
        assert_eq!(img.bytes(), &re[..], "an image with the writer's section table has a second encoding");
    }
    // Properties 3 and 4 on the runs: same stimulus, same bits.
    let st = stimulus(stim);
    let a = run(&mut fresh, st);
    assert_eq!(run(&mut used, st), a, "run after a load into a used network differs");
    assert_eq!(run(&mut again, st), a, "run of the re-encoded image differs");
    Reached::Run
}
