//! The exact thin SVD of one matrix, `A = U diag(s) Vᵀ`.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::svd::{self, ComputeSvdVectors, SvdParams};
use faer::traits::ComplexField;
use faer::{Accum, Auto, Mat, MatMut, MatRef, Par, Spec};
use num_complex::Complex;

use crate::{Error, ErrorKind, Result, Scalar};

/// The thin SVD of an m×n matrix: `U` (m×r), `s` (r, descending), `V` (n×r), r = min(m, n).
///
/// Signs are fixed so that results are reproducible: in each column of `U` the entry of
/// largest magnitude is positive (the matching column of `V` flips with it).
#[derive(Debug, Clone)]
pub struct Factors<T: Scalar> {
    u: Mat<T>,
    s: Vec<T>,
    v: Mat<T>,
}

impl<T: Scalar> Factors<T> {
    /// Computes the exact thin SVD of `a` with faer's global parallelism.
    pub fn compute(a: MatRef<'_, T>) -> Result<Self> {
        Self::compute_with(a, faer::get_global_parallelism())
    }

    /// Computes the exact thin SVD of `a`, running on `par`.
    ///
    /// Never builds a full m×m or n×n matrix. An empty matrix gives empty factors.
    pub fn compute_with(a: MatRef<'_, T>, par: Par) -> Result<Self> {
        if let Some((u, s, v)) = two_stage(a, || crate::values::thin(a, par))? {
            let mut f = Factors { u, s, v };
            f.fix_signs();
            return Ok(f);
        }
        Self::compute_one_stage(a, par)
    }

    /// [`Factors::compute_with`] by faer's one-stage SVD whatever the size: the reference
    /// the two-stage route is tested and measured against.
    pub fn compute_one_stage(a: MatRef<'_, T>, par: Par) -> Result<Self> {
        let (u, s, v) = run_svd(a, ComputeSvdVectors::Thin, par)?;
        let (u, v) = (u.expect("thin U"), v.expect("thin V"));
        Ok(Factors { u, s, v })
    }

    /// The first `k` components of the exact SVD (k clamped to min(m, n)): the same
    /// values and, up to rounding, the same vectors as the first k of
    /// [`Factors::compute_with`], with the same sign convention.
    ///
    /// For a small k on a large matrix the two-stage reduction is run keeping its
    /// reflectors, and only k columns of the vectors are ever formed: the first 50
    /// components of a 4000×6000 matrix cost little more than its singular values.
    /// Otherwise (or if the vectors of a value near zero are asked for) all components
    /// are computed and the first k kept.
    pub fn compute_top(a: MatRef<'_, T>, k: usize, par: Par) -> Result<Self> {
        let short = a.nrows().min(a.ncols());
        let k = k.min(short);
        if k == 0 {
            return Ok(Factors::from_parts(
                Mat::zeros(a.nrows(), 0),
                Vec::new(),
                Mat::zeros(a.ncols(), 0),
            ));
        }
        if short >= TOP_MIN && k * TOP_FRACTION <= short {
            if let Some((u, s, v)) = crate::values::leading(a, k, par)? {
                let mut f = Factors { u, s, v };
                f.fix_signs();
                return Ok(f);
            }
        }
        let mut f = Self::compute_with(a, par)?;
        f.truncate(k);
        Ok(f)
    }

    /// Keeps the first `k` components (no-op when there are k or fewer).
    pub(crate) fn truncate(&mut self, k: usize) {
        if k < self.s.len() {
            self.u = self.u.get(.., ..k).to_owned();
            self.v = self.v.get(.., ..k).to_owned();
            self.s.truncate(k);
        }
    }

    /// The full SVD, as NumPy's `svd(a, full_matrices=True)`: `U` m×m, the min(m, n)
    /// singular values, and `V` n×n (so `Vᵀ` is n×n), with the same sign convention.
    pub fn compute_full(a: MatRef<'_, T>, par: Par) -> Result<(Mat<T>, Vec<T>, Mat<T>)> {
        if let Some((mut u, s, mut v)) = two_stage(a, || crate::values::full(a, par))? {
            fix_signs(u.as_mut(), v.as_mut(), s.len());
            return Ok((u, s, v));
        }
        let (u, s, v) = run_svd(a, ComputeSvdVectors::Full, par)?;
        Ok((u.expect("full U"), s, v.expect("full V")))
    }

