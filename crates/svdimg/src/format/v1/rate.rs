//! Rate control: the threshold on weighted singular values that decides each plane's rank
//! and quantisation step, and the searches for a PSNR or a byte budget.

use std::borrow::Cow;

use faer::Par;
use rayon::prelude::*;

use super::stored::{Stored, MAX_ENTRY};
use crate::format::color::{to_output, StoredColor};
use crate::format::measure::{level_psnr, LevelPlane};
use crate::{metrics, Error, Factors, Result};

/// With a given rank, the share of the truncation error's energy that quantisation may add.
const RANK_NOISE: f64 = 0.05;

/// Steps of the bisection on log t for `--psnr` and `--max-bytes`.
const SEARCH_STEPS: usize = 14;
/// Images of at least this many rows search for a PSNR on every `SAMPLED_STEP`-th row first.
const SAMPLED_FROM: usize = 512;
/// The row step of the sampled search: a quarter of the rows, a quarter of the cost.
const SAMPLED_STEP: usize = 4;
/// What the sampled search aims above the target, so that the whole image usually confirms
/// its answer at once (a sample's PSNR is off by a few hundredths of a dB).
const SAMPLED_MARGIN: f64 = 0.02;
/// How far above the sampled answer, as a factor on the threshold, and in how many steps on
/// the whole image the search then looks for a larger threshold that still reaches the
/// target.
const SAMPLED_RANGE: f64 = 1.05;
const SAMPLED_REFINE: usize = 3;

/// Per plane, the rank and quantisation step.
pub(super) type Plan = Vec<(usize, f64)>;

/// What [`compress`](super::compress) searches over: the stored planes, their factors and the reference.
pub(super) struct Search<'a> {
    pub(super) color: StoredColor,
    pub(super) weights: Vec<f64>,
    pub(super) factors: Cow<'a, [Factors<f32>]>,
    /// The planes the decoded image is measured against: the input's colour planes, or
    /// its gray plane when a colour image is stored as gray.
    pub(super) reference: Vec<&'a [f32]>,
    /// The reference rounded to the output depth's levels (integers 0..=max).
    pub(super) levels: &'a [LevelPlane],
    pub(super) m: usize,
    pub(super) n: usize,
    pub(super) max: f64,
    /// Whether every plane has all its components (an exact SVD).
    pub(super) complete: bool,
    pub(super) step_factor: f64,
    pub(super) par: Par,
}

