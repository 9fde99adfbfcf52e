//! The secular equation of a divide and conquer merge ([`super::divide`]): its roots, and
//! the singular vectors they give in closed form.
//!
//! A merged block's singular values are the roots of `1 + Σ zⱼ²/(dⱼ² − σ²) = 0`, one between
//! each pair of poles (the halves' values) and the last beyond them. Each is found by the
//! middle way (Li, 1993) kept inside a bracket, as a shift from the nearer pole so that its
//! distance to every pole is accurate; then `z` is recomputed from the roots (Löwner's
//! formula) and the vectors follow in closed form, orthogonal to working accuracy however
//! close the roots.

use faer::{ColMut, MatMut};
use rayon::prelude::*;

use crate::{Error, ErrorKind, Result, Scalar};

/// Root-finding steps before giving up (bisection alone needs about 60 for f64).
const MAX_STEPS: usize = 200;

/// A root σ of the secular equation, kept as `σ = d[origin] + tau` so that the
/// differences `σ − dⱼ = (d[origin] − dⱼ) + tau` are accurate.
#[derive(Clone, Copy)]
pub(super) struct Root {
    origin: usize,
    tau: f64,
    pub(super) sigma: f64,
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
pub(super) fn secular_roots(d: &[f64], z: &[f64]) -> Result<Vec<Root>> {
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
/// the z recomputed by Löwner's formula, written into `x` and `y` with entry j of each
/// column at row `xrow[j]` and `yrow[j]`.
pub(super) fn vectors<T: Scalar>(
    d: &[f64],
    z: &[f64],
    roots: &[Root],
    xrow: &[usize],
    yrow: &[usize],
    x: MatMut<'_, T>,
    y: MatMut<'_, T>,
) {
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
    let column = |i: usize, mut xc: ColMut<'_, T>, mut yc: ColMut<'_, T>| {
        let root = roots[i];
        let t: Vec<f64> = (0..k).map(|j| zhat[j] / root.gap(d, j)).collect();
        let ny = t.iter().map(|t| t * t).sum::<f64>().sqrt();
        let nx = (1.0 + (1..k).map(|j| (d[j] * t[j]).powi(2)).sum::<f64>()).sqrt();
        xc[xrow[0]] = T::from_f64(-1.0 / nx);
        for j in 0..k {
            yc[yrow[j]] = T::from_f64(t[j] / ny);
            if j > 0 {
                xc[xrow[j]] = T::from_f64(d[j] * t[j] / nx);
            }
        }
    };
    x.par_col_iter_mut()
        .zip(y.par_col_iter_mut())
        .enumerate()
        .with_min_len(64)
        .for_each(|(i, (xc, yc))| column(i, xc, yc));
}
