//! Time as unit-named newtypes. The emulator never reads a clock: the caller passes the timestep in and
//! the emulator returns how many chip cycles it took.

use core::ops::{Add, AddAssign, Sub};

/// A duration or instant in clock cycles of the emulated chip (the preset's `clock_mhz`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cycle(pub u64);

impl Cycle {
    /// Zero cycles.
    pub const ZERO: Cycle = Cycle(0);

    /// This many cycles in nanoseconds at `clock_mhz`.
    pub fn as_ns(self, clock_mhz: f64) -> f64 {
        self.0 as f64 * 1000.0 / clock_mhz
    }

    /// The later of two instants.
    pub fn max(self, o: Cycle) -> Cycle {
        if o.0 > self.0 {
            o
        } else {
            self
        }
    }

    /// `self − o`, or zero if `o` is later.
    pub fn saturating_sub(self, o: Cycle) -> Cycle {
        Cycle(self.0.saturating_sub(o.0))
    }
}

impl Add for Cycle {
    type Output = Cycle;
    fn add(self, o: Cycle) -> Cycle {
        Cycle(self.0.saturating_add(o.0))
    }
}

impl AddAssign for Cycle {
    fn add_assign(&mut self, o: Cycle) {
        self.0 = self.0.saturating_add(o.0);
    }
}

impl Sub for Cycle {
    type Output = Cycle;
    fn sub(self, o: Cycle) -> Cycle {
        self.saturating_sub(o)
    }
}

/// Emulated time since the chip was built: timesteps completed and total cycles (the sum of every
/// timestep's latency).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmuTime {
    /// Timesteps completed.
    pub steps: u64,
    /// Cycles elapsed.
    pub cycles: Cycle,
}
