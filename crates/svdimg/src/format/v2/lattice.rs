//! A gray photo that was a JPEG: stored on the grid its JPEG was quantised on.
//!
//! A JPEG stores each aligned 8×8 block as its 2D DCT coefficients, coefficient k a
//! multiple of the table's step Qₖ. Decoded to pixels, the blocks keep that structure up to
//! the rounding of each pixel (about 0.3 levels per coefficient), and a JPEG encoder at a
//! matching quality lands on the same multiples again: near-lossless for the bytes of the
//! original. No SVD basis does (measured on scikit-image's coins at 40 dB: 1.16 times the
//! strong JPEG's bytes with the best learnt layout).
//!
//! So when every block's coefficients of the gray plane lie on such a grid, the encoder
//! also tries the patch layout (8×8 patches, the square flag) with the DCT basis as its
//! components: component k is the map of coefficient k over the patches (qᵤ, in steps Qₖ)
//! times the basis patch k (qᵥ, one 2D DCT coefficient). The decoder needs nothing new but
//! the square flag: these are rank-one components like any other. Each frequency's step is
//! one flat step F rounded to a multiple of its grid step (the largest F whose file reaches
//! the target), and the smaller file of this and the other layouts wins.

use std::borrow::Cow;

use rayon::prelude::*;

use super::candidate::{Candidate, Quantised, Shape};
use super::dct::{basis64, Dct};
use super::input::Input;
use super::patches;
use super::plane::Plane;
use super::rebuild::rebuild;
use super::tiles::{Grid, TileCode, CODE_STEPS, DEAD_ZONE};
use crate::format::color::StoredColor;
use crate::format::measure::{level_psnr, LevelPlane};
use crate::format::options::Target;

/// JPEG's block side.
const SIDE: usize = 8;
/// Coefficients per block.
const K: usize = SIDE * SIDE;
/// How far (in levels) a coefficient may lie from a multiple of its step and still count
/// as on it: about 2.5 times the spread that rounding each pixel to a level gives.
const TOLERANCE: f64 = 0.75;
/// Coefficients smaller than this (in levels) are rounding noise around 0, not witnesses of
/// a step (5 times the noise's spread; a step of 2 puts every other value at 2 or more).
const SIGNIFICANT: f64 = 1.5;
/// The share of a frequency's significant coefficients that must lie on its step: less
/// than all, as blocks clipped to black or white leave it.
const ON_GRID: f64 = 0.85;
/// A frequency with at least this many significant coefficients witnesses the grid or its
/// absence; three quarters of those must show a step, the DC and the two lowest among them.
const WITNESSES: usize = 32;
/// At most this many blocks are read to find the steps (the DC alone tries up to 254 steps
/// on each).
const DETECT_BLOCKS: usize = 4096;
/// At most about this many patches are read to predict a PSNR.
const PREDICT_PATCHES: usize = 4096;
/// The smallest |qᵥ| that carries a step: its relative precision is then better than 1/8192.
const C_MIN: f64 = 4096.0;
/// The largest |qᵥ|.
const C_MAX: f64 = (1 << 24) as f64;
/// The largest flat step tried, in grid steps of the coarsest frequency.
const FLAT_MAX: f64 = 4.0;

/// The 8-point orthonormal DCT basis, row k, in f64 (the decoder's, before rounding).
fn basis() -> [[f64; SIDE]; SIDE] {
    std::array::from_fn(|k| std::array::from_fn(|j| basis64(SIDE, k, j)))
}

/// The 2D DCT of one 8×8 patch (row-major, in levels minus 128), coefficient k·8 + l.
fn transform(patch: &[f32], b: &[[f64; SIDE]; SIDE]) -> [f64; K] {
    // Rows first (coefficient l of each row), then columns.
    let mut rows = [0.0; K];
    for a in 0..SIDE {
        for l in 0..SIDE {
            rows[a * SIDE + l] = (0..SIDE)
                .map(|c| b[l][c] * f64::from(patch[a * SIDE + c]))
                .sum();
        }
    }
    let mut out = [0.0; K];
    for k in 0..SIDE {
        for l in 0..SIDE {
            out[k * SIDE + l] = (0..SIDE).map(|a| b[k][a] * rows[a * SIDE + l]).sum();
        }
    }
    out
}

