//! Checksums that every target computes identically (host, emulator, firmware compare them).

/// 32-bit FNV-1a (all arithmetic **wraps** modulo 2³², by definition of the hash).
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u32);

impl Default for Fnv {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv {
    /// Fresh hash (the FNV offset basis).
    pub const fn new() -> Self {
        Fnv(0x811C_9DC5)
    }

    /// Feed bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u32;
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
    }

    /// The hash value.
    pub const fn finish(&self) -> u32 {
        self.0
    }
}
