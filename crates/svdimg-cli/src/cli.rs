//! Command-line arguments: parsed raw by clap, then validated once by each command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Explore and compress images with the singular value decomposition (SVD).
///
/// An image becomes one matrix per colour channel (or one Rec.709 gray matrix), on the
/// [0, 1] scale. Its SVD, A = U Σ Vᵀ, sorts the image into rank-one components
/// σᵢ uᵢ vᵢᵀ, largest first. Keeping the first k rebuilds the image from k(m+n+1)
/// numbers instead of m·n, and no rank-k matrix comes closer (Eckart–Young).
#[derive(Debug, Parser)]
#[command(
    name = "svdimg",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(after_help = "Examples:
  svdimg info --sample                     singular values of the built-in photo
  svdimg info photo.jpg --gray --json      the gray plane's spectrum, for scripts
  svdimg approx --sample -k 20 -o a.png    rebuild the sample from 20 components
  svdimg tour                              the lessons, step by step, into ./svdimg-tour/
  svdimg compress photo.jpg -o photo.svdz  a real compressed file (35 dB by default)
  svdimg decompress photo.svdz -o back.png decode it again
  svdimg batch photos/ -o out/             every image in a folder; rerun to resume
  svdimg serve photo.jpg --open            explore it in the browser, k on a slider")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report an image's size and its singular values per plane.
    ///
    /// Prints the top singular values of each plane and the ranks that keep 90%, 99% and
    /// 99.9% of the energy (the sum of squared singular values). Only the values are
    /// computed, never the singular vectors, by a two-stage reduction (dense to band, band
    /// to bidiagonal, dqds): a 24-megapixel photo takes seconds.
    Info(InfoArgs),
    /// Write the rank-k approximation of an image.
    ///
    /// Takes the SVD of each plane, keeps the first k components, clips to the valid range,
    /// and writes the result in the format of OUT's extension (PNG keeps 16-bit depth and
    /// alpha). Reports the error of each plane, PSNR, SSIM and the storage k(m+n+1) vs m·n.
    Approx(ApproxArgs),
    /// Walk through both SVD lessons on a photo, with numbers, figures and an HTML report.
    ///
    /// Prints each step of NumPy's "Linear algebra on n-dimensional arrays" tutorial and
    /// the SVD image-compression lesson with the numbers it produces, and writes into DIR:
    /// original.png, gray.png, spectrum.svg, approx_gray_k{K}.png, reconstruction_color.png,
    /// approx_color_k{K}.png, gallery.png, components.png and index.html (open it in a
    /// browser; it works offline).
    Tour(TourArgs),
    /// Plot the singular values (log scale) and the cumulative energy.
    ///
    /// One line per colour channel plus the Rec.709 gray plane, with markers where each
    /// keeps 90%, 99% and 99.9% of the energy. Writes SVG or PNG by OUT's extension. Like
    /// `info`, it computes the singular values alone.
    Spectrum(SpectrumArgs),
    /// Show the image rebuilt at several ranks in one labelled grid.
    ///
    /// One SVD serves every rank: each tile adds the next components to the previous one.
    /// Each tile is labelled rank=k with its PSNR.
    Gallery(GalleryArgs),
    /// Show the rank-one components σᵢ uᵢ vᵢᵀ of the gray plane, each above its row vᵢ.
    ///
    /// Components have negative values, so they are drawn with a diverging colour map
    /// (blue negative, white zero, red positive), each scaled to its own largest value.
    Components(ComponentsArgs),
    /// Compress an image to an .svdz file: quantised SVD factors, smaller than the image.
    ///
    /// Colour images are stored as Rec.709 Y Cb Cr, where the colour planes need fewer
    /// components than luma. Pick one target: --psnr (default 35 dB, checked on the decoded
    /// image), --max-bytes (the best PSNR that fits), --energy or --rank. The report gives
    /// the size, bits per pixel, PSNR and SSIM of the decoded file and each plane's rank.
    ///
    /// --psnr and --max-bytes write version 2: each plane is cut into tiles (32×32 by
    /// default) whose ranks follow one threshold on the singular values, so detail costs
    /// bits only where it is; or, when smaller, kept whole with one global basis per plane
    /// (gradients, charts, screenshots). Chroma may be stored at half size (4:2:0). --rank
    /// and --energy name the global components of the lesson and write version 1.
    Compress(CompressArgs),
    /// Decode an .svdz file to an image (PNG keeps 16-bit depth and alpha).
    ///
    /// A file stores its components strongest first, so its first bytes are already a
    /// coarser picture. --max-bytes N reads only the first N bytes and decodes every
    /// component they hold completely; --rank J keeps the first J components of each plane
    /// (a global file) or of each tile (a tiled file) and reads only the blocks that hold
    /// them. The report says how many bytes were read and how many components used. A file
    /// cut short (an interrupted download) is an error unless --allow-truncated is given;
    /// then it decodes what arrived, with a warning.
    #[command(after_help = "Examples:
  svdimg decompress photo.svdz -o photo.png
  svdimg decompress photo.svdz -o preview.png --max-bytes 20K   the first 20 KiB only
  svdimg decompress photo.svdz -o coarse.png --rank 5
  svdimg decompress partial.svdz -o out.png --allow-truncated   what a cut download holds")]
    Decompress(DecompressArgs),
    /// Rate–distortion: PSNR against bits per pixel for .svdz, float32 factors, JPEG and WebP.
    ///
    /// Compresses the image at a range of qualities with .svdz (version 2 as compress
    /// writes it, and version 1 in YCbCr and RGB), as the float32 factors other SVD tools
    /// write, as JPEG at qualities 10 to 95 (the image crate's encoder, and a strong one
    /// with optimised Huffman tables, 4:2:0 or 4:4:4) and as lossy WebP at qualities 0 to
    /// 100 (libwebp, method 6), decodes each and measures it. Plots the curves (SVG or PNG),
    /// prints the bytes each needs for 30, 35 and 40 dB and for three SSIMs, and the ratio
    /// of version 2's bytes to the strong JPEG's and to WebP's.
    Rd(RdArgs),
    /// Compress (or convert) many images: files, folders searched recursively, and globs.
    ///
    /// Each output mirrors its input's path below the folder given (a file given alone
    /// lands in OUTDIR under its own name). Work is resumable: a journal of JSON lines
    /// (OUTDIR/.svdimg-journal.jsonl unless --journal) records every finished file, and a
    /// rerun skips those done with the same size, modification time and settings. Outputs
    /// are written whole or not at all, even if the batch is killed. A file that cannot be
    /// read is recorded and counted, and the batch goes on; the exit code is then 1. Files
    /// in flight are limited so that their estimated memory fits --memory.
    #[command(after_help = "Examples:
  svdimg batch photos/ -o out/                    .svdz at 35 dB, paths mirrored below out/
  svdimg batch 'scans/**/*.tif' -o out/ --rank 50 --to png
  svdimg batch a.jpg b.png -o out/ --json         one JSON summary for scripts
Rerun the same command after an interruption: finished files are skipped.")]
    Batch(BatchArgs),
    /// Explore images in the browser: move k and look, with live PSNR, SSIM and sizes.
    ///
    /// Starts a local web server and prints its URL. The page shows the image at any rank
    /// (one k for R G B, a k per channel, Y and chroma with separate k, or gray), the
    /// spectrum, a side-by-side or swipe comparison with the amplified difference, the
    /// rank-one components σᵢuᵢvᵢᵀ, and the real .svdz size next to the JPEG that reaches
    /// the same PSNR, each number with a "?" that explains it. Its lesson mode (the "Lesson
    /// mode" button, or #lesson in the URL) walks both SVD lessons step by step on the
    /// picture on screen, with the NumPy code of each step and what it gives. Drop any
    /// image on the page; uploads stay in memory. Each image is factored once (a randomized
    /// preview first when it is large) and every k is served from the cached factors. Stop
    /// it with Ctrl-C.
    #[command(after_help = "Examples:
  svdimg serve                         the sample photo on http://127.0.0.1:8470/
  svdimg serve a.jpg b.png --open      list two photos and open the browser
  svdimg serve --port 0                any free port (the URL is printed)
  then open http://127.0.0.1:8470/#lesson for the lesson mode
HTTP API (JSON errors as {\"error\": \"...\"}):
  POST /api/images[?name=FILE]           body: image bytes -> 201 {id,width,height,color,planes}
  GET  /api/images/{id}/render?k=K[&mode=rgb|ycbcr|gray][&ky=..&kc=..][&preview=1]  image/png
  GET  /api/images/{id}/spectrum         {planes: [{name, singular_values}]}
  GET  /api/images/{id}/svdz?psnr=DB     or ?rank=K: the .svdz file
  GET  /api/images/{id}/lesson?k=K       the lessons' numbers in float64, as NumPy computes them")]
    Serve(ServeArgs),
}

/// Where the image comes from.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Source {
    /// The image file: PNG, JPEG, GIF, BMP, TIFF, WebP or PNM.
    #[arg(value_name = "IMAGE")]
    pub image: Option<PathBuf>,
    /// Use the built-in sample photo (a 256×256 NASA astronaut portrait) instead of a file.
    #[arg(long)]
    pub sample: bool,
}

/// Options shared by every command that reads an image.
#[derive(Debug, Args)]
pub struct Common {
    /// Analyse the Rec.709 gray plane (0.2126 R + 0.7152 G + 0.0722 B) instead of the
    /// colour channels.
    #[arg(long)]
    pub gray: bool,
    /// Floating-point precision of the SVD.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    pub precision: PrecisionArg,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// Print one JSON object on stdout instead of the report.
    #[arg(long)]
    pub json: bool,
}

/// How an image file is read.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Refuse images (or .svdz files) with more pixels than this.
    #[arg(long, value_name = "N", default_value_t = svdimg::Limits::default().max_pixels)]
    pub max_pixels: u64,
    /// Accept an image file that is cut short, with a warning saying where its data ends.
    /// The decoder fills what is missing (a JPEG's lost rows come out gray), so every
    /// number then describes a partly invented picture. Without this flag such a file is
    /// an error.
    #[arg(long)]
    pub allow_truncated: bool,
}