    /// The singular values of `a` alone, in descending order (no vectors: less work).
    pub fn singular_values_of(a: MatRef<'_, T>, par: Par) -> Result<Vec<T>> {
        Ok(run_svd(a, ComputeSvdVectors::No, par)?.1)
    }

    /// Builds factors from parts, for example ones read back from a file.
    ///
    /// # Panics
    /// If the shapes disagree: `u` must be m×r, `v` n×r and `s` of length r.
    #[track_caller]
    pub fn from_parts(u: Mat<T>, s: Vec<T>, v: Mat<T>) -> Self {
        assert!(u.ncols() == s.len() && v.ncols() == s.len());
        Factors { u, s, v }
    }

    /// Makes the largest-magnitude entry of each column of `U` positive.
    pub(crate) fn fix_signs(&mut self) {
        fix_signs(self.u.as_mut(), self.v.as_mut(), self.s.len());
    }

    /// Number of rows m of the factored matrix.
    pub fn nrows(&self) -> usize {
        self.u.nrows()
    }

    /// Number of columns n of the factored matrix.
    pub fn ncols(&self) -> usize {
        self.v.nrows()
    }

    /// The number of components r kept: min(m, n) for an exact SVD.
    pub fn rank(&self) -> usize {
        self.s.len()
    }

    /// The left singular vectors, m×r.
    pub fn u(&self) -> MatRef<'_, T> {
        self.u.as_ref()
    }

    /// The right singular vectors, n×r (so `Vᵀ` is `v().transpose()`).
    pub fn v(&self) -> MatRef<'_, T> {
        self.v.as_ref()
    }

    /// The singular values, in descending order.
    pub fn singular_values(&self) -> &[T] {
        &self.s
    }

    /// Writes `A_k = U_k diag(s_k) V_kᵀ` into `out` (m×n) with one matrix product.
    ///
    /// `k` is clamped to the rank. Components `first..k` can be selected with
    /// [`Factors::components_into`].
    ///
    /// # Panics
    /// If `out` is not m×n.
    #[track_caller]
    pub fn reconstruct_into(&self, k: usize, out: MatMut<'_, T>, par: Par) {
        self.components_into(0..k, out, par);
    }

    /// Writes the sum of the components `σᵢ uᵢ vᵢᵀ` for `i` in `range` (0-based) into `out`.
    ///
    /// The range is clamped to the rank; an empty range writes zeros.
    ///
    /// # Panics
    /// If `out` is not m×n.
    #[track_caller]
    pub fn components_into(&self, range: std::ops::Range<usize>, mut out: MatMut<'_, T>, par: Par) {
        out.fill(T::from_f64(0.0));
        self.add_components(range, out, par);
    }

    /// Adds the components `σᵢ uᵢ vᵢᵀ` for `i` in `range` (0-based) to `out`, with one
    /// matrix product. Growing a rank-j approximation to rank k this way costs
    /// O(mn(k − j)), so one SVD serves every rank.
    ///
    /// # Panics
    /// If `out` is not m×n.
    #[track_caller]
    pub fn add_components(&self, range: std::ops::Range<usize>, out: MatMut<'_, T>, par: Par) {
        assert!(out.nrows() == self.nrows() && out.ncols() == self.ncols());
        let end = range.end.min(self.rank());
        let start = range.start.min(end);
        if start == end {
            return;
        }
        let mut us = self.u.get(.., start..end).to_owned();
        for (j, &sj) in self.s[start..end].iter().enumerate() {
            for x in us.col_mut(j).iter_mut() {
                *x *= sj;
            }
        }
        faer::linalg::matmul::matmul(
            out,
            Accum::Add,
            us.as_ref(),
            self.v.get(.., start..end).transpose(),
            T::from_f64(1.0),
            par,
        );
    }

    /// Returns `A_k` as a new m×n matrix; see [`Factors::reconstruct_into`].
    pub fn reconstruct(&self, k: usize, par: Par) -> Mat<T> {
        let mut out = Mat::zeros(self.nrows(), self.ncols());
        self.reconstruct_into(k, out.as_mut(), par);
        out
    }
}

