//! The reference stimulus assigns input i to group ⌊i·O / inputs⌋ (`TargetRule::GroupActivity`): the
//! targets `Runner::draw` gives (MSE: the amplitude for every group with a spike; cross-entropy: the
//! group with most spikes, lowest index on ties) equal those computed with that formula from the inputs
//! it drew, for every input count 1..=80 and group count 1..=12 (more groups than inputs too).
//!
//! Mutation tried (commit message): entering the next group one input late (`i > next`) fails.

use plasticore_core::image::{Runner, Stimulus, StepTarget, TargetRule};
use plasticore_core::readout::{Feedback, Loss};

fn expected(ext: usize, o: usize, input: &[u16]) -> Vec<i32> {
    let mut c = vec![0i32; o];
    for &i in input {
        c[i as usize * o / ext] += 1;
    }
    c
}

#[test]
fn group_of_each_input_is_floor_i_times_outputs_over_inputs() {
    let amp = 1 << 16;
    let mut checked = 0u32;
    for ext in 1..=80usize {
        for o in 1..=12usize {
            let stim = Stimulus { seed: (ext * 31 + o) as u32, rate: u32::MAX / 3, steps: 20, target: TargetRule::GroupActivity, amplitude: amp };
            let (mut mse, mut ce) = (Runner::new(stim), Runner::new(stim));
            for _ in 0..20 {
                let (mut input, mut values) = (vec![0u16; ext], vec![0i32; o]);
                let (n, t) = mse.draw(ext, Loss::Mse, Feedback::Symmetric, &mut input, &mut values);
                assert!(matches!(t, StepTarget::Values));
                let counts = expected(ext, o, &input[..n]);
                let want: Vec<i32> = counts.iter().map(|&c| if c > 0 { amp } else { 0 }).collect();
                assert_eq!(values, want, "MSE targets, {ext} inputs, {o} groups, inputs {:?}", &input[..n]);
                let (mut input2, mut values2) = (vec![0u16; ext], vec![0i32; o]);
                let (n2, t2) = ce.draw(ext, Loss::CrossEntropy, Feedback::Symmetric, &mut input2, &mut values2);
                assert_eq!(&input2[..n2], &input[..n], "same draws");
                let best = counts.iter().enumerate().fold((0usize, 0i32), |b, (k, &c)| if c > b.1 { (k, c) } else { b }).0;
                assert!(matches!(t2, StepTarget::Class(c) if c as usize == best), "class, {ext} inputs, {o} groups: {t2:?} vs {best}");
                mse.record(0, None);
                ce.record(0, None);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 80 * 12 * 20);
}
