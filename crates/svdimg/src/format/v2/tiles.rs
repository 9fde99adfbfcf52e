//! Tiles of a plane for `.svdz` version 2: the grid, each tile's SVD, the quantisation of
//! a tile's components (with the least-squares refit of v), and the reconstruction that
//! the encoder and the decoder share.
//!
//! A component of a tile with singular value σ is stored as a code g = round(4 log₂(σ/Δ))
//! and two integer vectors: `qᵤ = round(2^(g/4) u)` and `qᵥ`, the least-squares fit of
//! the residual given `qᵤ`, rounded. The tile is rebuilt as `Σ sᵢ qᵤ qᵥᵀ` with
//! `sᵢ = Δ 2^(−gᵢ/4)`, so `qᵥ ≈ σ v / Δ` and every integer of either vector costs the
//! same error, Δ²/12, whatever σ is: equal distortion per component.

use faer::{MatRef, Par};
use rayon::prelude::*;

use super::dct::{Axis, Dct};
use super::entropy::cost;
use crate::{Factors, Method, Randomized, Result};

/// Code steps per octave of σ/Δ.
pub(crate) const CODE_STEPS: f32 = 4.0;
/// The largest code: σ/Δ up to 2^32.
pub(crate) const MAX_CODE: u32 = 128;

/// A plane cut into rows × cols tiles of nearly equal size (sizes differ by at most one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grid {
    pub m: usize,
    pub n: usize,
    pub rows: usize,
    pub cols: usize,
}

/// Where tile `i` of `parts` over `len` starts, and its length.
fn split(len: usize, parts: usize, i: usize) -> (usize, usize) {
    let start = i * len / parts;
    (start, (i + 1) * len / parts - start)
}

