//! # svdimg: images through the singular value decomposition
//!
//! svdimg turns an image into matrices, one per channel (or one Rec.709 gray plane,
//! `0.2126 R + 0.7152 G + 0.0722 B`), on the [0, 1] scale, and takes the thin SVD of each,
//! `A = U Σ Vᵀ`. Keeping only the first k components gives the rank-k approximation
//! `A_k = U_k Σ_k V_kᵀ`.
//!
//! ## The math
//! - **Eckart–Young**: no rank-k matrix is closer to `A` in the Frobenius norm than `A_k`,
//!   and its error is `‖A − A_k‖_F = sqrt(Σ_{i>k} σᵢ²)` ([`optimal_error`]).
//! - **Storage**: `A_k` needs `k(m + n + 1)` numbers (k columns of U and V and k singular
//!   values) instead of `m·n` ([`Storage`]). For a 512×512 plane at k = 20 that is
//!   20 500 numbers instead of 262 144, under 8 %.
//!
//! ## Main types
//! - [`Picture`]: an image decoded from bytes (PNG, JPEG with EXIF orientation, GIF, BMP,
//!   TIFF, WebP, PNM; 8 or 16 bits; gray, gray+alpha, RGB, RGBA, palette), checked against
//!   [`Limits`] before its pixels are decoded.
//! - [`Planes`]: the image as named planes of `f32` or `f64` ([`Scalar`]).
//! - [`Factors`]: the exact thin SVD of one matrix, with a deterministic sign convention.
//! - [`Decomposition`]: the factors of every colour plane, computed in parallel.
//! - [`approximate`]: the rank-k image with its [`Report`] (errors, PSNR, SSIM, storage).
//! - [`singular_values`]: the singular values alone, without vectors, by a two-stage
//!   reduction (dense to band, band to bidiagonal, dqds): several times faster than a full
//!   SVD on large matrices; [`plane_singular_values`] for every plane of an image.
//! - [`transcode`]: one image file to an `.svdz` file (or the image it decodes to), the unit
//!   of work of a batch, with [`working_set`] to budget memory before decoding.
//!
//! ## Example
//! ```
//! use svdimg::{approximate, Decomposition, Limits, Picture};
//!
//! let picture = Picture::decode(svdimg::SAMPLE_PNG, &Limits::default())?;
//! let planes = picture.planes::<f32>(false); // r, g, b
//! let svd = Decomposition::compute(&planes)?;
//! let s = svd.planes[0].1.singular_values();
//! assert!(s.windows(2).all(|w| w[0] >= w[1]));
//!
//! let approx = approximate(&planes, &svd, 20, faer::Par::Seq)?;
//! let red = &approx.report.planes[0];
//! // Eckart–Young: the error is the tail of the spectrum.
//! let optimum = svdimg::optimal_error(s, 20);
//! assert!((red.frobenius_error - optimum).abs() < 1e-3 * optimum);
//! println!("rank 20: {:.1} dB, stores {:.1}% of the values",
//!          approx.report.psnr_db, 100.0 * approx.report.storage.ratio);
//! # Ok::<(), svdimg::Error>(())
//! ```
//!
//! ## Compressed files
//! [`compress`] writes an `.svdz` file: each plane's first components with the singular
//! vectors quantised to integers and compressed with zstd, several times smaller than the
//! float factors and, unlike them, smaller than the image. [`decompress`] reads it back,
//! checking every header field against [`Limits`] first; [`inspect`] reads the header.
//!
//! ```
//! use svdimg::{compress, decompress, CompressOptions, DecompressOptions, Limits, Picture, Target};
//!
//! let planes = Picture::decode(svdimg::SAMPLE_PNG, &Limits::default())?.planes::<f32>(false);
//! let options = CompressOptions { target: Target::Psnr(30.0), ..Default::default() };
//! let file = compress(&planes, &options)?;
//! assert!(file.psnr_db >= 30.0 && file.bytes.len() < svdimg::SAMPLE_PNG.len() / 4);
//! let decoded = decompress(&file.bytes, &DecompressOptions::default())?;
//! assert_eq!((decoded.width, decoded.height), (256, 256));
//! # Ok::<(), svdimg::Error>(())
//! ```
//!
//! ## Features
//! The library does no file I/O: it takes bytes and returns images or bytes. Parallelism is
//! a [`faer::Par`] value passed in; colour planes are factored in parallel with rayon.

mod decomposition;
mod error;
mod factors;
mod format;
mod jpeg;
mod lesson;
mod limits;
mod metrics;
mod page;
mod picture;
mod randomized;
mod rd;
mod scalar;
mod tiles;
mod transcode;
mod truncation;
mod values;
mod view;

pub use decomposition::{
    approximate, approximations, Approximation, Approximator, Decomposition, PlaneReport, Report,
};
pub use error::{Error, ErrorKind, Result};
pub use factors::{complex_svd, Factors};
pub use format::{
    compress, compress_factored, decoded_components, decompress, decompress_prefix, inspect,
    is_svdz, output_planes, read_svdz, stored_planes, svdz_bytes_needed, Chroma, ColorChoice,
    CompressOptions, Compressed, DecompressOptions, Decompressed, Layout, StoredColor, SvdzInfo,
    SvdzNeed, Target, DEFAULT_TILE,
};
pub use lesson::{component_sum_difference, Lesson, LessonFacts, LESSON_COMPONENTS};
pub use limits::Limits;
pub use metrics::{
    energy_rank, energy_rank_of, frobenius_distance, frobenius_norm, optimal_error, psnr,
    retained_energy, ssim, Storage,
};
pub use page::{PAGE_CSS, PAGE_HTML, PAGE_MODULES, WIDGET_MODULE};
pub use picture::{
    block_means, encode, quantize, to_image, ColorModel, DecodeOptions, OutputFormat, Picture,
    Plane, PlaneName, Planes, REC709,
};
pub use randomized::{sketch, Method, Randomized};
pub use rd::{jpeg_for_psnr, rate_distortion, JpegKind, JpegMatch, RdCurve, RdPoint};
pub use scalar::{Precision, Scalar};
pub use tiles::{diverging, original_scaled, Part, Tile};
pub use transcode::{
    settings_hash, transcode, working_set, Destination, TranscodeOptions, Transcoded,
};
pub use truncation::Truncation;
pub use values::{
    bidiagonal_singular_values, bidiagonal_svd, plane_singular_values, singular_values,
    singular_values_timed, two_stage_full_svd, two_stage_leading, two_stage_singular_values,
    two_stage_svd, StageTimes, VectorTimes,
};

pub use view::{Quality, Rendered, View};

pub use faer;
pub use image;

/// The built-in sample photo: the astronaut Eileen Collins (NASA, public domain), from
/// scikit-image's data set, downscaled to 256×256 RGB PNG. See `assets/README.md`.
pub const SAMPLE_PNG: &[u8] = include_bytes!("../assets/astronaut-256.png");
