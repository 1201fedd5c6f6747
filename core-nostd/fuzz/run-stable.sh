#!/usr/bin/env bash
# Fuzz the image reader with libFuzzer on *stable* Rust (no cargo-fuzz, no sanitizers): the same coverage
# instrumentation cargo-fuzz passes, as stable codegen flags. --target keeps the flags off build scripts.
#   bash core-nostd/fuzz/run-stable.sh [seconds]      (default 60; corpus in core-nostd/fuzz/corpus/)
# With cargo-fuzz and nightly (adds AddressSanitizer): cargo +nightly fuzz run image_reader
set -euo pipefail
cd "$(dirname "$0")"
HOST=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  cargo build --release --target "$HOST"
mkdir -p corpus
for f in ../../firmware/images/*.pcimg; do cp "$f" corpus/; done
"$CARGO_TARGET_DIR/$HOST/release/image_reader" -max_total_time="${1:-60}" corpus