/// The steps of a JPEG's table, per coefficient k·8 + l in levels (0 where every block's
/// coefficient is 0), found in `coefficients` (a block's 64 after another); `None` when the
/// blocks do not lie on one.
fn steps(coefficients: &[[f64; K]]) -> Option<[f64; K]> {
    let mut steps = [0.0; K];
    let (mut witnessed, mut shown) = (0, 0);
    for (k, step) in steps.iter_mut().enumerate() {
        let significant: Vec<f64> = coefficients
            .iter()
            .map(|c| c[k])
            .filter(|x| x.abs() >= SIGNIFICANT)
            .collect();
        if significant.is_empty() {
            continue;
        }
        let fits = |q: f64| {
            let on = significant
                .iter()
                .filter(|&&x| (x - q * round(x / q)).abs() <= TOLERANCE)
                .count();
            on as f64 >= ON_GRID * significant.len() as f64
        };
        // The largest step the coefficients fit: multiples of the true step fail on its
        // odd multiples, and every divisor of it fits as well as it does.
        let largest = significant.iter().fold(0f64, |a, &x| a.max(x.abs()));
        let q = (2..=(largest.round() as i64).clamp(2, 255))
            .rev()
            .map(|q| q as f64)
            .find(|&q| fits(q));
        if q.is_none() && [0, 1, SIDE].contains(&k) {
            return None;
        }
        if significant.len() >= WITNESSES {
            witnessed += 1;
            shown += usize::from(q.is_some());
        }
        // Off any grid (noise, clipped blocks): the largest step of the lower frequencies
        // in its row and column, as JPEG's tables grow with frequency; filled in below.
        *step = q.unwrap_or(-1.0);
    }
    if [0, 1, SIDE].iter().any(|&k| steps[k] < 2.0) || 4 * shown < 3 * witnessed {
        return None;
    }
    for k in 0..K {
        if steps[k] < 0.0 {
            let (i, j) = (k / SIDE, k % SIDE);
            steps[k] = (0..=i)
                .flat_map(|a| (0..=j).map(move |b| a * SIDE + b))
                .map(|x| steps[x])
                .fold(1.0, f64::max);
        }
    }
    Some(steps)
}

/// The gray plane's blocks, DCT'd: one row of 64 coefficients per patch of the patch
/// matrix (edge patches padded by repeating the last row and column, as JPEG pads).
fn coefficients(levels: &[u8], m: usize, n: usize) -> Vec<[f32; K]> {
    let centred: Vec<f32> = levels.iter().map(|&l| f32::from(l) - 128.0).collect();
    let matrix = patches::to_matrix(&centred, m, n, SIDE);
    let b = basis();
    // In f32 (half the memory at 24 MP: 96 MB): a coefficient of up to 2040 levels keeps
    // 0.0002 of a level.
    matrix
        .par_chunks_exact(K)
        .map(|patch| transform(patch, &b).map(|x| x as f32))
        .collect()
}

