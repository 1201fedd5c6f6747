"""Check that a NIR file written by `plasticore nir export` loads in the Python `nir` package (nir.read with its
type check) and holds the network of the plasticore-float-net it was exported from.

    python3 scripts/nir_check.py NET.json FILE.nir

Fails loudly (non-zero exit, message) on any difference; prints one line per check otherwise.
"""
import json
import sys

import numpy as np
import nir

net_path, nir_path = sys.argv[1], sys.argv[2]
net = json.load(open(net_path))
g = nir.read(nir_path)  # type_check=True: nir's own shape inference over the whole graph
print(f"nir {nir.__version__}: read {nir_path}: nodes {sorted(g.nodes)}")

def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)

def close(a, b, what, rtol):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        fail(f"{what}: shape {a.shape} vs {b.shape}")
    if not np.allclose(a, b, rtol=rtol, atol=rtol * 1e-3):
        fail(f"{what}: max |diff| {np.max(np.abs(a - b))}")
    print(f"ok: {what} {a.shape}")

# float32 export: values are the float64 ones rounded to float32 (relative error <= 2^-24 ~ 6e-8)
f32 = g.nodes["fc0"].weight.dtype == np.float32
rtol = 1.2e-7 if f32 else 1e-15
dt = net["dt_ms"] * 1e-3
md = g.metadata
if abs(float(md["dt"]) - dt) > 1e-15:
    fail(f"metadata dt {md['dt']} vs {dt}")
for k in ["discretisation", "reset_mechanism", "generator", "source_format", "fixed_point_formats"]:
    if k not in md:
        fail(f"metadata lacks {k}")
print(f"ok: metadata {sorted(md)}")
method = md["discretisation"]

cfg, params = net["config"], net["params"]
for l, (c, p) in enumerate(zip(cfg["layers"], params["layers"])):
    n, n_in = c["n"], c["n_in"]
    w = np.asarray(p["w"]).reshape(-1, n)
    fc = g.nodes[f"fc{l}"]
    if not isinstance(fc, nir.Affine):
        fail(f"fc{l} is {type(fc).__name__}, expected Affine")
    close(fc.weight, w[:n_in].T, f"fc{l}.weight", rtol)
    close(fc.bias, p["b"], f"fc{l}.bias", rtol)
    if c["recurrent"]:
        sub = g.nodes[f"rsnn{l}"]
        if not isinstance(sub, nir.NIRGraph):
            fail(f"rsnn{l} is not a NIRGraph")
        if sorted(sub.edges) != sorted([("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")]):
            fail(f"rsnn{l} edges {sub.edges}")
        close(sub.nodes["w_rec"].weight, w[n_in:].T, f"rsnn{l}.w_rec.weight", rtol)
        neuron = sub.nodes["lif"]
    else:
        neuron = g.nodes[f"lif{l}"]
    spec = c["neuron"]["Builtin"]
    decay = lambda tau: (1 - dt / tau) if method == "euler" else np.exp(-dt / tau)
    tau_m = neuron.tau_mem if isinstance(neuron, nir.CubaLIF) else neuron.tau
    close(decay(np.asarray(tau_m, dtype=np.float64)), np.full(n, spec["alpha_m"]), f"layer {l} membrane decay from tau", 1e-6 if f32 else 1e-12)
    close(neuron.v_threshold, np.full(n, spec["v_th"]), f"layer {l} v_threshold", rtol)
    syn = spec["synapse"]
    if isinstance(syn, dict) and "Exponential" in syn:
        if not isinstance(neuron, nir.CubaLIF):
            fail(f"layer {l}: exponential synapse exported as {type(neuron).__name__}")
        close(decay(np.asarray(neuron.tau_syn, dtype=np.float64)), np.full(n, syn["Exponential"]["alpha_s"]), f"layer {l} synaptic decay", 1e-6 if f32 else 1e-12)

out = cfg["output"]
if isinstance(out, dict) and "LeakyReadout" in out:
    n_out = out["LeakyReadout"]["n_out"]
    v = np.asarray(params["readout"]).reshape(-1, n_out)
    close(g.nodes["fc_out"].weight, v.T, "fc_out.weight (readout)", rtol)
print("nir_check: all checks passed")
