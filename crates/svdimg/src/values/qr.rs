//! Householder QR of a panel, the building block of both reductions ([`super::reduce`]):
//! recursive, so that even a panel's factorisation is mostly matrix products, and its
//! reflectors gathered into one block reflector `I − V T Vᵀ`.

use faer::linalg::matmul::matmul;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};

use super::bulge::dot;
use super::householder;
use crate::Scalar;

/// QR of a panel (rows ≥ columns, or fewer rows: then only that many reflectors) by
/// Householder reflectors, R left in the upper triangle. Returns the reflectors as an
/// explicit unit lower trapezoidal `V` and the upper triangular `T` with
/// `H₀ H₁ ⋯ = I − V T Vᵀ`.
///
/// On one thread: a panel's products are too small to share. Measured in the band stage
/// at 2000×3000 f64 (b = 32, a scratch timing), the panels' QRs took 0.039–0.042 s
/// against 0.055–0.058 s with each product on two threads, their LQs 0.020–0.022 s
/// against 0.030–0.032 s; at 4000×6000, 0.19 against 0.24 s and 0.10 against 0.12 s.
pub(super) fn panel_qr<T: Scalar>(p: MatMut<'_, T>) -> (Mat<T>, Mat<T>) {
    let (rows, cols) = p.shape();
    let mut v = Mat::<T>::zeros(rows, cols);
    let mut taus = vec![T::from_f64(0.0); cols];
    factor(p, v.as_mut(), &mut taus);
    let t = block_factor(v.as_ref(), &taus);
    (v, t)
}

/// Columns below which [`factor`] works one column at a time.
const UNBLOCKED: usize = 8;

/// Factors `p` in place (R in its upper triangle), writing the reflectors' vectors to `v`
/// and their τ to `taus`. Recursive: the left half, its block reflector applied to the
/// right half by matrix products, then the right half below the left half's rows.
fn factor<T: Scalar>(mut p: MatMut<'_, T>, mut v: MatMut<'_, T>, taus: &mut [T]) {
    let (rows, cols) = p.shape();
    if cols <= UNBLOCKED || rows <= cols {
        pulp::Arch::new().dispatch(Unblocked { p, v, taus });
        return;
    }
    let h = cols / 2;
    factor(
        p.rb_mut().subcols_mut(0, h),
        v.rb_mut().subcols_mut(0, h),
        &mut taus[..h],
    );
    let t1 = block_factor(v.rb().subcols(0, h), &taus[..h]);
    apply_left_transpose(
        v.rb().subcols(0, h),
        t1.as_ref(),
        p.rb_mut().subcols_mut(h, cols - h),
        Par::Seq,
    );
    factor(
        p.rb_mut().submatrix_mut(h, h, rows - h, cols - h),
        v.rb_mut().submatrix_mut(h, h, rows - h, cols - h),
        &mut taus[h..],
    );
}

/// [`factor_unblocked`] as a SIMD operation: the widest SIMD the CPU has, chosen at run
/// time, for the plain loops inlined into `with_simd`.
struct Unblocked<'a, T> {
    p: MatMut<'a, T>,
    v: MatMut<'a, T>,
    taus: &'a mut [T],
}

impl<T: Scalar> pulp::WithSimd for Unblocked<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        factor_unblocked(self.p, self.v, self.taus);
    }
}

/// [`factor`] one column at a time.
#[inline(always)]
fn factor_unblocked<T: Scalar>(mut p: MatMut<'_, T>, mut v: MatMut<'_, T>, taus: &mut [T]) {
    let (rows, cols) = p.shape();
    let zero = T::from_f64(0.0);
    let mut x = vec![zero; rows];
    for j in 0..cols.min(rows) {
        let len = rows - j;
        x[..len].copy_from_slice(&p.rb().col(j).try_as_col_major().unwrap().as_slice()[j..]);
        let tau = householder(&mut x[..len]);
        let beta = x[0];
        x[0] = T::from_f64(1.0);
        let col = p.rb_mut().col_mut(j);
        let col = col.try_as_col_major_mut().unwrap().as_slice_mut();
        col[j] = beta;
        col[j + 1..].fill(zero);
        v.rb_mut()
            .col_mut(j)
            .try_as_col_major_mut()
            .unwrap()
            .as_slice_mut()[j..]
            .copy_from_slice(&x[..len]);
        let Some(tau) = tau else {
            taus[j] = zero;
            continue;
        };
        taus[j] = tau;
        for c in j + 1..cols {
            let col = p.rb_mut().col_mut(c);
            let col = &mut col.try_as_col_major_mut().unwrap().as_slice_mut()[j..];
            let scale = tau * dot(col, &x[..len]);
            for (a, &w) in col.iter_mut().zip(&x[..len]) {
                *a -= scale * w;
            }
        }
    }
}

/// The upper triangular `T` with `H₀ H₁ ⋯ = I − V T Vᵀ` for reflectors `Hⱼ = I − τⱼ vⱼ vⱼᵀ`:
/// `T[j][j] = τⱼ` and `T[..j, j] = −τⱼ T[..j, ..j] (Vᵀ vⱼ)[..j]`.
pub(super) fn block_factor<T: Scalar>(v: MatRef<'_, T>, taus: &[T]) -> Mat<T> {
    let cols = v.ncols();
    let zero = T::from_f64(0.0);
    let mut gram = Mat::<T>::zeros(cols, cols);
    matmul(
        gram.as_mut(),
        Accum::Replace,
        v.transpose(),
        v,
        T::from_f64(1.0),
        Par::Seq,
    );
    let mut t = Mat::<T>::zeros(cols, cols);
    for j in 0..cols {
        t[(j, j)] = taus[j];
        for i in 0..j {
            let mut s = zero;
            for l in i..j {
                s += t[(i, l)] * gram[(l, j)];
            }
            t[(i, j)] = zero - taus[j] * s;
        }
    }
    t
}

/// `c ← (I − V T Vᵀ)ᵀ c`.
pub(super) fn apply_left_transpose<T: Scalar>(
    v: MatRef<'_, T>,
    t: MatRef<'_, T>,
    mut c: MatMut<'_, T>,
    par: Par,
) {
    if c.ncols() == 0 {
        return;
    }
    let mut w = Mat::<T>::zeros(v.ncols(), c.ncols());
    matmul(
        w.as_mut(),
        Accum::Replace,
        v.transpose(),
        c.rb(),
        T::from_f64(1.0),
        par,
    );
    let mut tw = Mat::<T>::zeros(v.ncols(), c.ncols());
    matmul(
        tw.as_mut(),
        Accum::Replace,
        t.transpose(),
        w.as_ref(),
        T::from_f64(1.0),
        par,
    );
    matmul(
        c.rb_mut(),
        Accum::Add,
        v,
        tw.as_ref(),
        T::from_f64(-1.0),
        par,
    );
}