impl Grid {
    /// The grid of tiles of about `tile`×`tile` over an m×n plane.
    pub(crate) fn new(m: usize, n: usize, tile: usize) -> Grid {
        Grid {
            m,
            n,
            rows: m.div_ceil(tile).max(1),
            cols: n.div_ceil(tile).max(1),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// Tile `t` (raster order) as (first row, rows, first column, columns).
    pub(crate) fn rect(&self, t: usize) -> (usize, usize, usize, usize) {
        let (y, h) = split(self.m, self.rows, t / self.cols);
        let (x, w) = split(self.n, self.cols, t % self.cols);
        (y, h, x, w)
    }

    /// The row of tiles that pixel row `y` (below `m`) lies in.
    pub(crate) fn row_of(&self, y: usize) -> usize {
        // Row i starts at ⌊i·m/rows⌋: the last start at or above y.
        ((y + 1) * self.rows).div_ceil(self.m) - 1
    }

    /// Every tile height and width (each at most two values).
    pub(crate) fn lengths(&self) -> Vec<usize> {
        let last = self.len() - 1;
        let (_, h0, _, w0) = self.rect(0);
        let (_, h1, _, w1) = self.rect(last);
        vec![h0, h1, w0, w1, self.m / self.rows, self.n / self.cols]
    }

    /// The largest tile side: quantisation steps are set for it.
    pub(crate) fn side(&self) -> usize {
        self.m.div_ceil(self.rows).max(self.n.div_ceil(self.cols))
    }
}

/// One tile's leading singular triplets, component-major.
#[derive(Debug, Clone, Default)]
pub(crate) struct TileSvd {
    pub s: Vec<f32>,
    /// The leading σ's u, one after another (h each): for all of `s`, or only for those
    /// a threshold may still keep (see [`factor`]). (v is not kept: the quantiser refits it.)
    pub u: Vec<f32>,
    /// ‖tile‖²_F minus Σ σᵢ² of the components kept: what leaving all of them out costs
    /// beyond them.
    pub tail: f64,
    /// Whether components were left out by a truncated SVD (not by the floor): the tile
    /// a threshold below its last σ needs components it lacks.
    pub truncated: bool,
}

fn copy_tile(plane: &[f32], n: usize, (y, h, x, w): (usize, usize, usize, usize)) -> Vec<f32> {
    let mut a = Vec::with_capacity(h * w);
    for r in y..y + h {
        a.extend_from_slice(&plane[r * n + x..r * n + x + w]);
    }
    a
}

/// The triplets of `f` with σ ≥ `floor`, and the energy the rest carries.
fn keep(f: &Factors<f32>, total: f64, floor: f32) -> TileSvd {
    let s = f.singular_values();
    let k = s.iter().take_while(|&&s| s > 0.0 && s >= floor).count();
    let u: Vec<f32> = (0..k).flat_map(|i| f.u().col(i).iter().copied()).collect();
    keep_flat(&s[..k], &u, f.nrows(), total, floor)
}

/// [`keep`] of σ (descending) and u (one vector of length `h` after another).
fn keep_flat(s: &[f32], u: &[f32], h: usize, total: f64, floor: f32) -> TileSvd {
    let k = s.iter().take_while(|&&s| s > 0.0 && s >= floor).count();
    let kept: f64 = s[..k].iter().map(|&s| f64::from(s).powi(2)).sum();
    TileSvd {
        s: s[..k].to_vec(),
        u: u[..(k * h).min(u.len())].to_vec(),
        tail: (total - kept).max(0.0),
        truncated: false,
    }
}

fn energy(a: &[f32]) -> f64 {
    a.iter().map(|&x| f64::from(x).powi(2)).sum()
}

/// Tiles up to this many rows take σ and u from [`super::gram`]; larger ones faer's SVD.
/// Measured, 2 threads: 32-pixel tiles of a 1 MP plane 0.035 s against 0.06 s. At 64 rows
/// faer's SVD was faster until the Gram solver formed only the vectors a threshold keeps:
/// `compress --layout tiled --tile 64` of a 1200×900 photo then took 0.39 s against
/// 0.65 s with faer's (median of 5, interleaved).
const GRAM_ROWS: usize = 64;

/// Tiles factored together: the small solver's QR steps of this many tiles run side by
/// side (see [`super::qr`]). Measured on the 32×32 tiles of the gray coffee and astronaut
/// photos, one core, best of 7: σ alone took 63 and 56 µs a tile one at a time, 50 and 41
/// four at a time, 52 and 42 eight at a time; with the vectors of σ ≥ 0.1, 83/90, 67/78
/// and 73/80 µs.
const GROUP: usize = 4;

/// The exact σ of every tile of `plane` (row-major m×n) down to `floor`, with u for the
/// σ ≥ `limit` (all of them when `limit` is at most `floor`), tiles in parallel.
pub(crate) fn factor(plane: &[f32], grid: &Grid, floor: f32, limit: f32) -> Result<Vec<TileSvd>> {
    let all: Vec<usize> = (0..grid.len()).collect();
    all.par_chunks(GROUP)
        .flat_map_iter(|group| factor_group(plane, grid, group, floor, limit))
        .collect()
}

/// Tile `t` of [`factor`].
pub(crate) fn factor_tile(
    plane: &[f32],
    grid: &Grid,
    t: usize,
    floor: f32,
    limit: f32,
) -> Result<TileSvd> {
    factor_group(plane, grid, &[t], floor, limit).remove(0)
}

/// The tiles at `which` of [`factor`], on one thread: those up to [`GRAM_ROWS`] rows
/// together by the small solver, the others (and any it did not converge on) by faer's SVD.
fn factor_group(
    plane: &[f32],
    grid: &Grid,
    which: &[usize],
    floor: f32,
    limit: f32,
) -> Vec<Result<TileSvd>> {
    let data: Vec<(Vec<f32>, usize, usize)> = which
        .iter()
        .map(|&t| {
            let rect = grid.rect(t);
            (copy_tile(plane, grid.n, rect), rect.1, rect.3)
        })
        .collect();
    let small: Vec<usize> = (0..data.len())
        .filter(|&i| data[i].1 <= GRAM_ROWS)
        .collect();
    let tiles: Vec<super::gram::Tile> = small
        .iter()
        .map(|&i| super::gram::Tile {
            a: &data[i].0,
            h: data[i].1,
            w: data[i].2,
        })
        .collect();
    let mut solved = vec![None; data.len()];
    for (&i, found) in small
        .iter()
        .zip(super::gram::left_factors(&tiles, limit.max(floor)))
    {
        solved[i] = found.ok();
    }
    data.iter()
        .zip(solved)
        .map(|((a, h, w), found)| {
            Ok(match found {
                Some((s, u)) => keep_flat(&s, &u, *h, energy(a), floor),
                None => {
                    let f =
                        Factors::compute_with(MatRef::from_row_major_slice(a, *h, *w), Par::Seq)?;
                    keep(&f, energy(a), floor)
                }
            })
        })
        .collect()
}

/// The σ of every `stride`-th tile of `plane` (no vectors), and the energy beyond them.
pub(crate) fn sample_values(plane: &[f32], grid: &Grid, stride: usize, floor: f32) -> Vec<TileSvd> {
    let which: Vec<usize> = (0..grid.len()).step_by(stride).collect();
    which
        .par_chunks(GROUP)
        .flat_map_iter(|group| factor_group(plane, grid, group, floor, f32::INFINITY))
        .filter_map(|svd| svd.ok())
        .collect()
}

/// The plane as one tile, with its `rank` leading components: from a randomized SVD, or
/// the exact one when `rank` is min(m, n).
pub(crate) fn factor_global(
    plane: &[f32],
    m: usize,
    n: usize,
    rank: usize,
    randomized: &Randomized,
    par: Par,
) -> Result<TileSvd> {
    let a = MatRef::from_row_major_slice(plane, m, n);
    let f = if rank >= m.min(n) {
        Factors::compute_with(a, par)?
    } else {
        Factors::compute_truncated(a, rank, Method::Randomized, randomized, par)?
    };
    let mut svd = keep(&f, energy(plane), 0.0);
    svd.truncated = rank < m.min(n);
    Ok(svd)
}

/// One tile's stored components.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TileCode {
    /// Per component, its code g.
    pub g: Vec<u8>,
    /// k × h.
    pub u: Vec<i32>,
    /// k × w.
    pub v: Vec<i32>,
    /// Per component: bit 0 set when `u` holds DCT coefficients, bit 1 for `v`.
    pub dct: Vec<u8>,
}

impl TileCode {
    pub(crate) fn rank(&self) -> usize {
        self.g.len()
    }
}

/// The scale `Δ 2^(−g/4)` of a component with code g, in f32 as the decoder computes it.
pub(crate) fn scale(delta: f32, g: u8) -> f32 {
    delta * (-f32::from(g) / CODE_STEPS).exp2()
}

/// The integers to store for a real vector `x` (in steps): its entries rounded, or its DCT
/// coefficients rounded when those cost fewer bits. Returns whether it is the DCT.
#[inline(always)]
fn choose(x: &[f32], dct: &Dct, axis: Axis, out: &mut Vec<i32>, scratch: &mut Vec<f32>) -> bool {
    let start = out.len();
    out.extend(x.iter().map(|&e| round(e)));
    if !dct.offers(x.len(), axis) {
        return false;
    }
    let direct = &out[start..];
    let direct_cost = cost(direct.iter().copied()).min(cost(deltas(direct)));
    dct.forward(x, axis, scratch);
    let coefficients: Vec<i32> = scratch.iter().map(|&c| round(c)).collect();
    if 7 * cost(coefficients.iter().copied()) < 10 * direct_cost {
        out.truncate(start);
        out.extend_from_slice(&coefficients);
        true
    } else {
        false
    }
}

/// Values under this many steps are stored as 0, not ±1: a dead zone a little wider than
/// rounding's. A ±1 costs several bits where a 0 costs a fraction of one, and the error it
/// would remove is small; the rate search then finds the PSNR with a finer step. Measured on
/// 22 photos at 30/35/40 dB: files 1.6% smaller (geometric mean) than with plain rounding;
/// 0.7 gained no more.
pub(super) const DEAD_ZONE: f32 = 0.6;

/// `x` rounded half away from zero (0 inside the dead zone) and clamped to ±2^24, without a
/// libm call: the cast truncates toward zero and saturates.
#[inline]
fn round(x: f32) -> i32 {
    if x.abs() < DEAD_ZONE {
        return 0;
    }
    let limit = (1 << 24) as f32;
    ((x + 0.5f32.copysign(x)) as i32).clamp(-(limit as i32), limit as i32)
}

/// Each entry minus the one before it (wrapping).
pub(crate) fn deltas(q: &[i32]) -> impl Iterator<Item = i32> + '_ {
    let mut prev = 0i32;
    q.iter().map(move |&x| {
        let d = x.wrapping_sub(prev);
        prev = x;
        d
    })
}

