//! Dense to band: the first stage, at matrix-product speed.
//!
//! For an m×n matrix (m ≥ n), panels of b columns are taken in turn. A QR factorisation of
//! the panel clears it below its diagonal block, and its reflectors, gathered into one
//! block reflector `I − V T Vᵀ`, update the rest of the matrix with two matrix products. An
//! LQ factorisation of the b rows to the right of the panel then clears them beyond b
//! columns, and its block reflector updates the trailing matrix from the right. What is
//! left is upper triangular with b superdiagonals. Only the panel factorisations, b columns
//! wide, are matrix-vector work; the updates, which are nearly all the flops, are products
//! with an inner dimension of b.

use faer::linalg::matmul::matmul;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};

use super::bulge::Band;
use super::householder;
use crate::Scalar;

/// Reduces `a` (m×n, m ≥ n, overwritten) to upper band form with `b` superdiagonals and
/// returns the n×n band.
pub(super) fn to_band<T: Scalar>(mut a: MatMut<'_, T>, b: usize, par: Par) -> Band<T> {
    let (m, n) = a.shape();
    debug_assert!(m >= n);
    let mut band = Band::zeros(n, b);
    let mut k = 0;
    while k < n {
        let kb = b.min(n - k);
        // Left: QR of the panel, Qᵀ applied to the columns to its right.
        let (v, t) = panel_qr(a.rb_mut().submatrix_mut(k, k, m - k, kb));
        for r in k..k + kb {
            for c in r..k + kb {
                band.set(r, c, a[(r, c)]);
            }
        }
        let right = a.rb_mut().submatrix_mut(k, k + kb, m - k, n - k - kb);
        apply_left_transpose(v.as_ref(), t.as_ref(), right, par);
        if k + kb < n {
            // Right: LQ of the b rows beyond the panel, through a QR of their transpose.
            let mut w = a.rb().submatrix(k, k + kb, kb, n - k - kb).transpose().to_owned();
            let (v, t) = panel_qr(w.as_mut());
            // The rows become Rᵀ: lower triangular in their first b columns, zero after.
            let p = n - k - kb;
            for j in 0..kb {
                for i in 0..=j.min(p - 1) {
                    // Rᵀ[j][i] = R[i][j], at row k + j, column k + kb + i.
                    band.set(k + j, k + kb + i, w[(i, j)]);
                }
            }
            let trailing = a.rb_mut().submatrix_mut(k + kb, k + kb, m - k - kb, n - k - kb);
            apply_right(v.as_ref(), t.as_ref(), trailing, par);
        }
        k += kb;
    }
    band
}

/// QR of a panel (rows ≥ columns) by Householder reflectors, one column at a time: R is
/// left in the upper triangle. Returns the reflectors as an explicit unit lower trapezoidal
/// `V` and the upper triangular `T` with `H₀ H₁ ⋯ = I − V T Vᵀ`.
fn panel_qr<T: Scalar>(mut p: MatMut<'_, T>) -> (Mat<T>, Mat<T>) {
    let (rows, cols) = p.shape();
    let zero = T::from_f64(0.0);
    let mut v = Mat::<T>::zeros(rows, cols);
    let mut taus = vec![zero; cols];
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
        v.col_mut(j)
            .try_as_col_major_mut()
            .unwrap()
            .as_slice_mut()[j..]
            .copy_from_slice(&x[..len]);
        let Some(tau) = tau else {
            continue;
        };
        taus[j] = tau;
        for c in j + 1..cols {
            let col = p.rb_mut().col_mut(c);
            let col = &mut col.try_as_col_major_mut().unwrap().as_slice_mut()[j..];
            let mut dot = zero;
            for (&a, &w) in col.iter().zip(&x[..len]) {
                dot += a * w;
            }
            let scale = tau * dot;
            for (a, &w) in col.iter_mut().zip(&x[..len]) {
                *a -= scale * w;
            }
        }
    }
    // T: T[j][j] = τⱼ, T[..j, j] = −τⱼ T[..j, ..j] (Vᵀ vⱼ)[..j].
    let mut gram = Mat::<T>::zeros(cols, cols);
    matmul(
        gram.as_mut(),
        Accum::Replace,
        v.transpose(),
        v.as_ref(),
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
    (v, t)
}

/// `c ← (I − V T Vᵀ)ᵀ c`.
fn apply_left_transpose<T: Scalar>(v: MatRef<'_, T>, t: MatRef<'_, T>, mut c: MatMut<'_, T>, par: Par) {
    if c.ncols() == 0 {
        return;
    }
    let mut w = Mat::<T>::zeros(v.ncols(), c.ncols());
    matmul(w.as_mut(), Accum::Replace, v.transpose(), c.rb(), T::from_f64(1.0), par);
    let mut tw = Mat::<T>::zeros(v.ncols(), c.ncols());
    matmul(tw.as_mut(), Accum::Replace, t.transpose(), w.as_ref(), T::from_f64(1.0), par);
    matmul(c.rb_mut(), Accum::Add, v, tw.as_ref(), T::from_f64(-1.0), par);
}

/// `c ← c (I − V T Vᵀ)`.
fn apply_right<T: Scalar>(v: MatRef<'_, T>, t: MatRef<'_, T>, mut c: MatMut<'_, T>, par: Par) {
    if c.nrows() == 0 {
        return;
    }
    let mut w = Mat::<T>::zeros(c.nrows(), v.ncols());
    matmul(w.as_mut(), Accum::Replace, c.rb(), v, T::from_f64(1.0), par);
    let mut wt = Mat::<T>::zeros(c.nrows(), v.ncols());
    matmul(wt.as_mut(), Accum::Replace, w.as_ref(), t, T::from_f64(1.0), par);
    matmul(c.rb_mut(), Accum::Add, wt.as_ref(), v.transpose(), T::from_f64(-1.0), par);
}

/// The R of a QR factorisation of `a` (m×n, m ≥ n, overwritten): n×n upper triangular,
/// with the same singular values as `a`.
pub(super) fn qr_r<T: Scalar>(mut a: MatMut<'_, T>, b: usize, par: Par) -> Mat<T> {
    let (m, n) = a.shape();
    let mut k = 0;
    while k < n {
        let kb = b.min(n - k);
        let (v, t) = panel_qr(a.rb_mut().submatrix_mut(k, k, m - k, kb));
        let right = a.rb_mut().submatrix_mut(k, k + kb, m - k, n - k - kb);
        apply_left_transpose(v.as_ref(), t.as_ref(), right, par);
        k += kb;
    }
    Mat::from_fn(n, n, |i, j| if i <= j { a[(i, j)] } else { T::from_f64(0.0) })
}
