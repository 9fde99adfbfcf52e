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
//! one reflector, a parallelogram, and its inner dimension g is small: a general matrix
//! product would spend much of its time packing. So the product is written out here. Each
//! task copies a chunk of the vectors' columns into panels of C columns stored by rows, and
//! applies every block to each panel in two passes over the block's rows:
//! - `W = Vᵀ X`, 8 of the block's 16 reflector slots at a time, over the rows those
//!   reflectors reach: each row of `X` is read once and meets 8 coefficients, into sums
//!   that stay in registers;
//! - `X −= (V T) W` with `V T` formed when the block is, 8 rows at a time: each slot's row
//!   of `W` meets 8 coefficients. Folding `T` into `V` spends the flops of `T W` on the
//!   zeros of `V T`'s first rows instead of on a third, short pass.
//!
//! The blocks are built while the bulge chasing runs ([`chase_into_blocks`]): the thread
//! that finishes chasing a group of sweeps builds the group's blocks while the other chases
//! on.
//!
//! The kernel is written with AVX-512 intrinsics where the CPU has them ([`super::avx512`];
//! C = two registers), else as plain loops that vectorise for AVX2 (C = one register).
//! Measured against the previous kernel (register tiles of 4 reflectors, a pass for `T W`):
//! - `bench_svd twostage-f64` at 2000×3000, one thread each, the two builds at once on the
//!   two cores: chase back (both sides) 1.31–1.62 s against 1.73–2.73 s;
//! - `scripts/ab_stages.py`, both threads: 0.55 / 0.75 s (min / median of 5) against
//!   0.76 / 0.99 s at 2000×3000, 4.00 / 4.81 s against 5.40 / 6.09 s at 4000×6000;
//! - the plain loops under AVX2, one thread, one side at n = 2000: 0.83–1.03 s against
//!   1.18–2.16 s.

use faer::reborrow::ReborrowMut;
use faer::{MatMut, Par};
use rayon::prelude::*;

use super::bulge::{Band, Chased, Sequence};
use crate::Scalar;

/// Reflectors per block: one per sweep of a group, each in its own slot. The kernel holds a
/// block's `W = Vᵀ X` in 16 registers (one per slot), so a block's product with a panel is
/// two long loops, not one short loop per tile of reflectors.
pub(super) const SLOTS: usize = 16;

/// Rows of `X` updated together in `X −= (V T) W`: 8 independent sums, as many as FMA's
/// latency times its throughput needs, beside the 16 registers of `W`.
pub(super) const ROWS: usize = 8;

/// Columns of the vectors per task (2 MB of panels at n = 2000). Measured on one core at
/// n = 4000, b = 48: 64 columns 0.91–1.29 s, 128 0.75–1.0 s, 256 0.76–0.88 s.
const CHUNK: usize = 128;

/// The reflectors of a [`Sequence`] gathered into blocks `I − V T Vᵀ`, for products with
/// many columns: the reflectors of step j of `group` consecutive sweeps form one block.
pub(crate) struct Blocks<T> {
    /// In order of application.
    blocks: Vec<Block<T>>,
    /// Rows of the vectors the blocks act on.
    n: usize,
}

/// One block reflector `I − V T Vᵀ` acting on rows `first .. first + rows`, its reflector
/// in slot k starting at row `first + k`. Stored by rows for [`Block::apply`], [`SLOTS`]
/// entries a row (zero where a slot's reflector has no entry), rows padded with zeros to a
/// multiple of [`ROWS`]: `V` and `−V T`.
pub(super) struct Block<T> {
    pub(super) first: usize,
    pub(super) rows: usize,
    /// `v[i * SLOTS + k] = V[i, k]`.
    pub(super) v: Vec<T>,
    /// `vt[i * SLOTS + k] = −(V T)[i, k]`.
    pub(super) vt: Vec<T>,
    /// Per [`ROWS`] slots, the rows `[lo, hi)` of `V` with a non-zero in them.
    pub(super) reach: [(usize, usize); SLOTS / ROWS],
}

