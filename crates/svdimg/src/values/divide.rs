//! The SVD of a bidiagonal matrix with its vectors, by divide and conquer.
//!
//! As LAPACK's `?bdsdc` (Gu and Eisenstat, 1995): an upper bidiagonal `B` with rows `0..p`
//! is cut at its middle row k into the rows above (a bidiagonal one column wider than
//! tall), row k, and the rows below. With the halves' SVDs, `B = Ũ M Ṽᵀ` where `M` is zero
//! but for its first row `zᵀ` (row k seen through the halves' right vectors) and a diagonal
//! of the halves' singular values: the singular values of `M` are the roots of the
//! secular equation `1 + Σ zⱼ²/(dⱼ² − σ²) = 0`, one between each pair of poles, and its
//! vectors are known in closed form. Before solving, components with a negligible `zⱼ` or
//! a pole equal to another are deflated: they pass through unchanged (after a rotation).
//! After solving, `z` is recomputed from the roots (Löwner's formula), which makes the
//! computed vectors orthogonal to working accuracy however close the roots. The merges'
//! cost is two matrix products per side, restricted to the rows each half reaches.
//!
//! Everything here is in f64 (the bidiagonal is, whatever the input's precision).

use faer::linalg::matmul::matmul;
use faer::linalg::svd::ComputeSvdVectors;
use faer::{Accum, Mat, Par};

use rayon::prelude::*;

use crate::{Error, ErrorKind, Result, Scalar};

/// Bidiagonals with at most this many rows are solved densely (faer's SVD).
const LEAF: usize = 24;

/// Root-finding steps before giving up (bisection alone needs about 60 for f64).
const MAX_STEPS: usize = 200;

/// The SVD of the n×n upper bidiagonal with diagonal `d` and superdiagonal `e`:
/// `(s, U, V)` with `B = U diag(s) Vᵀ`, s descending.
pub(super) fn bidiagonal_svd<T: Scalar>(
    d: &[f64],
    e: &[f64],
    par: Par,
) -> Result<(Vec<f64>, Mat<T>, Mat<T>)> {
    debug_assert!(d.len() == e.len() + 1 || d.is_empty());
    let part = solve::<T>(d, e, false, par)?;
    let n = d.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| part.s[b].total_cmp(&part.s[a]));
    let s = order.iter().map(|&i| part.s[i]).collect();
    let u = Mat::from_fn(n, n, |r, c| part.u[(r, order[c])]);
    let v = Mat::from_fn(n, n, |r, c| part.v[(r, order[c])]);
    Ok((s, u, v))
}

/// The SVD of a bidiagonal block: `p` values (in no order), `U` p×p and `V` (p+w)×(p+w)
/// with `B = U [diag(s) 0] Vᵀ`, where w = 1 for a block one column wider than tall (its
/// last column of `V` spans the null space).
struct Part<T> {
    s: Vec<f64>,
    u: Mat<T>,
    v: Mat<T>,
}

/// Solves the block with diagonal `d` (p entries) and superdiagonal `e` (p − 1 + w
/// entries, `e[i]` at (i, i + 1)).
fn solve<T: Scalar>(d: &[f64], e: &[f64], wide: bool, par: Par) -> Result<Part<T>> {
    let p = d.len();
    if p <= LEAF {
        return leaf(d, e, wide);
    }
    let k = p / 2;
    let (top, bottom) = if matches!(par, Par::Seq) || p < 256 {
        (
            solve(&d[..k], &e[..k], true, par)?,
            solve(&d[k + 1..], &e[k + 1..], wide, par)?,
        )
    } else {
        let (t, b) = rayon::join(
            || solve(&d[..k], &e[..k], true, par),
            || solve(&d[k + 1..], &e[k + 1..], wide, par),
        );
        (t?, b?)
    };
    let beta = e.get(k).copied().unwrap_or(0.0);
    merge(top, d[k], beta, bottom, wide, par)
}

