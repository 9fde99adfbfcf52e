//! `.svdz`: a compressed file of quantised SVD factors that is smaller than the image.
//!
//! Version 1 ([`global`]) keeps each colour plane's first k global components
//! `σᵢ uᵢ vᵢᵀ` as two integer vectors and one scale each, coded as varints and zstd, in
//! component order so that a prefix of the file holds the first components of every plane.
//! One threshold t on the colour-weighted singular values picks every plane's rank and
//! step; `--psnr` and `--max-bytes` search t, `--rank` and `--energy` set it.
//!
//! Version 2 ([`tiled`]) cuts each plane into tiles with a rank each under one threshold,
//! or stores its matrix of 8×8 patches, or keeps it whole, whichever file is smallest;
//! vectors are quantised with equal distortion per integer (optionally as DCT
//! coefficients), refitted by least squares, and range-coded with adaptive contexts.
//! `compress` writes it for a PSNR or a byte budget. `decompress` reads both versions.
//!
//! Both byte layouts are specified in `docs/FORMAT.md`.

mod candidate;
mod color;
mod dct;
mod deblock;
mod entropy;
mod global;
mod header2;
mod layout;
mod patches;
mod prefix;
mod rate;
mod stream;
mod threshold;
mod tiled;
mod tiles;
mod vectors;

pub(crate) use color::ycbcr_to_rgb;
use color::{from_input, resolve_color};
pub use color::{output_planes, stored_planes, ColorChoice, StoredColor};
pub use prefix::{decompress_prefix, read_svdz, svdz_bytes_needed, Decompressed, SvdzNeed};
pub use tiled::{Chroma, Layout, DEFAULT_TILE};

use std::borrow::Cow;

use faer::Par;
use rayon::prelude::*;

use crate::picture::quantize;
use crate::{Error, Factors, Limits, Method, Plane, PlaneName, Planes, Randomized, Result};

/// The default of [`CompressOptions::step_factor`].
const STEP_FACTOR: f64 = 0.7;
/// The default of [`CompressOptions::tile_step_factor`].
const TILE_STEP_FACTOR: f64 = 0.55;

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
    /// Version 1 only.
    pub step_factor: f64,
    /// Version 2's constant c in `Δ = t / (c √side)` for tiles of that side. Default:
    /// 0.55, measured against 0.35 to 0.85 at 30, 35 and 40 dB on the shared photos
    /// (`STEP=0.55 cargo run --release -p svdimg --example v2_probe -- 35 ...`).
    pub tile_step_factor: f64,
    /// The format version written for a PSNR or a byte budget: 2 (tiles, adaptive entropy
    /// coding) or 1. A rank, ranks or an energy share always write version 1, whose
    /// components are the global ones those targets name. Default: 2.
    pub version: u8,
    /// Version 2's layout. Default: `Auto`.
    pub layout: Layout,
    /// Version 2's chroma size (YCbCr only). Default: `Auto`.
    pub chroma: Chroma,
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
            tile_step_factor: TILE_STEP_FACTOR,
            version: 2,
            layout: Layout::Auto,
            chroma: Chroma::Auto,
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
    /// The format version written: 1 or 2.
    pub version: u8,
    /// The nominal tile side; the image's larger side (or more) for one global tile.
    pub tile_size: usize,
    /// Tiles per full-size plane: 1 for the global layout.
    pub tiles: usize,
    /// Whether Cb and Cr are stored at half size (4:2:0).
    pub half_chroma: bool,
    /// Whether each plane is stored as its matrix of `tile_size`² patches.
    pub patches: bool,
}

impl Compressed {
    /// `global` (one basis per plane), `tiled` or `patches`.
    pub fn layout(&self) -> &'static str {
        layout_name(self.tiles, self.patches)
    }
}

fn layout_name(tiles: usize, patches: bool) -> &'static str {
    match (tiles, patches) {
        (_, true) => "patches",
        (1, _) => "global",
        _ => "tiled",
    }
}

