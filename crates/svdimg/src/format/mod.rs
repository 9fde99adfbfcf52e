//! `.svdz`: a compressed file of quantised SVD factors that is smaller than the image.
//!
//! Each colour plane (gray, R G B, or Rec.709 Y Cb Cr) keeps its first k components
//! `σᵢ uᵢ vᵢᵀ`. Component i is stored as two integer vectors and one scale:
//! `qᵤ = round(σᵢ uᵢ / Δ)`, `qᵥ = round(σᵢ vᵢ / Δ)` and the least-squares scale
//! `sᵢ = σᵢ (uᵢ·qᵤ)(vᵢ·qᵥ) / (‖qᵤ‖² ‖qᵥ‖²)`, so that the decoder rebuilds
//! `A ≈ Σ sᵢ qᵤ qᵥᵀ`. Putting σᵢ into both vectors makes every integer cost the same
//! image error, about `Δ²(m + n)/12` per component whatever its σᵢ.
//!
//! One threshold t on the colour-weighted singular values picks every plane's rank (the
//! components with `√wₚ σᵢ ≥ t`) and step (`Δₚ = t / (c √wₚ √max(m, n))`), so the
//! quantisation noise a component adds stays below the error of dropping it. The weight
//! wₚ is what an error in the plane costs in RGB. `--psnr` and `--max-bytes` search t;
//! `--rank` and `--energy` set it.
//!
//! The vectors are coded as varints and compressed with zstd in blocks of components, in
//! component order, so a prefix of the file holds the first components of every plane.
//! The byte layout is specified in `docs/FORMAT.md`.

mod layout;
mod vectors;

use std::borrow::Cow;

use faer::{Mat, MatMut, Par};
use rayon::prelude::*;

use crate::decomposition::CHUNK;
use crate::picture::quantize;
use crate::{
    metrics, Error, Factors, Limits, Method, Plane, PlaneName, Planes, Randomized, Result, REC709,
};

/// The default of [`CompressOptions::step_factor`].
const STEP_FACTOR: f64 = 0.7;
/// Components per zstd block: small enough for `--rank J` to skip most of a file, large
/// enough for zstd to find the statistics of the integers.
const BLOCK_SIZE: u16 = 16;
/// zstd's compression level: 19 is the highest of its normal range.
const ZSTD_LEVEL: i32 = 19;
/// The largest integer a vector entry may hold, so that sums stay exact in f32's range.
const MAX_ENTRY: f64 = (1 << 24) as f64;
/// With a given rank, the share of the truncation error's energy that quantisation may add.
const RANK_NOISE: f64 = 0.05;
/// Steps of the bisection on log t for `--psnr` and `--max-bytes`.
const SEARCH_STEPS: usize = 14;

/// What to compress to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Keep k components per plane (clamped to min(m, n)), each quantised finely enough
    /// to stay within 0.2 dB of the exact rank-k approximation.
    Rank(usize),
    /// Keep this share of the colour-weighted energy Σ wₚ σᵢ², in (0, 1].
    Energy(f64),
    /// The smallest file whose decoded image reaches this PSNR in dB, measured on the
    /// decoded image.
    Psnr(f64),
    /// The best PSNR whose file fits in this many bytes.
    MaxBytes(u64),
    /// A rank per stored plane, in file order (`gray`, `r g b` or `y cb cr`; a gray file
    /// uses the first), each clamped to min(m, n) and quantised as with `Rank`. A plane may
    /// keep no component (a zero chroma plane gives a gray picture), but not every one.
    Ranks([usize; 3]),
}

impl Default for Target {
    /// Default: `Psnr(35.0)`.
    fn default() -> Self {
        Target::Psnr(35.0)
    }
}

/// Which colour planes to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// Y Cb Cr for a colour image, gray for a gray one. Default.
    #[default]
    Auto,
    /// Red, green and blue.
    Rgb,
    /// Rec.709 luma and two colour differences: chroma has little detail, so it needs
    /// fewer components.
    YCbCr,
    /// One Rec.709 gray plane (a colour image loses its colour).
    Gray,
}

/// The colour planes a file stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredColor {
    /// One gray plane.
    Gray,
    /// Red, green, blue.
    Rgb,
    /// Rec.709 Y, Cb, Cr: `Y = 0.2126 R + 0.7152 G + 0.0722 B`,
    /// `Cb = (B − Y) / 1.8556`, `Cr = (R − Y) / 1.5748`.
    YCbCr,
}

