//! RISC-V (riscv32imac, QEMU `virt`, `-bios none`): on-chip ES-D-RTRL learning of the reference image and
//! of the M0 image — the images the Cortex-M4F firmware runs — printing one line per image on the UART:
//! `<name> RESULT steps=… checksum=… …`, the `Display` of `RunSummary`, i.e. exactly the text of
//! `plasticore image run` on the host, which `firmware/ci.sh` compares character for character.
//!
//! Board I/O is two memory-mapped registers of QEMU's `virt` machine (hw/riscv/virt.c): the NS16550A
//! UART0 transmit register at 0x1000_0000 (QEMU's model needs no initialisation and never reports a full
//! FIFO) and the SiFive test finisher at 0x10_0000, which ends QEMU with status 0 (0x5555) or with status
//! `code` (`code << 16 | 0x3333`). Nothing else is platform-specific: the datapath is `plasticore-core`.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::fmt::Write;
use critical_section::Mutex;
use plasticore_core::image::{Image, ImageError, RunSummary, Runner, SECTION_STIMULUS};
use plasticore_core::net::Net;
use riscv_rt::entry;

// Linked for its critical-section implementation (single hart: disable interrupts).
use riscv as _;

/// The reference image: 64 inputs → 128 recurrent LIF → 4 readouts (as `plasticore_firmware::ReferenceNet`).
static REFERENCE_IMAGE: &[u8] = include_bytes!("../../images/reference.pcimg");
/// The Cortex-M0 image: 16 inputs → 32 recurrent LIF → 2 readouts.
static M0_IMAGE: &[u8] = include_bytes!("../../images/m0.pcimg");

type ReferenceNet = Net<192, 128, 4, 1>;
type M0Net = Net<48, 32, 2, 1>;

// The networks live in statics (zero-initialised .bss), never on the stack.
static REFERENCE: Mutex<RefCell<ReferenceNet>> = Mutex::new(RefCell::new(ReferenceNet::new()));
static SMALL: Mutex<RefCell<M0Net>> = Mutex::new(RefCell::new(M0Net::new()));

const UART0_THR: usize = 0x1000_0000;
const TEST_FINISHER: usize = 0x0010_0000;

/// Byte sink on QEMU virt's UART0.
struct Uart;

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            // SAFETY: 0x1000_0000 is the transmit holding register of QEMU virt's NS16550A UART0, a
            // byte-wide MMIO register that is always mapped; a volatile byte store is its whole protocol.
            unsafe { core::ptr::write_volatile(UART0_THR as *mut u8, b) };
        }
        Ok(())
    }
}

/// End QEMU: status 0 if `ok`, else 1.
fn exit(ok: bool) -> ! {
    let v: u32 = if ok { 0x5555 } else { (1 << 16) | 0x3333 };
    // SAFETY: 0x10_0000 is QEMU virt's SiFive test finisher, a 32-bit MMIO register; writing it ends the
    // emulation (the loop below is never reached on QEMU).
    unsafe { core::ptr::write_volatile(TEST_FINISHER as *mut u32, v) };
    #[allow(clippy::empty_loop)]
    loop {}
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let _ = writeln!(Uart, "panic: {info}");
    exit(false)
}

fn run_image<const P: usize, const N: usize, const O: usize, const S: usize>(
    net: &mut Net<P, N, O, S>,
    bytes: &[u8],
) -> Result<RunSummary, ImageError> {
    let img = Image::parse(bytes)?;
    img.load(net)?;
    let stim = img.stimulus()?.ok_or(ImageError::MissingSection(SECTION_STIMULUS))?;
    Ok(Runner::new(stim).run(net)?)
}

fn run_and_report<const P: usize, const N: usize, const O: usize, const S: usize>(
    name: &str,
    net: &mut Net<P, N, O, S>,
    bytes: &[u8],
) -> bool {
    match run_image(net, bytes) {
        Ok(s) => writeln!(Uart, "{name} {s}").is_ok(),
        Err(e) => {
            let _ = writeln!(Uart, "{name}: image rejected: {e}");
            false
        }
    }
}

#[entry]
fn main() -> ! {
    let _ = writeln!(Uart, "plasticore firmware: riscv32imac (QEMU virt)");
    let ok = critical_section::with(|cs| {
        let a = run_and_report("reference", &mut REFERENCE.borrow_ref_mut(cs), REFERENCE_IMAGE);
        let b = run_and_report("m0", &mut SMALL.borrow_ref_mut(cs), M0_IMAGE);
        a && b
    });
    exit(ok)
}
