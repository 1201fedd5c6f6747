//! `LayerMut::integrate` sums the dense rows of binary events several at a time (`add_rows` in
//! `layer.rs`: one read-modify-write of each dendritic sum per group of rows). The dendritic sums must
//! be those of adding the rows one by one, bit for bit: every event count from 0 to past the number of
//! axons (so that groups are full, partial and the input buffer's limit drops events), duplicates,
//! axons out of range (dropped and counted), and weights at ±wmax of 16- and 8-bit formats.
//!
//! Mutation tried (commit message): summing only the first two rows of a group of three
//! (`wa.get() + wb.get()` in the three-row arm) fails `grouped_rows_equal_row_by_row` (and
//! `image_golden`).

mod common;
use common::*;
use plasticore_core::prelude::*;
use plasticore_core::rng::XorShift32;

/// The plain loop: each accepted event adds its row (the first `axons` valid events; the rest and the
/// out-of-range axons are dropped).
fn reference(weights: &[i32], axons: usize, n: usize, events: &[u16]) -> (Vec<i32>, u32) {
    let mut acc = vec![0i64; n];
    let (mut taken, mut dropped) = (0usize, 0u32);
    for &a in events {
        let a = a as usize;
        if a >= axons || taken == axons {
            dropped += 1;
            continue;
        }
        taken += 1;
        for (s, &w) in acc.iter_mut().zip(&weights[a * n..(a + 1) * n]) {
            *s += w as i64;
        }
    }
    (acc.into_iter().map(|s| i32::try_from(s).expect("the sums fit an i32")).collect(), dropped)
}

#[test]
fn grouped_rows_equal_row_by_row() {
    let (axons, n) = (13, 37);
    for weight_bits in [16u8, 8] {
        let f = Formats { weight_bits, ..Formats::DEFAULT };
        let cfg = lif_config(f, 0.9, None, Reset::Soft, false);
        let wmax = f.weight_max();
        let mut rng = XorShift32::new(7 + weight_bits as u32);
        for count in 0..axons + 6 {
            for _ in 0..4 {
                let mut o = Owned::new(axons, n, cfg.neuron.states());
                let mut plain = Vec::with_capacity(axons * n);
                for w in o.weights.iter_mut() {
                    // A third of the weights at the range ends, the rest anywhere in it.
                    let v = match rng.next_u32() % 3 {
                        0 => if rng.chance(u32::MAX / 2) { wmax } else { -wmax },
                        _ => (rng.next_u32() % (2 * wmax as u32 + 1)) as i32 - wmax,
                    };
                    *w = Weight(v as i16);
                    plain.push(v);
                }
                // Duplicates and a few axons out of range.
                let events: Vec<u16> = (0..count).map(|_| (rng.next_u32() % (axons as u32 + 2)) as u16).collect();
                let (want, dropped) = reference(&plain, axons, n, &events);
                let counts = {
                    let mut l = o.view(&cfg);
                    l.integrate(&events, false)
                };
                assert_eq!(o.acc, want, "dendritic sums differ ({weight_bits}-bit weights, events {events:?})");
                assert_eq!(o.scalars.sat.dropped_events, dropped, "dropped events ({events:?})");
                assert_eq!(counts.events_in as usize, count - dropped as usize);
                assert_eq!(counts.syn_ops as usize, (count - dropped as usize) * n);
            }
        }
    }
}
