//! The two-stage routes with vectors: the first k singular triplets, or all of them.
//!
//! The reduction of [`super::singular_values`] is run keeping its reflectors: the panels'
//! block reflectors (`A = Q₁ Bb P₁ᵀ`, and the QR's when one comes first) and the bulge
//! chasing's (`Bb = Q₂ Bd P₂ᵀ`). Then, with `X`, `Y` the bidiagonal's vectors,
//! `U = Q₁ Q₂ X` and `V = P₁ P₂ Y`:
//! - the first k ([`leading`]): dqds gives all the values, inverse iteration
//!   ([`super::inverse`]) the first k columns of `X` and `Y`, and the reflectors are applied
//!   to k columns only. Everything but the reduction itself is O(n²k), so the first 50
//!   components of a 24 MP photo cost little more than its singular values;
//! - all ([`thin`], [`full`]): divide and conquer ([`super::divide`]) gives `X` and `Y`,
//!   and the reflectors are applied as matrix products.

use faer::reborrow::ReborrowMut;
use faer::{Mat, MatRef, Par};

use super::blocks::Blocks;
use super::bulge::Chased;
use super::{
    band_width, bidiagonal_singular_values, divide, inverse, is_finite, reduce, QR_FIRST_RATIO,
};
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
    let (b, k) = (b.max(1), k.min(n));
    let r = Reduced::new(a, b, par, false, &mut VectorTimes::default())?;
    let Back::Sequences(chased) = &r.back else {
        unreachable!("Reduced::new keeps the sequences when not asked for blocks")
    };
    let all = bidiagonal_singular_values(&r.d, &r.f)?;
    // A tolerance of a few hundred ε of the caller's precision, scaled with √n as the
    // residual of n-term sums grows.
    let tolerance = 64.0 * T::EPSILON * (n as f64).sqrt();
    let Some((x, y)) = inverse::leading_vectors(&r.d, &r.f, &all[..k], tolerance) else {
        return Ok(None);
    };
    // The bidiagonal's vectors through the bulge chasing's reflectors: one reflector at a
    // time on rows of k entries for few columns, in blocks ([`Blocks`]) for more.
    let tiny = negligible::<T>();
    let flush = |v: f64| T::from_f64(if v.abs() < tiny { 0.0 } else { v });
    let (x, y) = if k < BLOCKED_FROM {
        let mut x: Vec<T> = x.into_iter().map(flush).collect();
        let mut y: Vec<T> = y.into_iter().map(flush).collect();
        chased.left.apply_rows(&mut x, k);
        chased.right.apply_rows(&mut y, k);
        (
            Mat::<T>::from_fn(n, k, |i, j| x[i * k + j]),
            Mat::<T>::from_fn(n, k, |i, j| y[i * k + j]),
        )
    } else {
        let mut x = Mat::<T>::from_fn(n, k, |i, j| flush(x[i * k + j]));
        let mut y = Mat::<T>::from_fn(n, k, |i, j| flush(y[i * k + j]));
        Blocks::new(&chased.left, BLOCK_SWEEPS, n).apply(x.as_mut(), par);
        Blocks::new(&chased.right, BLOCK_SWEEPS, n).apply(y.as_mut(), par);
        (x, y)
    };
    let (u, v) = r.through_panels(x, y, m, par);
    let s = all[..k].iter().map(|&x| T::from_f64(x)).collect();
    Ok(Some((u, s, v)))
}

/// The thin SVD of `a` through the two-stage reduction, signs not yet fixed: `(U m×r, s,
/// V n×r)`, r = min(m, n) ≥ 1, s descending. The bidiagonal's SVD is by divide and
/// conquer; its vectors go through the bulge chasing's reflectors in blocks
/// ([`Blocks`]), then through the panels', all as matrix products.
#[allow(clippy::type_complexity)]
pub(crate) fn thin<T: Scalar>(
    a: MatRef<'_, T>,
    b: usize,
    par: Par,
    times: &mut VectorTimes,
) -> Result<(Mat<T>, Vec<T>, Mat<T>)> {
    let (m, n) = a.shape();
    if m < n {
        let (u, s, v) = thin(a.transpose(), b, par, times)?;
        return Ok((v, s, u));
    }
    let (r, s, x, y) = solved(a, b, true, par, times)?;
    let clock = std::time::Instant::now();
    let (u, v) = r.through_panels(x, y, m, par);
    times.panels_back = clock.elapsed().as_secs_f64();
    Ok((u, s, v))
}