/// A small block, densely by faer's SVD.
fn leaf<T: Scalar>(d: &[f64], e: &[f64], wide: bool) -> Result<Part<T>> {
    let p = d.len();
    let cols = p + usize::from(wide);
    if p == 0 {
        return Ok(Part {
            s: Vec::new(),
            u: Mat::zeros(0, 0),
            v: Mat::from_fn(cols, cols, |i, j| {
                T::from_f64(if i == j { 1.0 } else { 0.0 })
            }),
        });
    }
    let b = Mat::<f64>::from_fn(p, cols, |r, c| {
        if c == r {
            d[r]
        } else if c == r + 1 {
            e[r]
        } else {
            0.0
        }
    });
    let (u, s, v) = crate::factors::raw_svd(b.as_ref(), ComputeSvdVectors::Full, Par::Seq)?;
    let (u, v) = (u.expect("full U"), v.expect("full V"));
    Ok(Part {
        s,
        u: Mat::from_fn(u.nrows(), u.ncols(), |i, j| T::from_f64(u[(i, j)])),
        v: Mat::from_fn(v.nrows(), v.ncols(), |i, j| T::from_f64(v[(i, j)])),
    })
}

/// Where a column of Ũ or Ṽ has entries: in the rows of the upper half, the lower half,
/// or both (after a rotation mixed them).
#[derive(Clone, Copy)]
struct Reach {
    top: bool,
    bottom: bool,
}

impl Reach {
    fn union(self, other: Reach) -> Reach {
        Reach {
            top: self.top || other.top,
            bottom: self.bottom || other.bottom,
        }
    }
}