impl StoredColor {
    /// `gray`, `rgb` or `ycbcr`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoredColor::Gray => "gray",
            StoredColor::Rgb => "rgb",
            StoredColor::YCbCr => "ycbcr",
        }
    }

    /// The names of the stored planes, in file order.
    pub fn plane_names(self) -> &'static [&'static str] {
        match self {
            StoredColor::Gray => &["gray"],
            StoredColor::Rgb => &["r", "g", "b"],
            StoredColor::YCbCr => &["y", "cb", "cr"],
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            StoredColor::Gray => 0,
            StoredColor::Rgb => 1,
            StoredColor::YCbCr => 2,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        [StoredColor::Gray, StoredColor::Rgb, StoredColor::YCbCr]
            .into_iter()
            .find(|c| c.code() == code)
    }

    /// What a unit error in each stored plane costs in squared RGB error, relative to the
    /// first plane.
    fn weights(self) -> Vec<f64> {
        match self {
            StoredColor::Gray => vec![1.0],
            StoredColor::Rgb => vec![1.0; 3],
            StoredColor::YCbCr => {
                // δY moves R, G and B by δ each: cost 3. δCb moves B and G, δCr R and G.
                let [kr, kg, kb] = REC709;
                let (cb, cr) = (2.0 * (1.0 - kb), 2.0 * (1.0 - kr));
                vec![
                    1.0,
                    (cb * cb + (kb * cb / kg).powi(2)) / 3.0,
                    (cr * cr + (kr * cr / kg).powi(2)) / 3.0,
                ]
            }
        }
    }
}

/// Options of [`compress`].
#[derive(Debug, Clone)]
pub struct CompressOptions {
    /// What to compress to. Default: 35 dB PSNR.
    pub target: Target,
    /// Which colour planes to store. Default: `Auto`.
    pub color: ColorChoice,
    /// How the SVD is computed: `Auto` takes the exact SVD up to a megapixel and a
    /// randomized one, grown as the target needs, above. Default: `Auto`.
    pub method: Method,
    /// Settings of the randomized SVD. Default: the defaults.
    pub randomized: Randomized,
    /// Parallelism of the SVD and the matrix products. Default: all cores.
    pub par: Par,
    /// The constant c in the quantisation step `Δ = t / (c √max(m, n))` for threshold t:
    /// larger means finer steps and fewer components for the same quality.
    /// Default: 0.7, measured with `cargo run --release -p svdimg --example tune_svdz`.
    pub step_factor: f64,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions {
            target: Target::default(),
            color: ColorChoice::default(),
            method: Method::Auto,
            randomized: Randomized::default(),
            par: Par::rayon(0),
            step_factor: STEP_FACTOR,
        }
    }
}