impl Search<'_> {
    /// The largest weighted singular value: above it every rank is 0.
    pub(super) fn top(&self) -> f64 {
        self.factors
            .iter()
            .zip(&self.weights)
            .map(|(f, w)| w.sqrt() * f.singular_values().first().map_or(0.0, |&s| f64::from(s)))
            .fold(0.0, f64::max)
    }

    /// Below this threshold a truncated SVD lacks components the plan would keep.
    pub(super) fn floor(&self) -> f64 {
        if self.complete {
            return 0.0;
        }
        self.factors
            .iter()
            .zip(&self.weights)
            .map(|(f, w)| w.sqrt() * f.singular_values().last().map_or(0.0, |&s| f64::from(s)))
            .fold(0.0, f64::max)
    }

    /// The step for plane `p` at singular-value threshold `tau`.
    pub(super) fn step(&self, p: usize, tau: f64) -> f64 {
        let s1 = self.factors[p]
            .singular_values()
            .first()
            .map_or(0.0, |&s| f64::from(s));
        let delta = tau / (self.step_factor * (self.m.max(self.n) as f64).sqrt());
        // Keep entries within MAX_ENTRY; an all-zero plane needs no particular step.
        delta.max(s1 / MAX_ENTRY).max(f64::MIN_POSITIVE)
    }

    /// Ranks and steps for weighted threshold `t`; components with σ = 0 are never kept.
    pub(super) fn plan(&self, t: f64) -> Plan {
        (0..self.factors.len())
            .map(|p| {
                let tau = t / self.weights[p].sqrt();
                let s = self.factors[p].singular_values();
                let k = s
                    .iter()
                    .take_while(|&&x| x > 0.0 && f64::from(x) >= tau)
                    .count();
                (k, self.step(p, tau))
            })
            .collect()
    }

    /// Rank `k` for every plane. When the rank is given, the image should be close to the
    /// rank-k approximation: each plane's step keeps the quantisation noise of its
    /// components, about Δ²(m + n)/12 each, to `RANK_NOISE` of its truncation error. (A
    /// chroma plane that needs fewer components gets a coarse step, and its extra
    /// components cost little.)
    pub(super) fn rank_plan(&self, ks: &[usize; 3], totals: &[f64]) -> Plan {
        (0..self.factors.len())
            .map(|p| {
                let s = self.factors[p].singular_values();
                let rank = ks[p].min(s.len());
                let kept: f64 = s[..rank].iter().map(|&x| f64::from(x).powi(2)).sum();
                let tail = (totals[p] - kept).max(0.0);
                let per_component = RANK_NOISE * tail / rank.max(1) as f64;
                let delta = (12.0 * per_component / (self.m + self.n) as f64).sqrt();
                let s1 = s.first().map_or(0.0, |&x| f64::from(x));
                (rank, delta.max(s1 / MAX_ENTRY).max(f64::MIN_POSITIVE))
            })
            .collect()
    }

    /// The threshold keeping `fraction` of the weighted energy, or `None` when the
    /// components computed do not reach it.
    pub(super) fn energy_threshold(&self, fraction: f64, totals: &[f64]) -> Option<f64> {
        let total: f64 = totals.iter().zip(&self.weights).map(|(e, w)| e * w).sum();
        let mut values: Vec<(f64, f64)> = self
            .factors
            .iter()
            .zip(&self.weights)
            .flat_map(|(f, &w)| {
                f.singular_values()
                    .iter()
                    .map(move |&s| (w.sqrt() * f64::from(s), w * f64::from(s).powi(2)))
            })
            .collect();
        values.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut kept = 0.0;
        for &(t, e) in &values {
            kept += e;
            if kept >= fraction * total * (1.0 - 1e-9) {
                return (self.complete || t > self.floor()).then_some(t);
            }
        }
        // Only an exact SVD has every component; rounding may leave the sum a hair short.
        self.complete.then(|| values.last().map_or(0.0, |v| v.0))
    }

    pub(super) fn quantize(&self, plan: &Plan) -> Vec<Stored> {
        plan.par_iter()
            .zip(&self.factors[..])
            .map(|(&(k, delta), f)| Stored::quantize(f, k, delta))
            .collect()
    }

    /// The decoded planes, unclipped, in output colours.
    pub(super) fn decode(&self, stored: &[Stored]) -> Vec<Vec<f32>> {
        let planes = stored.iter().map(|s| s.reconstruct(self.par)).collect();
        to_output(planes, self.color)
    }

    /// PSNR of the decoded image against the reference, both rounded to the output depth
    /// (the input's samples are at those levels already, up to f32 rounding).
    ///
    /// It runs once per search step, so it is written for speed: chunks in parallel, each
    /// under run-time SIMD dispatch (where rounding is an instruction, not a libm call).
    /// The squared level differences are integers, so their sum is exact and the same
    /// every run.
    /// [`Search::psnr`] of the image `stored` decodes to, measured on every `step`-th row
    /// only: a quarter of the rows predicts the whole image's PSNR to a few hundredths of a
    /// dB for a quarter of the work.
    pub(super) fn sampled_psnr(&self, stored: &[Stored], step: usize) -> f64 {
        let planes = stored
            .iter()
            .map(|s| s.reconstruct_rows(step, self.par))
            .collect();
        let decoded = to_output(planes, self.color);
        let (n, max) = (self.n, self.max);
        let mut sum = 0.0;
        for (d, levels) in decoded.iter().zip(self.levels) {
            sum += d
                .par_chunks(n)
                .enumerate()
                .map(|(i, row)| levels.chunk_error(row, i * step * n, max))
                .sum::<f64>();
        }
        let rows = self.m.div_ceil(step);
        metrics::psnr_from_squared_error(sum / (max * max), rows * n * decoded.len())
    }

    pub(super) fn psnr(&self, decoded: &[&[f32]]) -> f64 {
        level_psnr(decoded, self.levels, self.max)
    }
}

