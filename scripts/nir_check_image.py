"""Check a NIR file that `plasticore nir export IMAGE.pcimg` wrote from a fixed-point image: it loads in the
Python `nir` package (nir.read with its type check), its metadata carries dt, the source and the fixed-point
formats, and every weight is a mantissa of the stored width times 2^-weight_frac of its population (of the
readout for fc_out), equal to the re-imported float network's weight.

    python3 scripts/nir_check_image.py FILE.nir REIMPORTED.json

Fails loudly (non-zero exit, message) on any difference; prints one line per check otherwise.
"""
import json
import sys

import numpy as np
import nir

nir_path, net_path = sys.argv[1], sys.argv[2]
g = nir.read(nir_path)
net = json.load(open(net_path))
print(f"nir {nir.__version__}: read {nir_path}: nodes {sorted(g.nodes)}")


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


md = g.metadata
for k in ["dt", "source_format", "fixed_point_formats", "reset_mechanism", "discretisation"]:
    if k not in md:
        fail(f"metadata lacks {k}")
if not str(md["source_format"]).startswith("plasticore image v"):
    fail(f"source_format {md['source_format']}")
fmt = json.loads(str(md["fixed_point_formats"]))
if abs(float(md["dt"]) - fmt["dt_ms"] * 1e-3) > 1e-15:
    fail(f"dt {md['dt']} vs the formats' dt_ms {fmt['dt_ms']}")
print(f"ok: metadata {sorted(md)}; image v{fmt['image_version']}, dt {md['dt']} s")


def mantissas(w, f, what):
    w = np.asarray(w, dtype=np.float64)
    bits, frac = f["weight_bits"], f["weight_frac"]
    m = w * 2.0**frac
    if not np.all(m == np.round(m)):
        fail(f"{what}: not a multiple of 2^-{frac}")
    lim = 2 ** (bits - 1)
    if m.min() < -lim or m.max() > lim - 1:
        fail(f"{what}: mantissas {m.min()}..{m.max()} outside {bits} bits")
    print(f"ok: {what} {w.shape}: {bits}-bit mantissas * 2^-{frac}")


for l, (c, p) in enumerate(zip(net["config"]["layers"], net["params"]["layers"])):
    f = fmt["populations"][l]["formats"]
    n, n_in = c["n"], c["n_in"]
    w = np.asarray(p["w"]).reshape(-1, n)
    fc = g.nodes[f"fc{l}"]
    mantissas(fc.weight, f, f"fc{l}.weight")
    if not np.array_equal(np.asarray(fc.weight, dtype=np.float64), w[:n_in].T):
        fail(f"fc{l}.weight differs from the re-imported network")
    if c["recurrent"]:
        wr = g.nodes[f"rsnn{l}"].nodes["w_rec"].weight
        mantissas(wr, f, f"rsnn{l}.w_rec.weight")
        if not np.array_equal(np.asarray(wr, dtype=np.float64), w[n_in:].T):
            fail(f"rsnn{l}.w_rec.weight differs from the re-imported network")
n_out = fmt["readout"]["outputs"]
fo = g.nodes["fc_out"].weight
mantissas(fo, fmt["readout"]["formats"], "fc_out.weight (readout)")
if not np.array_equal(np.asarray(fo, dtype=np.float64), np.asarray(net["params"]["readout"]).reshape(-1, n_out).T):
    fail("fc_out.weight differs from the re-imported network")
print("nir_check_image: all checks passed")