impl<T: Scalar> Blocks<T> {
    /// The blocks of every reflector of `seq`, `group` consecutive sweeps to a block
    /// (clamped to `1..=min(b, SLOTS)`: the grouping needs g ≤ b).
    pub(crate) fn new(seq: &Sequence<T>, group: usize, n: usize) -> Self {
        let group = window(group, seq.stride);
        let mut groups = Vec::new();
        let mut i = 0;
        while i < seq.len() {
            let at = seq.sweeps[i] / group;
            let mut end = i;
            while end < seq.len() && seq.sweeps[end] / group == at {
                end += 1;
            }
            groups.push(group_blocks(seq, i..end));
            i = end;
        }
        Blocks::from_groups(groups, n)
    }

    /// The blocks of groups of sweeps given in the order they were chased.
    fn from_groups(groups: Vec<Vec<Block<T>>>, n: usize) -> Self {
        // The group of the last sweeps is applied first.
        let blocks = groups.into_iter().rev().flatten().collect();
        Blocks { blocks, n }
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

/// Sweeps per group as [`Blocks::new`] clamps them for band width `b`.
fn window(group: usize, b: usize) -> usize {
    group.clamp(1, b.min(SLOTS))
}

/// The blocks of reflectors `range` of `seq`, all from one group of consecutive sweeps, in
/// order of application: step j's block(s) before step j + 1's.
fn group_blocks<T: Scalar>(seq: &Sequence<T>, range: std::ops::Range<usize>) -> Vec<Block<T>> {
    // The widest SIMD the CPU has, for the loops of `Block::new` inlined here.
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || group_blocks_inline(seq, range),
    )
}

#[inline(always)]
fn group_blocks_inline<T: Scalar>(
    seq: &Sequence<T>,
    range: std::ops::Range<usize>,
) -> Vec<Block<T>> {
    let b = seq.stride;
    // Members of each step, in sweep order.
    let mut steps: Vec<Vec<usize>> = Vec::new();
    for r in range {
        let j = (seq.starts[r] - seq.sweeps[r] - 1) / b;
        if steps.len() <= j {
            steps.resize(j + 1, Vec::new());
        }
        steps[j].push(r);
    }
    let mut blocks = Vec::new();
    for members in steps.iter().filter(|m| !m.is_empty()) {
        // A step's reflectors start one row apart, one per sweep, so they fit the slots;
        // should one not, it goes to a block of its own, applied first (the step's product
        // is the earlier block times the later one).
        let mut parts: Vec<&[usize]> = Vec::new();
        let mut from = 0;
        for (at, &r) in members.iter().enumerate() {
            if seq.starts[r] - seq.starts[members[from]] >= SLOTS {
                parts.push(&members[from..at]);
                from = at;
            }
        }
        parts.push(&members[from..]);
        // A plain loop: a closure would not be inlined into the SIMD dispatch.
        for m in parts.into_iter().rev() {
            blocks.push(Block::new(seq, m));
        }
    }
    blocks
}

/// Bulge chasing of `band` keeping its reflectors, as [`Band::bidiagonalize_keeping`],
/// with the blocks of both sides (left, right) built as [`Blocks::new`] builds them:
/// `(d, f, blocks)`.
///
/// With two threads or more the chasing runs on them as [`super::sweeps`] lays out, and the
/// thread that completes a group of sweeps builds its blocks while the others chase on.
#[allow(clippy::type_complexity)]
pub(crate) fn chase_into_blocks<T: Scalar>(
    band: Band<T>,
    group: usize,
    n: usize,
    par: Par,
) -> (Vec<f64>, Vec<f64>, [Blocks<T>; 2]) {
    let group = window(group, band.width());
    if par.degree() <= 1 {
        let (d, f, kept) = band.bidiagonalize_keeping();
        let blocks = [
            Blocks::new(&kept.left, group, n),
            Blocks::new(&kept.right, group, n),
        ];
        return (d, f, blocks);
    }
    let build = |kept: Chased<T>| {
        [&kept.left, &kept.right].map(|seq| {
            if seq.len() > 0 {
                group_blocks(seq, 0..seq.len())
            } else {
                Vec::new()
            }
        })
    };
    let (d, f, groups) = super::sweeps::chase_groups(band, group, par.degree(), true, &build);
    let mut sides = [Vec::new(), Vec::new()];
    for [left, right] in groups {
        sides[0].push(left);
        sides[1].push(right);
    }
    (d, f, sides.map(|groups| Blocks::from_groups(groups, n)))
}

impl<T: Scalar> Block<T> {
    /// The block of the reflectors `members` (indices into `seq`, in order of application,
    /// starting fewer than [`SLOTS`] rows apart).
    #[inline(always)]
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
        let padded = rows.div_ceil(ROWS) * ROWS;
        // V by rows, in f64, each reflector in the slot of its first row; a slot without
        // one is a zero column with τ = 0, which leaves T's other entries as they are.
        let mut v = vec![[0.0f64; SLOTS]; padded];
        let mut tau = [0.0f64; SLOTS];
        for &r in members {
            let k = seq.starts[r] - first;
            tau[k] = seq.taus[r].to_f64();
            for (t, &x) in seq.data[r * b..r * b + seq.lens[r]].iter().enumerate() {
                v[k + t][k] = x.to_f64();
            }
        }
        // G = Vᵀ V (upper triangle), then T as `qr::block_factor` forms it:
        // T[j][j] = τⱼ, T[i][j] = −τⱼ Σ_{i ≤ l < j} T[i][l] G[l][j].
        let mut gram = [[0.0f64; SLOTS]; SLOTS];
        for row in &v {
            for (l, g) in gram.iter_mut().enumerate() {
                let x = row[l];
                for j in 0..SLOTS {
                    g[j] += x * row[j];
                }
            }
        }
        let mut t = [[0.0f64; SLOTS]; SLOTS];
        for j in 0..SLOTS {
            t[j][j] = tau[j];
            let g: [f64; SLOTS] = std::array::from_fn(|l| gram[l][j]);
            for (i, ti) in t.iter_mut().enumerate().take(j) {
                let sum: f64 = (i..j).map(|l| ti[l] * g[l]).sum();
                ti[j] = -tau[j] * sum;
            }
        }
        // −V T by rows: row i is −Σ_d V[i][d] T[d][..].
        let mut vs = vec![zero; padded * SLOTS];
        let mut vt = vec![zero; padded * SLOTS];
        for (i, row) in v.iter().enumerate() {
            let mut acc = [0.0f64; SLOTS];
            for (d, &x) in row.iter().enumerate() {
                for c in 0..SLOTS {
                    acc[c] += x * t[d][c];
                }
            }
            for c in 0..SLOTS {
                vs[i * SLOTS + c] = T::from_f64(row[c]);
                vt[i * SLOTS + c] = T::from_f64(-acc[c]);
            }
        }
        let v = vs;
        let mut reach = [(0, 0); SLOTS / ROWS];
        for (half, r) in reach.iter_mut().enumerate() {
            let nonzero = |i: &usize| {
                v[i * SLOTS + half * ROWS..][..ROWS]
                    .iter()
                    .any(|&x| x != zero)
            };
            let lo = (0..rows).find(nonzero).unwrap_or(0);
            let hi = (0..rows).rev().find(nonzero).map_or(lo, |i| i + 1);
            *r = (lo, hi);
        }
        Block {
            first,
            rows: padded,
            v,
            vt,
            reach,
        }
    }

