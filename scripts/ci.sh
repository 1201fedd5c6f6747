#!/usr/bin/env bash
# The one test entry point (README's test command; .ci/run calls it). It installs what it needs and fails
# loudly: a missing tool is an error, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

# Disk: a clean run once died in the linker (lld: "Bus error", the output file could not grow) on a machine
# whose disk filled up. Keep the footprint small and report it at every step:
#  * no incremental caches (a CI build is never rebuilt incrementally);
#  * the optimised test profile keeps line tables only (backtraces keep file:line; full DWARF for
#    opt-level 3 code tripled target/debug), release keeps its limited debuginfo for profiling.
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_TEST_DEBUG=line-tables-only
free_mb() { df -Pm . | awk 'NR==2 {print $4}'; }
disk() { printf '(disk: %s MB free; checkout + build output %s MB)\n' "$(free_mb)" "$(du -sm . | cut -f1)"; }
step() { printf '\n=== %s ===\n' "$*"; disk; }

# A clean-clone run (.ci/run) ends with 2.3 GB of checkout + build output (was 4.2 GB before the settings
# above), and a fresh machine also downloads ~0.5 GB of crates and rustup targets. Fail now, naming the
# shortfall, rather than in a linker ten minutes in.
NEED_MB=3000
if [ "$(free_mb)" -lt "$NEED_MB" ]; then
  echo "FAIL: $(free_mb) MB free on $(df -P . | awk 'NR==2 {print $6}'); CI needs about $NEED_MB MB"
  exit 1
fi

step "toolchain: MCU targets and llvm-tools"
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imac-unknown-none-elf
rustup component add llvm-tools
NM="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-nm"
[ -x "$NM" ] || { echo "FAIL: llvm-nm not found at $NM"; exit 1; }

step "host tests (workspace; --all-targets also builds and smoke-runs every benchmark once)"
cargo test --workspace --all-targets
disk
cargo test -p plasticore-core --features hal --test hal_aer
# Data tests run on committed fixtures (host-tools/tests/fixtures); the full-data checks are #[ignore]d
# and run here on the full files: missing data is an error, never a skip.
PLASTICORE_DATA="${PLASTICORE_DATA:-$(cd .. && pwd)/shared/data}" \
  cargo test -p plasticore --test reference_models --test reference_encoders -- --ignored
cargo test --workspace --doc
if [ "${PLASTICORE_CI_PRUNE:-0}" = 1 ]; then
  # A clean-clone run (.ci/run) never runs these test and bench executables again (≈ 0.8 GB): delete them
  # before the release builds. The dependencies stay, for the firmware step's two host checks.
  find "${CARGO_TARGET_DIR:-target}/debug/deps" "${CARGO_TARGET_DIR:-target}/debug/examples" \
    -maxdepth 1 -type f -perm -u+x ! -name '*.so' -delete
  echo "(deleted the test executables)"; disk
fi

step "core-nostd release builds for the MCU targets"
for t in thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imac-unknown-none-elf; do
  cargo build -p plasticore-core --release --target "$t"
  cargo build -p plasticore-core --release --target "$t" --features defmt,hal
done

step "no soft-float routines in core-nostd (thumbv6m has no FPU: floats would become __aeabi_* calls)"
RLIB=target/thumbv6m-none-eabi/release/libplasticore_core.rlib
[ -f "$RLIB" ] || { echo "FAIL: $RLIB missing"; exit 1; }
if "$NM" --undefined-only "$RLIB" 2>/dev/null \
  | grep -E '__aeabi_[fd]|__aeabi_[uil]2[fd]|__(add|sub|mul|div|cmp|eq|lt|gt|le|ge|ne|unord)[sd]f[23]|__float|__fix|__extendsfdf2|__truncdfsf2'
then
  echo "FAIL: soft-float routines referenced by core-nostd"; exit 1
fi
echo "ok: no soft-float symbols"

step "firmware under QEMU"; bash firmware/ci.sh
# Benchmarks are compiled and run once each (criterion's test mode) by `cargo test --all-targets` above.

step "fuzz the image readers: stable libFuzzer from the committed seeds, 45 s v1 + 30 s graph images (campaign: hw-notes/fuzzing.md)"
bash core-nostd/fuzz/run-stable.sh 45
FUZZ_TARGET=graph_image_reader bash core-nostd/fuzz/run-stable.sh 30
if [ "${PLASTICORE_CI_PRUNE:-0}" = 1 ]; then rm -rf core-nostd/fuzz/target; echo "(deleted the fuzz build)"; disk; fi

