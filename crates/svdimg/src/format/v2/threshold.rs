//! Rate control of `.svdz` version 2: the threshold on the weighted singular values that
//! reaches a PSNR, or the best PSNR within a byte budget.

use rayon::prelude::*;

use super::candidate::Candidate;
use super::codec::write;
use super::entropy::cost;
use super::input::Input;
use super::quantised::Quantised;
use super::tiles::TileCode;
use crate::{metrics, Error, Result};

/// Real evaluations of the PSNR search before it settles for the best found.
const MAX_EVALS: usize = 8;
/// How far above its target the PSNR search may stop, in dB.
const CLOSE: f64 = 0.08;
/// Steps of the bisection for a byte budget (on the estimate: no entropy coding).
const BYTE_STEPS: usize = 16;
/// How much larger than the best layout's file another layout's first measurement may
/// predict before its search stops (see [`search_psnr`]). Not less: at 1.1 the retina photo
/// at 35 dB lost its best layout (64-pixel tiles, whose first measurement landed 2 dB above
/// the target and predicted 1.17 times the best file so far; the file it made was 6.5%
/// smaller) and came out 6.9% larger.
const PRUNE: f64 = 1.2;
/// Where a search that starts from a crop's model offset has its first measurement within
/// `NEAR_DB` of the target, its prediction is within 4% of the file the layout makes, and
/// the search stops above `PRUNE_NEAR` times the best file (not without the crop: on a
/// 102×102 photo, where the header is much of the file, one byte was lost). Measured on
/// 12 photos of 1-2 MP at 30/35/40 dB: the predictions within 0.5 dB were 0.95-1.04 of the
/// files; 10 of 36 searches stopped early, and every chosen file was the same (at 1.01, 15
/// would have stopped, with the same files).
const PRUNE_NEAR: f64 = 1.03;
/// See [`PRUNE_NEAR`], in dB.
const NEAR_DB: f64 = 0.5;
/// Two measurements closer than this in dB give no secant: the PSNR moves in steps as
/// components enter and leave, and a secant through two points on one step jumped to twice
/// the threshold (the colour mosaic at 40 dB: 40.11 dB twice, then 35.03, three more
/// measurements to come back). The model, corrected by the last measurement, steps instead.
const FLAT: f64 = 0.01;
/// dB per doubling of the bytes near the usual targets (photos: about 5 dB).
const DB_PER_DOUBLING: f64 = 5.0;

/// Searches the threshold for a PSNR of at least `db`. The model proposes the first
/// threshold and, corrected by its offset from the measurement, the second; then the
/// search follows the secant through the last two measurements, or interpolates (in log t)
/// between the measurements on either side of the target once it has both.
/// It stops within `CLOSE` dB above the target, or when the two sides are 1% apart.
///
/// With `bias`, the model's offset from the measurement where the same layout ended its
/// search on a crop of the image, the first threshold corrects the model by it (measured on
/// 12 photos of 1-2 MP at 30/35/40 dB: the first measurement within 0.5 dB of the target
/// far more often, and two measurements per layout where there were three).
///
/// With `beat`, the bytes of the best file another layout made, the search gives up after
/// its first measurement when this layout's file, scaled to the target PSNR, would be more
/// than `PRUNE` times that (`PRUNE_NEAR` when the measurement is near the target).
pub(super) fn search_psnr(
    c: &mut Candidate<'_>,
    input: &Input,
    db: f64,
    bias: Option<f64>,
    beat: Option<usize>,
) -> Result<Option<(f64, Quantised)>> {
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
    let mut offset = bias.unwrap_or(0.0);
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
            (_, _, [.., (t0, p0), (t1, p1)]) if (p1 - p0).abs() > FLAT => {
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
        c.ensure(input, t)?;
        let q = c.quantise(input, t, strength);
        strength = Some(q.deblock);
        if let (Some(beat), true) = (beat, seen.is_empty()) {
            let bytes = write(c, &q, input).len() as f64;
            let at_target = bytes * ((db - q.psnr) / DB_PER_DOUBLING).exp2();
            let prune = if bias.is_some() && (q.psnr - db).abs() <= NEAR_DB {
                PRUNE_NEAR
            } else {
                PRUNE
            };
            if at_target > prune * beat as f64 {
                return Ok(None);
            }
        }
        offset = model_offset(c, t, q.psnr);
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

/// The measured `psnr` at threshold `t` less the model's prediction there, in dB (a
/// measurement far above the model, such as a lossless one, counts as 20 dB above it).
pub(super) fn model_offset(c: &Candidate, t: f64, psnr: f64) -> f64 {
    let model = c.model(t);
    psnr.min(model + 20.0) - model
}

/// The best PSNR whose file fits `budget`. The entropy coder runs a few times only: an
/// estimate of the bits (an Elias gamma count of the integers), calibrated on one real file,
/// is bisected on log t; real files then confirm the answer and step past it if needed.
pub(super) fn search_bytes(c: &Candidate, input: &Input, budget: u64) -> Result<Option<Quantised>> {
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
