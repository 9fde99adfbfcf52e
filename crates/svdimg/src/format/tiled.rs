//! `.svdz` version 2: each plane cut into tiles with a rank per tile under one global
//! threshold, or kept whole ("global", one tile); Cb and Cr optionally at half size
//! (4:2:0); components quantised with equal distortion per integer and a least-squares
//! refit; vectors range-coded with adaptive contexts (or zstd per block where smaller).
//!
//! The encoder picks the layout per image: the tiled one always, and the global one too
//! when a rank-`GLOBAL_RANK` randomized SVD predicts the target (axis-aligned and
//! synthetic content); the smaller file wins.

use std::borrow::Cow;

use rayon::prelude::*;

use super::color::{double_chroma, double_rows, halve, to_output};
use super::dct::Dct;
use super::deblock::{self, STRENGTHS};
use super::entropy::cost;
use super::header2::{self, Block, Header, Side};
use super::layout::BlockEntry;
use super::patches;
use super::rate::{level_error, level_psnr};
use super::stream::{self, Vector};
use super::tiles::{self, Grid, TileCode, TileSvd};
use super::{Compressed, StoredColor, Target};
use crate::{metrics, Error, Result};

/// The tile side of `--layout tiled`. Measured at 35 dB on the shared photos against 16,
/// 24, 64 and 128 (`cargo run --release -p svdimg --example v2_probe -- 35
/// ../shared/images/*.png`): 32 gives the smallest files on four of the five; 64 wins on
/// the fifth and at lower qualities, so `Layout::Auto` tries both.
pub const DEFAULT_TILE: usize = 32;
/// Components per block.
const BLOCK_SIZE: u16 = 1024;
/// The rank of the randomized SVD that decides whether the global layout is tried.
const GLOBAL_RANK: usize = 48;
/// Real evaluations of the PSNR search before it settles for the best found.
const MAX_EVALS: usize = 8;
/// The share of Δ²/12 per stored integer that the model counts as error: less than all,
/// as DCT coefficients that round to zero and the deblocking filter cost less (measured on
/// the shared photos: the model's first guess then lands within about 0.5 dB).
const NOISE: f64 = 0.7;
/// How far above its target the PSNR search may stop, in dB.
const CLOSE: f64 = 0.08;
/// Steps of the bisection for a byte budget (on the estimate: no entropy coding).
const BYTE_STEPS: usize = 16;

/// How a version 2 file arranges each plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// The smallest of tiles of 32 and of 64 pixels and global, per image. Default.
    #[default]
    Auto,
    /// The whole plane as one tile: one global rank-k basis per plane.
    Global,
    /// Tiles of about this many pixels a side (at least 8), each with its own rank.
    Tiled(usize),
    /// Patches of this many pixels a side (4 to 16), each a row of one matrix per plane
    /// whose SVD is an image-adaptive transform.
    Patches(usize),
}

/// The side of the patches the encoder tries.
const PATCH: usize = 8;

/// One arrangement of a plane, as the encoder tries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Tiles(usize),
    Global,
    Patches(usize),
}

/// How Cb and Cr are stored (YCbCr only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Chroma {
    /// The smaller file of `Full` and `Half`. Default.
    #[default]
    Auto,
    /// At full size: best for sharp colour graphics.
    Full,
    /// At half the width and height, averaged over 2×2 pixels, and interpolated back:
    /// smaller files for photos.
    Half,
}

/// What the encoder needs of the input, prepared once.
pub(super) struct Input<'a> {
    pub color: StoredColor,
    pub stored: Vec<Vec<f32>>,
    pub levels: &'a [Vec<u16>],
    pub reference: Vec<Cow<'a, [f32]>>,
    pub m: usize,
    pub n: usize,
    pub max: f64,
    pub bit_depth: u8,
    pub alpha: Option<(Vec<u8>, BlockEntry)>,
}

/// One plane ready to quantise.
struct Plane<'a> {
    /// The grid of tiles over what is stored: the plane, or its patch matrix.
    grid: Grid,
    data: Cow<'a, [f32]>,
    svds: Vec<TileSvd>,
    /// Squared RGB error per unit of squared error in the plane.
    weight: f64,
    /// The kept σ, ascending, and the prefix sums of σ².
    sorted: Vec<f32>,
    prefix: Vec<f64>,
    /// The energy of every tile beyond its kept components.
    tail: f64,
}

/// One layout of the image, factored.
struct Candidate<'a> {
    shape: Shape,
    /// The header's tile field: the tile or patch side, or the larger side for global.
    tile: u32,
    half: bool,
    planes: Vec<Plane<'a>>,
    /// Squared error (weighted, full size) that halving the chroma costs by itself.
    halving: f64,
    /// Divides the weighted squared error into the PSNR's mean.
    norm: f64,
    step_factor: f64,
    dct: Dct,
}

/// A quantised image.
struct Quantised {
    deltas: Vec<f32>,
    codes: Vec<Vec<TileCode>>,
    /// The deblocking strength, and the PSNR measured with it.
    deblock: u8,
    psnr: f64,
}