impl DecodeArgs {
    pub fn options(&self) -> svdimg::DecodeOptions {
        svdimg::DecodeOptions {
            limits: self.limits(),
            allow_truncated: self.allow_truncated,
        }
    }

    pub fn limits(&self) -> svdimg::Limits {
        svdimg::Limits {
            max_pixels: self.max_pixels,
            ..svdimg::Limits::default()
        }
    }
}

/// How the SVD is computed.
#[derive(Debug, Args)]
pub struct SvdArgs {
    /// SVD algorithm: `exact` computes the exact first k components (on large images
    /// without the others); `randomized` approximates them (fastest on large images, error
    /// within 1% of the optimum); `auto` picks randomized when the short side is at least
    /// 300 pixels and k at most a fifth of it.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// Seed of the randomized SVD's test matrix (same seed, same result).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
}

impl SvdArgs {
    pub fn method(&self) -> svdimg::Method {
        match self.method {
            MethodArg::Auto => svdimg::Method::Auto,
            MethodArg::Exact => svdimg::Method::Exact,
            MethodArg::Randomized => svdimg::Method::Randomized,
        }
    }

    pub fn settings(&self) -> svdimg::Randomized {
        svdimg::Randomized {
            seed: self.seed,
            ..svdimg::Randomized::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Randomized for large images at small k, else exact.
    Auto,
    /// The exact components, to working precision (on large images only the first k).
    Exact,
    /// Only the first k components, by randomized subspace iteration.
    Randomized,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrecisionArg {
    /// Single precision (default): half the memory, about 7 digits.
    F32,
    /// Double precision: agrees with LAPACK to about 13 digits.
    F64,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub source: Source,
    #[command(flatten)]
    pub common: Common,
    /// How many singular values per plane the report shows (--json prints all of them,
    /// unless --method randomized computes only these).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = parse_rank)]
    pub top: usize,
    /// `exact` (what `auto` means here, since info reports the whole spectrum) or
    /// `randomized`: only the top N singular values, fast on large images.
    #[command(flatten)]
    pub svd: SvdArgs,
}

#[derive(Debug, Args)]
pub struct ApproxArgs {
    #[command(flatten)]
    pub source: Source,
    /// Rank: how many components to keep. Values above min(width, height) are clamped.
    #[arg(short = 'k', long = "rank", value_name = "K", value_parser = parse_rank)]
    pub rank: usize,
    /// Output file; its extension picks the format (png, jpg, gif, bmp, tif, webp, pnm).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Allow OUT to be the input file itself.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub svd: SvdArgs,
}

#[derive(Debug, Args)]
pub struct TourArgs {
    /// The image file; the built-in sample photo when left out.
    #[arg(value_name = "IMAGE")]
    pub image: Option<PathBuf>,
    /// Use the built-in sample photo (the default when no IMAGE is given).
    #[arg(long, conflicts_with = "image")]
    pub sample: bool,
    /// Directory to write the report into (created if missing).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "DIR",
        default_value = "svdimg-tour"
    )]
    pub output: PathBuf,
    /// The rank of the approximations the tour writes and checks.
    #[arg(short = 'k', long = "rank", value_name = "K", default_value_t = 10, value_parser = parse_rank)]
    pub rank: usize,
    #[command(flatten)]
    pub decode: DecodeArgs,
}

#[derive(Debug, Args)]
pub struct SpectrumArgs {
    #[command(flatten)]
    pub source: Source,
    /// Output file: .svg or .png.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Allow OUT to be the input file itself.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct GalleryArgs {
    #[command(flatten)]
    pub source: Source,
    /// The ranks to show, comma-separated; each is clamped to min(width, height).
    #[arg(long, value_name = "K,K,...", value_delimiter = ',', default_value = "1,2,3,4,5,10,20,50", value_parser = parse_rank)]
    pub ranks: Vec<usize>,
    /// Output image file (its extension picks the format).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Allow OUT to be the input file itself.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub svd: SvdArgs,
}

#[derive(Debug, Args)]
pub struct ComponentsArgs {
    #[command(flatten)]
    pub source: Source,
    /// How many components to show (1 to 20).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub count: usize,
    /// Output image file (its extension picks the format).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub file: FileOptions,
}

#[derive(Debug, Args)]
pub struct CompressArgs {
    #[command(flatten)]
    pub source: Source,
    /// Output file; its name must end in .svdz.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Colour planes to store: `auto` is ycbcr for colour images (ycbcr601, a JPEG's own,
    /// for a photo that was a JPEG, in version 2) and gray for gray ones.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    #[command(flatten)]
    pub codec: CodecArgs,
    #[command(flatten)]
    pub file: FileOptions,
    #[command(flatten)]
    pub svd: SvdArgs,
}

/// How a PSNR or byte-budget file is laid out (`.svdz` version 2).
#[derive(Debug, Args)]
pub struct CodecArgs {
    /// The .svdz version to write for --psnr and --max-bytes: 2 cuts each plane into tiles
    /// with a rank each and codes them adaptively; 1 keeps one global basis per plane.
    /// --rank and --energy name global components and always write version 1.
    #[arg(long = "svdz-version", value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u8).range(1..=2))]
    pub version: u8,
    /// Version 2's layout: `auto` writes the smallest of tiled (16, 32 and 64), patches and
    /// global.
    #[arg(long, value_enum, default_value_t = LayoutArg::Auto)]
    pub layout: LayoutArg,
    /// Tile side in pixels for the tiled layout (at least 8).
    #[arg(long, value_name = "N", default_value_t = svdimg::DEFAULT_TILE as u32,
          value_parser = clap::value_parser!(u32).range(8..=65536))]
    pub tile: u32,
    /// Chroma size for YCbCr in version 2: `auto` writes the smaller of 444 and 420.
    #[arg(long, value_enum, default_value_t = ChromaArg::Auto)]
    pub chroma: ChromaArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    /// The smallest file of tiled, patches and global.
    Auto,
    /// One basis per plane, as in version 1: wins on gradients, charts, screenshots.
    Global,
    /// Tiles of --tile pixels, each with its own rank: wins on photos.
    Tiled,
    /// 8×8 patches, each a row of one matrix per plane: its SVD is a transform learnt
    /// from the image.
    Patches,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChromaArg {
    /// The smaller file of 444 and 420.
    Auto,
    /// Cb and Cr at full size: best for sharp colour graphics.
    #[value(name = "444")]
    Full,
    /// Cb and Cr at half width and height: smaller files for photos.
    #[value(name = "420")]
    Half,
}