/// The full SVD by the two-stage route, as NumPy's `full_matrices=True`: `(U m×m, s,
/// V n×n)`, signs not yet fixed. The columns of `U` (or `V`) past min(m, n) are the
/// reflectors' product applied to the identity's last columns.
#[allow(clippy::type_complexity)]
pub(crate) fn full<T: Scalar>(
    a: MatRef<'_, T>,
    b: usize,
    par: Par,
) -> Result<(Mat<T>, Vec<T>, Mat<T>)> {
    let (m, n) = a.shape();
    if m < n {
        let (u, s, v) = full(a.transpose(), b, par)?;
        return Ok((v, s, u));
    }
    let (r, s, x, mut y) = solved(a, b, false, par, &mut VectorTimes::default())?;
    let one = T::from_f64(1.0);
    let embed = |x: &Mat<T>, rows: usize| {
        let mut u = Mat::<T>::zeros(rows, rows);
        u.as_mut().submatrix_mut(0, 0, n, n).copy_from(x.as_ref());
        for i in n..rows {
            u[(i, i)] = one;
        }
        u
    };
    let mut u = embed(&x, if r.qr.is_empty() { m } else { n });
    drop(x);
    reduce::apply_left(&r.panels, u.as_mut(), par);
    if !r.qr.is_empty() {
        u = embed(&u, m);
        reduce::apply_left(&r.qr, u.as_mut(), par);
    }
    reduce::apply_right(&r.panels, y.as_mut(), par);
    Ok((u, s, y))
}

/// The reduction of a tall `a` and the bidiagonal's SVD, its vectors through the bulge
/// chasing's reflectors: `(reduction, s, Q₂X, P₂Y)`. With `room`, `Q₂X` comes with zero
/// rows below it up to the height [`Reduced::through_panels`] fills.
#[allow(clippy::type_complexity)]
fn solved<T: Scalar>(
    a: MatRef<'_, T>,
    b: usize,
    room: bool,
    par: Par,
    times: &mut VectorTimes,
) -> Result<(Reduced<T>, Vec<T>, Mat<T>, Mat<T>)> {
    let clock = std::time::Instant::now();
    let r = Reduced::new(a, b.max(1), par, true, times)?;
    let start = clock.elapsed().as_secs_f64();
    let n = r.d.len();
    let rows = if room { r.panel_rows(a.nrows()) } else { n };
    let (s, mut x, mut y) = divide::bidiagonal_svd::<T>(&r.d, &r.f, rows, par)?;
    let mid = clock.elapsed().as_secs_f64();
    times.divide = mid - start;
    let Back::Blocks([left, right]) = &r.back else {
        unreachable!("Reduced::new builds the blocks when asked for them")
    };
    left.apply(x.as_mut().subrows_mut(0, n), par);
    right.apply(y.as_mut(), par);
    // The reflectors leave a few thousand entries among the subnormal numbers, from
    // vectors that decay far from where they live; every product below would meet them.
    flush_negligible(x.as_mut().subrows_mut(0, n));
    flush_negligible(y.as_mut());
    times.chase_back = clock.elapsed().as_secs_f64() - mid;
    Ok((r, s.into_iter().map(T::from_f64).collect(), x, y))
}

/// Sets every entry of `x` (column-major) below [`negligible`] in magnitude to zero.
///
/// Measured at 2000×3000 f32 (`bench_svd twostage-f32`, a scratch count): the chase back
/// leaves 5 411 subnormal entries in `Q₂X` and 5 319 in `P₂Y`, all in the columns of the
/// larger values (19 057 and 11 351 at 4000×6000; 83 and 131 in f64 at 2000×3000). The
/// thread whose columns held them ran the panels' products at 52–54 GFLOP/s against 80–90
/// for the other; flushed, both ran at 78–93 and the panels back took 0.32–0.36 s against
/// 0.49–0.50 s. The flush itself takes under 10 ms.
fn flush_negligible<T: Scalar>(mut x: faer::MatMut<'_, T>) {
    let tiny = T::from_f64(negligible::<T>());
    let zero = T::from_f64(0.0);
    for j in 0..x.ncols() {
        let col = x.rb_mut().col_mut(j);
        let col = col
            .try_as_col_major_mut()
            .expect("the vectors are column-major")
            .as_slice_mut();
        for v in col {
            if *v < tiny && *v > -tiny {
                *v = zero;
            }
        }
    }
}