/// The real vector a stored one stands for: its entries, or the inverse DCT of its
/// coefficients.
#[inline(always)]
pub(crate) fn values(q: &[i32], is_dct: bool, dct: &Dct, axis: Axis, out: &mut [f32]) {
    if is_dct {
        dct.inverse(q, axis, out);
    } else {
        out.iter_mut().zip(q).for_each(|(o, &x)| *o = x as f32);
    }
}

/// Quantises the components of `svd` with σ ≥ `tau` at step `delta`, refitting each qᵥ by
/// least squares to what the components before it leave of the tile `a` (h×w row-major).
///
/// It runs under the widest SIMD the CPU has (AVX2 on most x86-64), chosen at run time.
/// These loops use no fused multiply-add and sum in a fixed order, so the results are the
/// same to the bit with or without it. A struct: a closure's call was compiled without the
/// features.
pub(crate) struct Quantize<'a> {
    pub a: &'a [f32],
    pub h: usize,
    pub w: usize,
    pub svd: &'a TileSvd,
    pub tau: f64,
    pub delta: f32,
    pub dct: &'a Dct,
}

impl Quantize<'_> {
    pub(crate) fn run(self) -> TileCode {
        pulp::Arch::new().dispatch(self)
    }
}

impl pulp::WithSimd for Quantize<'_> {
    type Output = TileCode;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> TileCode {
        let Quantize {
            a,
            h,
            w,
            svd,
            tau,
            delta,
            dct,
        } = self;
        let mut code = TileCode::default();
        let mut r = a.to_vec();
        let (mut target, mut x) = (vec![0f32; w], vec![0f32; h]);
        let (mut uf, mut vf, mut scratch) = (vec![0f32; h], vec![0f32; w], Vec::new());
        let formed = svd.u.len() / h.max(1);
        for (i, &sigma) in svd.s.iter().enumerate() {
            if f64::from(sigma) < tau {
                break;
            }
            if i >= formed {
                // The encoder forms the vectors a threshold keeps before quantising at it.
                debug_assert!(false, "tile vector {i} of {formed} not formed");
                break;
            }
            let g = (CODE_STEPS * (sigma / delta).log2())
                .round()
                .clamp(0.0, MAX_CODE as f32) as u8;
            let amp = (f32::from(g) / CODE_STEPS).exp2();
            x.iter_mut()
                .zip(&svd.u[i * h..(i + 1) * h])
                .for_each(|(x, &u)| *x = amp * u);
            let start = code.u.len();
            let u_dct = choose(&x, dct, Axis::U, &mut code.u, &mut scratch);
            values(&code.u[start..], u_dct, dct, Axis::U, &mut uf);
            let norm2: f32 = uf.iter().map(|&q| q * q).sum();
            if norm2 == 0.0 {
                code.u.truncate(start);
                break;
            }
            // qᵥ = round(Rᵀ ũ / (s ‖ũ‖²)).
            let s = scale(delta, g);
            target.iter_mut().for_each(|t| *t = 0.0);
            for (row, &q) in r.chunks_exact(w).zip(&uf) {
                if q != 0.0 {
                    target.iter_mut().zip(row).for_each(|(t, &x)| *t += q * x);
                }
            }
            let inv = 1.0 / (s * norm2);
            target.iter_mut().for_each(|t| *t *= inv);
            let start = code.v.len();
            let v_dct = choose(&target, dct, Axis::V, &mut code.v, &mut scratch);
            values(&code.v[start..], v_dct, dct, Axis::V, &mut vf);
            code.g.push(g);
            code.dct.push(u8::from(u_dct) | (u8::from(v_dct) << 1));
            subtract(&mut r, w, s, &uf, &vf);
        }
        code
    }
}

