//! The floating-point types the SVD runs in.

/// A real floating-point type the SVD can run in: `f32` (the default) or `f64`.
///
/// This is sealed: only `f32` and `f64` implement it.
pub trait Scalar:
    faer::traits::RealField + Copy + Send + Sync + std::fmt::Debug + sealed::Sealed + 'static
{
    /// The precision this type stands for.
    const PRECISION: Precision;
    /// The machine epsilon of this type, as an `f64`.
    const EPSILON: f64;
    /// Converts from `f64`, rounding to nearest.
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// `self · a + b` with one rounding (a fused multiply-add where the CPU has one).
    fn fma(self, a: Self, b: Self) -> Self;
}

impl Scalar for f32 {
    const PRECISION: Precision = Precision::F32;
    const EPSILON: f64 = f32::EPSILON as f64;
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn fma(self, a: Self, b: Self) -> Self {
        self.mul_add(a, b)
    }
}

impl Scalar for f64 {
    const PRECISION: Precision = Precision::F64;
    const EPSILON: f64 = f64::EPSILON;
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn fma(self, a: Self, b: Self) -> Self {
        self.mul_add(a, b)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// Which floating-point type the SVD runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Single precision: half the memory, about 7 significant digits. Default.
    #[default]
    F32,
    /// Double precision: matches LAPACK's `dgesdd` to about 1e-13 relative.
    F64,
}

impl Precision {
    /// The name used on the command line and in reports: `f32` or `f64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }
}
