//! A photo that was a JPEG: stored on the grid its JPEG was quantised on.
//!
//! A JPEG stores each aligned 8×8 block as its 2D DCT coefficients, coefficient k a
//! multiple of the table's step Qₖ. Decoded to pixels, the blocks keep that structure up to
//! the rounding of each pixel (about 0.3 levels per coefficient), and a JPEG encoder at a
//! matching quality lands on the same multiples again: near-lossless for the bytes of the
//! original. No SVD basis does (measured on scikit-image's coins at 40 dB: 1.16 times the
//! strong JPEG's bytes with the best learnt layout).
//!
//! So when the blocks of a gray plane, or of one of a colour photo's planes in JPEG's own
//! Y Cb Cr ([`StoredColor::YCbCr601`]), lie on such a grid ([`grid`]), the encoder also tries
//! the patch layout (8×8 patches, the square flag) with the DCT basis as its components:
//! component k is the map of coefficient k over the patches (qᵤ, in its step) times the basis
//! patch k (qᵥ, one 2D DCT coefficient). The decoder needs nothing new but the square flag
//! and the colour model: these are rank-one components like any other. Each frequency's
//! step is a multiple of its grid step, chosen by a Lagrange multiplier ([`choice`]) for the
//! target, and the smaller file of this and the other layouts wins.

mod choice;
mod grid;
mod source;

use std::borrow::Cow;

use rayon::prelude::*;

use super::candidate::{Candidate, Shape};
use super::dct::Dct;
use super::input::Input;
use super::patches;
use super::plane::Plane;
use super::quantised::Quantised;
use super::rebuild::rebuild;
use super::tiles::{Grid, TileCode, CODE_STEPS};
use crate::format::color::StoredColor;
use crate::format::measure::level_psnr;
use crate::format::options::Target;
use choice::{rounded, Table};
use grid::{K, SIDE};
use source::{source, Source};

/// At most about this many patches are read to predict a PSNR.
const PREDICT_PATCHES: usize = 4096;
/// The smallest |qᵥ| that carries a step: its relative precision is then better than 1/8192.
const C_MIN: f64 = 4096.0;
/// The largest |qᵥ|.
const C_MAX: f64 = (1 << 24) as f64;
/// The Lagrange multipliers searched (squared levels per bit): below the first every
/// frequency keeps its grid step, above the last none is stored.
const LAMBDAS: (f64, f64) = (1e-3, 1e7);
/// The bytes predicted for a file on the grid may be this many times the rival's before it
/// is left unmade (see [`Lattice::may_beat`]; a 24 MP photo resized and saved as a JPEG, whose grid
/// loses, is predicted at 5-12 times the rival).
const RIVAL_MARGIN: f64 = 2.0;

/// One component to store: its step in plane units per integer and its integers.
struct Part {
    /// Which basis patch (k·8 + l).
    k: usize,
    scale: f64,
    u: Vec<i32>,
}

/// The components at `steps`: per frequency the map of its coefficient in its step (rounded
/// plainly where the step is the `grid`'s, with the dead zone elsewhere); where `shifted`
/// (gray and luma), the DC's with the 1024 that the centring took off (in whole steps, the
/// rest as a constant component where there is room for one). `columns[k]` holds
/// coefficient k of every patch ([`columns`]).
fn parts(
    columns: &[Vec<f32>],
    grid: &[f64; K],
    steps: &[f64; K],
    shifted: bool,
    max: f64,
) -> Vec<Part> {
    // 128 levels per pixel are 1024 on the DC (8 × 128).
    let offset = |k: usize, step: f64| match k == 0 && shifted {
        true => (1024.0 / step).round(),
        false => 0.0,
    };
    let mut out: Vec<Part> = steps
        .par_iter()
        .enumerate()
        .filter(|&(_, &step)| step != 0.0)
        .filter_map(|(k, &step)| {
            let on_grid = step == grid[k];
            let offset = offset(k, step);
            let u: Vec<i32> = columns[k]
                .iter()
                .map(|&c| (rounded(f64::from(c) / step, on_grid) + offset) as i32)
                .collect();
            u.iter().any(|&x| x != 0).then(|| Part {
                k,
                scale: step / max,
                u,
            })
        })
        .collect();
    let rest = match shifted && steps[0] != 0.0 {
        true => 1024.0 - offset(0, steps[0]) * steps[0],
        false => 0.0,
    };
    // A patch holds at most 64 components: with every frequency present the rest stays
    // off, a bias of at most an eighth of half the DC's step on every pixel.
    if rest.abs() > 1e-9 && out.len() < K {
        out.push(Part {
            k: 0,
            scale: rest / max,
            u: vec![1; columns[0].len()],
        });
    }
    out
}