impl<'a> Candidate<'a> {
    /// The factored layout; `None` when `probe` is set, the layout is global and the
    /// first plane alone shows that it cannot reach the PSNR target.
    fn new(
        input: &'a Input,
        shape: Shape,
        half: bool,
        options: &super::CompressOptions,
        probe: bool,
    ) -> Result<Option<Self>> {
        let (m, n) = (input.m, input.n);
        let weights = input.color.weights();
        let global = shape == Shape::Global;
        let side = match shape {
            Shape::Tiles(t) | Shape::Patches(t) => t,
            Shape::Global => m.max(n),
        };
        let mut halving = 0.0;
        let mut planes = Vec::with_capacity(input.stored.len());
        for (p, data) in input.stored.iter().enumerate() {
            let half_plane = half && p > 0;
            let (data, pm, pn, weight) = if half_plane {
                let small = halve(data, m, n);
                let back = double_chroma(&small, m, n);
                halving += weights[p]
                    * back
                        .iter()
                        .zip(data)
                        .map(|(a, b)| f64::from(a - b).powi(2))
                        .sum::<f64>();
                // An error in a half-size sample spreads over about four pixels.
                (
                    Cow::Owned(small),
                    m.div_ceil(2),
                    n.div_ceil(2),
                    4.0 * weights[p],
                )
            } else {
                (Cow::Borrowed(&data[..]), m, n, weights[p])
            };
            if global && probe && p == 0 && !global_may_reach(input, &data, weight, options)? {
                return Ok(None);
            }
            let (grid, data) = match shape {
                Shape::Patches(s) => {
                    let (rows, cols) = patches::matrix_size(pm, pn, s);
                    let matrix = patches::to_matrix(&data, pm, pn, s);
                    (Grid::new(rows, cols, rows.max(cols)), Cow::Owned(matrix))
                }
                _ => (Grid::new(pm, pn, side), data),
            };
            let svds = if let Shape::Patches(_) = shape {
                let (rows, cols) = (grid.m, grid.n);
                let exact = rows.min(cols);
                vec![tiles::factor_global(
                    &data,
                    rows,
                    cols,
                    exact,
                    &options.randomized,
                    options.par,
                )?]
            } else if global {
                let rank = global_rank(options.layout, pm, pn);
                vec![tiles::factor_global(
                    &data,
                    pm,
                    pn,
                    rank,
                    &options.randomized,
                    options.par,
                )?]
            } else {
                // Components far below the 8-bit rounding noise never matter.
                let floor = 0.1 / input.max.max(255.0) * (grid.side() as f64) / 12f64.sqrt();
                tiles::factor(&data, &grid, floor as f32)?
            };
            let mut sorted: Vec<f32> = svds.iter().flat_map(|s| s.s.iter().copied()).collect();
            sorted.sort_unstable_by(f32::total_cmp);
            let mut prefix = Vec::with_capacity(sorted.len() + 1);
            prefix.push(0.0);
            for &s in &sorted {
                prefix.push(prefix.last().unwrap() + f64::from(s).powi(2));
            }
            let tail = svds.iter().map(|s| s.tail).sum();
            planes.push(Plane {
                grid,
                data,
                svds,
                weight,
                sorted,
                prefix,
                tail,
            });
        }
        let norm = (m * n) as f64
            * if input.color == StoredColor::Rgb {
                3.0
            } else {
                1.0
            };
        let dct = Dct::new(planes.iter().flat_map(|p| p.grid.lengths()));
        Ok(Some(Candidate {
            shape,
            tile: side as u32,
            half,
            planes,
            halving,
            norm,
            step_factor: options.tile_step_factor,
            dct,
        }))
    }

    /// The patch side of the patch layout.
    fn patch(&self) -> Option<usize> {
        match self.shape {
            Shape::Patches(s) => Some(s),
            _ => None,
        }
    }

    /// The step of plane `p` at weighted threshold `t`.
    fn delta(&self, p: usize, t: f64) -> f32 {
        let plane = &self.planes[p];
        let delta =
            t / (self.step_factor * plane.weight.sqrt() * (plane.grid.side() as f64).sqrt());
        // Codes stay below 4·20 and entries within 2^20; a zero plane needs a positive step.
        let top = f64::from(plane.sorted.last().copied().unwrap_or(0.0));
        delta.max(top / f64::from(1 << 20)).max(1e-30) as f32
    }

    /// The predicted PSNR at threshold `t`: the energy of the components dropped, plus
    /// Δ²/12 for each integer stored.
    fn model(&self, t: f64) -> f64 {
        let mut sse = self.halving;
        for (p, plane) in self.planes.iter().enumerate() {
            let tau = (t / plane.weight.sqrt()) as f32;
            let dropped = plane.sorted.partition_point(|&s| s < tau);
            let kept = plane.sorted.len() - dropped;
            let delta = f64::from(self.delta(p, t));
            let g = &plane.grid;
            let len = (g.m / g.rows + g.n / g.cols) as f64;
            let noise = NOISE * kept as f64 * len * delta * delta / 12.0;
            sse += plane.weight * (plane.tail + plane.prefix[dropped] + noise);
        }
        metrics::psnr_from_squared_error(sse, 1).min(200.0) + 10.0 * self.norm.log10()
    }

