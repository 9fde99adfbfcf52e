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
        // strengths instead of 160, and the same strength chosen).
        let rows = self.planes[0].grid.rows;
        let sample = match (strengths.len() > 1, rows) {
            (true, 64..) => rows / 16,
            (true, 16..) => 4,
            (true, 8..) => 2,
            _ => 1,
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
        // Half-size chroma is rebuilt whole once for a full measurement; for a sample, only
        // the rows each band needs.
        let small: Vec<Option<Vec<f32>>> = self
            .planes
            .iter()
            .enumerate()
            .map(|(p, plane)| {
                (self.half && p > 0 && sample == 1).then(|| {
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
                        Some(s) => double_rows(s, 0, m, n, y0, h),
                        None if self.half && p > 0 => {
                            // The half-size rows the band's pixels lie between, with three
                            // rows more each side for the deblocking filter.
                            let hm = plane.grid.m;
                            let sa = (y0 / 2).saturating_sub(4);
                            let sb = ((y0 + h) / 2 + 5).min(hm);
                            let mut rows = tiles::assemble_rows(
                                &codes[p],
                                &plane.grid,
                                deltas[p],
                                &self.dct,
                                sa,
                                sb,
                            );
                            deblock::deblock(
                                &mut rows,
                                sa,
                                &plane.grid,
                                deblock::alpha(strength, deltas[p]),
                            );
                            double_rows(&rows, sa, m, n, y0, h)
                        }
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
                level_error(&d, input.levels, y0 * n, input.max)
            })
            .sum();
        let channels = input.levels.len();
        metrics::psnr_from_squared_error(sum / (input.max * input.max), pixels * channels)
    }
}
