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
//! computed vectors orthogonal to working accuracy however close the roots (all three in
//! [`super::secular`]). The merges' cost is two matrix products per side, restricted to the
//! rows each half reaches.
//!
//! The memory is laid out as LAPACK's `?lasd0`: every block writes its vectors into its
//! own diagonal block of the final `U` and `V`, where its parent finds them (no copies
//! between levels), and the merges gather the columns they combine into one workspace of
//! n × 4n entries, split between the halves below. A merge's columns are gathered in
//! three groups, those reaching only the upper half's rows, both, only the lower half's,
//! so that each half's rows are one product over contiguous columns.
//!
//! Everything here is in f64 (the bidiagonal is, whatever the input's precision).

use faer::linalg::matmul::matmul;
use faer::linalg::svd::ComputeSvdVectors;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};

use super::secular::{secular_roots, vectors};
use crate::{Result, Scalar};

/// Bidiagonals with at most this many rows are solved densely (faer's SVD).
const LEAF: usize = 24;

/// The SVD of the n×n upper bidiagonal with diagonal `d` and superdiagonal `e`:
/// `(s, U, V)` with `B = U diag(s) Vᵀ`, s descending. `U` has `u_rows` ≥ n rows, the
/// rows past n zero: room for the reflectors of a taller matrix to fill.
pub(super) fn bidiagonal_svd<T: Scalar>(
    d: &[f64],
    e: &[f64],
    u_rows: usize,
    par: Par,
) -> Result<(Vec<f64>, Mat<T>, Mat<T>)> {
    debug_assert!(d.len() == e.len() + 1 || d.is_empty());
    let n = d.len();
    let mut u = Mat::<T>::zeros(u_rows.max(n), n);
    let mut v = Mat::<T>::zeros(n, n);
    // Zeros by the allocator (fresh pages, not written until a merge needs them).
    let mut space = vec![T::from_f64(0.0); n * 4 * n];
    let work = MatMut::from_column_major_slice_mut(&mut space, n, 4 * n);
    let s = solve(
        d,
        e,
        false,
        u.as_mut().subrows_mut(0, n),
        v.as_mut(),
        work,
        par,
    )?;
    drop(space);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    rayon::join(
        || permute_columns(u.as_mut().subrows_mut(0, n), &order),
        || permute_columns(v.as_mut(), &order),
    );
    Ok((order.iter().map(|&i| s[i]).collect(), u, v))
}

/// Solves the block with diagonal `d` (p entries) and superdiagonal `e` (p − 1 + w
/// entries, `e[i]` at (i, i + 1)), w = 1 for a block one column wider than tall. Returns
/// its p values (in no order) and writes `U` (p×p) and `V` ((p+w)×(p+w)) with
/// `B = U [diag(s) 0] Vᵀ`, the last column of a wide block's `V` spanning its null space.
/// `u` and `v` hold zeros on entry; `work` has at least p + w rows and 4p columns.
fn solve<T: Scalar>(
    d: &[f64],
    e: &[f64],
    wide: bool,
    mut u: MatMut<'_, T>,
    mut v: MatMut<'_, T>,
    mut work: MatMut<'_, T>,
    par: Par,
) -> Result<Vec<f64>> {
    let p = d.len();
    if p <= LEAF {
        return leaf(d, e, wide, u, v);
    }
    let k = p / 2;
    let (top, bottom) = {
        // The upper half (wide) in U's rows and columns 0..k and V's 0..=k, the lower half
        // in both past k: each half's own diagonal block.
        let (ut, _, _, ub) = u.rb_mut().split_at_mut(k + 1, k + 1);
        let ut = ut.submatrix_mut(0, 0, k, k);
        let (vt, _, _, vb) = v.rb_mut().split_at_mut(k + 1, k + 1);
        let (wt, wb) = work.rb_mut().split_at_col_mut(4 * k);
        let upper = || solve(&d[..k], &e[..k], true, ut, vt, wt, par);
        let lower = || solve(&d[k + 1..], &e[k + 1..], wide, ub, vb, wb, par);
        if matches!(par, Par::Seq) || p < 256 {
            (upper()?, lower()?)
        } else {
            let (t, b) = rayon::join(upper, lower);
            (t?, b?)
        }
    };
    let beta = e.get(k).copied().unwrap_or(0.0);
    merge(top, d[k], beta, bottom, wide, u, v, work, par)
}

