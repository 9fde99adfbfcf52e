//! The PSNR of decoded planes against the source's sample levels, as a writer of the
//! decoded image would round them: what both versions' searches measure.

use rayon::prelude::*;

use crate::decomposition::CHUNK;
use crate::metrics;
use crate::picture::quantize;

/// One plane of the reference rounded to the output depth's levels (integers 0..=max): a
/// byte per sample for 8-bit images, two for 16-bit (at 24 megapixels the bytes save 72 MB
/// of the encoder's peak).
#[derive(Debug, Clone)]
pub(crate) enum LevelPlane {
    Eight(Vec<u8>),
    Sixteen(Vec<u16>),
}

impl LevelPlane {
    /// The levels of `reference` (samples in [0, 1]) at `max` (255 or 65535).
    pub(crate) fn of(reference: &[f32], max: f64) -> Self {
        if max <= 255.0 {
            LevelPlane::Eight(
                reference
                    .par_iter()
                    .map(|&y| quantize(y, max) as u8)
                    .collect(),
            )
        } else {
            LevelPlane::Sixteen(
                reference
                    .par_iter()
                    .map(|&y| quantize(y, max) as u16)
                    .collect(),
            )
        }
    }

    /// `Σ (round(clip(x)·max) − level)²` of `decoded` against this plane's samples from
    /// `start` on, in chunks in parallel, each under run-time SIMD dispatch.
    pub(crate) fn error(&self, decoded: &[f32], start: usize, max: f64) -> f64 {
        fn run<L: Copy + Into<f64> + Sync>(decoded: &[f32], levels: &[L], max: f64) -> f64 {
            decoded
                .par_chunks(CHUNK)
                .zip(levels[..decoded.len()].par_chunks(CHUNK))
                .map(|(d, l)| {
                    pulp::Arch::new().dispatch(
                        #[inline(always)]
                        || squared_level_error(d, l, max),
                    )
                })
                .sum()
        }
        match self {
            LevelPlane::Eight(l) => run(decoded, &l[start..], max),
            LevelPlane::Sixteen(l) => run(decoded, &l[start..], max),
        }
    }

    /// [`LevelPlane::error`] on one thread, for a short run of samples.
    pub(crate) fn chunk_error(&self, decoded: &[f32], start: usize, max: f64) -> f64 {
        let end = start + decoded.len();
        match self {
            LevelPlane::Eight(l) => pulp::Arch::new().dispatch(
                #[inline(always)]
                || squared_level_error(decoded, &l[start..end], max),
            ),
            LevelPlane::Sixteen(l) => pulp::Arch::new().dispatch(
                #[inline(always)]
                || squared_level_error(decoded, &l[start..end], max),
            ),
        }
    }
}

/// PSNR of decoded planes against the reference's levels (as version 1's rate search and
/// version 2's candidates measure).
pub(super) fn level_psnr(decoded: &[&[f32]], levels: &[LevelPlane], max: f64) -> f64 {
    let count = decoded.first().map_or(0, |d| d.len()) * decoded.len();
    metrics::psnr_from_squared_error(level_error(decoded, levels, 0, max) / (max * max), count)
}

/// `Σ (round(clip(x)·max) − level)²` over planes, each decoded plane against its levels
/// from sample `start` on. The terms are integers, so the sum is exact in any order.
pub(super) fn level_error(
    decoded: &[&[f32]],
    levels: &[LevelPlane],
    start: usize,
    max: f64,
) -> f64 {
    decoded
        .iter()
        .zip(levels)
        .map(|(d, l)| l.error(d, start, max))
        .sum()
}

/// `Σ (round(clip(x)·max) − level)²` over a chunk of decoded samples and the reference's
/// levels.
#[inline(always)]
fn squared_level_error<L: Copy + Into<f64>>(decoded: &[f32], levels: &[L], max: f64) -> f64 {
    decoded
        .iter()
        .zip(levels)
        .map(|(&x, &l)| (quantize(x, max) - l.into()).powi(2))
        .sum()
}
