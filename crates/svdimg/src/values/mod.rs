//! The two-stage SVD: singular values, the first k components, or all of them.
//!
//! LAPACK's `gesdd` and faer both reduce a matrix to bidiagonal form in one stage, and half
//! of that work is matrix-vector products that stream the whole trailing matrix through
//! memory for every column: bandwidth, not arithmetic, sets its speed. Two stages go around
//! it (Haidar, Kurzak and Luszczek, SC 2013, among others):
//! 1. dense to band ([`reduce`]): blocked Householder transformations, nearly all of
//!    whose flops are matrix products;
//! 2. band to bidiagonal ([`bulge`]): bulge chasing on the narrow band, which stays in
//!    cache;
//! 3. the bidiagonal's singular values by dqds ([`dqds`]), to high relative accuracy.
//!
//! With vectors, both stages keep their reflectors and a third step follows:
//! - all of them ([`Factors::compute_with`] on large matrices, [`top::thin`]): the
//!   bidiagonal's SVD by divide and conquer ([`divide`]), then its vectors through the bulge
//!   chasing's reflectors gathered into blocks ([`blocks::Blocks`]) and through the panels'
//!   block reflectors, all as matrix products;
//! - the first k ([`Factors::compute_top`], [`top::leading`]): the bidiagonal's k vectors
//!   by inverse iteration ([`inverse`]), and the reflectors applied to k columns only.
//!
//! A far-from-square matrix is first replaced by the R of its QR factorisation.

mod avx512;
mod blocks;
mod bulge;
mod divide;
mod dqds;
mod inverse;
mod qr;
mod reduce;
mod secular;
mod sweeps;
mod top;

use faer::{Mat, MatRef, Par};

pub(crate) use bulge::dot;
use rayon::prelude::*;
pub(crate) use top::leading;

/// The full SVD by the two-stage route (`U` m×m, `V` n×n), signs not yet fixed.
#[allow(clippy::type_complexity)]
pub(crate) fn full<T: Scalar>(a: MatRef<'_, T>, par: Par) -> Result<(Mat<T>, Vec<T>, Mat<T>)> {
    top::full(a, band_width(a.nrows().min(a.ncols())), par)
}

/// The thin SVD by the two-stage route, band width as [`singular_values`] chooses it:
/// `(U, s, V)`, signs not yet fixed.
#[allow(clippy::type_complexity)]
pub(crate) fn thin<T: Scalar>(a: MatRef<'_, T>, par: Par) -> Result<(Mat<T>, Vec<T>, Mat<T>)> {
    top::thin(
        a,
        band_width(a.nrows().min(a.ncols())),
        par,
        &mut VectorTimes::default(),
    )
}
pub use top::VectorTimes;

pub use dqds::bidiagonal_singular_values;

use crate::{Error, ErrorKind, Factors, PlaneName, Planes, Result, Scalar};

/// Band width of the reduction for an n×n band: wide enough for the products to run near
/// full speed, narrow enough for the bulge chasing (whose cost grows with it) to stay cheap.
/// Measured with `cargo run --release -p svdimg --example values` (docs/BENCHMARKS.md): 32 is
/// best at 2000×3000 (16 to 64 tried), 48 at 4000×6000 (0.4 s of 6 faster than 32).
fn band_width(n: usize) -> usize {
    if n >= 3000 {
        48
    } else {
        32
    }
}

/// Sweeps per group when the bulge chasing runs on several threads without keeping its
/// reflectors ([`sweeps::chase_groups`]): as many as the blocks of reflectors gather.
const CHASE_GROUP: usize = 16;

/// Below this short side faer's one-stage solver is used: the matrix fits in cache and
/// the two-stage machinery has nothing to win.
const TWO_STAGE_MIN: usize = 128;

/// From this aspect ratio (long side / short side, as a fraction) a QR comes first: the
/// band reduction then works on the square R. By flop count, QR and band reduction of R
/// cost `2mn² + 2n³` against `4mn² − 4n³/3` for the band reduction alone.
const QR_FIRST_RATIO: (usize, usize) = (5, 3);

