//! Decoding images from bytes, splitting them into planes, and encoding results.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use rayon::prelude::*;

use crate::{jpeg, truncation, Error, Limits, Result, Scalar, Truncation};

/// What a decoded image is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorModel {
    /// One gray channel.
    Gray,
    /// Gray and alpha.
    GrayAlpha,
    /// Red, green, blue.
    Rgb,
    /// Red, green, blue and alpha.
    Rgba,
}

impl ColorModel {
    /// The name used in reports: `gray`, `gray+alpha`, `rgb` or `rgba`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColorModel::Gray => "gray",
            ColorModel::GrayAlpha => "gray+alpha",
            ColorModel::Rgb => "rgb",
            ColorModel::Rgba => "rgba",
        }
    }

    /// Whether the model has an alpha channel.
    pub fn has_alpha(self) -> bool {
        matches!(self, ColorModel::GrayAlpha | ColorModel::Rgba)
    }

    /// Whether the model has red, green and blue channels.
    pub fn is_color(self) -> bool {
        matches!(self, ColorModel::Rgb | ColorModel::Rgba)
    }
}

/// A decoded image, upright (EXIF orientation applied), first frame only.
#[derive(Debug, Clone)]
pub struct Picture {
    image: DynamicImage,
    format: Option<ImageFormat>,
    truncation: Option<Truncation>,
}

/// How [`Picture::decode_with`] treats the bytes it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeOptions {
    /// Size and memory limits, checked before the pixels are decoded.
    ///
    /// Default: [`Limits::default`].
    pub limits: Limits,
    /// Accept a file that ends before its format says it should, when the decoder can
    /// still make a picture of it (it fills what is missing, often with gray). The picture
    /// then reports it through [`Picture::truncation`]. Without this, such a file is an
    /// error that says where its data ends.
    ///
    /// Default: `false`.
    pub allow_truncated: bool,
}

/// The name of a plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlaneName {
    /// The gray plane: the only channel of a gray image, or Rec.709 luma of a colour one.
    Gray,
    /// Red.
    R,
    /// Green.
    G,
    /// Blue.
    B,
    /// Alpha (opacity).
    Alpha,
}

impl PlaneName {
    /// `gray`, `r`, `g`, `b` or `alpha`.
    pub fn as_str(self) -> &'static str {
        match self {
            PlaneName::Gray => "gray",
            PlaneName::R => "r",
            PlaneName::G => "g",
            PlaneName::B => "b",
            PlaneName::Alpha => "alpha",
        }
    }
}

/// One channel of an image as a row-major height×width matrix on the [0, 1] scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane<T> {
    /// Which channel this is.
    pub name: PlaneName,
    /// Row-major samples, value / type maximum.
    pub data: Vec<T>,
}

/// The planes of an image: colour planes (analysed by the SVD) and an optional alpha plane
/// (passed through unchanged).
#[derive(Debug, Clone, PartialEq)]
pub struct Planes<T> {
    /// Width n (columns).
    pub width: usize,
    /// Height m (rows).
    pub height: usize,
    /// Bits per sample of the source: 8 or 16 (float sources report 32).
    pub bit_depth: u8,
    /// `gray`, or `r`, `g`, `b`.
    pub color: Vec<Plane<T>>,
    /// The alpha plane, when the image has one.
    pub alpha: Option<Plane<T>>,
}

impl<T: Scalar> Planes<T> {
    /// A zero-copy view of a colour plane as an m×n matrix.
    ///
    /// # Panics
    /// If `index` is out of range.
    #[track_caller]
    pub fn matrix(&self, index: usize) -> faer::MatRef<'_, T> {
        faer::MatRef::from_row_major_slice(&self.color[index].data, self.height, self.width)
    }
}

/// Rec.709 luma weights, as in NumPy's SVD tutorial.
pub const REC709: [f64; 3] = [0.2126, 0.7152, 0.0722];

