//! Golden: the firmware's network images, run through `image::Runner` on the host, give the results
//! recorded in `firmware/images/results.txt` (the same lines the Cortex-M4F and Cortex-M0 firmwares
//! print under QEMU; `firmware/ci.sh` compares those live). A deliberate change of the datapath changes
//! these lines: regenerate with `bash firmware/ci.sh --update` (it also refreshes BENCH.md and SIZES.md),
//! review the diff and commit it.

use plasticore_core::image::{Image, RunSummary, Runner};
use plasticore_core::net::Net;

const HOW: &str = "the datapath's results changed; if deliberate: bash firmware/ci.sh --update, review, commit";
const RESULTS: &str = include_str!("../../firmware/images/results.txt");

fn run<const P: usize, const N: usize, const O: usize, const S: usize>(bytes: &[u8]) -> RunSummary {
    let img = Image::parse(bytes).expect("valid image");
    let mut net: Box<Net<P, N, O, S>> = Box::default();
    img.load(&mut net).expect("loads");
    let stim = img.stimulus().expect("valid stimulus").expect("has a stimulus");
    Runner::new(stim).run(&mut net).expect("runs")
}

fn expected(name: &str) -> &'static str {
    RESULTS
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no line for {name} in results.txt"))
}

#[test]
fn reference_image_matches_the_recorded_result() {
    let s = run::<192, 128, 4, 1>(include_bytes!("../../firmware/images/reference.pcimg"));
    assert_eq!(s.to_string(), expected("reference"), "{HOW}");
    // Learning happened and lowered the loss (last eighth of the run vs the first).
    assert!(s.loss_tail_q16 < s.loss_head_q16, "{s}");
}

#[test]
fn m0_image_matches_the_recorded_result() {
    let s = run::<48, 32, 2, 1>(include_bytes!("../../firmware/images/m0.pcimg"));
    assert_eq!(s.to_string(), expected("m0"), "{HOW}");
}

#[test]
fn smoke_image_matches_the_recorded_result() {
    let s = run::<12, 8, 2, 1>(include_bytes!("../../firmware/images/smoke.pcimg"));
    assert_eq!(s.to_string(), expected("smoke"), "{HOW}");
}

#[test]
fn runs_are_deterministic() {
    let a = run::<48, 32, 2, 1>(include_bytes!("../../firmware/images/m0.pcimg"));
    let b = run::<48, 32, 2, 1>(include_bytes!("../../firmware/images/m0.pcimg"));
    assert_eq!(a, b);
}
