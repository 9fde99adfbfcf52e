//! The bulge chasing's reflectors gathered into block reflectors, and their product with
//! many columns: the bidiagonal's singular vectors carried back to the band's.
//!
//! Sweep s's step j acts on rows `s + 1 + jb ..= s + jb + b`. Within a sweep the steps
//! touch disjoint rows; step j of a later sweep overlaps step j of an earlier one by all
//! but its shift, and step j + 1 of an earlier one by a row. So, for a group of g ≤ b
//! consecutive sweeps, the group's product (sweep by sweep) equals `B_J ⋯ B₁ B₀` with
//! `B_j = I − V T Vᵀ` the product of the group's step-j reflectors in sweep order: every
//! reflector that overlaps one of `B_j` and comes before it belongs to a `B_j'` with
//! j' > j.
//!
//! A block's `V` spans b + g − 1 rows but each of its g columns holds only the b entries of
//! one reflector, a parallelogram. A general matrix product would spend (b + g − 1)/b times
//! the flops on its zeros and, with inner dimension g, much of its time packing. So the
//! product is written out here. Each task copies a chunk of the vectors' columns into
//! panels of C columns stored by rows (C two SIMD registers wide), and applies every block
//! to them in register tiles of [`TILE`] rows by C columns that visit only the rows (or
//! reflectors) a tile's entries can reach. The plain loops vectorise for the CPU's SIMD,
//! chosen at run time: AVX-512 where the CPU has it ([`super::avx512`]), else AVX2.
//!
//! Measured at 2000×3000 f64 (`bench_svd twostage-f64`, both sides): 0.7–0.85 s, against
//! 1.2–1.5 s for the same blocks as faer matrix products (dense `V`, 16 sweeps, 128
//! columns per task) on the same machine.

use faer::reborrow::ReborrowMut;
use faer::{Mat, MatMut, Par};
use rayon::prelude::*;

use super::bulge::Sequence;
use crate::Scalar;

/// Rows of one register tile (reflectors, in `Vᵀ X`): with two registers per row, 8
/// accumulators, as many as FMA's latency times its throughput needs, and room for the
/// operands in the 16 registers of AVX2. Eight rows spilled and ran ten times slower;
/// three registers per row (24 f64 columns) ran no faster.
const TILE: usize = 4;

/// Columns of the vectors per task. Measured at 2000×3000 f64: 32 and 64 took 0.87–0.93
/// and 0.82–0.89 s, 128, 256 and 512 0.69–0.85 s.
const CHUNK: usize = 128;

/// The reflectors of a [`Sequence`] gathered into blocks `I − V T Vᵀ`, for products with
/// many columns: the reflectors of step j of `group` consecutive sweeps form one block.
pub(crate) struct Blocks<T> {
    /// Per group, first to last: its blocks, step 0 first.
    groups: Vec<Vec<Block<T>>>,
    /// Rows of the vectors the blocks act on.
    n: usize,
}

/// One block reflector `I − V T Vᵀ` acting on rows `first .. first + rows`, stored for
/// [`Block::apply`]: `V` by rows and by columns, `T`'s transpose by rows, each padded with
/// zeros to a multiple of [`TILE`] reflectors (or rows), and where each reflector's and
/// each row's non-zeros lie.
struct Block<T> {
    first: usize,
    rows: usize,
    /// Reflectors, padded to a multiple of TILE.
    width: usize,
    /// `v[i * width + k] = V[i, k]`, rows padded with zeros to a multiple of TILE.
    v: Vec<T>,
    /// `tt[l * width + k] = T[k, l]`.
    tt: Vec<T>,
    /// Per reflector, the rows `[lo, hi)` of its non-zeros.
    reach: Vec<(usize, usize)>,
    /// Per row, the reflectors `[lo, hi)` with a non-zero in it.
    span: Vec<(usize, usize)>,
}

impl<T: Scalar> Blocks<T> {
    pub(crate) fn new(seq: &Sequence<T>, group: usize, n: usize) -> Self {
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
                .map(|members| Block::new(seq, &members))
                .collect();
            groups.push(blocks);
            i = end;
        }
        Blocks { groups, n }
    }

    /// `X ← H₀ H₁ ⋯ X` for the sequence's reflectors, columns of `X` in parallel chunks.
    pub(crate) fn apply(&self, mut x: MatMut<'_, T>, par: Par) {
        debug_assert_eq!(x.nrows(), self.n);
        let apply = |c: MatMut<'_, T>| {
            if let Some(c) = super::avx512::run(self, c) {
                pulp::Arch::new().dispatch(Apply { blocks: self, x: c });
            }
        };
        if par.degree() <= 1 {
            let cols = x.ncols();
            for j in (0..cols).step_by(CHUNK) {
                apply(x.rb_mut().subcols_mut(j, CHUNK.min(cols - j)));
            }
        } else {
            x.par_col_chunks_mut(CHUNK).for_each(apply);
        }
    }
}

