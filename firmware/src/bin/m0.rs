//! Cortex-M0 (QEMU microbit, 16 KiB RAM, no FPU, no hardware divide): on-chip ES-D-RTRL learning of the
//! M0 image.
#![no_std]
#![no_main]

use core::cell::RefCell;
use cortex_m::interrupt::Mutex;
use cortex_m_rt::entry;
use plasticore_firmware::{exit, run_and_report, M0Net, M0_IMAGE};

static SMALL: Mutex<RefCell<M0Net>> = Mutex::new(RefCell::new(M0Net::new()));

#[entry]
fn main() -> ! {
    defmt::info!("plasticore firmware: Cortex-M0");
    let ok = cortex_m::interrupt::free(|cs| run_and_report("m0", &mut SMALL.borrow(cs).borrow_mut(), M0_IMAGE));
    exit(ok)
}