    /// `X ← (I − V T Vᵀ) X` on the block's rows of every panel of `panels`: C columns
    /// each (C one SIMD register wide), `stride` rows by rows (`panel[i * C + l]`). The
    /// same loops as the AVX-512 kernel ([`super::avx512`]), in plain Rust.
    #[inline(always)]
    fn apply<const C: usize>(&self, panels: &mut [T], stride: usize) {
        let zero = T::from_f64(0.0);
        for panel in panels.chunks_exact_mut(stride * C) {
            let x = &mut panel[self.first * C..(self.first + self.rows) * C];
            // W = Vᵀ X, ROWS slots at a time, over the rows their reflectors reach.
            let mut w = [[zero; C]; SLOTS];
            for (half, wh) in w.chunks_exact_mut(ROWS).enumerate() {
                let (lo, hi) = self.reach[half];
                let (x, v) = (&x[lo * C..hi * C], &self.v[lo * SLOTS..hi * SLOTS]);
                for (row, v) in x.chunks_exact(C).zip(v.chunks_exact(SLOTS)) {
                    // Opaque to LLVM, so that it vectorises along the row, not across
                    // rows with gathers.
                    let row: &[T; C] = std::hint::black_box(row.try_into().unwrap());
                    for (a, &c) in wh.iter_mut().zip(&v[half * ROWS..][..ROWS]) {
                        for l in 0..C {
                            a[l] = c.fma(row[l], a[l]);
                        }
                    }
                }
            }
            // X −= (V T) W, ROWS rows at a time.
            for (x, vt) in x
                .chunks_exact_mut(ROWS * C)
                .zip(self.vt.chunks_exact(ROWS * SLOTS))
            {
                let mut acc = [[zero; C]; ROWS];
                for (a, row) in acc.iter_mut().zip(x.chunks_exact(C)) {
                    a.copy_from_slice(row);
                }
                for (k, wk) in w.iter().enumerate() {
                    for (i, a) in acc.iter_mut().enumerate() {
                        let c = vt[i * SLOTS + k];
                        for l in 0..C {
                            a[l] = c.fma(wk[l], a[l]);
                        }
                    }
                }
                x.copy_from_slice(acc.as_flattened());
            }
        }
    }
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
        // One 256-bit register per row (AVX-512 is in `super::avx512`).
        if std::mem::size_of::<T>() == 8 {
            blocks.run::<4>(x);
        } else {
            blocks.run::<8>(x);
        }
    }
}

