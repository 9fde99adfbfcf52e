//! The left factors of a small tile (σ and u, no v) from the eigendecomposition of its Gram
//! matrix `A Aᵀ`, in f64.
//!
//! The quantiser refits v, so only u is needed. For tiles of about 32 rows a solver written
//! for that size takes about half the time of faer's SVD (35-65 against 85-125 µs for a
//! 32×32 tile of a photo, on one core; at 64 rows faer's is faster): Householder reduction to
//! tridiagonal form, then the implicit symmetric QR algorithm with Wilkinson shifts, both
//! keeping the eigenvectors as rows so that every update runs over contiguous memory.
//!
//! Accuracy: σᵢ² has an absolute error near 10⁻¹⁶ σ₁² (σᵢ to about 10⁻⁸ σ₁ at worst), far
//! below the floor under which the encoder drops a tile's components.

use super::qr::{self, Qr};
use crate::Result;

/// One tile for [`left_factors`]: h×w, row-major.
#[derive(Clone, Copy)]
pub(super) struct Tile<'a> {
    pub a: &'a [f32],
    pub h: usize,
    pub w: usize,
}

/// Per tile, σ (descending, min(h, w) of them) and u for the leading σ ≥ `limit` (one
/// vector of length h after another). Each u has the SVD's sign convention: its largest
/// entry is positive.
///
/// The vectors cost most of the work when all are formed (the QR steps' rotations applied to
/// every row of an n×n matrix), so only those asked for are: the rotations are logged and
/// replayed backwards on the wanted unit vectors alone, then the Householder reflections.
/// A tile of a photo keeps a few of its 32 components at usual targets. The tiles' QR steps
/// run side by side (see [`super::qr`]): give several tiles at once.
pub(super) fn left_factors(tiles: &[Tile<'_>], limit: f32) -> Vec<Result<(Vec<f32>, Vec<f32>)>> {
    // The widest SIMD the CPU has (AVX2 and FMA on most x86-64), chosen at run time.
    pulp::Arch::new().dispatch(LeftFactors { tiles, limit })
}

/// [`left_factors`] as an operation under [`pulp`]'s dispatch. A struct rather than a
/// closure: a closure's call was compiled apart from the SIMD context, without its
/// instructions (measured: SSE2 code in the profile of `compress`), which a struct's
/// `#[inline(always)]` method avoids. What runs under it must be inlined into it: plain
/// loops and `#[inline(always)]` functions.
struct LeftFactors<'a> {
    tiles: &'a [Tile<'a>],
    limit: f32,
}

impl pulp::WithSimd for LeftFactors<'_> {
    type Output = Vec<Result<(Vec<f32>, Vec<f32>)>>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Self::Output {
        // Plain loops: iterator adapters' closures were compiled apart, without the
        // features, as the closure above was.
        let mut grams = Vec::with_capacity(self.tiles.len());
        for t in self.tiles {
            assert_eq!(t.a.len(), t.h * t.w);
            let mut rows = Vec::with_capacity(t.a.len());
            for &x in t.a {
                rows.push(f64::from(x));
            }
            grams.push((gram(&rows, t.h, t.w), t.h));
        }
        let mut out = Vec::with_capacity(self.tiles.len());
        for (eigen, t) in Eigen::many(grams, self.limit.is_finite())
            .into_iter()
            .zip(self.tiles)
        {
            out.push(match eigen {
                Ok(eigen) => Ok(leading(&eigen, t.h.min(t.w), self.limit)),
                Err(e) => Err(e),
            });
        }
        out
    }
}

/// The `r` largest σ of a tile from its Gram matrix's eigenvalues, and u for those at least
/// `limit`.
#[inline(always)]
fn leading(eigen: &Eigen, r: usize, limit: f32) -> (Vec<f32>, Vec<f32>) {
    let h = eigen.n;
    let order = eigen.descending();
    let sigma: Vec<f32> = order[..r]
        .iter()
        .map(|&j| eigen.values[j].max(0.0).sqrt() as f32)
        .collect();
    let k = sigma.iter().take_while(|&&s| s >= limit).count();
    let vectors = eigen.vectors(&order[..k]);
    let mut u = Vec::with_capacity(k * h);
    for row in vectors.chunks_exact(h.max(1)).take(k) {
        let (mut best, mut sign) = (-1.0, 1.0);
        for &x in row {
            if x.abs() > best {
                (best, sign) = (x.abs(), x.signum());
            }
        }
        u.extend(row.iter().map(|&x| (sign * x) as f32));
    }
    (sigma, u)
}

