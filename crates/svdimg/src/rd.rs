//! Rate–distortion: how many bytes each way of storing an image needs for a given PSNR.
//!
//! Every point is measured: the file is written in memory, decoded, rounded to the source
//! depth and compared with the input.

use std::io::Cursor;

use faer::Par;
use image::codecs::jpeg::JpegEncoder;

use crate::{
    approximations, compress, metrics, to_image, ColorChoice, CompressOptions, Decomposition,
    Error, Limits, Picture, Planes, Result, Target,
};

/// One measured file: its size and the PSNR and SSIM of its decoded image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RdPoint {
    /// The file's size in bytes.
    pub bytes: u64,
    /// PSNR of the decoded image against the input, in dB.
    pub psnr_db: f64,
    /// Mean SSIM of the decoded image's colour planes against the input's.
    pub ssim: f64,
}

/// The points of one way of storing the image, by increasing PSNR.
#[derive(Debug, Clone, PartialEq)]
pub struct RdCurve {
    /// `svdz-v2` (version 2, as `compress` writes it), `svdz-ycbcr`, `svdz-rgb`,
    /// `svdz-gray` (version 1), `float32-factors`, `jpeg` (the `image`
    /// crate's baseline encoder) or `jpeg-strong` (optimised Huffman tables, the better of
    /// 4:2:0 and 4:4:4 at each size; see [`JpegKind`]).
    pub name: &'static str,
    /// The measurements.
    pub points: Vec<RdPoint>,
}

impl RdCurve {
    /// The bytes needed for `psnr_db`, interpolated (linearly in log bytes) between the two
    /// measured points around it; `None` outside the measured range.
    pub fn bytes_at(&self, psnr_db: f64) -> Option<f64> {
        interpolate(&self.points, |p| p.psnr_db, psnr_db)
    }

    /// The bytes needed for an SSIM of `ssim`, as [`RdCurve::bytes_at`] for PSNR.
    pub fn bytes_at_ssim(&self, ssim: f64) -> Option<f64> {
        let mut points = self.points.clone();
        points.sort_by(|a, b| a.ssim.total_cmp(&b.ssim));
        interpolate(&points, |p| p.ssim, ssim)
    }
}

/// The bytes at which `measure` reaches `target` along `points` (sorted by `measure`),
/// linearly in log bytes between the two points around it.
fn interpolate(points: &[RdPoint], measure: impl Fn(&RdPoint) -> f64, target: f64) -> Option<f64> {
    points.windows(2).find_map(|w| {
        let (a, b) = (measure(&w[0]), measure(&w[1]));
        if a <= target && target <= b && a < b {
            let f = (target - a) / (b - a);
            let (la, lb) = ((w[0].bytes as f64).ln(), (w[1].bytes as f64).ln());
            Some((la + f * (lb - la)).exp())
        } else {
            None
        }
    })
}

/// The PSNR targets the `.svdz` curves are measured at.
const SVDZ_TARGETS: [f64; 11] = [
    24.0, 26.0, 28.0, 30.0, 32.0, 35.0, 38.0, 40.0, 42.0, 44.0, 46.0,
];
/// The JPEG qualities measured.
const JPEG_QUALITIES: [u8; 18] = [
    10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95,
];
/// The WebP qualities measured (libwebp, lossy, method 6: its slowest and smallest).
/// WebP reaches 30 dB on many photos below quality 10, and 40 dB on some only above 95,
/// so it spans more qualities than JPEG.
#[cfg(feature = "webp")]
const WEBP_QUALITIES: [u8; 23] = [
    0, 3, 6, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 98, 100,
];
#[cfg(feature = "webp")]
const WEBP_COUNT: usize = WEBP_QUALITIES.len();
#[cfg(not(feature = "webp"))]
const WEBP_COUNT: usize = 0;
/// Bytes a float32-factor file needs besides the factors: a small header.
const FLOAT_HEADER: u64 = 16;

