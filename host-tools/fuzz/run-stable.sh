#!/usr/bin/env bash
# Fuzz the NIR importer with libFuzzer on *stable* Rust (no cargo-fuzz, no sanitizers), as
# core-nostd/fuzz/run-stable.sh does for the image reader: the coverage instrumentation cargo-fuzz passes,
# as stable codegen flags; --target keeps them off build scripts. Seeds: shared/nir-examples/*.nir and
# host-tools/tests/fixtures/nir/*.nir.
#   bash host-tools/fuzz/run-stable.sh [seconds]      (default 60; corpus in host-tools/fuzz/corpus/)
set -euo pipefail
cd "$(dirname "$0")"
HOST=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  cargo build --release --target "$HOST"
mkdir -p corpus
SEEDS=../../../shared/nir-examples
[ -d "$SEEDS" ] || { echo "FAIL: seed directory $SEEDS missing"; exit 1; }
for f in "$SEEDS"/*.nir; do cp "$f" corpus/; done
# and the committed fixtures (per_neuron_2layer.nir reaches the per-neuron records path of core_layers)
for f in ../tests/fixtures/nir/*.nir; do cp "$f" corpus/; done
"$CARGO_TARGET_DIR/$HOST/release/nir_import" -max_total_time="${1:-60}" -rss_limit_mb=4096 corpus
