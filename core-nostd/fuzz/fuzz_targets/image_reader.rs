//! Fuzz the network-image reader: any byte string must give an `ImageError` or a loaded network, never a
//! panic — through parse, desc, config, stimulus, load and a few `Runner` steps. The CRC check would stop
//! almost every mutated input at the door, so half of the inputs get their CRC fixed first, letting the
//! fuzzer reach the field decoders and the core's validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plasticore_core::image::{self, Image, Runner, Stimulus, TargetRule};
use plasticore_core::net::Net;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    if buf.len() >= 5 && buf[0] & 1 == 1 {
        // Fix the declared length and CRC (keeps the first byte's parity as the switch).
        let n = buf.len() - 1;
        let b = &mut buf[1..];
        if b.len() >= 12 {
            b[8..12].copy_from_slice(&(n as u32).to_le_bytes());
        }
        let c = image::crc32(&b[..n - 4]);
        b[n - 4..].copy_from_slice(&c.to_le_bytes());
        buf.remove(0);
    }
    let Ok(img) = Image::parse(&buf) else { return };
    let Ok(desc) = img.desc() else { return };
    let _ = desc.config();
    let stim = match img.stimulus() {
        Ok(s) => s.unwrap_or(Stimulus { seed: 1, rate: 1 << 30, steps: 4, target: TargetRule::GroupActivity, amplitude: 1 << 16 }),
        Err(_) => return,
    };
    let mut net: Box<Net<12, 8, 2, 1>> = Box::default();
    if img.load(&mut net).is_ok() {
        let mut run = Runner::new(stim);
        for _ in 0..4 {
            let _ = run.step(&mut net);
        }
    }
});
