//! Dense to band: the first stage, at matrix-product speed.
//!
//! For an m×n matrix (m ≥ n), panels of b columns are taken in turn. A QR factorisation of
//! the panel clears it below its diagonal block, and its reflectors, gathered into one
//! block reflector `I − V T Vᵀ`, update the rest of the matrix with two matrix products. An
//! LQ factorisation of the b rows to the right of the panel then clears them beyond b
//! columns, and its block reflector updates the trailing matrix from the right. What is
//! left is upper triangular with b superdiagonals. Only the panel factorisations, b columns
//! wide, are matrix-vector work; the updates, which are nearly all the flops, are products
//! with an inner dimension of b.

use faer::linalg::matmul::matmul;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::bulge::Band;
use super::qr::{apply_left_transpose, panel_qr};
use crate::Scalar;

/// Reduces `a` (m×n, m ≥ n, overwritten) to upper band form with `b` superdiagonals and
/// returns the n×n band.
///
/// For each panel the left and right block reflectors reach the trailing matrix `C` in two
/// passes. `W = Tᵀ Vᵀ C` is read first, the b rows the LQ needs are updated alone, then
/// `Z = (C − V W) U S` is read, and `C −= [V Z] [W; Uᵀ]` writes `C`, a product with inner
/// dimension 2b. That write is the next panel's first read: the next panel's columns are
/// updated and factored first, and the rest of `C` is updated tile by tile, each tile
/// multiplied by the next panel's `Vᵀ` while it is in cache ([`update_and_project`]).
pub(super) fn to_band<T: Scalar>(
    mut a: MatMut<'_, T>,
    b: usize,
    par: Par,
    mut kept: Option<&mut Vec<Panel<T>>>,
) -> Band<T> {
    let (m, n) = a.shape();
    debug_assert!(m >= n);
    let one = T::from_f64(1.0);
    let mut band = Band::zeros(n, b);
    let mut k = 0;
    let mut ahead: Option<Ahead<T>> = None;
    while k < n {
        let kb = b.min(n - k);
        let (v, t, projected) = match ahead.take() {
            Some(Ahead { v, t, projected }) => (v, t, projected),
            None => {
                let (v, t) = panel_qr(a.rb_mut().submatrix_mut(k, k, m - k, kb));
                (v, t, None)
            }
        };
        for r in k..k + kb {
            for c in r..k + kb {
                band.set(r, c, a[(r, c)]);
            }
        }
        let p = n - k - kb;
        if p == 0 {
            if let Some(kept) = kept.as_mut() {
                kept.push(Panel {
                    at: k,
                    v,
                    t,
                    right: None,
                });
            }
            break;
        }
        let c = a.rb_mut().submatrix_mut(k, k + kb, m - k, p);
        let (c_top, mut c_rest) = c.split_at_row_mut(kb);
        let (v_top, v_rest) = v.as_ref().split_at_row(kb);
        // W = Tᵀ Vᵀ C.
        let vc = projected.unwrap_or_else(|| {
            let mut vc = Mat::<T>::zeros(kb, p);
            matmul(
                vc.as_mut(),
                Accum::Replace,
                v_top.transpose(),
                c_top.rb(),
                one,
                par,
            );
            matmul(
                vc.as_mut(),
                Accum::Add,
                v_rest.transpose(),
                c_rest.rb(),
                one,
                par,
            );
            vc
        });
        let mut w = Mat::<T>::zeros(kb, p);
        matmul(
            w.as_mut(),
            Accum::Replace,
            t.transpose(),
            vc.as_ref(),
            one,
            par,
        );
        // The top rows after the left reflector, then their LQ (a QR of the transpose).
        let mut top = c_top.rb().transpose().to_owned();
        matmul(
            top.as_mut(),
            Accum::Add,
            w.transpose(),
            v_top.transpose(),
            -one,
            par,
        );
        let (u, s) = panel_qr(top.as_mut());
        // The rows become Rᵀ: lower triangular in their first b columns, zero after.
        for j in 0..kb {
            for i in 0..=j.min(p - 1) {
                band.set(k + j, k + kb + i, top[(i, j)]);
            }
        }
        if c_rest.nrows() == 0 {
            if let Some(kept) = kept.as_mut() {
                kept.push(Panel {
                    at: k,
                    v,
                    t,
                    right: Some((u, s)),
                });
            }
            break;
        }
        // Z = (C − V W) U S, then C −= V W + Z Uᵀ in one product.
        let kb2 = u.ncols();
        let mut wu = Mat::<T>::zeros(kb, kb2);
        matmul(
            wu.as_mut(),
            Accum::Replace,
            w.as_ref(),
            u.as_ref(),
            one,
            par,
        );
        let mut z = Mat::<T>::zeros(c_rest.nrows(), kb2);
        by_row_tiles(z.as_mut(), c_rest.rb(), u.as_ref(), par);
        matmul(z.as_mut(), Accum::Add, v_rest, wu.as_ref(), -one, par);
        let mut lhs = Mat::<T>::zeros(c_rest.nrows(), kb + kb2);
        lhs.as_mut().subcols_mut(0, kb).copy_from(v_rest);
        matmul(
            lhs.as_mut().subcols_mut(kb, kb2),
            Accum::Replace,
            z.as_ref(),
            s.as_ref(),
            one,
            par,
        );
        let mut rhs = Mat::<T>::zeros(kb + kb2, p);
        rhs.as_mut().subrows_mut(0, kb).copy_from(w.as_ref());
        rhs.as_mut().subrows_mut(kb, kb2).copy_from(u.transpose());
        // The next panel's columns first, then its factorisation, then the rest of C with
        // the next panel's Vᵀ C computed on the way.
        let nb = b.min(p);
        let (mut next, rest) = c_rest.rb_mut().split_at_col_mut(nb);
        let (rhs_next, rhs_rest) = rhs.as_ref().split_at_col(nb);
        matmul(next.rb_mut(), Accum::Add, lhs.as_ref(), rhs_next, -one, par);
        let (v2, t2) = panel_qr(next);
        let projected =
            (p > nb).then(|| update_and_project(rest, lhs.as_ref(), rhs_rest, v2.as_ref(), par));
        ahead = Some(Ahead {
            v: v2,
            t: t2,
            projected,
        });
        if let Some(kept) = kept.as_mut() {
            kept.push(Panel {
                at: k,
                v,
                t,
                right: Some((u, s)),
            });
        }
        k += kb;
    }
    band
}