impl CodecArgs {
    pub fn layout(&self) -> svdimg::Layout {
        match self.layout {
            LayoutArg::Auto => svdimg::Layout::Auto,
            LayoutArg::Global => svdimg::Layout::Global,
            LayoutArg::Tiled => svdimg::Layout::Tiled(self.tile as usize),
            LayoutArg::Patches => svdimg::Layout::Patches(8),
        }
    }

    pub fn chroma(&self) -> svdimg::Chroma {
        match self.chroma {
            ChromaArg::Auto => svdimg::Chroma::Auto,
            ChromaArg::Full => svdimg::Chroma::Full,
            ChromaArg::Half => svdimg::Chroma::Half,
        }
    }
}

/// What to compress to: one of these, 35 dB PSNR when none is given.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct TargetArgs {
    /// Keep K components per plane, quantised to stay close to the exact rank-K image.
    #[arg(short = 'k', long = "rank", value_name = "K", value_parser = parse_rank)]
    pub rank: Option<usize>,
    /// Keep this share of the energy (the sum of squared singular values), in (0, 1].
    #[arg(long, value_name = "F", value_parser = parse_energy)]
    pub energy: Option<f64>,
    /// The smallest file whose decoded image reaches this PSNR in dB. Default: 35.
    #[arg(long, value_name = "DB", value_parser = parse_psnr)]
    pub psnr: Option<f64>,
    /// The best PSNR whose file fits in N bytes.
    #[arg(long, value_name = "N", value_parser = parse_bytes)]
    pub max_bytes: Option<u64>,
}

