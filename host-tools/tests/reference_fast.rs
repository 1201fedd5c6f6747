//! The fast f32 W2 kernels against the generic f64 reference (same network, same data), and determinism of
//! the batch reduction across thread counts.
use plasticore::reference::algo::{sequence_grad, Algorithm, BiasCorrection, OnlineOptions};
use plasticore::reference::fast::{to_sequence, FastAlgo, W2Config, W2Net};

fn rel_err(fast: &[f32], reference: &[f64]) -> f64 {
    let scale = reference.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    assert!(scale > 0.0, "reference gradient is all zero: the comparison would be vacuous");
    fast.iter().zip(reference).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max) / scale
}

#[test]
fn fast_kernels_match_the_f64_reference() {
    let cfg = W2Config::new(40);
    let net = W2Net::new(&cfg, 1).unwrap();
    let batch = net.make_batch(&cfg, 150, 1, 2);
    let (rc, rp) = net.to_reference();
    let seq = to_sequence(&net, &batch[0]);
    let cases = [
        (FastAlgo::Esd { alpha: 0.98 }, Algorithm::EsdRtrl { alpha: 0.98f32 as f64, correction: BiasCorrection::Reference }),
        (FastAlgo::DRtrl, Algorithm::DRtrl { renorm: false }),
        (FastAlgo::Bptt, Algorithm::Bptt),
    ];
    for (fa, ra) in cases {
        let g = net.batch_grad(&batch, fa);
        let (loss, rg) = sequence_grad(&rc, &rp, ra, OnlineOptions::default(), &seq).unwrap();
        assert!(g.spikes > 0, "network is silent");
        assert!((g.loss - loss).abs() < 1e-4 * loss.abs().max(1.0), "{fa:?} loss {} vs {loss}", g.loss);
        let ew = rel_err(&g.w, &rg.layers[0].w);
        let eb = rel_err(&g.b, &rg.layers[0].b);
        let eo = rel_err(&g.wout, &rg.readout);
        assert!(ew < 1e-4 && eb < 1e-4 && eo < 1e-4, "{fa:?}: rel err W {ew} b {eb} V {eo}");
    }
}

#[test]
fn batch_gradient_is_identical_for_any_thread_count() {
    let cfg = W2Config::new(30);
    let net = W2Net::new(&cfg, 3).unwrap();
    let batch = net.make_batch(&cfg, 60, 9, 4);
    for algo in [FastAlgo::Esd { alpha: 0.98 }, FastAlgo::DRtrl, FastAlgo::Bptt] {
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| net.batch_grad(&batch, algo))
        };
        let (a, b) = (run(1), run(3));
        assert!(a.w.iter().any(|&x| x != 0.0));
        assert_eq!(a.w, b.w, "{algo:?}");
        assert_eq!(a.b, b.b);
        assert_eq!(a.wout, b.wout);
        assert_eq!(a.loss.to_bits(), b.loss.to_bits());
    }
}

#[test]
fn row_parallel_single_sequence_equals_the_sequential_kernel() {
    // B = 1 splits rows of G / the D-RTRL trace across tasks: n_x = 100 + 300 > one row chunk
    use plasticore::reference::fast::W2Grad;
    let cfg = W2Config::new(300);
    let net = W2Net::new(&cfg, 5).unwrap();
    let batch = net.make_batch(&cfg, 150, 1, 6);
    for algo in [FastAlgo::Esd { alpha: 0.98 }, FastAlgo::DRtrl] {
        let par = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap().install(|| net.batch_grad(&batch, algo));
        let mut seq = W2Grad { w: vec![0.0; 400 * 300], b: vec![0.0; 300], wout: vec![0.0; 300 * 4], loss: 0.0, spikes: 0 };
        net.seq_grad(&batch[0], algo, &mut seq, false);
        assert!(par.w.iter().any(|&x| x != 0.0));
        assert_eq!(par.w, seq.w, "{algo:?}");
        assert_eq!(par.b, seq.b);
    }
}

#[test]
fn w2_activity_is_in_the_intended_band() {
    // WORKLOADS.md: the init gives 10–20 Hz hidden activity
    let cfg = W2Config::new(1000);
    let net = W2Net::new(&cfg, 1).unwrap();
    let batch = net.make_batch(&cfg, 300, 1, 2);
    let g = net.batch_grad(&batch, FastAlgo::Esd { alpha: 0.98 });
    let rate_hz = g.spikes as f64 / (1000.0 * 0.3);
    assert!((5.0..40.0).contains(&rate_hz), "mean rate {rate_hz} Hz");
}

#[test]
fn blocked_es_kernel_equals_the_per_step_rank_one_update_to_rounding() {
    // Same algebra, other summation order: the blocked kernel adds F_q = Σ_{t ≥ q} α^{t−q} f_t (up to K = 256
    // terms) per event, the oracle adds ε^x_t·f_t every step. Each entry of G is a sum of at most T terms
    // either way; rounding errors of such sums grow like √(T + K)·2⁻²⁴ ≈ 2e-6 (T = 600; measured 4e-7 of
    // max |G|), so 1e-5 of max |G| leaves room for cancellation while catching any algebra error (which shows
    // at 1e-2 and above). b, V and the loss take the same path in both kernels, so they are equal bit for bit.
    for (n, t) in [(40, 600), (300, 300)] {
        let cfg = W2Config::new(n);
        let net = W2Net::new(&cfg, 7).unwrap();
        let batch = net.make_batch(&cfg, t, 1, 8);
        let blocked = net.batch_grad(&batch, FastAlgo::Esd { alpha: 0.98 });
        let oracle = net.batch_grad(&batch, FastAlgo::EsdRankOne { alpha: 0.98 });
        let scale = oracle.w.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(scale > 0.0 && blocked.spikes > 0);
        let err = blocked.w.iter().zip(&oracle.w).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(err <= 1e-5 * scale, "N {n} T {t}: max |ΔG| {err} vs max |G| {scale}");
        assert_eq!(blocked.b, oracle.b);
        assert_eq!(blocked.wout, oracle.wout);
        assert_eq!(blocked.loss.to_bits(), oracle.loss.to_bits());
        eprintln!("N {n} T {t}: max |ΔG| / max |G| = {:.2e}", err / scale);
    }
}
