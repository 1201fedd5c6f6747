//! Helpers shared by several integration tests (`mod common;` in each).

/// xorshift32 in [0, 1): reproducible test weights without a dependency.
pub struct Rng(pub u32);

impl Rng {
    pub fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0 as f64 / 4294967296.0
    }
}