/// Measures the rate–distortion curves of `planes` (gray or RGB): `.svdz` version 2, and
/// version 1 in YCbCr and RGB (or gray), float32 factors at ranks 1 to min(m, n), and JPEG at qualities 10 to 95
/// (8 bits, alpha dropped) with the `image` crate's encoder and with the strong one
/// ([`JpegKind`]), and with the feature `webp`, lossy WebP at the same qualities (libwebp,
/// method 6). `progress` is called after each measurement with the count done and the
/// total.
pub fn rate_distortion(
    planes: &Planes<f32>,
    par: Par,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<RdCurve>> {
    let colour = planes.color.len() == 3;
    // Version 2 as `compress` writes it by default, then version 1 in each colour model.
    let models: &[(&'static str, ColorChoice, u8)] = if colour {
        &[
            ("svdz-v2", ColorChoice::Auto, 2),
            ("svdz-ycbcr", ColorChoice::YCbCr, 1),
            ("svdz-rgb", ColorChoice::Rgb, 1),
        ]
    } else {
        &[
            ("svdz-v2", ColorChoice::Auto, 2),
            ("svdz-gray", ColorChoice::Gray, 1),
        ]
    };
    let short = planes.width.min(planes.height);
    let ranks: Vec<usize> = [
        1, 2, 3, 5, 8, 10, 15, 20, 30, 40, 50, 70, 100, 150, 200, 300, 400,
    ]
    .into_iter()
    .chain((500..).step_by(250))
    .take_while(|&k| k <= short)
    .collect();
    let total = models.len() * SVDZ_TARGETS.len() + 1 + 2 * JPEG_QUALITIES.len() + WEBP_COUNT;
    let mut done = 0;
    let mut tick = |n: usize| {
        done += n;
        progress(done, total);
    };
    let mut curves = Vec::new();
    for &(name, color, version) in models {
        let mut points = Vec::new();
        for db in SVDZ_TARGETS {
            let options = CompressOptions {
                target: Target::Psnr(db),
                color,
                version,
                par,
                ..CompressOptions::default()
            };
            match compress(planes, &options) {
                Ok(c) => points.push(RdPoint {
                    bytes: c.bytes.len() as u64,
                    psnr_db: c.psnr_db,
                    ssim: c.ssim,
                }),
                // A target above what the image can reach ends the curve.
                Err(e) if e.kind() == crate::ErrorKind::InvalidParameter => {}
                Err(e) => return Err(e),
            }
            tick(1);
        }
        curves.push(sorted(name, points));
    }

    let svd = Decomposition::compute_with(planes, par)?;
    let colors = planes.color.len() as u64;
    let (m, n) = (planes.height as u64, planes.width as u64);
    let points = approximations(planes, &svd, &ranks, par, |_| {})?
        .into_iter()
        .zip(&ranks)
        .map(|(a, &k)| RdPoint {
            bytes: FLOAT_HEADER + 4 * k as u64 * (m + n + 1) * colors,
            psnr_db: a.report.psnr_db,
            ssim: a.report.ssim,
        })
        .collect();
    curves.push(sorted("float32-factors", points));
    tick(1);

    let mut jpeg = Jpeg::new(planes);
    let mut points = Vec::new();
    for q in JPEG_QUALITIES {
        points.push(jpeg.measure(q, JpegKind::Basic)?);
        tick(1);
    }
    curves.push(sorted("jpeg", points));
    // The strong baseline: the best of 4:2:0 and 4:4:4 at each size.
    let mut points = Vec::new();
    for q in JPEG_QUALITIES {
        for &kind in JpegKind::strong(planes.color.len()) {
            points.push(jpeg.measure(q, kind)?);
        }
        tick(1);
    }
    curves.push(sorted("jpeg-strong", frontier(points)));
    #[cfg(feature = "webp")]
    {
        let mut points = Vec::new();
        for q in WEBP_QUALITIES {
            points.push(jpeg.measure_webp(q)?);
            tick(1);
        }
        curves.push(sorted("webp", frontier(points)));
    }
    Ok(curves)
}

/// A JPEG encoder to compare against.
///
/// Measured on the shared photos at 30 and 35 dB: `jpeg-encoder`'s optimised Huffman tables
/// save 1 to 24% over [`JpegKind::Basic`] at 4:4:4; its progressive mode costs 6 to 29%
/// more at 4:4:4 and 4 to 13% more at 4:2:0 (qualities 40 to 92), so both encoders are
/// baseline. (Its baseline files have one component per scan; svdimg decodes those with
/// `jpeg-decoder`, as the `image` crate's decoder gets them wrong.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegKind {
    /// The `image` crate's encoder: baseline, chroma at full resolution (4:4:4), and the
    /// fixed Huffman tables of the standard's Annex K.
    Basic,
    /// `jpeg-encoder`, baseline, with Huffman tables optimised for the image and chroma
    /// box-averaged to half resolution both ways (4:2:0).
    Optimized420,
    /// `jpeg-encoder`, baseline, with optimised Huffman tables and chroma at full
    /// resolution (4:4:4).
    Optimized444,
}

impl JpegKind {
    /// `basic`, `optimized 4:2:0` or `optimized 4:4:4`.
    pub fn as_str(self) -> &'static str {
        match self {
            JpegKind::Basic => "basic",
            JpegKind::Optimized420 => "optimized 4:2:0",
            JpegKind::Optimized444 => "optimized 4:4:4",
        }
    }

    /// The strong encoders worth trying on an image of `planes` planes: both chroma
    /// resolutions for colour, one for gray (which has no chroma).
    fn strong(planes: usize) -> &'static [JpegKind] {
        if planes == 3 {
            &[JpegKind::Optimized420, JpegKind::Optimized444]
        } else {
            &[JpegKind::Optimized444]
        }
    }
}

