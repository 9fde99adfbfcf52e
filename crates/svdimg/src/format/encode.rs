//! Compression: the colour planes, the target, and the version that meets it.

use std::borrow::Cow;

use super::color::{from_input, resolve_color, StoredColor};
use super::container::alpha_block;
use super::measure::LevelPlane;
use super::options::{CompressOptions, Compressed, Target};
use super::{v1, v2};
use crate::{Error, Factors, Planes, Result};

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
/// `planes` are stored as (see [`stored_planes`](super::stored_planes)), in file order, so that nothing is
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
        let levels: Vec<LevelPlane> = reference.iter().map(|r| LevelPlane::of(r, max)).collect();
        let input = v2::Input {
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
        return v2::compress(input, options);
    }
    v1::compress(planes, given, options, color, stored_planes, max, alpha)
}