/// Patches' coefficients by frequency: entry k holds coefficient k of every patch, so that
/// each frequency's map is read in order.
fn columns(coefficients: &[[f32; K]]) -> Vec<Vec<f32>> {
    (0..K)
        .into_par_iter()
        .map(|k| coefficients.iter().map(|c| c[k]).collect())
        .collect()
}

/// The step Δ and the one tile's codes of `parts`: codes from each map's size (what the
/// range coder's contexts expect of a component), in decreasing order, and each qᵥ the
/// integer that makes Δ·2^(−g/4)·qᵥ the part's step.
fn codes(mut parts: Vec<Part>) -> (f32, TileCode) {
    let smallest = parts
        .iter()
        .fold(f64::INFINITY, |a, p| a.min(p.scale.abs()));
    // A plane with every frequency left out stores no component; its step is still a
    // positive number, as the header requires.
    let delta = if parts.is_empty() {
        1.0
    } else {
        (smallest / C_MIN) as f32
    };
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

/// The patch layout with the DCT's basis, ready for [`super::codec::write`]: `planes`
/// planes of one tile, no factors.
fn candidate(m: usize, n: usize, planes: usize, half: bool) -> Candidate<'static> {
    let grid = |m: usize, n: usize| {
        let (rows, cols) = patches::matrix_size(m, n, SIDE);
        Grid::new(rows, cols, rows.max(cols))
    };
    let planes: Vec<Plane> = (0..planes)
        .map(|p| {
            let g = match half && p > 0 {
                true => grid(m.div_ceil(2), n.div_ceil(2)),
                false => grid(m, n),
            };
            Plane::new(g, Cow::Owned(Vec::new()), Vec::new(), 1.0, 0.0)
        })
        .collect();
    let dct = Dct::new(planes.iter().flat_map(|p| p.grid.lengths())).square(Some(SIDE));
    Candidate {
        shape: Shape::Patches(SIDE),
        tile: SIDE as u32,
        half,
        planes,
        halving: 0.0,
        norm: 1.0,
        step_factor: 1.0,
        dct,
    }
}

/// A file on a JPEG's grid: its bytes, PSNR, components per plane, colour model and chroma
/// size.
pub(super) struct Found {
    pub bytes: Vec<u8>,
    pub psnr: f64,
    pub ranks: Vec<usize>,
    pub color: StoredColor,
    pub half: bool,
}

/// One plane as JPEG coded it: its patches' coefficients (levels) and their grid steps.
struct Layer {
    /// By frequency ([`columns`]).
    columns: Vec<Vec<f32>>,
    grid: [f64; K],
    /// Whether its DC lacks JPEG's 1024 (gray and luma).
    shifted: bool,
}

/// A photo that was a JPEG, read as one: its planes in JPEG's terms, their grids, and each
/// frequency's choices measured on a sample of its patches (what predicts a file's bytes and
/// PSNR before it is made).
pub(super) struct Lattice<'a> {
    source: Source<'a>,
    grids: Vec<[f64; K]>,
    color: StoredColor,
    tables: Vec<Table>,
    m: usize,
    n: usize,
    max: f64,
}

/// The largest λ in [a, b] where `meets` holds (it holds at a, and fails from some λ on).
fn largest(meets: &dyn Fn(f64) -> bool, (mut a, mut b): (f64, f64)) -> f64 {
    if meets(b) {
        return b;
    }
    for _ in 0..40 {
        let mid = (a * b).sqrt();
        if meets(mid) {
            a = mid;
        } else {
            b = mid;
        }
    }
    a
}