/// Below this magnitude (`T`'s smallest normal number over ε: about 1e-31 in f32) an entry
/// of one of the bidiagonal's unit vectors is set to zero before it meets the reflectors.
/// It is far below `T`'s rounding of the vector, and products with it fall among the
/// subnormal numbers, which x86 CPUs handle a hundred times slower. Measured: the first 50
/// vectors of a 2000×3000 f32 matrix by inverse iteration decay to 1e-40 and below away
/// from where they live; through the bulge chasing's reflectors they took 3.7 s, flushed
/// 0.07 s (`bench_svd top-f32`: 4.8 s → 0.79 s; at 4000×6000 24.6 s → 4.9 s).
fn negligible<T: Scalar>() -> f64 {
    let smallest = match T::PRECISION {
        crate::Precision::F32 => f64::from(f32::MIN_POSITIVE),
        crate::Precision::F64 => f64::MIN_POSITIVE,
    };
    smallest / T::EPSILON
}

/// Seconds in each stage of the two-stage SVD with vectors ([`crate::two_stage_svd`]), for
/// benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub struct VectorTimes {
    /// QR (when one comes first) and dense to band, keeping the reflectors.
    pub band: f64,
    /// Band to bidiagonal, keeping the reflectors, with their blocks built alongside (on
    /// two threads or more, by the thread that finishes each group of sweeps).
    pub bulge: f64,
    /// The bidiagonal's SVD by divide and conquer.
    pub divide: f64,
    /// The vectors through the bulge chasing's reflectors (blocks already built).
    pub chase_back: f64,
    /// The vectors through the panels' reflectors (and the QR's).
    pub panels_back: f64,
}

/// From this many columns [`leading`] applies the bulge chasing's reflectors in blocks.
/// Measured at 2000×3000 f32 (`bench_svd top-f32`): one at a time took 0.64 s at k = 50 and
/// 0.77 s at k = 120, blocks 0.75–0.85 and 0.89 s.
const BLOCKED_FROM: usize = 128;

/// Sweeps per block of the bulge chasing's reflectors in [`thin`]: more makes the blocks'
/// products wider but adds flops ((b + g − 1)/b of the unblocked count). At 2000×3000,
/// 16 beat 8 and 32 by 5–25%.
const BLOCK_SWEEPS: usize = 16;

/// A tall matrix reduced to bidiagonal form, with every reflector kept:
/// `A = Q_qr [Q₁ Q₂ Bd P₂ᵀ P₁ᵀ; 0]` (no `Q_qr` when no QR came first).
struct Reduced<T> {
    qr: Vec<reduce::Panel<T>>,
    panels: Vec<reduce::Panel<T>>,
    back: Back<T>,
    d: Vec<f64>,
    f: Vec<f64>,
}

/// The bulge chasing's reflectors, kept as the route needs them.
enum Back<T> {
    /// One by one, for the first k vectors ([`leading`]).
    Sequences(Chased<T>),
    /// In blocks (left, right), for all of them ([`thin`], [`full`]): the sequences they
    /// were built from are dropped.
    Blocks([Blocks<T>; 2]),
}

impl<T: Scalar> Reduced<T> {
    /// Reduces `a` (m ≥ n ≥ 1) with band width `b`, with the bulge chasing's reflectors
    /// in blocks when `blocks` says so.
    fn new(
        a: MatRef<'_, T>,
        b: usize,
        par: Par,
        blocks: bool,
        times: &mut VectorTimes,
    ) -> Result<Self> {
        let clock = std::time::Instant::now();
        let (m, n) = a.shape();
        // Copied first, checked on the copy: in memory order, where `a` may be a row-major
        // matrix seen by columns.
        let mut work = a.to_owned();
        if !is_finite(work.as_ref()) {
            return Err(Error::new(
                ErrorKind::Numerical,
                format!("the {m}x{n} matrix holds a NaN or an infinity"),
            ));
        }
        let mut qr = Vec::new();
        if m * QR_FIRST_RATIO.1 >= n * QR_FIRST_RATIO.0 {
            work = reduce::qr_r(work.as_mut(), b, par, Some(&mut qr));
        }
        let mut panels = Vec::new();
        let band = reduce::to_band(work.as_mut(), b, par, Some(&mut panels));
        drop(work);
        times.band = clock.elapsed().as_secs_f64();
        let (d, f, back) = if blocks {
            let (d, f, blocks) = super::blocks::chase_into_blocks(band, BLOCK_SWEEPS, n, par);
            (d, f, Back::Blocks(blocks))
        } else {
            let (d, f, chased) = if par.degree() > 1 {
                let width = band.width();
                let (d, f, groups) =
                    super::sweeps::chase_groups(band, BLOCK_SWEEPS, par.degree(), true, &|k| k);
                (d, f, Chased::concat(groups, width))
            } else {
                band.bidiagonalize_keeping()
            };
            (d, f, Back::Sequences(chased))
        };
        times.bulge = clock.elapsed().as_secs_f64() - times.band;
        Ok(Reduced {
            qr,
            panels,
            back,
            d,
            f,
        })
    }

