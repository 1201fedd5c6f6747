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
//!
//! ## Resynchronisation
//!
//! [`AerSpiReader`] decodes the bytes of successive transfers as **one stream**, 4-byte window by 4-byte
//! window, so a byte lost (or inserted) on the wire shifts the framing and every later window would be
//! malformed. When a window is malformed, the reader looks at the windows starting 1, 2 and 3 bytes
//! later, in that order, and moves to the first that is a valid packet (sync and check byte right, any
//! axon id) or idle filler, dropping the 1–3 bytes before it ([`AerSync::resyncs`],
//! [`AerSync::skipped_bytes`]). If none is, the window is dropped as malformed and the framing is kept: a
//! byte corrupted in place costs exactly its packet. After a lost byte, the packet that lost it is
//! dropped and the next one is decoded.
//!
//! Bytes a decision still needs are held for the next poll ([`AerSync::pending_bytes`], at most 6: a
//! partial window, or a malformed window whose later windows have not all arrived), so an event is
//! delivered by the poll that receives its last byte and a poll can complete up to `K + 1` packets.
//! Accounting: every byte read is in exactly one decided window (4 × the sum of the [`AerStats`]
//! counters), skipped, or pending.
//!
//! A realignment can be wrong only if the bytes 1–3 positions into a malformed window happen to form a
//! valid packet (a `0xA5` followed by a matching check byte, or four zero bytes); the next window is then
//! malformed and the reader realigns again.

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

/// How the reader kept its packet framing (module docs, *Resynchronisation*).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AerSync {
    /// Times the framing moved to a later byte after a malformed window.
    pub resyncs: u32,
    /// Bytes dropped by those moves (1–3 each).
    pub skipped_bytes: u32,
    /// Bytes held for the next poll (0–6).
    pub pending_bytes: u8,
}

/// Most bytes held between polls: a malformed window (4 bytes) and at most 2 of the 3 later bytes its
/// decision needs.
const MAX_PENDING: usize = 6;

/// Reads `K` packets' worth of bytes per SPI transfer from `spi` into event lists for
/// [`crate::net::Net::step`], resynchronising after lost or corrupt bytes (module docs).
pub struct AerSpiReader<SPI, const K: usize> {
    spi: SPI,
    axons: u16,
    buf: [[u8; 4]; K],
    pending: [u8; MAX_PENDING],
    n_pending: u8,
    stats: AerStats,
    sync: AerSync,
}

impl<SPI: SpiDevice<u8>, const K: usize> AerSpiReader<SPI, K> {
    /// Adapter for a core with `axons` input axons.
    pub fn new(spi: SPI, axons: u16) -> Self {
        AerSpiReader {
            spi,
            axons,
            buf: [[0; 4]; K],
            pending: [0; MAX_PENDING],
            n_pending: 0,
            stats: AerStats::default(),
            sync: AerSync::default(),
        }
    }

    /// One SPI read of `4·K` bytes; the valid events it completes (at most `K + 1`, with the bytes held
    /// from the previous poll) are appended to `out`. Returns how many were appended.
    pub fn poll<const C: usize>(&mut self, out: &mut heapless::Vec<u16, C>) -> Result<usize, SPI::Error> {
        self.spi.read(self.buf.as_flattened_mut())?;
        Ok(self.decode(out))
    }

    /// Decode the held bytes followed by the new transfer, then hold what is undecided.
    fn decode<const C: usize>(&mut self, out: &mut heapless::Vec<u16, C>) -> usize {
        let held = (self.n_pending as usize).min(MAX_PENDING);
        let (pending, new) = (self.pending, self.buf.as_flattened());
        let len = held + new.len();
        // Byte j of the stream (held bytes first); only called with j < len.
        let at = |j: usize| if j < held { pending.get(j) } else { new.get(j - held) }.copied().unwrap_or(0);
        let window = |i: usize| [at(i), at(i + 1), at(i + 2), at(i + 3)];
        let mut n = 0;
        let mut i = 0;
        'stream: while len - i >= 4 {
            let packet = match parse(&window(i), self.axons) {
                Packet::Malformed => {
                    // Is the window 1, 2 or 3 bytes later a packet or filler? Wait for its bytes if not here.
                    let mut next = None;
                    for k in 1..4 {
                        if len - i < k + 4 {
                            break 'stream;
                        }
                        if parse(&window(i + k), self.axons) != Packet::Malformed {
                            next = Some(k);
                            break;
                        }
                    }
                    match next {
                        Some(k) => {
                            self.sync.resyncs = self.sync.resyncs.saturating_add(1);
                            self.sync.skipped_bytes = self.sync.skipped_bytes.saturating_add(k as u32);
                            i += k;
                            continue;
                        }
                        None => Packet::Malformed,
                    }
                }
                p => p,
            };
            i += 4;
            match packet {
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
        // At most 6 bytes remain: fewer than 4, or a malformed window and fewer than 3 after it.
        let rest = (len - i).min(MAX_PENDING);
        for (d, j) in self.pending.iter_mut().zip(i..i + rest) {
            *d = at(j);
        }
        self.n_pending = rest as u8;
        self.sync.pending_bytes = rest as u8;
        n
    }

    /// Counters so far.
    pub fn stats(&self) -> AerStats {
        self.stats
    }

    /// Framing counters so far (resynchronisations, skipped and pending bytes).
    pub fn sync(&self) -> AerSync {
        self.sync
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