/// The singular values of `a`, in descending order, without singular vectors, by the
/// two-stage reduction (dense → band → bidiagonal → dqds).
///
/// Agrees with [`Factors::singular_values_of`] (faer's one-stage solver) to a small
/// multiple of ε·s₁; small matrices are passed to that solver.
///
/// ```
/// let a = faer::mat![[3.0f64, 0.0], [4.0, 5.0]];
/// let s = svdimg::singular_values(a.as_ref(), faer::Par::Seq)?;
/// assert!((s[0] - 45f64.sqrt()).abs() < 1e-12 && (s[1] - 5f64.sqrt()).abs() < 1e-12);
/// # Ok::<(), svdimg::Error>(())
/// ```
pub fn singular_values<T: Scalar>(a: MatRef<'_, T>, par: Par) -> Result<Vec<T>> {
    Ok(singular_values_timed(a, par)?.0)
}

/// The singular values of every colour plane, descending, planes in parallel: what
/// `svdimg info` and the spectrum plots need, without the vectors.
pub fn plane_singular_values<T: Scalar>(
    planes: &Planes<T>,
    par: Par,
) -> Result<Vec<(PlaneName, Vec<T>)>> {
    (0..planes.color.len())
        .into_par_iter()
        .map(|i| {
            Ok((
                planes.color[i].name,
                singular_values(planes.matrix(i), par)?,
            ))
        })
        .collect()
}

/// Seconds spent in each stage of [`singular_values`]: QR (0 when skipped), dense to band,
/// band to bidiagonal, dqds.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    /// The QR of a far-from-square matrix.
    pub qr: f64,
    /// Dense to band.
    pub band: f64,
    /// Band to bidiagonal (bulge chasing).
    pub bulge: f64,
    /// The bidiagonal's singular values (dqds).
    pub dqds: f64,
}

/// [`singular_values`] with the time spent in each stage (all zero when the matrix is
/// small enough for the one-stage solver), for benchmarks.
pub fn singular_values_timed<T: Scalar>(
    a: MatRef<'_, T>,
    par: Par,
) -> Result<(Vec<T>, StageTimes)> {
    if a.nrows().min(a.ncols()) < TWO_STAGE_MIN {
        return Ok((Factors::singular_values_of(a, par)?, StageTimes::default()));
    }
    match two_stage(a, band_width(a.nrows().min(a.ncols())), par) {
        Err(e) if e.kind() == ErrorKind::Numerical && is_finite(a) => {
            // dqds gave up (never seen): the one-stage solver is the fallback.
            Ok((Factors::singular_values_of(a, par)?, StageTimes::default()))
        }
        other => other,
    }
}

/// The two-stage solver with band width `band`, whatever the size of `a`: for tests of
/// the reduction's edge cases on small matrices. Use [`singular_values`].
#[doc(hidden)]
pub fn two_stage_singular_values<T: Scalar>(
    a: MatRef<'_, T>,
    band: usize,
    par: Par,
) -> Result<Vec<T>> {
    Ok(two_stage(a, band.max(1), par)?.0)
}

/// [`Factors::compute_top`]'s two-stage route with band width `band`, whatever the size of
/// `a` and k (1 ≤ k ≤ min(m, n)), signs fixed; `None` where that route declines: for tests.
#[doc(hidden)]
pub fn two_stage_leading<T: Scalar>(
    a: MatRef<'_, T>,
    k: usize,
    band: usize,
    par: Par,
) -> Result<Option<Factors<T>>> {
    Ok(top::leading_with(a, k, band, par)?.map(|(u, s, v)| {
        let mut f = Factors::from_parts(u, s, v);
        f.fix_signs();
        f
    }))
}

/// The thin SVD by the two-stage route with band width `band`, whatever the size of `a`
/// (at least 1×1), signs fixed as [`Factors`] fixes them: for tests and benchmarks.
#[doc(hidden)]
pub fn two_stage_svd<T: Scalar>(
    a: MatRef<'_, T>,
    band: usize,
    par: Par,
) -> Result<(Factors<T>, VectorTimes)> {
    let mut times = VectorTimes::default();
    let (u, s, v) = top::thin(a, band, par, &mut times)?;
    let mut f = Factors::from_parts(u, s, v);
    f.fix_signs();
    Ok((f, times))
}

/// The full SVD by the two-stage route with band width `band` (`U` m×m, `V` n×n), signs
/// of the first min(m, n) columns fixed: for tests.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn two_stage_full_svd<T: Scalar>(
    a: MatRef<'_, T>,
    band: usize,
    par: Par,
) -> Result<(Mat<T>, Vec<T>, Mat<T>)> {
    let (mut u, s, mut v) = top::full(a, band, par)?;
    crate::factors::fix_signs(u.as_mut(), v.as_mut(), s.len());
    Ok((u, s, v))
}