/// Merges the halves' SVDs through row k (`alpha` at column k, `beta` at column k + 1).
fn merge<T: Scalar>(
    top: Part<T>,
    alpha: f64,
    beta: f64,
    bottom: Part<T>,
    wide: bool,
    par: Par,
) -> Result<Part<T>> {
    let p1 = top.s.len();
    let p2 = bottom.s.len();
    let p = p1 + 1 + p2;
    let cols = p + usize::from(wide);
    let k = p1;
    // Ũ (p×p) and Ṽ (cols×cols) in the merged problem's order: index 0 is row k (for Ũ)
    // and the upper half's null vector (for Ṽ); 1..=p1 the upper half's components,
    // p1+1..p the lower half's; for a wide block, index p of Ṽ the lower half's null vector.
    let mut ut = Mat::<T>::zeros(p, p);
    let mut vt = Mat::<T>::zeros(cols, cols);
    let mut ureach = vec![
        Reach {
            top: false,
            bottom: false
        };
        p
    ];
    let mut vreach = vec![
        Reach {
            top: false,
            bottom: false
        };
        cols
    ];
    let mut dv = vec![0.0; p];
    let mut z = vec![0.0; cols];
    ut[(k, 0)] = T::from_f64(1.0);
    for c in 0..=p1 {
        // Ṽ index 0 is the upper half's column p1 (its null vector), 1..=p1 its columns 0..p1.
        let src = if c == 0 { p1 } else { c - 1 };
        for r in 0..=p1 {
            vt[(r, c)] = top.v[(r, src)];
        }
        vreach[c] = Reach {
            top: true,
            bottom: false,
        };
        z[c] = alpha * top.v[(p1, src)].to_f64();
    }
    for c in 1..=p1 {
        for r in 0..p1 {
            ut[(r, c)] = top.u[(r, c - 1)];
        }
        ureach[c] = Reach {
            top: true,
            bottom: false,
        };
        dv[c] = top.s[c - 1];
    }
    let bcols = p2 + usize::from(wide);
    for j in 0..bcols {
        let c = p1 + 1 + j;
        for r in 0..bcols {
            vt[(p1 + 1 + r, c)] = bottom.v[(r, j)];
        }
        vreach[c] = Reach {
            top: false,
            bottom: true,
        };
        z[c] = beta * bottom.v[(0, j)].to_f64();
    }
    for j in 0..p2 {
        let c = p1 + 1 + j;
        for r in 0..p2 {
            ut[(p1 + 1 + r, c)] = bottom.u[(r, j)];
        }
        ureach[c] = Reach {
            top: false,
            bottom: true,
        };
        dv[c] = bottom.s[j];
    }
    drop((top, bottom));
    if wide {
        // Column p of M holds only z[p]: rotate it into column 0, leaving a zero column
        // whose right vector spans the null space.
        let r = z[0].hypot(z[p]);
        if r > 0.0 {
            let (c, s) = (z[0] / r, z[p] / r);
            rotate(&mut vt, 0, p, c, s);
            z[0] = r;
            z[p] = 0.0;
            vreach[0] = vreach[0].union(vreach[p]);
            vreach[p] = vreach[0];
        }
    }
    // Scale to the largest entry, as LAPACK does, so that squares neither overflow nor
    // underflow.
    let scale = dv.iter().chain(&z[..p]).fold(0.0f64, |m, x| m.max(x.abs()));
    if scale == 0.0 {
        // Every entry zero: the values are zero and Ũ, Ṽ serve as the vectors.
        return Ok(Part {
            s: vec![0.0; p],
            u: ut,
            v: vt,
        });
    }
    dv.iter_mut().for_each(|x| *x /= scale);
    z.iter_mut().for_each(|x| *x /= scale);

    let tol = 64.0 * f64::EPSILON * dv.iter().chain(&z[..p]).fold(0.0f64, |m, x| m.max(x.abs()));
    if z[0].abs() <= tol {
        z[0] = if z[0] < 0.0 { -tol } else { tol };
    }
    let mut order: Vec<usize> = (1..p).collect();
    order.sort_by(|&a, &b| dv[a].total_cmp(&dv[b]));
    // Deflation: `kept` holds the indices solved through the secular equation (0 first,
    // poles ascending), `passed` those whose component passes through: (index, σ).
    let mut kept = vec![0usize];
    let mut passed: Vec<(usize, f64)> = Vec::new();
    for c in order {
        if z[c].abs() <= tol {
            passed.push((c, dv[c]));
        } else if dv[c] <= tol {
            // A pole at zero, beside d₀ = 0: rotate its z into z₀ (right vectors only);
            // row c of M is then negligible and its value zero.
            let r = z[0].hypot(z[c]);
            let (cs, sn) = (z[0] / r, z[c] / r);
            rotate(&mut vt, 0, c, cs, sn);
            vreach[0] = vreach[0].union(vreach[c]);
            vreach[c] = vreach[0];
            z[0] = r;
            z[c] = 0.0;
            passed.push((c, 0.0));
        } else if kept.len() > 1 && dv[c] - dv[*kept.last().unwrap()] <= tol {
            // Two equal poles: rotate (both sides) to move the earlier one's z into this one.
            let prev = kept.pop().unwrap();
            let r = z[prev].hypot(z[c]);
            let (cs, sn) = (z[c] / r, -z[prev] / r);
            rotate(&mut vt, prev, c, cs, sn);
            rotate(&mut ut, prev, c, cs, sn);
            for reach in [&mut vreach, &mut ureach] {
                let both = reach[prev].union(reach[c]);
                reach[prev] = both;
                reach[c] = both;
            }
            z[prev] = 0.0;
            z[c] = r;
            passed.push((prev, dv[prev]));
            kept.push(c);
        } else {
            kept.push(c);
        }
    }
    let dk: Vec<f64> = kept.iter().map(|&c| dv[c]).collect();
    let zk: Vec<f64> = kept.iter().map(|&c| z[c]).collect();
    let roots = secular_roots(&dk, &zk)?;
    let (x, y) = vectors::<T>(&dk, &zk, &roots);

    // The new vectors: Ũ[:, kept] X and Ṽ[:, kept] Y, each half's rows from the columns
    // that reach them; the passed components' columns as they are.
    let kk = kept.len();
    let mut u = Mat::<T>::zeros(p, p);
    let mut v = Mat::<T>::zeros(cols, cols);
    // Row k of Ũ is e₀ᵀ: row k of U is row 0 of X.
    for i in 0..kk {
        u[(k, i)] = x[(0, i)];
    }
    product(&ut, &kept, &ureach, &x, 0..k, |r| r.top, &mut u, par);
    product(&ut, &kept, &ureach, &x, k + 1..p, |r| r.bottom, &mut u, par);
    product(&vt, &kept, &vreach, &y, 0..k + 1, |r| r.top, &mut v, par);
    product(
        &vt,
        &kept,
        &vreach,
        &y,
        k + 1..cols,
        |r| r.bottom,
        &mut v,
        par,
    );
    let mut s: Vec<f64> = roots.iter().map(|r| r.sigma * scale).collect();
    for (j, &(c, sigma)) in passed.iter().enumerate() {
        u.col_mut(kk + j).copy_from(ut.col(c));
        v.col_mut(kk + j).copy_from(vt.col(c));
        s.push(sigma * scale);
    }
    if wide {
        v.col_mut(p).copy_from(vt.col(p));
    }
    Ok(Part { s, u, v })
}

