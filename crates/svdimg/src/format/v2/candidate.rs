//! One layout of an image for `.svdz` version 2, factored and ready to quantise: its
//! planes (tiles, one global tile, or a patch matrix) and the model of the error at a
//! threshold ([`super::quantised`] quantises it and measures the PSNR the decoder will get).

use std::borrow::Cow;

use rayon::prelude::*;

use super::dct::Dct;
use super::global::{global_may_reach, global_rank, Reach};
use super::input::Input;
use super::patches;
use super::plane::{tile_floor, Plane, Prepared};
use super::tiles::{self, Grid};
use crate::format::color::{double_chroma, halve, StoredColor};
use crate::format::options::{CompressOptions, Target};
use crate::{metrics, Result};

/// The share of Δ²/12 per stored integer that the model counts as error: less than all,
/// as DCT coefficients that round to zero and the deblocking filter cost less (measured on
/// the shared photos: the model's first guess then lands within about 0.5 dB).
const NOISE: f64 = 0.7;

/// One arrangement of a plane, as the encoder tries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Tiles(usize),
    Global,
    Patches(usize),
}

/// One layout of the image, factored.
pub(super) struct Candidate<'a> {
    pub(super) shape: Shape,
    /// The header's tile field: the tile or patch side, or the larger side for global.
    pub(super) tile: u32,
    pub(super) half: bool,
    pub(super) planes: Vec<Plane<'a>>,
    /// Squared error (weighted, full size) that halving the chroma costs by itself.
    pub(super) halving: f64,
    /// Divides the weighted squared error into the PSNR's mean.
    pub(super) norm: f64,
    pub(super) step_factor: f64,
    pub(super) dct: Dct,
}