/// `r -= s ũ ṽᵀ` over an h×w row-major tile.
#[inline(always)]
fn subtract(r: &mut [f32], w: usize, s: f32, u: &[f32], v: &[f32]) {
    for (row, &q) in r.chunks_exact_mut(w).zip(u) {
        if q != 0.0 {
            let c = s * q;
            row.iter_mut().zip(v).for_each(|(x, &v)| *x -= c * v);
        }
    }
}

/// Adds `Σ sᵢ ũ ṽᵀ` over the first `rank` components of `code`, tile rows `rows`, to the
/// tile at `rect` of a buffer of plane rows from `first` on (row-major, `n` columns). The
/// encoder measures with this very code, so its PSNR is what the decoder gets. It runs
/// under SIMD dispatch as [`Quantize`] does, with the same results to the bit.
pub(crate) struct Rebuild<'a> {
    pub code: &'a TileCode,
    pub rank: usize,
    pub delta: f32,
    pub dct: &'a Dct,
    pub out: &'a mut [f32],
    pub n: usize,
    pub first: usize,
    pub rect: (usize, usize, usize, usize),
    pub rows: std::ops::Range<usize>,
}

impl Rebuild<'_> {
    pub(crate) fn run(self) {
        pulp::Arch::new().dispatch(self)
    }
}