impl TargetArgs {
    pub fn target(&self) -> svdimg::Target {
        use svdimg::Target;
        match (self.rank, self.energy, self.psnr, self.max_bytes) {
            (Some(k), ..) => Target::Rank(k),
            (_, Some(f), ..) => Target::Energy(f),
            (_, _, Some(db), _) => Target::Psnr(db),
            (.., Some(n)) => Target::MaxBytes(n),
            _ => Target::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// ycbcr for colour images (or a JPEG's own, ycbcr601), gray for gray ones.
    Auto,
    /// Red, green and blue planes.
    Rgb,
    /// Rec.709 luma and two colour differences (smaller files than rgb).
    Ycbcr,
    /// One Rec.709 gray plane: a colour image loses its colour.
    Gray,
}

impl ColorArg {
    pub fn choice(self) -> svdimg::ColorChoice {
        match self {
            ColorArg::Auto => svdimg::ColorChoice::Auto,
            ColorArg::Rgb => svdimg::ColorChoice::Rgb,
            ColorArg::Ycbcr => svdimg::ColorChoice::YCbCr,
            ColorArg::Gray => svdimg::ColorChoice::Gray,
        }
    }
}

#[derive(Debug, Args)]
pub struct DecompressArgs {
    /// The .svdz file.
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// Output image; its extension picks the format (png, jpg, gif, bmp, tif, webp, pnm).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Decode only the first J components of each plane (of each tile in a tiled file),
    /// reading only the blocks that hold them.
    #[arg(short = 'k', long = "rank", value_name = "J", value_parser = parse_rank)]
    pub rank: Option<usize>,
    /// Read at most the first N bytes of the file (K, M and G suffixes allowed) and decode
    /// the components they hold: the picture a download shows after N bytes.
    #[arg(long, value_name = "N", value_parser = parse_size)]
    pub max_bytes: Option<u64>,
    #[command(flatten)]
    pub file: FileOptions,
}

#[derive(Debug, Args)]
pub struct RdArgs {
    #[command(flatten)]
    pub source: Source,
    /// Output plot: .svg or .png.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub file: FileOptions,
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Image files, folders (searched recursively for png, jpg, gif, bmp, tif, webp and
    /// pnm files) or quoted globs such as 'photos/**/*.jpg' (`*`, `?`, `[abc]`, `**`).
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,
    /// Output folder (created if missing).
    #[arg(short = 'o', long = "output", value_name = "OUTDIR")]
    pub output: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// What to write: the .svdz file, or the image it decodes to as PNG or JPEG.
    #[arg(long, value_enum, default_value_t = ToArg::Svdz)]
    pub to: ToArg,
    /// Colour planes to store: `auto` is ycbcr for colour images (ycbcr601, a JPEG's own,
    /// for a photo that was a JPEG, in version 2) and gray for gray ones.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Files worked on at once. Default: the number of cores.
    #[arg(long, value_name = "N", value_parser = parse_rank)]
    pub jobs: Option<usize>,
    /// Memory budget for the files in flight, in bytes (or with K, M, G: 4G). Each file's
    /// need is estimated from its header (about 72 bytes per pixel); a file that needs more
    /// than the whole budget runs alone. Default: half the machine's memory.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub memory: Option<u64>,
    /// The journal (JSON lines, one per finished file). Default: OUTDIR/.svdimg-journal.jsonl.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    #[command(flatten)]
    pub decode: DecodeArgs,
    #[command(flatten)]
    pub svd: SvdArgs,
    /// Print one JSON summary on stdout: {"done", "skipped", "failed", "bytes_in",
    /// "bytes_out", "psnr_median", "psnr_worst", "seconds"}.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `svdimg serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Images to list in the page (only these files and uploads are ever read). Without
    /// any, the page starts on the built-in sample.
    #[arg(value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, value_name = "P", default_value_t = 8470)]
    pub port: u16,
    /// Address to bind. Anything but loopback (127.0.0.1, ::1) exposes the server to the
    /// network and prints a warning: it has no authentication.
    #[arg(long, value_name = "H", default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Open the page in the default browser.
    #[arg(long)]
    pub open: bool,
    /// Memory budget for images and their cached factors, in bytes (or with K, M, G: 2G).
    /// Least recently used factorisations are dropped first, then uploads.
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "2G")]
    pub memory: u64,
    /// Refuse images with more pixels than this (413 for an upload).
    #[arg(long, value_name = "N", default_value_t = 40_000_000)]
    pub max_pixels: u64,
    /// Refuse uploads larger than this many bytes (413).
    #[arg(long, value_name = "BYTES", value_parser = parse_size, default_value = "64M")]
    pub max_upload: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ToArg {
    /// The .svdz file.
    Svdz,
    /// The image the .svdz decodes to, as PNG.
    Png,
    /// The image the .svdz decodes to, as JPEG.
    Jpg,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, scale) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let scale = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => 0,
            };
            (&t[..i], scale)
        }
        _ => (t, 1),
    };
    match digits.parse::<u64>() {
        Ok(n) if n > 0 && scale > 0 => n
            .checked_mul(scale)
            .ok_or_else(|| format!("'{s}' is too large")),
        _ => Err(format!(
            "'{s}' is not a positive size in bytes (such as 2000000000 or 2G)"
        )),
    }
}

