//! The PSNR of decoded planes against the source's sample levels, as a writer of the
//! decoded image would round them: what both versions' searches measure.

use rayon::prelude::*;

use crate::decomposition::CHUNK;
use crate::metrics;
use crate::picture::quantize;

/// PSNR of decoded planes against the reference's levels (as version 1's rate search and version 2's candidates measure).
pub(super) fn level_psnr(decoded: &[&[f32]], levels: &[Vec<u16>], max: f64) -> f64 {
    let levels: Vec<&[u16]> = levels.iter().map(|l| &l[..]).collect();
    let count = decoded.first().map_or(0, |d| d.len()) * decoded.len();
    metrics::psnr_from_squared_error(level_error(decoded, &levels, max) / (max * max), count)
}

/// `Σ (round(clip(x)·max) − level)²` over planes, in chunks in parallel, each under
/// run-time SIMD dispatch. The terms are integers, so the sum is exact in any order.
pub(super) fn level_error(decoded: &[&[f32]], levels: &[&[u16]], max: f64) -> f64 {
    let mut sum = 0.0;
    for (d, levels) in decoded.iter().zip(levels) {
        sum += d
            .par_chunks(CHUNK)
            .zip(levels.par_chunks(CHUNK))
            .map(|(d, l)| {
                pulp::Arch::new().dispatch(
                    #[inline(always)]
                    || squared_level_error(d, l, max),
                )
            })
            .sum::<f64>();
    }
    sum
}

/// `Σ (round(clip(x)·max) − level)²` over a chunk of decoded samples and the reference's
/// levels.
#[inline(always)]
pub(crate) fn squared_level_error(decoded: &[f32], levels: &[u16], max: f64) -> f64 {
    decoded
        .iter()
        .zip(levels)
        .map(|(&x, &l)| (quantize(x, max) - f64::from(l)).powi(2))
        .sum()
}
