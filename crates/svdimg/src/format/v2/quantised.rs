//! A layout quantised at a threshold, and the PSNR its decoded image will have.

use rayon::prelude::*;

use super::candidate::{Candidate, Shape};
use super::deblock::{self, STRENGTHS};
use super::input::Input;
use super::rebuild::rebuild;
use super::tiles::{self, Grid, TileCode};
use crate::format::color::{double_rows, to_output};
use crate::format::measure::{level_error, level_psnr};
use crate::metrics;

/// A quantised image.
pub(super) struct Quantised {
    pub(super) deltas: Vec<f32>,
    pub(super) codes: Vec<Vec<TileCode>>,
    /// The deblocking strength, and the PSNR measured with it.
    pub(super) deblock: u8,
    pub(super) psnr: f64,
}

impl Quantised {
    /// Per plane, the components kept in all its tiles.
    pub(super) fn ranks(&self) -> Vec<usize> {
        self.codes
            .iter()
            .map(|plane| plane.iter().map(TileCode::rank).sum())
            .collect()
    }
}

impl Candidate<'_> {
    /// Quantises at threshold `t` and measures the PSNR with deblocking strength
    /// `deblock`, or with the best of [`STRENGTHS`] when it is `None`.
    pub(super) fn quantise(&self, input: &Input, t: f64, strength: Option<u8>) -> Quantised {
        let (deltas, codes) = self.codes_at(t);
        self.measure(input, deltas, codes, strength)
    }

    /// The steps and the quantised tiles at threshold `t`.
    pub(super) fn codes_at(&self, t: f64) -> (Vec<f32>, Vec<Vec<TileCode>>) {
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
                        tiles::Quantize {
                            a: &a,
                            h,
                            w,
                            svd: &plane.svds[i],
                            tau,
                            delta,
                            dct: &self.dct,
                        }
                        .run()
                    })
                    .collect()
            })
            .collect();
        (deltas, codes)
    }

    /// Measures quantised tiles: their PSNR with deblocking strength `strength`, or with
    /// the best of [`STRENGTHS`] when it is `None`.
    pub(super) fn measure(
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
        // Strengths are compared on every second band of tiles when there are some, every
        // fourth when there are many, and on 16 to 31 bands when there are more than 64 (a
        // 6000×4000 photo's 125 bands of 32-pixel tiles: 90 band measurements for the five
        // strengths instead of 160, and the same strength chosen). Each band compared is
        // rebuilt once and filtered at every strength; the full measurement then adds the
        // other bands at the strength chosen.
        let rows = self.planes[0].grid.rows;
        let sample = match (strengths.len() > 1, rows) {
            (true, 64..) => rows / 16,
            (true, 16..) => 4,
            (true, 8..) => 2,
            _ => 1,
        };
        let sampled: Vec<usize> = (0..rows).step_by(sample).collect();
        let (strength, psnr) = match strengths {
            &[s] => (s, self.psnr(&codes, &deltas, s, input, 1)),
            _ => {
                let sums = self.errors(&codes, &deltas, strengths, input, &sampled);
                let (best, sum, psnr) = strengths
                    .iter()
                    .zip(sums)
                    .map(|(&s, e)| (s, e, self.psnr_of(e, &sampled, input)))
                    .fold((0, 0.0, f64::NEG_INFINITY), |best, x| {
                        if x.2 > best.2 {
                            x
                        } else {
                            best
                        }
                    });
                if sample > 1 {
                    let rest: Vec<usize> = (0..rows).filter(|r| r % sample != 0).collect();
                    let all = sum + self.errors(&codes, &deltas, &[best], input, &rest)[0];
                    let every: Vec<usize> = (0..rows).collect();
                    (best, self.psnr_of(all, &every, input))
                } else {
                    (best, psnr)
                }
            }
        };
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
    pub(super) fn psnr(
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
                self.dct.is_square(),
                input.color,
                m,
                n,
                usize::MAX,
            );
            let d: Vec<&[f32]> = decoded.iter().map(|p| &p[..]).collect();
            return level_psnr(&d, input.levels, input.max);
        }
        let g0 = self.planes[0].grid;
        let bands: Vec<usize> = (0..g0.rows).step_by(sample).collect();
        let sum = self.errors(codes, deltas, &[strength], input, &bands)[0];
        self.psnr_of(sum, &bands, input)
    }

    /// The PSNR of a squared level error `sum` over `bands` of tiles.
    fn psnr_of(&self, sum: f64, bands: &[usize], input: &Input) -> f64 {
        let g0 = self.planes[0].grid;
        let pixels: usize = bands
            .iter()
            .map(|&r| g0.rect(r * g0.cols).1 * input.n)
            .sum();
        let channels = input.levels.len();
        metrics::psnr_from_squared_error(sum / (input.max * input.max), pixels * channels)
    }

    /// Per deblocking strength, the squared level error of the decoded image's `bands` of
    /// tiles (by the first plane's grid), each band rebuilt once with two rows of margin for
    /// the filter: the same numbers as [`rebuild`], and sums of integers, so the same
    /// whatever the order of the bands.
    fn errors(
        &self,
        codes: &[Vec<TileCode>],
        deltas: &[f32],
        strengths: &[u8],
        input: &Input,
        bands: &[usize],
    ) -> Vec<f64> {
        let (m, n) = (input.m, input.n);
        let g0 = self.planes[0].grid;
        // Where every band is measured, half-size chroma is rebuilt whole once; otherwise
        // each band rebuilds only the rows it needs.
        let whole = bands.len() == g0.rows;
        let half = |p: usize| self.half && p > 0;
        let mut small: Vec<Option<Vec<f32>>> = (0..self.planes.len())
            .map(|p| {
                let grid = &self.planes[p].grid;
                (half(p) && whole)
                    .then(|| tiles::assemble(&codes[p], grid, deltas[p], &self.dct, usize::MAX))
            })
            .collect();
        let last = strengths.len() - 1;
        // Per strength, those planes filtered (the last strength takes them, the others
        // filter a copy: no copy for one strength, at 24 MP 48 MB).
        let filtered: Vec<Vec<Option<Vec<f32>>>> = (0..strengths.len())
            .map(|i| {
                small
                    .iter_mut()
                    .enumerate()
                    .map(|(p, plane)| {
                        plane.as_mut().map(|plane| {
                            let mut f = if i == last {
                                std::mem::take(plane)
                            } else {
                                plane.clone()
                            };
                            let alpha = deblock::alpha(strengths[i], deltas[p]);
                            deblock::deblock(&mut f, 0, &self.planes[p].grid, alpha);
                            f
                        })
                    })
                    .collect()
            })
            .collect();
        bands
            .par_iter()
            .map(|&row| {
                let (y0, h, _, _) = g0.rect(row * g0.cols);
                // Each plane's rows before filtering, and the first of them.
                let mut rows: Vec<Option<(Vec<f32>, usize)>> = self
                    .planes
                    .iter()
                    .enumerate()
                    .map(|(p, plane)| {
                        let (a, b) = match (half(p), whole) {
                            (true, true) => return None,
                            // The half-size rows the band's pixels lie between, with three
                            // rows more each side for the filter.
                            (true, false) => (
                                (y0 / 2).saturating_sub(4),
                                ((y0 + h) / 2 + 5).min(plane.grid.m),
                            ),
                            (false, _) => (y0.saturating_sub(2), (y0 + h + 2).min(m)),
                        };
                        let r = tiles::assemble_rows(
                            &codes[p],
                            &plane.grid,
                            deltas[p],
                            &self.dct,
                            a,
                            b,
                        );
                        Some((r, a))
                    })
                    .collect();
                strengths
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| {
                        let band: Vec<Vec<f32>> = (0..self.planes.len())
                            .map(|p| {
                                if let Some(f) = &filtered[i][p] {
                                    return double_rows(f, 0, m, n, y0, h);
                                }
                                let Some((r, a)) = &mut rows[p] else {
                                    unreachable!("a plane not rebuilt whole is rebuilt here")
                                };
                                // The last strength takes the rows; the others filter a copy.
                                let mut r = if i == last {
                                    std::mem::take(r)
                                } else {
                                    r.clone()
                                };
                                let alpha = deblock::alpha(s, deltas[p]);
                                deblock::deblock(&mut r, *a, &self.planes[p].grid, alpha);
                                if half(p) {
                                    double_rows(&r, *a, m, n, y0, h)
                                } else {
                                    r.drain(..(y0 - *a) * n);
                                    r.truncate(h * n);
                                    r
                                }
                            })
                            .collect();
                        let out = to_output(band, input.color);
                        let d: Vec<&[f32]> = out.iter().map(|b| &b[..]).collect();
                        level_error(&d, input.levels, y0 * n, input.max)
                    })
                    .collect::<Vec<f64>>()
            })
            .reduce(
                || vec![0.0; strengths.len()],
                |a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect(),
            )
    }
}