/// The plane's JPEG steps, if its whole blocks lie on a grid: read on at most
/// [`DETECT_BLOCKS`] of them, leaving out blocks with a pixel at 0 or 255 (clipped by the
/// JPEG's decoder, so off the grid).
fn detect(levels: &[u8], m: usize, n: usize) -> Option<[f64; K]> {
    let (rows, cols) = (m / SIDE, n / SIDE);
    let every = (rows * cols).div_ceil(DETECT_BLOCKS).max(1);
    let b = basis();
    let sampled: Vec<[f64; K]> = (0..rows * cols)
        .step_by(every)
        .collect::<Vec<_>>()
        .par_iter()
        .filter_map(|&i| {
            let (y, x) = (i / cols * SIDE, i % cols * SIDE);
            let mut patch = [0f32; K];
            for a in 0..SIDE {
                for c in 0..SIDE {
                    let level = levels[(y + a) * n + x + c];
                    if level == 0 || level == 255 {
                        return None;
                    }
                    patch[a * SIDE + c] = f32::from(level) - 128.0;
                }
            }
            Some(transform(&patch, &b))
        })
        .collect();
    if sampled.len() < 16 {
        return None;
    }
    steps(&sampled)
}

/// One component to store: its step in plane units per integer and its integers.
struct Part {
    /// Which basis patch (k·8 + l).
    k: usize,
    scale: f64,
    u: Vec<i32>,
}

/// The components at `steps`: per frequency the map of its coefficient in its step (rounded
/// plainly where the step is the `grid`'s, with the dead zone elsewhere), the DC's with the
/// 1024 that the centring took off (in whole steps, the rest as a constant component where
/// there is room for one).
fn parts(coefficients: &[[f32; K]], grid: &[f64; K], steps: &[f64; K], max: f64) -> Vec<Part> {
    let mut out = Vec::new();
    let mut rest = 0.0;
    for (k, &step) in steps.iter().enumerate() {
        if step == 0.0 {
            continue;
        }
        let on_grid = step == grid[k];
        // 128 levels per pixel are 1024 on the DC (8 × 128).
        let offset = if k == 0 { (1024.0 / step).round() } else { 0.0 };
        let u: Vec<i32> = coefficients
            .iter()
            .map(|c| (rounded(f64::from(c[k]) / step, on_grid) + offset) as i32)
            .collect();
        if k == 0 {
            rest = 1024.0 - offset * step;
        }
        if u.iter().any(|&x| x != 0) {
            out.push(Part {
                k,
                scale: step / max,
                u,
            });
        }
    }
    // A patch holds at most 64 components: with every frequency present the rest stays
    // off, a bias of at most an eighth of half the DC's step on every pixel.
    if rest.abs() > 1e-9 && out.len() < K {
        out.push(Part {
            k: 0,
            scale: rest / max,
            u: vec![1; coefficients.len()],
        });
    }
    out
}

/// A coefficient in steps, rounded: plainly on the grid, and with the other layouts' dead
/// zone off it (measured on the gray JPEGs: 0.5, 0.7 and 0.8 steps gave larger files as often
/// as smaller).
#[inline]
fn rounded(x: f64, on_grid: bool) -> f64 {
    if !on_grid && x.abs() < f64::from(DEAD_ZONE) {
        0.0
    } else {
        round(x)
    }
}

/// `x.round()` (half away from zero) without a libm call, for |x| < 2^52: the cast
/// truncates toward zero.
#[inline]
fn round(x: f64) -> f64 {
    (x + 0.5f64.copysign(x)) as i64 as f64
}

/// The squared error (in levels², over every patch) that rounding to `steps` leaves in the
/// coefficients: the picture's own, by Parseval, but for the rounding of each pixel to a
/// level, the pixels clipped, and the padded edges.
fn error(coefficients: &[[f32; K]], grid: &[f64; K], steps: &[f64; K]) -> f64 {
    coefficients
        .par_iter()
        .map(|c| {
            let mut sum = 0.0;
            for k in 0..K {
                let x = f64::from(c[k]);
                let e = match steps[k] {
                    0.0 => x,
                    step => x - step * rounded(x / step, step == grid[k]),
                };
                sum += e * e;
            }
            sum
        })
        .sum()
}

