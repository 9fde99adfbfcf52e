//! One image file in, one file out: the unit of work of a batch (`svdimg batch`, and the
//! Python package's batch), with what a scheduler needs to know before doing it.

use std::io::Cursor;

use crate::format::{compress, decompress, CompressOptions, DecompressOptions, Target};
use crate::picture::{encode, to_image, DecodeOptions, OutputFormat, Picture};
use crate::{ColorChoice, Error, Method, Result};

/// What a batch writes for each image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// The `.svdz` file.
    Svdz,
    /// The image that file decodes to, encoded in this format (PNG or JPEG): what the
    /// target's quality looks like, readable by anything.
    Image(OutputFormat),
}

impl Destination {
    /// `svdz`, `png`, `jpg`, …: the output file's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Destination::Svdz => "svdz",
            Destination::Image(format) => format.extension(),
        }
    }
}

/// How each file of a batch is made.
#[derive(Debug, Clone)]
pub struct TranscodeOptions {
    /// The `.svdz` settings (target, colour planes, SVD method).
    pub compress: CompressOptions,
    /// What is written.
    pub to: Destination,
    /// How the input is decoded (limits, truncated files).
    pub decode: DecodeOptions,
}

impl TranscodeOptions {
    /// Every setting that changes the output, as one line, for example
    /// `svdimg-batch 1; to=svdz; target=psnr:35; color=auto; method=auto; seed=0;
    /// max-pixels=…; allow-truncated=false`. A journal stores its [`settings_hash`] so that
    /// a rerun with other settings redoes the file.
    pub fn settings_line(&self) -> String {
        let target = match self.compress.target {
            Target::Rank(k) => format!("rank:{k}"),
            Target::Energy(f) => format!("energy:{f}"),
            Target::Psnr(db) => format!("psnr:{db}"),
            Target::MaxBytes(n) => format!("max-bytes:{n}"),
            Target::Ranks([a, b, c]) => format!("ranks:{a},{b},{c}"),
        };
        let color = match self.compress.color {
            ColorChoice::Auto => "auto",
            ColorChoice::Rgb => "rgb",
            ColorChoice::YCbCr => "ycbcr",
            ColorChoice::Gray => "gray",
        };
        let method = match self.compress.method {
            Method::Auto => "auto",
            Method::Exact => "exact",
            Method::Randomized => "randomized",
        };
        format!(
            "svdimg-batch 1; to={}; target={target}; color={color}; method={method}; seed={}; \
             max-pixels={}; allow-truncated={}",
            self.to.extension(),
            self.compress.randomized.seed,
            self.decode.limits.max_pixels,
            self.decode.allow_truncated
        )
    }
}

/// The 64-bit FNV-1a hash of `line` in 16 lower-case hex digits: how a journal records the
/// settings ([`TranscodeOptions::settings_line`]). Simple enough to compute anywhere.
pub fn settings_hash(line: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in line.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A file made by [`transcode`].
#[derive(Debug, Clone)]
pub struct Transcoded {
    /// The output file.
    pub bytes: Vec<u8>,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// PSNR of what the output decodes to against the input, in dB (infinite when equal).
    /// For a JPEG output this is the `.svdz` quality, before JPEG's own loss.
    pub psnr_db: f64,
}

/// Decodes `input`, compresses it to `.svdz` as `options` say, and returns that file or the
/// image it decodes to.
pub fn transcode(input: &[u8], options: &TranscodeOptions) -> Result<Transcoded> {
    let picture = Picture::decode_with(input, &options.decode)?;
    let planes = picture.planes::<f32>(false);
    drop(picture);
    let c = compress(&planes, &options.compress)?;
    let (width, height) = (planes.width, planes.height);
    let bytes = match options.to {
        Destination::Svdz => c.bytes,
        Destination::Image(format) => {
            let decoded = decompress(
                &c.bytes,
                &DecompressOptions {
                    rank: None,
                    limits: options.decode.limits,
                    allow_truncated: false,
                },
            )?;
            let color: Vec<&[f32]> = decoded.color.iter().map(|p| &p.data[..]).collect();
            let image = to_image(
                width,
                height,
                &color,
                decoded.alpha.as_ref().map(|p| &p.data[..]),
                decoded.bit_depth,
            );
            encode(&image, format)?
        }
    };
    Ok(Transcoded {
        bytes,
        width,
        height,
        psnr_db: c.psnr_db,
    })
}

/// Bytes of memory per pixel that [`transcode`] needs at its peak, for a colour image:
/// f32 planes, their factors, a trial decode and the decoded picture. Measured with
/// `/usr/bin/time -v svdimg compress` on a 24-megapixel photo (1.5 GB at 35 dB: about 60
/// bytes per pixel), rounded up.
const BYTES_PER_PIXEL: u64 = 72;

/// An upper estimate of the memory [`transcode`] needs for `input`, from its header alone
/// (nothing is decoded): what a batch uses to keep the files in flight within a budget.
pub fn working_set(input: &[u8]) -> Result<u64> {
    let reader = image::ImageReader::new(Cursor::new(input))
        .with_guessed_format()
        .map_err(|e| Error::input(format!("cannot read image: {e}")))?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| Error::input(format!("cannot read the image header: {e}")))?;
    Ok(u64::from(w) * u64::from(h) * BYTES_PER_PIXEL + input.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_of_known_strings() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(settings_hash(""), "cbf29ce484222325");
        assert_eq!(settings_hash("a"), "af63dc4c8601ec8c");
        assert_eq!(settings_hash("foobar"), "85944171f73967e8");
    }
}