/// The SVD of the n×n upper bidiagonal with diagonal `d` and superdiagonal `e` (n − 1
/// entries) by divide and conquer: `(s, U, V)`, `B = U diag(s) Vᵀ`, s descending. For
/// tests; the exact SVD uses it through the two-stage reduction.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn bidiagonal_svd(d: &[f64], e: &[f64], par: Par) -> Result<(Vec<f64>, Mat<f64>, Mat<f64>)> {
    if d.len() != e.len() + 1 && !(d.is_empty() && e.is_empty()) {
        return Err(Error::parameter(
            "a bidiagonal needs one superdiagonal entry fewer than its diagonal",
        ));
    }
    divide::bidiagonal_svd::<f64>(d, e, d.len(), par)
}

fn is_finite<T: Scalar>(a: MatRef<'_, T>) -> bool {
    a.col_iter()
        .all(|c| c.iter().all(|x| x.to_f64().is_finite()))
}

fn two_stage<T: Scalar>(a: MatRef<'_, T>, b: usize, par: Par) -> Result<(Vec<T>, StageTimes)> {
    let clock = std::time::Instant::now();
    let lap = |t: &mut f64| *t = clock.elapsed().as_secs_f64();
    let (m, n) = a.shape();
    if m.min(n) == 0 {
        return Ok((Vec::new(), StageTimes::default()));
    }
    // Work on the tall orientation (the singular values of Aᵀ are those of A), on a
    // column-major copy, which is also where the entries are checked: in memory order.
    let mut work: Mat<T> = if m >= n {
        a.to_owned()
    } else {
        a.transpose().to_owned()
    };
    if !is_finite(work.as_ref()) {
        return Err(Error::new(
            ErrorKind::Numerical,
            format!("the {m}x{n} matrix holds a NaN or an infinity"),
        ));
    }
    let (m, n) = work.shape();
    if m * QR_FIRST_RATIO.1 >= n * QR_FIRST_RATIO.0 {
        work = reduce::qr_r(work.as_mut(), b, par, None);
    }
    let mut marks = [0.0; 4];
    lap(&mut marks[0]);
    let band = reduce::to_band(work.as_mut(), b, par, None);
    drop(work);
    lap(&mut marks[1]);
    let (d, f) = if par.degree() > 1 {
        let (d, f, _) = sweeps::chase_groups(band, CHASE_GROUP, par.degree(), false, &|_| ());
        (d, f)
    } else {
        band.bidiagonalize()
    };
    lap(&mut marks[2]);
    let s = bidiagonal_singular_values(&d, &f)?;
    lap(&mut marks[3]);
    let times = StageTimes {
        qr: marks[0],
        band: marks[1] - marks[0],
        bulge: marks[2] - marks[1],
        dqds: marks[3] - marks[2],
    };
    Ok((s.into_iter().map(T::from_f64).collect(), times))
}

/// Turns `x` into a Householder reflector `H = I − τ w wᵀ` with `H x = β e₀`: on return
/// `x[0] = β` and `x[1..]` holds `w[1..]` (`w[0] = 1`). Returns `None` (x unchanged) when
/// `x` is already a multiple of `e₀`.
#[inline(always)]
fn householder<T: Scalar>(x: &mut [T]) -> Option<T> {
    let largest = x.iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
    let scale = if largest > 0.0 { 1.0 / largest } else { 1.0 };
    let tail: f64 = x[1..].iter().map(|v| (v.to_f64() * scale).powi(2)).sum();
    if tail == 0.0 {
        return None;
    }
    let alpha = x[0].to_f64();
    let norm = (alpha * scale).hypot(tail.sqrt()) / scale;
    let beta = if alpha >= 0.0 { -norm } else { norm };
    // Divide in f64: |xᵢ| ≤ |α − β|, so the quotient cannot overflow, where the reciprocal
    // of a tiny α − β would in f32.
    let head = alpha - beta;
    for v in &mut x[1..] {
        *v = T::from_f64(v.to_f64() / head);
    }
    x[0] = T::from_f64(beta);
    Some(T::from_f64((beta - alpha) / beta))
}

/// A reproducible value in [−1, 1) from a counter, for the tests of the solver's parts.
#[cfg(test)]
pub(super) fn noise(i: u64) -> f64 {
    let x = i
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}