/// The step Δ and the one tile's codes of `parts`: codes from each map's size (what the
/// range coder's contexts expect of a component), in decreasing order, and each qᵥ the
/// integer that makes Δ·2^(−g/4)·qᵥ the part's step.
fn codes(mut parts: Vec<Part>) -> (f32, TileCode) {
    let smallest = parts
        .iter()
        .fold(f64::INFINITY, |a, p| a.min(p.scale.abs()));
    let delta = (smallest / C_MIN) as f32;
    let mut coded: Vec<(u8, i32, Part)> = parts
        .drain(..)
        .map(|p| {
            let norm =
                p.u.iter()
                    .map(|&x| f64::from(x).powi(2))
                    .sum::<f64>()
                    .sqrt();
            // The largest code whose qᵥ stays within C_MAX.
            let cap =
                (f64::from(CODE_STEPS) * (C_MAX * f64::from(delta) / p.scale.abs()).log2()).floor();
            let g = (f64::from(CODE_STEPS) * norm.max(1.0).log2())
                .round()
                .min(cap)
                .clamp(0.0, 128.0) as u8;
            let s = f64::from(super::tiles::scale(delta, g));
            (g, (p.scale / s).round() as i32, p)
        })
        .collect();
    coded.sort_by(|a, b| b.0.cmp(&a.0).then(a.2.k.cmp(&b.2.k)));
    let mut code = TileCode::default();
    for (g, c, p) in coded {
        code.g.push(g);
        code.u.extend_from_slice(&p.u);
        let mut v = [0i32; K];
        v[p.k] = c;
        code.v.extend_from_slice(&v);
        code.dct.push(2);
    }
    (delta, code)
}

/// The patch layout with the DCT's basis, ready for [`super::codec::write`]: one plane of
/// one tile, no factors.
fn candidate(m: usize, n: usize) -> Candidate<'static> {
    let (rows, cols) = patches::matrix_size(m, n, SIDE);
    let grid = Grid::new(rows, cols, rows.max(cols));
    Candidate {
        shape: Shape::Patches(SIDE),
        tile: SIDE as u32,
        half: false,
        planes: vec![Plane::new(
            grid,
            Cow::Owned(Vec::new()),
            Vec::new(),
            1.0,
            0.0,
        )],
        halving: 0.0,
        norm: 1.0,
        step_factor: 1.0,
        dct: Dct::new(grid.lengths()).square(Some(SIDE)),
    }
}

