//! `.svdz`: a compressed file of quantised SVD factors that is smaller than the image.
//!
//! Version 1 ([`v1`]) keeps each colour plane's first k global components
//! `σᵢ uᵢ vᵢᵀ` as two integer vectors and one scale each, coded as varints and zstd, in
//! component order so that a prefix of the file holds the first components of every plane.
//! One threshold t on the colour-weighted singular values picks every plane's rank and
//! step; `--psnr` and `--max-bytes` search t, `--rank` and `--energy` set it.
//!
//! Version 2 ([`v2`]) cuts each plane into tiles with a rank each under one threshold,
//! or stores its matrix of 8×8 patches, or keeps it whole, whichever file is smallest;
//! vectors are quantised with equal distortion per integer (optionally as DCT
//! coefficients), refitted by least squares, and range-coded with adaptive contexts.
//! `compress` writes it for a PSNR or a byte budget. `decompress` reads both versions.
//!
//! Both byte layouts are specified in `docs/FORMAT.md`.

mod color;
mod container;
mod decode;
mod encode;
mod file;
mod measure;
mod options;
mod v1;
mod v2;
mod vectors;

pub use color::{output_planes, stored_planes, ColorChoice, StoredColor};
pub use decode::{
    decoded_components, decompress, decompress_prefix, inspect, is_svdz, read_svdz,
    svdz_bytes_needed, Decompressed, SvdzNeed,
};
pub use encode::{compress, compress_factored};
pub use options::{
    Chroma, CompressOptions, Compressed, DecompressOptions, Layout, SvdzInfo, Target, DEFAULT_TILE,
};
