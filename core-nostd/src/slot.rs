//! [`ConfigSlot`]: an optional configuration whose empty state is all-zero bytes.

/// An `Option<T>` for configurations held next to large buffers in a `static`.
///
/// `Option<T>` encodes `None` in a niche of `T` (here a spare enum tag value, 3), so an unconfigured
/// [`crate::net::Net`] built by its `const fn new` has four non-zero bytes, and the linker places the
/// whole static, weight arrays included, in `.data`: initialised RAM that is also copied from flash at
/// boot (63 584 bytes of the Cortex-M4 firmware's flash, `firmware/SIZES.md`). The empty slot here is a
/// zero length and uninitialised storage, so such a static lands in `.bss` (zeroed at boot, no flash).
/// Built on `heapless::Vec<T, 1>`: no `unsafe` code. `firmware/ci.sh` checks the `.data` sizes.
pub(crate) struct ConfigSlot<T>(heapless::Vec<T, 1>);

impl<T: Copy> ConfigSlot<T> {
    /// Empty (all-zero bytes).
    pub(crate) const fn empty() -> Self {
        ConfigSlot(heapless::Vec::new())
    }

    /// The stored value, if any.
    pub(crate) fn get(&self) -> Option<&T> {
        self.0.first()
    }

    /// Store `v`, replacing any earlier value.
    pub(crate) fn set(&mut self, v: T) {
        self.0.clear();
        // Capacity 1 and empty after `clear`: the push cannot fail, and the result is `Ok`.
        let _ = self.0.push(v);
    }
}

#[cfg(test)]
mod tests {
    use super::ConfigSlot;

    #[test]
    fn empty_set_replace() {
        let mut s: ConfigSlot<u32> = ConfigSlot::empty();
        assert_eq!(s.get(), None);
        s.set(7);
        assert_eq!(s.get(), Some(&7));
        s.set(9);
        assert_eq!(s.get(), Some(&9));
    }
}
