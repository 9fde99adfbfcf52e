//! The leading singular vectors of a bidiagonal matrix, by inverse iteration.
//!
//! For an upper bidiagonal `B` (diagonal d, superdiagonal f), the Golub–Kahan matrix
//! `T`, symmetric tridiagonal of order 2n with a zero diagonal and the off-diagonal
//! `(d₀, f₀, d₁, f₁, …, dₙ₋₁)`, has the eigenvalues ±σᵢ, and the eigenvector of +σᵢ is
//! `(v₀, u₀, v₁, u₁, …)/√2` for the singular pair (uᵢ, vᵢ). Given σᵢ to high relative
//! accuracy (dqds), a few solves with `T − σᵢ I`, each O(n), give the eigenvector: the
//! first k vectors cost O(nk), not the O(n³) of all of them.
//!
//! Vectors whose values lie within [`CLUSTER`]·σ₁ of each other are orthogonalised against
//! each other at every step, as LAPACK's `?stein` does. A vector whose value is tiny next to
//! σ₁ cannot be separated from the eigenvector of −σᵢ this way; [`leading_vectors`] then
//! declines, as it does when its own check of residuals and orthogonality fails, and the
//! caller computes all vectors instead.

use faer::linalg::matmul::matmul;
use faer::{Accum, Par};

use super::bulge::dot;

/// Values closer than this fraction of σ₁ are one cluster (LAPACK's `?stein` uses 10⁻³).
const CLUSTER: f64 = 1e-3;

/// Inverse iteration steps per vector: with the shift at σᵢ to high relative accuracy the
/// first solve already gives the vector to working accuracy; the others polish it.
const STEPS: usize = 3;

/// Below this fraction of σ₁ a value is refused (see the module documentation).
const SMALLEST: f64 = 1e-6;

