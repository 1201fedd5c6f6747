//! Network images: round trip, and that every truncated, bit-flipped or hostile image is an error, never a
//! panic. Questions answered:
//! * round trip: does decode(encode(x)) give back x, and does `load` put every weight where it belongs?
//! * integrity: is every single-bit flip and every truncation of a valid image rejected?
//! * robustness: do random corruptions *with a recomputed CRC* (so only field validation stands in the
//!   way) ever panic in parse / desc / stimulus / load / a few runner steps?
//! * extension: is an unknown non-critical section skipped and an unknown critical one rejected?

use plasticore_core::error::{ConfigError, Field};
use plasticore_core::format::{Decay, Efficacy, Weight};
use plasticore_core::image::{self, Image, ImageError, NeuronDesc, PresynDesc, Runner, Stimulus, TargetRule};
use plasticore_core::net::Net;
use plasticore_core::neuron::{AlifParams, LoihiParams, Reset, SurrogateParams, Synapse};
use plasticore_core::presyn::{DepressionParams, FacilitationParams};
use proptest::prelude::*;

type Small = Net<12, 8, 2, 1>;

fn stim() -> Stimulus {
    Stimulus { seed: 9, rate: 1 << 30, steps: 20, target: TargetRule::GroupActivity, amplitude: 1 << 16 }
}