impl<T: Scalar> Blocks<T> {
    /// Every block applied to `x`, copied into panels of C columns and back. A panel has
    /// [`ROWS`] rows more than `x`, zero, for the blocks' padded rows.
    #[inline(always)]
    pub(super) fn run<const C: usize>(&self, x: MatMut<'_, T>) {
        self.run_with::<C>(
            x,
            #[inline(always)]
            |block, panels, stride| block.apply::<C>(panels, stride),
        );
    }

    /// [`Blocks::run`] with `kernel(block, panels, stride)` applying one block to every
    /// panel.
    #[inline(always)]
    pub(super) fn run_with<const C: usize>(
        &self,
        mut x: MatMut<'_, T>,
        kernel: impl Fn(&Block<T>, &mut Vec<T>, usize),
    ) {
        let zero = T::from_f64(0.0);
        let (n, cols) = x.shape();
        let stride = n + ROWS;
        let mut panels = vec![zero; stride * cols.div_ceil(C) * C];
        for j in 0..cols {
            let panel = &mut panels[(j / C) * stride * C..][..n * C];
            for i in 0..n {
                panel[i * C + j % C] = x[(i, j)];
            }
        }
        for block in &self.blocks {
            kernel(block, &mut panels, stride);
        }
        for j in 0..cols {
            let panel = &panels[(j / C) * stride * C..][..n * C];
            for i in 0..n {
                x[(i, j)] = panel[i * C + j % C];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::noise;
    use faer::Mat;

    /// Every panel width the CPU may pick (4, 8, 16 columns), in whatever SIMD this build
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
                blocks.run::<4>(got[0].as_mut());
                blocks.run::<8>(got[1].as_mut());
                blocks.run::<16>(got[2].as_mut());
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

    /// The blocks built while the chasing runs, on two threads, are the blocks built after
    /// it from the whole sequences, and the chasing's results are unchanged: sweep counts
    /// that are and are not multiples of a group, groups clamped to narrow bands.
    #[test]
    fn blocks_built_alongside_the_chasing_are_the_same_blocks() {
        for (n, b, group) in [(60, 8, 16), (67, 16, 16), (50, 5, 3), (35, 1, 16)] {
            let band = || {
                let mut band = Band::<f64>::zeros(n, b);
                for r in 0..n {
                    for c in r..(r + b + 1).min(n) {
                        band.set(r, c, noise((r * n + c + 3) as u64));
                    }
                }
                band
            };
            let (d, f, kept) = band().bidiagonalize_keeping();
            for par in [Par::Seq, Par::rayon(2)] {
                let (d2, f2, blocks) = chase_into_blocks(band(), group, n, par);
                assert!(d == d2 && f == f2, "n {n}, b {b}: the chasing changed");
                for (seq, got) in [&kept.left, &kept.right].into_iter().zip(&blocks) {
                    let want = Blocks::new(seq, group, n);
                    assert_eq!(want.blocks.len(), got.blocks.len(), "n {n}, b {b}");
                    for (w, g) in want.blocks.iter().zip(&got.blocks) {
                        assert!(w.first == g.first && w.rows == g.rows && w.reach == g.reach);
                        assert!(w.v == g.v && w.vt == g.vt, "n {n}, b {b}: a block differs");
                    }
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
