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

/// One measured file: its size and the PSNR of its decoded image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RdPoint {
    /// The file's size in bytes.
    pub bytes: u64,
    /// PSNR of the decoded image against the input, in dB.
    pub psnr_db: f64,
}

/// The points of one way of storing the image, by increasing PSNR.
#[derive(Debug, Clone, PartialEq)]
pub struct RdCurve {
    /// `svdz-ycbcr`, `svdz-rgb`, `svdz-gray`, `float32-factors` or `jpeg`.
    pub name: &'static str,
    /// The measurements.
    pub points: Vec<RdPoint>,
}

impl RdCurve {
    /// The bytes needed for `psnr_db`, interpolated (linearly in log bytes) between the two
    /// measured points around it; `None` outside the measured range.
    pub fn bytes_at(&self, psnr_db: f64) -> Option<f64> {
        self.points.windows(2).find_map(|w| {
            let (a, b) = (w[0], w[1]);
            if a.psnr_db <= psnr_db && psnr_db <= b.psnr_db && a.psnr_db < b.psnr_db {
                let f = (psnr_db - a.psnr_db) / (b.psnr_db - a.psnr_db);
                let (la, lb) = ((a.bytes as f64).ln(), (b.bytes as f64).ln());
                Some((la + f * (lb - la)).exp())
            } else {
                None
            }
        })
    }
}

/// The PSNR targets the `.svdz` curves are measured at.
const SVDZ_TARGETS: [f64; 11] = [
    24.0, 26.0, 28.0, 30.0, 32.0, 35.0, 38.0, 40.0, 42.0, 44.0, 46.0,
];
/// The JPEG qualities measured.
const JPEG_QUALITIES: [u8; 18] = [
    10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95,
];
/// Bytes a float32-factor file needs besides the factors: a small header.
const FLOAT_HEADER: u64 = 16;

/// Measures the rate–distortion curves of `planes` (gray or RGB): `.svdz` in YCbCr and
/// RGB (or gray), float32 factors at ranks 1 to min(m, n), and JPEG at qualities 10 to 95
/// (8 bits, alpha dropped). `progress` is called after each measurement with the count
/// done and the total.
pub fn rate_distortion(
    planes: &Planes<f32>,
    par: Par,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<RdCurve>> {
    let colour = planes.color.len() == 3;
    let models: &[(&'static str, ColorChoice)] = if colour {
        &[
            ("svdz-ycbcr", ColorChoice::YCbCr),
            ("svdz-rgb", ColorChoice::Rgb),
        ]
    } else {
        &[("svdz-gray", ColorChoice::Gray)]
    };
    let short = planes.width.min(planes.height);
    let ranks: Vec<usize> = [
        1, 2, 3, 5, 8, 10, 15, 20, 30, 40, 50, 70, 100, 150, 200, 300, 400,
    ]
    .into_iter()
    .chain((500..).step_by(250))
    .take_while(|&k| k <= short)
    .collect();
    let total = models.len() * SVDZ_TARGETS.len() + 1 + JPEG_QUALITIES.len();
    let mut done = 0;
    let mut tick = |n: usize| {
        done += n;
        progress(done, total);
    };
    let mut curves = Vec::new();
    for &(name, color) in models {
        let mut points = Vec::new();
        for db in SVDZ_TARGETS {
            let options = CompressOptions {
                target: Target::Psnr(db),
                color,
                par,
                ..CompressOptions::default()
            };
            match compress(planes, &options) {
                Ok(c) => points.push(RdPoint {
                    bytes: c.bytes.len() as u64,
                    psnr_db: c.psnr_db,
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
        })
        .collect();
    curves.push(sorted("float32-factors", points));
    tick(1);

    let mut jpeg = Jpeg::new(planes);
    let mut points = Vec::new();
    for q in JPEG_QUALITIES {
        points.push(jpeg.measure(q)?);
        tick(1);
    }
    curves.push(sorted("jpeg", points));
    Ok(curves)
}

/// The smallest baseline JPEG (the `image` crate's encoder, 8 bits, alpha dropped) whose
/// decoded image reaches `psnr_db` against `planes` (gray or RGB): its quality (1–100)
/// and measurement, found by bisection on the quality. `None` when quality 100 falls short.
pub fn jpeg_for_psnr(planes: &Planes<f32>, psnr_db: f64) -> Result<Option<(u8, RdPoint)>> {
    let mut jpeg = Jpeg::new(planes);
    let best = jpeg.measure(100)?;
    if best.psnr_db < psnr_db {
        return Ok(None);
    }
    let (mut bad, mut good) = (0u8, (100u8, best));
    while good.0 - bad > 1 {
        let mid = bad + (good.0 - bad) / 2;
        let point = jpeg.measure(mid)?;
        if point.psnr_db >= psnr_db {
            good = (mid, point);
        } else {
            bad = mid;
        }
    }
    Ok(Some(good))
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

    fn measure(&mut self, quality: u8) -> Result<RdPoint> {
        let mut bytes = Vec::new();
        self.eight
            .write_with_encoder(JpegEncoder::new_with_quality(
                Cursor::new(&mut bytes),
                quality,
            ))
            .map_err(|e| Error::input(format!("cannot encode JPEG: {e}")))?;
        let gray = self.color.len() == 1;
        let decoded = Picture::decode(&bytes, &Limits::default())?.planes::<f32>(gray);
        let test: Vec<&[f32]> = decoded.color.iter().map(|p| &p.data[..]).collect();
        Ok(RdPoint {
            bytes: bytes.len() as u64,
            psnr_db: metrics::psnr(&self.color, &test),
        })
    }
}

/// A curve with its points by increasing PSNR, infinite ones (lossless) left out.
fn sorted(name: &'static str, mut points: Vec<RdPoint>) -> RdCurve {
    points.retain(|p| p.psnr_db.is_finite());
    points.sort_by(|a, b| a.psnr_db.total_cmp(&b.psnr_db));
    RdCurve { name, points }
}
