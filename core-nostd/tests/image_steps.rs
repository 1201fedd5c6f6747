//! The stimulus `steps` field is capped at `image::MAX_STEPS` (hw-notes/image-format.md): the writer does
//! not write more, the reader rejects more with `ImageError::TooManySteps`, and the cap itself is accepted.

use plasticore_core::format::Weight;
use plasticore_core::image::{self, Image, ImageError, Stimulus, TargetRule, MAX_STEPS, SECTION_STIMULUS};

fn stim(steps: u32) -> Stimulus {
    Stimulus { seed: 9, rate: 1 << 30, steps, target: TargetRule::GroupActivity, amplitude: 1 << 16 }
}

/// A 4 → 8 → 2 image whose stimulus asks for `steps`, or the writer's error.
fn image_with(steps: u32) -> Result<Vec<u8>, ImageError> {
    let d = image::example_desc(4, 8, 2, true);
    let hidden = vec![Weight(3); 12 * 8];
    let readout = vec![Weight(-5); 16];
    let mut buf = vec![0u8; image::encoded_len(&d, true).unwrap()];
    image::encode(&d, &hidden, &readout, Some(&stim(steps)), &mut buf)?;
    Ok(buf)
}

/// Overwrite the stimulus's `steps` (u32 LE at byte 8 of the section) and recompute the CRC trailer.
fn patch_steps(b: &mut [u8], steps: u32) {
    let img = Image::parse(b).unwrap();
    let e = (0..img.section_count()).map(|i| img.entry(i)).find(|e| e.kind == SECTION_STIMULUS).unwrap();
    let at = e.offset as usize + 8;
    b[at..at + 4].copy_from_slice(&steps.to_le_bytes());
    let n = b.len();
    let c = image::crc32(&b[..n - 4]);
    b[n - 4..].copy_from_slice(&c.to_le_bytes());
}

#[test]
fn the_cap_itself_is_written_and_read_back() {
    let b = image_with(MAX_STEPS).unwrap();
    assert_eq!(Image::parse(&b).unwrap().stimulus().unwrap().unwrap().steps, MAX_STEPS);
}

#[test]
fn the_writer_refuses_more_than_the_cap_before_writing() {
    let d = image::example_desc(4, 8, 2, true);
    let mut buf = vec![0u8; image::encoded_len(&d, true).unwrap()];
    let e = image::encode(&d, &[Weight(3); 96], &[Weight(-5); 16], Some(&stim(MAX_STEPS + 1)), &mut buf);
    assert_eq!(e, Err(ImageError::TooManySteps { steps: MAX_STEPS + 1 }));
    assert!(buf.iter().all(|&x| x == 0), "nothing written");
}

#[test]
fn the_reader_rejects_more_than_the_cap_with_an_error_naming_it() {
    let mut b = image_with(1000).unwrap();
    for steps in [MAX_STEPS + 1, 1 << 31, u32::MAX] {
        patch_steps(&mut b, steps);
        let img = Image::parse(&b).expect("envelope and CRC are valid");
        let e = img.stimulus().unwrap_err();
        assert_eq!(e, ImageError::TooManySteps { steps });
        let msg = e.to_string();
        assert!(msg.contains(&steps.to_string()) && msg.contains(&MAX_STEPS.to_string()), "{msg}");
    }
    // Back under the cap, the same bytes read again.
    patch_steps(&mut b, MAX_STEPS);
    assert_eq!(Image::parse(&b).unwrap().stimulus().unwrap().unwrap().steps, MAX_STEPS);
}
