//! Fuzz the graph-image reader (format version 2, and version 1 read as a graph): any byte string must
//! give an `ImageError` or a loaded graph, never a panic — through parse, desc, config, stimulus, a dense
//! `Graph` load, a pooled load (dense and compressed rows, per-neuron thresholds and decays), `GraphMut::new` and a few `Runner` steps. As
//! in `image_reader`, inputs whose first byte is odd get their length and CRC fixed first, so the fuzzer
//! reaches the field decoders and the core's validation. Seeds: `fuzz/seeds-graph/` (written by
//! `PLASTICORE_UPDATE_SEEDS=1 cargo test -p plasticore-core --test graph_image fuzz_seeds`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use plasticore_core::format::Weight;
use plasticore_core::graph::image::{GraphImage, PooledStorage};
use plasticore_core::graph::{self, Graph, GraphBuffers, GraphMut, GraphScalars, PoolBuffers};
use plasticore_core::image::{self, Runner, Stimulus, TargetRule};
use plasticore_core::layer::{LayerScalars, Saturations};
use plasticore_core::neuron::ParamSlot;
use plasticore_core::readout::ReadoutBuffers;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    if buf.len() >= 5 && buf[0] & 1 == 1 {
        let n = buf.len() - 1;
        let b = &mut buf[1..];
        if b.len() >= 12 {
            b[8..12].copy_from_slice(&(n as u32).to_le_bytes());
        }
        let c = image::crc32(&b[..n - 4]);
        b[n - 4..].copy_from_slice(&c.to_le_bytes());
        buf.remove(0);
    }
    let Ok(img) = GraphImage::parse(&buf) else { return };
    let Ok(desc) = img.desc() else { return };
    let _ = desc.config();
    let stim = match img.stimulus() {
        Ok(s) => s.unwrap_or(Stimulus { seed: 1, rate: 1 << 30, steps: 4, target: TargetRule::GroupActivity, amplitude: 1 << 16 }),
        Err(_) => return,
    };
    let stim = Stimulus { steps: stim.steps.min(4), ..stim };
    let mut dense: Box<Graph<32, 96, 128, 2048, 4, 1024, 32, plasticore_core::format::Weight, 128>> = Box::default();
    if img.load(&mut dense).is_ok() {
        if let Ok(mut v) = dense.view() {
            let mut values = vec![0i32; v.config().readout.outputs as usize];
            let _ = graph::run_graph(&mut Runner::new(stim), &mut v, &mut [0; 128], &mut values);
        }
    }
    // Pooled: sizes are bounded by the image's own length.
    let Ok(z) = img.pooled_sizes(&desc) else { return };
    let (mut w, mut rs, mut cs, mut ro) = (vec![Weight(0); z.weights], vec![0u32; z.row_start], vec![0u16; z.cols], vec![Weight(0); z.readout]);
    let mut bias = vec![0i32; z.bias];
    let mut params = vec![ParamSlot::EMPTY; z.params];
    let Ok(l) = img.load_pooled(PooledStorage { weights: &mut w, row_start: &mut rs, cols: &mut cs, readout: &mut ro, bias: &mut bias, params: &mut params }) else {
        return;
    };
    let lay = l.layout;
    if lay.neurons > 1 << 12 || lay.axons > 1 << 14 || lay.hist_len() > 1 << 16 {
        return; // keep each execution fast; the pooled load above already validated it
    }
    let o = l.config.readout.outputs as usize;
    let n_ro = lay.readout_weights / o.max(1);
    let (mut st, mut et) = (vec![0i32; lay.states], vec![0i32; lay.states]);
    let (mut xt, mut pre, mut eff) = (vec![0u16; lay.axons], vec![[0i32; 2]; lay.presyn], vec![0i32; lay.presyn]);
    let (mut acc, mut psi, mut grad, mut fb) = (vec![0i32; lay.neurons], vec![0i32; lay.neurons], vec![0i64; lay.neurons], vec![0i32; lay.neurons]);
    let mut sc = vec![LayerScalars::default(); lay.populations];
    let (mut r, mut ot, mut err, mut rg) = (vec![0i32; o], vec![0u16; n_ro], vec![0i32; o], vec![0i64; o]);
    let (mut sat, mut upd, mut gs) = (Saturations::default(), 0u32, GraphScalars::default());
    let (mut hist, mut hc) = (vec![0u16; lay.hist_len()], vec![0u16; lay.hist_counts()]);
    let (mut act, mut spk, mut dl) = (vec![0u16; lay.max_axons], vec![0u16; lay.max_neurons], vec![0i32; lay.max_neurons]);
    let topo = l.topology(&rs, &cs);
    let b = GraphBuffers {
        pool: PoolBuffers {
            weights: &mut w,
            state: &mut st,
            etrace: &mut et,
            xtrace: &mut xt,
            presyn: &mut pre,
            efficacy: &mut eff,
            acc: &mut acc,
            psi: &mut psi,
            grad: &mut grad,
            bias: &mut bias,
            params: &mut params,
            scalars: &mut sc,
        },
        readout: ReadoutBuffers { weights: &mut ro, r: &mut r, otrace: &mut ot, err: &mut err, grad: &mut rg, sat: &mut sat, updates: &mut upd },
        fb: &mut fb,
        hist: &mut hist,
        hist_count: &mut hc,
        active: &mut act,
        spikes: &mut spk,
        delta: &mut dl,
        scalars: &mut gs,
    };
    let np = l.desc.populations.len();
    let Ok(mut g) = GraphMut::new(&l.config, &topo[..np], b) else { return };
    g.reset_state();
    let mut input = vec![0u16; l.config.inputs as usize];
    let mut values = vec![0i32; o];
    let _ = graph::run_graph(&mut Runner::new(stim), &mut g, &mut input, &mut values);
});
