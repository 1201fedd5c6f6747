//! Pick the memory map from the target (cortex-m-quickstart pattern: memory.x in OUT_DIR).
use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    let src = if target.starts_with("thumbv6m") { "memory/microbit.x" } else { "memory/mps2-an386.x" };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(src, out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=images");
}
