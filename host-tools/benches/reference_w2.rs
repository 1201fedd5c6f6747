//! Criterion bench of the W2 training step (f32 kernels of `plasticore::reference::fast`) at a size that
//! fits a CI run; the full grid is `plasticore bench w2` (see ARCHITECTURE.md, reference section).
use criterion::{criterion_group, criterion_main, Criterion};
use plasticore::reference::fast::{FastAlgo, W2Config, W2Net};
use std::hint::black_box;

fn w2(c: &mut Criterion) {
    let cfg = W2Config::new(200);
    let net = W2Net::new(&cfg, 1).expect("valid W2 config");
    let batch = net.make_batch(&cfg, 200, 1, 2);
    let mut g = c.benchmark_group("w2_n200_t200_b1");
    g.sample_size(10);
    for (name, algo) in [("esd", FastAlgo::Esd { alpha: 0.98 }), ("drtrl", FastAlgo::DRtrl), ("bptt", FastAlgo::Bptt)] {
        g.bench_function(name, |b| b.iter(|| black_box(net.batch_grad(black_box(&batch), algo).loss)));
    }
    g.finish();
}

criterion_group!(benches, w2);
criterion_main!(benches);
