//! Fuzz the network-image reader with the properties of `src/image_check.rs` (no panic on any input; a
//! failed `load` leaves the network untouched; a loaded image equals a fresh load, re-encodes to itself
//! and runs to the same bits). `core-nostd/tests/fuzz_seeds.rs` runs the same checks on the committed
//! seeds and regression inputs in `cargo test`.
#![no_main]

#[path = "../src/image_check.rs"]
mod image_check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    image_check::check(data);
});
