//! The embedded-hal AER adapter on the host with embedded-hal-mock: valid packets become events;
//! malformed, out-of-range and overflowing packets are counted and dropped, never a panic.
#![cfg(feature = "hal")]

use embedded_hal_mock::eh1::spi::{Mock, Transaction};
use plasticore_core::hal::{encode, AerSpiReader, AerStats};

#[test]
fn decodes_valid_packets_and_counts_bad_ones() {
    let mut bytes = Vec::new();
    bytes.extend(encode(3));
    bytes.extend([0, 0, 0, 0]); // idle
    bytes.extend([0xA5, 0, 7, 0x00]); // bad check byte
    bytes.extend([0x11, 0, 1, 0xFF ^ 0x11 ^ 1]); // bad sync
    bytes.extend(encode(40)); // axon out of range (axons = 32)
    bytes.extend(encode(31));
    let spi = Mock::new(&[
        Transaction::transaction_start(),
        Transaction::read_vec(bytes),
        Transaction::transaction_end(),
    ]);
    let mut r: AerSpiReader<_, 6> = AerSpiReader::new(spi, 32);
    let mut out = heapless::Vec::<u16, 8>::new();
    assert_eq!(r.poll(&mut out).unwrap(), 2);
    assert_eq!(out.as_slice(), &[3, 31]);
    assert_eq!(r.stats(), AerStats { events: 2, idle: 1, malformed: 2, out_of_range: 1, overruns: 0 });
    r.release().done();
}

#[test]
fn overruns_are_counted() {
    let mut bytes = Vec::new();
    for a in 0..4 {
        bytes.extend(encode(a));
    }
    let spi = Mock::new(&[
        Transaction::transaction_start(),
        Transaction::read_vec(bytes),
        Transaction::transaction_end(),
    ]);
    let mut r: AerSpiReader<_, 4> = AerSpiReader::new(spi, 8);
    let mut out = heapless::Vec::<u16, 2>::new();
    assert_eq!(r.poll(&mut out).unwrap(), 2);
    assert_eq!(r.stats().overruns, 2);
    r.release().done();
}

#[test]
fn every_sync_and_check_byte_is_classified_as_the_wire_format_says() {
    // Exhaustive over the sync and check bytes for ids around the axon bound (100) and at the ends of
    // the range: the parser is total and each packet is classified by the table in `hal.rs`'s docs,
    // written out here independently: all-zero = idle; sync ≠ 0xA5 or check ≠ 0xFF ^ b0 ^ b1 ^ b2 =
    // malformed; a valid packet with id ≥ axons = out of range; otherwise a spike on that axon.
    use plasticore_core::hal::{parse, Packet};
    let axons = 100u16;
    let mut seen = [0u32; 4];
    for b0 in 0..=255u8 {
        for b3 in 0..=255u8 {
            for id in [0u16, 1, 98, 99, 100, 101, 255, 256, 0x5A5A, 65535] {
                let [hi, lo] = id.to_be_bytes();
                let want = if b0 == 0 && hi == 0 && lo == 0 && b3 == 0 {
                    Packet::Idle
                } else if b0 != 0xA5 || b3 != 0xFF ^ b0 ^ hi ^ lo {
                    Packet::Malformed
                } else if id >= axons {
                    Packet::OutOfRange
                } else {
                    Packet::Spike(id)
                };
                assert_eq!(parse(&[b0, hi, lo, b3], axons), want, "bytes {:02x} {hi:02x} {lo:02x} {b3:02x}", b0);
                seen[match want {
                    Packet::Idle => 0,
                    Packet::Malformed => 1,
                    Packet::OutOfRange => 2,
                    Packet::Spike(_) => 3,
                }] += 1;
            }
        }
    }
    // 1 idle pattern (id 0, b0 = b3 = 0); one valid check byte per id with the right sync: 4 spikes
    // (0, 1, 98, 99) and 6 out of range; everything else malformed.
    assert_eq!(seen, [1, 256 * 256 * 10 - 1 - 10, 6, 4]);
}