step "the README run command (the main job) and the core-only demo"
cargo run --release -p plasticore -- demo
cargo run --release -p plasticore -- demo --core --sequences 200

step "NIR: import, export, simulate; exported files load in Python nir (pinned), never skipped"
python3 -m pip install --quiet "nir==1.0.8" || { echo "FAIL: pip install nir==1.0.8"; exit 1; }
NIR_OUT="$(mktemp -d)"
PC="${CARGO_TARGET_DIR:-target}/release/plasticore"  # built by the README run command above
"$PC" nir import ../shared/nir-examples/rsnn_cubalif_subgraph.nir -o "$NIR_OUT/rsnn.json"
for m in euler exact; do
  for d in f32 f64; do
    "$PC" nir export "$NIR_OUT/rsnn.json" -o "$NIR_OUT/rsnn-$m-$d.nir" --method "$m" --dtype "$d"
    python3 scripts/nir_check.py "$NIR_OUT/rsnn.json" "$NIR_OUT/rsnn-$m-$d.nir"
  done
done
# fixed-point images (v2 from the float network, v1 preset) → NIR: loads in Python nir, weights are
# mantissas × 2^-frac of the formats in the metadata and equal the re-imported network's
"$PC" image write --from-float "$NIR_OUT/rsnn.json" --out "$NIR_OUT/rsnn.pcimg"
"$PC" image write --preset m0 --out "$NIR_OUT/m0.pcimg"
for i in rsnn m0; do
  "$PC" nir export "$NIR_OUT/$i.pcimg" -o "$NIR_OUT/$i-img.nir"
  "$PC" nir import "$NIR_OUT/$i-img.nir" -o "$NIR_OUT/$i-img.json"
  python3 scripts/nir_check.py "$NIR_OUT/$i-img.json" "$NIR_OUT/$i-img.nir"
  python3 scripts/nir_check_image.py "$NIR_OUT/$i-img.nir" "$NIR_OUT/$i-img.json"
done
# per-neuron arrays import as plasticore-float-net v2
LIF2="$("$PC" nir import ../shared/nir-examples/lif_2layer.nir -o "$NIR_OUT/lif2.json")"
case "$LIF2" in *"float-net v2"*) ;; *) echo "FAIL: lif_2layer did not import as v2: $LIF2"; exit 1 ;; esac
"$PC" nir export "$NIR_OUT/lif2.json" -o "$NIR_OUT/lif2.nir"
python3 -c 'import sys, nir; g = nir.read(sys.argv[1]); assert len(g.nodes["lif0"].tau) == 20; print("ok: per-neuron export loads in nir", sorted(g.nodes))' "$NIR_OUT/lif2.nir"
# per-neuron θ and β to fixed point (issue 10): the shipped example → per-neuron records → host = chip
"$PC" nir import host-tools/tests/fixtures/nir/per_neuron_2layer.nir -o "$NIR_OUT/pn.json"
"$PC" image write --from-float "$NIR_OUT/pn.json" --out "$NIR_OUT/pn.pcimg" --steps 300
[ "$("$PC" image info "$NIR_OUT/pn.pcimg" | grep -c 'thresholds/decays per neuron')" = 2 ] || { echo "FAIL: per_neuron_2layer has no per-neuron records"; exit 1; }
"$PC" image run "$NIR_OUT/pn.pcimg" --emulator loihi
python3 scripts/nir_snntorch_style.py "$NIR_OUT/snn.nir"
"$PC" nir import "$NIR_OUT/snn.nir" --dt 1e-4 -o "$NIR_OUT/snn.json"
printf 't,channel\n0,3\n0,17\n2,40\n5,3\n' > "$NIR_OUT/events.csv"
"$PC" nir simulate ../shared/nir-examples/ff_cubalif_li.nir --input "$NIR_OUT/events.csv" --steps 50 --out "$NIR_OUT/sim"
[ -s "$NIR_OUT/sim/membranes.csv" ] || { echo "FAIL: nir simulate wrote no membranes.csv"; exit 1; }
rm -rf "$NIR_OUT"

echo
disk
echo "CI: all steps passed"
