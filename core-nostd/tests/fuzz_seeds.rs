//! The image reader's fuzz corpus, checked in `cargo test`. Questions answered:
//! * is the committed seed corpus (`fuzz/seeds/`) exactly what the generator below writes (small valid
//!   images of every neuron model, synapse, STD/STP, loss and feedback kind the fuzz target's networks
//!   can hold, plus truncated, mis-sized, out-of-range and extended ones)? Regenerate with
//!   `PLASTICORE_UPDATE_SEEDS=1 cargo test -p plasticore-core --test fuzz_seeds`.
//! * does every seed reach the stage it was written for, and does the corpus reach every stage (parse,
//!   decode, load, run)?
//! * does every seed and every input under `fuzz/regressions/` (inputs that once broke a property) pass
//!   the fuzz target's properties (`fuzz/src/image_check.rs`, the same file the fuzz target runs)?

#[path = "../fuzz/src/image_check.rs"]
mod image_check;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image_check::{check, sentinel_image, Reached};
use plasticore_core::format::{Decay, Efficacy, Voltage, Weight};
use plasticore_core::image::{self, Image, NeuronDesc, PresynDesc, Stimulus, TargetRule, FLAG_CRITICAL};
use plasticore_core::neuron::{AlifParams, LoihiParams, Reset, SurrogateParams, Synapse};
use plasticore_core::presyn::{DepressionParams, FacilitationParams};
use plasticore_core::readout::{Feedback, Loss};
use plasticore_core::net::LossWindow;
use plasticore_core::rng::XorShift32;

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(name)
}