/// A row-major `width`×`height` plane averaged in `s`×`s` blocks (fewer at the right and
/// bottom edges), summed in float64: the plane reduced `s` times in each direction.
pub fn block_means<T: Scalar>(p: &[T], width: usize, height: usize, s: usize) -> Vec<T> {
    if s <= 1 {
        return p.to_vec();
    }
    let (w, h) = (width.div_ceil(s), height.div_ceil(s));
    let mut out = Vec::with_capacity(w * h);
    for by in 0..h {
        let rows = by * s..((by + 1) * s).min(height);
        for bx in 0..w {
            let cols = bx * s..((bx + 1) * s).min(width);
            let count = (rows.len() * cols.len()) as f64;
            let sum: f64 = rows
                .clone()
                .flat_map(|r| &p[r * width + cols.start..r * width + cols.end])
                .map(|x| x.to_f64())
                .sum();
            out.push(T::from_f64(sum / count));
        }
    }
    out
}

impl Picture {
    /// Decodes an image from bytes: PNG, JPEG, GIF (first frame), BMP, TIFF, WebP or PNM.
    ///
    /// The image's dimensions are checked against `limits` before its pixels are decoded.
    /// A truncated file is an error (see [`DecodeOptions::allow_truncated`]).
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Self> {
        let options = DecodeOptions {
            limits: *limits,
            allow_truncated: false,
        };
        Self::decode_with(bytes, &options)
    }

    /// Decodes an image from bytes with explicit options.
    ///
    /// Before any pixel is decoded, the file's container is checked for completeness (PNG's
    /// IEND chunk, JPEG's end-of-image marker, GIF's trailer, the lengths in BMP, TIFF,
    /// WebP and PNM headers), and its dimensions against the limits.
    pub fn decode_with(bytes: &[u8], options: &DecodeOptions) -> Result<Self> {
        let limits = &options.limits;
        if bytes.is_empty() {
            return Err(Error::input("the file is empty"));
        }
        let reader = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| Error::input(format!("cannot read image: {e}")))?;
        let format = reader.format();
        let Some(known) = format else {
            return Err(Error::input("not a recognised image format"));
        };
        let truncation = truncation::find(bytes, known);
        let truncated = |t: &Truncation| Error::input(format!("the image is truncated ({t})"));
        if let (Some(t), false) = (&truncation, options.allow_truncated) {
            return Err(truncated(t));
        }
        // A decoder that fails on a file known to be cut short is reported as the cut.
        let fail = |e| match &truncation {
            Some(t) if !matches!(e, image::ImageError::Limits(_)) => truncated(t),
            _ => decode_error(e),
        };
        let mut reader = reader;
        let mut image_limits = image::Limits::default();
        image_limits.max_alloc = Some(limits.max_alloc);
        reader.limits(image_limits);
        let mut decoder = reader.into_decoder().map_err(fail)?;
        let (w, h) = decoder.dimensions();
        check_size(w as u64, h as u64, limits)?;
        // `image` applies `max_alloc` to its decoders' own buffers, not to the picture they
        // fill: check the picture's size here, before it is allocated.
        let needed = decoder.total_bytes();
        if needed > limits.max_alloc {
            return Err(Error::limit(format!(
                "the image is {w}x{h} and needs {needed} bytes to decode, over the limit of {} \
                 bytes",
                limits.max_alloc
            )));
        }
        let orientation = decoder.orientation().map_err(fail)?;
        let mut image = if known == ImageFormat::Jpeg && jpeg::non_interleaved(bytes) {
            drop(decoder);
            jpeg::decode(bytes, limits.max_alloc).map_err(|e| match &truncation {
                Some(t) => truncated(t),
                None => Error::input(format!("cannot decode image: {e}")),
            })?
        } else {
            DynamicImage::from_decoder(decoder).map_err(fail)?
        };
        image.apply_orientation(orientation);
        Ok(Picture {
            image,
            format,
            truncation,
        })
    }

    /// Wraps an in-memory image.
    pub fn from_image(image: DynamicImage) -> Self {
        Picture {
            image,
            format: None,
            truncation: None,
        }
    }

    /// Where the file's data ended early, when it was decoded with
    /// [`DecodeOptions::allow_truncated`] and was cut short.
    pub fn truncation(&self) -> Option<&Truncation> {
        self.truncation.as_ref()
    }

    /// The decoded image.
    pub fn image(&self) -> &DynamicImage {
        &self.image
    }

    /// The format the bytes were in, if decoded from bytes.
    pub fn format(&self) -> Option<ImageFormat> {
        self.format
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.image.width() as usize
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.image.height() as usize
    }

    /// Bits per sample: 8, 16, or 32 for floating-point sources.
    pub fn bit_depth(&self) -> u8 {
        let ct = self.image.color();
        (ct.bits_per_pixel() / u16::from(ct.channel_count())) as u8
    }

    /// The colour model after decoding (palette images decode to RGB or RGBA).
    pub fn color_model(&self) -> ColorModel {
        let ct = self.image.color();
        match (ct.has_color(), ct.has_alpha()) {
            (false, false) => ColorModel::Gray,
            (false, true) => ColorModel::GrayAlpha,
            (true, false) => ColorModel::Rgb,
            (true, true) => ColorModel::Rgba,
        }
    }

    /// Splits the image into planes on the [0, 1] scale (value / type maximum).
    ///
    /// With `gray`, a colour image gives one Rec.709 plane `0.2126 R + 0.7152 G + 0.0722 B`;
    /// a gray image always gives its one plane. Alpha, when present, comes out unchanged.
    pub fn planes<T: Scalar>(&self, gray: bool) -> Planes<T> {
        let (w, h) = (self.width(), self.height());
        let (color, alpha) = match &self.image {
            DynamicImage::ImageLuma8(b) => split(b.as_raw(), 1, false, gray, unit_u8),
            DynamicImage::ImageLumaA8(b) => split(b.as_raw(), 2, true, gray, unit_u8),
            DynamicImage::ImageRgb8(b) => split(b.as_raw(), 3, false, gray, unit_u8),
            DynamicImage::ImageRgba8(b) => split(b.as_raw(), 4, true, gray, unit_u8),
            DynamicImage::ImageLuma16(b) => split(b.as_raw(), 1, false, gray, unit_u16),
            DynamicImage::ImageLumaA16(b) => split(b.as_raw(), 2, true, gray, unit_u16),
            DynamicImage::ImageRgb16(b) => split(b.as_raw(), 3, false, gray, unit_u16),
            DynamicImage::ImageRgba16(b) => split(b.as_raw(), 4, true, gray, unit_u16),
            DynamicImage::ImageRgb32F(b) => split(b.as_raw(), 3, false, gray, unit_f32),
            other => {
                let rgba = other.to_rgba32f();
                split(rgba.as_raw(), 4, true, gray, unit_f32)
            }
        };
        debug_assert!(color.iter().all(|p| p.data.len() == w * h));
        Planes {
            width: w,
            height: h,
            bit_depth: self.bit_depth(),
            color,
            alpha,
        }
    }
}