/// The boundary between `good` and `bad` thresholds on a log scale: the last good one.
pub(super) fn bisect(good: f64, bad: f64, ok: impl FnMut(f64) -> Result<bool>) -> Result<f64> {
    bisect_steps(good, bad, SEARCH_STEPS, ok)
}

/// [`bisect`] with `steps` steps.
fn bisect_steps(
    mut good: f64,
    mut bad: f64,
    steps: usize,
    mut ok: impl FnMut(f64) -> Result<bool>,
) -> Result<f64> {
    for _ in 0..steps {
        let mid = (good * bad).sqrt();
        if ok(mid)? {
            good = mid;
        } else {
            bad = mid;
        }
    }
    Ok(good)
}

/// The largest threshold whose decoded image reaches `db`, or `None` when the components
/// computed are not enough.
/// What a search for a PSNR found.
pub(super) enum Found {
    /// The plan that reaches it.
    Plan(Plan),
    /// The components computed are not enough: the best PSNR they reach, in dB.
    Short(f64),
}

pub(super) fn search_psnr(s: &Search, db: f64) -> Result<Found> {
    let psnr = |t: f64| {
        let decoded = s.decode(&s.quantize(&s.plan(t)));
        s.psnr(&decoded.iter().map(|d| &d[..]).collect::<Vec<_>>())
    };
    let top = s.top();
    if top == 0.0 || psnr(top) >= db {
        return Ok(Found::Plan(s.plan(top)));
    }
    let low = (top / MAX_ENTRY).max(s.floor() * (1.0 + 1e-6));
    let best = psnr(low);
    if best < db {
        if !s.complete {
            return Ok(Found::Short(best));
        }
        return Err(Error::parameter(format!(
            "cannot reach {db} dB: the best this image can be stored at is {best:.2} dB"
        )));
    }
    // On a large image, search on a sample of its rows first (aiming a little above the
    // target), and confirm the answer on the whole image; the full search remains for
    // when it is not confirmed.
    if s.m >= SAMPLED_FROM {
        let sampled = |t: f64| s.sampled_psnr(&s.quantize(&s.plan(t)), SAMPLED_STEP);
        let t = bisect(low, top, |t| Ok(sampled(t) >= db + SAMPLED_MARGIN))?;
        if psnr(t) >= db {
            // Take back most of the margin on the whole image: a few steps up to 5% higher.
            let hi = (t * SAMPLED_RANGE).min(top);
            let t = bisect_steps(t, hi, SAMPLED_REFINE, |t| Ok(psnr(t) >= db))?;
            return Ok(Found::Plan(s.plan(t)));
        }
    }
    let t = bisect(low, top, |t| Ok(psnr(t) >= db))?;
    Ok(Found::Plan(s.plan(t)))
}

/// The smallest threshold whose file fits in `budget` bytes, or `None` when the components
/// computed are not enough.
pub(super) fn search_bytes(
    s: &Search,
    budget: u64,
    encode: &dyn Fn(&[Stored]) -> Vec<u8>,
) -> Result<Option<Plan>> {
    let size = |t: f64| encode(&s.quantize(&s.plan(t))).len() as u64;
    let top = s.top();
    let smallest = size(top);
    if smallest > budget {
        return Err(Error::parameter(format!(
            "cannot fit in {budget} bytes: the smallest file for this image is {smallest} bytes"
        )));
    }
    let low = (top / MAX_ENTRY).max(s.floor() * (1.0 + 1e-6));
    if size(low) <= budget {
        return Ok(if s.complete { Some(s.plan(low)) } else { None });
    }
    let t = bisect(top, low, |t| Ok(size(t) <= budget))?;
    Ok(Some(s.plan(t)))
}

