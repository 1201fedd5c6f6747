//! The whole NIR import path on arbitrary bytes: HDF5 parse → graph → lowering (both schemes) →
//! float-net conversion → a few simulation steps. Every stage must return `Ok` or `Err`, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use plasticore::nir::float_net::to_saved_net;
use plasticore::nir::graph::NirFile;
use plasticore::nir::lower::{lower, Method, Options, ResetMechanism};
use plasticore::nir::sim::Sim;
use plasticore::quantize::float_net::{core_form, core_layers};
use plasticore::reference::io::ModelSpec;
use plasticore::reference::net::{forward_step, NetState, StepRecord};

fuzz_target!(|data: &[u8]| {
    let Ok(f) = NirFile::from_bytes(data) else {
        return;
    };
    for (method, reset) in [
        (Method::Euler, ResetMechanism::Value),
        (Method::Exact, ResetMechanism::SubtractUndecayed),
    ] {
        let Ok(d) = lower(
            &f.graph,
            Options {
                dt: 1e-3,
                method,
                reset,
            },
        ) else {
            continue;
        };
        let saved = to_saved_net(&d, "fuzz");
        // bounded work: small graphs only, three steps
        if d.n_inputs <= 4096
            && d.nodes
                .iter()
                .map(|n| n.n_in.saturating_mul(n.n_out))
                .sum::<usize>()
                <= 1 << 22
        {
            if let Ok(s) = &saved {
                // the float-net (v1 or v2 per-neuron; to_saved_net validated it as a file) run by the
                // reference, and turned toward fixed point (per-neuron layers into the core's form, with
                // per-neuron α_m and θ where they differ, or refused by layer and field)
                if let Ok(c) = core_layers(s) {
                    for l in &c.config.layers {
                        if let ModelSpec::PerNeuron(pn) = &l.neuron {
                            let _ = core_form(pn);
                        }
                    }
                }
                let mut st = NetState::<f64>::new(&s.config);
                let mut rec = StepRecord::default();
                let u = vec![1.0; s.config.n_in()];
                for _ in 0..3 {
                    forward_step::<f64, ModelSpec>(&s.config, &s.params, &mut st, &u, &mut rec);
                }
            }
            let mut sim = Sim::new(&d);
            let u = vec![1.0; d.n_inputs];
            for _ in 0..3 {
                let _ = sim.step(&u);
            }
        }
    }
    let _ = f.to_bytes();
});
