//! A photo's planes as a JPEG coded them: gray, or BT.601 Y Cb Cr (Cb and Cr at half size
//! for a JPEG with 4:2:0 chroma), read from the image's levels, and their grids.

use rayon::prelude::*;

use super::super::patches;
use super::grid::{self, K, SIDE};
use crate::format::color::{double_chroma, halve, StoredColor, BT601};
use crate::format::measure::LevelPlane;
use crate::format::v2::input::Input;

/// Cb and Cr go at half size when halving them costs at most this share of the target's
/// squared error: measured on the shared photos saved as JPEGs, halving costs 0.24-1.1
/// levels² with 4:2:0 chroma (and the files came out 4-12% smaller), 0.6-6 with 4:4:4 (the
/// astronaut at quality 75, 3.3: 14% larger at 40 dB).
const HALVING_SHARE: f64 = 0.2;

/// An 8-bit gray or RGB image's planes as JPEG codes them: gray, or BT.601 Y Cb Cr, each
/// centred as JPEG centres it, read pixel by pixel from the levels (no copy of the planes).
pub(super) struct Source<'a> {
    levels: Vec<&'a [u8]>,
    m: usize,
    n: usize,
    /// Cb and Cr at half size (2×2 means), as a JPEG with 4:2:0 chroma stored them.
    pub half: bool,
}

impl Source<'_> {
    /// The size of plane `p`.
    pub(super) fn size(&self, p: usize) -> (usize, usize) {
        match self.half && p > 0 {
            true => (self.m.div_ceil(2), self.n.div_ceil(2)),
            false => (self.m, self.n),
        }
    }

    /// The full-size pixels sample `i` of plane `p` covers: itself, or at half size its 2×2
    /// (fewer at an odd edge, each counted twice), as [`crate::format::color`]'s halving.
    #[inline]
    fn covers(&self, p: usize, i: usize) -> [usize; 4] {
        if !(self.half && p > 0) {
            return [i; 4];
        }
        let (hn, m, n) = (self.n.div_ceil(2), self.m, self.n);
        let (y, x) = (2 * (i / hn), 2 * (i % hn));
        let (y1, x1) = ((y + 1).min(m - 1), (x + 1).min(n - 1));
        [y * n + x, y * n + x1, y1 * n + x, y1 * n + x1]
    }

    /// Sample `i` of plane `p`, in levels.
    #[inline]
    pub(super) fn value(&self, p: usize, i: usize) -> f32 {
        if self.half && p > 0 {
            return self
                .covers(p, i)
                .iter()
                .map(|&j| self.pixel(p, j))
                .sum::<f32>()
                / 4.0;
        }
        self.pixel(p, i)
    }

    /// Full-size pixel `i` of plane `p`, in levels.
    #[inline]
    fn pixel(&self, p: usize, i: usize) -> f32 {
        match &self.levels[..] {
            [gray] => f32::from(gray[i]) - 128.0,
            [r, g, b] => {
                let [kr, kg, kb] = BT601;
                let (r, g, b) = (f64::from(r[i]), f64::from(g[i]), f64::from(b[i]));
                let y = kr * r + kg * g + kb * b;
                (match p {
                    0 => y - 128.0,
                    1 => (b - y) / (2.0 * (1.0 - kb)),
                    _ => (r - y) / (2.0 * (1.0 - kr)),
                }) as f32
            }
            _ => unreachable!("gray or RGB"),
        }
    }

    /// Whether sample `i` of plane `p` covers a pixel at 0 or 255 in a channel: clipped by
    /// the JPEG's decoder.
    fn clipped(&self, p: usize, i: usize) -> bool {
        self.covers(p, i)
            .iter()
            .any(|&j| self.levels.iter().any(|l| l[j] == 0 || l[j] == 255))
    }

    /// The squared error per pixel (weighted as the picture's) that storing Cb and Cr at
    /// half size costs by itself: each halved (2×2 means) and doubled again as the decoder
    /// does.
    fn halving(&self) -> f64 {
        // On a band of whole rows across the middle, of at most 2^21 pixels (0.4 s less at
        // 24 MP).
        let n = self.n;
        let m = ((1 << 21) / n).clamp(2, self.m) & !1;
        let first = (self.m - m) / 2 * n;
        let weights = StoredColor::YCbCr601.weights();
        (1..3)
            .map(|p| {
                let plane: Vec<f32> = (first..first + m * n)
                    .into_par_iter()
                    .map(|i| self.pixel(p, i))
                    .collect();
                let back = double_chroma(&halve(&plane, m, n), m, n);
                let sum: f64 = plane
                    .par_iter()
                    .zip(&back)
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum();
                weights[p] * sum / (m * n) as f64
            })
            .sum()
    }

    /// Plane `p`'s steps and whether it shows the grid ([`grid::detect`]).
    fn detect(&self, p: usize) -> Option<([f64; K], bool)> {
        let (m, n) = self.size(p);
        grid::detect(&|i| self.value(p, i), m, n, |i| self.clipped(p, i))
    }

    /// Plane `p`'s coefficients, of `patches` or all of them ([`grid::coefficients`]).
    pub(super) fn coefficients(&self, p: usize, patches: Option<&[usize]>) -> Vec<[f32; K]> {
        let (m, n) = self.size(p);
        grid::coefficients(&|i| self.value(p, i), m, n, patches)
    }
}

/// The planes of an 8-bit gray or (where `colour`) RGB image in JPEG's terms, their grids,
/// and the colour model they are stored in; `None` unless one plane shows a JPEG's grid.
/// Where the luma shows it and neither chroma plane does (a JPEG with 4:2:0 chroma, whose
/// decoder's upsampling hides its grid), Cb and Cr are taken at half size if halving them
/// costs at most [`HALVING_SHARE`] of `mse` (the target's squared error per pixel).
pub(super) fn source<'a>(
    input: &Input<'a>,
    colour: bool,
    mse: f64,
) -> Option<(Source<'a>, Vec<[f64; K]>, StoredColor)> {
    let (levels, color) = match (input.color, input.levels) {
        (StoredColor::Gray, [LevelPlane::Eight(l)]) => (vec![&l[..]], StoredColor::Gray),
        (
            StoredColor::YCbCr,
            [LevelPlane::Eight(r), LevelPlane::Eight(g), LevelPlane::Eight(b)],
        ) if colour => (vec![&r[..], &g[..], &b[..]], StoredColor::YCbCr601),
        _ => return None,
    };
    let mut source = Source {
        levels,
        m: input.m,
        n: input.n,
        half: false,
    };
    let mut grids: Vec<([f64; K], bool)> = (0..source.levels.len())
        .map(|p| source.detect(p))
        .collect::<Option<_>>()?;
    if !grids.iter().any(|g| g.1) {
        return None;
    }
    if let [(_, true), (_, false), (_, false)] = grids[..] {
        // A plane holds at most as many components as its patches: a half-size one needs
        // 64 of them, and enough whole blocks to read.
        let half = (input.m.div_ceil(2), input.n.div_ceil(2));
        if patches::matrix_size(half.0, half.1, SIDE).0 >= K
            && source.halving() <= HALVING_SHARE * mse
        {
            source.half = true;
            match (source.detect(1), source.detect(2)) {
                (Some(cb), Some(cr)) => (grids[1], grids[2]) = (cb, cr),
                _ => source.half = false,
            }
        }
    }
    Some((source, grids.into_iter().map(|g| g.0).collect(), color))
}
