//! Cortex-M4F (QEMU mps2-an386): on-chip ES-D-RTRL learning of the reference image and of the M0 image.
#![no_std]
#![no_main]

use core::cell::RefCell;
use cortex_m::interrupt::Mutex;
use cortex_m_rt::entry;
use plasticore_firmware::{exit, run_and_report, M0Net, ReferenceNet, M0_IMAGE, REFERENCE_IMAGE};

// The networks live in statics (const-initialised, never on the stack).
static REFERENCE: Mutex<RefCell<ReferenceNet>> = Mutex::new(RefCell::new(ReferenceNet::new()));
static SMALL: Mutex<RefCell<M0Net>> = Mutex::new(RefCell::new(M0Net::new()));

#[entry]
fn main() -> ! {
    defmt::info!("plasticore firmware: Cortex-M4F");
    let ok = cortex_m::interrupt::free(|cs| {
        let a = run_and_report("reference", &mut REFERENCE.borrow(cs).borrow_mut(), REFERENCE_IMAGE);
        let b = run_and_report("m0", &mut SMALL.borrow(cs).borrow_mut(), M0_IMAGE);
        a && b
    });
    exit(ok)
}