/// The file of a gray 8-bit image that was a JPEG: for a PSNR, at the largest flat step
/// that reaches it; for a byte budget, at the smallest that fits. `None` for other images,
/// when even the JPEG's own steps fall short of the PSNR, or the coarsest steps tried do not
/// fit.
pub(super) fn compress(input: &Input, target: Target) -> Option<(Vec<u8>, Quantised)> {
    let (StoredColor::Gray, [LevelPlane::Eight(levels)]) = (input.color, input.levels) else {
        return None;
    };
    let (m, n) = (input.m, input.n);
    // A tile holds at most as many components as its rows: fewer than 64 patches cannot
    // hold every frequency.
    if patches::matrix_size(m, n, SIDE).0 < K {
        return None;
    }
    let steps = detect(levels, m, n)?;
    let coefficients = coefficients(levels, m, n);
    let c = candidate(m, n);
    let grids = [c.planes[0].grid];
    // One flat step F for every frequency (what minimises the squared error for the bits at
    // these rates), snapped to a multiple of each frequency's grid step, so that whatever
    // lies on the grid stays on it (measured on the coins at 40 dB: 20,748 bytes, against
    // 25,965 with every grid step scaled by one factor).
    let at = |flat: f64| -> [f64; K] {
        let mut out = steps;
        for q in out.iter_mut().filter(|q| **q > 0.0) {
            *q *= (flat / *q).round().max(1.0);
        }
        out
    };
    let coarsest = steps.iter().fold(0f64, |a, &b| a.max(b));
    let codes_at = |flat: f64| {
        let (delta, code) = codes(parts(&coefficients, &steps, &at(flat), input.max));
        (delta, vec![vec![code]])
    };
    let measure = |(delta, codes): (f32, Vec<Vec<TileCode>>)| {
        let decoded = rebuild(
            &codes,
            &grids,
            &[delta],
            false,
            0,
            Some(SIDE),
            true,
            input.color,
            m,
            n,
            usize::MAX,
        );
        let d: Vec<&[f32]> = decoded.iter().map(|p| &p[..]).collect();
        let psnr = level_psnr(&d, input.levels, input.max);
        Quantised {
            deltas: vec![delta],
            codes,
            deblock: 0,
            psnr,
        }
    };
    let quantise = |flat: f64| measure(codes_at(flat));
    let db = match target {
        Target::Psnr(db) => db,
        Target::MaxBytes(budget) => {
            // The file shrinks as the flat step grows: the finest step that fits.
            let fits = |flat: f64| {
                let (delta, codes) = codes_at(flat);
                let q = Quantised {
                    deltas: vec![delta],
                    codes,
                    deblock: 0,
                    psnr: f64::NAN,
                };
                (super::codec::write(&c, &q, input).len() as u64 <= budget).then_some(q)
            };
            let (mut lo, mut hi) = (1.0, FLAT_MAX * coarsest);
            let mut found = match fits(1.0) {
                Some(q) => Some(q),
                None => {
                    let mut found = Some(fits(hi)?);
                    for _ in 0..8 {
                        let mid = (lo * hi).sqrt();
                        match fits(mid) {
                            Some(q) => (hi, found) = (mid, Some(q)),
                            None => lo = mid,
                        }
                    }
                    found
                }
            };
            let q = found.take()?;
            let q = measure((q.deltas[0], q.codes));
            return Some((super::codec::write(&c, &q, input), q));
        }
        _ => return None,
    };
    // The prediction reads every `every`-th patch (about 20,000).
    let every = coefficients.len().div_ceil(PREDICT_PATCHES).max(1);
    let sample: Vec<[f32; K]> = coefficients.iter().step_by(every).copied().collect();
    let scale = coefficients.len() as f64 / sample.len() as f64 / (m * n) as f64;
    let squared = |flat: f64| error(&sample, &steps, &at(flat)) * scale;
    let mse = |psnr: f64| input.max.powi(2) / 10f64.powf(psnr / 10.0);
    let predicted = |flat: f64, extra: f64| {
        10.0 * (input.max.powi(2) / (squared(flat) + extra).max(1e-12)).log10()
    };
    // At a flat step of 1 every frequency keeps its grid step: the JPEG's own picture. The
    // step is known to meet the target up to `lo` and to miss it from `hi`.
    let (mut lo, mut hi) = (1.0, FLAT_MAX * coarsest);
    let mut extra = 1.0 / 12.0;
    let mut best: Option<Quantised> = None;
    let mut tried: Vec<[f64; K]> = Vec::new();
    for _ in 0..4 {
        let (mut a, mut b) = (lo, hi);
        if predicted(b, extra) >= db {
            a = b;
        }
        for _ in 0..16 {
            let mid = (a * b).sqrt();
            if predicted(mid, extra) >= db {
                a = mid;
            } else {
                b = mid;
            }
        }
        // The steps are snapped: a new flat step may give steps already measured.
        if tried.contains(&at(a)) {
            break;
        }
        tried.push(at(a));
        let q = quantise(a);
        extra = mse(q.psnr) - squared(a);
        if q.psnr >= db {
            lo = a;
            best = Some(q);
            if a >= hi {
                break;
            }
        } else {
            hi = a;
        }
    }
    let best = match best {
        Some(q) => q,
        None => Some(quantise(1.0)).filter(|q| q.psnr >= db)?,
    };
    let bytes = super::codec::write(&c, &best, input);
    Some((bytes, best))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture of `m`×`n` levels whose blocks lie on `table` (a JPEG's decode, rounded).
    fn jpeg_like(m: usize, n: usize, table: &[f64; K], seed: u64) -> Vec<u8> {
        let b = basis();
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        let mut out = vec![0u8; m * n];
        for by in 0..m.div_ceil(SIDE) {
            for bx in 0..n.div_ceil(SIDE) {
                let mut c = [0.0; K];
                for (k, x) in c.iter_mut().enumerate() {
                    let (i, j) = (k / SIDE, k % SIDE);
                    // Smaller coefficients at higher frequencies, as in photos.
                    let amp = 200.0 / (1.0 + (i + j) as f64).powi(2);
                    *x = (next() * amp / table[k]).round() * table[k];
                }
                for a in 0..SIDE {
                    for cc in 0..SIDE {
                        let (y, x) = (by * SIDE + a, bx * SIDE + cc);
                        if y < m && x < n {
                            let mut v = 128.0;
                            for k in 0..SIDE {
                                for l in 0..SIDE {
                                    v += c[k * SIDE + l] * b[k][a] * b[l][cc];
                                }
                            }
                            out[y * n + x] = v.round().clamp(0.0, 255.0) as u8;
                        }
                    }
                }
            }
        }
        out
    }

    fn table(q: f64) -> [f64; K] {
        let mut t = [0.0; K];
        for (k, x) in t.iter_mut().enumerate() {
            *x = (q * (1.0 + ((k / SIDE) + (k % SIDE)) as f64 / 2.0)).round();
        }
        t
    }

    #[test]
    fn the_steps_of_a_jpeg_like_picture_are_found_and_noise_has_none() {
        let t = table(4.0);
        let levels = jpeg_like(96, 120, &t, 7);
        let found = detect(&levels, 96, 120).expect("a grid");
        for k in [0, 1, 8, 9, 2, 16] {
            assert_eq!(found[k], t[k], "coefficient {k}: {found:?}");
        }
        // Shifted by a pixel, the blocks are off the grid.
        let shifted: Vec<u8> = (0..96 * 119)
            .map(|i| levels[(i / 119) * 120 + i % 119 + 1])
            .collect();
        assert!(detect(&shifted, 96, 119).is_none());
        let mut state = 1u32;
        let noise: Vec<u8> = (0..96 * 120)
            .map(|_| {
                state = state.wrapping_mul(1664525).wrapping_add(1013904223);
                (state >> 24) as u8
            })
            .collect();
        assert!(detect(&noise, 96, 120).is_none());
    }

    #[test]
    fn at_the_jpegs_own_steps_the_picture_comes_back_to_the_level() {
        let (m, n) = (61, 83);
        let t = table(3.0);
        let levels = jpeg_like(m, n, &t, 11);
        let steps = detect(&levels, m, n).expect("a grid");
        let coefficients = coefficients(&levels, m, n);
        let (delta, code) = codes(parts(&coefficients, &steps, &steps, 255.0));
        assert!(code.g.windows(2).all(|w| w[0] >= w[1]), "{:?}", code.g);
        let grid = candidate(m, n).planes[0].grid;
        let decoded = rebuild(
            &[vec![code]],
            &[grid],
            &[delta],
            false,
            0,
            Some(SIDE),
            true,
            StoredColor::Gray,
            m,
            n,
            usize::MAX,
        );
        // The whole blocks decode to the same levels (the padded edge blocks need not).
        let (rows, cols) = (m / SIDE * SIDE, n / SIDE * SIDE);
        let mut off = 0;
        for y in 0..rows {
            for x in 0..cols {
                let level = (decoded[0][y * n + x] * 255.0).round().clamp(0.0, 255.0) as u8;
                off += usize::from(level != levels[y * n + x]);
            }
        }
        assert!(
            off * 1000 <= rows * cols,
            "{off} of {} levels differ",
            rows * cols
        );
    }
}