impl Search<'_> {
    /// How many components the planes need for `db` dB when the ones computed reach only
    /// `best` dB, extrapolated: the weighted residual energy Σ wₚ (‖Aₚ‖² − Σ σᵢ²) must
    /// shrink by 10^((db − best)/10), and the values beyond those computed are taken to
    /// decay as a power law σᵢ ∝ i^(−b), b fitted on the second half of the computed ones.
    /// The planes share one threshold on √wₚ σ, as the plan does. Returns the largest plane
    /// rank, at most min(m, n).
    pub(super) fn rank_needed(&self, totals: &[f64], best: f64, db: f64) -> usize {
        let short = self.m.min(self.n);
        struct Tail {
            weight: f64,
            last: f64,
            decay: f64,
            residual: f64,
            /// `removed[j]`: the energy of extrapolated components k+1 ..= k+j.
            removed: Vec<f64>,
        }
        let mut tails = Vec::new();
        for ((f, &w), &total) in self.factors.iter().zip(&self.weights).zip(totals) {
            let s: Vec<f64> = f.singular_values().iter().map(|&x| f64::from(x)).collect();
            let k = s.len();
            if k < 4 || s[k - 1] <= 0.0 {
                return short;
            }
            let (half, last) = (s[k / 2 - 1], s[k - 1]);
            let decay = if half > last {
                (half / last).ln() / ((k as f64) / (k / 2) as f64).ln()
            } else {
                0.5
            };
            let mut removed = vec![0.0];
            for i in k + 1..=short {
                let e = last * last * (i as f64 / k as f64).powf(-2.0 * decay);
                removed.push(removed.last().unwrap_or(&0.0) + e);
            }
            let kept: f64 = s.iter().map(|x| x * x).sum();
            tails.push(Tail {
                weight: w,
                last,
                decay,
                residual: (total - kept).max(0.0),
                removed,
            });
        }
        let k = self.factors.first().map_or(0, |f| f.rank());
        // The weighted residual Σ wₚ (‖Aₚ‖² − Σ_{√wₚ σᵢ ≥ t} σᵢ²) at threshold t, with the
        // plane ranks it keeps, over computed and extrapolated values alike.
        let at = |threshold: f64| {
            let mut residual = 0.0;
            let mut rank = 0;
            for (t, f) in tails.iter().zip(self.factors.iter()) {
                let root = t.weight.sqrt();
                let s = f.singular_values();
                let kept_computed = s
                    .iter()
                    .take_while(|&&x| root * f64::from(x) >= threshold)
                    .count();
                let (count, left) = if kept_computed < k {
                    let kept: f64 = s[kept_computed..]
                        .iter()
                        .map(|&x| f64::from(x).powi(2))
                        .sum();
                    (kept_computed, t.residual + kept)
                } else {
                    let ratio = (root * t.last / threshold).max(1.0);
                    let extra = ((k as f64) * ratio.powf(1.0 / t.decay)).floor() as usize;
                    let extra = extra.clamp(k, short) - k;
                    (k + extra, (t.residual - t.removed[extra]).max(0.0))
                };
                residual += t.weight * left;
                rank = rank.max(count);
            }
            (residual, rank)
        };
        let low = self.floor() * (1.0 + 1e-6);
        let target = 10f64.powf(-(db - best) / 10.0) * at(low).0;
        // Lower the threshold from where the search stopped until the residual left
        // reaches the target.
        let mut threshold = low;
        loop {
            let (residual, rank) = at(threshold);
            if residual <= target || rank >= short || threshold < low * 1e-6 {
                return rank;
            }
            threshold *= 0.98;
        }
    }
}