impl pulp::WithSimd for Rebuild<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Rebuild {
            code,
            rank,
            delta,
            dct,
            out,
            n,
            first,
            rect: (y, h, x, w),
            rows,
        } = self;
        let (mut uf, mut vf) = (vec![0f32; h], vec![0f32; w]);
        for i in 0..rank.min(code.rank()) {
            let s = scale(delta, code.g[i]);
            values(
                &code.u[i * h..(i + 1) * h],
                code.dct[i] & 1 != 0,
                dct,
                Axis::U,
                &mut uf,
            );
            values(
                &code.v[i * w..(i + 1) * w],
                code.dct[i] & 2 != 0,
                dct,
                Axis::V,
                &mut vf,
            );
            for r in rows.clone() {
                let q = uf[r];
                if q != 0.0 {
                    let c = s * q;
                    let at = (y + r - first) * n + x;
                    out[at..at + w]
                        .iter_mut()
                        .zip(&vf)
                        .for_each(|(o, &v)| *o += c * v);
                }
            }
        }
    }
}

/// The tiles of a plane decoded: every tile's first `rank` components, rows of tiles in
/// parallel.
pub(crate) fn assemble(
    codes: &[TileCode],
    grid: &Grid,
    delta: f32,
    dct: &Dct,
    rank: usize,
) -> Vec<f32> {
    let mut plane = vec![0f32; grid.m * grid.n];
    let n = grid.n;
    // Each band of tile rows owns its rows of the plane.
    let mut bands: Vec<(usize, &mut [f32])> = Vec::with_capacity(grid.rows);
    let mut rest = &mut plane[..];
    for row in 0..grid.rows {
        let (y, h, _, _) = grid.rect(row * grid.cols);
        let (band, tail) = rest.split_at_mut(h * n);
        bands.push((y, band));
        rest = tail;
    }
    bands
        .into_par_iter()
        .enumerate()
        .for_each(|(row, (y, band))| {
            for col in 0..grid.cols {
                let t = row * grid.cols + col;
                let rect = grid.rect(t);
                Rebuild {
                    code: &codes[t],
                    rank,
                    delta,
                    dct,
                    out: band,
                    n,
                    first: y,
                    rect,
                    rows: 0..rect.1,
                }
                .run();
            }
        });
    plane
}