fn unit_u8(x: u8) -> f64 {
    f64::from(x) / 255.0
}

fn unit_u16(x: u16) -> f64 {
    f64::from(x) / 65535.0
}

fn unit_f32(x: f32) -> f64 {
    f64::from(x)
}

/// Splits interleaved samples into planes, scaling each sample with `unit`: one parallel
/// pass over the samples per plane (a 24 MP photo in 0.4 s one pixel at a time).
fn split<P: Copy + Sync, T: Scalar>(
    raw: &[P],
    channels: usize,
    has_alpha: bool,
    gray: bool,
    unit: impl Fn(P) -> f64 + Sync,
) -> (Vec<Plane<T>>, Option<Plane<T>>) {
    let color_channels = if has_alpha { channels - 1 } else { channels };
    let pixels = || raw.par_chunks_exact(channels);
    let channel = |c: usize| -> Vec<T> { pixels().map(|px| T::from_f64(unit(px[c]))).collect() };
    let color = if color_channels == 3 && gray {
        vec![Plane {
            name: PlaneName::Gray,
            data: pixels()
                .map(|px| {
                    T::from_f64(
                        REC709[0] * unit(px[0]) + REC709[1] * unit(px[1]) + REC709[2] * unit(px[2]),
                    )
                })
                .collect(),
        }]
    } else if color_channels == 1 {
        vec![Plane {
            name: PlaneName::Gray,
            data: channel(0),
        }]
    } else {
        [PlaneName::R, PlaneName::G, PlaneName::B]
            .into_iter()
            .enumerate()
            .map(|(c, name)| Plane {
                name,
                data: channel(c),
            })
            .collect()
    };
    let alpha = has_alpha.then(|| Plane {
        name: PlaneName::Alpha,
        data: channel(channels - 1),
    });
    (color, alpha)
}