/// A compressed file and what it achieves.
#[derive(Debug, Clone)]
pub struct Compressed {
    /// The `.svdz` file.
    pub bytes: Vec<u8>,
    /// The colour planes it stores.
    pub color: StoredColor,
    /// Each stored plane's name and rank.
    pub ranks: Vec<(&'static str, usize)>,
    /// PSNR of the decoded file against the input, in dB (infinite when equal), measured by
    /// decoding `bytes`.
    pub psnr_db: f64,
    /// Mean SSIM of the decoded file against the input over the colour planes.
    pub ssim: f64,
}

/// Options of [`decompress`].
#[derive(Debug, Clone, Default)]
pub struct DecompressOptions {
    /// Decode only the first J components of each plane (a prefix of the file); `None`
    /// decodes all of them. Default: `None`.
    pub rank: Option<usize>,
    /// Limits checked against the header before anything is allocated.
    pub limits: Limits,
}

/// What an `.svdz` header says, from [`inspect`].
#[derive(Debug, Clone, PartialEq)]
pub struct SvdzInfo {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Bits per sample of the source and of the decoded image: 8 or 16.
    pub bit_depth: u8,
    /// The stored colour planes.
    pub color: StoredColor,
    /// Whether an alpha plane is stored (losslessly).
    pub alpha: bool,
    /// Each stored plane's name and rank.
    pub ranks: Vec<(&'static str, usize)>,
    /// Components per compressed block.
    pub block_size: usize,
    /// The file's length in bytes.
    pub bytes: usize,
}

/// Whether `bytes` start with the `.svdz` signature.
pub fn is_svdz(bytes: &[u8]) -> bool {
    layout::has_magic(bytes)
}

/// Reads and validates an `.svdz` header (blocks are not inflated).
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<SvdzInfo> {
    let parsed = layout::parse(bytes, limits)?;
    let h = &parsed.header;
    Ok(SvdzInfo {
        width: h.width as usize,
        height: h.height as usize,
        bit_depth: h.bit_depth,
        color: h.color,
        alpha: h.alpha,
        ranks: h
            .color
            .plane_names()
            .iter()
            .zip(&h.scales)
            .map(|(&name, s)| (name, s.len()))
            .collect(),
        block_size: usize::from(h.block_size),
        bytes: bytes.len(),
    })
}

/// One plane's stored components: scales and the integer vectors, component-major.
#[derive(Debug, Clone)]
struct Stored {
    m: usize,
    n: usize,
    scales: Vec<f32>,
    u: Vec<i32>,
    v: Vec<i32>,
}

impl Stored {
    /// Quantises the first `k` components of `f` with step `delta`.
    fn quantize(f: &Factors<f32>, k: usize, delta: f64) -> Stored {
        let (m, n) = (f.nrows(), f.ncols());
        let mut stored = Stored {
            m,
            n,
            scales: Vec::with_capacity(k),
            u: Vec::with_capacity(k * m),
            v: Vec::with_capacity(k * n),
        };
        for i in 0..k {
            let sigma = f64::from(f.singular_values()[i]);
            let fit = |x: faer::ColRef<'_, f32>, out: &mut Vec<i32>| {
                let (mut dot, mut norm2) = (0.0, 0.0);
                for &e in x.iter() {
                    let e = f64::from(e);
                    let q = (sigma * e / delta).round().clamp(-MAX_ENTRY, MAX_ENTRY);
                    dot += e * q;
                    norm2 += q * q;
                    out.push(q as i32);
                }
                (dot, norm2)
            };
            let (du, nu) = fit(f.u().col(i), &mut stored.u);
            let (dv, nv) = fit(f.v().col(i), &mut stored.v);
            let scale = if nu > 0.0 && nv > 0.0 {
                sigma * du * dv / (nu * nv)
            } else {
                0.0
            };
            stored.scales.push(scale as f32);
        }
        stored
    }

    fn rank(&self) -> usize {
        self.scales.len()
    }

    /// `Σ sᵢ qᵤ qᵥᵀ` as a row-major m×n plane.
    fn reconstruct(&self, par: Par) -> Vec<f32> {
        let (m, n, k) = (self.m, self.n, self.rank());
        let mut out = vec![0.0f32; m * n];
        if k > 0 {
            let us = Mat::<f32>::from_fn(m, k, |r, c| self.scales[c] * self.u[c * m + r] as f32);
            let vs = Mat::<f32>::from_fn(n, k, |r, c| self.v[c * n + r] as f32);
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut out, m, n),
                faer::Accum::Replace,
                us.as_ref(),
                vs.as_ref().transpose(),
                1.0,
                par,
            );
        }
        out
    }

    /// The compressed blocks of `BLOCK_SIZE` components and their table entries.
    fn blocks(&self) -> (Vec<Vec<u8>>, Vec<layout::BlockEntry>) {
        let (m, n) = (self.m, self.n);
        let bs = usize::from(BLOCK_SIZE);
        let starts: Vec<usize> = (0..self.rank()).step_by(bs).collect();
        starts
            .par_iter()
            .map(|&start| {
                let mut raw = Vec::new();
                for i in start..(start + bs).min(self.rank()) {
                    vectors::encode(&self.u[i * m..(i + 1) * m], &mut raw);
                    vectors::encode(&self.v[i * n..(i + 1) * n], &mut raw);
                }
                let packed = zstd_compress(&raw);
                let entry = layout::BlockEntry::of(&packed, raw.len());
                (packed, entry)
            })
            .unzip()
    }
}

fn zstd_compress(raw: &[u8]) -> Vec<u8> {
    // Compressing an in-memory buffer cannot fail except by running out of memory.
    zstd::bulk::compress(raw, ZSTD_LEVEL).expect("zstd compresses in memory")
}

