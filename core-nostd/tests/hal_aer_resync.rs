//! The AER reader resynchronises after a lost, inserted or corrupted byte (`hal` module docs,
//! *Resynchronisation*), on a scripted SPI device (embedded-hal-mock): each test names the damage, the
//! events that must still arrive (and in which poll), and the counters.
#![cfg(feature = "hal")]

use embedded_hal_mock::eh1::spi::{Mock, Transaction};
use plasticore_core::hal::{encode, AerSpiReader, AerStats, AerSync};

/// Packets' worth of bytes per transfer.
const K: usize = 4;
const AXONS: u16 = 1000;

/// Split `stream` into transfers of 4·K bytes (zero filler pads the last), poll each once, and return the
/// events of each poll with the final counters.
fn run(stream: &[u8]) -> (Vec<Vec<u16>>, AerStats, AerSync) {
    let mut bytes = stream.to_vec();
    bytes.resize(stream.len().div_ceil(4 * K) * 4 * K, 0);
    let script: Vec<Transaction<u8>> = bytes
        .chunks(4 * K)
        .flat_map(|c| [Transaction::transaction_start(), Transaction::read_vec(c.to_vec()), Transaction::transaction_end()])
        .collect();
    let mut r: AerSpiReader<_, K> = AerSpiReader::new(Mock::new(&script), AXONS);
    let mut polls = Vec::new();
    for _ in 0..bytes.len() / (4 * K) {
        let mut out = heapless::Vec::<u16, { K + 1 }>::new();
        let n = r.poll(&mut out).unwrap();
        assert_eq!(n, out.len());
        polls.push(out.to_vec());
    }
    let (stats, sync) = (r.stats(), r.sync());
    r.release().done();
    (polls, stats, sync)
}

fn packets(axons: impl IntoIterator<Item = u16>) -> Vec<u8> {
    axons.into_iter().flat_map(encode).collect()
}

fn all(polls: &[Vec<u16>]) -> Vec<u16> {
    polls.concat()
}

#[test]
fn a_lost_byte_costs_only_its_packet() {
    for lost in 0..4 {
        // Packet 5 (axon 105) loses its byte `lost`; every later packet must still arrive.
        let mut s = packets(100..116);
        s.remove(5 * 4 + lost);
        let (polls, stats, sync) = run(&s);
        let want: Vec<u16> = (100..116).filter(|&a| a != 105).collect();
        assert_eq!(all(&polls), want, "byte {lost} of packet 5 lost");
        assert_eq!(stats.events, 15);
        // The 3 bytes left of the damaged packet are skipped in one move (or, if its sync byte was lost,
        // they read as one malformed window ending inside the next packet, which the reader realigns past).
        assert_eq!(sync.resyncs, 1, "byte {lost}: {sync:?}");
        assert_eq!(4 * (stats.events + stats.idle + stats.malformed) + sync.skipped_bytes + sync.pending_bytes as u32,
            64, "every byte accounted: {stats:?} {sync:?}");
    }
}

#[test]
fn a_corrupted_byte_costs_only_its_packet_and_keeps_the_framing() {
    for (at, flip) in [(0usize, 0x01u8), (1, 0x80), (2, 0x10), (3, 0xFF)] {
        let mut s = packets(200..212);
        s[4 * 7 + at] ^= flip; // packet 7 (axon 207)
        let (polls, stats, sync) = run(&s);
        let want: Vec<u16> = (200..212).filter(|&a| a != 207).collect();
        assert_eq!(all(&polls), want, "byte {at} of packet 7 flipped by {flip:#x}");
        assert_eq!((stats.malformed, sync.resyncs, sync.skipped_bytes), (1, 0, 0));
    }
}

#[test]
fn an_inserted_byte_loses_no_event() {
    for junk in [0x00u8, 0x5A, 0xA5, 0xFF] {
        let mut s = packets(300..312);
        s.insert(4 * 6, junk); // before packet 6
        let (polls, stats, sync) = run(&s);
        assert_eq!(all(&polls), (300..312).collect::<Vec<_>>(), "junk {junk:#x}");
        assert_eq!((stats.malformed, sync.resyncs, sync.skipped_bytes), (0, 1, 1), "junk {junk:#x}");
    }
}

#[test]
fn several_lost_bytes_and_a_lost_packet_and_a_half() {
    // 2 bytes lost inside packet 3, then 6 bytes (packet 9's last 2 and packet 10's first 4) lost.
    let mut s = packets(0..20);
    s.drain(4 * 3 + 1..4 * 3 + 3);
    s.drain(4 * 9 + 2 - 2..4 * 11 - 2);
    let (polls, _, sync) = run(&s);
    let want: Vec<u16> = (0..20).filter(|a| ![3, 9, 10].contains(a)).collect();
    assert_eq!(all(&polls), want);
    assert_eq!(sync.resyncs, 2);
}

#[test]
fn resynchronises_across_a_transfer_boundary_and_delivers_in_the_poll_of_the_last_byte() {
    // Transfer 0 = packets 0..4 with packet 3's byte 2 lost: its last window (bytes 12..16) is malformed
    // and the windows after it need transfer 1's bytes, so the reader holds them and decides in poll 1.
    let mut s = packets(0..12);
    s.remove(4 * 3 + 2);
    let (polls, stats, sync) = run(&s);
    assert_eq!(polls[0], vec![0, 1, 2]);
    assert_eq!(polls[1], vec![4, 5, 6, 7]);
    assert_eq!(all(&polls), (0..12).filter(|&a| a != 3).collect::<Vec<_>>());
    assert_eq!((stats.malformed, sync.resyncs, sync.skipped_bytes), (0, 1, 3));
}

#[test]
fn a_packet_split_over_two_transfers_arrives_in_the_second() {
    // One inserted filler byte at the start shifts every packet by one: after the realignment the fourth
    // packet straddles the transfers (3 bytes in the first, 1 in the second).
    let mut s = vec![0x77];
    s.extend(packets(40..48));
    let (polls, _, sync) = run(&s);
    assert_eq!(polls[0], vec![40, 41, 42]);
    assert_eq!(polls[1], vec![43, 44, 45, 46]);
    assert_eq!(polls[2], vec![47]);
    assert_eq!(sync.resyncs, 1);
}

#[test]
fn a_lost_filler_byte_between_packets_loses_no_event() {
    let mut s = packets(0..3);
    s.extend([0, 0, 0]); // an idle packet that lost a byte
    s.extend(packets(3..9));
    let (polls, stats, sync) = run(&s);
    assert_eq!(all(&polls), (0..9).collect::<Vec<_>>());
    assert_eq!((stats.malformed, sync.resyncs), (0, 1), "{stats:?} {sync:?}");
}