impl<'a> Lattice<'a> {
    /// An 8-bit gray image, or (where `colour`) an RGB one, read on its JPEG's grid; `None`
    /// for other images and images too small to hold every frequency. `target` sets what
    /// halving the chroma may cost.
    pub(super) fn new(input: &Input<'a>, target: Target, colour: bool) -> Option<Self> {
        let (m, n) = (input.m, input.n);
        // A tile holds at most as many components as its rows: fewer than 64 patches cannot
        // hold every frequency.
        let patches = patches::matrix_size(m, n, SIDE).0;
        if patches < K {
            return None;
        }
        let mse = |psnr: f64| input.max.powi(2) / 10f64.powf(psnr / 10.0);
        // What halving the chroma may cost is measured against the target's error (for a
        // byte budget, 40 dB's).
        let reference = match target {
            Target::Psnr(db) => mse(db),
            _ => mse(40.0),
        };
        let (source, grids, color) = source(input, colour, reference)?;
        // The choices are measured on every `every`-th patch of each plane (about 4,096),
        // each counted `per` times; a half-size plane's error counts 4 times (each of its
        // samples covers four pixels).
        let weights = color.weights();
        let tables: Vec<Table> = (0..grids.len())
            .map(|p| {
                let (pm, pn) = source.size(p);
                let patches = patches::matrix_size(pm, pn, SIDE).0;
                let every = patches.div_ceil(PREDICT_PATCHES).max(1);
                let sampled: Vec<usize> = (0..patches).step_by(every).collect();
                let sample = source.coefficients(p, Some(&sampled));
                let area = if (pm, pn) == (m, n) { 1.0 } else { 4.0 };
                Table {
                    choices: choice::table(&sample, &grids[p]),
                    weight: weights[p] * area,
                    per: patches as f64 / sampled.len() as f64,
                }
            })
            .collect();
        Some(Lattice {
            source,
            grids,
            color,
            tables,
            m,
            n,
            max: input.max,
        })
    }

    /// The squared error per pixel predicted at multiplier λ.
    fn squared(&self, lambda: f64) -> f64 {
        choice::pick(&self.tables, lambda).1 / (self.m * self.n) as f64
    }

    /// The bytes predicted at multiplier λ.
    fn bytes(&self, lambda: f64) -> f64 {
        choice::pick(&self.tables, lambda).2 / 8.0
    }

    /// The PSNR predicted at multiplier λ, with `extra` squared error per pixel.
    fn predicted(&self, lambda: f64, extra: f64) -> f64 {
        10.0 * (self.max.powi(2) / (self.squared(lambda) + extra).max(1e-12)).log10()
    }

    /// Whether the file on the grid may beat `rival` (the bytes and PSNR of another file),
    /// as its sample predicts.
    pub(super) fn may_beat(&self, target: Target, rival: (usize, f64)) -> bool {
        // Where the prediction says this file cannot beat the rival, nothing more is done (the
        // coefficients of every patch and the rebuilds cost 4 s on a 24 MP photo). The bytes
        // predicted, the order-0 entropy of each map, mostly overstate the coder's, whose
        // contexts follow the picture: it wrote 0.79-1.01 of them on the rocket, the coins, the
        // page and the Hubble field at 30, 35 and 40 dB, 0.31 on a 24 MP mosaic of JPEGs.
        match (target, rival) {
            (Target::Psnr(db), (rival, _)) => {
                let lambda = largest(&|l| self.predicted(l, 1.0 / 12.0) >= db, LAMBDAS);
                self.bytes(lambda) <= RIVAL_MARGIN * rival as f64
            }
            (Target::MaxBytes(budget), (_, rival)) => {
                // The smallest λ whose bytes fit: the largest where they do not, as they fall.
                let lambda = largest(&|l| self.bytes(l) > RIVAL_MARGIN * budget as f64, LAMBDAS);
                self.predicted(lambda, 1.0 / 12.0) >= rival
            }
            _ => true,
        }
    }

