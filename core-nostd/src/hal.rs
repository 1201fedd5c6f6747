//! Address-event input over an `embedded-hal` SPI device (feature `hal`).
//!
//! Wire format, one 4-byte packet per input spike (big-endian axon id):
//!
//! | byte | meaning |
//! |---|---|
//! | 0 | sync `0xA5` (`0x00` = idle filler, skipped silently) |
//! | 1, 2 | axon id, big-endian u16 |
//! | 3 | check = `0xFF ^ b0 ^ b1 ^ b2` |
//!
//! A packet with a wrong sync byte or check byte, or an axon id ≥ the configured number of axons, is
//! **dropped and counted** ([`AerStats`]); it never panics. Events beyond the capacity of the output list
//! are counted as overruns. The SPI device's own errors are returned unchanged.

use embedded_hal::spi::SpiDevice;

/// Sync byte of a spike packet.
pub const SYNC: u8 = 0xA5;
/// Bytes per packet.
pub const PACKET_BYTES: usize = 4;

/// Encode one packet (host side / tests).
pub const fn encode(axon: u16) -> [u8; 4] {
    let [hi, lo] = axon.to_be_bytes();
    [SYNC, hi, lo, 0xFF ^ SYNC ^ hi ^ lo]
}

/// Counters of the input adapter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AerStats {
    /// Valid events delivered.
    pub events: u32,
    /// Idle filler packets skipped.
    pub idle: u32,
    /// Packets with a bad sync or check byte (dropped).
    pub malformed: u32,
    /// Events naming an axon that does not exist (dropped).
    pub out_of_range: u32,
    /// Valid events that did not fit in the output list (dropped).
    pub overruns: u32,
}

/// Reads `K` packets per SPI transfer from `spi` into event lists for [`crate::net::Net::step`].
pub struct AerSpiReader<SPI, const K: usize> {
    spi: SPI,
    axons: u16,
    buf: [[u8; 4]; K],
    stats: AerStats,
}

impl<SPI: SpiDevice<u8>, const K: usize> AerSpiReader<SPI, K> {
    /// Adapter for a core with `axons` input axons.
    pub fn new(spi: SPI, axons: u16) -> Self {
        AerSpiReader { spi, axons, buf: [[0; 4]; K], stats: AerStats::default() }
    }

    /// One SPI read of `K` packets; valid events are appended to `out`. Returns how many were appended.
    pub fn poll<const C: usize>(&mut self, out: &mut heapless::Vec<u16, C>) -> Result<usize, SPI::Error> {
        self.spi.read(self.buf.as_flattened_mut())?;
        Ok(self.decode(out))
    }

    fn decode<const C: usize>(&mut self, out: &mut heapless::Vec<u16, C>) -> usize {
        let mut n = 0;
        for p in &self.buf {
            match parse(p, self.axons) {
                Packet::Idle => self.stats.idle = self.stats.idle.saturating_add(1),
                Packet::Malformed => self.stats.malformed = self.stats.malformed.saturating_add(1),
                Packet::OutOfRange => self.stats.out_of_range = self.stats.out_of_range.saturating_add(1),
                Packet::Spike(a) => {
                    if out.push(a).is_ok() {
                        n += 1;
                        self.stats.events = self.stats.events.saturating_add(1);
                    } else {
                        self.stats.overruns = self.stats.overruns.saturating_add(1);
                    }
                }
            }
        }
        n
    }

    /// Counters so far.
    pub fn stats(&self) -> AerStats {
        self.stats
    }

    /// Give the SPI device back.
    pub fn release(self) -> SPI {
        self.spi
    }
}

/// One decoded packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Packet {
    /// A spike on this axon.
    Spike(u16),
    /// Idle filler.
    Idle,
    /// Bad sync or check byte.
    Malformed,
    /// Valid packet naming a non-existent axon.
    OutOfRange,
}

/// Decode one packet for a core with `axons` input axons.
pub const fn parse(p: &[u8; 4], axons: u16) -> Packet {
    if p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0 {
        return Packet::Idle;
    }
    if p[0] != SYNC || p[3] != 0xFF ^ p[0] ^ p[1] ^ p[2] {
        return Packet::Malformed;
    }
    let a = u16::from_be_bytes([p[1], p[2]]);
    if a >= axons {
        Packet::OutOfRange
    } else {
        Packet::Spike(a)
    }
}
