//! The exact thin SVD of one matrix, `A = U diag(s) Vᵀ`.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::svd::{self, ComputeSvdVectors};
use faer::{Accum, Mat, MatMut, MatRef, Par};

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
        let (m, n) = a.shape();
        let r = m.min(n);
        let mut u = Mat::<T>::zeros(m, r);
        let mut v = Mat::<T>::zeros(n, r);
        let mut s = faer::diag::Diag::<T>::zeros(r);
        if r > 0 {
            let scratch = svd::svd_scratch::<T>(
                m,
                n,
                ComputeSvdVectors::Thin,
                ComputeSvdVectors::Thin,
                par,
                Default::default(),
            );
            let mut buffer = MemBuffer::try_new(scratch).map_err(|_| {
                Error::new(
                    ErrorKind::LimitExceeded,
                    format!("not enough memory for the svd of a {m}x{n} matrix"),
                )
            })?;
            svd::svd(
                a,
                s.as_mut(),
                Some(u.as_mut()),
                Some(v.as_mut()),
                par,
                MemStack::new(&mut buffer),
                Default::default(),
            )
            .map_err(|_| {
                Error::new(
                    ErrorKind::Numerical,
                    format!("the svd of a {m}x{n} matrix did not converge"),
                )
            })?;
        }
        let s: Vec<T> = s.column_vector().iter().copied().collect();
        let mut factors = Factors { u, s, v };
        factors.fix_signs();
        Ok(factors)
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
        for j in 0..self.s.len() {
            let col = self.u.col(j);
            let mut best = T::from_f64(0.0);
            let mut best_abs = T::from_f64(-1.0);
            for &x in col.iter() {
                let ax = if x < T::from_f64(0.0) { -x } else { x };
                if ax > best_abs {
                    best_abs = ax;
                    best = x;
                }
            }
            if best < T::from_f64(0.0) {
                for x in self.u.col_mut(j).iter_mut() {
                    *x = -*x;
                }
                for x in self.v.col_mut(j).iter_mut() {
                    *x = -*x;
                }
            }
        }
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