/// Converts stored planes to output planes (gray, or R G B), in place of the input.
fn to_output(mut stored: Vec<Vec<f32>>, color: StoredColor) -> Vec<Vec<f32>> {
    if color == StoredColor::YCbCr {
        let [y, cb, cr] = &mut stored[..] else {
            unreachable!("ycbcr has three planes")
        };
        y.par_iter_mut()
            .zip(cb.par_iter_mut())
            .zip(cr.par_iter_mut())
            .for_each(|((y, cb), cr)| {
                (*y, *cb, *cr) = ycbcr_to_rgb(*y, *cb, *cr);
            });
    }
    stored
}

/// One Rec.709 Y Cb Cr sample as R, G, B (the inverse of [`from_input`]'s transform).
#[inline]
pub(crate) fn ycbcr_to_rgb(y: f32, cb: f32, cr: f32) -> (f32, f32, f32) {
    let [kr, kg, kb] = REC709.map(|k| k as f32);
    let (cb_to_b, cr_to_r) = (2.0 * (1.0 - kb), 2.0 * (1.0 - kr));
    let r = y + cr_to_r * cr;
    let b = y + cb_to_b * cb;
    let g = (y - kr * r - kb * b) / kg;
    (r, g, b)
}

/// The planes an image is stored as in `color` (gray, R G B, or Y Cb Cr), from its colour
/// planes (gray or R G B, on the [0, 1] scale).
///
/// # Panics
/// If `color` is `Rgb` or `YCbCr` and the image is gray.
#[track_caller]
pub fn stored_planes(planes: &Planes<f32>, color: StoredColor) -> Vec<Vec<f32>> {
    assert!(color == StoredColor::Gray || planes.color.len() == 3);
    from_input(planes, color)
}

/// The output planes (gray, or R G B) of planes stored in `color`; the inverse of
/// [`stored_planes`]. Values are not clipped.
pub fn output_planes(stored: Vec<Vec<f32>>, color: StoredColor) -> Vec<Vec<f32>> {
    to_output(stored, color)
}

/// The planes to store for `color`, from the input's colour planes.
fn from_input(planes: &Planes<f32>, color: StoredColor) -> Vec<Vec<f32>> {
    let data: Vec<&[f32]> = planes.color.iter().map(|p| &p.data[..]).collect();
    let [kr, kg, kb] = REC709.map(|k| k as f32);
    match (color, &data[..]) {
        (StoredColor::Gray | StoredColor::YCbCr, [r, g, b]) => {
            let y: Vec<f32> = r
                .par_iter()
                .zip(*g)
                .zip(*b)
                .map(|((&r, &g), &b)| kr * r + kg * g + kb * b)
                .collect();
            if color == StoredColor::Gray {
                return vec![y];
            }
            let (cb_of, cr_of) = (2.0 * (1.0 - kb), 2.0 * (1.0 - kr));
            let cb = b
                .par_iter()
                .zip(&y)
                .map(|(&b, &y)| (b - y) / cb_of)
                .collect();
            let cr = r
                .par_iter()
                .zip(&y)
                .map(|(&r, &y)| (r - y) / cr_of)
                .collect();
            vec![y, cb, cr]
        }
        _ => data.iter().map(|d| d.to_vec()).collect(),
    }
}

/// The colour model for `choice` on `planes`.
fn resolve_color(choice: ColorChoice, planes: &Planes<f32>) -> Result<StoredColor> {
    let colour = planes.color.len() == 3;
    Ok(match (choice, colour) {
        (ColorChoice::Gray, _) | (ColorChoice::Auto, false) => StoredColor::Gray,
        (ColorChoice::Auto, true) | (ColorChoice::YCbCr, true) => StoredColor::YCbCr,
        (ColorChoice::Rgb, true) => StoredColor::Rgb,
        (ColorChoice::Rgb | ColorChoice::YCbCr, false) => {
            return Err(Error::parameter(
                "the image is gray: store it as gray (or let the colour model be chosen)",
            ))
        }
    })
}

/// Per plane, the rank and quantisation step.
type Plan = Vec<(usize, f64)>;