impl<T: Scalar> Block<T> {
    /// The block of the reflectors `members` (indices into `seq`, in order of application).
    fn new(seq: &Sequence<T>, members: &[usize]) -> Self {
        let zero = T::from_f64(0.0);
        let b = seq.stride;
        let first = members.iter().map(|&r| seq.starts[r]).min().unwrap();
        let last = members
            .iter()
            .map(|&r| seq.starts[r] + seq.lens[r])
            .max()
            .unwrap();
        let rows = last - first;
        let mut dense = Mat::<T>::zeros(rows, members.len());
        for (c, &r) in members.iter().enumerate() {
            let w = &seq.data[r * b..r * b + seq.lens[r]];
            for (t, &x) in w.iter().enumerate() {
                dense[(seq.starts[r] - first + t, c)] = x;
            }
        }
        let taus: Vec<T> = members.iter().map(|&r| seq.taus[r]).collect();
        let t = super::qr::block_factor(dense.as_ref(), &taus);
        let width = members.len().div_ceil(TILE) * TILE;
        let rows_padded = rows.div_ceil(TILE) * TILE;
        let mut v = vec![zero; rows_padded * width];
        let mut tt = vec![zero; width * width];
        let mut reach = vec![(0, 0); width];
        let mut span = vec![(0, 0); rows_padded];
        for (k, &r) in members.iter().enumerate() {
            let lo = seq.starts[r] - first;
            let hi = lo + seq.lens[r];
            reach[k] = (lo, hi);
            for i in lo..hi {
                v[i * width + k] = dense[(i, k)];
                span[i] = if span[i].0 < span[i].1 {
                    (span[i].0, k + 1)
                } else {
                    (k, k + 1)
                };
            }
            for l in 0..members.len() {
                tt[l * width + k] = t[(k, l)];
            }
        }
        Block {
            first,
            rows,
            width,
            v,
            tt,
            reach,
            span,
        }
    }

    /// `X ← (I − V T Vᵀ) X` on the block's rows of every panel of `panels`: C columns
    /// each, `n` rows by rows (`panel[i * C + l]`). `w` and `tw` hold `width × C` each.
    #[inline(always)]
    fn apply<const C: usize>(&self, panels: &mut [T], n: usize, w: &mut [T], tw: &mut [T]) {
        let width = self.width;
        for panel in panels.chunks_exact_mut(n * C) {
            let x = &mut panel[self.first * C..(self.first + self.rows) * C];
            // W = Vᵀ X: TILE reflectors at a time, over the rows they reach.
            for k0 in (0..width).step_by(TILE) {
                let (lo, hi) = union(&self.reach[k0..k0 + TILE]);
                let acc = accumulate::<T, C>(x, lo..hi, &self.v, (k0, width, 1));
                store::<T, C>(w, k0, &acc);
            }
            // TW = T W: T is upper triangular, so reflector k sees W's rows k and after.
            for k0 in (0..width).step_by(TILE) {
                let acc = accumulate::<T, C>(w, k0..width, &self.tt, (k0, width, 1));
                store::<T, C>(tw, k0, &acc);
            }
            // X −= V TW: TILE rows at a time, over the reflectors that reach them.
            for i0 in (0..self.rows).step_by(TILE) {
                let (lo, hi) = union(&self.span[i0..i0 + TILE]);
                let acc = accumulate::<T, C>(tw, lo..hi, &self.v, (i0 * width, 1, width));
                for (t, a) in acc.iter().enumerate() {
                    let i = i0 + t;
                    if i < self.rows {
                        for (x, &a) in x[i * C..][..C].iter_mut().zip(a) {
                            *x -= a;
                        }
                    }
                }
            }
        }
    }
}

/// The smallest range holding every non-empty range of `ranges` (empty if none is).
#[inline(always)]
fn union(ranges: &[(usize, usize)]) -> (usize, usize) {
    let (mut lo, mut hi) = (usize::MAX, 0);
    for &(a, b) in ranges {
        if a < b {
            lo = lo.min(a);
            hi = hi.max(b);
        }
    }
    if lo > hi {
        (0, 0)
    } else {
        (lo, hi)
    }
}