fn encode(d: &image::NetDesc, stim: Option<Stimulus>, seed: u32) -> Vec<u8> {
    let mut r = XorShift32::new(seed);
    let wmax = d.layer.formats.weight_max() as u32;
    let mut w = |span: u32| Weight(((r.next_u32() % (2 * span + 1)) as i32 - span as i32) as i16);
    let hidden: Vec<Weight> = (0..d.axons() * d.neurons as usize).map(|_| w(60.min(wmax))).collect();
    let readout: Vec<Weight> = (0..d.neurons as usize * d.outputs as usize).map(|_| w(20)).collect();
    let mut buf = vec![0u8; image::encoded_len(d, stim.is_some()).unwrap()];
    let n = image::encode(d, &hidden, &readout, stim.as_ref(), &mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

/// Byte offset of section `kind` in a valid image.
fn section(b: &[u8], kind: u16) -> usize {
    let img = Image::parse(b).unwrap();
    (0..img.section_count()).map(|i| img.entry(i)).find(|e| e.kind == kind).unwrap().offset as usize
}

/// `b` with byte `at` set to `v`, prefixed with an odd byte: the fuzz target's switch that recomputes the
/// length and CRC, so the edit reaches the field decoders.
fn edited(b: &[u8], at: usize, v: &[u8]) -> Vec<u8> {
    let mut c = b.to_vec();
    c[at..at + v.len()].copy_from_slice(v);
    let mut out = vec![1u8];
    out.extend(c);
    out
}

/// `b` (a valid image) with one more section of `kind`/`flags` holding 8 bytes, appended after the others.
fn with_extra_section(b: &[u8], kind: u16, flags: u16) -> Vec<u8> {
    let img = Image::parse(b).unwrap();
    let count = img.section_count();
    let table_end = image::HEADER_LEN + count * image::ENTRY_LEN;
    let body = &b[table_end..b.len() - image::CRC_LEN];
    let mut out = b[..image::HEADER_LEN].to_vec();
    out[6..8].copy_from_slice(&(count as u16 + 1).to_le_bytes());
    for i in 0..count {
        let e = img.entry(i);
        out.extend(e.kind.to_le_bytes());
        out.extend(e.flags.to_le_bytes());
        out.extend((e.offset + image::ENTRY_LEN as u32).to_le_bytes());
        out.extend(e.len.to_le_bytes());
    }
    let extra_at = (table_end + image::ENTRY_LEN + body.len()) as u32;
    out.extend(kind.to_le_bytes());
    out.extend(flags.to_le_bytes());
    out.extend(extra_at.to_le_bytes());
    out.extend(8u32.to_le_bytes());
    out.extend(body);
    out.extend(*b"mapping!");
    let total = (out.len() + image::CRC_LEN) as u32;
    out[8..12].copy_from_slice(&total.to_le_bytes());
    let crc = image::crc32(&out);
    out.extend(crc.to_le_bytes());
    out
}

/// The seed corpus: file name → (bytes, the stage the checker must reach).
fn seeds() -> BTreeMap<&'static str, (Vec<u8>, Reached)> {
    let base = image::example_desc(4, 8, 2, true);
    let f = base.layer.formats;
    let one = 1u32 << f.decay_frac;
    let sur = SurrogateParams::paper(&f);
    let stim = |seed, target| Some(Stimulus { seed, rate: 1 << 30, steps: 16, target, amplitude: 1 << 16 });
    let expon = Synapse::Expon { decay: Decay(one / 2), gain: Decay(one / 4) };
    let NeuronDesc::Lif(lif) = base.layer.neuron else { unreachable!() };
    let alif = |synapse| AlifParams {
        decay: Decay(one / 10 * 9),
        adapt_decay: Decay(one / 100 * 99),
        beta: Voltage(1 << 14),
        threshold: Voltage(1 << 16),
        reset: Reset::Hard,
        detach_reset: true,
        synapse,
        surrogate: sur,
    };
    let mut s = BTreeMap::new();

    let lif_rec = encode(&base, stim(3, TargetRule::GroupActivity), 1);
    s.insert("lif_delta_recurrent_mse.pcimg", (lif_rec.clone(), Reached::Run));

    let mut d = base;
    (d.inputs, d.recurrent, d.states) = (12, false, 2);
    d.layer.neuron = NeuronDesc::Lif(lif_params_expon(lif, expon));
    d.readout.loss = Loss::CrossEntropy;
    d.feedback = Feedback::Random { seed: 77 };
    s.insert("lif_expon_feedforward_ce_random.pcimg", (encode(&d, None, 2), Reached::Run));

    let mut d = base;
    d.states = 2;
    d.layer.neuron = NeuronDesc::Alif(alif(Synapse::Delta));
    d.layer.presyn = PresynDesc::Depression(DepressionParams { decay: Decay(one / 2), u: Efficacy(1 << 14) });
    d.window = LossWindow { start: 1, end: 3 };
    s.insert("alif_delta_std_window.pcimg", (encode(&d, stim(4, TargetRule::GroupActivity), 3), Reached::Run));

    let mut d = base;
    d.states = 3;
    d.layer.neuron = NeuronDesc::Alif(alif(expon));
    d.layer.presyn =
        PresynDesc::Facilitation(FacilitationParams { decay_f: Decay(one / 3), decay_d: Decay(one / 5), u: Efficacy(1 << 13) });
    d.feedback = Feedback::External;
    s.insert("alif_expon_stp_external.pcimg", (encode(&d, stim(5, TargetRule::GroupActivity), 4), Reached::Run));

    let mut d = base;
    d.states = 2;
    d.layer.neuron = NeuronDesc::LoihiCuba(LoihiParams {
        du: 100,
        dv: 200,
        bias_mant: -5,
        bias_exp: 3,
        vth_mant: 1000,
        weight_exp: -2,
        surrogate: sur,
        wrap: Default::default(),
    });
    d.readout.loss = Loss::CrossEntropy;
    s.insert("loihi_cuba_ce.pcimg", (encode(&d, stim(6, TargetRule::GroupActivity), 5), Reached::Run));

    let mut d = base;
    d.learn = false;
    s.insert("lif_inference_only.pcimg", (encode(&d, stim(7, TargetRule::None), 6), Reached::Run));

    s.insert("sentinel_alif_3_states.pcimg", (sentinel_image::<3>(), Reached::Run));

    // Decodes, but does not fit the target's networks (16 neurons): a load error.
    s.insert("sixteen_neurons.pcimg", (encode(&image::example_desc(4, 16, 2, true), None, 7), Reached::Load));
    // Edits behind the CRC switch: a hidden weight out of range, a learning-rate shift out of range, an
    // unknown neuron tag.
    let hw = section(&lif_rec, image::SECTION_HIDDEN_WEIGHTS);
    s.insert("crcfix_weight_out_of_range.bin", (edited(&lif_rec, hw + 6, &i16::MAX.to_le_bytes()), Reached::Load));
    let layer = section(&lif_rec, image::SECTION_LAYER);
    s.insert("crcfix_learning_rate_shift_200.bin", (edited(&lif_rec, layer + 14, &[200]), Reached::Load));
    s.insert("crcfix_neuron_tag_7.bin", (edited(&lif_rec, layer + 20, &[7]), Reached::Decode));
    // Truncations and the CRC.
    s.insert("truncated_header.bin", (lif_rec[..image::HEADER_LEN].to_vec(), Reached::Parse));
    s.insert("truncated_half.bin", (lif_rec[..lif_rec.len() / 2].to_vec(), Reached::Parse));
    let mut bad_crc = lif_rec.clone();
    *bad_crc.last_mut().unwrap() ^= 0x80;
    s.insert("bad_crc.bin", (bad_crc, Reached::Parse));
    // Extension sections: an unknown non-critical one is skipped, an unknown critical one rejects.
    s.insert("extra_noncritical_section.pcimg", (with_extra_section(&lif_rec, 0x10, 0), Reached::Run));
    s.insert("extra_critical_section.bin", (with_extra_section(&lif_rec, 0x10, FLAG_CRITICAL), Reached::Parse));
    s
}

fn lif_params_expon(p: plasticore_core::neuron::LifParams, synapse: Synapse) -> plasticore_core::neuron::LifParams {
    plasticore_core::neuron::LifParams { synapse, ..p }
}

fn read_dir(d: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
        let p = e.unwrap().path();
        if p.is_file() {
            out.insert(p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap());
        }
    }
    out
}