/// What every command that writes one file takes, besides its own options.
#[derive(Debug, Args)]
pub struct FileOptions {
    /// Allow OUT to be the input file itself.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// Print one JSON object on stdout instead of the report.
    #[arg(long)]
    pub json: bool,
}

fn parse_energy(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f > 0.0 && f <= 1.0 => Ok(f),
        _ => Err(format!("'{s}' is not a share in (0, 1], such as 0.99")),
    }
}

fn parse_psnr(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(db) if db.is_finite() && db > 0.0 => Ok(db),
        _ => Err(format!("'{s}' is not a positive number of decibels")),
    }
}

fn parse_bytes(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{s}' is not a positive whole number of bytes")),
    }
}

fn parse_rank(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("the rank must be at least 1".into()),
        Ok(k) => Ok(k),
        Err(_) => Err(format!("'{s}' is not a positive whole number")),
    }
}

/// Prints a clap error: help and version in full, anything else as one `error:` line.
pub fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind as K;
    match e.kind() {
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand => {
            // A help request is not an error; a bare `svdimg` prints help and exits 2.
            let _ = e.print();
            if e.kind() == K::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            // clap's message spans lines; keep the part before the usage, on one line.
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
                .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
                .collect();
            eprintln!("{} (see 'svdimg --help')", message.join(" "));
            ExitCode::from(2)
        }
    }
}
