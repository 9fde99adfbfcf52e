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
    pub(super) n: usize,
    pub(super) b: usize,
    pub(super) ld: usize,
    pub(super) data: Vec<T>,
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
    pub(crate) fn bidiagonalize(self) -> (Vec<f64>, Vec<f64>) {
        self.chase(None)
    }

    /// [`Band::bidiagonalize`], keeping its reflectors: with `B` this band and `Bd` the
    /// bidiagonal, `B = L Bd Rᵀ` where `L` and `R` are the returned sequences' products.
    pub(crate) fn bidiagonalize_keeping(self) -> (Vec<f64>, Vec<f64>, Chased<T>) {
        let mut kept = Chased::new(self.b);
        let (d, f) = self.chase(Some(&mut kept));
        (d, f, kept)
    }

    /// The band width b.
    pub(crate) fn width(&self) -> usize {
        self.b
    }

    fn chase(mut self, kept: Option<&mut Chased<T>>) -> (Vec<f64>, Vec<f64>) {
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
                kept,
            });
        }
        let d = (0..n).map(|i| self.data[self.at(i, i)].to_f64()).collect();
        let f = (1..n)
            .map(|i| self.data[self.at(i - 1, i)].to_f64())
            .collect();
        (d, f)
    }
}

/// Storage laid out as [`Band`]'s, column by column: column `c` holds rows `c − 2b ..= c + b`
/// contiguously. The steps of the chasing work through it, on the whole band or on a window
/// of its columns.
pub(super) trait Columns<T> {
    /// The contiguous storage of column `c`, rows `rows` (within the stored diagonals).
    fn col(&mut self, c: usize, rows: std::ops::RangeInclusive<usize>) -> &mut [T];

    /// Entry (r, c), within the stored diagonals.
    fn entry(&mut self, r: usize, c: usize) -> &mut T;
}

impl<T: Scalar> Columns<T> for Band<T> {
    #[inline(always)]
    fn col(&mut self, c: usize, rows: std::ops::RangeInclusive<usize>) -> &mut [T] {
        Band::col(self, c, rows)
    }

    #[inline(always)]
    fn entry(&mut self, r: usize, c: usize) -> &mut T {
        let i = self.at(r, c);
        &mut self.data[i]
    }
}

/// How many steps sweep `s` of an n×n band of width b takes: one per b columns from s + 1.
#[inline(always)]
pub(super) fn steps(n: usize, b: usize, s: usize) -> usize {
    (n - 1 - s).div_ceil(b)
}

/// The columns step `j` of sweep `s` reads and writes: `c0 ..= c0 + 2b − 1` from
/// `c0 = s + 1 + jb` (and no further than the last column).
#[inline(always)]
pub(super) fn step_columns(n: usize, b: usize, s: usize, j: usize) -> (usize, usize) {
    let c0 = s + 1 + j * b;
    (c0, (c0 + 2 * b - 1).min(n - 1))
}

/// Step `j` of sweep `s` (b > 1): the reflector from the right that clears the bulge's row,
/// then the one from the left that clears its column. It touches only the columns of
/// [`step_columns`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn step<T: Scalar, C: Columns<T>>(
    m: &mut C,
    n: usize,
    b: usize,
    s: usize,
    j: usize,
    v: &mut [T],
    acc: &mut [T],
    kept: Option<&mut Chased<T>>,
) {
    let c0 = s + 1 + j * b;
    let row = if j == 0 { s } else { c0 - b };
    let ce = (c0 + b - 1).min(n - 1);
    let (left, right) = match kept {
        Some(k) => (Some(&mut k.left), Some(&mut k.right)),
        None => (None, None),
    };
    right_step(m, s, row, c0, ce, v, acc, right);
    left_step(m, n, b, s, c0, ce, v, left);
}