/// Options of [`decompress`].
#[derive(Debug, Clone, Default)]
pub struct DecompressOptions {
    /// Decode only the first J components of each plane (version 1, a prefix of the file)
    /// or of each tile (version 2); `None` decodes all of them. Default: `None`.
    pub rank: Option<usize>,
    /// Limits checked against the header before anything is allocated.
    pub limits: Limits,
    /// Decode a file that ends before the bytes the decode needs (a download cut short,
    /// or a prefix read on purpose): each plane gets the components the bytes hold
    /// completely. Without it such a file is an error. Default: `false`.
    pub allow_truncated: bool,
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
    /// Each stored plane's name and number of components (its rank in a global layout,
    /// the sum of its tiles' ranks in a tiled one).
    pub ranks: Vec<(&'static str, usize)>,
    /// Components per compressed block.
    pub block_size: usize,
    /// The file's length in bytes.
    pub bytes: usize,
    /// The format version: 1 or 2.
    pub version: u8,
    /// The nominal tile side; the image's larger side (or more) for one global tile.
    pub tile_size: usize,
    /// Tiles per full-size plane: 1 for the global layout.
    pub tiles: usize,
    /// Whether Cb and Cr are stored at half size (4:2:0).
    pub half_chroma: bool,
    /// Whether each plane is stored as its matrix of `tile_size`² patches.
    pub patches: bool,
}

impl SvdzInfo {
    /// `global` (one basis per plane), `tiled` or `patches`.
    pub fn layout(&self) -> &'static str {
        layout_name(self.tiles, self.patches)
    }
}

/// How many components [`decompress`] with `options` decodes per plane: each plane's rank
/// capped at `options.rank` in a global file, the sum over tiles of each tile's rank capped
/// at it in a tiled one.
pub fn decoded_components(
    bytes: &[u8],
    options: &DecompressOptions,
) -> Result<Vec<(&'static str, usize)>> {
    let cap = options.rank.unwrap_or(usize::MAX);
    let (color, counts): (StoredColor, Vec<usize>) =
        match layout::parse_whole(bytes, &options.limits)? {
            layout::File::V1(p) => (
                p.header.color,
                p.header.scales.iter().map(|s| s.len().min(cap)).collect(),
            ),
            layout::File::V2(p) => (
                p.header.color,
                tiled::side(bytes, &p)?
                    .iter()
                    .map(|plane| plane.iter().map(|g| g.len().min(cap)).sum())
                    .collect(),
            ),
        };
    Ok(color.plane_names().iter().copied().zip(counts).collect())
}

/// Whether `bytes` start with the `.svdz` signature.
pub fn is_svdz(bytes: &[u8]) -> bool {
    layout::has_magic(bytes)
}

/// Reads and validates an `.svdz` header (blocks are not inflated).
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<SvdzInfo> {
    Ok(info_of(&layout::parse_whole(bytes, limits)?))
}

/// What a parsed header says; `bytes` is the file's length as the header gives it.
fn info_of(file: &layout::File) -> SvdzInfo {
    let file_len = file.end() as usize;
    // The fields both versions share; version 1 is one global tile at 4:4:4.
    let common = |width: u32,
                  height: u32,
                  bit_depth,
                  color: StoredColor,
                  alpha,
                  counts: Vec<usize>,
                  block_size: u16| SvdzInfo {
        width: width as usize,
        height: height as usize,
        bit_depth,
        color,
        alpha,
        ranks: color.plane_names().iter().copied().zip(counts).collect(),
        block_size: usize::from(block_size),
        bytes: file_len,
        version: 1,
        tile_size: width.max(height) as usize,
        tiles: 1,
        half_chroma: false,
        patches: false,
    };
    match file {
        layout::File::V1(p) => {
            let h = &p.header;
            let counts = h.scales.iter().map(Vec::len).collect();
            common(
                h.width,
                h.height,
                h.bit_depth,
                h.color,
                h.alpha,
                counts,
                h.block_size,
            )
        }
        layout::File::V2(p) => {
            let h = &p.header;
            let counts = h.counts.iter().map(|&k| k as usize).collect();
            SvdzInfo {
                version: 2,
                tile_size: h.tile as usize,
                tiles: if h.patches { 1 } else { h.grid(0).len() },
                half_chroma: h.half_chroma,
                patches: h.patches,
                ..common(
                    h.width,
                    h.height,
                    h.bit_depth,
                    h.color,
                    h.alpha,
                    counts,
                    h.block_size,
                )
            }
        }
    }
}

