//! Shared firmware code: the panic handler, loading an embedded network image and running its seeded
//! stimulus through `plasticore-core`, and the defmt report the CI compares with the host.
//!
//! Every binary prints, over semihosting through `defmt-semihosting`, one line per image:
//! `<name> RESULT steps=… checksum=… trajectory=… …`, the same fields in the same format as
//! `plasticore image run` (`RunSummary`'s `Display`), then exits QEMU with status 0 (or 1 on any error or
//! panic).
#![no_std]

use cortex_m_semihosting::debug;
use defmt_semihosting as _;
use plasticore_core::image::{Image, ImageError, RunSummary, Runner};
use plasticore_core::net::Net;

// Linked for its critical-section implementation (toolchain.md §2 gotcha 1).
use cortex_m as _;

/// The reference image: 64 inputs → 128 recurrent LIF → 4 readouts, 10 % input activity, 1000 steps.
pub static REFERENCE_IMAGE: &[u8] = include_bytes!("../images/reference.pcimg");
/// The Cortex-M0 image: 16 inputs → 32 recurrent LIF → 2 readouts, 20 % input activity, 1000 steps.
pub static M0_IMAGE: &[u8] = include_bytes!("../images/m0.pcimg");

/// Hidden-layer geometry of the reference image (axons = inputs + neurons, recurrent).
pub type ReferenceNet = Net<192, 128, 4, 1>;
/// Geometry of the M0 image.
pub type M0Net = Net<48, 32, 2, 1>;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit(false)
}

/// Exit QEMU through semihosting: status 0 if `ok`, else 1.
pub fn exit(ok: bool) -> ! {
    debug::exit(if ok { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Load `bytes` into `net` (validated in place, no allocation) and run the image's stimulus.
pub fn run_image<const P: usize, const N: usize, const O: usize, const S: usize>(
    net: &mut Net<P, N, O, S>,
    bytes: &[u8],
) -> Result<RunSummary, ImageError> {
    let img = Image::parse(bytes)?;
    img.load(net)?;
    let stim = img.stimulus()?.ok_or(ImageError::MissingSection(plasticore_core::image::SECTION_STIMULUS))?;
    Ok(Runner::new(stim).run(net)?)
}

/// Print the RESULT line of one image (same text as `RunSummary`'s `Display` on the host).
pub fn report(name: &str, s: &RunSummary) {
    defmt::println!(
        "{=str} RESULT steps={=u32} checksum={=u32:08x} trajectory={=u32:08x} spikes={=u32} loss_sum_q16={=i64} loss_head_q16={=i64} loss_tail_q16={=i64} saturations={=u32}",
        name,
        s.steps,
        s.checksum,
        s.trajectory,
        s.spikes,
        s.loss_sum_q16,
        s.loss_head_q16,
        s.loss_tail_q16,
        s.saturations
    );
}

/// Run one image and report it; `false` (after logging the error) if the image was rejected.
pub fn run_and_report<const P: usize, const N: usize, const O: usize, const S: usize>(
    name: &str,
    net: &mut Net<P, N, O, S>,
    bytes: &[u8],
) -> bool {
    match run_image(net, bytes) {
        Ok(s) => {
            report(name, &s);
            true
        }
        Err(e) => {
            defmt::error!("{=str}: image rejected: {}", name, e);
            false
        }
    }
}
