//! The `aer_spi` example (SPI address events → `Net::step`) on the host with `embedded-hal-mock`:
//! * the network sees exactly the valid events: its checksum equals a run fed the same events directly;
//! * malformed, out-of-range and idle packets are counted and dropped;
//! * arbitrary SPI bytes never panic, every byte is accounted for, and the network sees what a reference
//!   decoder of the whole byte stream at once (the `hal` module's resynchronisation rule, no polls and no
//!   held bytes) delivers, each event at the step that received its last byte.
#![cfg(feature = "hal")]

#[path = "../examples/aer_spi.rs"]
mod example;

use embedded_hal_mock::eh1::spi::{Mock, Transaction};
use example::aer::{self, SmokeNet, K};
use plasticore_core::hal::{encode, parse, AerStats, AerSync, Packet};
use plasticore_core::image::Image;
use plasticore_core::net::{Timestep, UpdateMode};
use plasticore_core::readout::Target;
use proptest::prelude::*;

const IMAGE: &[u8] = include_bytes!("../../firmware/images/smoke.pcimg");

fn script(transfers: &[Vec<u8>]) -> Vec<Transaction<u8>> {
    transfers
        .iter()
        .flat_map(|b| [Transaction::transaction_start(), Transaction::read_vec(b.clone()), Transaction::transaction_end()])
        .collect()
}

/// The events of each transfer by the module's rule applied to the concatenated stream: decode 4-byte
/// windows; at a malformed one move 1, 2 or 3 bytes on to the first window that is not malformed, else
/// drop it; stop where a window (or a window a decision needs) is incomplete. An event belongs to the
/// transfer holding its last byte.
fn reference_events(transfers: &[Vec<u8>], axons: u16) -> Vec<Vec<u16>> {
    let flat = transfers.concat();
    let win = |i: usize| flat.get(i..i + 4).map(|w| parse(&[w[0], w[1], w[2], w[3]], axons));
    let mut out = vec![Vec::new(); transfers.len()];
    let mut i = 0;
    'stream: while let Some(p) = win(i) {
        if p == Packet::Malformed {
            let mut step = 4;
            for k in 1..4 {
                match win(i + k) {
                    None => break 'stream,
                    Some(Packet::Malformed) => {}
                    Some(_) => {
                        step = k;
                        break;
                    }
                }
            }
            i += step;
            continue;
        }
        if let Packet::Spike(a) = p {
            out[(i + 3) / (4 * K)].push(a);
        }
        i += 4;
    }
    out
}

/// Checksum of a direct run fed the events the adapter should have accepted.
fn direct(transfers: &[Vec<u8>]) -> u32 {
    let mut net: Box<SmokeNet> = Box::default();
    Image::parse(IMAGE).unwrap().load(&mut net).unwrap();
    let axons = net.external_inputs() as u16;
    for (t, ev) in reference_events(transfers, axons).iter().enumerate() {
        net.step(Timestep(t as u32), ev, Target::None, UpdateMode::Online).unwrap();
    }
    net.checksum()
}

#[test]
fn valid_events_reach_the_network_and_bad_packets_are_counted() {
    let mut transfers = Vec::new();
    for t in 0..40u16 {
        let mut b = Vec::new();
        b.extend(encode(t % 4));
        b.extend(if t % 5 == 0 { [0, 0, 0, 0] } else { encode((t * 7 + 1) % 4) });
        b.extend(if t % 3 == 0 { [0xA5, 0, 2, 0x12] } else { encode(2) }); // bad check on t % 3 == 0
        b.extend(if t % 4 == 1 { encode(4 + t) } else { encode(3) }); // out of range on t % 4 == 1
        transfers.push(b);
    }
    let mut net: Box<SmokeNet> = Box::default();
    let (r, mut spi) = aer::run(Mock::new(&script(&transfers)), IMAGE, &mut net, 40).unwrap();
    spi.done();
    assert_eq!(r.stats, AerStats { events: 40 + 32 + 26 + 30, idle: 8, malformed: 14, out_of_range: 10, overruns: 0 });
    // The bad check bytes corrupt packets in place: the framing is kept.
    assert_eq!(r.sync, AerSync::default());
    assert!(r.spikes > 0, "the input drove the network: {r:?}");
    assert_eq!(r.checksum, direct(&transfers));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_spi_bytes_never_panic(raw in prop::collection::vec(prop::collection::vec(any::<u8>(), 4 * K), 1..20)) {
        let steps = raw.len() as u32;
        let mut net: Box<SmokeNet> = Box::default();
        let (r, mut spi) = aer::run(Mock::new(&script(&raw)), IMAGE, &mut net, steps).unwrap();
        spi.done();
        let (s, y) = (r.stats, r.sync);
        prop_assert_eq!(s.overruns, 0, "a poll completes at most K + 1 packets");
        let decided = 4 * (s.events + s.idle + s.malformed + s.out_of_range) as usize;
        prop_assert_eq!(decided + y.skipped_bytes as usize + y.pending_bytes as usize, 4 * K * raw.len());
        prop_assert!(y.pending_bytes <= 6);
        prop_assert_eq!(r.checksum, direct(&raw));
    }

    /// Valid packets (some naming absent axons) with bytes lost, inserted and flipped: the framing moves
    /// (which arbitrary bytes almost never trigger), and the network still sees the reference's events.
    #[test]
    fn damaged_packet_streams_match_the_reference(
        axons in prop::collection::vec(0u16..6, 8..60),
        edits in prop::collection::vec((0usize..1000, 0u8..3, any::<u8>()), 0..6),
    ) {
        let mut bytes: Vec<u8> = axons.iter().flat_map(|&a| encode(a)).collect();
        for (at, kind, b) in edits {
            let at = at % bytes.len().max(1);
            match kind {
                0 if !bytes.is_empty() => { bytes.remove(at); }
                1 => bytes.insert(at, b),
                _ if !bytes.is_empty() => bytes[at] ^= b | 1,
                _ => {}
            }
        }
        bytes.resize(bytes.len().div_ceil(4 * K).max(1) * 4 * K, 0);
        let raw: Vec<Vec<u8>> = bytes.chunks(4 * K).map(<[u8]>::to_vec).collect();
        let mut net: Box<SmokeNet> = Box::default();
        let (r, mut spi) = aer::run(Mock::new(&script(&raw)), IMAGE, &mut net, raw.len() as u32).unwrap();
        spi.done();
        let (s, y) = (r.stats, r.sync);
        let decided = 4 * (s.events + s.idle + s.malformed + s.out_of_range + s.overruns) as usize;
        prop_assert_eq!(decided + y.skipped_bytes as usize + y.pending_bytes as usize, bytes.len());
        prop_assert_eq!(r.checksum, direct(&raw));
    }
}