/// Turns `v` into the reflector that maps it to `β e₀`, kept in `kept` as sweep `sweep`'s
/// from index `start`: `(τ, β)`, with `v` the reflector's vector `(1, v[1..])`. `None` (v
/// unchanged) when `v` is already a multiple of `e₀`.
#[inline(always)]
fn reflector<T: Scalar>(
    v: &mut [T],
    sweep: usize,
    start: usize,
    kept: Option<&mut Sequence<T>>,
) -> Option<(T, T)> {
    let tau = householder(v)?;
    let beta = v[0];
    v[0] = T::from_f64(1.0);
    if let Some(kept) = kept {
        kept.push(sweep, start, tau, v);
    }
    Some((tau, beta))
}

/// Clears row `row` in columns `c0 + 1 ..= ce` with a reflector on columns `c0..=ce`,
/// applied to rows `row ..= ce` (the only rows with entries in those columns).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn right_step<T: Scalar, C: Columns<T>>(
    m: &mut C,
    sweep: usize,
    row: usize,
    c0: usize,
    ce: usize,
    v: &mut [T],
    acc: &mut [T],
    kept: Option<&mut Sequence<T>>,
) {
    let len = ce - c0 + 1;
    if len < 2 {
        return;
    }
    for (j, x) in v[..len].iter_mut().enumerate() {
        *x = *m.entry(row, c0 + j);
    }
    let Some((tau, beta)) = reflector(&mut v[..len], sweep, c0, kept) else {
        return;
    };
    *m.entry(row, c0) = beta;
    for j in 1..len {
        *m.entry(row, c0 + j) = T::from_f64(0.0);
    }
    // Rows row+1..=ce: acc = B[rows, cols] v, then B[rows, cols] −= τ acc vᵀ.
    let rows = row + 1..=ce;
    let count = ce - row;
    let acc = &mut acc[..count];
    acc.fill(T::from_f64(0.0));
    for (j, &vj) in v[..len].iter().enumerate() {
        for (a, &x) in acc.iter_mut().zip(m.col(c0 + j, rows.clone()).iter()) {
            *a += vj * x;
        }
    }
    for (j, &vj) in v[..len].iter().enumerate() {
        let scale = tau * vj;
        for (x, &a) in m.col(c0 + j, rows.clone()).iter_mut().zip(acc.iter()) {
            *x -= scale * a;
        }
    }
}

/// Clears column `c0` in rows `c0 + 1 ..= ce` with a reflector on rows `c0..=ce`,
/// applied to columns `c0 ..= c0 + 2b − 1` (the only columns with entries in those rows).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn left_step<T: Scalar, C: Columns<T>>(
    m: &mut C,
    n: usize,
    b: usize,
    sweep: usize,
    c0: usize,
    ce: usize,
    v: &mut [T],
    kept: Option<&mut Sequence<T>>,
) {
    let len = ce - c0 + 1;
    if len < 2 {
        return;
    }
    v[..len].copy_from_slice(m.col(c0, c0..=ce));
    let Some((tau, beta)) = reflector(&mut v[..len], sweep, c0, kept) else {
        return;
    };
    let column = m.col(c0, c0..=ce);
    column[0] = beta;
    column[1..].fill(T::from_f64(0.0));
    let last = (c0 + 2 * b - 1).min(n - 1);
    for c in c0 + 1..=last {
        let x = m.col(c, c0..=ce);
        let scale = tau * dot(x, &v[..len]);
        for (a, &vj) in x.iter_mut().zip(v[..len].iter()) {
            *a -= scale * vj;
        }
    }
}

/// The sweeps of [`Band::bidiagonalize`], as a SIMD operation.
struct Chase<'a, T> {
    band: &'a mut Band<T>,
    v: &'a mut [T],
    acc: &'a mut [T],
    kept: Option<&'a mut Chased<T>>,
}

impl<T: Scalar> pulp::WithSimd for Chase<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Chase {
            band,
            v,
            acc,
            mut kept,
        } = self;
        let (n, b) = (band.n, band.b);
        for s in 0..n.saturating_sub(2) {
            for j in 0..steps(n, b, s) {
                step(band, n, b, s, j, v, acc, kept.as_deref_mut());
            }
        }
    }
}