    /// The rows the panels' reflectors act on in `U`, for an m-row matrix: m, or n when a
    /// QR came first.
    fn panel_rows(&self, m: usize) -> usize {
        if self.qr.is_empty() {
            m
        } else {
            self.d.len()
        }
    }

    /// `U = Q_qr [Q₁ X; 0]` (m rows) and `V = P₁ Y` for X, Y already through the bulge
    /// chasing's reflectors (`X` n rows, or already [`Self::panel_rows`] with zeros below).
    fn through_panels(&self, x: Mat<T>, mut y: Mat<T>, m: usize, par: Par) -> (Mat<T>, Mat<T>) {
        let n = self.d.len();
        let (rows, k) = (self.panel_rows(m), x.ncols());
        let mut u = if x.nrows() == rows {
            x
        } else {
            let mut u = Mat::<T>::zeros(rows, k);
            u.as_mut()
                .subrows_mut(0, n)
                .copy_from(x.as_ref().subrows(0, n));
            u
        };
        reduce::apply_left(&self.panels, u.as_mut(), par);
        reduce::apply_right(&self.panels, y.as_mut(), par);
        if !self.qr.is_empty() {
            let mut full = Mat::<T>::zeros(m, k);
            full.as_mut().subrows_mut(0, n).copy_from(u.as_ref());
            reduce::apply_left(&self.qr, full.as_mut(), par);
            u = full;
        }
        (u, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::noise;

    /// Entries of `x` below [`negligible`] in magnitude, zeros aside.
    fn tiny<T: Scalar>(x: MatRef<'_, T>) -> usize {
        let limit = negligible::<T>();
        (0..x.ncols())
            .map(|j| {
                (0..x.nrows())
                    .filter(|&i| {
                        let v = x[(i, j)].to_f64().abs();
                        v != 0.0 && v < limit
                    })
                    .count()
            })
            .sum()
    }

    /// The bulge chasing's reflectors leave entries among the subnormal numbers in the
    /// vectors of a matrix whose columns are graded over 8 decades; the route flushes them
    /// before the panels' products, and the factors still meet the bounds.
    #[test]
    fn the_panels_products_meet_no_subnormal_entries() {
        let (m, n) = (400, 300);
        let a = Mat::<f32>::from_fn(m, n, |i, j| {
            (noise((i * n + j) as u64) * 10f64.powf(-8.0 * j as f64 / n as f64)) as f32
        });
        let par = Par::rayon(2);
        // The case arises: the chase back's own output, unflushed.
        let r = Reduced::new(a.as_ref(), 16, par, true, &mut VectorTimes::default()).unwrap();
        let (_, mut x, mut y) = divide::bidiagonal_svd::<f32>(&r.d, &r.f, n, par).unwrap();
        let Back::Blocks([left, right]) = &r.back else {
            unreachable!("asked for blocks")
        };
        left.apply(x.as_mut(), par);
        right.apply(y.as_mut(), par);
        assert!(tiny(x.as_ref()) > 1000 && tiny(y.as_ref()) > 1000);
        // The route's vectors before the panels: none left.
        let (_, _, x, y) = solved(a.as_ref(), 16, true, par, &mut VectorTimes::default()).unwrap();
        assert_eq!((tiny(x.as_ref()), tiny(y.as_ref())), (0, 0));
        // And the factors: A = U Σ Vᵀ with orthonormal columns.
        let (u, s, v) = thin(a.as_ref(), 16, par, &mut VectorTimes::default()).unwrap();
        let us = Mat::<f64>::from_fn(m, n, |i, j| u[(i, j)] as f64 * s[j] as f64);
        let vd = Mat::<f64>::from_fn(n, n, |i, j| v[(i, j)] as f64);
        let ad = Mat::<f64>::from_fn(m, n, |i, j| a[(i, j)] as f64);
        let residual = (&us * vd.transpose() - &ad).norm_l2() / ad.norm_l2();
        let eps = f64::from(f32::EPSILON);
        assert!(
            residual <= 30.0 * eps * (n as f64).sqrt(),
            "backward error {residual:e}"
        );
        let ud = Mat::<f64>::from_fn(m, n, |i, j| u[(i, j)] as f64);
        for (q, name) in [(ud, "U"), (vd, "V")] {
            let gram = q.transpose() * &q;
            let worst = (0..n)
                .flat_map(|i| (0..n).map(move |j| (i, j)))
                .map(|(i, j)| (gram[(i, j)] - if i == j { 1.0 } else { 0.0 }).abs())
                .fold(0.0, f64::max);
            assert!(worst <= 30.0 * eps * n as f64, "{name}: off by {worst:e}");
        }
    }
}