/// The left and right singular vectors of the upper bidiagonal `(d, f)` for its leading
/// singular values `sigma` (descending, as dqds gives them), as n×k matrices stored by
/// rows (`x[r * k + c]`): `(U, V)`. `None` when a value is too small next to σ₁ or the
/// result fails its check (residual `‖B vᵢ − σᵢ uᵢ‖` and orthogonality, both within
/// `tolerance`, a multiple of ε for the caller's precision).
pub(super) fn leading_vectors(
    d: &[f64],
    f: &[f64],
    sigma: &[f64],
    tolerance: f64,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let n = d.len();
    let k = sigma.len();
    if k == 0 {
        return Some((Vec::new(), Vec::new()));
    }
    let top = sigma[0];
    if top.is_nan() || top <= 0.0 || sigma[k - 1] < SMALLEST * top || k > n {
        return None;
    }
    let off: Vec<f64> = (0..2 * n - 1)
        .map(|i| if i % 2 == 0 { d[i / 2] } else { f[i / 2] })
        .collect();
    let scale = off.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let mut u = vec![0.0; n * k];
    let mut v = vec![0.0; n * k];
    // The eigenvectors found so far in the current cluster (of T, length 2n).
    let mut cluster: Vec<Vec<f64>> = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for (j, &s) in sigma.iter().enumerate() {
        if j == 0 || sigma[j - 1] - s > CLUSTER * top {
            cluster.clear();
        }
        let lu = Lu::factor(&off, s, scale);
        let mut q: Vec<f64> = (0..2 * n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect();
        for _ in 0..STEPS {
            lu.solve(&mut q);
            for p in &cluster {
                let c = dot(&q, p);
                for (a, b) in q.iter_mut().zip(p) {
                    *a -= c * b;
                }
            }
            let norm = q.iter().map(|x| x * x).sum::<f64>().sqrt();
            if !(norm > 0.0 && norm.is_finite()) {
                return None;
            }
            q.iter_mut().for_each(|x| *x /= norm);
        }
        // The halves, each normalised: v from the even entries, u from the odd ones.
        let nv = (0..n).map(|i| q[2 * i].powi(2)).sum::<f64>().sqrt();
        let nu = (0..n).map(|i| q[2 * i + 1].powi(2)).sum::<f64>().sqrt();
        if !(nv > 0.0 && nu > 0.0) {
            return None;
        }
        for i in 0..n {
            v[i * k + j] = q[2 * i] / nv;
            u[i * k + j] = q[2 * i + 1] / nu;
        }
        cluster.push(q);
    }
    check(d, f, sigma, &u, &v, tolerance).then_some((u, v))
}

/// Whether `B vⱼ ≈ σⱼ uⱼ`, `Bᵀ uⱼ ≈ σⱼ vⱼ` (relative to σ₁) and `UᵀU ≈ I ≈ VᵀV`, all within
/// `tolerance`.
fn check(d: &[f64], f: &[f64], sigma: &[f64], u: &[f64], v: &[f64], tolerance: f64) -> bool {
    let (n, k) = (d.len(), sigma.len());
    let top = sigma[0];
    for j in 0..k {
        let (mut r1, mut r2) = (0.0f64, 0.0f64);
        for i in 0..n {
            let next = if i + 1 < n {
                f[i] * v[(i + 1) * k + j]
            } else {
                0.0
            };
            let bv = d[i] * v[i * k + j] + next;
            r1 += (bv - sigma[j] * u[i * k + j]).powi(2);
            let prev = if i > 0 {
                f[i - 1] * u[(i - 1) * k + j]
            } else {
                0.0
            };
            let btu = d[i] * u[i * k + j] + prev;
            r2 += (btu - sigma[j] * v[i * k + j]).powi(2);
        }
        if !(r1.sqrt() <= tolerance * top && r2.sqrt() <= tolerance * top) {
            return false;
        }
    }
    for x in [u, v] {
        let x = faer::MatRef::from_row_major_slice(x, n, k);
        let mut gram = faer::Mat::<f64>::zeros(k, k);
        matmul(
            gram.as_mut(),
            Accum::Replace,
            x.transpose(),
            x,
            1.0,
            Par::rayon(0),
        );
        for a in 0..k {
            for b in 0..k {
                let want = if a == b { 1.0 } else { 0.0 };
                let g = gram[(a, b)];
                if (g - want).abs() > tolerance || g.is_nan() {
                    return false;
                }
            }
        }
    }
    true
}

/// `T − λI = P L U` for the Golub–Kahan matrix `T` (zero diagonal, off-diagonal `off`), by
/// Gaussian elimination with partial pivoting: `U` has two superdiagonals.
struct Lu {
    diag: Vec<f64>,
    up1: Vec<f64>,
    up2: Vec<f64>,
    mult: Vec<f64>,
    swapped: Vec<bool>,
}

impl Lu {
    fn factor(off: &[f64], lambda: f64, scale: f64) -> Self {
        let size = off.len() + 1;
        // A zero pivot (T − λI singular to working precision) becomes this: the solve
        // then returns a huge multiple of the eigenvector, which is what is wanted.
        let tiny = f64::EPSILON * scale.max(f64::MIN_POSITIVE);
        let mut lu = Lu {
            diag: vec![0.0; size],
            up1: vec![0.0; size],
            up2: vec![0.0; size],
            mult: vec![0.0; size],
            swapped: vec![false; size],
        };
        // The current row i holds (p at column i, q at column i + 1).
        let (mut p, mut q) = (-lambda, off.first().copied().unwrap_or(0.0));
        for i in 0..size - 1 {
            // Row i + 1 of T − λI: (c at i, −λ at i + 1, e at i + 2).
            let c = off[i];
            let e = off.get(i + 1).copied().unwrap_or(0.0);
            if p.abs() >= c.abs() {
                let pivot = if p == 0.0 { tiny } else { p };
                let m = c / pivot;
                lu.diag[i] = pivot;
                lu.up1[i] = q;
                lu.mult[i] = m;
                (p, q) = (-lambda - m * q, e);
            } else {
                let m = p / c;
                lu.diag[i] = c;
                lu.up1[i] = -lambda;
                lu.up2[i] = e;
                lu.mult[i] = m;
                lu.swapped[i] = true;
                (p, q) = (q + m * lambda, -m * e);
            }
        }
        lu.diag[size - 1] = if p == 0.0 { tiny } else { p };
        lu
    }

    /// `x ← (T − λI)⁻¹ x`.
    fn solve(&self, x: &mut [f64]) {
        let size = x.len();
        for i in 0..size - 1 {
            if self.swapped[i] {
                x.swap(i, i + 1);
            }
            x[i + 1] -= self.mult[i] * x[i];
        }
        for i in (0..size).rev() {
            let mut s = x[i];
            if i + 1 < size {
                s -= self.up1[i] * x[i + 1];
            }
            if i + 2 < size {
                s -= self.up2[i] * x[i + 2];
            }
            x[i] = s / self.diag[i];
        }
        // Rescale when the solve grew huge, so that the next one stays finite.
        let big = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if big > 1e100 {
            x.iter_mut().for_each(|v| *v /= big);
        }
    }
}
