//! Trace memory is O(N): the byte-count formula of `MemoryReport` and the actual size of the storage.

use plasticore_core::layer::{Layer, MemoryReport};
use plasticore_core::net::{Accumulator, Net};

#[test]
fn trace_bytes_follow_the_formula() {
    // ε^x: 2 bytes per axon; ẽ^f: 4 bytes per neuron state. Linear in axons and neurons.
    assert_eq!(Layer::<192, 128, 1>::MEMORY.traces, 2 * 192 + 4 * 128);
    assert_eq!(Layer::<64, 32, 3>::MEMORY.traces, 2 * 64 + 4 * 32 * 3);
    for (p, n, s) in [(10, 5, 1), (1000, 900, 2), (4096, 1024, 3)] {
        let m = MemoryReport::layer(p, n, s);
        assert_eq!(m.traces, 2 * p + 4 * n * s);
        assert_eq!(m.weights, 2 * p * n);
        // Doubling the network doubles the traces (O(N)) but quadruples the weights (O(N²)).
        let m2 = MemoryReport::layer(2 * p, 2 * n, s);
        assert_eq!(m2.traces, 2 * m.traces);
        assert_eq!(m2.weights, 4 * m.weights);
    }
}

#[test]
fn reported_bytes_match_the_storage_size() {
    fn check<const P: usize, const N: usize, const S: usize>() {
        let reported = Layer::<P, N, S>::MEMORY.total();
        let actual = core::mem::size_of::<Layer<P, N, S>>();
        // The storage holds exactly the reported buffers plus the configuration and counters (< 512 B).
        assert!(actual >= reported && actual - reported < 512, "{P}x{N}x{S}: reported {reported}, actual {actual}");
    }
    check::<192, 128, 1>();
    check::<64, 32, 3>();
    check::<16, 8, 2>();
    let net = core::mem::size_of::<Net<192, 128, 4, 1>>();
    let rep = Net::<192, 128, 4, 1>::MEMORY.total();
    assert!(net >= rep && net - rep < 1024, "net reported {rep}, actual {net}");
    assert_eq!(Accumulator::<192, 128, 4>::BYTES, core::mem::size_of::<Accumulator<192, 128, 4>>());
}

/// `Net::new` is `const`: a whole learner can live in a `static` (here behind a std `Mutex`; on a
/// microcontroller behind a critical-section mutex) without any heap.
#[test]
fn a_net_lives_in_a_static() {
    static NET: std::sync::Mutex<Net<24, 16, 2, 1>> = std::sync::Mutex::new(Net::new());
    let net = NET.lock().unwrap();
    assert!(net.config().is_none());
}

/// One-byte weights halve the weight memory and leave the O(N) learning state unchanged; the per-synapse
/// and per-neuron figures follow.
#[test]
fn one_byte_weights_halve_weight_memory() {
    let (p, n, s) = (192, 128, 1);
    let two = MemoryReport::layer(p, n, s);
    let one = MemoryReport::layer_with(p * n, p, n, s, 1);
    assert_eq!(two.weights, 2 * one.weights);
    assert_eq!((two.traces, two.state), (one.traces, one.state));
    assert_eq!(MemoryReport::bytes_per_synapse(p * n, &one), 1);
    assert_eq!(MemoryReport::bytes_per_synapse(p * n, &two), 2);
    // Traces 2·192 + 4·128, state 4·128 + 12·192 + 16·128 = 5888 B over 128 neurons → 47 B/neuron.
    assert_eq!(MemoryReport::bytes_per_neuron(n, &one), (two.traces + two.state).div_ceil(n));
    assert_eq!(two.traces + two.state, 2 * 192 + 4 * 128 + 4 * 128 + 12 * 192 + 16 * 128);
}

/// A graph with one-byte weight storage spends one byte per synapse: the owner is exactly `W` bytes
/// smaller than with two-byte storage, and `Layout::memory` reports 1 B/synapse with the same O(N)
/// learning state; per-neuron parameter slots cost 32 B each and nothing when `PN` = 0.
#[test]
fn a_graph_with_one_byte_weights_spends_one_byte_per_synapse() {
    use plasticore_core::format::Weight8;
    use plasticore_core::graph::Graph;
    type G16 = Graph<160, 160, 224, 12288, 4, 800>;
    type G8 = Graph<160, 160, 224, 12288, 4, 800, 0, Weight8>;
    type G8p = Graph<160, 160, 224, 12288, 4, 800, 160, Weight8>;
    assert_eq!(core::mem::size_of::<G16>() - core::mem::size_of::<G8>(), 12288);
    assert_eq!(core::mem::size_of::<G8p>() - core::mem::size_of::<G8>(), 160 * 32);
    assert_eq!(core::mem::size_of::<plasticore_core::neuron::ParamSlot>(), 32);
    let lay = plasticore_core::graph::GraphConfig::layout(&two_layer(), &[]).unwrap();
    let (one, two) = (lay.memory(1), lay.memory(2));
    assert_eq!((one.weights, two.weights), (lay.weights, 2 * lay.weights));
    assert_eq!((one.traces, one.state), (two.traces, two.state));
    assert_eq!(MemoryReport::bytes_per_synapse(lay.weights, &one), 1);
    assert_eq!(MemoryReport::bytes_per_neuron(lay.neurons, &one), (one.traces + one.state).div_ceil(lay.neurons));
}