/// What [`compress`] searches over: the stored planes, their factors and the reference.
struct Search<'a> {
    color: StoredColor,
    weights: Vec<f64>,
    factors: Cow<'a, [Factors<f32>]>,
    /// The planes the decoded image is measured against: the input's colour planes, or
    /// its gray plane when a colour image is stored as gray.
    reference: Vec<&'a [f32]>,
    /// The reference rounded to the output depth's levels (integers 0..=max).
    levels: &'a [Vec<u16>],
    m: usize,
    n: usize,
    max: f64,
    /// Whether every plane has all its components (an exact SVD).
    complete: bool,
    step_factor: f64,
    par: Par,
}

impl Search<'_> {
    /// The largest weighted singular value: above it every rank is 0.
    fn top(&self) -> f64 {
        self.factors
            .iter()
            .zip(&self.weights)
            .map(|(f, w)| w.sqrt() * f.singular_values().first().map_or(0.0, |&s| f64::from(s)))
            .fold(0.0, f64::max)
    }

    /// Below this threshold a truncated SVD lacks components the plan would keep.
    fn floor(&self) -> f64 {
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
    fn step(&self, p: usize, tau: f64) -> f64 {
        let s1 = self.factors[p]
            .singular_values()
            .first()
            .map_or(0.0, |&s| f64::from(s));
        let delta = tau / (self.step_factor * (self.m.max(self.n) as f64).sqrt());
        // Keep entries within MAX_ENTRY; an all-zero plane needs no particular step.
        delta.max(s1 / MAX_ENTRY).max(f64::MIN_POSITIVE)
    }

    /// Ranks and steps for weighted threshold `t`; components with σ = 0 are never kept.
    fn plan(&self, t: f64) -> Plan {
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
    fn rank_plan(&self, ks: &[usize; 3], totals: &[f64]) -> Plan {
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
    fn energy_threshold(&self, fraction: f64, totals: &[f64]) -> Option<f64> {
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

    fn quantize(&self, plan: &Plan) -> Vec<Stored> {
        plan.par_iter()
            .zip(&self.factors[..])
            .map(|(&(k, delta), f)| Stored::quantize(f, k, delta))
            .collect()
    }

    /// The decoded planes, unclipped, in output colours.
    fn decode(&self, stored: &[Stored]) -> Vec<Vec<f32>> {
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
    fn psnr(&self, decoded: &[&[f32]]) -> f64 {
        let max = self.max;
        let mut sum = 0.0;
        for (d, levels) in decoded.iter().zip(self.levels) {
            let chunks: Vec<f64> = d
                .par_chunks(CHUNK)
                .zip(levels.par_chunks(CHUNK))
                .map(|(d, l)| {
                    pulp::Arch::new().dispatch(
                        #[inline(always)]
                        || squared_level_error(d, l, max),
                    )
                })
                .collect();
            sum += chunks.iter().sum::<f64>();
        }
        metrics::psnr_from_squared_error(sum / (max * max), self.m * self.n * decoded.len())
    }
}

/// `Σ (round(clip(x)·max) − level)²` over a chunk of decoded samples and the reference's
/// levels.
#[inline(always)]
fn squared_level_error(decoded: &[f32], levels: &[u16], max: f64) -> f64 {
    decoded
        .iter()
        .zip(levels)
        .map(|(&x, &l)| (quantize(x, max) - f64::from(l)).powi(2))
        .sum()
}

/// Compresses `planes` (gray or RGB, with optional alpha, on the [0, 1] scale) to an
/// `.svdz` file.
///
/// The PSNR and SSIM reported are measured by decoding the file just written. `Psnr`
/// guarantees the target is met and `MaxBytes` that the file fits; either returns an
/// [`ErrorKind::InvalidParameter`](crate::ErrorKind) error when it cannot be done.
pub fn compress(planes: &Planes<f32>, options: &CompressOptions) -> Result<Compressed> {
    compress_planes(planes, None, options)
}

/// [`compress`] with the SVD already taken: `factors` are the exact thin SVDs of the planes
/// `planes` are stored as (see [`stored_planes`]), in file order, so that nothing is
/// factored again. `options.method` is not used.
///
/// # Errors
/// As [`compress`], and [`ErrorKind::InvalidParameter`](crate::ErrorKind) when the factors
/// do not fit the planes to store.
pub fn compress_factored(
    planes: &Planes<f32>,
    factors: &[Factors<f32>],
    options: &CompressOptions,
) -> Result<Compressed> {
    let color = resolve_color(options.color, planes)?;
    let short = planes.width.min(planes.height);
    let fits = factors.len() == color.plane_names().len()
        && factors
            .iter()
            .all(|f| f.nrows() == planes.height && f.ncols() == planes.width && f.rank() == short);
    if !fits {
        return Err(Error::parameter(format!(
            "the factors given are not the exact SVDs of the {} planes of this {}x{} image",
            color.as_str(),
            planes.width,
            planes.height
        )));
    }
    compress_planes(planes, Some(factors), options)
}

fn compress_planes(
    planes: &Planes<f32>,
    given: Option<&[Factors<f32>]>,
    options: &CompressOptions,
) -> Result<Compressed> {
    match options.target {
        Target::Rank(0) => return Err(Error::parameter("the rank must be at least 1")),
        Target::Ranks(r) if r.iter().take(planes.color.len()).all(|&k| k == 0) => {
            return Err(Error::parameter("at least one plane must keep a component"))
        }
        Target::Energy(f) if !(f > 0.0 && f <= 1.0) => {
            return Err(Error::parameter(format!(
                "the energy share {f} is not in (0, 1]"
            )))
        }
        Target::Psnr(db) if !(db.is_finite() && db > 0.0) => {
            return Err(Error::parameter(format!(
                "the PSNR target {db} dB is not positive"
            )))
        }
        Target::MaxBytes(0) => return Err(Error::parameter("the byte budget must be at least 1")),
        _ if !(options.step_factor.is_finite() && options.step_factor > 0.0) => {
            return Err(Error::parameter(format!(
                "the step factor {} is not positive",
                options.step_factor
            )))
        }
        _ => {}
    }
    if planes.width == 0 || planes.height == 0 || !matches!(planes.color.len(), 1 | 3) {
        return Err(Error::parameter(
            "compress needs a non-empty gray or rgb image",
        ));
    }
    if !matches!(planes.bit_depth, 8 | 16) {
        return Err(Error::unsupported(format!(
            "cannot store {}-bit samples (8 or 16)",
            planes.bit_depth
        )));
    }
    let color = resolve_color(options.color, planes)?;
    let stored_planes = from_input(planes, color);
    let (m, n) = (planes.height, planes.width);
    let short = m.min(n);
    let max = if planes.bit_depth == 8 {
        255.0
    } else {
        65535.0
    };
    let alpha = planes
        .alpha
        .as_ref()
        .map(|a| alpha_block(&a.data, planes.bit_depth));
    let reference: Vec<&[f32]> = if color == StoredColor::Gray && planes.color.len() == 3 {
        vec![&stored_planes[0]]
    } else {
        planes.color.iter().map(|p| &p.data[..]).collect()
    };
    let levels: Vec<Vec<u16>> = reference
        .iter()
        .map(|r| r.par_iter().map(|&y| quantize(y, max) as u16).collect())
        .collect();
    let totals: Vec<f64> = stored_planes
        .iter()
        .map(|p| metrics::frobenius_norm(p).powi(2))
        .collect();
    let header = |ranks: &[Stored]| layout::Header {
        color,
        alpha: alpha.is_some(),
        bit_depth: planes.bit_depth,
        width: n as u32,
        height: m as u32,
        block_size: BLOCK_SIZE,
        scales: ranks.iter().map(|s| s.scales.clone()).collect(),
        blocks: Vec::new(),
        alpha_block: alpha.as_ref().map(|a| a.1),
    };
    let encode = |stored: &[Stored]| -> Vec<u8> {
        let mut h = header(stored);
        let (blocks, entries): (Vec<_>, Vec<_>) = stored.iter().map(Stored::blocks).unzip();
        h.blocks = entries;
        h.write(&blocks, alpha.as_ref().map(|a| &a.0[..]))
    };

    // A truncated SVD is grown until the target is decided by components it has.
    let mut k = match (options.target, options.method) {
        (Target::Rank(k), _) => k.min(short),
        (Target::Ranks(r), _) => r.iter().copied().max().unwrap_or(0).min(short),
        (_, Method::Exact) => short,
        (_, Method::Auto) if m * n <= 1 << 20 => short,
        _ => short.min(64.max(short / 16)),
    };
    let (stored, search) = loop {
        let method = match options.method {
            Method::Auto if k == short => Method::Exact,
            Method::Auto => Method::Randomized,
            other => other,
        };
        let factors: Cow<'_, [Factors<f32>]> = match given {
            Some(f) => Cow::Borrowed(f),
            None => Cow::Owned(
                (0..stored_planes.len())
                    .into_par_iter()
                    .map(|p| {
                        let a = faer::MatRef::from_row_major_slice(&stored_planes[p], m, n);
                        Factors::compute_truncated(a, k, method, &options.randomized, options.par)
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        let search = Search {
            color,
            weights: color.weights(),
            complete: factors.iter().all(|f| f.rank() >= short),
            factors,
            reference: reference.clone(),
            levels: &levels,
            m,
            n,
            max,
            par: options.par,
            step_factor: options.step_factor,
        };
        let decided = match options.target {
            Target::Rank(k) => Some(search.rank_plan(&[k; 3], &totals)),
            Target::Ranks(r) => Some(search.rank_plan(&r, &totals)),
            Target::Energy(f) => search.energy_threshold(f, &totals).map(|t| search.plan(t)),
            Target::Psnr(db) => search_psnr(&search, db)?,
            Target::MaxBytes(budget) => search_bytes(&search, budget, &encode)?,
        };
        if let Some(plan) = decided {
            break (search.quantize(&plan), search);
        }
        k = (2 * k).min(short);
    };
    let bytes = encode(&stored);
    // Measure what a reader of the file gets.
    let decoded = decompress(
        &bytes,
        &DecompressOptions {
            rank: None,
            limits: Limits {
                max_pixels: u64::MAX,
                max_alloc: u64::MAX,
            },
        },
    )?;
    let rounded: Vec<Vec<f32>> = decoded
        .color
        .iter()
        .map(|p| {
            p.data
                .iter()
                .map(|&x| (quantize(x, max) / max) as f32)
                .collect()
        })
        .collect();
    let psnr_db = search.psnr(
        &decoded
            .color
            .iter()
            .map(|p| &p.data[..])
            .collect::<Vec<_>>(),
    );
    // The search measured this same decode; the check keeps the promise explicit.
    if let Target::Psnr(db) = options.target {
        if psnr_db < db {
            return Err(Error::new(
                crate::ErrorKind::Numerical,
                format!("the decoded file reaches {psnr_db:.4} dB, below the {db} dB target"),
            ));
        }
    }
    let ssim = rounded
        .iter()
        .zip(&search.reference)
        .map(|(d, r)| metrics::ssim(r, d, n, m))
        .sum::<f64>()
        / rounded.len() as f64;
    Ok(Compressed {
        bytes,
        color,
        ranks: color
            .plane_names()
            .iter()
            .zip(&stored)
            .map(|(&name, s)| (name, s.rank()))
            .collect(),
        psnr_db,
        ssim,
    })
}

/// The boundary between `good` and `bad` thresholds on a log scale: the last good one.
fn bisect(mut good: f64, mut bad: f64, mut ok: impl FnMut(f64) -> Result<bool>) -> Result<f64> {
    for _ in 0..SEARCH_STEPS {
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
fn search_psnr(s: &Search, db: f64) -> Result<Option<Plan>> {
    let psnr = |t: f64| {
        let decoded = s.decode(&s.quantize(&s.plan(t)));
        s.psnr(&decoded.iter().map(|d| &d[..]).collect::<Vec<_>>())
    };
    let top = s.top();
    if top == 0.0 || psnr(top) >= db {
        return Ok(Some(s.plan(top)));
    }
    let low = (top / MAX_ENTRY).max(s.floor() * (1.0 + 1e-6));
    let best = psnr(low);
    if best < db {
        if !s.complete {
            return Ok(None);
        }
        return Err(Error::parameter(format!(
            "cannot reach {db} dB: the best this image can be stored at is {best:.2} dB"
        )));
    }
    let t = bisect(low, top, |t| Ok(psnr(t) >= db))?;
    Ok(Some(s.plan(t)))
}

/// The smallest threshold whose file fits in `budget` bytes, or `None` when the components
/// computed are not enough.
fn search_bytes(
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

/// The alpha plane as samples at the source depth, each minus its left neighbour
/// (wrapping), zstd-compressed; and its table entry.
fn alpha_block(alpha: &[f32], bit_depth: u8) -> (Vec<u8>, layout::BlockEntry) {
    let max = if bit_depth == 8 { 255.0 } else { 65535.0 };
    let samples: Vec<u16> = alpha.iter().map(|&a| quantize(a, max) as u16).collect();
    let mut raw = Vec::with_capacity(samples.len() * usize::from(bit_depth / 8));
    let mut prev = 0u16;
    // Rows are not marked: the left neighbour of a row's first pixel is the previous row's
    // last, which is as good a guess.
    for &a in &samples {
        let d = a.wrapping_sub(prev);
        prev = a;
        if bit_depth == 8 {
            raw.push(d as u8);
        } else {
            raw.extend_from_slice(&d.to_le_bytes());
        }
    }
    let packed = zstd_compress(&raw);
    let entry = layout::BlockEntry::of(&packed, raw.len());
    (packed, entry)
}

/// Decodes an `.svdz` file to planes on the [0, 1] scale (unclipped; gray or R G B, plus
/// alpha when stored).
///
/// The header is validated against `options.limits` before anything is allocated, and
/// every block's checksum and length are checked; corrupt input gives an error, never a
/// panic.
pub fn decompress(bytes: &[u8], options: &DecompressOptions) -> Result<Planes<f32>> {
    if options.rank == Some(0) {
        return Err(Error::parameter("the rank must be at least 1"));
    }
    let parsed = layout::parse(bytes, &options.limits)?;
    let h = &parsed.header;
    let (m, n) = (h.height as usize, h.width as usize);
    let bs = usize::from(h.block_size);
    let mut stored = Vec::with_capacity(h.scales.len());
    for (p, scales) in h.scales.iter().enumerate() {
        let k = options.rank.unwrap_or(usize::MAX).min(scales.len());
        let mut plane = Stored {
            m,
            n,
            scales: scales[..k].to_vec(),
            u: Vec::with_capacity(k * m),
            v: Vec::with_capacity(k * n),
        };
        for b in 0..k.div_ceil(bs) {
            let raw = layout::inflate(bytes, parsed.offsets[p][b], h.blocks[p][b])?;
            let mut input = &raw[..];
            for _ in b * bs..((b + 1) * bs).min(scales.len()) {
                vectors::decode(&mut input, m, &mut plane.u)?;
                vectors::decode(&mut input, n, &mut plane.v)?;
            }
            if !input.is_empty() {
                return Err(Error::input(format!(
                    "corrupt .svdz block: {} bytes left over",
                    input.len()
                )));
            }
        }
        plane.u.truncate(k * m);
        plane.v.truncate(k * n);
        stored.push(plane);
    }
    let planes: Vec<Vec<f32>> = stored
        .par_iter()
        .map(|s| s.reconstruct(Par::rayon(0)))
        .collect();
    let planes = to_output(planes, h.color);
    let names: &[PlaneName] = if planes.len() == 1 {
        &[PlaneName::Gray]
    } else {
        &[PlaneName::R, PlaneName::G, PlaneName::B]
    };
    let alpha = match h.alpha_block {
        Some(entry) => {
            let raw = layout::inflate(bytes, parsed.alpha_offset, entry)?;
            Some(Plane {
                name: PlaneName::Alpha,
                data: unpredict_alpha(&raw, h.bit_depth),
            })
        }
        None => None,
    };
    Ok(Planes {
        width: n,
        height: m,
        bit_depth: h.bit_depth,
        color: names
            .iter()
            .zip(planes)
            .map(|(&name, data)| Plane { name, data })
            .collect(),
        alpha,
    })
}

/// Undoes [`alpha_block`]'s left prediction.
fn unpredict_alpha(raw: &[u8], bit_depth: u8) -> Vec<f32> {
    let mut prev = 0u16;
    let mut next = |d: u16| {
        prev = prev.wrapping_add(d);
        prev
    };
    if bit_depth == 8 {
        raw.iter()
            .map(|&d| f32::from(next(u16::from(d)) as u8) / 255.0)
            .collect()
    } else {
        raw.chunks_exact(2)
            .map(|c| f32::from(next(u16::from_le_bytes([c[0], c[1]]))) / 65535.0)
            .collect()
    }
}
