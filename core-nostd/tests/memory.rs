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
