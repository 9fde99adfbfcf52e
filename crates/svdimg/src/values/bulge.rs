//! Band to bidiagonal by bulge chasing.
//!
//! The input is an n×n upper band matrix: row `r` holds columns `r..=r + b`. Sweep `s`
//! makes row `s` bidiagonal with one reflector from the right on columns `s+1..=s+b`.
//! That reflector fills the block below the diagonal; a reflector from the left on rows
//! `s+1..=s+b` clears its first column, and fills a triangle above the band in those rows.
//! A reflector from the right on the first of those rows clears its part of that triangle,
//! and so on down the matrix, b rows at a time. Each step clears only the first row or
//! column of the bulge it meets; the rest of each bulge lies exactly where the next sweep's
//! reflectors pass, one row lower, and is cleared by them. So the matrix never holds more
//! than b − 1 diagonals below and 2b − 1 above the main one, and every reflector has length
//! b: the whole reduction costs about 16·n²·b flops on data that stays in cache.

use super::householder;
use crate::Scalar;

/// An n×n matrix with `2b` diagonals above the main one and `b` below, stored by columns:
/// column `c` holds rows `c − 2b ..= c + b`, so that every column segment a reflector
/// touches is contiguous.
pub(crate) struct Band<T> {
    n: usize,
    b: usize,
    ld: usize,
    data: Vec<T>,
}

impl<T: Scalar> Band<T> {
    /// An all-zero n×n band matrix for a band reduction of width `b` (at least 1).
    pub(crate) fn zeros(n: usize, b: usize) -> Self {
        let b = b.max(1);
        let ld = 3 * b + 1;
        Band {
            n,
            b,
            ld,
            data: vec![T::from_f64(0.0); ld * n],
        }
    }

    /// The storage index of entry (r, c), which must lie within the stored diagonals.
    #[inline(always)]
    fn at(&self, r: usize, c: usize) -> usize {
        debug_assert!(r + 2 * self.b >= c && r <= c + self.b && r < self.n && c < self.n);
        c * self.ld + r + 2 * self.b - c
    }

    /// Sets entry (r, c) of the upper band (`r ≤ c ≤ r + b`).
    pub(crate) fn set(&mut self, r: usize, c: usize, x: T) {
        let i = self.at(r, c);
        self.data[i] = x;
    }

    /// The contiguous storage of column `c`, rows `rows` (within the stored diagonals).
    #[inline(always)]
    fn col(&mut self, c: usize, rows: std::ops::RangeInclusive<usize>) -> &mut [T] {
        let (start, end) = (self.at(*rows.start(), c), self.at(*rows.end(), c));
        &mut self.data[start..=end]
    }

    /// Reduces the matrix to upper bidiagonal form by orthogonal transformations and
    /// returns its diagonal and superdiagonal, in f64.
    pub(crate) fn bidiagonalize(mut self) -> (Vec<f64>, Vec<f64>) {
        let (n, b) = (self.n, self.b);
        let mut v = vec![T::from_f64(0.0); b];
        let mut acc = vec![T::from_f64(0.0); 2 * b + 1];
        if b > 1 {
            // The widest SIMD the CPU has, chosen at run time: the plain loops of the
            // steps, all inlined into `with_simd`, vectorise for it.
            pulp::Arch::new().dispatch(Chase {
                band: &mut self,
                v: &mut v,
                acc: &mut acc,
            });
        }
        let d = (0..n).map(|i| self.data[self.at(i, i)].to_f64()).collect();
        let f = (1..n)
            .map(|i| self.data[self.at(i - 1, i)].to_f64())
            .collect();
        (d, f)
    }

