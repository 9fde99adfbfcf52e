//! The first k singular triplets, exactly, through the two-stage reduction.
//!
//! The reduction of [`super::singular_values`] is run keeping its reflectors: the panels'
//! block reflectors (`A = Q₁ Bb P₁ᵀ`, and the QR's when one comes first) and the bulge
//! chasing's (`Bb = Q₂ Bd P₂ᵀ`). dqds gives all the values; inverse iteration
//! ([`super::inverse`]) the bidiagonal's first k vectors `X`, `Y`; then `U = Q₁ Q₂ X` and
//! `V = P₁ P₂ Y`, the reflectors applied to k columns only. Everything but the reduction
//! itself is O(n²k), so the first 50 components of a 24 MP photo cost little more than its
//! singular values.

use faer::{Mat, MatRef, Par};

use super::{band_width, bidiagonal_singular_values, inverse, is_finite, reduce, QR_FIRST_RATIO};
use crate::{Error, ErrorKind, Result, Scalar};

/// The thin factors of the first `k` components of `a` (k ≤ min(m, n), at least 1), signs
/// not yet fixed: `(U m×k, s, V n×k)`. `Ok(None)` when the inverse iteration declines (a
/// value too small next to σ₁, or its check failed): the caller computes all vectors.
#[allow(clippy::type_complexity)]
pub(crate) fn leading<T: Scalar>(
    a: MatRef<'_, T>,
    k: usize,
    par: Par,
) -> Result<Option<(Mat<T>, Vec<T>, Mat<T>)>> {
    leading_with(a, k, band_width(a.nrows().min(a.ncols())), par)
}

/// [`leading`] with band width `b`.
#[allow(clippy::type_complexity)]
pub(crate) fn leading_with<T: Scalar>(
    a: MatRef<'_, T>,
    k: usize,
    b: usize,
    par: Par,
) -> Result<Option<(Mat<T>, Vec<T>, Mat<T>)>> {
    let (m, n) = a.shape();
    if m < n {
        // Aᵀ = U Σ Vᵀ gives A = V Σ Uᵀ.
        return Ok(leading_with(a.transpose(), k, b, par)?.map(|(u, s, v)| (v, s, u)));
    }
    let b = b.max(1);
    debug_assert!(k >= 1 && k <= n);
    if !is_finite(a) {
        return Err(Error::new(
            ErrorKind::Numerical,
            format!("the {m}x{n} matrix holds a NaN or an infinity"),
        ));
    }
    let mut work = a.to_owned();
    let mut qr = Vec::new();
    if m * QR_FIRST_RATIO.1 >= n * QR_FIRST_RATIO.0 {
        work = reduce::qr_r(work.as_mut(), b, par, Some(&mut qr));
    }
    let mut panels = Vec::new();
    let band = reduce::to_band(work.as_mut(), b, par, Some(&mut panels));
    drop(work);
    let (d, f, chased) = band.bidiagonalize_keeping();
    let all = bidiagonal_singular_values(&d, &f)?;
    // A tolerance of a few hundred ε of the caller's precision, scaled with √n as the
    // residual of n-term sums grows.
    let tolerance = 64.0 * T::EPSILON * (n as f64).sqrt();
    let Some((x, y)) = inverse::leading_vectors(&d, &f, &all[..k], tolerance) else {
        return Ok(None);
    };
    // The bidiagonal's vectors through the bulge chasing's reflectors, by rows.
    let mut x: Vec<T> = x.into_iter().map(T::from_f64).collect();
    let mut y: Vec<T> = y.into_iter().map(T::from_f64).collect();
    chased.left.apply_rows(&mut x, k);
    chased.right.apply_rows(&mut y, k);
    // Then through the panels': U = Q₁ [X; 0] (with the QR's Q before it), V = P₁ Y.
    let rows = if qr.is_empty() { m } else { n };
    let mut u = Mat::<T>::zeros(rows, k);
    let mut v = Mat::<T>::from_fn(n, k, |i, j| y[i * k + j]);
    for i in 0..n {
        for j in 0..k {
            u[(i, j)] = x[i * k + j];
        }
    }
    reduce::apply_left(&panels, u.as_mut(), par);
    reduce::apply_right(&panels, v.as_mut(), par);
    if !qr.is_empty() {
        let mut full = Mat::<T>::zeros(m, k);
        full.as_mut().subrows_mut(0, n).copy_from(u.as_ref());
        reduce::apply_left(&qr, full.as_mut(), par);
        u = full;
    }
    let s = all[..k].iter().map(|&x| T::from_f64(x)).collect();
    Ok(Some((u, s, v)))
}