    /// The file on the grid: for a PSNR, at the largest multiplier that reaches it; for a
    /// byte budget, at the smallest that fits. `None` when even the JPEG's own steps fall
    /// short of the PSNR or no steps tried fit.
    pub(super) fn make(&self, input: &Input, target: Target) -> Option<Found> {
        let Lattice {
            source,
            grids,
            color,
            tables,
            m,
            n,
            ..
        } = self;
        let (m, n, color) = (*m, *n, *color);
        let mse = |psnr: f64| input.max.powi(2) / 10f64.powf(psnr / 10.0);
        let layers: Vec<Layer> = grids
            .iter()
            .enumerate()
            .map(|(p, &grid)| Layer {
                columns: columns(&source.coefficients(p, None)),
                grid,
                shifted: p == 0,
            })
            .collect();
        let c = candidate(m, n, grids.len(), source.half);
        let grids: Vec<Grid> = c.planes.iter().map(|p| p.grid).collect();
        // The written file names its colour model; the rest of the input is the same.
        let output = Input {
            color,
            stored: Vec::new(),
            levels: input.levels,
            reference: Vec::new(),
            m,
            n,
            max: input.max,
            bit_depth: input.bit_depth,
            alpha: input.alpha.clone(),
        };
        let write = |q: &Quantised| super::codec::write(&c, q, &output);
        let quantise = |lambda: f64| -> Quantised {
            let (steps, _, _) = choice::pick(tables, lambda);
            let (deltas, codes) = layers
                .iter()
                .zip(&steps)
                .map(|(l, s)| {
                    let (delta, code) = codes(parts(&l.columns, &l.grid, s, l.shifted, input.max));
                    (delta, vec![code])
                })
                .unzip();
            Quantised {
                deltas,
                codes,
                deblock: 0,
                psnr: f64::NAN,
            }
        };
        let measure = |mut q: Quantised| -> Quantised {
            let decoded = rebuild(
                &q.codes,
                &grids,
                &q.deltas,
                source.half,
                0,
                Some(SIDE),
                true,
                color,
                m,
                n,
                usize::MAX,
            );
            let d: Vec<&[f32]> = decoded.iter().map(|p| &p[..]).collect();
            q.psnr = level_psnr(&d, input.levels, input.max);
            q
        };
        let db = match target {
            Target::Psnr(db) => db,
            Target::MaxBytes(budget) => {
                // The file shrinks as λ grows: the smallest λ whose file fits.
                let fits = |lambda: f64| {
                    let q = quantise(lambda);
                    (write(&q).len() as u64 <= budget).then_some(q)
                };
                let (mut lo, mut hi) = LAMBDAS;
                let q = match fits(lo) {
                    Some(q) => q,
                    None => {
                        let mut found = fits(hi)?;
                        for _ in 0..12 {
                            let mid = (lo * hi).sqrt();
                            match fits(mid) {
                                Some(q) => (hi, found) = (mid, q),
                                None => lo = mid,
                            }
                        }
                        found
                    }
                };
                let q = measure(q);
                return Some(Found {
                    bytes: write(&q),
                    psnr: q.psnr,
                    ranks: q.ranks(),
                    color,
                    half: source.half,
                });
            }
            _ => return None,
        };
        // The prediction misses the rounding of each pixel to a level and the clipping: a term
        // learnt from each real measurement. λ is known to meet the target up to `lo` and to
        // miss it from `hi`.
        let (mut lo, mut hi) = LAMBDAS;
        let mut extra = 1.0 / 12.0;
        // The best multiplier so far and its PSNR. Its image is kept only while it is the last
        // one measured, so that one image sits beside a rebuild (90 and 320 MB at 24 MP), not two.
        let mut best: Option<(f64, f64)> = None;
        let mut kept: Option<Quantised> = None;
        let mut tried: Vec<Vec<[f64; K]>> = Vec::new();
        for _ in 0..4 {
            let a = largest(&|l| self.predicted(l, extra) >= db, (lo, hi));
            // Nearby multipliers pick the same steps.
            let steps = choice::pick(tables, a).0;
            if tried.contains(&steps) {
                break;
            }
            tried.push(steps);
            kept = None;
            let q = measure(quantise(a));
            extra = mse(q.psnr) - self.squared(a);
            if q.psnr >= db {
                lo = a;
                best = Some((a, q.psnr));
                kept = Some(q);
                if a >= hi {
                    break;
                }
            } else {
                hi = a;
            }
        }
        let best = match (kept, best) {
            (Some(q), _) => q,
            (None, Some((a, psnr))) => Quantised {
                psnr,
                ..quantise(a)
            },
            (None, None) => Some(measure(quantise(LAMBDAS.0))).filter(|q| q.psnr >= db)?,
        };
        let bytes = write(&best);
        Some(Found {
            bytes,
            psnr: best.psnr,
            ranks: best.ranks(),
            color,
            half: source.half,
        })
    }
}