/// A small block, densely by faer's SVD.
fn leaf<T: Scalar>(
    d: &[f64],
    e: &[f64],
    wide: bool,
    mut u: MatMut<'_, T>,
    mut v: MatMut<'_, T>,
) -> Result<Vec<f64>> {
    let p = d.len();
    let cols = p + usize::from(wide);
    if p == 0 {
        if cols == 1 {
            v[(0, 0)] = T::from_f64(1.0);
        }
        return Ok(Vec::new());
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
    let (bu, s, bv) = crate::factors::raw_svd(b.as_ref(), ComputeSvdVectors::Full, Par::Seq)?;
    let (bu, bv) = (bu.expect("full U"), bv.expect("full V"));
    for j in 0..p {
        for i in 0..p {
            u[(i, j)] = T::from_f64(bu[(i, j)]);
        }
    }
    for j in 0..cols {
        for i in 0..cols {
            v[(i, j)] = T::from_f64(bv[(i, j)]);
        }
    }
    Ok(s)
}

/// Where a column of Ũ or Ṽ has entries: in the rows of the upper half, the lower half,
/// or both (after a rotation mixed them).
#[derive(Clone, Copy)]
struct Reach {
    top: bool,
    bottom: bool,
}

impl Reach {
    const NONE: Reach = Reach {
        top: false,
        bottom: false,
    };
    const UPPER: Reach = Reach {
        top: true,
        bottom: false,
    };
    const LOWER: Reach = Reach {
        top: false,
        bottom: true,
    };

    fn union(self, other: Reach) -> Reach {
        Reach {
            top: self.top || other.top,
            bottom: self.bottom || other.bottom,
        }
    }

    /// The group a column is gathered in: upper rows only, both, lower rows only.
    fn group(self) -> usize {
        match (self.top, self.bottom) {
            (true, false) => 0,
            (true, true) => 1,
            _ => 2,
        }
    }
}

/// Merges the halves (values `top` and `bottom`, vectors in their diagonal blocks of `u`
/// and `v`) through row k (`alpha` at column k, `beta` at column k + 1), writing the block's
/// vectors over `u` and `v`.
#[allow(clippy::too_many_arguments)]
fn merge<T: Scalar>(
    top: Vec<f64>,
    alpha: f64,
    beta: f64,
    bottom: Vec<f64>,
    wide: bool,
    mut u: MatMut<'_, T>,
    mut v: MatMut<'_, T>,
    work: MatMut<'_, T>,
    par: Par,
) -> Result<Vec<f64>> {
    let p1 = top.len();
    let p2 = bottom.len();
    let p = p1 + 1 + p2;
    let cols = p + usize::from(wide);
    let k = p1;
    debug_assert!(work.nrows() >= cols && work.ncols() >= 4 * p);
    // The merged problem's index c, in Ũ = [e_k, upper half's U, lower half's U] and
    // Ṽ = [upper half's null vector, its V, lower half's V (and null vector)], is column
    // `at(c)` of `u` and `v` as the halves left them. Column k of `u` is e_k.
    let at = |c: usize| match c {
        0 => k,
        c if c <= k => c - 1,
        c => c,
    };
    u[(k, k)] = T::from_f64(1.0);
    let mut ureach = vec![Reach::NONE; p];
    let mut vreach = vec![Reach::UPPER; cols];
    let mut dv = vec![0.0; p];
    let mut z = vec![0.0; cols];
    for c in 0..=k {
        // Row k sees the upper half through the last row of its V.
        z[c] = alpha * v[(k, at(c))].to_f64();
    }
    for c in 1..=k {
        ureach[c] = Reach::UPPER;
        dv[c] = top[c - 1];
    }
    for c in k + 1..cols {
        vreach[c] = Reach::LOWER;
        z[c] = beta * v[(k + 1, c)].to_f64();
    }
    for c in k + 1..p {
        ureach[c] = Reach::LOWER;
        dv[c] = bottom[c - k - 1];
    }
    if wide {
        // Column p of M holds only z[p]: rotate it into column 0, leaving a zero column
        // whose right vector spans the null space.
        let r = z[0].hypot(z[p]);
        if r > 0.0 {
            let (c, s) = (z[0] / r, z[p] / r);
            rotate(v.rb_mut(), at(0), at(p), c, s);
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
        return Ok(vec![0.0; p]);
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
            rotate(v.rb_mut(), at(0), at(c), cs, sn);
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
            rotate(v.rb_mut(), at(prev), at(c), cs, sn);
            rotate(u.rb_mut(), at(prev), at(c), cs, sn);
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
    let kk = kept.len();

    // Ũ's kept columns but the first (e_k, which reaches row k only) and Ṽ's, by group;
    // X and Y take their rows in the same order (X's row for index 0 last).
    let mut uorder: Vec<usize> = (1..kk).collect();
    uorder.sort_by_key(|&i| ureach[kept[i]].group());
    let mut vorder: Vec<usize> = (0..kk).collect();
    vorder.sort_by_key(|&i| vreach[kept[i]].group());
    let ugroups = sizes(uorder.iter().map(|&i| ureach[kept[i]].group()));
    let vgroups = sizes(vorder.iter().map(|&i| vreach[kept[i]].group()));
    let mut xrow = vec![kk - 1; kk];
    uorder.iter().enumerate().for_each(|(r, &i)| xrow[i] = r);
    let mut yrow = vec![0; kk];
    vorder.iter().enumerate().for_each(|(r, &i)| yrow[i] = r);

    // The workspace: Ũ's gathered columns (kept, then passed), Ṽ's, X and Y.
    let (u2, rest) = work.split_at_col_mut(p);
    let (v2, rest) = rest.split_at_col_mut(p);
    let (x, y) = rest.split_at_col_mut(p);
    let (mut u2, mut v2) = (u2.subrows_mut(0, p), v2.subrows_mut(0, cols));
    let (mut x, mut y) = (x.submatrix_mut(0, 0, kk, kk), y.submatrix_mut(0, 0, kk, kk));
    let ucols: Vec<usize> = uorder
        .iter()
        .map(|&i| at(kept[i]))
        .chain(passed.iter().map(|&(c, _)| at(c)))
        .collect();
    let vcols: Vec<usize> = vorder
        .iter()
        .map(|&i| at(kept[i]))
        .chain(passed.iter().map(|&(c, _)| at(c)))
        .collect();
    rayon::join(
        || gather(u2.rb_mut(), u.rb(), &ucols),
        || gather(v2.rb_mut(), v.rb(), &vcols),
    );
    vectors(&dk, &zk, &roots, &xrow, &yrow, x.rb_mut(), y.rb_mut());

    // The new vectors: each half's rows from the columns that reach them; row k of U is
    // X's row for index 0 (row k of Ũ is e₀ᵀ); the passed components' columns as they are.
    let (u2, x, v2, y) = (u2.rb(), x.rb(), v2.rb(), y.rb());
    by_halves(u.rb_mut(), u2, x, 0..k, k + 1..p, ugroups, par);
    for i in 0..kk {
        u[(k, i)] = x[(kk - 1, i)];
    }
    by_halves(v.rb_mut(), v2, y, 0..k + 1, k + 1..cols, vgroups, par);
    let mut s: Vec<f64> = roots.iter().map(|r| r.sigma * scale).collect();
    for (j, &(_, sigma)) in passed.iter().enumerate() {
        u.rb_mut().col_mut(kk + j).copy_from(u2.col(kk - 1 + j));
        v.rb_mut().col_mut(kk + j).copy_from(v2.col(kk + j));
        s.push(sigma * scale);
    }
    Ok(s)
}

/// `out[rows, 0..K] = Q[rows, columns reaching them] · W[those rows, :]` for the upper
/// half's rows and the lower half's, `Q`'s columns gathered in `groups` (upper only, both,
/// lower only) and `W`'s rows in the same order.
fn by_halves<T: Scalar>(
    mut out: MatMut<'_, T>,
    q: MatRef<'_, T>,
    w: MatRef<'_, T>,
    upper: std::ops::Range<usize>,
    lower: std::ops::Range<usize>,
    groups: [usize; 3],
    par: Par,
) {
    let [g0, g1, g2] = groups;
    let k = w.ncols();
    for (rows, first, count) in [(upper, 0, g0 + g1), (lower, g0, g1 + g2)] {
        product(
            out.rb_mut().submatrix_mut(rows.start, 0, rows.len(), k),
            q.submatrix(rows.start, first, rows.len(), count),
            w.subrows(first, count),
            par,
        );
    }
}

/// How many of the groups (0, 1, 2, ascending) fall in each.
fn sizes(groups: impl Iterator<Item = usize>) -> [usize; 3] {
    let mut n = [0; 3];
    groups.for_each(|g| n[g] += 1);
    n
}

/// Column j of `dst` ← column `cols[j]` of `src`.
fn gather<T: Scalar>(mut dst: MatMut<'_, T>, src: MatRef<'_, T>, cols: &[usize]) {
    for (j, &c) in cols.iter().enumerate() {
        dst.rb_mut().col_mut(j).copy_from(src.col(c));
    }
}

/// `out = a · b`, or zeros when `a` has no columns.
fn product<T: Scalar>(mut out: MatMut<'_, T>, a: MatRef<'_, T>, b: MatRef<'_, T>, par: Par) {
    if out.nrows() == 0 || out.ncols() == 0 {
        return;
    }
    if a.ncols() == 0 {
        out.fill(T::from_f64(0.0));
        return;
    }
    matmul(out, Accum::Replace, a, b, T::from_f64(1.0), par);
}

/// Columns a and b of `q` ← (c·a + s·b, −s·a + c·b).
fn rotate<T: Scalar>(mut q: MatMut<'_, T>, a: usize, b: usize, c: f64, s: f64) {
    let (c, s) = (T::from_f64(c), T::from_f64(s));
    for r in 0..q.nrows() {
        let (x, y) = (q[(r, a)], q[(r, b)]);
        q[(r, a)] = c * x + s * y;
        q[(r, b)] = -s * x + c * y;
    }
}

/// Column j of `m` ← column `order[j]`, along the permutation's cycles.
fn permute_columns<T: Scalar>(mut m: MatMut<'_, T>, order: &[usize]) {
    let mut done = vec![false; order.len()];
    let mut held = faer::Col::<T>::zeros(m.nrows());
    for start in 0..order.len() {
        if done[start] || order[start] == start {
            continue;
        }
        held.copy_from(m.rb().col(start));
        let mut at = start;
        loop {
            done[at] = true;
            let from = order[at];
            if from == start {
                m.rb_mut().col_mut(at).copy_from(&held);
                break;
            }
            let (to, src) = m.rb_mut().two_cols_mut(at, from);
            let mut to = to;
            to.copy_from(src);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `max |B − U diag(s) Vᵀ| / s₁` and the largest entry of `UᵀU − I`, `VᵀV − I`, for
    /// `U`'s first n rows.
    fn residuals<T: Scalar>(d: &[f64], e: &[f64], s: &[f64], u: &Mat<T>, v: &Mat<T>) -> (f64, f64) {
        let n = d.len();
        let mut back = 0.0f64;
        for i in 0..n {
            for j in 0..n {
                let b = if j == i {
                    d[i]
                } else if j == i + 1 {
                    e[i]
                } else {
                    0.0
                };
                let usv: f64 = (0..n)
                    .map(|l| u[(i, l)].to_f64() * s[l] * v[(j, l)].to_f64())
                    .sum();
                back = back.max((b - usv).abs());
            }
        }
        let mut orth = 0.0f64;
        for q in [u, v] {
            for a in 0..n {
                for b in 0..n {
                    let dot: f64 = (0..n)
                        .map(|l| q[(l, a)].to_f64() * q[(l, b)].to_f64())
                        .sum();
                    orth = orth.max((dot - if a == b { 1.0 } else { 0.0 }).abs());
                }
            }
        }
        (back / s[0], orth)
    }

    #[test]
    fn room_rows_stay_zero_in_either_precision() {
        // Sizes past a merge with parallel halves (256), with equal values in both halves
        // (ones), so that rotations mix the halves' columns.
        let n = 300;
        let mut seed = 5u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 + 0.5
        };
        let random: (Vec<f64>, Vec<f64>) = (
            (0..n).map(|_| rnd()).collect(),
            (1..n).map(|_| rnd()).collect(),
        );
        let ones = (vec![1.0; n], vec![1.0; n - 1]);
        for (d, e) in [random, ones] {
            let (s, u, v) = bidiagonal_svd::<f64>(&d, &e, n + 9, Par::rayon(2)).unwrap();
            assert_eq!((u.nrows(), u.ncols(), v.nrows()), (n + 9, n, n));
            assert!((n..n + 9).all(|i| (0..n).all(|j| u[(i, j)] == 0.0)));
            let (back, orth) = residuals(&d, &e, &s, &u, &v);
            assert!(back < 1e-13 && orth < 1e-13, "f64: {back:e} {orth:e}");
            let (s, u, v) = bidiagonal_svd::<f32>(&d, &e, n + 3, Par::Seq).unwrap();
            assert!((n..n + 3).all(|i| (0..n).all(|j| u[(i, j)] == 0.0)));
            let (back, orth) = residuals(&d, &e, &s, &u, &v);
            assert!(back < 1e-5 && orth < 1e-5, "f32: {back:e} {orth:e}");
        }
    }
}
