//! Counter-based random numbers for stochastic rounding and random feedback.
//!
//! Instead of a sequential LFSR per core, every random word is a hash of *where* and *when* it is used:
//! `r = mix(key(seed, update_count, axon, neuron))`. The consequences are deliberate:
//! * a weight's rounding does not depend on how the network is split over cores, nor on the order cores
//!   run in, so the emulator's many-core runs equal a single-core run bit for bit;
//! * the inner loop has no loop-carried dependency and vectorises;
//! * on silicon it costs two 32-bit multipliers per lane (a ReckOn-style LFSR costs less area but makes
//!   results mapping-dependent; see `hw-notes/formats.md`).
//!
//! The mixer is "lowbias32" (Chris Wellons' hash-prospector, public domain constants): a bijection on u32
//! with good avalanche. Statistical quality is checked by the stochastic-rounding property test.

/// Mix a 32-bit word (bijective; all operations **wrap** modulo 2³²).
#[inline(always)]
pub const fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// Key of one learning update (seed, update counter), shared by all rows of that update: the part of
/// [`row_key`] and [`col_word`] a loop over rows or columns computes once.
#[inline(always)]
pub const fn update_key(seed: u32, update: u32) -> u32 {
    mix32(seed ^ mix32(update.wrapping_mul(0x9E37_79B9)))
}

/// Key of one row of synapses (presynaptic `axon`) for one learning update, from the layer seed and the
/// layer's update counter: one mix of the update key and the axon (odd multiplier, so distinct axons
/// give distinct keys). Combine with [`cell`] for each synapse of the row.
#[inline(always)]
pub const fn row_key(seed: u32, update: u32, axon: u32) -> u32 {
    row_key_in(update_key(seed, update), axon)
}

/// [`row_key`] from an [`update_key`] computed once for all rows of the update.
#[inline(always)]
pub const fn row_key_in(update_key: u32, axon: u32) -> u32 {
    mix32(update_key ^ axon.wrapping_mul(0x85EB_CA77))
}

/// Salt of the stream that rounds the ε^x / ε^o decays.
pub const SALT_TRACE: u32 = 0x7A3C_E1B5;
/// Salt of the stream that rounds accumulated updates when they are applied.
pub const SALT_APPLY: u32 = 0x1F83_D9AB;
/// Salt of the bias updates' stochastic rounding (graph populations with a learnable bias).
pub const SALT_BIAS: u32 = 0x5B1A_5C0D;

/// Per-column word of one learning step for the global `neuron`. The random word of synapse (i, j) in the
/// online update is `row_key(seed, step, i) ^ col_word(seed, step, j)`: uniform for every synapse
/// (the XOR of two independent uniform words), independent across steps, pairwise independent across
/// synapses, and it costs one XOR per synapse after O(rows + columns) hashing.
#[inline(always)]
pub const fn col_word(seed: u32, step: u32, neuron: u32) -> u32 {
    mix32(update_key(seed ^ 0x5BD1_E995, step) ^ neuron.wrapping_mul(0xC2B2_AE35))
}

/// `t · a · 2^-df` rounded **stochastically** (floor after adding `r`'s top `df` bits): unbiased, and a
/// trace that receives no input reaches 0 (round-to-nearest would leave it stuck at up to
/// ½/(1 − a) LSB forever, a dead band that keeps every row that ever spiked in the learning loop).
#[inline(always)]
pub const fn decay_stochastic(t: u16, a: u32, df: u32, r: u32) -> u16 {
    let q = t as u64 * a as u64 + (r >> (32 - df)) as u64;
    // The low 16 bits of q ≫ df, taken from the low word of the shifted value (a funnel shift of q's
    // two words, 1 ≤ df ≤ 31 for every validated decay_frac): the same bits as the 64-bit shift, without
    // its ≥ 32 case on a 32-bit core.
    let s = df & 31;
    ((q as u32 >> s) | ((((q >> 32) as u32) << 1) << (31 - s))) as u16
}

/// [`decay_stochastic`]`(t, a, df, r)` from `ka` = a·2^(32−df) (a < 2^df, as every validated decay):
/// ⌊(t·ka + r) / 2³²⌋, the high word of one multiply-add. The same integer: t·a·2^(32−df) + r =
/// 2^(32−df)·(t·a + ⌊r / 2^(32−df)⌋) + (r mod 2^(32−df)), and the last term (< 2^(32−df)) cannot carry
/// into ⌊· / 2³²⌋ of a multiple of 2^(32−df). Tested against [`decay_stochastic`] in `readout.rs`.
#[inline(always)]
pub const fn decay_hi(t: u16, ka: u32, r: u32) -> u16 {
    ((t as u64 * ka as u64 + r as u64) >> 32) as u16
}

/// Uniform 32-bit word for synapse (`row`, `neuron`): `r / 2³²` is the fraction added before flooring.
#[inline(always)]
pub const fn cell(row: u32, neuron: u32) -> u32 {
    mix32(row ^ neuron.wrapping_mul(0x85EB_CA77))
}

/// Stochastic rounding of `x · 2^-32` to an integer: `floor((x + r) / 2³²)` with `r` uniform in
/// [0, 2³²), so the expectation equals `x / 2³²` exactly. `x` must satisfy `|x| < 2⁶²` (callers clamp).
#[inline(always)]
pub const fn round_stochastic_q32(x: i64, r: u32) -> i64 {
    (x + r as i64) >> 32
}

/// A small sequential generator (xorshift32) for host-side and test use where a stream is wanted, e.g.
/// seeded input generators that must give the same bits on every target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct XorShift32(u32);

impl XorShift32 {
    /// Seeded generator; a zero seed is replaced by a fixed non-zero constant (xorshift's fixed point).
    pub const fn new(seed: u32) -> Self {
        let s = mix32(seed);
        XorShift32(if s == 0 { 0x6D2B_79F5 } else { s })
    }

    /// Next uniform u32.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// Bernoulli draw with probability `p / 2³²`.
    #[inline]
    pub fn chance(&mut self, p: u32) -> bool {
        self.next_u32() < p
    }

    /// Current state (for snapshots).
    pub const fn state(&self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stochastic_decay_equals_the_wide_formula() {
        // The funnel shift of `decay_stochastic` against the plain 64-bit expression, for every
        // validated decay_frac (8..=30), decays up to and past 1.0, traces and random words at the ends.
        let mut g = XorShift32::new(7);
        for df in 8..=30u32 {
            for k in 0..4000 {
                let t = match k % 4 { 0 => u16::MAX, 1 => 0, _ => g.next_u32() as u16 };
                let a = match k % 5 { 0 => 1 << df, 1 => (1 << df) - 1, 2 => g.next_u32(), _ => g.next_u32() >> (32 - df) };
                let r = if k % 7 == 0 { u32::MAX } else { g.next_u32() };
                let want = ((t as u64 * a as u64 + (r >> (32 - df)) as u64) >> df) as u16;
                assert_eq!(decay_stochastic(t, a, df, r), want, "t={t} a={a} df={df} r={r}");
            }
        }
    }
}
