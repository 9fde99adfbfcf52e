//! The public types of `.svdz` compression and decompression: what to compress to, the
//! options of both directions, and what they report.

use faer::Par;

use super::color::{ColorChoice, StoredColor};
use crate::{Limits, Method, Randomized};

/// The default of [`CompressOptions::step_factor`].
pub(crate) const STEP_FACTOR: f64 = 0.7;

/// The default of [`CompressOptions::tile_step_factor`].
pub(crate) const TILE_STEP_FACTOR: f64 = 0.55;

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

/// Options of [`compress`](super::compress).
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
    /// Whether the patches' vectors are coded in their 2D DCT (what the writer does for a
    /// gray photo that was a JPEG: its components are then the 8×8 DCT's basis).
    pub patch_dct: bool,
}

impl Compressed {
    /// `global` (one basis per plane), `tiled` or `patches`.
    pub fn layout(&self) -> &'static str {
        layout_name(self.tiles, self.patches)
    }
}

pub(crate) fn layout_name(tiles: usize, patches: bool) -> &'static str {
    match (tiles, patches) {
        (_, true) => "patches",
        (1, _) => "global",
        _ => "tiled",
    }
}

/// Options of [`decompress`](super::decompress).
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

/// What an `.svdz` header says, from [`inspect`](super::inspect).
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
    /// Whether the patches' vectors are coded in their 2D DCT (what the writer does for a
    /// gray photo that was a JPEG: its components are then the 8×8 DCT's basis).
    pub patch_dct: bool,
}

impl SvdzInfo {
    /// `global` (one basis per plane), `tiled` or `patches`.
    pub fn layout(&self) -> &'static str {
        layout_name(self.tiles, self.patches)
    }
}

/// The tile side of `--layout tiled`. Measured at 35 dB on the shared photos against 16,
/// 24, 64 and 128 (`cargo run --release -p svdimg --example v2_probe -- 35
/// ../shared/images/*.png`): 32 gives the smallest files on four of the five; 64 wins on
/// the fifth and at lower qualities, so `Layout::Auto` tries both.
pub const DEFAULT_TILE: usize = 32;

/// How a version 2 file arranges each plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// The smallest of tiles of 16, 32 and 64 pixels, patches and global, per image. Default.
    #[default]
    Auto,
    /// The whole plane as one tile: one global rank-k basis per plane.
    Global,
    /// Tiles of about this many pixels a side (at least 8), each with its own rank.
    Tiled(usize),
    /// Patches of this many pixels a side (4 to 16), each a row of one matrix per plane
    /// whose SVD is an image-adaptive transform.
    Patches(usize),
}

/// How Cb and Cr are stored (YCbCr only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Chroma {
    /// The smaller file of `Full` and `Half`. Default.
    #[default]
    Auto,
    /// At full size: best for sharp colour graphics.
    Full,
    /// At half the width and height, averaged over 2×2 pixels, and interpolated back:
    /// smaller files for photos.
    Half,
}