/// 64 inputs → 96 LIF → 64 recurrent LIF (the firmware's graph2 shape), 8-bit weights.
fn two_layer() -> plasticore_core::graph::GraphConfig {
    use plasticore_core::graph::*;
    use plasticore_core::prelude::*;
    let f = Formats::DEFAULT;
    let one = 1u32 << f.decay_frac;
    let lif = Lif::new(
        LifParams {
            decay: Decay(one / 10 * 9),
            threshold: Voltage(1 << f.state_frac),
            reset: Reset::Soft,
            detach_reset: false,
            synapse: Synapse::Delta,
            surrogate: SurrogateParams::paper(&f),
        },
        &f,
    )
    .unwrap();
    let layer = LayerConfig {
        formats: f,
        neuron: NeuronKind::Lif(lif),
        presyn: PresynKind::None,
        trace_decay: Decay(one / 10 * 8),
        learning_rate: LearningRate { mant: 1, shift: 6 },
        seed: 1,
    };
    let mut pops = heapless::Vec::new();
    for n in [96u16, 64] {
        pops.push(Population { neurons: n, layer, lambda: LambdaSource::Symmetric, bias: BiasMode::None, params: ParamMode::Shared }).unwrap();
    }
    let mut projs = heapless::Vec::new();
    projs.push(Projection { source: Source::Input { first: 0, width: 64 }, target: 0, delay: 0, learn: true, shift: 0, presyn: plasticore_core::graph::ProjPresyn::Inherit }).unwrap();
    projs.push(Projection { source: Source::Population(0), target: 1, delay: 0, learn: true, shift: 0, presyn: plasticore_core::graph::ProjPresyn::Inherit }).unwrap();
    projs.push(Projection { source: Source::Population(1), target: 1, delay: 1, learn: true, shift: 0, presyn: plasticore_core::graph::ProjPresyn::Inherit }).unwrap();
    GraphConfig {
        inputs: 64,
        populations: pops,
        projections: projs,
        readout: ReadoutSpec {
            source: 1,
            outputs: 4,
            config: ReadoutConfig { formats: f, decay: Decay(one / 10 * 7), loss: Loss::Mse, learning_rate: LearningRate { mant: 1, shift: 8 }, seed: 2 },
        },
        window: LossWindow::ALWAYS,
        learn: true,
    }
}

/// STD/STP state (8 B) and an efficacy (4 B) are counted only for the axons whose projection has them:
/// without STD/STP no population pays for them; an own STD on the 64-axon input projection adds exactly
/// 12 B per axon of that projection, not of the population's other axons.
#[test]
fn memory_counts_std_state_only_on_the_axons_that_have_it() {
    use plasticore_core::graph::{GraphConfig, ProjPresyn};
    use plasticore_core::prelude::*;
    let plain = two_layer();
    let lay = GraphConfig::layout(&plain, &[]).unwrap();
    assert_eq!(lay.presyn, 0);
    let mut with_std = two_layer();
    let one = 1u32 << Formats::DEFAULT.decay_frac;
    with_std.projections[0].presyn = ProjPresyn::Depression(DepressionParams { decay: Decay(one / 10 * 8), u: Efficacy(20000) });
    let lay_std = GraphConfig::layout(&with_std, &[]).unwrap();
    assert_eq!(lay_std.presyn, 64);
    let (a, b) = (lay.memory(1), lay_std.memory(1));
    assert_eq!((a.weights, a.traces), (b.weights, b.traces));
    assert_eq!(b.state - a.state, 12 * 64);
    // Population 1 (96 + 64 axons, no STD/STP) reports no STD/STP bytes: its state is ẽ^f-free state
    // 4·S·N + ψ 4·N + acc 4·N + grad 8·N and nothing per axon.
    let p1 = lay.pops[1];
    let r = MemoryReport::layer_with_presyn(p1.weights, p1.axons, p1.presyn, p1.neurons, p1.states, 1);
    assert_eq!(r.state, (4 * p1.states + 16) * p1.neurons);
}

/// A `Graph` owner holds STD/STP state only for its `PS` axons: without STD/STP (`PS` = 0, the default)
/// it spends nothing on it, each axon of capacity costs 12 bytes, and a graph whose projections need
/// more than `PS` is refused naming what does not fit, leaving the owner unconfigured.
#[test]
fn a_graph_owner_reserves_std_state_only_for_its_ps_axons() {
    use plasticore_core::error::{ConfigError, Field};
    use plasticore_core::format::Weight;
    use plasticore_core::graph::{Graph, ProjPresyn};
    use plasticore_core::prelude::*;
    type G0 = Graph<160, 160, 224, 16384, 4, 448>;
    type G64 = Graph<160, 160, 224, 16384, 4, 448, 0, Weight, 64>;
    assert_eq!(core::mem::size_of::<G64>() - core::mem::size_of::<G0>(), 12 * 64);
    let mut with_std = two_layer();
    let one = 1u32 << Formats::DEFAULT.decay_frac;
    with_std.projections[0].presyn = ProjPresyn::Depression(DepressionParams { decay: Decay(one / 10 * 8), u: Efficacy(20000) });
    let mut g0: Box<G0> = Box::default();
    g0.configure(two_layer()).unwrap();
    let mut g0b: Box<G0> = Box::default();
    match g0b.configure(with_std.clone()) {
        Err(e @ ConfigError::OutOfRange { field: Field::PresynAxons, value: 64, max: 0, .. }) => {
            assert!(e.to_string().contains("axons with STD/STP state"), "{e}");
        }
        other => panic!("expected the STD/STP capacity to be named, got {other:?}"),
    }
    assert!(g0b.config().is_none());
    let mut g64: Box<G64> = Box::default();
    g64.configure(with_std).unwrap();
}