/// The next panel, factored by the step before it (its `V`, `T`), with `Vᵀ C` for its
/// trailing matrix `C` when there is one.
struct Ahead<T> {
    v: Mat<T>,
    t: Mat<T>,
    projected: Option<Mat<T>>,
}

/// Rows of the trailing matrix per tile in [`update_and_project`] and [`by_row_tiles`].
const TILE_ROWS: usize = 1024;

/// Columns of the trailing matrix per tile (and per task) in [`update_and_project`]: a
/// tile of 1024 × 256 f64 is 2 MB. Measured with `examples/tile_update.rs` at the first
/// panel's shapes of 4000×6000 f64, b = 48: the update and the next panel's product in
/// 0.083–0.102 s as two products over the whole matrix, 0.073–0.085 s tile by tile (256
/// rows 0.084–0.094 s, 2048 rows 0.089–0.097 s).
const TILE_COLS: usize = 256;

/// Whether `len` split into tiles of `tile` gives fewer than two tiles per thread: too few
/// to keep every thread busy, so whole parallel products do better.
fn too_few_tiles(len: usize, tile: usize, par: Par) -> bool {
    len.div_ceil(tile) < 2 * par.degree()
}

/// `C −= L R`, and returns `Vᵀ C` of the updated `C`: tile by tile, so that each tile is
/// read from memory once for both products. Column tiles in parallel, each running down
/// its rows.
fn update_and_project<T: Scalar>(
    c: MatMut<'_, T>,
    l: MatRef<'_, T>,
    r: MatRef<'_, T>,
    v: MatRef<'_, T>,
    par: Par,
) -> Mat<T> {
    let (rows, cols) = c.shape();
    let one = T::from_f64(1.0);
    let mut out = Mat::<T>::zeros(v.ncols(), cols);
    if par.degree() > 1 && too_few_tiles(cols, TILE_COLS, par) {
        // The last panels: two parallel products.
        let mut c = c;
        matmul(c.rb_mut(), Accum::Add, l, r, -one, par);
        matmul(
            out.as_mut(),
            Accum::Replace,
            v.transpose(),
            c.rb(),
            one,
            par,
        );
        return out;
    }
    let task = |j: usize, mut c: MatMut<'_, T>, mut out: MatMut<'_, T>| {
        let width = c.ncols();
        let r = r.subcols(j * TILE_COLS, width);
        for i in (0..rows).step_by(TILE_ROWS) {
            let h = TILE_ROWS.min(rows - i);
            let mut tile = c.rb_mut().subrows_mut(i, h);
            matmul(
                tile.rb_mut(),
                Accum::Add,
                l.subrows(i, h),
                r,
                -one,
                Par::Seq,
            );
            let accum = if i == 0 { Accum::Replace } else { Accum::Add };
            matmul(
                out.rb_mut(),
                accum,
                v.subrows(i, h).transpose(),
                tile.rb(),
                one,
                Par::Seq,
            );
        }
    };
    if par.degree() <= 1 {
        let mut c = c;
        for j in 0..cols.div_ceil(TILE_COLS) {
            let w = TILE_COLS.min(cols - j * TILE_COLS);
            task(
                j,
                c.rb_mut().subcols_mut(j * TILE_COLS, w),
                out.as_mut().subcols_mut(j * TILE_COLS, w),
            );
        }
    } else {
        c.par_col_chunks_mut(TILE_COLS)
            .zip(out.as_mut().par_col_chunks_mut(TILE_COLS))
            .enumerate()
            .for_each(|(j, (c, out))| task(j, c, out));
    }
    out
}

