"""Write, with the Python `nir` package itself (h5py), a graph the way snnTorch 1.0 exports an RLeaky layer:
flat dotted names (`1.lif`, `1.w_rec`), w_rec as an Affine with bias, float64 neuron parameters next to
float32 weights, no dt in metadata, tau = dt/(1 - beta) with dt = 1e-4, r = tau/dt, v_reset = 0.

    python3 scripts/nir_snntorch_style.py OUT.nir

CI then imports it with `plasticore nir import OUT.nir --dt 1e-4` (a reader check on a file we did not write).
"""
import sys

import numpy as np
import nir

n_in, n = 8, 12
rng = np.random.default_rng(0)
dt, beta = 1e-4, 0.9
tau = dt / (1 - beta)
f64 = lambda v: np.asarray(v, dtype=np.float64)
nodes = {
    "input": nir.Input(input_type=np.array([n_in])),
    "0": nir.Affine(weight=rng.normal(0, 0.3, (n, n_in)).astype(np.float32), bias=np.zeros(n, np.float32)),
    "1.lif": nir.LIF(tau=f64(np.full(n, tau)), r=f64(np.full(n, tau / dt)), v_leak=f64(np.zeros(n)),
                     v_threshold=f64(np.ones(n)), v_reset=f64(np.zeros(n))),
    "1.w_rec": nir.Affine(weight=rng.normal(0, 0.1, (n, n)).astype(np.float32), bias=np.full(n, 0.01, np.float32)),
    "2": nir.Affine(weight=rng.normal(0, 0.3, (3, n)).astype(np.float32), bias=np.zeros(3, np.float32)),
    "output": nir.Output(output_type=np.array([3])),
}
edges = [("input", "0"), ("0", "1.lif"), ("1.lif", "1.w_rec"), ("1.w_rec", "1.lif"), ("1.lif", "2"), ("2", "output")]
nir.write(sys.argv[1], nir.NIRGraph(nodes=nodes, edges=edges))
g = nir.read(sys.argv[1])
assert sorted(g.edges) == sorted(edges), g.edges
print(f"wrote {sys.argv[1]}: {sorted(g.nodes)}")
