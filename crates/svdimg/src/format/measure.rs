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
                .map(|(d, l)| pulp::Arch::new().dispatch(LevelError(d, l, max)))
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
            LevelPlane::Eight(l) => {
                pulp::Arch::new().dispatch(LevelError(decoded, &l[start..end], max))
            }
            LevelPlane::Sixteen(l) => {
                pulp::Arch::new().dispatch(LevelError(decoded, &l[start..end], max))
            }
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

/// [`squared_level_error`] under SIMD dispatch: the widest the CPU has (AVX2 on most
/// x86-64), chosen at run time. A struct: a closure's call was compiled without the CPU
/// features (measured: a call to libm's `floor` per sample).
struct LevelError<'a, L>(&'a [f32], &'a [L], f64);

impl<L: Copy + Into<f64>> pulp::WithSimd for LevelError<'_, L> {
    type Output = f64;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> f64 {
        squared_level_error(self.0, self.1, self.2)
    }
}

/// `Σ (round(clip(x)·max) − level)²` over a chunk of decoded samples and the reference's
/// levels. The terms are summed in eight lanes, so that the additions do not wait on each
/// other and the loop vectorises; the terms are integers, so the sum is the same.
#[inline(always)]
fn squared_level_error<L: Copy + Into<f64>>(decoded: &[f32], levels: &[L], max: f64) -> f64 {
    const LANES: usize = 8;
    let len = decoded.len().min(levels.len());
    let (decoded, levels) = (&decoded[..len], &levels[..len]);
    // `quantize`, with round half away from zero as ⌊y + ½⌋: y = clip(x)·max is at least
    // 0 and holds at most 40 significant bits (an f32 times a max below 2^16), so y + ½ is
    // exact and the two agree; `floor` vectorises where `round` became a call per sample.
    let term = |x: f32, l: L| {
        let x = f64::from(x);
        let level = if x.is_nan() {
            0.0
        } else {
            (x.clamp(0.0, 1.0) * max + 0.5).floor()
        };
        (level - l.into()).powi(2)
    };
    let (xs, ls) = (decoded.chunks_exact(LANES), levels.chunks_exact(LANES));
    let tail: f64 = (xs.remainder().iter().zip(ls.remainder()))
        .map(|(&x, &l)| term(x, l))
        .sum();
    let mut sums = [0.0; LANES];
    for (x, l) in xs.zip(ls) {
        for i in 0..LANES {
            sums[i] += term(x[i], l[i]);
        }
    }
    sums.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_error_rounds_as_quantize_does() {
        for max in [255.0, 65535.0] {
            // Halfway points and their f32 neighbours, levels, outside values and NaN.
            let mut xs: Vec<f32> = Vec::new();
            for k in 0..=300u32 {
                let half = ((f64::from(k) + 0.5) / max) as f32;
                let level = (f64::from(k) / max) as f32;
                xs.extend([
                    half,
                    f32::from_bits(half.to_bits() - 1),
                    f32::from_bits(half.to_bits() + 1),
                    level,
                ]);
            }
            xs.extend([-0.3, 1.7, 1.0, 0.0, -0.0, f32::NAN, 0.999_999_9]);
            let levels: Vec<u16> = (0..xs.len()).map(|i| (i * 37 % 256) as u16).collect();
            for x in &xs {
                let one = squared_level_error(&[*x], &[0u16], max);
                assert_eq!(one, quantize(*x, max).powi(2), "{x} at {max}");
            }
            let plain: f64 = xs
                .iter()
                .zip(&levels)
                .map(|(&x, &l)| (quantize(x, max) - f64::from(l)).powi(2))
                .sum();
            assert_eq!(squared_level_error(&xs, &levels, max), plain);
        }
    }
}
