//! Fixed-point core against the float on-chip rule, step by step (see `plasticore_tests` for the
//! method and `plasticore_tests::tolerance` for the derivation of every tolerance).
#![allow(clippy::needless_range_loop)]
use plasticore_tests::compare;
use plasticore_tests::scenario::suite;

#[test]
fn every_scenario_agrees_step_by_step_within_derived_tolerances() {
    let mut failed = Vec::new();
    for sc in suite() {
        let r = compare::run(&sc);
        println!("{}: {} steps compared, {} desynced, {} ambiguous spikes, {} spikes, {} psi != 0, updates {:?}",
            r.scenario, r.steps, r.desynced, r.ambiguous, r.spikes, r.psi_nonzero, r.updates_nonzero);
        for s in &r.stats {
            println!("    {:<14} max |err| {:>10.3e}  max err/tol {:>8.5}  ({} comparisons)", s.name, s.max_err, s.max_ratio, s.compared);
        }
        let mut biased = false;
        if sc.mode == plasticore_tests::scenario::Mode::Online {
            for (what, b) in ["dW", "dV"].iter().zip(&r.online_bias) {
                println!("    online {what} mean error {:+.4} LSB over {} updates (bound {:.4})", b.mean(), b.n, b.bound());
                // With no float update (dV under External) there is nothing to average.
                biased |= b.n > 0 && b.mean().abs() > b.bound();
            }
            biased |= r.online_bias[0].n < 100;
        }
        for f in &r.failures {
            println!("    FAIL {f}");
        }
        // The comparison must not be vacuous: the network spikes, learns and is mostly comparable.
        let external = sc.signal == plasticore_tests::scenario::Signal::External;
        let vacuous = r.spikes == 0
            || r.spikes >= (sc.steps as u64) * 8
            || r.psi_nonzero == 0
            || r.updates_nonzero.0 == 0
            || (r.updates_nonzero.1 == 0) != external
            || r.steps < sc.steps * 95 / 100
            || r.ambiguous > sc.steps / 10
            || r.stats.len() < if external { 8 } else { 10 };
        // The bounds assume no saturation, drop or wrap happened.
        if !r.failures.is_empty() || vacuous || biased || r.chip_effects != 0 {
            println!("    vacuous: {vacuous}, biased: {biased}, chip effects: {}", r.chip_effects);
            failed.push(r.scenario);
        }
    }
    assert!(failed.is_empty(), "scenarios failing: {failed:?}");
}