/// zstd's compression level: 19 is the highest of its normal range.
const ZSTD_LEVEL: i32 = 19;

fn zstd_compress(raw: &[u8]) -> Vec<u8> {
    // Compressing an in-memory buffer cannot fail except by running out of memory.
    zstd::bulk::compress(raw, ZSTD_LEVEL).expect("zstd compresses in memory")
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
        _ if !matches!(options.version, 1 | 2) => {
            return Err(Error::parameter(format!(
                "there is no .svdz version {} (1 or 2)",
                options.version
            )))
        }
        _ if !(options.step_factor.is_finite() && options.step_factor > 0.0) => {
            return Err(Error::parameter(format!(
                "the step factor {} is not positive",
                options.step_factor
            )))
        }
        _ if !(options.tile_step_factor.is_finite() && options.tile_step_factor > 0.0) => {
            return Err(Error::parameter(format!(
                "the tile step factor {} is not positive",
                options.tile_step_factor
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
    let max = if planes.bit_depth == 8 {
        255.0
    } else {
        65535.0
    };
    let alpha = planes
        .alpha
        .as_ref()
        .map(|a| alpha_block(&a.data, planes.bit_depth));
    let gray_of_colour = color == StoredColor::Gray && planes.color.len() == 3;
    if options.version == 2 && matches!(options.target, Target::Psnr(_) | Target::MaxBytes(_)) {
        // The input owns the stored planes, so that it can free them before the final
        // decode; a gray plane made from colour is the reference as well.
        let reference: Vec<Cow<'_, [f32]>> = if gray_of_colour {
            vec![Cow::Owned(stored_planes[0].clone())]
        } else {
            planes
                .color
                .iter()
                .map(|p| Cow::Borrowed(&p.data[..]))
                .collect()
        };
        let levels: Vec<Vec<u16>> = reference
            .iter()
            .map(|r| r.par_iter().map(|&y| quantize(y, max) as u16).collect())
            .collect();
        let input = tiled::Input {
            color,
            stored: stored_planes,
            levels: &levels,
            reference,
            m,
            n,
            max,
            bit_depth: planes.bit_depth,
            alpha,
        };
        return tiled::compress(input, options);
    }
    global::compress(planes, given, options, color, stored_planes, max, alpha)
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
    decompress_prefix(bytes, options).map(|d| d.planes)
}

/// The decoded image from its output planes and the file's alpha block.
fn finish(
    bytes: &[u8],
    planes: Vec<Vec<f32>>,
    width: u32,
    height: u32,
    bit_depth: u8,
    alpha_block: Option<(usize, layout::BlockEntry)>,
) -> Result<Planes<f32>> {
    let names: &[PlaneName] = if planes.len() == 1 {
        &[PlaneName::Gray]
    } else {
        &[PlaneName::R, PlaneName::G, PlaneName::B]
    };
    let alpha = match alpha_block {
        Some((offset, entry)) => {
            let raw = layout::inflate(bytes, offset, entry)?;
            Some(Plane {
                name: PlaneName::Alpha,
                data: unpredict_alpha(&raw, bit_depth),
            })
        }
        None => None,
    };
    Ok(Planes {
        width: width as usize,
        height: height as usize,
        bit_depth,
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