/// `out[rows, 0..K] = Q[rows, kept∩reach] · W[kept∩reach, :]`: one product over the
/// columns of `Q` that have entries in `rows`.
#[allow(clippy::too_many_arguments)]
fn product<T: Scalar>(
    q: &Mat<T>,
    kept: &[usize],
    reach: &[Reach],
    w: &Mat<T>,
    rows: std::ops::Range<usize>,
    within: impl Fn(Reach) -> bool,
    out: &mut Mat<T>,
    par: Par,
) {
    let picked: Vec<usize> = (0..kept.len())
        .filter(|&i| within(reach[kept[i]]))
        .collect();
    if picked.is_empty() || rows.is_empty() {
        return;
    }
    let len = rows.len();
    let a = Mat::<T>::from_fn(len, picked.len(), |r, j| {
        q[(rows.start + r, kept[picked[j]])]
    });
    let b = Mat::<T>::from_fn(picked.len(), w.ncols(), |j, c| w[(picked[j], c)]);
    matmul(
        out.as_mut().submatrix_mut(rows.start, 0, len, w.ncols()),
        Accum::Replace,
        a.as_ref(),
        b.as_ref(),
        T::from_f64(1.0),
        par,
    );
}

/// Columns a and b of `q` ← (c·a + s·b, −s·a + c·b).
fn rotate<T: Scalar>(q: &mut Mat<T>, a: usize, b: usize, c: f64, s: f64) {
    let (c, s) = (T::from_f64(c), T::from_f64(s));
    for r in 0..q.nrows() {
        let (x, y) = (q[(r, a)], q[(r, b)]);
        q[(r, a)] = c * x + s * y;
        q[(r, b)] = -s * x + c * y;
    }
}

/// A root σ of the secular equation, kept as `σ = d[origin] + tau` so that the
/// differences `σ − dⱼ = (d[origin] − dⱼ) + tau` are accurate.
#[derive(Clone, Copy)]
struct Root {
    origin: usize,
    tau: f64,
    sigma: f64,
}

impl Root {
    /// `dⱼ² − σ²`, accurately.
    #[inline(always)]
    fn gap(&self, d: &[f64], j: usize) -> f64 {
        let o = d[self.origin];
        ((d[j] - o) - self.tau) * ((d[j] + o) + self.tau)
    }
}

/// The roots of `1 + Σ zⱼ²/(dⱼ² − σ²) = 0` for poles `d` ascending from d₀ = 0, all
/// distinct, and every |zⱼ| non-negligible: one in each (dᵢ, dᵢ₊₁) and the last in
/// (dₖ₋₁, √(dₖ₋₁² + ‖z‖²)).
fn secular_roots(d: &[f64], z: &[f64]) -> Result<Vec<Root>> {
    let k = d.len();
    let zz: Vec<f64> = z.iter().map(|x| x * x).collect();
    let norm2: f64 = zz.iter().sum();
    (0..k)
        .into_par_iter()
        .with_min_len(64)
        .map(|i| secular_root(d, &zz, norm2, i))
        .collect()
}