/// A JPEG found for a PSNR target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JpegMatch {
    /// The encoder settings.
    pub kind: JpegKind,
    /// The quality, 1 to 100.
    pub quality: u8,
    /// Its size and PSNR.
    pub point: RdPoint,
}

/// The smallest JPEG of the strong encoders ([`JpegKind::Optimized420`] and
/// [`JpegKind::Optimized444`] for colour, 8 bits, alpha dropped) whose decoded image
/// reaches `psnr_db` against `planes` (gray or RGB), found by bisection on the quality of
/// each; `None` when quality 100 falls short with both.
pub fn jpeg_for_psnr(planes: &Planes<f32>, psnr_db: f64) -> Result<Option<JpegMatch>> {
    let mut jpeg = Jpeg::new(planes);
    let mut best: Option<JpegMatch> = None;
    for &kind in JpegKind::strong(planes.color.len()) {
        let top = jpeg.measure(100, kind)?;
        if top.psnr_db < psnr_db {
            continue;
        }
        let (mut bad, mut good) = (0u8, (100u8, top));
        while good.0 - bad > 1 {
            let mid = bad + (good.0 - bad) / 2;
            let point = jpeg.measure(mid, kind)?;
            if point.psnr_db >= psnr_db {
                good = (mid, point);
            } else {
                bad = mid;
            }
        }
        if best.is_none_or(|b| good.1.bytes < b.point.bytes) {
            best = Some(JpegMatch {
                kind,
                quality: good.0,
                point: good.1,
            });
        }
    }
    Ok(best)
}

/// Encodes one image as JPEG at several qualities and measures each.
struct Jpeg<'a> {
    color: Vec<&'a [f32]>,
    eight: image::DynamicImage,
}

impl<'a> Jpeg<'a> {
    fn new(planes: &'a Planes<f32>) -> Self {
        let color: Vec<&[f32]> = planes.color.iter().map(|p| &p.data[..]).collect();
        let eight = to_image(planes.width, planes.height, &color, None, 8);
        Jpeg { color, eight }
    }