fn check_size(w: u64, h: u64, limits: &Limits) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(Error::input(format!("the image has no pixels ({w}x{h})")));
    }
    let pixels = w * h;
    if pixels > limits.max_pixels {
        return Err(Error::limit(format!(
            "the image is {w}x{h} = {pixels} pixels, over the limit of {} pixels",
            limits.max_pixels
        )));
    }
    Ok(())
}

fn decode_error(e: image::ImageError) -> Error {
    use image::ImageError as E;
    match e {
        E::Limits(l) => Error::limit(format!("image too large to decode: {l}")),
        E::Unsupported(u) => Error::unsupported(format!("unsupported image: {u}")),
        E::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::input("the image is truncated")
        }
        other => Error::input(format!("cannot decode image: {other}")),
    }
}

/// Rounds planes on the [0, 1] scale to an image of the given bit depth (8 or 16).
///
/// Values are clipped to [0, 1] first, so they never wrap. One colour plane gives a gray
/// image, three give RGB; `alpha` adds an alpha channel.
///
/// # Panics
/// If there are not 1 or 3 colour planes or a plane's length is not width × height.
#[track_caller]
pub fn to_image<T: Scalar>(
    width: usize,
    height: usize,
    color: &[&[T]],
    alpha: Option<&[T]>,
    bit_depth: u8,
) -> DynamicImage {
    assert!(color.len() == 1 || color.len() == 3);
    let mut writer = ImageWriter::new(
        width,
        height,
        color.len() + usize::from(alpha.is_some()),
        bit_depth,
    );
    for (c, plane) in color.iter().chain(alpha.as_ref()).enumerate() {
        writer.set_channel(c, plane);
    }
    writer.finish()
}

/// Builds an 8- or 16-bit image one channel at a time, so that only one plane of floats
/// needs to exist at once.
pub(crate) struct ImageWriter {
    width: u32,
    height: u32,
    channels: usize,
    raw: Raw,
}

enum Raw {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

impl ImageWriter {
    /// `channels` is 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA); depths above 8 give 16.
    pub(crate) fn new(width: usize, height: usize, channels: usize, bit_depth: u8) -> Self {
        assert!((1..=4).contains(&channels));
        let n = width * height * channels;
        let raw = if bit_depth <= 8 {
            Raw::U8(vec![0; n])
        } else {
            Raw::U16(vec![0; n])
        };
        ImageWriter {
            width: width as u32,
            height: height as u32,
            channels,
            raw,
        }
    }

    /// The largest sample value: 255 or 65535.
    pub(crate) fn max(&self) -> f64 {
        match self.raw {
            Raw::U8(_) => 255.0,
            Raw::U16(_) => 65535.0,
        }
    }

    /// Clips, rounds and stores `plane` as channel `c`.
    #[track_caller]
    pub(crate) fn set_channel<T: Scalar>(&mut self, c: usize, plane: &[T]) {
        let max = self.max();
        let channels = self.channels;
        assert!(c < channels && plane.len() * channels == self.len());
        match &mut self.raw {
            Raw::U8(raw) => {
                for (dst, &x) in raw[c..].iter_mut().step_by(channels).zip(plane) {
                    *dst = quantize(x, max) as u8;
                }
            }
            Raw::U16(raw) => {
                for (dst, &x) in raw[c..].iter_mut().step_by(channels).zip(plane) {
                    *dst = quantize(x, max) as u16;
                }
            }
        }
    }

    fn len(&self) -> usize {
        match &self.raw {
            Raw::U8(r) => r.len(),
            Raw::U16(r) => r.len(),
        }
    }

