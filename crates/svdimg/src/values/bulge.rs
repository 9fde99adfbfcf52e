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

use faer::reborrow::ReborrowMut;
use faer::Par;
use rayon::prelude::*;

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
    pub(crate) fn bidiagonalize(self) -> (Vec<f64>, Vec<f64>) {
        self.chase(None)
    }

    /// [`Band::bidiagonalize`], keeping its reflectors: with `B` this band and `Bd` the
    /// bidiagonal, `B = L Bd Rᵀ` where `L` and `R` are the returned sequences' products.
    pub(crate) fn bidiagonalize_keeping(self) -> (Vec<f64>, Vec<f64>, Chased<T>) {
        let mut kept = Chased {
            left: Sequence::new(self.b),
            right: Sequence::new(self.b),
        };
        let (d, f) = self.chase(Some(&mut kept));
        (d, f, kept)
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

    #[inline(always)]
    /// Clears row `row` in columns `c0 + 1 ..= ce` with a reflector on columns `c0..=ce`,
    /// applied to rows `row ..= ce` (the only rows with entries in those columns).
    #[allow(clippy::too_many_arguments)]
    fn right_step(
        &mut self,
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
            *x = self.data[self.at(row, c0 + j)];
        }
        let Some(tau) = householder(&mut v[..len]) else {
            return;
        };
        // v[0] now holds the new entry β; the reflector's vector is (1, v[1..]).
        let beta = v[0];
        v[0] = T::from_f64(1.0);
        if let Some(kept) = kept {
            kept.push(sweep, c0, tau, &v[..len]);
        }
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
    fn left_step(
        &mut self,
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
        v[..len].copy_from_slice(self.col(c0, c0..=ce));
        let Some(tau) = householder(&mut v[..len]) else {
            return;
        };
        let beta = v[0];
        v[0] = T::from_f64(1.0);
        if let Some(kept) = kept {
            kept.push(sweep, c0, tau, &v[..len]);
        }
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
            let mut row = s;
            let mut c0 = s + 1;
            while c0 < n {
                let ce = (c0 + b - 1).min(n - 1);
                band.right_step(s, row, c0, ce, v, acc, kept.as_mut().map(|k| &mut k.right));
                band.left_step(s, c0, ce, v, kept.as_mut().map(|k| &mut k.left));
                row = c0;
                c0 += b;
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

/// Householder reflectors `Hᵢ = I − τᵢ wᵢ wᵢᵀ`, each acting on `len ≤ b` consecutive
/// indices from `start`, stored with a stride of b (`wᵢ[0] = 1` is stored too).
pub(crate) struct Sequence<T> {
    stride: usize,
    sweeps: Vec<usize>,
    starts: Vec<usize>,
    lens: Vec<usize>,
    taus: Vec<T>,
    data: Vec<T>,
}

impl<T: Scalar> Sequence<T> {
    fn new(stride: usize) -> Self {
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

    /// `X ← H₀ H₁ ⋯ X` for `X` with `k` columns stored by rows (`x[r * k + c]`): the
    /// reflectors applied last to first, each to the `len` rows it acts on.
    pub(crate) fn apply_rows(&self, x: &mut [T], k: usize) {
        if k == 0 {
            return;
        }
        pulp::Arch::new().dispatch(ApplyRows { seq: self, x, k });
    }
}

/// The reflectors of a [`Sequence`] gathered into blocks `I − V T Vᵀ`, for products with
/// many columns: the reflectors of step j of `group` consecutive sweeps form one block.
///
/// Sweep s's step j acts on rows `s + 1 + jb ..= s + jb + b`. Within a sweep the steps
/// touch disjoint rows; step j of a later sweep overlaps step j of an earlier one by all
/// but its shift, and step j + 1 of an earlier one by a row. So, for group ≤ b, the
/// group's product (sweep by sweep) equals `B_J ⋯ B₁ B₀` with `B_j` the product of the
/// group's step-j reflectors in sweep order: every reflector that overlaps one of `B_j`
/// and comes before it belongs to a `B_j'` with j' > j.
pub(crate) struct Blocks<T> {
    /// Per group, first to last: its blocks, step 0 first, as (first row, V, T).
    groups: Vec<Vec<Block<T>>>,
}

/// One block reflector `I − V T Vᵀ` acting from row `first`: (first, V, T).
type Block<T> = (usize, faer::Mat<T>, faer::Mat<T>);

impl<T: Scalar> Blocks<T> {
    pub(crate) fn new(seq: &Sequence<T>, group: usize) -> Self {
        let b = seq.stride;
        let group = group.clamp(1, b);
        let count = seq.starts.len();
        let mut groups = Vec::new();
        let mut i = 0;
        while i < count {
            let s0 = seq.sweeps[i];
            let mut end = i;
            while end < count && seq.sweeps[end] < s0 + group {
                end += 1;
            }
            // Members of each step, in sweep order.
            let mut steps: Vec<Vec<usize>> = Vec::new();
            for r in i..end {
                let j = (seq.starts[r] - seq.sweeps[r] - 1) / b;
                if steps.len() <= j {
                    steps.resize(j + 1, Vec::new());
                }
                steps[j].push(r);
            }
            let blocks = steps
                .into_iter()
                .filter(|m| !m.is_empty())
                .map(|members| {
                    let first = members.iter().map(|&r| seq.starts[r]).min().unwrap();
                    let last = members
                        .iter()
                        .map(|&r| seq.starts[r] + seq.lens[r])
                        .max()
                        .unwrap();
                    let mut v = faer::Mat::<T>::zeros(last - first, members.len());
                    for (c, &r) in members.iter().enumerate() {
                        let w = &seq.data[r * b..r * b + seq.lens[r]];
                        for (t, &x) in w.iter().enumerate() {
                            v[(seq.starts[r] - first + t, c)] = x;
                        }
                    }
                    let taus: Vec<T> = members.iter().map(|&r| seq.taus[r]).collect();
                    let t = super::reduce::block_factor(v.as_ref(), &taus);
                    (first, v, t)
                })
                .collect();
            groups.push(blocks);
            i = end;
        }
        Blocks { groups }
    }

    /// `X ← H₀ H₁ ⋯ X` for the sequence's reflectors, columns of `X` in parallel chunks.
    pub(crate) fn apply(&self, x: faer::MatMut<'_, T>, par: Par) {
        let threads = par.degree().max(1);
        // Columns per task: measured at 2000×3000, 128 beat 32 and 64 (by 10–25%) and
        // matched 256 and 1000.
        let chunk = 128;
        let apply = |mut c: faer::MatMut<'_, T>| {
            for blocks in self.groups.iter().rev() {
                for (first, v, t) in blocks {
                    super::reduce::apply_block(
                        v.as_ref(),
                        t.as_ref(),
                        c.rb_mut().subrows_mut(*first, v.nrows()),
                        Par::Seq,
                    );
                }
            }
        };
        if threads == 1 {
            apply(x);
        } else {
            x.par_col_chunks_mut(chunk).for_each(apply);
        }
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