fn secular_root(d: &[f64], zz: &[f64], norm2: f64, i: usize) -> Result<Root> {
    let k = d.len();
    let last = i + 1 == k;
    // The origin is the pole nearer the root, decided at the interval's midpoint; μ is
    // σ² − d[origin]², bracketed by (lo, hi).
    let (origin, mut lo, mut hi) = if last {
        (i, 0.0, norm2)
    } else {
        let half = (d[i + 1] - d[i]) / 2.0;
        let mid = Root {
            origin: i,
            tau: half,
            sigma: d[i] + half,
        };
        let f = 1.0 + (0..k).map(|j| zz[j] / mid.gap(d, j)).sum::<f64>();
        if f >= 0.0 {
            (i, 0.0, half * (2.0 * d[i] + half))
        } else {
            (i + 1, -half * (2.0 * d[i + 1] - half), 0.0)
        }
    };
    let o = d[origin];
    let delta: Vec<f64> = d.iter().map(|&x| (x - o) * (x + o)).collect();
    let mut mu = (lo + hi) / 2.0;
    for _ in 0..MAX_STEPS {
        let (mut psi, mut phi, mut dpsi, mut dphi, mut abs) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for j in 0..k {
            let g = delta[j] - mu;
            let t = zz[j] / g;
            abs += t.abs();
            if j <= i {
                psi += t;
                dpsi += t / g;
            } else {
                phi += t;
                dphi += t / g;
            }
        }
        let f = 1.0 + psi + phi;
        if f.abs() <= 8.0 * f64::EPSILON * (1.0 + abs) * (k as f64).sqrt() || f == 0.0 {
            break;
        }
        if f < 0.0 {
            lo = mu;
        } else {
            hi = mu;
        }
        if hi - lo <= 2.0 * f64::EPSILON * lo.abs().max(hi.abs()) {
            break;
        }
        // The middle way (Li, 1993): a model with the two nearest poles' terms exact,
        // matching f and its derivative at μ.
        let gi = delta[i] - mu;
        let dw = dpsi + dphi;
        let eta = if last {
            let s = gi * gi * dw;
            let c = f - s / gi;
            if c != 0.0 {
                gi + s / c
            } else {
                -f / dw
            }
        } else {
            let gj = delta[i + 1] - mu;
            let c = (f - gi * dpsi - gj * dphi).abs();
            let a = (gi + gj) * f - gi * gj * dw;
            let b = gi * gj * f;
            let disc = (a * a - 4.0 * b * c).abs().sqrt();
            if c == 0.0 {
                b / a
            } else if a <= 0.0 {
                (a - disc) / (2.0 * c)
            } else {
                2.0 * b / (a + disc)
            }
        };
        let eta = if f * eta >= 0.0 { -f / dw } else { eta };
        let next = mu + eta;
        mu = if next > lo && next < hi && next.is_finite() {
            next
        } else {
            (lo + hi) / 2.0
        };
    }
    if !mu.is_finite() {
        return Err(Error::new(
            ErrorKind::Numerical,
            "the bidiagonal divide and conquer found no root",
        ));
    }
    let tau = mu / (o + (o * o + mu).sqrt());
    Ok(Root {
        origin,
        tau,
        sigma: o + tau,
    })
}

/// The left and right singular vectors of M (K×K each, by columns) for its roots, from
/// the z recomputed by Löwner's formula.
fn vectors<T: Scalar>(d: &[f64], z: &[f64], roots: &[Root]) -> (Mat<T>, Mat<T>) {
    let k = d.len();
    let zhat: Vec<f64> = (0..k)
        .into_par_iter()
        .with_min_len(64)
        .map(|j| {
            let mut prod = -roots[k - 1].gap(d, j);
            for i in 0..j {
                prod *= -roots[i].gap(d, j) / ((d[i] - d[j]) * (d[i] + d[j]));
            }
            for i in j..k - 1 {
                prod *= -roots[i].gap(d, j) / ((d[i + 1] - d[j]) * (d[i + 1] + d[j]));
            }
            prod.abs().sqrt().copysign(z[j])
        })
        .collect();
    let mut x = Mat::<T>::zeros(k, k);
    let mut y = Mat::<T>::zeros(k, k);
    let column = |i: usize, mut xc: faer::ColMut<'_, T>, mut yc: faer::ColMut<'_, T>| {
        let root = roots[i];
        let t: Vec<f64> = (0..k).map(|j| zhat[j] / root.gap(d, j)).collect();
        let ny = t.iter().map(|t| t * t).sum::<f64>().sqrt();
        let nx = (1.0 + (1..k).map(|j| (d[j] * t[j]).powi(2)).sum::<f64>()).sqrt();
        xc[0] = T::from_f64(-1.0 / nx);
        for j in 0..k {
            yc[j] = T::from_f64(t[j] / ny);
            if j > 0 {
                xc[j] = T::from_f64(d[j] * t[j] / nx);
            }
        }
    };
    x.par_col_iter_mut()
        .zip(y.par_col_iter_mut())
        .enumerate()
        .with_min_len(64)
        .for_each(|(i, (xc, yc))| column(i, xc, yc));
    (x, y)
}
