//! The `aer_spi` example (SPI address events → `Net::step`) on the host with `embedded-hal-mock`:
//! * the network sees exactly the valid events: its checksum equals a run fed the same events directly;
//! * malformed, out-of-range and idle packets are counted and dropped;
//! * arbitrary SPI bytes never panic and every packet is accounted for.
#![cfg(feature = "hal")]

#[path = "../examples/aer_spi.rs"]
mod example;

use embedded_hal_mock::eh1::spi::{Mock, Transaction};
use example::aer::{self, SmokeNet, K};
use plasticore_core::hal::{encode, parse, AerStats, Packet};
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

/// Checksum of a direct run fed the events the adapter should have accepted.
fn direct(transfers: &[Vec<u8>]) -> u32 {
    let mut net: Box<SmokeNet> = Box::default();
    Image::parse(IMAGE).unwrap().load(&mut net).unwrap();
    let axons = net.external_inputs() as u16;
    for (t, b) in transfers.iter().enumerate() {
        let ev: Vec<u16> = b
            .chunks_exact(4)
            .filter_map(|p| match parse(&[p[0], p[1], p[2], p[3]], axons) {
                Packet::Spike(a) => Some(a),
                _ => None,
            })
            .collect();
        net.step(Timestep(t as u32), &ev, Target::None, UpdateMode::Online).unwrap();
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
        let s = r.stats;
        prop_assert_eq!((s.events + s.idle + s.malformed + s.out_of_range + s.overruns) as usize, K * raw.len());
        prop_assert_eq!(r.checksum, direct(&raw));
    }
}