/// `A Aᵀ` of the h×w row-major `a`, both triangles.
#[inline(always)]
fn gram(a: &[f64], h: usize, w: usize) -> Vec<f64> {
    let mut g = vec![0.0; h * h];
    for i in 0..h {
        for j in 0..=i {
            let v = crate::values::dot(&a[i * w..(i + 1) * w], &a[j * w..(j + 1) * w]);
            g[i * h + j] = v;
            g[j * h + i] = v;
        }
    }
    g
}

/// The eigenvalues (unordered) and eigenvectors (row j for value j) of the symmetric n×n
/// matrix `a` (row-major, both triangles).
#[cfg(test)]
pub(super) fn symmetric_eigen(a: Vec<f64>, n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    let eigen = Eigen::many(vec![(a, n)], true).remove(0)?;
    let all: Vec<usize> = (0..n).collect();
    let vectors = eigen.vectors(&all);
    Ok((eigen.values, vectors))
}

/// A symmetric matrix diagonalised: its eigenvalues, with what forms any of its
/// eigenvectors afterwards (the reflections and the logged rotations).
struct Eigen {
    n: usize,
    values: Vec<f64>,
    /// The reduced matrix: column k below the subdiagonal holds reflection k's vector.
    reflectors: Vec<f64>,
    betas: Vec<f64>,
    /// Every rotation of the QR steps, in order: the row pair (k, k+1), c and s.
    rotations: Vec<(usize, f64, f64)>,
}

