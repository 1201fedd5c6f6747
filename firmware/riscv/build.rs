//! Put the QEMU `virt` memory map (memory/riscv-virt.x) where riscv-rt's link.x finds it as memory.x.
use std::{env, fs, path::PathBuf};

fn main() {
    let src = "../memory/riscv-virt.x";
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(src, out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../images");
}