fn small_image(seed: u32) -> Vec<u8> {
    let d = image::example_desc(4, 8, 2, true);
    let mut r = plasticore_core::rng::XorShift32::new(seed);
    let hidden: Vec<Weight> = (0..12 * 8).map(|_| Weight((r.next_u32() % 201) as i16 - 100)).collect();
    let readout: Vec<Weight> = (0..16).map(|_| Weight((r.next_u32() % 255) as i16 - 127)).collect();
    let mut buf = vec![0u8; image::encoded_len(&d, true).unwrap()];
    let n = image::encode(&d, &hidden, &readout, Some(&stim()), &mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

fn fix_crc(b: &mut [u8]) {
    let n = b.len();
    if n >= 4 {
        let c = image::crc32(&b[..n - 4]);
        b[n - 4..].copy_from_slice(&c.to_le_bytes());
    }
}

/// Everything a firmware would do with an image; must return, never panic.
fn exercise(b: &[u8]) -> Result<(), ImageError> {
    let img = Image::parse(b)?;
    let d = img.desc()?;
    let _ = d.config();
    let st = img.stimulus()?;
    let mut net: Box<Small> = Box::default();
    img.load(&mut net)?;
    let mut run = Runner::new(st.unwrap_or_else(stim));
    for _ in 0..3 {
        run.step(&mut net)?;
    }
    Ok(())
}

/// Rebuild an image from (kind, flags, payload) sections.
fn assemble(sections: &[(u16, u16, Vec<u8>)]) -> Vec<u8> {
    let table = image::HEADER_LEN + sections.len() * image::ENTRY_LEN;
    let total = table + sections.iter().map(|s| s.2.len()).sum::<usize>() + 4;
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(&image::MAGIC);
    b.extend_from_slice(&image::VERSION.to_le_bytes());
    b.extend_from_slice(&(sections.len() as u16).to_le_bytes());
    b.extend_from_slice(&(total as u32).to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    let mut off = table;
    for (k, f, p) in sections {
        b.extend_from_slice(&k.to_le_bytes());
        b.extend_from_slice(&f.to_le_bytes());
        b.extend_from_slice(&(off as u32).to_le_bytes());
        b.extend_from_slice(&(p.len() as u32).to_le_bytes());
        off += p.len();
    }
    for (_, _, p) in sections {
        b.extend_from_slice(p);
    }
    b.extend_from_slice(&[0; 4]);
    fix_crc(&mut b);
    b
}

fn sections_of(b: &[u8]) -> Vec<(u16, u16, Vec<u8>)> {
    let img = Image::parse(b).unwrap();
    (0..img.section_count())
        .map(|i| {
            let e = img.entry(i);
            (e.kind, e.flags, b[e.offset as usize..(e.offset + e.len) as usize].to_vec())
        })
        .collect()
}

#[test]
fn crc32_check_value() {
    assert_eq!(image::crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn round_trip_loads_every_weight_in_place() {
    let b = small_image(1);
    let img = Image::parse(&b).unwrap();
    let d = img.desc().unwrap();
    assert_eq!(d, image::example_desc(4, 8, 2, true));
    assert_eq!(img.stimulus().unwrap(), Some(stim()));
    let mut net: Box<Small> = Box::default();
    img.load(&mut net).unwrap();
    let hw: Vec<Weight> = img.hidden_weights(&d).unwrap().collect();
    let rw: Vec<Weight> = img.readout_weights(&d).unwrap().collect();
    assert_eq!(net.weights(), &hw[..]);
    assert_eq!(net.readout_weights(), &rw[..]);
    assert!(hw.iter().any(|w| w.0 != 0));
    // The same image twice gives the same bytes (the writer is deterministic).
    assert_eq!(b, small_image(1));
}

#[test]
fn every_neuron_and_presyn_kind_round_trips() {
    let base = image::example_desc(4, 8, 2, false);
    let f = base.layer.formats;
    let one = 1u32 << f.decay_frac;
    let sur = SurrogateParams::paper(&f);
    let neurons = [
        base.layer.neuron,
        NeuronDesc::Alif(AlifParams {
            decay: Decay(one / 10 * 9),
            adapt_decay: Decay(one / 100 * 99),
            beta: plasticore_core::format::Voltage(1 << 14),
            threshold: plasticore_core::format::Voltage(1 << 16),
            reset: Reset::Hard,
            detach_reset: true,
            synapse: Synapse::Expon { decay: Decay(one / 2), gain: Decay(one / 4) },
            surrogate: sur,
        }),
        NeuronDesc::LoihiCuba(LoihiParams {
            du: 100,
            dv: 200,
            bias_mant: -5,
            bias_exp: 3,
            vth_mant: 1000,
            weight_exp: -2,
            surrogate: sur,
            wrap: plasticore_core::neuron::Wrap24::Lava,
        }),
    ];
    let presyns = [
        PresynDesc::None,
        PresynDesc::Depression(DepressionParams { decay: Decay(one / 2), u: Efficacy(1 << 14) }),
        PresynDesc::Facilitation(FacilitationParams {
            decay_f: Decay(one / 3),
            decay_d: Decay(one / 5),
            u: Efficacy(1 << 13),
        }),
    ];
    let mut checked = 0;
    for n in neurons {
        for p in presyns {
            let mut d = base;
            d.layer.neuron = n;
            d.layer.presyn = p;
            d.states = match n {
                NeuronDesc::Lif(_) => 1,
                NeuronDesc::Alif(_) => 3,
                NeuronDesc::LoihiCuba(_) => 2,
            };
            d.feedback = plasticore_core::readout::Feedback::Random { seed: 77 };
            let hidden = vec![Weight(3); 4 * 8];
            let readout = vec![Weight(-2); 16];
            let mut buf = vec![0u8; image::encoded_len(&d, false).unwrap()];
            match image::encode(&d, &hidden, &readout, None, &mut buf) {
                Ok(len) => {
                    let img = Image::parse(&buf[..len]).unwrap();
                    assert_eq!(img.desc().unwrap(), d);
                    assert_eq!(img.stimulus().unwrap(), None);
                    checked += 1;
                }
                // Loihi + STD/STP is rejected by the core: the writer refuses to emit it.
                Err(e) => {
                    assert!(matches!(n, NeuronDesc::LoihiCuba(_)) && !matches!(p, PresynDesc::None), "{e}");
                    assert_eq!(e, ImageError::Config(ConfigError::Unsupported { field: Field::Presyn }));
                }
            }
        }
    }
    assert_eq!(checked, 7);
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let b = small_image(2);
    for i in 0..b.len() {
        for bit in 0..8 {
            let mut c = b.clone();
            c[i] ^= 1 << bit;
            assert!(Image::parse(&c).is_err(), "flip of byte {i} bit {bit} was accepted");
        }
    }
}

#[test]
fn every_truncation_is_rejected() {
    let b = small_image(3);
    for n in 0..b.len() {
        let e = Image::parse(&b[..n]).unwrap_err();
        assert!(matches!(e, ImageError::Truncated { .. } | ImageError::BadLength { .. }), "{n}: {e:?}");
    }
}

#[test]
fn unknown_sections_critical_rejected_optional_skipped() {
    let b = small_image(4);
    let mut s = sections_of(&b);
    s.push((image::SECTION_RESERVED_MAPPING, 0, vec![1, 2, 3]));
    let ok = assemble(&s);
    assert!(exercise(&ok).is_ok());
    let n = s.len();
    s[n - 1].1 = image::FLAG_CRITICAL;
    assert_eq!(
        Image::parse(&assemble(&s)).unwrap_err(),
        ImageError::UnknownCriticalSection(image::SECTION_RESERVED_MAPPING)
    );
    s[n - 1].1 = 2; // reserved flag bit
    assert!(matches!(Image::parse(&assemble(&s)).unwrap_err(), ImageError::BadSection { .. }));
}

#[test]
fn duplicate_missing_and_wrong_length_sections_are_rejected() {
    let s = sections_of(&small_image(5));
    let mut dup = s.clone();
    dup.push(s[0].clone());
    assert_eq!(Image::parse(&assemble(&dup)).unwrap_err(), ImageError::DuplicateSection(image::SECTION_NET));
    let missing: Vec<_> = s.iter().filter(|x| x.0 != image::SECTION_READOUT_WEIGHTS).cloned().collect();
    assert_eq!(
        Image::parse(&assemble(&missing)).unwrap_err(),
        ImageError::MissingSection(image::SECTION_READOUT_WEIGHTS)
    );
    let mut short = s.clone();
    short[3].2.pop();
    short[3].2.pop();
    let img = assemble(&short);
    assert!(matches!(exercise(&img).unwrap_err(), ImageError::SectionLength { kind: 4, .. }));
}

#[test]
fn out_of_range_weight_and_wrong_dimensions_are_config_errors() {
    let mut s = sections_of(&small_image(6));
    s[3].2[0..2].copy_from_slice(&200i16.to_le_bytes()); // 8-bit weights: |m| ≤ 127
    let e = exercise(&assemble(&s)).unwrap_err();
    assert!(matches!(e, ImageError::Config(ConfigError::OutOfRange { field: Field::Weight, value: 200, .. })), "{e:?}");
    let b = small_image(6);
    let mut wrong: Box<Net<12, 8, 3, 1>> = Box::default();
    assert_eq!(
        Image::parse(&b).unwrap().load(&mut wrong).unwrap_err(),
        ImageError::Config(ConfigError::SizeMismatch { field: Field::Outputs, expected: 3, found: 2 })
    );
}

#[test]
fn a_failed_load_leaves_the_network_untouched() {
    let good = small_image(7);
    let mut net: Box<Small> = Box::default();
    Image::parse(&good).unwrap().load(&mut net).unwrap();
    let before = net.checksum();
    let mut s = sections_of(&good);
    let last = s[4].2.len();
    s[4].2[last - 2..].copy_from_slice(&(-128i16).to_le_bytes());
    let bad = assemble(&s);
    assert!(Image::parse(&bad).unwrap().load(&mut net).is_err());
    assert_eq!(net.checksum(), before);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random byte edits without fixing the CRC: always an error. Each edited position is XORed once with
    /// a non-zero byte (a second edit of the same position is skipped, so two equal edits cannot cancel):
    /// the image provably differs from the valid one in 1 to 7 bytes.
    #[test]
    fn corrupted_images_are_rejected(seed in any::<u32>(), edits in prop::collection::vec((any::<usize>(), 1u8..=255), 1..8)) {
        let good = small_image(seed);
        let mut b = good.clone();
        let n = b.len();
        let mut done = std::collections::BTreeSet::new();
        for (i, x) in edits {
            if done.insert(i % n) {
                b[i % n] ^= x;
            }
        }
        prop_assert_eq!(b.iter().zip(&good).filter(|(x, y)| x != y).count(), done.len());
        prop_assert!(Image::parse(&b).is_err());
    }

    /// Random edits with a recomputed CRC: field validation alone stands between the bytes and the
    /// datapath. Any outcome but a panic is fine here; that most are errors is
    /// `most_hostile_images_with_valid_crc_are_errors`.
    #[test]
    fn hostile_images_with_valid_crc_never_panic(seed in any::<u32>(), edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut b = small_image(seed);
        let n = b.len();
        for (i, x) in edits {
            b[i % (n - 4)] = x;
        }
        fix_crc(&mut b);
        let _ = exercise(&b);
    }

    /// Arbitrary bytes (with a plausible header) never panic (that they are errors:
    /// `arbitrary_bytes_with_a_valid_crc_are_errors`).
    #[test]
    fn arbitrary_bytes_never_panic(mut b in prop::collection::vec(any::<u8>(), 0..600), count in 0u16..10) {
        if b.len() >= 16 {
            b[0..4].copy_from_slice(&image::MAGIC);
            b[4..6].copy_from_slice(&1u16.to_le_bytes());
            b[6..8].copy_from_slice(&count.to_le_bytes());
            let n = b.len() as u32;
            b[8..12].copy_from_slice(&n.to_le_bytes());
            fix_crc(&mut b);
        }
        let _ = exercise(&b);
    }
}


/// Every change of one byte of the header or of a critical section's table entry (the first 16 + 5 × 12
/// bytes of this image; the sixth entry is the optional stimulus, whose kind may legitimately change
/// to an unknown, skipped one), with the CRC recomputed, is an error: field validation alone catches
/// it. Exhaustive over positions and values. Exactly these changes give a valid image and are
/// accepted: a section count of 5 instead of 6 (drops the optional stimulus from the table), and a
/// known section's flags cleared from critical (1) to optional (0) (the flag matters only for kinds the
/// reader does not know; any other flag value is refused).
#[test]
fn every_header_and_critical_table_byte_change_is_an_error() {
    let good = small_image(3);
    let s = sections_of(&good);
    assert_eq!(s.len(), 6);
    assert!(s[..5].iter().all(|x| x.1 & 1 == 1) && s[5].1 & 1 == 0, "five critical sections, then the optional one");
    let end = image::HEADER_LEN + 5 * image::ENTRY_LEN;
    let mut accepted = Vec::new();
    for i in 0..end {
        for v in 0..=255u8 {
            if v == good[i] {
                continue;
            }
            let mut b = good.clone();
            b[i] = v;
            fix_crc(&mut b);
            if exercise(&b).is_ok() {
                accepted.push((i, v));
            }
        }
    }
    let mut want = vec![(6, 5)];
    want.extend((0..5).map(|k| (image::HEADER_LEN + k * image::ENTRY_LEN + 2, 0)));
    assert_eq!(accepted, want, "(byte, value) changes accepted");
}

/// Random edits (1–5 bytes, CRC recomputed), as in `hostile_images_with_valid_crc_never_panic`, from a
/// fixed seed: most must be errors. What may pass: a weight's low byte that keeps |w| within the
/// 8-bit range, most of the stimulus payload (any seed or rate is valid), the optional section's
/// kind; by position, a single edit there is accepted, elsewhere rejected. Measured: 92.9 % errors over
/// 20 000 cases; the bound 85 % leaves room for a different draw, and fails if validation of a whole
/// field (the description, the section table, the weight range) is lost.
#[test]
fn most_hostile_images_with_valid_crc_are_errors() {
    let mut g = plasticore_core::rng::XorShift32::new(12345);
    let cases = 4000u32;
    let mut errors = 0;
    for case in 0..cases {
        let mut b = small_image(case);
        let n = b.len();
        for _ in 0..1 + g.next_u32() % 5 {
            let i = g.next_u32() as usize % (n - 4);
            b[i] = g.next_u32() as u8;
        }
        fix_crc(&mut b);
        errors += exercise(&b).is_err() as u32;
    }
    assert!(errors * 100 >= cases * 85, "{errors} of {cases} hostile images were errors");
}

/// Arbitrary bytes behind a plausible header (magic, version, section count 0–9, length) with a valid
/// CRC, as in `arbitrary_bytes_never_panic`, from a fixed seed: every one is an error (measured: 20 000
/// of 20 000; a random section table essentially never describes a complete valid image).
#[test]
fn arbitrary_bytes_with_a_valid_crc_are_errors() {
    let mut g = plasticore_core::rng::XorShift32::new(777);
    for case in 0..4000 {
        let len = g.next_u32() as usize % 600;
        let mut c: Vec<u8> = (0..len).map(|_| g.next_u32() as u8).collect();
        if c.len() >= 16 {
            c[0..4].copy_from_slice(&image::MAGIC);
            c[4..6].copy_from_slice(&image::VERSION.to_le_bytes());
            c[6..8].copy_from_slice(&((g.next_u32() % 10) as u16).to_le_bytes());
            let n = c.len() as u32;
            c[8..12].copy_from_slice(&n.to_le_bytes());
            fix_crc(&mut c);
        }
        assert!(exercise(&c).is_err(), "case {case}: {len} arbitrary bytes accepted");
    }
}