/// `Z = C U` with C tall and U narrow, row tiles in parallel (one parallel product when
/// there are too few tiles for the threads). Measured with `examples/tile_update.rs` at
/// 6000×4000 · 4000×48 f64: 0.036–0.047 s against 0.040–0.055 s for one parallel product.
fn by_row_tiles<T: Scalar>(mut z: MatMut<'_, T>, c: MatRef<'_, T>, u: MatRef<'_, T>, par: Par) {
    let one = T::from_f64(1.0);
    if par.degree() <= 1 || too_few_tiles(z.nrows(), TILE_ROWS, par) {
        matmul(z, Accum::Replace, c, u, one, par);
        return;
    }
    z.rb_mut()
        .par_row_chunks_mut(TILE_ROWS)
        .enumerate()
        .for_each(|(i, z)| {
            let h = z.nrows();
            matmul(
                z,
                Accum::Replace,
                c.subrows(i * TILE_ROWS, h),
                u,
                one,
                Par::Seq,
            );
        });
}

/// One panel's block reflectors, kept by [`to_band`] and [`qr_r`] for the singular
/// vectors: `I − V T Vᵀ` from the left on rows `at..` and, for the band reduction,
/// `I − U S Uᵀ` from the right on columns `at + b..` (b the panel's width, `V`'s columns).
pub(super) struct Panel<T> {
    at: usize,
    v: Mat<T>,
    t: Mat<T>,
    right: Option<(Mat<T>, Mat<T>)>,
}

/// `X ← Q X` for `Q` the product of the panels' left block reflectors in order, `X`
/// holding rows `0..` of the vectors (rows past `X`'s are zero and stay out of the
/// products).
pub(super) fn apply_left<T: Scalar>(panels: &[Panel<T>], x: MatMut<'_, T>, par: Par) {
    let blocks: Vec<(usize, MatRef<'_, T>, MatRef<'_, T>)> = panels
        .iter()
        .map(|p| (p.at, p.v.as_ref(), p.t.as_ref()))
        .collect();
    apply_merged(&blocks, x, par);
}

/// `X ← P X` for `P` the product of the panels' right block reflectors in order.
pub(super) fn apply_right<T: Scalar>(panels: &[Panel<T>], x: MatMut<'_, T>, par: Par) {
    let blocks: Vec<(usize, MatRef<'_, T>, MatRef<'_, T>)> = panels
        .iter()
        .filter_map(|p| {
            let (u, s) = p.right.as_ref()?;
            Some((p.at + p.v.ncols(), u.as_ref(), s.as_ref()))
        })
        .collect();
    apply_merged(&blocks, x, par);
}

/// Panels merged per product in [`apply_merged`]: each pass over the vectors then does
/// this many panels' work, so the vectors stream through memory this many times fewer.
const MERGED: usize = 4;

/// `X ← B₀ B₁ ⋯ X` for block reflectors `Bᵢ = I − Vᵢ Tᵢ Vᵢᵀ` acting from row `atᵢ`
/// (ascending), [`MERGED`] at a time merged into one: `(I − V₁T₁V₁ᵀ)(I − V₂T₂V₂ᵀ) =
/// I − [V₁ V₂] [T₁ −T₁V₁ᵀV₂T₂; 0 T₂] [V₁ V₂]ᵀ`.
///
/// With many columns, each thread takes a share of them and applies every block to its
/// share with sequential products, merging the blocks itself as it goes (the merges cost
/// about 1% of the products): no thread waits for another, and one merged block per thread
/// is in memory at a time. Measured at 2000×3000 f64 (`scripts/ab_stages.py`, 5 runs): the
/// panels back in 0.60 / 0.62 s (min / median) against 0.69 / 0.73 s with each product
/// parallel.
fn apply_merged<T: Scalar>(
    blocks: &[(usize, MatRef<'_, T>, MatRef<'_, T>)],
    x: MatMut<'_, T>,
    par: Par,
) {
    let apply = |mut x: MatMut<'_, T>, par: Par| {
        for group in blocks.chunks(MERGED).rev() {
            let (at, v, t) = merge(group);
            let len = x.nrows() - at;
            apply_block(v.as_ref(), t.as_ref(), x.rb_mut().subrows_mut(at, len), par);
        }
    };
    let threads = par.degree();
    if threads > 1 && x.ncols() >= threads * SPLIT_COLUMNS {
        let share = x.ncols().div_ceil(threads);
        x.par_col_chunks_mut(share).for_each(|x| apply(x, Par::Seq));
    } else {
        apply(x, par);
    }
}