/// `Σ_{s ∈ range} coef[base + s·step + t·across] · src[s·C ..][..C]` for t < TILE: one
/// register tile of a product, each coefficient broadcast to C columns.
#[inline(always)]
fn accumulate<T: Scalar, const C: usize>(
    src: &[T],
    range: std::ops::Range<usize>,
    coef: &[T],
    (base, step, across): (usize, usize, usize),
) -> [[T; C]; TILE] {
    const { assert!(TILE == 4) };
    let zero = T::from_f64(0.0);
    let mut acc = [[zero; C]; TILE];
    if range.is_empty() {
        return acc;
    }
    let at = |t: usize| {
        coef[base + t * across + range.start * step..]
            .iter()
            .step_by(step)
    };
    let rows = src[range.start * C..range.end * C].chunks_exact(C);
    for ((((row, &c0), &c1), &c2), &c3) in rows.zip(at(0)).zip(at(1)).zip(at(2)).zip(at(3)) {
        let row: &[T; C] = row.try_into().unwrap();
        for (t, c) in [c0, c1, c2, c3].into_iter().enumerate() {
            for l in 0..C {
                acc[t][l] = c.fma(row[l], acc[t][l]);
            }
        }
    }
    acc
}

/// Writes a register tile to rows `k0 .. k0 + TILE` of `out` (C columns, by rows).
#[inline(always)]
fn store<T: Scalar, const C: usize>(out: &mut [T], k0: usize, acc: &[[T; C]; TILE]) {
    out[k0 * C..(k0 + TILE) * C].copy_from_slice(acc.as_flattened());
}

/// [`Blocks::apply`] on one chunk of columns, as a SIMD operation.
struct Apply<'a, 'x, T> {
    blocks: &'a Blocks<T>,
    x: MatMut<'x, T>,
}

impl<T: Scalar> pulp::WithSimd for Apply<'_, '_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Apply { blocks, x } = self;
        // Two 256-bit registers per tile row (AVX-512 is in `super::avx512`).
        if std::mem::size_of::<T>() == 8 {
            blocks.run::<8>(x);
        } else {
            blocks.run::<16>(x);
        }
    }
}

impl<T: Scalar> Blocks<T> {
    /// Every block applied to `x`, copied into panels of C columns and back.
    #[inline(always)]
    pub(super) fn run<const C: usize>(&self, mut x: MatMut<'_, T>) {
        let zero = T::from_f64(0.0);
        let (n, cols) = x.shape();
        let mut panels = vec![zero; n * cols.div_ceil(C) * C];
        for j in 0..cols {
            let panel = &mut panels[(j / C) * n * C..][..n * C];
            for i in 0..n {
                panel[i * C + j % C] = x[(i, j)];
            }
        }
        let widest = self.groups.iter().flatten().map(|b| b.width).max();
        let mut w = vec![zero; widest.unwrap_or(0) * C];
        let mut tw = w.clone();
        for group in self.groups.iter().rev() {
            for block in group {
                block.apply::<C>(&mut panels, n, &mut w, &mut tw);
            }
        }
        for j in 0..cols {
            let panel = &panels[(j / C) * n * C..][..n * C];
            for i in 0..n {
                x[(i, j)] = panel[i * C + j % C];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::bulge::Band;

    /// A reproducible value in [−1, 1) from a counter.
    fn noise(i: u64) -> f64 {
        let x = i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    /// Every tile width the CPU may pick (8, 16, 32 columns), in whatever SIMD this build
    /// runs the test with, against the reflectors applied one at a time.
    fn agree<T: Scalar>(tolerance: f64) {
        for (n, b, group, k) in [
            (60, 8, 8, 37),
            (61, 5, 3, 16),
            (40, 1, 1, 5),
            (70, 16, 16, 130),
        ] {
            let mut band = Band::<T>::zeros(n, b);
            for r in 0..n {
                for c in r..(r + b + 1).min(n) {
                    band.set(r, c, T::from_f64(noise((r * n + c) as u64)));
                }
            }
            let (_, _, kept) = band.bidiagonalize_keeping();
            for seq in [&kept.left, &kept.right] {
                let x = Mat::<T>::from_fn(n, k, |i, j| T::from_f64(noise((i * k + j + 7) as u64)));
                let mut rows: Vec<T> = (0..n * k).map(|i| x[(i / k, i % k)]).collect();
                seq.apply_rows(&mut rows, k);
                let blocks = Blocks::new(seq, group, n);
                let mut got = [x.clone(), x.clone(), x.clone(), x.clone()];
                blocks.run::<8>(got[0].as_mut());
                blocks.run::<16>(got[1].as_mut());
                blocks.run::<32>(got[2].as_mut());
                blocks.apply(got[3].as_mut(), Par::rayon(2));
                for (t, y) in got.iter().enumerate() {
                    let worst = (0..n * k)
                        .map(|i| (y[(i / k, i % k)].to_f64() - rows[i].to_f64()).abs())
                        .fold(0.0, f64::max);
                    assert!(
                        worst <= tolerance,
                        "n {n}, b {b}, group {group}, case {t}: off by {worst:e}"
                    );
                }
            }
        }
    }

    #[test]
    fn blocks_agree_with_the_reflectors_one_at_a_time_f64() {
        agree::<f64>(1e-12);
    }

    #[test]
    fn blocks_agree_with_the_reflectors_one_at_a_time_f32() {
        agree::<f32>(1e-4);
    }
}