#[test]
fn committed_seed_corpus_is_the_generated_one() {
    let d = dir("seeds");
    let want = seeds();
    if std::env::var_os("PLASTICORE_UPDATE_SEEDS").is_some() {
        std::fs::create_dir_all(&d).unwrap();
        for (name, (bytes, _)) in &want {
            let tmp = d.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, bytes).unwrap();
            std::fs::rename(&tmp, d.join(name)).unwrap();
        }
    }
    let have = read_dir(&d);
    let names: Vec<_> = want.keys().map(|k| k.to_string()).collect();
    assert_eq!(have.keys().cloned().collect::<Vec<_>>(), names, "seed files differ from the generator's list");
    for (name, (bytes, _)) in &want {
        assert!(have[*name] == *bytes, "{name} differs from the generator (PLASTICORE_UPDATE_SEEDS=1 rewrites it)");
    }
    let total: usize = have.values().map(|b| b.len()).sum();
    assert!(total < 16 * 1024, "the seed corpus stays small: {total} bytes");
}

#[test]
fn every_seed_reaches_its_stage_and_passes_the_fuzz_properties() {
    let mut stages = std::collections::BTreeSet::new();
    for (name, (bytes, stage)) in seeds() {
        assert_eq!(check(&bytes), stage, "{name}");
        stages.insert(stage);
    }
    assert_eq!(stages.len(), 4, "the corpus reaches parse, decode, load and run: {stages:?}");
}

#[test]
fn every_regression_input_passes_the_fuzz_properties() {
    // Each input that once broke a property (hw-notes/fuzzing.md lists them), with the stage it reaches.
    let want = [("unused_bytes_after_last_payload.bin", Reached::Run)];
    let inputs = read_dir(&dir("regressions"));
    assert_eq!(inputs.keys().map(String::as_str).collect::<Vec<_>>(), want.map(|w| w.0), "fuzz/regressions/");
    for (name, stage) in want {
        assert_eq!(check(&inputs[name]), stage, "{name}");
    }
}