/// Columns per thread from which [`apply_merged`] splits the columns between threads
/// rather than each product.
const SPLIT_COLUMNS: usize = 256;

/// The block reflectors `group` (ascending rows) merged into one: `(at, V, T)`.
fn merge<T: Scalar>(group: &[(usize, MatRef<'_, T>, MatRef<'_, T>)]) -> (usize, Mat<T>, Mat<T>) {
    let one = T::from_f64(1.0);
    let at = group[0].0;
    let rows = group[0].1.nrows();
    let width: usize = group.iter().map(|b| b.1.ncols()).sum();
    let mut v = Mat::<T>::zeros(rows, width);
    let mut t = Mat::<T>::zeros(width, width);
    let mut col = 0;
    for &(a, vb, tb) in group {
        let (off, kb) = (a - at, vb.ncols());
        v.as_mut()
            .submatrix_mut(off, col, vb.nrows(), kb)
            .copy_from(vb);
        t.as_mut().submatrix_mut(col, col, kb, kb).copy_from(tb);
        if col > 0 {
            // T[..col, col..] = −T[..col, ..col] (V[:, ..col]ᵀ V_b) T_b.
            let mut gram = Mat::<T>::zeros(col, kb);
            matmul(
                gram.as_mut(),
                Accum::Replace,
                v.as_ref().submatrix(off, 0, vb.nrows(), col).transpose(),
                vb,
                one,
                Par::Seq,
            );
            let mut gt = Mat::<T>::zeros(col, kb);
            matmul(
                gt.as_mut(),
                Accum::Replace,
                gram.as_ref(),
                tb,
                one,
                Par::Seq,
            );
            let (top, _) = t.as_mut().split_at_row_mut(col);
            let (left, right) = top.split_at_col_mut(col);
            matmul(
                right.subcols_mut(0, kb),
                Accum::Replace,
                left.rb(),
                gt.as_ref(),
                -one,
                Par::Seq,
            );
        }
        col += kb;
    }
    (at, v, t)
}

/// `c ← (I − V T Vᵀ) c`, with `c` at least as tall as `V` (rows past it are untouched:
/// they hold zeros the reflectors never reached).
pub(super) fn apply_block<T: Scalar>(
    v: MatRef<'_, T>,
    t: MatRef<'_, T>,
    c: MatMut<'_, T>,
    par: Par,
) {
    let rows = v.nrows().min(c.nrows());
    let (v, mut c) = (v.subrows(0, rows), c.subrows_mut(0, rows));
    let one = T::from_f64(1.0);
    let mut w = Mat::<T>::zeros(v.ncols(), c.ncols());
    matmul(w.as_mut(), Accum::Replace, v.transpose(), c.rb(), one, par);
    let mut tw = Mat::<T>::zeros(v.ncols(), c.ncols());
    matmul(tw.as_mut(), Accum::Replace, t, w.as_ref(), one, par);
    matmul(c.rb_mut(), Accum::Add, v, tw.as_ref(), -one, par);
}