impl Eigen {
    /// Diagonalises each symmetric n×n matrix (row-major, both triangles); the rotations
    /// are kept only when `vectors` is set.
    #[inline(always)]
    fn many(matrices: Vec<(Vec<f64>, usize)>, vectors: bool) -> Vec<Result<Eigen>> {
        let mut reduced = Vec::with_capacity(matrices.len());
        let mut qrs = Vec::with_capacity(matrices.len());
        for (mut a, n) in matrices {
            let (d, e, betas) = tridiagonalize(&mut a, n);
            qrs.push(Qr::new(d, e, vectors));
            reduced.push((a, betas, n));
        }
        qr::diagonalize(&mut qrs);
        qrs.into_iter()
            .zip(reduced)
            .map(|(qr, (reflectors, betas, n))| {
                qr.result()?;
                Ok(Eigen {
                    n,
                    values: qr.d,
                    reflectors,
                    betas,
                    rotations: qr.log.unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The positions of the values, largest first.
    fn descending(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.n).collect();
        order.sort_by(|&i, &j| self.values[j].total_cmp(&self.values[i]));
        order
    }

    /// The eigenvectors of the values at `which`, one row of n after another.
    ///
    /// The eigenvector matrix is `W = R_N ⋯ R_1 Qᵀ` (rows), so row j is `e_jᵀ R_N ⋯ R_1 Qᵀ`:
    /// the rotations are applied transposed, last first, to the unit vectors, and then the
    /// reflections, last first. The wanted vectors are the lanes of one n×L matrix (L the
    /// count rounded up to 4): each rotation updates two of its rows, all vectors at once, so
    /// that the vectors' chains of dependent rotations run side by side.
    #[inline(always)]
    fn vectors(&self, which: &[usize]) -> Vec<f64> {
        let n = self.n;
        let lanes = which.len().next_multiple_of(4);
        if lanes == 0 {
            return Vec::new();
        }
        let mut x = vec![0.0; n * lanes];
        for (j, &i) in which.iter().enumerate() {
            x[i * lanes + j] = 1.0;
        }
        for &(r, c, s) in self.rotations.iter().rev() {
            let (top, bottom) = x[r * lanes..(r + 2) * lanes].split_at_mut(lanes);
            for (a, b) in top.iter_mut().zip(bottom.iter_mut()) {
                (*a, *b) = (c * *a - s * *b, s * *a + c * *b);
            }
        }
        let mut dots = vec![0.0; lanes];
        for col in (0..n.saturating_sub(1)).rev() {
            let beta = self.betas[col];
            if beta == 0.0 {
                continue;
            }
            dots.iter_mut().for_each(|d| *d = 0.0);
            for (i, row) in x.chunks_exact(lanes).enumerate().skip(col + 1) {
                let v = self.reflectors[i * n + col];
                dots.iter_mut().zip(row).for_each(|(d, &r)| *d += v * r);
            }
            for (i, row) in x.chunks_exact_mut(lanes).enumerate().skip(col + 1) {
                let c = beta * self.reflectors[i * n + col];
                row.iter_mut().zip(&dots).for_each(|(r, &d)| *r -= c * d);
            }
        }
        // Columns to rows.
        let mut rows = vec![0.0; which.len() * n];
        for (j, row) in rows.chunks_exact_mut(n.max(1)).enumerate() {
            for (i, r) in row.iter_mut().enumerate() {
                *r = x[i * lanes + j];
            }
        }
        rows
    }
}

/// Reduces `a` to tridiagonal form `T = Qᵀ A Q` by Householder reflections `I − β v vᵀ`:
/// returns the diagonal, the off-diagonal and the β. Reflection k's v (acting on rows
/// k+1..) is left in column k of `a` below the subdiagonal.
#[inline(always)]
fn tridiagonalize(a: &mut [f64], n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n.saturating_sub(1)];
    let mut betas = vec![0.0; n.saturating_sub(1)];
    let mut v = vec![0.0; n];
    let mut p = vec![0.0; n];
    for k in 0..n.saturating_sub(1) {
        d[k] = a[k * n + k];
        let m = n - k - 1;
        // x = A[k+1.., k], reflected onto α e₁ by H = I − β v vᵀ with v = x − α e₁.
        let x0 = a[(k + 1) * n + k];
        let rest: f64 = (k + 2..n).map(|i| a[i * n + k].powi(2)).sum();
        if rest == 0.0 {
            e[k] = x0;
            continue;
        }
        let norm = (x0 * x0 + rest).sqrt();
        let alpha = if x0 >= 0.0 { -norm } else { norm };
        e[k] = alpha;
        let v = &mut v[..m];
        v[0] = x0 - alpha;
        a[(k + 1) * n + k] = v[0];
        for (i, vi) in v.iter_mut().enumerate().skip(1) {
            *vi = a[(k + 1 + i) * n + k];
        }
        let beta = 2.0 / (v[0] * v[0] + rest);
        betas[k] = beta;
        // S = A[k+1.., k+1..] becomes H S H = S − v wᵀ − w vᵀ, with p = β S v and
        // w = p − (β/2)(pᵀv) v.
        let p = &mut p[..m];
        for (i, pi) in p.iter_mut().enumerate() {
            let row = &a[(k + 1 + i) * n + k + 1..(k + 2 + i) * n];
            *pi = beta * crate::values::dot(row, v);
        }
        let half = 0.5 * beta * crate::values::dot(p, v);
        p.iter_mut()
            .zip(v.iter())
            .for_each(|(p, &v)| *p -= half * v);
        for i in 0..m {
            let (vi, wi) = (v[i], p[i]);
            let row = &mut a[(k + 1 + i) * n + k + 1..(k + 2 + i) * n];
            for ((x, &vj), &wj) in row.iter_mut().zip(v.iter()).zip(p.iter()) {
                *x -= vi * wj + wi * vj;
            }
        }
    }
    if n > 0 {
        d[n - 1] = a[(n - 1) * n + n - 1];
    }
    (d, e, betas)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reproducible pseudo-random sequence in [−1, 1).
    fn noise(seed: u64, len: usize) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect()
    }

    /// max |A − Wᵀ Λ W| / ‖A‖ and max |W Wᵀ − I|.
    fn errors(a: &[f64], n: usize) -> (f64, f64) {
        let (values, w) = symmetric_eigen(a.to_vec(), n).unwrap();
        let scale = a
            .iter()
            .fold(0.0f64, |m, x| m.max(x.abs()))
            .max(f64::MIN_POSITIVE);
        let (mut back, mut orth) = (0.0f64, 0.0f64);
        for i in 0..n {
            for j in 0..n {
                let rebuilt: f64 = (0..n)
                    .map(|k| w[k * n + i] * values[k] * w[k * n + j])
                    .sum();
                back = back.max((rebuilt - a[i * n + j]).abs() / scale);
                let gram: f64 = (0..n).map(|k| w[i * n + k] * w[j * n + k]).sum();
                orth = orth.max((gram - f64::from(u8::from(i == j))).abs());
            }
        }
        (back, orth)
    }

    #[test]
    fn symmetric_eigen_rebuilds_random_graded_and_degenerate_matrices() {
        for n in [1, 2, 3, 7, 32, 33, 64] {
            let x = noise(n as u64, n * n);
            let random: Vec<f64> = (0..n * n)
                .map(|k| x[(k / n) * n + k % n] + x[(k % n) * n + k / n])
                .collect();
            // Graded over 12 decades, an exact repeat, and rank one.
            let graded: Vec<f64> = (0..n * n)
                .map(|k| {
                    if k / n == k % n {
                        10f64.powi(-((12 * (k / n)) as i32) / n.max(1) as i32)
                    } else {
                        0.0
                    }
                })
                .collect();
            let repeated: Vec<f64> = (0..n * n)
                .map(|k| if k / n == k % n { 2.0 } else { 0.0 })
                .collect();
            let rank_one: Vec<f64> = (0..n * n).map(|k| x[k / n] * x[k % n]).collect();
            for (name, a) in [
                ("random", random),
                ("graded", graded),
                ("repeated", repeated),
                ("rank one", rank_one),
            ] {
                let (back, orth) = errors(&a, n);
                let bound = 30.0 * f64::EPSILON * n as f64;
                assert!(
                    back <= bound && orth <= bound,
                    "{name} n={n}: {back:e} {orth:e}"
                );
            }
        }
    }

    /// [`left_factors`] of one tile.
    fn one(a: &[f32], h: usize, w: usize, limit: f32) -> (Vec<f32>, Vec<f32>) {
        left_factors(&[Tile { a, h, w }], limit).remove(0).unwrap()
    }

    #[test]
    fn tiles_factored_together_come_out_as_alone_to_the_bit() {
        // Tiles of different shapes and spectra, so that their QR steps end apart.
        let shapes = [
            (32, 32),
            (31, 33),
            (16, 16),
            (32, 30),
            (1, 5),
            (33, 31),
            (8, 64),
        ];
        let data: Vec<Vec<f32>> = shapes
            .iter()
            .enumerate()
            .map(|(i, &(h, w))| {
                noise(i as u64 + 3, h * w)
                    .iter()
                    .enumerate()
                    .map(|(k, &x)| (x * 0.8f64.powi((k % w) as i32 * (i as i32 % 3))) as f32)
                    .collect()
            })
            .collect();
        let tiles: Vec<Tile> = data
            .iter()
            .zip(shapes)
            .map(|(a, (h, w))| Tile { a, h, w })
            .collect();
        for limit in [0.0, 0.05, f32::INFINITY] {
            let together = left_factors(&tiles, limit);
            for (t, got) in tiles.iter().zip(together) {
                let alone = one(t.a, t.h, t.w, limit);
                assert_eq!(got.unwrap(), alone, "{}x{} limit {limit}", t.h, t.w);
            }
        }
    }

    #[test]
    fn left_factors_agree_with_the_svd() {
        for (h, w) in [
            (32, 32),
            (33, 31),
            (31, 33),
            (8, 64),
            (64, 8),
            (1, 5),
            (5, 1),
        ] {
            let a: Vec<f32> = noise((h * 100 + w) as u64, h * w)
                .iter()
                .map(|&x| x as f32)
                .collect();
            let (sigma, u) = one(&a, h, w, 0.0);
            let f = crate::Factors::compute_with(
                faer::MatRef::from_row_major_slice(&a, h, w),
                faer::Par::Seq,
            )
            .unwrap();
            assert_eq!(sigma.len(), h.min(w));
            for (i, (&s, &t)) in sigma.iter().zip(f.singular_values()).enumerate() {
                assert!(
                    (s - t).abs() <= 1e-5 * f.singular_values()[0],
                    "{h}x{w} σ{i}: {s} {t}"
                );
                // Vectors of well separated values agree, signs included.
                let apart =
                    |j: usize| j >= sigma.len() || (f.singular_values()[j] - t).abs() > 1e-2;
                if (i == 0 || apart(i - 1)) && apart(i + 1) {
                    let col = f.u().col(i);
                    let diff = (0..h)
                        .map(|r| (u[i * h + r] - col[r]).abs())
                        .fold(0.0f32, f32::max);
                    assert!(diff < 1e-4, "{h}x{w} u{i}: {diff}");
                }
            }
        }
    }

    #[test]
    fn a_limit_forms_the_leading_vectors_only_and_the_same_ones() {
        let (h, w) = (32, 30);
        // Graded columns: σ over about four decades.
        let a: Vec<f32> = noise(7, h * w)
            .iter()
            .enumerate()
            .map(|(k, &x)| (x * 0.7f64.powi((k % w) as i32)) as f32)
            .collect();
        let (all_s, all_u) = one(&a, h, w, 0.0);
        assert_eq!(all_u.len(), all_s.len() * h);
        for limit in [
            f32::INFINITY,
            all_s[0] * 1.01,
            all_s[3],
            all_s[10] * 0.999,
            1e-30,
        ] {
            let (s, u) = one(&a, h, w, limit);
            assert_eq!(s, all_s, "the values do not depend on the limit");
            let k = s.iter().filter(|&&s| s >= limit).count();
            assert_eq!(u.len(), k * h, "limit {limit}");
            let diff = u
                .iter()
                .zip(&all_u)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(diff < 1e-6, "limit {limit}: {diff}");
        }
    }
}