/// Plane rows `a..b` decoded (all components), from the tiles that cover them.
pub(crate) fn assemble_rows(
    codes: &[TileCode],
    grid: &Grid,
    delta: f32,
    dct: &Dct,
    a: usize,
    b: usize,
) -> Vec<f32> {
    let mut out = vec![0f32; (b - a) * grid.n];
    if a >= b {
        return out;
    }
    // Only the rows of tiles that meet rows a..b (a tall image has tens of thousands).
    let tiles = grid.row_of(a) * grid.cols..(grid.row_of(b - 1) + 1) * grid.cols;
    for (t, code) in codes
        .iter()
        .enumerate()
        .take(grid.len())
        .skip(tiles.start)
        .take(tiles.len())
    {
        let rect @ (y, h, _, _) = grid.rect(t);
        if y < b && y + h > a {
            let rows = a.max(y) - y..b.min(y + h) - y;
            Rebuild {
                code,
                rank: usize::MAX,
                delta,
                dct,
                out: &mut out,
                n: grid.n,
                first: a,
                rect,
                rows,
            }
            .run();
        }
    }
    out
}

/// Copies tile `t` of `plane` out, row-major.
pub(crate) fn tile_of(plane: &[f32], grid: &Grid, t: usize) -> Vec<f32> {
    copy_tile(plane, grid.n, grid.rect(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_of_tiles_of_every_pixel_row() {
        for (m, tile) in [
            (1, 32),
            (31, 32),
            (130, 64),
            (900_001, 32),
            (203, 16),
            (64, 64),
        ] {
            let g = Grid::new(m, 5, tile);
            for y in (0..m).step_by(m / 997 + 1).chain([m - 1]) {
                let r = g.row_of(y);
                let (y0, h, _, _) = g.rect(r * g.cols);
                assert!(y0 <= y && y < y0 + h, "m {m} tile {tile} y {y}: row {r}");
            }
        }
    }

    #[test]
    fn tiles_cover_the_plane_once() {
        let g = Grid::new(130, 67, 64);
        assert_eq!((g.rows, g.cols), (3, 2));
        let mut seen = vec![0u8; 130 * 67];
        for t in 0..g.len() {
            let (y, h, x, w) = g.rect(t);
            assert!((43..=44).contains(&h) && (33..=34).contains(&w));
            for r in y..y + h {
                for c in x..x + w {
                    seen[r * 67 + c] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
        assert_eq!(Grid::new(10, 10, 4096).len(), 1);
    }

    #[test]
    fn quantised_tiles_decode_to_the_refit_residual() {
        let (h, w) = (20, 30);
        let a: Vec<f32> = (0..h * w)
            .map(|i| ((i % w) as f32 * 0.1).sin() * ((i / w) as f32 * 0.2).cos() + 0.5)
            .collect();
        let grid = Grid::new(h, w, 64);
        let svd = factor(&a, &grid, 0.0, 0.0).unwrap().remove(0);
        let delta = 1e-3;
        let dct = Dct::new(grid.lengths());
        let code = Quantize {
            a: &a,
            h,
            w,
            svd: &svd,
            tau: 0.0,
            delta,
            dct: &dct,
        }
        .run();
        assert!(code.rank() >= 2);
        // The smooth leading vectors are cheaper as DCT coefficients.
        assert!(code.dct[0] != 0, "{:?}", code.dct);
        let plane = assemble(&[code], &grid, delta, &dct, usize::MAX);
        let err: f64 = plane
            .iter()
            .zip(&a)
            .map(|(x, y)| f64::from(x - y).powi(2))
            .sum::<f64>()
            / (h * w) as f64;
        // Δ²/12 per integer, (h + w) integers per component, spread over the tile.
        assert!(err < 1e-5, "mean squared error {err}");
    }
}
