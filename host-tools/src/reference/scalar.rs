//! Scalar types the reference is generic over: `f64`, `f32` and forward-mode dual numbers.
//!
//! The spike non-linearity is part of the scalar: [`Scalar::spike`] returns H(v̂) as its value and carries the
//! surrogate ψ(v̂)·v̂' as its derivative, so a model written once over `T: Scalar` gets exact surrogate
//! Jacobians from [`Dual`] (used for D_t, D^f_t of user models and for the full-RTRL oracle).
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

/// Surrogate derivative of the spike function: ψ(v̂) = max(height·(width − |v̂|), 0) (`ReluGrad`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Surrogate {
    /// Peak value at threshold (0.3 in every paper script).
    pub height: f64,
    /// Half-width in units of v̂ (1.0 in every paper script).
    pub width: f64,
}

impl Default for Surrogate {
    fn default() -> Self {
        Self { height: 0.3, width: 1.0 }
    }
}

impl Surrogate {
    /// ψ(v̂).
    #[inline]
    pub fn psi(&self, vhat: f64) -> f64 {
        (self.height * (self.width - vhat.abs())).max(0.0)
    }
}

/// A real scalar the models can be evaluated with.
pub trait Scalar:
    Copy
    + Send
    + Sync
    + core::fmt::Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + Default
{
    /// A constant (zero derivative).
    fn cst(v: f64) -> Self;
    /// The primal value.
    fn val(self) -> f64;
    /// e^self.
    fn exp(self) -> Self;
    /// ln(self).
    fn ln(self) -> Self;
    /// √self (default e^{½·ln self}; the built-in scalars override it).
    fn sqrt(self) -> Self {
        (self.ln() * Self::cst(0.5)).exp()
    }
    /// Heaviside H(self > 0) whose derivative is the surrogate ψ(self).
    fn spike(self, sur: &Surrogate) -> Self;
    /// The same value with a zero derivative (`stop_gradient`).
    fn detach(self) -> Self {
        Self::cst(self.val())
    }
    /// Zero.
    fn zero() -> Self {
        Self::cst(0.0)
    }
    /// True if the value and every derivative are exactly zero (safe to skip in event-driven loops).
    fn is_exact_zero(self) -> bool {
        self.val() == 0.0
    }
}

impl Scalar for f64 {
    #[inline]
    fn cst(v: f64) -> Self {
        v
    }
    #[inline]
    fn val(self) -> f64 {
        self
    }
    #[inline]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline]
    fn spike(self, _sur: &Surrogate) -> Self {
        if self > 0.0 {
            1.0
        } else {
            0.0
        }
    }
}

impl Scalar for f32 {
    #[inline]
    fn cst(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn val(self) -> f64 {
        self as f64
    }
    #[inline]
    fn exp(self) -> Self {
        f32::exp(self)
    }
    #[inline]
    fn ln(self) -> Self {
        f32::ln(self)
    }
    #[inline]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline]
    fn spike(self, _sur: &Surrogate) -> Self {
        if self > 0.0 {
            1.0
        } else {
            0.0
        }
    }
}

/// A forward-mode dual number v + d·ε with one tangent direction.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Dual {
    /// Primal value.
    pub v: f64,
    /// Tangent (directional derivative).
    pub d: f64,
}

impl Dual {
    /// A variable with tangent `d`.
    pub fn new(v: f64, d: f64) -> Self {
        Self { v, d }
    }
}

impl Add for Dual {
    type Output = Self;
    #[inline]
    fn add(self, o: Self) -> Self {
        Self { v: self.v + o.v, d: self.d + o.d }
    }
}
impl Sub for Dual {
    type Output = Self;
    #[inline]
    fn sub(self, o: Self) -> Self {
        Self { v: self.v - o.v, d: self.d - o.d }
    }
}
impl Mul for Dual {
    type Output = Self;
    #[inline]
    fn mul(self, o: Self) -> Self {
        Self { v: self.v * o.v, d: self.d * o.v + self.v * o.d }
    }
}
impl Div for Dual {
    type Output = Self;
    #[inline]
    fn div(self, o: Self) -> Self {
        Self { v: self.v / o.v, d: (self.d * o.v - self.v * o.d) / (o.v * o.v) }
    }
}
impl Neg for Dual {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        Self { v: -self.v, d: -self.d }
    }
}
impl AddAssign for Dual {
    #[inline]
    fn add_assign(&mut self, o: Self) {
        *self = *self + o;
    }
}
impl SubAssign for Dual {
    #[inline]
    fn sub_assign(&mut self, o: Self) {
        *self = *self - o;
    }
}
impl MulAssign for Dual {
    #[inline]
    fn mul_assign(&mut self, o: Self) {
        *self = *self * o;
    }
}

impl Scalar for Dual {
    #[inline]
    fn cst(v: f64) -> Self {
        Self { v, d: 0.0 }
    }
    #[inline]
    fn val(self) -> f64 {
        self.v
    }
    #[inline]
    fn exp(self) -> Self {
        let e = self.v.exp();
        Self { v: e, d: self.d * e }
    }
    #[inline]
    fn ln(self) -> Self {
        Self { v: self.v.ln(), d: self.d / self.v }
    }
    #[inline]
    fn sqrt(self) -> Self {
        let r = self.v.sqrt();
        Self { v: r, d: self.d * 0.5 / r }
    }
    #[inline]
    fn is_exact_zero(self) -> bool {
        self.v == 0.0 && self.d == 0.0
    }
    #[inline]
    fn spike(self, sur: &Surrogate) -> Self {
        Self { v: if self.v > 0.0 { 1.0 } else { 0.0 }, d: sur.psi(self.v) * self.d }
    }
}