/// The reflectors of one side of the bulge chasing, in the order they were applied.
pub(crate) struct Chased<T> {
    /// Applied from the left (to rows).
    pub(crate) left: Sequence<T>,
    /// Applied from the right (to columns).
    pub(crate) right: Sequence<T>,
}

impl<T: Scalar> Chased<T> {
    /// No reflectors yet, for a band of width `b`.
    pub(super) fn new(b: usize) -> Self {
        Chased {
            left: Sequence::new(b),
            right: Sequence::new(b),
        }
    }

    /// The reflectors of `parts`, one after the other.
    pub(super) fn concat(parts: Vec<Chased<T>>, b: usize) -> Self {
        let mut all = Chased::new(b);
        for part in parts {
            all.left.append(part.left);
            all.right.append(part.right);
        }
        all
    }
}

/// Householder reflectors `Hᵢ = I − τᵢ wᵢ wᵢᵀ`, each acting on `len ≤ b` consecutive
/// indices from `start`, stored with a stride of b (`wᵢ[0] = 1` is stored too).
pub(crate) struct Sequence<T> {
    pub(super) stride: usize,
    pub(super) sweeps: Vec<usize>,
    pub(super) starts: Vec<usize>,
    pub(super) lens: Vec<usize>,
    pub(super) taus: Vec<T>,
    pub(super) data: Vec<T>,
}

impl<T: Scalar> Sequence<T> {
    pub(super) fn new(stride: usize) -> Self {
        Sequence {
            stride,
            sweeps: Vec::new(),
            starts: Vec::new(),
            lens: Vec::new(),
            taus: Vec::new(),
            data: Vec::new(),
        }
    }

    #[inline(always)]
    fn push(&mut self, sweep: usize, start: usize, tau: T, w: &[T]) {
        self.sweeps.push(sweep);
        self.starts.push(start);
        self.lens.push(w.len());
        self.taus.push(tau);
        self.data.extend_from_slice(w);
        self.data
            .resize(self.starts.len() * self.stride, T::from_f64(0.0));
    }

    /// Appends the reflectors of `other` (of the same stride).
    fn append(&mut self, mut other: Self) {
        debug_assert_eq!(self.stride, other.stride);
        self.sweeps.append(&mut other.sweeps);
        self.starts.append(&mut other.starts);
        self.lens.append(&mut other.lens);
        self.taus.append(&mut other.taus);
        self.data.append(&mut other.data);
    }

    /// How many reflectors it holds.
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// `X ← H₀ H₁ ⋯ X` for `X` with `k` columns stored by rows (`x[r * k + c]`): the
    /// reflectors applied last to first, each to the `len` rows it acts on.
    pub(crate) fn apply_rows(&self, x: &mut [T], k: usize) {
        if k == 0 {
            return;
        }
        pulp::Arch::new().dispatch(ApplyRows { seq: self, x, k });
    }
}

struct ApplyRows<'a, T> {
    seq: &'a Sequence<T>,
    x: &'a mut [T],
    k: usize,
}

impl<T: Scalar> pulp::WithSimd for ApplyRows<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let ApplyRows { seq, x, k } = self;
        let zero = T::from_f64(0.0);
        let mut acc = vec![zero; k];
        for i in (0..seq.starts.len()).rev() {
            let (start, len, tau) = (seq.starts[i], seq.lens[i], seq.taus[i]);
            let w = &seq.data[i * seq.stride..i * seq.stride + len];
            let rows = &mut x[start * k..(start + len) * k];
            acc.fill(zero);
            for (row, &wj) in rows.chunks_exact(k).zip(w) {
                for (a, &r) in acc.iter_mut().zip(row) {
                    *a += wj * r;
                }
            }
            for (row, &wj) in rows.chunks_exact_mut(k).zip(w) {
                let scale = tau * wj;
                for (r, &a) in row.iter_mut().zip(&acc) {
                    *r -= scale * a;
                }
            }
        }
    }
}

/// `Σ xᵢ yᵢ` with eight running sums, so that the loop vectorises (one sum would wait on
/// each addition in turn).
#[inline(always)]
pub(crate) fn dot<T: Scalar>(x: &[T], y: &[T]) -> T {
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