/// The short side from which [`Factors::compute_with`] takes the two-stage route (dense →
/// band → bidiagonal, divide and conquer, blocked back-transformation) instead of faer's
/// one-stage SVD. Measured side by side with `examples/bench_svd.rs` on coffee.png
/// (docs/BENCHMARKS.md), since the chase back's kernel of 2026-12-06, three runs each in
/// turn: in f64 the two-stage route took 0.62–0.65 s against 0.69–0.71 s at 1000×1500 and
/// 1.35–1.49 s against 1.60–1.69 s at 1500×2000; in f32 0.41–0.44 s against 0.38–0.41 s at
/// 1000×1500, 0.73–1.12 s against 0.87–1.20 s at 1500×2000 and 1.76–2.15 s against
/// 2.16–3.92 s at 2000×3000 (faer's one-stage reduction moves half the bytes in f32).
fn two_stage_from<T: Scalar>() -> usize {
    match T::PRECISION {
        crate::Precision::F64 => 1000,
        crate::Precision::F32 => 2000,
    }
}

/// `route`'s result where `a` is large enough for the two-stage route
/// ([`two_stage_from`]); `None` below, or where it failed numerically (a NaN or an
/// infinity: faer's one-stage SVD then reports it as before).
fn two_stage<T: Scalar, R>(
    a: MatRef<'_, T>,
    route: impl FnOnce() -> Result<R>,
) -> Result<Option<R>> {
    if a.nrows().min(a.ncols()) < two_stage_from::<T>() {
        return Ok(None);
    }
    match route() {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.kind() == ErrorKind::Numerical => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`Factors::compute_top`] takes the two-stage route from this short side... Below it
/// the full SVD costs well under a second anyway, and taking the same route as
/// [`Factors::compute_with`] keeps `approx --method exact` pixel for pixel equal to the
/// explorer's rendering of the same rank (the two routes agree to rounding, which can move
/// a pixel by one level).
const TOP_MIN: usize = 1000;
/// ...for k up to this fraction of it (1/8): beyond, the back-transformation of k columns
/// and the inverse iteration's orthogonalisation cost more than the full SVD saves.
const TOP_FRACTION: usize = 8;

/// Runs faer's SVD with vectors computed as `vectors` (the same for U and V). Vectors come
/// back with the sign convention of [`Factors`] applied to the first min(m, n) columns.
#[allow(clippy::type_complexity)]
fn run_svd<T: Scalar>(
    a: MatRef<'_, T>,
    vectors: ComputeSvdVectors,
    par: Par,
) -> Result<(Option<Mat<T>>, Vec<T>, Option<Mat<T>>)> {
    let (mut u, s, mut v) = raw_svd(a, vectors, par)?;
    if let (Some(u), Some(v)) = (u.as_mut(), v.as_mut()) {
        fix_signs(u.as_mut(), v.as_mut(), s.len());
    }
    Ok((u, s, v))
}

/// The SVD of a complex matrix (NumPy's complex64 and complex128): `U` and `V` as
/// `vectors` asks (thin, full or none), and the min(m, n) real singular values, descending,
/// with `A = U diag(s) Vᴴ`.
///
/// The phase of each singular pair is fixed as the real sign is for [`Factors`]: the
/// largest-magnitude entry of each column of `U` is real and positive (the matching column
/// of `V` is multiplied by the same unit factor, which leaves `uᵢ vᵢᴴ` unchanged).
#[allow(clippy::type_complexity)]
pub fn complex_svd<T: Scalar>(
    a: MatRef<'_, Complex<T>>,
    vectors: ComputeSvdVectors,
    par: Par,
) -> Result<(Option<Mat<Complex<T>>>, Vec<T>, Option<Mat<Complex<T>>>)>
where
    Complex<T>: ComplexField,
{
    let (mut u, s, mut v) = raw_svd(a, vectors, par)?;
    if let (Some(u), Some(v)) = (u.as_mut(), v.as_mut()) {
        fix_phases(u.as_mut(), v.as_mut(), s.len());
    }
    Ok((u, s.into_iter().map(|x| x.re).collect(), v))
}

/// faer's SVD of a real or complex matrix, vectors as faer returns them.
#[allow(clippy::type_complexity)]
pub(crate) fn raw_svd<T: ComplexField>(
    a: MatRef<'_, T>,
    vectors: ComputeSvdVectors,
    par: Par,
) -> Result<(Option<Mat<T>>, Vec<T>, Option<Mat<T>>)> {
    let (m, n) = a.shape();
    let r = m.min(n);
    let cols = |dim: usize| match vectors {
        ComputeSvdVectors::No => None,
        ComputeSvdVectors::Thin => Some(Mat::<T>::zeros(dim, r)),
        ComputeSvdVectors::Full => Some(Mat::<T>::zeros(dim, dim)),
    };
    let (mut u, mut v) = (cols(m), cols(n));
    let mut s = faer::diag::Diag::<T>::zeros(r);
    if r > 0 {
        let params = svd_params::<T>(m, n);
        let scratch = svd::svd_scratch::<T>(m, n, vectors, vectors, par, params);
        let mut buffer = MemBuffer::try_new(scratch).map_err(|_| {
            Error::new(
                ErrorKind::LimitExceeded,
                format!("not enough memory for the svd of a {m}x{n} matrix"),
            )
        })?;
        svd::svd(
            a,
            s.as_mut(),
            u.as_mut().map(|u| u.as_mut()),
            v.as_mut().map(|v| v.as_mut()),
            par,
            MemStack::new(&mut buffer),
            params,
        )
        .map_err(|_| {
            Error::new(
                ErrorKind::Numerical,
                format!("the svd of a {m}x{n} matrix did not converge"),
            )
        })?;
    }
    Ok((u, s.column_vector().iter().cloned().collect(), v))
}

/// faer's SVD settings for an m×n matrix. faer bidiagonalises the matrix directly unless
/// its long side is over 11/6 of its short side, when it takes a QR factorisation first.
/// The direct bidiagonalisation streams the whole trailing matrix through memory at every
/// step; once the matrix is large, a QR first (which runs at matrix-product speed) and a
/// bidiagonalisation of the square R are faster from an aspect ratio of 1.2. Measured with
/// `cargo run --release -p svdimg --example qr_first` (docs/BENCHMARKS.md): below a short
/// side of about 1800 the QR costs more than it saves.
fn svd_params<T: ComplexField>(m: usize, n: usize) -> Spec<SvdParams, T> {
    let mut params = <SvdParams as Auto<T>>::auto();
    let (short, long) = (m.min(n), m.max(n));
    if short >= QR_FIRST_MIN_SHORT_SIDE && long * 5 >= short * 6 {
        params.qr_ratio_threshold = 1.0;
    }
    params.into()
}

/// The short side from which [`svd_params`] takes a QR first (for long ≥ 1.2 × short).
const QR_FIRST_MIN_SHORT_SIDE: usize = 1800;

/// Makes the largest-magnitude entry of each of the first `r` columns of `u` positive,
/// flipping the matching column of `v` with it.
pub(crate) fn fix_signs<T: Scalar>(mut u: MatMut<'_, T>, mut v: MatMut<'_, T>, r: usize) {
    let zero = T::from_f64(0.0);
    for j in 0..r {
        let mut best = zero;
        let mut best_abs = T::from_f64(-1.0);
        for &x in u.as_ref().col(j).iter() {
            let ax = if x < zero { -x } else { x };
            if ax > best_abs {
                best_abs = ax;
                best = x;
            }
        }
        if best < zero {
            for x in u.as_mut().col_mut(j).iter_mut() {
                *x = -*x;
            }
            for x in v.as_mut().col_mut(j).iter_mut() {
                *x = -*x;
            }
        }
    }
}

/// Multiplies each of the first `r` columns of `u` and of `v` by the unit factor that makes
/// the column of `u`'s largest-magnitude entry real and positive.
fn fix_phases<T: Scalar>(mut u: MatMut<'_, Complex<T>>, mut v: MatMut<'_, Complex<T>>, r: usize) {
    for j in 0..r {
        let (mut at, mut best, mut best_abs) = (0, (0.0, 0.0), -1.0);
        for (i, x) in u.as_ref().col(j).iter().enumerate() {
            let (re, im) = (x.re.to_f64(), x.im.to_f64());
            let ax = re * re + im * im;
            if ax > best_abs {
                (at, best, best_abs) = (i, (re, im), ax);
            }
        }
        let norm = best_abs.sqrt();
        if norm == 0.0 || (best.1 == 0.0 && best.0 > 0.0) {
            continue;
        }
        // p = conj(best) / |best|: best · p = |best|.
        let (pr, pi) = (best.0 / norm, -best.1 / norm);
        let rotate = |x: &mut Complex<T>| {
            let (re, im) = (x.re.to_f64(), x.im.to_f64());
            *x = Complex::new(
                T::from_f64(re * pr - im * pi),
                T::from_f64(re * pi + im * pr),
            );
        };
        u.as_mut().col_mut(j).iter_mut().for_each(rotate);
        v.as_mut().col_mut(j).iter_mut().for_each(rotate);
        // Exactly real, not real up to rounding.
        u[(at, j)] = Complex::new(T::from_f64(norm), T::from_f64(0.0));
    }
}