/// The file of an 8-bit gray image, or (where `colour`) an RGB one, that was a JPEG
/// ([`Lattice::make`]); `None` for other images, where the file cannot be made, or where
/// the prediction says it cannot beat `rival` (the bytes and PSNR of the best other file).
#[cfg(test)]
fn compress(
    input: &Input,
    target: Target,
    colour: bool,
    rival: Option<(usize, f64)>,
) -> Option<Found> {
    let lattice = Lattice::new(input, target, colour)?;
    if rival.is_some_and(|r| !lattice.may_beat(target, r)) {
        return None;
    }
    lattice.make(input, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::color::BT601;
    use crate::format::measure::LevelPlane;
    use crate::format::v2::lattice::grid::tests::{jpeg_like, table};

    #[test]
    fn at_the_jpegs_own_steps_the_picture_comes_back_to_the_level() {
        let (m, n) = (61, 83);
        let t = table(3.0);
        let levels = jpeg_like(m, n, &t, 11);
        let centred: Vec<f32> = levels.iter().map(|&l| f32::from(l) - 128.0).collect();
        let value = |i: usize| centred[i];
        let (steps, shows) = grid::detect(&value, m, n, |_| false).expect("a grid");
        assert!(shows);
        let coefficients = grid::coefficients(&value, m, n, None);
        let (delta, code) = codes(parts(&columns(&coefficients), &steps, &steps, true, 255.0));
        assert!(code.g.windows(2).all(|w| w[0] >= w[1]), "{:?}", code.g);
        let grid = candidate(m, n, 1, false).planes[0].grid;
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

    #[test]
    fn a_jpeg_with_half_size_chroma_keeps_cb_and_cr_at_half_size() {
        // Luma on a JPEG's grid, smooth chroma off any grid (as a 4:2:0 JPEG's decoder
        // upsamples it): Cb and Cr go at half size, and the file decodes to the PSNR given.
        let (m, n) = (120, 136);
        let levels = luma_on_grid_with_chroma(m, n, |y, x| {
            (30.0 * (x / 23.0).sin(), 25.0 * (y / 19.0).cos())
        });
        let input = Input {
            color: StoredColor::YCbCr,
            stored: Vec::new(),
            levels: &levels,
            reference: Vec::new(),
            m,
            n,
            max: 255.0,
            bit_depth: 8,
            alpha: None,
        };
        let found = compress(&input, Target::Psnr(38.0), true, None).expect("the grid");
        assert_eq!((found.color, found.half), (StoredColor::YCbCr601, true));
        assert!(found.psnr >= 38.0, "{}", found.psnr);
        let parsed = crate::format::v2::header::parse_written(&found.bytes).unwrap();
        assert!(parsed.header.half_chroma && parsed.header.square);
        let (decoded, _) =
            crate::format::v2::codec::decode(&found.bytes, &parsed, usize::MAX).unwrap();
        let planes: Vec<&[f32]> = decoded.iter().map(|p| &p[..]).collect();
        assert_eq!(level_psnr(&planes, &levels, 255.0), found.psnr);
        // Without colour, or with the colour model named, no grid is looked for.
        assert!(compress(&input, Target::Psnr(38.0), false, None).is_none());
        // Chroma with detail in every pixel (off any grid too) costs more to halve than a
        // fifth of the target's error: it stays at full size.
        let levels = luma_on_grid_with_chroma(m, n, |y, x| {
            let sign = if (x as usize + y as usize).is_multiple_of(2) {
                1.0
            } else {
                -1.0
            };
            (
                12.0 * sign + 20.0 * (x / 23.0).sin(),
                10.0 * (y / 19.0).cos(),
            )
        });
        let input = Input {
            levels: &levels,
            ..input
        };
        let found = compress(&input, Target::Psnr(38.0), true, None).expect("the grid");
        assert_eq!((found.color, found.half), (StoredColor::YCbCr601, false));
        // Too small for 64 half-size patches (72×80: 25 of them): full size.
        let (m, n) = (72, 80);
        let levels = luma_on_grid_with_chroma(m, n, |y, x| {
            (30.0 * (x / 23.0).sin(), 25.0 * (y / 19.0).cos())
        });
        let input = Input {
            levels: &levels,
            m,
            n,
            ..input
        };
        let found = compress(&input, Target::Psnr(38.0), true, None).expect("the grid");
        assert_eq!((found.color, found.half), (StoredColor::YCbCr601, false));
        let parsed = crate::format::v2::header::parse_written(&found.bytes).unwrap();
        assert!(crate::format::v2::codec::decode(&found.bytes, &parsed, usize::MAX).is_ok());
    }

    /// RGB levels whose BT.601 luma lies on a JPEG's grid (`jpeg_like`) and whose Cb and Cr
    /// at (row, column) are `chroma`.
    fn luma_on_grid_with_chroma(
        m: usize,
        n: usize,
        chroma: impl Fn(f64, f64) -> (f64, f64),
    ) -> Vec<LevelPlane> {
        let luma = jpeg_like(m, n, &table(4.0), 5);
        let [kr, kg, kb] = BT601;
        let mut rgb = [vec![0u8; m * n], vec![0u8; m * n], vec![0u8; m * n]];
        for i in 0..m * n {
            let (cb, cr) = chroma((i / n) as f64, (i % n) as f64);
            let l = f64::from(luma[i]);
            let (r, b) = (l + 2.0 * (1.0 - kr) * cr, l + 2.0 * (1.0 - kb) * cb);
            let g = (l - kr * r - kb * b) / kg;
            for (c, v) in rgb.iter_mut().zip([r, g, b]) {
                c[i] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
        rgb.into_iter().map(LevelPlane::Eight).collect()
    }
}
