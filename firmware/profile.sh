#!/usr/bin/env bash
# Attribute the instructions of PROFILED learning steps of the reference image (Cortex-M4F) to the core's
# phases: QEMU single-steps with an exec trace (one line per executed instruction, toolchain.md §3 B), awk
# counts the PCs between the two marker functions of src/bin/m4-profile.rs, and llvm-addr2line's inlining
# chains say which phase each PC belongs to (the frame directly below `Net::step` / `Runner::step`).
# Usage: [PROFILE_FROM=300] [PROFILE_STEPS=20] bash firmware/profile.sh   (the window: steps PROFILE_FROM ..
# PROFILE_FROM+PROFILE_STEPS-1, index from 0 as in BENCH.md's WORST line; needs qemu-system-arm, llvm-tools and llvm-addr2line (Debian: llvm); ~2 min;
# defmt-print, if on PATH, decodes the firmware's operation counts of the profiled steps)
set -euo pipefail
cd "$(dirname "$0")"
BIN="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
export PROFILE_FROM="${PROFILE_FROM:-300}" PROFILE_STEPS="${PROFILE_STEPS:-20}"
echo "profiling learning steps $PROFILE_FROM..$((PROFILE_FROM + PROFILE_STEPS - 1)) (index from 0)"
CARGO_TARGET_DIR="$PWD/target" cargo build -q --release --bin m4-profile
E=target/thumbv7em-none-eabihf/release/m4-profile
B=$("$BIN/llvm-nm" "$E" | awk '/ T plasticore_profile_begin$/{print $1}')
F=$("$BIN/llvm-nm" "$E" | awk '/ T plasticore_profile_end$/{print $1}')
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
if [ -n "${PROFILE_REUSE:-}" ] && [ -f target/profile/hist ]; then cp target/profile/hist "$TMP/hist"; else
timeout 600 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
  -semihosting-config enable=on,target=native -singlestep -d nochain,exec -D /dev/stderr -kernel "$E" 2>&1 >"$TMP/defmt.raw" \
  | awk -v b="$B" -v f="$F" -F'[/[]' '/^Trace/{pc=$3; if (pc==b) on=1; else if (pc==f) on=0; else if (on) n[pc]++}
      END{for (p in n) print p, n[p]}' >"$TMP/hist"
fi
total=$(awk '{s+=$2} END{print s}' "$TMP/hist")
mkdir -p target/profile; cp "$TMP/hist" target/profile/hist
# The firmware's own report (operation counts of the profiled steps), decoded when defmt-print is at hand.
[ -s "$TMP/defmt.raw" ] && cp "$TMP/defmt.raw" target/profile/defmt.raw
if [ -s target/profile/defmt.raw ] && command -v defmt-print >/dev/null 2>&1; then
  defmt-print -e "$E" <target/profile/defmt.raw
fi
awk '{print "0x"$1}' "$TMP/hist" | "${ADDR2LINE:-llvm-addr2line}" --addresses --inlines -f -C -e "$E" >"$TMP/sym"
python3 - "$TMP/hist" "$TMP/sym" "$total" <<'PY'
import sys, re, subprocess
hist = [l.split() for l in open(sys.argv[1])]
total = int(sys.argv[3])
lines = open(sys.argv[2]).read().split('\n')
# llvm-addr2line -a: an address line, then pairs (function, location) innermost..outermost.
chains = []
i = 0
while i < len(lines):
    if lines[i].startswith('0x'):
        chains.append([]); i += 1; continue
    if lines[i] and chains:
        chains[-1].append(lines[i])
    i += 2
def short(f):
    f = re.sub(r'::h[0-9a-f]{16}$', '', f)
    for a, b in (('$LT$', '<'), ('$GT$', '>'), ('$C$', ','), ('$RF$', '&'), ('$u20$', ' '), ('$u5b$', '['), ('$u5d$', ']'), ('..', '::')):
        f = f.replace(a, b)
    f = f.lstrip('_')
    f = re.sub(r'<[^<>]*>', '', f)  # drop generic args (one level)
    f = re.sub(r'<[^<>]*>', '', f)
    return f
PHASES = ['LayerMut::integrate', 'LayerMut::fire', 'LayerMut::learn', 'LayerMut::grad_factors',
          'ReadoutMut::integrate', 'ReadoutMut::error', 'ReadoutMut::feedback', 'ReadoutMut::learn',
          'ReadoutMut::grad_factors']
# Out-of-line helpers of a phase (their own symbols, not inlined into it).
ALIAS = {'buckets::learn_bucketed_narrow': 'LayerMut::learn', 'ReadoutMut::learn_rows_narrow': 'ReadoutMut::learn', 'buckets::list_and_group': 'LayerMut::learn', 'buckets::list_and_group_split': 'LayerMut::learn', 'LayerMut::input_traces': 'LayerMut::integrate', 'buckets::learn_bucketed_narrow_split': 'LayerMut::learn', 'layer::learn_listed_narrow': 'LayerMut::learn',
         'layer::update_listed': 'LayerMut::learn',
         'layer::clamp_counted': 'LayerMut::learn', 'ReadoutMut::feedback_where': 'ReadoutMut::feedback',
         'LayerMut::fire_lif_learning': 'LayerMut::fire', 'LayerMut::fire_lif_inference': 'LayerMut::fire'}
def phase(chain):
    """The outermost known phase in the inlining chain, else None."""
    for f in reversed([short(x) for x in chain]):
        for ph in PHASES:
            if f.endswith(ph):
                return ph
        for a, ph in ALIAS.items():
            if f.endswith(a):
                return ph
    return None
def context(chain):
    fr = [short(x) for x in chain]
    if any(f.endswith('Net::step') for f in fr):
        return 'Net::step (deliver, glue)'
    if any(f.endswith('Runner::step') for f in fr):
        return 'Runner::step (stimulus, target)'
    return None
# PCs whose chain names a phase are attributed directly; the others (inlined helpers whose debug info lost
# the chain, e.g. clamp_i64 or slice iterators) take the phase of the nearest attributed PC below them in
# the code (a phase's loop is contiguous machine code).
rows = sorted(((int(pc, 16), int(n), ch) for (pc, n), ch in zip(hist, chains)), key=lambda r: r[0])
direct, near = {}, {}
last = None
for pc, n, ch in rows:
    p = phase(ch) or context(ch)
    if p is not None:
        last = p
        direct[p] = direct.get(p, 0) + n
    else:
        q = last or 'unattributed'
        near[q] = near.get(q, 0) + n
print(f"instructions in the profiled steps: {total}")
print(f"{'phase':<34} {'direct':>10} {'+nearby':>10} {'total':>10} {'share':>7}")
keys = sorted(set(direct) | set(near), key=lambda k: -(direct.get(k, 0) + near.get(k, 0)))
for k in keys:
    d, m = direct.get(k, 0), near.get(k, 0)
    print(f"{k:<34} {d:>10} {m:>10} {d+m:>10} {100*(d+m)/total:6.1f}%")
# Finer: the innermost function each PC belongs to (where inside a phase the instructions go).
inner = {}
for pc, n, ch in rows:
    f = short(ch[0]) if ch else '?'
    inner[f] = inner.get(f, 0) + n
print(f"\ninnermost function (top 15)               instructions   share")
for f, n in sorted(inner.items(), key=lambda kv: -kv[1])[:15]:
    print(f"{f[-40:]:<40} {n:>14} {100*n/total:6.1f}%")
PY