/// The R of a QR factorisation of `a` (m×n, m ≥ n, overwritten): n×n upper triangular,
/// with the same singular values as `a`.
/// With `kept`, its panels' reflectors are pushed there (the Q of `a = Q R`).
pub(super) fn qr_r<T: Scalar>(
    mut a: MatMut<'_, T>,
    b: usize,
    par: Par,
    mut kept: Option<&mut Vec<Panel<T>>>,
) -> Mat<T> {
    let (m, n) = a.shape();
    let mut k = 0;
    while k < n {
        let kb = b.min(n - k);
        let (v, t) = panel_qr(a.rb_mut().submatrix_mut(k, k, m - k, kb));
        let right = a.rb_mut().submatrix_mut(k, k + kb, m - k, n - k - kb);
        apply_left_transpose(v.as_ref(), t.as_ref(), right, par);
        if let Some(kept) = kept.as_mut() {
            kept.push(Panel {
                at: k,
                v,
                t,
                right: None,
            });
        }
        k += kb;
    }
    Mat::from_fn(
        n,
        n,
        |i, j| if i <= j { a[(i, j)] } else { T::from_f64(0.0) },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reproducible value in [−1, 1) from a counter.
    fn noise(i: usize) -> f64 {
        let x = (i as u64)
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    /// The panels' reflectors applied with the columns split between threads, against the
    /// same products on one thread, and against `Q` itself: `Qᵀ A` is the band.
    #[test]
    fn split_columns_agree_with_one_thread() {
        let (m, n, b) = (700, 600, 16);
        let a = Mat::<f64>::from_fn(m, n, |i, j| noise(i * n + j));
        let mut work = a.clone();
        let mut panels = Vec::new();
        to_band(work.as_mut(), b, Par::Seq, Some(&mut panels));
        let x = Mat::<f64>::from_fn(m, n, |i, j| noise(7 + i * n + j));
        let mut one = x.clone();
        let mut split = x.clone();
        apply_left(&panels, one.as_mut(), Par::Seq);
        apply_left(&panels, split.as_mut(), Par::rayon(2));
        assert!((&one - &split).norm_max() < 1e-12);
        let y = Mat::<f64>::from_fn(n, n, |i, j| noise(11 + i * n + j));
        let (mut one, mut split) = (y.clone(), y.clone());
        apply_right(&panels, one.as_mut(), Par::Seq);
        apply_right(&panels, split.as_mut(), Par::rayon(2));
        assert!((&one - &split).norm_max() < 1e-12);
        // Q applied to the identity's columns is orthogonal and Qᵀ A is upper triangular
        // with b superdiagonals.
        let mut q = Mat::<f64>::from_fn(m, m, |i, j| if i == j { 1.0 } else { 0.0 });
        apply_left(&panels, q.as_mut(), Par::rayon(2));
        let mut p = Mat::<f64>::from_fn(n, n, |i, j| if i == j { 1.0 } else { 0.0 });
        apply_right(&panels, p.as_mut(), Par::rayon(2));
        let band = q.transpose() * &a * &p;
        for j in 0..n {
            for i in 0..m {
                if i > j || j > i + b {
                    assert!(band[(i, j)].abs() < 1e-11, "({i}, {j}): {}", band[(i, j)]);
                }
            }
        }
    }

    /// The tiled update and product against the two products they replace: tiles in
    /// parallel, one after another, and too few tiles (whole products), on shapes that are
    /// not multiples of a tile.
    #[test]
    fn tiles_agree_with_the_whole_products() {
        for (rows, cols, b, par) in [
            (2100, 1100, 5, Par::rayon(2)),
            (4500, 600, 2, Par::rayon(2)),
            (1500, 700, 3, Par::Seq),
            (50, 300, 4, Par::rayon(2)),
        ] {
            let mat = |r: usize, c: usize, salt: usize| {
                Mat::<f64>::from_fn(r, c, |i, j| noise(salt + i * c + j))
            };
            let (l, r, v) = (mat(rows, 2 * b, 1), mat(2 * b, cols, 2), mat(rows, b, 3));
            let mut want = mat(rows, cols, 4);
            let mut got = want.clone();
            matmul(
                want.as_mut(),
                Accum::Add,
                l.as_ref(),
                r.as_ref(),
                -1.0,
                Par::Seq,
            );
            let mut projected = Mat::<f64>::zeros(b, cols);
            let vt = v.transpose();
            matmul(
                projected.as_mut(),
                Accum::Replace,
                vt,
                want.as_ref(),
                1.0,
                Par::Seq,
            );
            let out = update_and_project(got.as_mut(), l.as_ref(), r.as_ref(), v.as_ref(), par);
            assert!((&got - &want).norm_max() < 1e-12, "{rows}x{cols}: update");
            let off = (&out - &projected).norm_max() / projected.norm_max();
            assert!(off < 1e-14, "{rows}x{cols}: projection off by {off:e}");
            let u = mat(cols, b, 5);
            let mut z = Mat::<f64>::zeros(rows, b);
            by_row_tiles(z.as_mut(), got.as_ref(), u.as_ref(), par);
            let mut want_z = Mat::<f64>::zeros(rows, b);
            matmul(
                want_z.as_mut(),
                Accum::Replace,
                got.as_ref(),
                u.as_ref(),
                1.0,
                Par::Seq,
            );
            assert!((&z - &want_z).norm_max() / want_z.norm_max() < 1e-14);
        }
    }
}