    pub(crate) fn finish(self) -> DynamicImage {
        let (w, h) = (self.width, self.height);
        // The buffer sizes match by construction, so `from_raw` cannot fail.
        match (self.raw, self.channels) {
            (Raw::U8(r), 1) => {
                DynamicImage::ImageLuma8(image::ImageBuffer::from_raw(w, h, r).unwrap())
            }
            (Raw::U8(r), 2) => {
                DynamicImage::ImageLumaA8(image::ImageBuffer::from_raw(w, h, r).unwrap())
            }
            (Raw::U8(r), 3) => {
                DynamicImage::ImageRgb8(image::ImageBuffer::from_raw(w, h, r).unwrap())
            }
            (Raw::U8(r), _) => {
                DynamicImage::ImageRgba8(image::ImageBuffer::from_raw(w, h, r).unwrap())
            }
            (Raw::U16(r), 1) => {
                DynamicImage::ImageLuma16(image::ImageBuffer::from_raw(w, h, r).unwrap())
            }
            (Raw::U16(r), 2) => {
                DynamicImage::ImageLumaA16(image::ImageBuffer::from_raw(w, h, r).unwrap())
            }
            (Raw::U16(r), 3) => {
                DynamicImage::ImageRgb16(image::ImageBuffer::from_raw(w, h, r).unwrap())
            }
            (Raw::U16(r), _) => {
                DynamicImage::ImageRgba16(image::ImageBuffer::from_raw(w, h, r).unwrap())
            }
        }
    }
}

/// Clips to [0, 1] and rounds to the nearest level of `max`; NaN becomes 0.
#[inline]
pub fn quantize<T: Scalar>(x: T, max: f64) -> f64 {
    let x = x.to_f64();
    if x.is_nan() {
        return 0.0;
    }
    (x.clamp(0.0, 1.0) * max).round()
}

/// An output format, chosen from a file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputFormat(ImageFormat);

impl OutputFormat {
    /// The format for a file extension such as `png` or `JPG`.
    pub fn from_extension(ext: &str) -> Result<Self> {
        let format = ImageFormat::from_extension(ext)
            .filter(|f| f.writing_enabled())
            .ok_or_else(|| {
                Error::parameter(format!(
                    "cannot write '.{ext}' files (use png, jpg, gif, bmp, tif, webp or pnm)"
                ))
            })?;
        Ok(OutputFormat(format))
    }

    /// The underlying `image` format.
    pub fn image_format(self) -> ImageFormat {
        self.0
    }

    /// The format's usual file extension: `png`, `jpg`, `tiff`, …
    pub fn extension(self) -> &'static str {
        self.0.extensions_str().first().copied().unwrap_or("img")
    }
}

/// Encodes an image, converting it to what the format can hold.
///
/// PNG and TIFF keep 16-bit depth and alpha; JPEG drops alpha and writes 8 bits;
/// other formats fall back to 8 bits (and drop alpha when they cannot hold it).
pub fn encode(image: &DynamicImage, format: OutputFormat) -> Result<Vec<u8>> {
    let format = format.0;
    let has_alpha = image.color().has_alpha();
    let gray = !image.color().has_color();
    // Try the image as it is, then 8 bits with the same channels, then 8 bits without alpha.
    let as_is = |i: &DynamicImage| i.clone();
    let eight = |i: &DynamicImage| match (gray, has_alpha) {
        (true, false) => DynamicImage::ImageLuma8(i.to_luma8()),
        (true, true) => DynamicImage::ImageLumaA8(i.to_luma_alpha8()),
        (false, false) => DynamicImage::ImageRgb8(i.to_rgb8()),
        (false, true) => DynamicImage::ImageRgba8(i.to_rgba8()),
    };
    let opaque = |i: &DynamicImage| match gray {
        true => DynamicImage::ImageLuma8(i.to_luma8()),
        false => DynamicImage::ImageRgb8(i.to_rgb8()),
    };
    let rgb = |i: &DynamicImage| DynamicImage::ImageRgb8(i.to_rgb8());
    let conversions: [&dyn Fn(&DynamicImage) -> DynamicImage; 4] = [&as_is, &eight, &opaque, &rgb];
    let mut last = None;
    for convert in conversions {
        let mut out = Vec::new();
        match convert(image).write_to(&mut Cursor::new(&mut out), format) {
            Ok(()) => return Ok(out),
            Err(image::ImageError::Unsupported(e)) => last = Some(e.to_string()),
            Err(e) => return Err(Error::input(format!("cannot encode image: {e}"))),
        }
    }
    Err(Error::unsupported(format!(
        "cannot encode this image as {format:?}: {}",
        last.unwrap_or_default()
    )))
}