    fn encode(&self, quality: u8, kind: JpegKind) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        let error = |e: &dyn std::fmt::Display| Error::input(format!("cannot encode JPEG: {e}"));
        // The image crate's encoder, as before; the strong one through jpeg-encoder.
        if kind == JpegKind::Basic {
            self.eight
                .write_with_encoder(JpegEncoder::new_with_quality(
                    Cursor::new(&mut bytes),
                    quality,
                ))
                .map_err(|e| error(&e))?;
            return Ok(bytes);
        }
        let (w, h) = (self.eight.width(), self.eight.height());
        let (Ok(w), Ok(h)) = (u16::try_from(w), u16::try_from(h)) else {
            return Err(Error::unsupported(format!(
                "JPEG holds at most 65535 pixels a side, not {w}x{h}"
            )));
        };
        let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, quality);
        encoder.set_optimized_huffman_tables(true);
        encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
        encoder.set_sampling_factor(if kind == JpegKind::Optimized420 {
            jpeg_encoder::SamplingFactor::R_4_2_0
        } else {
            jpeg_encoder::SamplingFactor::R_4_4_4
        });
        let (data, color) = match &self.eight {
            image::DynamicImage::ImageLuma8(g) => (g.as_raw(), jpeg_encoder::ColorType::Luma),
            image::DynamicImage::ImageRgb8(rgb) => (rgb.as_raw(), jpeg_encoder::ColorType::Rgb),
            _ => unreachable!("to_image makes 8-bit gray or RGB"),
        };
        encoder.encode(data, w, h, color).map_err(|e| error(&e))?;
        Ok(bytes)
    }

    /// Lossy WebP at `quality` (libwebp, method 6), measured as the JPEGs are. A gray image
    /// is given to libwebp as RGB (WebP has no gray) and measured on its gray plane.
    #[cfg(feature = "webp")]
    fn measure_webp(&mut self, quality: u8) -> Result<RdPoint> {
        let rgb = self.eight.to_rgb8();
        let mut config =
            webp::WebPConfig::new().map_err(|()| Error::input("cannot set up the WebP encoder"))?;
        config.quality = f32::from(quality);
        config.method = 6;
        let encoder = webp::Encoder::from_rgb(rgb.as_raw(), rgb.width(), rgb.height());
        let bytes = encoder
            .encode_advanced(&config)
            .map_err(|e| Error::input(format!("cannot encode WebP: {e:?}")))?;
        self.measure_bytes(&bytes)
    }

    fn measure(&mut self, quality: u8, kind: JpegKind) -> Result<RdPoint> {
        let bytes = self.encode(quality, kind)?;
        self.measure_bytes(&bytes)
    }

    /// Decodes a file of the image and measures it against the image.
    fn measure_bytes(&self, bytes: &[u8]) -> Result<RdPoint> {
        let gray = self.color.len() == 1;
        let decoded = Picture::decode(bytes, &Limits::default())?.planes::<f32>(gray);
        let test: Vec<&[f32]> = decoded.color.iter().map(|p| &p.data[..]).collect();
        let (w, h) = (decoded.width, decoded.height);
        let ssim = self
            .color
            .iter()
            .zip(&test)
            .map(|(r, t)| metrics::ssim(r, t, w, h))
            .sum::<f64>()
            / test.len() as f64;
        Ok(RdPoint {
            bytes: bytes.len() as u64,
            psnr_db: metrics::psnr(&self.color, &test),
            ssim,
        })
    }
}

/// The points no other point beats: none with as high a PSNR in as few bytes.
fn frontier(mut points: Vec<RdPoint>) -> Vec<RdPoint> {
    points.sort_by(|a, b| b.psnr_db.total_cmp(&a.psnr_db).then(a.bytes.cmp(&b.bytes)));
    let mut smallest = u64::MAX;
    points.retain(|p| {
        let keep = p.bytes < smallest;
        smallest = smallest.min(p.bytes);
        keep
    });
    points
}

/// A curve with its points by increasing PSNR, infinite ones (lossless) left out.
fn sorted(name: &'static str, mut points: Vec<RdPoint>) -> RdCurve {
    points.retain(|p| p.psnr_db.is_finite());
    points.sort_by(|a, b| a.psnr_db.total_cmp(&b.psnr_db));
    RdCurve { name, points }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Planes<f32> {
        Picture::decode(crate::SAMPLE_PNG, &Limits::default())
            .unwrap()
            .planes::<f32>(false)
    }

    /// The smallest quality that reaches the target (bisection ends one above a miss), and
    /// smaller than the basic encoder's file for the same PSNR.
    #[test]
    fn the_strong_jpeg_for_a_psnr_beats_the_basic_one() {
        let planes = sample();
        let found = jpeg_for_psnr(&planes, 30.0).unwrap().unwrap();
        assert!(found.point.psnr_db >= 30.0);
        let mut jpeg = Jpeg::new(&planes);
        if found.quality > 1 {
            let below = jpeg.measure(found.quality - 1, found.kind).unwrap();
            assert!(below.psnr_db < 30.0, "{below:?}");
        }
        let basic = (1..=100)
            .map(|q| jpeg.measure(q, JpegKind::Basic).unwrap())
            .find(|p| p.psnr_db >= 30.0)
            .unwrap();
        assert!(
            found.point.bytes < basic.bytes,
            "{found:?} against basic {basic:?}"
        );
        assert!(jpeg_for_psnr(&planes, 200.0).unwrap().is_none());
    }

    #[test]
    fn the_frontier_keeps_what_nothing_beats() {
        let p = |bytes, psnr_db| RdPoint {
            bytes,
            psnr_db,
            ssim: 0.9,
        };
        let kept = frontier(vec![
            p(100, 30.0),
            p(90, 31.0),
            p(200, 35.0),
            p(210, 34.0),
            p(150, 33.0),
        ]);
        assert_eq!(kept, vec![p(200, 35.0), p(150, 33.0), p(90, 31.0)]);
    }
}