impl<'a> Candidate<'a> {
    /// The factored layout; `None` when `probe` is set, the layout is global and the
    /// first plane alone shows that it cannot reach the PSNR target. `luma`, the first
    /// plane of another candidate of the same shape (the other chroma size), is taken as
    /// it is: the first plane does not depend on the chroma's size.
    pub(super) fn new(
        input: &'a Input,
        shape: Shape,
        half: bool,
        options: &CompressOptions,
        probe: bool,
        luma: Option<&Plane<'a>>,
    ) -> Result<Option<Self>> {
        let (m, n) = (input.m, input.n);
        let weights = input.color.weights();
        let global = shape == Shape::Global;
        let side = match shape {
            Shape::Tiles(t) | Shape::Patches(t) => t,
            Shape::Global => m.max(n),
        };
        let mut halving = 0.0;
        // Each plane as it is stored, before factoring: its data, grid and weight.
        let mut prepared = Vec::with_capacity(input.stored.len());
        let mut probed = None;
        for (p, data) in input.stored.iter().enumerate() {
            if let (0, Some(_)) = (p, luma) {
                prepared.push(None);
                continue;
            }
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
            // The probe's factors serve again when it took them of this very plane.
            if global && probe && p == 0 {
                match global_may_reach(input, &data, weight, options)? {
                    Reach::No => return Ok(None),
                    Reach::Yes(svd) => probed = svd,
                }
            }
            let (grid, data) = match shape {
                Shape::Patches(s) => {
                    let (rows, cols) = patches::matrix_size(pm, pn, s);
                    let matrix = patches::to_matrix(&data, pm, pn, s);
                    (Grid::new(rows, cols, rows.max(cols)), Cow::Owned(matrix))
                }
                _ => (Grid::new(pm, pn, side), data),
            };
            prepared.push(Some(Prepared {
                grid,
                data,
                weight,
                pm,
                pn,
            }));
        }
        // Tiles form u only for the σ a threshold near the target may keep.
        let limits = match (shape, options.target) {
            (Shape::Tiles(_), Target::Psnr(db)) => {
                vector_limits(&prepared, luma, halving, input, options, db)
            }
            _ => vec![0.0; prepared.len()],
        };
        // The planes are factored side by side: a patch matrix's or a global layout's SVD
        // keeps about one core busy. The probe's factors of the first plane serve as they are.
        let probed_first = probed.is_some();
        let svds: Vec<Option<Result<Vec<tiles::TileSvd>>>> = prepared
            .par_iter()
            .enumerate()
            .map(|(p, prepared)| {
                let Prepared {
                    grid, data, pm, pn, ..
                } = prepared.as_ref()?;
                if p == 0 && probed_first {
                    return None;
                }
                Some(if let Shape::Patches(_) = shape {
                    let (rows, cols) = (grid.m, grid.n);
                    let exact = rows.min(cols);
                    tiles::factor_global(data, rows, cols, exact, &options.randomized, options.par)
                        .map(|svd| vec![svd])
                } else if global {
                    let rank = global_rank(options.layout, *pm, *pn);
                    tiles::factor_global(data, *pm, *pn, rank, &options.randomized, options.par)
                        .map(|svd| vec![svd])
                } else {
                    tiles::factor(data, grid, tile_floor(input, grid), limits[p])
                })
            })
            .collect();
        let mut planes = Vec::with_capacity(prepared.len());
        for (p, (prepared, svds)) in prepared.into_iter().zip(svds).enumerate() {
            let Some(Prepared {
                grid, data, weight, ..
            }) = prepared
            else {
                planes.push(luma.expect("the first plane is given").clone());
                continue;
            };
            let svds = match svds {
                Some(svds) => svds?,
                None => vec![probed.take().expect("the probe factored the first plane")],
            };
            planes.push(Plane::new(grid, data, svds, weight, limits[p]));
        }
        let norm = norm(input);
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
    pub(super) fn patch(&self) -> Option<usize> {
        match self.shape {
            Shape::Patches(s) => Some(s),
            _ => None,
        }
    }

    /// The step of plane `p` at weighted threshold `t`.
    pub(super) fn delta(&self, p: usize, t: f64) -> f32 {
        let plane = &self.planes[p];
        let delta =
            t / (self.step_factor * plane.weight.sqrt() * (plane.grid.side() as f64).sqrt());
        // Codes stay below 4·20 and entries within 2^20; a zero plane needs a positive step.
        let top = f64::from(plane.sorted.last().copied().unwrap_or(0.0));
        delta.max(top / f64::from(1 << 20)).max(1e-30) as f32
    }

    /// The predicted PSNR at threshold `t`: the energy of the components dropped, plus
    /// Δ²/12 for each integer stored.
    pub(super) fn model(&self, t: f64) -> f64 {
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

    /// Forms the tiles' u that threshold `t` keeps and that are not formed yet (those far
    /// below the estimate [`vector_limits`] made), with the margin again below `t`.
    pub(super) fn ensure(&mut self, input: &Input, t: f64) -> Result<()> {
        for plane in &mut self.planes {
            let tau = (t / plane.weight.sqrt()) as f32;
            if tau >= plane.limit {
                continue;
            }
            let limit = tau / VECTOR_MARGIN;
            let floor = tile_floor(input, &plane.grid);
            let (grid, data) = (plane.grid, &plane.data);
            plane
                .svds
                .par_iter_mut()
                .enumerate()
                .filter(|(i, svd)| {
                    let h = grid.rect(*i).1.max(1);
                    svd.s.get(svd.u.len() / h).is_some_and(|&s| s >= tau)
                })
                .try_for_each(|(i, svd)| -> Result<()> {
                    *svd = tiles::factor_tile(data, &grid, i, floor, limit)?;
                    Ok(())
                })?;
            plane.limit = limit;
        }
        Ok(())
    }

    /// The largest kept σ, weighted: above it nothing is stored.
    pub(super) fn top(&self) -> f64 {
        self.planes
            .iter()
            .map(|p| p.weight.sqrt() * f64::from(p.sorted.last().copied().unwrap_or(0.0)))
            .fold(0.0, f64::max)
    }

    /// Whether a truncated global SVD lacks components it would need at `t`.
    pub(super) fn short_at(&self, t: f64) -> bool {
        self.planes.iter().any(|p| {
            let tau = (t / p.weight.sqrt()) as f32;
            p.svds
                .iter()
                .any(|s| s.truncated && s.s.last().is_some_and(|&x| x >= tau))
        })
    }

    /// The threshold at which the model predicts `db`, by bisection on log t.
    pub(super) fn solve(&self, db: f64) -> f64 {
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
}

/// Every how many tiles the estimate of the threshold factors one.
const SAMPLE: usize = 8;
/// How far below the estimated threshold (as a factor on σ) the tiles' u are formed: the
/// search's thresholds stay within it but rarely (see [`Candidate::ensure`]).
const VECTOR_MARGIN: f32 = 2.0;

/// Per plane, the σ below which u is not formed: the threshold at which a model of the σ of
/// every `SAMPLE`-th tile (each counted `SAMPLE` times) predicts the target, with a margin.
/// The first plane, when given factored, keeps its own limit.
fn vector_limits(
    prepared: &[Option<Prepared<'_>>],
    luma: Option<&Plane<'_>>,
    halving: f64,
    input: &Input,
    options: &CompressOptions,
    db: f64,
) -> Vec<f32> {
    let planes: Vec<Plane<'_>> = prepared
        .iter()
        .map(|p| match p {
            Some(Prepared {
                grid, data, weight, ..
            }) => {
                let floor = tile_floor(input, grid);
                let mut svds = tiles::sample_values(data, grid, SAMPLE, floor);
                for svd in &mut svds {
                    svd.s = svd.s.iter().flat_map(|&s| [s; SAMPLE]).collect();
                    svd.tail *= SAMPLE as f64;
                }
                Plane::new(*grid, Cow::Borrowed(&[][..]), svds, *weight, 0.0)
            }
            None => luma.expect("the first plane is given").clone(),
        })
        .collect();
    let model = Candidate {
        shape: Shape::Global,
        tile: 0,
        half: false,
        planes,
        halving,
        norm: norm(input),
        step_factor: options.tile_step_factor,
        dct: Dct::new(std::iter::empty()),
    };
    let t = model.solve(db);
    model
        .planes
        .iter()
        .zip(prepared)
        .map(|(plane, p)| match p {
            Some(_) => (t / plane.weight.sqrt()) as f32 / VECTOR_MARGIN,
            None => plane.limit,
        })
        .collect()
}

/// Divides the weighted squared error into the PSNR's mean: pixels, times 3 for RGB.
fn norm(input: &Input) -> f64 {
    (input.m * input.n) as f64
        * if input.color == StoredColor::Rgb {
            3.0
        } else {
            1.0
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::measure::{level_error, level_psnr, LevelPlane};
    use crate::format::v2::deblock::STRENGTHS;
    use crate::format::v2::rebuild::rebuild;
    use crate::picture::PlaneName;

    /// A gray image of smooth shading, edges and noise, `m`×`n`, on [0, 1].
    fn picture(m: usize, n: usize) -> Vec<f32> {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        (0..m * n)
            .map(|k| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let (y, x) = ((k / n) as f32, (k % n) as f32);
                let shade = 0.5 + 0.3 * (x / 17.0).sin() * (y / 23.0).cos();
                let edge = if (x - 1.5 * y).abs() < 20.0 { 0.2 } else { 0.0 };
                (shade + edge + 0.03 * ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5))
                    .clamp(0.0, 1.0)
            })
            .collect()
    }

    #[test]
    fn vectors_formed_later_quantise_as_those_formed_at_once() {
        let (m, n) = (160, 224);
        let plane = picture(m, n);
        let levels = [LevelPlane::of(&plane, 255.0)];
        let input = Input {
            color: StoredColor::Gray,
            stored: vec![plane.clone()],
            levels: &levels,
            reference: vec![Cow::Borrowed(&plane[..])],
            m,
            n,
            max: 255.0,
            bit_depth: 8,
            alpha: None,
        };
        let at = |target| CompressOptions {
            target,
            ..CompressOptions::default()
        };
        // For 30 dB the tiles form u only near that threshold; for a byte budget, all.
        let mut lazy = Candidate::new(
            &input,
            Shape::Tiles(32),
            false,
            &at(Target::Psnr(30.0)),
            false,
            None,
        )
        .unwrap()
        .unwrap();
        let whole = Candidate::new(
            &input,
            Shape::Tiles(32),
            false,
            &at(Target::MaxBytes(1 << 20)),
            false,
            None,
        )
        .unwrap()
        .unwrap();
        let formed = |c: &Candidate| c.planes[0].svds.iter().map(|s| s.u.len()).sum::<usize>();
        assert!(lazy.planes[0].limit > 0.0 && formed(&lazy) < formed(&whole));
        assert_eq!(lazy.planes[0].sorted, whole.planes[0].sorted);
        // A threshold far below the estimate (about 45 dB): the vectors it keeps are formed
        // first, and the file is the one the whole factors give.
        let t = lazy.solve(45.0);
        assert!(((t / lazy.planes[0].weight.sqrt()) as f32) < lazy.planes[0].limit);
        lazy.ensure(&input, t).unwrap();
        for (i, svd) in lazy.planes[0].svds.iter().enumerate() {
            let h = lazy.planes[0].grid.rect(i).1;
            let kept = svd.s.iter().filter(|&&s| f64::from(s) >= t).count();
            assert!(svd.u.len() >= kept * h, "tile {i}");
        }
        let (a, b) = (
            lazy.quantise(&input, t, Some(0)),
            whole.quantise(&input, t, Some(0)),
        );
        assert_eq!(a.codes, b.codes);
        assert!(a.psnr > 40.0 && a.psnr == b.psnr, "{} {}", a.psnr, b.psnr);
    }

    #[test]
    fn a_sampled_measure_counts_the_bands_a_whole_rebuild_gives() {
        // An RGB image whose chroma is stored at half size: odd sides, tiles of 16 (so there
        // are 8 to 15 bands and every second one is measured).
        let (m, n) = (203, 161);
        let rgb: Vec<Vec<f32>> = (0..3)
            .map(|c| {
                let p = picture(m + c, n);
                p[c * n..].to_vec()
            })
            .collect();
        let planes = crate::Planes {
            width: n,
            height: m,
            bit_depth: 8,
            color: rgb
                .iter()
                .zip([PlaneName::R, PlaneName::G, PlaneName::B])
                .map(|(d, name)| crate::picture::Plane {
                    name,
                    data: d.clone(),
                })
                .collect(),
            alpha: None,
        };
        let levels: Vec<LevelPlane> = rgb.iter().map(|d| LevelPlane::of(d, 255.0)).collect();
        let input = Input {
            color: StoredColor::YCbCr,
            stored: crate::format::color::from_input(&planes, StoredColor::YCbCr),
            levels: &levels,
            reference: rgb.iter().map(|d| Cow::Borrowed(&d[..])).collect(),
            m,
            n,
            max: 255.0,
            bit_depth: 8,
            alpha: None,
        };
        let options = CompressOptions {
            target: Target::MaxBytes(1 << 20),
            ..CompressOptions::default()
        };
        let c = Candidate::new(&input, Shape::Tiles(16), true, &options, false, None)
            .unwrap()
            .unwrap();
        let g0 = c.planes[0].grid;
        assert!((8..16).contains(&g0.rows));
        let t = c.solve(33.0);
        let (deltas, codes) = c.codes_at(t);
        let grids: Vec<Grid> = c.planes.iter().map(|p| p.grid).collect();
        for strength in STRENGTHS {
            let whole = rebuild(
                &codes,
                &grids,
                &deltas,
                true,
                strength,
                None,
                false,
                input.color,
                m,
                n,
                usize::MAX,
            );
            let (mut sum, mut pixels) = (0.0, 0);
            for row in (0..g0.rows).step_by(2) {
                let (y0, h, _, _) = g0.rect(row * g0.cols);
                let band: Vec<&[f32]> = whole.iter().map(|p| &p[y0 * n..(y0 + h) * n]).collect();
                sum += level_error(&band, input.levels, y0 * n, input.max);
                pixels += h * n;
            }
            let want = metrics::psnr_from_squared_error(sum / (255.0 * 255.0), pixels * 3);
            assert_eq!(
                c.psnr(&codes, &deltas, strength, &input, 2),
                want,
                "strength {strength}"
            );
            let all: Vec<&[f32]> = whole.iter().map(|p| &p[..]).collect();
            assert_eq!(
                c.psnr(&codes, &deltas, strength, &input, 1),
                level_psnr(&all, input.levels, input.max)
            );
        }
    }
}