    /// The largest kept σ, weighted: above it nothing is stored.
    fn top(&self) -> f64 {
        self.planes
            .iter()
            .map(|p| p.weight.sqrt() * f64::from(p.sorted.last().copied().unwrap_or(0.0)))
            .fold(0.0, f64::max)
    }

    /// Whether a truncated global SVD lacks components it would need at `t`.
    fn short_at(&self, t: f64) -> bool {
        self.planes.iter().any(|p| {
            let tau = (t / p.weight.sqrt()) as f32;
            p.svds
                .iter()
                .any(|s| s.truncated && s.s.last().is_some_and(|&x| x >= tau))
        })
    }

    /// The threshold at which the model predicts `db`, by bisection on log t.
    fn solve(&self, db: f64) -> f64 {
        let (mut lo, mut hi) = ((self.top() * 1e-6).max(1e-12), self.top().max(1e-12) * 1.01);
        for _ in 0..50 {
            let mid = (lo * hi).sqrt();
            if self.model(mid) >= db {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// Quantises at threshold `t` and measures the PSNR with deblocking strength
    /// `deblock`, or with the best of [`STRENGTHS`] when it is `None`.
    fn quantise(&self, input: &Input, t: f64, strength: Option<u8>) -> Quantised {
        let (deltas, codes) = self.codes_at(t);
        self.measure(input, deltas, codes, strength)
    }

    /// The steps and the quantised tiles at threshold `t`.
    fn codes_at(&self, t: f64) -> (Vec<f32>, Vec<Vec<TileCode>>) {
        let deltas: Vec<f32> = (0..self.planes.len()).map(|p| self.delta(p, t)).collect();
        let codes: Vec<Vec<TileCode>> = self
            .planes
            .iter()
            .zip(&deltas)
            .map(|(plane, &delta)| {
                let tau = t / plane.weight.sqrt();
                (0..plane.grid.len())
                    .into_par_iter()
                    .map(|i| {
                        let a = tiles::tile_of(&plane.data, &plane.grid, i);
                        let (_, h, _, w) = plane.grid.rect(i);
                        tiles::quantize(&a, h, w, &plane.svds[i], tau, delta, &self.dct)
                    })
                    .collect()
            })
            .collect();
        (deltas, codes)
    }

    /// Measures quantised tiles: their PSNR with deblocking strength `strength`, or with
    /// the best of [`STRENGTHS`] when it is `None`.
    fn measure(
        &self,
        input: &Input,
        deltas: Vec<f32>,
        codes: Vec<Vec<TileCode>>,
        strength: Option<u8>,
    ) -> Quantised {
        let tiled = self.planes.iter().any(|p| p.grid.len() > 1);
        let strengths: &[u8] = match strength {
            Some(s) => &[s][..],
            // One tile has no border to filter.
            None if !tiled => &[0],
            None => &STRENGTHS,
        };
        // Strengths are compared on every fourth band of tiles when there are many.
        let sample = if strengths.len() > 1 && self.planes[0].grid.rows >= 16 {
            4
        } else {
            1
        };
        let (strength, mut psnr) = strengths
            .iter()
            .map(|&s| (s, self.psnr(&codes, &deltas, s, input, sample)))
            .fold(
                (0, f64::NEG_INFINITY),
                |best, x| if x.1 > best.1 { x } else { best },
            );
        if sample > 1 {
            psnr = self.psnr(&codes, &deltas, strength, input, 1);
        }
        Quantised {
            deltas,
            codes,
            deblock: strength,
            psnr,
        }
    }

    /// The PSNR of the decoded image, rebuilt a band of tiles at a time (never the whole
    /// image at once, each band with two rows of margin for the deblocking filter): the
    /// same numbers as [`rebuild`] and the same sum as [`level_psnr`].
    ///
    /// With `sample` above 1 only every `sample`-th band of tiles is measured.
    fn psnr(
        &self,
        codes: &[Vec<TileCode>],
        deltas: &[f32],
        strength: u8,
        input: &Input,
        sample: usize,
    ) -> f64 {
        let (m, n) = (input.m, input.n);
        if let Shape::Patches(_) = self.shape {
            // One matrix per plane: rebuilt whole.
            let grids: Vec<Grid> = self.planes.iter().map(|p| p.grid).collect();
            let decoded = rebuild(
                codes,
                &grids,
                deltas,
                self.half,
                strength,
                self.patch(),
                input.color,
                m,
                n,
                usize::MAX,
            );
            let d: Vec<&[f32]> = decoded.iter().map(|p| &p[..]).collect();
            return level_psnr(&d, input.levels, input.max);
        }
        let small: Vec<Option<Vec<f32>>> = self
            .planes
            .iter()
            .enumerate()
            .map(|(p, plane)| {
                (self.half && p > 0).then(|| {
                    let mut s =
                        tiles::assemble(&codes[p], &plane.grid, deltas[p], &self.dct, usize::MAX);
                    deblock::deblock(&mut s, 0, &plane.grid, deblock::alpha(strength, deltas[p]));
                    s
                })
            })
            .collect();
        let g0 = self.planes[0].grid;
        let bands: Vec<usize> = (0..g0.rows).step_by(sample).collect();
        let pixels: usize = bands.iter().map(|&r| g0.rect(r * g0.cols).1 * n).sum();
        let sum: f64 = bands
            .into_par_iter()
            .map(|row| {
                let (y0, h, _, _) = g0.rect(row * g0.cols);
                let (a, b) = (y0.saturating_sub(2), (y0 + h + 2).min(m));
                let bands: Vec<Vec<f32>> = self
                    .planes
                    .iter()
                    .enumerate()
                    .map(|(p, plane)| match &small[p] {
                        Some(s) => double_rows(s, m, n, y0, h),
                        None => {
                            let mut rows = tiles::assemble_rows(
                                &codes[p],
                                &plane.grid,
                                deltas[p],
                                &self.dct,
                                a,
                                b,
                            );
                            deblock::deblock(
                                &mut rows,
                                a,
                                &plane.grid,
                                deblock::alpha(strength, deltas[p]),
                            );
                            rows.drain(..(y0 - a) * n);
                            rows.truncate(h * n);
                            rows
                        }
                    })
                    .collect();
                let out = to_output(bands, input.color);
                let d: Vec<&[f32]> = out.iter().map(|b| &b[..]).collect();
                let l: Vec<&[u16]> = input
                    .levels
                    .iter()
                    .map(|l| &l[y0 * n..(y0 + h) * n])
                    .collect();
                level_error(&d, &l, input.max)
            })
            .sum();
        let channels = input.levels.len();
        metrics::psnr_from_squared_error(sum / (input.max * input.max), pixels * channels)
    }
}

/// The output planes (gray or R G B, full size) of a file's codes.
#[allow(clippy::too_many_arguments)]
fn rebuild(
    codes: &[Vec<TileCode>],
    grids: &[Grid],
    deltas: &[f32],
    half: bool,
    strength: u8,
    patch: Option<usize>,
    color: StoredColor,
    m: usize,
    n: usize,
    rank: usize,
) -> Vec<Vec<f32>> {
    let dct = Dct::new(grids.iter().flat_map(Grid::lengths));
    let planes = codes
        .iter()
        .zip(grids)
        .zip(deltas)
        .enumerate()
        .map(|(p, ((c, g), &d))| {
            let mut plane = tiles::assemble(c, g, d, &dct, rank);
            deblock::deblock(&mut plane, 0, g, deblock::alpha(strength, d));
            if let Some(side) = patch {
                let (pm, pn) = if half && p > 0 {
                    (m.div_ceil(2), n.div_ceil(2))
                } else {
                    (m, n)
                };
                plane = patches::from_matrix(&plane, pm, pn, side);
            }
            if half && p > 0 {
                double_chroma(&plane, m, n)
            } else {
                plane
            }
        })
        .collect();
    to_output(planes, color)
}

/// Components of a global layout: `GLOBAL_RANK` when the encoder tries it on its own
/// (`Auto`); when asked for, the exact SVD up to 4 megapixels and 256 above.
fn global_rank(layout: Layout, m: usize, n: usize) -> usize {
    match layout {
        Layout::Auto => GLOBAL_RANK.min(m.min(n)),
        _ if m * n <= 1 << 22 => m.min(n),
        _ => 256.min(m.min(n)),
    }
}

/// Whether a global layout might reach the PSNR target: false when the energy of the
/// first plane beyond `GLOBAL_RANK` components already costs more than the target allows.
/// Above a megapixel it is judged on the plane at half size (which has less detail, so it
/// errs towards trying).
fn global_may_reach(
    input: &Input,
    plane: &[f32],
    weight: f64,
    options: &super::CompressOptions,
) -> Result<bool> {
    let Target::Psnr(db) = options.target else {
        return Ok(input.m * input.n <= CROP_FROM);
    };
    let (m, n) = (input.m, input.n);
    let (small, sm, sn, scale) = if m * n > 1 << 20 {
        (
            Cow::Owned(halve(plane, m, n)),
            m.div_ceil(2),
            n.div_ceil(2),
            4.0,
        )
    } else {
        (Cow::Borrowed(plane), m, n, 1.0)
    };
    let rank = GLOBAL_RANK.min(sm.min(sn));
    let f = tiles::factor_global(&small, sm, sn, rank, &options.randomized, options.par)?;
    let norm = (m * n) as f64
        * if input.color == StoredColor::Rgb {
            3.0
        } else {
            1.0
        };
    let mse = scale * weight * f.tail / norm;
    Ok(mse <= 10f64.powf(-db / 10.0))
}

/// Searches the threshold for a PSNR of at least `db`. The model proposes the first
/// threshold and, corrected by its offset from the measurement, the second; then the
/// search follows the secant through the last two measurements, or interpolates (in log t)
/// between the measurements on either side of the target once it has both.
/// It stops within `CLOSE` dB above the target, or when the two sides are 1% apart.
fn search_psnr(c: &Candidate<'_>, input: &Input, db: f64) -> Result<Option<(f64, Quantised)>> {
    if c.top() == 0.0 {
        // Nothing to store: every plane is zero.
        let q = c.quantise(input, 1.0, Some(0));
        return Ok((q.psnr >= db).then_some((1.0, q)));
    }
    // What no threshold can remove: halving the chroma, and what the SVDs left out.
    let floor = c.halving + c.planes.iter().map(|p| p.weight * p.tail).sum::<f64>();
    if metrics::psnr_from_squared_error(floor, 1) + 10.0 * c.norm.log10() < db {
        return Ok(None);
    }
    let aim = db + CLOSE / 2.0;
    let mut best: Option<(f64, Quantised)> = None;
    // The nearest measured threshold that falls short, and its PSNR.
    let mut fail: Option<(f64, f64)> = None;
    let mut offset = 0.0;
    // The deblocking strength is chosen at the first measurement, then kept.
    let mut strength = None;
    let mut seen: Vec<(f64, f64)> = Vec::new();
    for _ in 0..MAX_EVALS {
        let mut t = match (&best, fail, &seen[..]) {
            (Some((lo, q)), Some((hi, p)), _) => {
                let f = ((q.psnr - aim) / (q.psnr - p)).clamp(0.1, 0.9);
                (lo.ln() + f * (hi.ln() - lo.ln())).exp()
            }
            // Two measurements on one side: the secant through them, in log t.
            (_, _, [.., (t0, p0), (t1, p1)]) if (p1 - p0).abs() > 1e-6 => {
                let slope = (p1 - p0) / (t1.ln() - t0.ln());
                (t1.ln() + (aim - p1) / slope)
                    .exp()
                    .clamp(t1 / 2.0, t1 * 2.0)
            }
            _ => c.solve(aim - offset),
        };
        // Without a bracket, step beyond the side measured.
        if let (Some((lo, _)), None) = (&best, fail) {
            t = t.max(*lo * 1.005);
        }
        if let (None, Some((hi, _))) = (&best, fail) {
            t = t.min(hi / 1.005);
        }
        if t <= 0.0 || !t.is_finite() {
            break;
        }
        if c.short_at(t) {
            return Ok(None);
        }
        let q = c.quantise(input, t, strength);
        strength = Some(q.deblock);
        let model = c.model(t);
        offset = q.psnr.min(model + 20.0) - model;
        seen.push((t, q.psnr));
        if q.psnr >= db {
            let close = q.psnr - db < CLOSE;
            best = Some((t, q));
            if close {
                break;
            }
        } else {
            fail = Some((t, q.psnr));
        }
        if let (Some((lo, _)), Some((hi, _))) = (&best, fail) {
            if hi / lo < 1.01 {
                break;
            }
        }
    }
    Ok(best)
}

/// The tile sides the encoder tries.
const TILE_SIZES: [usize; 2] = [32, 64];
/// Images above this many pixels choose their tiling and chroma size on a centre crop.
const CROP_FROM: usize = 1 << 21;
/// The side of that crop.
const CROP: usize = 1024;

/// The file an encoder candidate made.
struct Made {
    bytes: Vec<u8>,
    q: Quantised,
    shape: Shape,
    tile: u32,
    tiles: usize,
    half: bool,
}

impl Made {
    /// Whether this file is better: smaller for a PSNR, a better PSNR for a byte budget.
    fn beats(&self, other: &Made, target: Target) -> bool {
        match target {
            Target::MaxBytes(_) => {
                (self.q.psnr, std::cmp::Reverse(self.bytes.len()))
                    > (other.q.psnr, std::cmp::Reverse(other.bytes.len()))
            }
            _ => self.bytes.len() < other.bytes.len(),
        }
    }
}

/// The best file of `candidates` (shape, half chroma): the smallest for a PSNR, the best
/// PSNR for a byte budget.
fn smallest(
    input: &Input,
    options: &super::CompressOptions,
    candidates: &[(Shape, bool)],
    probe: bool,
) -> Result<Option<Made>> {
    let mut best: Option<Made> = None;
    for &(shape, half) in candidates {
        let Some(c) = Candidate::new(input, shape, half, options, probe)? else {
            continue;
        };
        let found = match options.target {
            Target::Psnr(db) => search_psnr(&c, input, db)?.map(|(_, q)| q),
            Target::MaxBytes(budget) => search_bytes(&c, input, budget)?,
            _ => unreachable!("version 2 is written for a PSNR or a byte budget"),
        };
        let Some(q) = found else { continue };
        let bytes = write(&c, &q, input);
        let made = Made {
            bytes,
            q,
            shape,
            tile: c.tile,
            tiles: match shape {
                Shape::Patches(_) => 1,
                _ => c.planes[0].grid.len(),
            },
            half: c.half,
        };
        if best.as_ref().is_none_or(|b| made.beats(b, options.target)) {
            best = Some(made);
        }
    }
    Ok(best)
}

/// Which of `candidates` makes the best file on the centre `CROP`² pixels.
fn best_on_crop(
    input: &Input,
    options: &super::CompressOptions,
    candidates: &[(Shape, bool)],
) -> Result<Option<(Shape, bool)>> {
    let (h, w) = (CROP.min(input.m), CROP.min(input.n));
    let (y, x) = ((input.m - h) / 2, (input.n - w) / 2);
    let cut = |plane: &[f32]| -> Vec<f32> {
        (y..y + h)
            .flat_map(|r| plane[r * input.n + x..r * input.n + x + w].iter().copied())
            .collect()
    };
    let stored: Vec<Vec<f32>> = input.stored.iter().map(|p| cut(p)).collect();
    let levels: Vec<Vec<u16>> = input
        .levels
        .iter()
        .map(|l| {
            (y..y + h)
                .flat_map(|r| l[r * input.n + x..r * input.n + x + w].iter().copied())
                .collect()
        })
        .collect();
    let crop = Input {
        color: input.color,
        stored,
        levels: &levels,
        reference: Vec::new(),
        m: h,
        n: w,
        max: input.max,
        bit_depth: input.bit_depth,
        alpha: None,
    };
    let best = smallest(&crop, options, candidates, false)?;
    Ok(best.map(|b| (b.shape, b.half)))
}

/// Compresses to version 2 for a PSNR or a byte budget.
pub(super) fn compress(mut input: Input, options: &super::CompressOptions) -> Result<Compressed> {
    let (local, global): (Vec<Shape>, bool) = match options.layout {
        Layout::Auto => (
            TILE_SIZES
                .iter()
                .map(|&t| Shape::Tiles(t))
                .chain([Shape::Patches(PATCH)])
                .collect(),
            true,
        ),
        Layout::Global => (Vec::new(), true),
        Layout::Tiled(t) if t >= header2::MIN_TILE as usize => (vec![Shape::Tiles(t)], false),
        Layout::Tiled(t) => {
            return Err(Error::parameter(format!(
                "the tile size {t} is below {}",
                header2::MIN_TILE
            )))
        }
        Layout::Patches(p) if patches::SIDES.contains(&(p as u32)) => {
            (vec![Shape::Patches(p)], false)
        }
        Layout::Patches(p) => {
            return Err(Error::parameter(format!(
                "the patch size {p} is not 4 to 16"
            )))
        }
    };
    let halves: &[bool] = match (options.chroma, input.color) {
        (Chroma::Auto, StoredColor::YCbCr) => &[false, true],
        (Chroma::Half, StoredColor::YCbCr) => &[true],
        _ => &[false],
    };
    let local: Vec<(Shape, bool)> = local
        .iter()
        .flat_map(|&t| halves.iter().map(move |&h| (t, h)))
        .collect();
    let globals: Vec<(Shape, bool)> = if global {
        halves.iter().map(|&h| (Shape::Global, h)).collect()
    } else {
        Vec::new()
    };
    let probe = options.layout == Layout::Auto;
    let found = if local.len() > 1 && input.m * input.n > CROP_FROM {
        // Large images try the local layout that wins on a crop (and the global one), and
        // the others only when those miss.
        let winner = best_on_crop(&input, options, &local)?;
        let first: Vec<_> = winner.into_iter().chain(globals.iter().copied()).collect();
        match smallest(&input, options, &first, probe)? {
            Some(found) => Some(found),
            None => {
                let rest: Vec<_> = local
                    .iter()
                    .copied()
                    .filter(|c| Some(*c) != winner)
                    .collect();
                smallest(&input, options, &rest, probe)?
            }
        }
    } else if halves.len() == 2 && local.len() > 2 {
        // The chroma size is chosen on the first local layout, then kept for the others.
        let first = smallest(&input, options, &local[..2], probe)?;
        let half = first.as_ref().is_some_and(|f| f.half);
        let rest: Vec<_> = local[2..]
            .iter()
            .copied()
            .filter(|c| c.1 == half)
            .chain(globals.iter().copied())
            .collect();
        let second = smallest(&input, options, &rest, probe)?;
        match (first, second) {
            (Some(a), Some(b)) => Some(if b.beats(&a, options.target) { b } else { a }),
            (a, b) => a.or(b),
        }
    } else {
        let all: Vec<_> = local.iter().chain(&globals).copied().collect();
        smallest(&input, options, &all, probe)?
    };
    // Free the stored planes for the decode.
    input.stored = Vec::new();
    let Some(Made {
        bytes,
        q,
        shape,
        tile,
        tiles,
        half,
    }) = found
    else {
        return Err(Error::parameter(match options.target {
            Target::Psnr(db) => format!("the image cannot reach {db} dB"),
            Target::MaxBytes(b) => format!("no .svdz file of this image fits in {b} bytes"),
            _ => unreachable!(),
        }));
    };
    // Measure what a reader of the file gets.
    let decoded = super::decompress(
        &bytes,
        &super::DecompressOptions {
            rank: None,
            limits: crate::Limits {
                max_pixels: u64::MAX,
                max_alloc: u64::MAX,
            },
        },
    )?;
    let mut decoded: Vec<Vec<f32>> = decoded.color.into_iter().map(|p| p.data).collect();
    let planes: Vec<&[f32]> = decoded.iter().map(|p| &p[..]).collect();
    let psnr = level_psnr(&planes, input.levels, input.max);
    if psnr != q.psnr {
        return Err(Error::new(
            crate::ErrorKind::Numerical,
            format!(
                "the file decodes to {psnr} dB, not the {} dB measured",
                q.psnr
            ),
        ));
    }
    let count = decoded.len() as f64;
    let ssim = decoded
        .iter_mut()
        .zip(&input.reference)
        .map(|(d, r)| {
            let max = input.max;
            d.par_iter_mut()
                .for_each(|x| *x = (crate::picture::quantize(*x, max) / max) as f32);
            metrics::ssim(r, d, input.n, input.m)
        })
        .sum::<f64>()
        / count;
    Ok(Compressed {
        ranks: input
            .color
            .plane_names()
            .iter()
            .zip(&q.codes)
            .map(|(&name, c)| (name, c.iter().map(TileCode::rank).sum()))
            .collect(),
        bytes,
        color: input.color,
        psnr_db: q.psnr,
        ssim,
        version: 2,
        tile_size: tile as usize,
        tiles,
        half_chroma: half,
        patches: matches!(shape, Shape::Patches(_)),
    })
}

/// The best PSNR whose file fits `budget`. The entropy coder runs a few times only: an
/// estimate of the bits (an Elias gamma count of the integers), calibrated on one real file,
/// is bisected on log t; real files then confirm the answer and step past it if needed.
fn search_bytes(c: &Candidate, input: &Input, budget: u64) -> Result<Option<Quantised>> {
    let top = c.top();
    let real = |deltas: Vec<f32>, codes: Vec<Vec<TileCode>>| {
        let q = Quantised {
            deltas,
            codes,
            deblock: 0,
            psnr: 0.0,
        };
        let len = write(c, &q, input).len() as u64;
        (q, len)
    };
    // Above the largest σ nothing is stored: the smallest file there is.
    let (deltas, codes) = c.codes_at(top.max(f64::MIN_POSITIVE) * 1.01);
    let (empty, smallest) = real(deltas, codes);
    if smallest > budget {
        return Err(Error::parameter(format!(
            "cannot fit in {budget} bytes: the smallest file for this image is {smallest} bytes"
        )));
    }
    if top == 0.0 {
        return Ok(Some(c.measure(input, empty.deltas, empty.codes, Some(0))));
    }
    let estimate = |codes: &[Vec<TileCode>]| -> f64 {
        let bits: u64 = codes
            .par_iter()
            .flat_map(|plane| plane.par_iter())
            .map(|t| u64::from(cost(t.u.iter().copied())) + u64::from(cost(t.v.iter().copied())))
            .sum();
        smallest as f64 + bits as f64 / 8.0
    };
    // Calibrate the estimate on one real file, in the middle of the range in log t.
    let (lo0, hi0) = (top * 1e-5, top * 1.01);
    let probe = (lo0 * hi0).sqrt();
    let (deltas, codes) = c.codes_at(probe);
    let guess = estimate(&codes);
    let (_, len) = real(deltas, codes);
    let scale = len as f64 / guess;
    let fits = |t: f64| -> bool {
        let (_, codes) = c.codes_at(t);
        scale * estimate(&codes) <= budget as f64
    };
    let (mut lo, mut hi) = (lo0, hi0);
    for _ in 0..BYTE_STEPS {
        let mid = (lo * hi).sqrt();
        if !c.short_at(mid) && fits(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    // Confirm with real files: step up in t while the file is over the budget, down while
    // it stays under (at most a few steps each way).
    let mut t = hi;
    let mut best: Option<(Vec<f32>, Vec<Vec<TileCode>>)> = None;
    for _ in 0..MAX_EVALS {
        let (deltas, codes) = c.codes_at(t);
        let (q, len) = real(deltas, codes);
        if len <= budget {
            best = Some((q.deltas, q.codes));
            if len as f64 > 0.98 * budget as f64 || c.short_at(t / 1.02) {
                break;
            }
            t /= 1.02;
        } else if best.is_some() {
            break;
        } else {
            t *= 1.03;
        }
    }
    let (deltas, codes) = match best {
        Some(b) => b,
        None => (empty.deltas, empty.codes),
    };
    Ok(Some(c.measure(input, deltas, codes, None)))
}

/// The file of a quantised image.
fn write(c: &Candidate, q: &Quantised, input: &Input) -> Vec<u8> {
    let side: Side = q
        .codes
        .iter()
        .map(|plane| plane.iter().map(|t| t.g.clone()).collect())
        .collect();
    let side_bytes = header2::encode_side(&side);
    let bs = usize::from(BLOCK_SIZE);
    let (blocks, entries): (Vec<Vec<Vec<u8>>>, Vec<Vec<Block>>) = q
        .codes
        .iter()
        .zip(&side)
        .zip(&c.planes)
        .enumerate()
        .map(|(p, ((codes, g), plane))| {
            let order = header2::component_order(g);
            let stride = c.patch().map_or(0, |side| {
                let n = if c.half && p > 0 {
                    input.n.div_ceil(2)
                } else {
                    input.n
                };
                n.div_ceil(side)
            });
            order
                .par_chunks(bs)
                .map(|chunk| {
                    let mut vectors = Vec::with_capacity(2 * chunk.len());
                    for &(t, i) in chunk {
                        let (t, i) = (t as usize, i as usize);
                        let (_, h, _, w) = plane.grid.rect(t);
                        let code = &codes[t];
                        vectors.push(Vector {
                            q: &code.u[i * h..(i + 1) * h],
                            g: code.g[i],
                            dct: code.dct[i] & 1 != 0,
                            stride,
                        });
                        vectors.push(Vector {
                            q: &code.v[i * w..(i + 1) * w],
                            g: code.g[i],
                            dct: code.dct[i] & 2 != 0,
                            stride: 0,
                        });
                    }
                    let (bytes, coding, entry) = stream::encode(&vectors);
                    (bytes, Block { coding, entry })
                })
                .unzip()
        })
        .unzip();
    let header = Header {
        color: input.color,
        alpha: input.alpha.is_some(),
        half_chroma: c.half,
        patches: c.patch().is_some(),
        bit_depth: input.bit_depth,
        width: input.n as u32,
        height: input.m as u32,
        tile: c.tile,
        block_size: BLOCK_SIZE,
        deblock: q.deblock,
        deltas: q.deltas.clone(),
        counts: side
            .iter()
            .map(|p| p.iter().map(Vec::len).sum::<usize>() as u32)
            .collect(),
        side: BlockEntry::of(&side_bytes, 0),
        blocks: entries,
        alpha_block: input.alpha.as_ref().map(|a| a.1),
    };
    header.write(&side_bytes, &blocks, input.alpha.as_ref().map(|a| &a.0[..]))
}

/// The side block of a parsed version 2 file: each tile's component codes.
pub(super) fn side(bytes: &[u8], parsed: &header2::Parsed) -> Result<Side> {
    let h = &parsed.header;
    let side_bytes = &bytes[parsed.side_offset..parsed.side_offset + h.side.stored as usize];
    if !cfg!(fuzzing) && crc32fast::hash(side_bytes) != h.side.crc {
        return Err(Error::input("corrupt .svdz side block: checksum mismatch"));
    }
    header2::decode_side(side_bytes, h)
}

/// Decodes a parsed version 2 file to output planes (gray or R G B, unclipped) with at
/// most `rank` components per tile.
pub(super) fn decode(bytes: &[u8], parsed: &header2::Parsed, rank: usize) -> Result<Vec<Vec<f32>>> {
    let h = &parsed.header;
    let side = side(bytes, parsed)?;
    let bs = usize::from(h.block_size);
    let mut codes = Vec::with_capacity(side.len());
    let mut grids = Vec::with_capacity(side.len());
    for (p, g) in side.iter().enumerate() {
        let grid = h.grid(p);
        let order = header2::component_order(g);
        let dct = Dct::new(grid.lengths());
        // A patch matrix's u-vectors are images: one entry per patch.
        let stride = if h.patches {
            let (_, n) = header2::plane_size(h.height, h.width, h.half_chroma && p > 0);
            n.div_ceil(h.tile as usize)
        } else {
            0
        };
        let decoded: Vec<(Vec<i32>, Vec<bool>)> = order
            .par_chunks(bs)
            .zip(&h.blocks[p])
            .zip(&parsed.offsets[p])
            .map(|((chunk, block), &offset)| {
                let shape: Vec<(usize, u8, usize)> = chunk
                    .iter()
                    .flat_map(|&(t, i)| {
                        let (_, th, _, tw) = grid.rect(t as usize);
                        let c = g[t as usize][i as usize];
                        [(th, c, stride), (tw, c, 0)]
                    })
                    .collect();
                let stored = &bytes[offset..offset + block.entry.stored as usize];
                let (mut out, mut kinds) = (Vec::new(), Vec::new());
                stream::decode(
                    stored,
                    block.coding,
                    block.entry,
                    &shape,
                    &mut out,
                    &mut kinds,
                )?;
                if shape
                    .iter()
                    .zip(&kinds)
                    .any(|(s, &k)| k && !dct.offers(s.0))
                {
                    return Err(Error::input(
                        "corrupt .svdz block: a DCT vector longer than a tile can be",
                    ));
                }
                Ok((out, kinds))
            })
            .collect::<Result<_>>()?;
        let mut plane: Vec<TileCode> = g
            .iter()
            .enumerate()
            .map(|(t, g)| {
                let (_, th, _, tw) = grid.rect(t);
                TileCode {
                    g: g.clone(),
                    u: vec![0; g.len() * th],
                    v: vec![0; g.len() * tw],
                    dct: vec![0; g.len()],
                }
            })
            .collect();
        for (chunk, (values, kinds)) in order.chunks(bs).zip(&decoded) {
            let mut at = 0;
            for (j, &(t, i)) in chunk.iter().enumerate() {
                let (t, i) = (t as usize, i as usize);
                let (_, th, _, tw) = grid.rect(t);
                plane[t].dct[i] = u8::from(kinds[2 * j]) | (u8::from(kinds[2 * j + 1]) << 1);
                plane[t].u[i * th..(i + 1) * th].copy_from_slice(&values[at..at + th]);
                at += th;
                plane[t].v[i * tw..(i + 1) * tw].copy_from_slice(&values[at..at + tw]);
                at += tw;
            }
        }
        codes.push(plane);
        grids.push(grid);
    }
    Ok(rebuild(
        &codes,
        &grids,
        &h.deltas,
        h.half_chroma,
        h.deblock,
        h.patches.then_some(h.tile as usize),
        h.color,
        h.height as usize,
        h.width as usize,
        rank,
    ))
}