    #[inline(always)]
    /// Clears row `row` in columns `c0 + 1 ..= ce` with a reflector on columns `c0..=ce`,
    /// applied to rows `row ..= ce` (the only rows with entries in those columns).
    fn right_step(&mut self, row: usize, c0: usize, ce: usize, v: &mut [T], acc: &mut [T]) {
        let len = ce - c0 + 1;
        if len < 2 {
            return;
        }
        for (j, x) in v[..len].iter_mut().enumerate() {
            *x = self.data[self.at(row, c0 + j)];
        }
        let Some(tau) = householder(&mut v[..len]) else {
            return;
        };
        // v[0] now holds the new entry β; the reflector's vector is (1, v[1..]).
        let beta = v[0];
        v[0] = T::from_f64(1.0);
        let i = self.at(row, c0);
        self.data[i] = beta;
        for j in 1..len {
            let i = self.at(row, c0 + j);
            self.data[i] = T::from_f64(0.0);
        }
        // Rows row+1..=ce: acc = B[rows, cols] v, then B[rows, cols] −= τ acc vᵀ.
        let rows = row + 1..=ce;
        let count = ce - row;
        let acc = &mut acc[..count];
        acc.fill(T::from_f64(0.0));
        for (j, &vj) in v[..len].iter().enumerate() {
            for (a, &x) in acc.iter_mut().zip(self.col(c0 + j, rows.clone()).iter()) {
                *a += vj * x;
            }
        }
        for (j, &vj) in v[..len].iter().enumerate() {
            let scale = tau * vj;
            for (x, &a) in self.col(c0 + j, rows.clone()).iter_mut().zip(acc.iter()) {
                *x -= scale * a;
            }
        }
    }

    #[inline(always)]
    /// Clears column `c0` in rows `c0 + 1 ..= ce` with a reflector on rows `c0..=ce`,
    /// applied to columns `c0 ..= c0 + 2b − 1` (the only columns with entries in those rows).
    fn left_step(&mut self, c0: usize, ce: usize, v: &mut [T]) {
        let len = ce - c0 + 1;
        if len < 2 {
            return;
        }
        v[..len].copy_from_slice(self.col(c0, c0..=ce));
        let Some(tau) = householder(&mut v[..len]) else {
            return;
        };
        let beta = v[0];
        v[0] = T::from_f64(1.0);
        let column = self.col(c0, c0..=ce);
        column[0] = beta;
        column[1..].fill(T::from_f64(0.0));
        let last = (c0 + 2 * self.b - 1).min(self.n - 1);
        for c in c0 + 1..=last {
            let x = self.col(c, c0..=ce);
            let scale = tau * dot(x, &v[..len]);
            for (a, &vj) in x.iter_mut().zip(v[..len].iter()) {
                *a -= scale * vj;
            }
        }
    }
}

/// The sweeps of [`Band::bidiagonalize`], as a SIMD operation.
struct Chase<'a, T> {
    band: &'a mut Band<T>,
    v: &'a mut [T],
    acc: &'a mut [T],
}

impl<T: Scalar> pulp::WithSimd for Chase<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Chase { band, v, acc } = self;
        let (n, b) = (band.n, band.b);
        for s in 0..n.saturating_sub(2) {
            let mut row = s;
            let mut c0 = s + 1;
            while c0 < n {
                let ce = (c0 + b - 1).min(n - 1);
                band.right_step(row, c0, ce, v, acc);
                band.left_step(c0, ce, v);
                row = c0;
                c0 += b;
            }
        }
    }
}

/// `Σ xᵢ yᵢ` with eight running sums, so that the loop vectorises (one sum would wait on
/// each addition in turn).
#[inline(always)]
pub(super) fn dot<T: Scalar>(x: &[T], y: &[T]) -> T {
    let zero = T::from_f64(0.0);
    let mut sums = [zero; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for l in 0..8 {
            sums[l] += a[l] * b[l];
        }
    }
    let mut tail = zero;
    for (&a, &b) in xr.iter().zip(yr) {
        tail += a * b;
    }
    ((sums[0] + sums[4]) + (sums[1] + sums[5])) + ((sums[2] + sums[6]) + (sums[3] + sums[7])) + tail
}
