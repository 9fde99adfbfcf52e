//! The SVD of every colour plane of an image, and rank-k approximations built from it.

use faer::{MatMut, Par};
use image::DynamicImage;
use rayon::prelude::*;

use crate::metrics::{self, Storage};
use crate::picture::{quantize, to_image};
use crate::{Error, Factors, PlaneName, Planes, Result, Scalar};

/// The exact thin SVD of each colour plane of an image.
#[derive(Debug, Clone)]
pub struct Decomposition<T: Scalar> {
    /// Width n of each plane.
    pub width: usize,
    /// Height m of each plane.
    pub height: usize,
    /// One factorisation per colour plane, in the planes' order.
    pub planes: Vec<(PlaneName, Factors<T>)>,
}

impl<T: Scalar> Decomposition<T> {
    /// Factors every colour plane, planes in parallel, with faer's global parallelism.
    pub fn compute(planes: &Planes<T>) -> Result<Self> {
        Self::compute_with(planes, faer::get_global_parallelism())
    }

    /// Factors every colour plane, planes in parallel, each factorisation running on `par`.
    pub fn compute_with(planes: &Planes<T>, par: Par) -> Result<Self> {
        let factors = (0..planes.color.len())
            .into_par_iter()
            .map(|i| {
                Ok((
                    planes.color[i].name,
                    Factors::compute_with(planes.matrix(i), par)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Decomposition {
            width: planes.width,
            height: planes.height,
            planes: factors,
        })
    }

    /// The full rank r = min(m, n).
    pub fn max_rank(&self) -> usize {
        self.width.min(self.height)
    }
}

/// Per-plane measures of a rank-k approximation.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneReport {
    /// Which plane.
    pub name: PlaneName,
    /// ‖A − A_k‖_F of the unclipped reconstruction, on the [0, 1] scale.
    pub frobenius_error: f64,
    /// `frobenius_error / ‖A‖_F` (0 for an all-zero plane).
    pub relative_error: f64,
    /// The share of the energy kept, Σ_{i≤k} sᵢ² / Σ sᵢ².
    pub energy: f64,
}

/// What a rank-k approximation achieved.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The rank actually used (the request clamped to min(m, n)).
    pub rank: usize,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Per-plane errors.
    pub planes: Vec<PlaneReport>,
    /// PSNR of the written image against the input over the colour planes; infinite when equal.
    pub psnr_db: f64,
    /// Mean SSIM of the written image against the input over the colour planes.
    pub ssim: f64,
    /// What the factors store against the pixels.
    pub storage: Storage,
}

/// A rank-k image and its report.
#[derive(Debug, Clone)]
pub struct Approximation {
    /// The image, clipped to [0, 1] and rounded to the source bit depth (8 or 16), alpha
    /// passed through.
    pub image: DynamicImage,
    /// The measures.
    pub report: Report,
}

/// Builds the rank-`k` approximation of `planes` from their decomposition.
///
/// `k` is clamped to min(m, n). Errors are measured on the unclipped reconstruction; PSNR
/// and SSIM on the image as written.
///
/// # Panics
/// If `decomposition` was not computed from `planes`.
#[track_caller]
pub fn approximate<T: Scalar>(
    planes: &Planes<T>,
    decomposition: &Decomposition<T>,
    k: usize,
    par: Par,
) -> Result<Approximation> {
    assert!(planes.color.len() == decomposition.planes.len());
    assert!(planes.width == decomposition.width && planes.height == decomposition.height);
    let (m, n) = (planes.height, planes.width);
    let k = k.min(m.min(n));
    if k == 0 {
        return Err(Error::parameter("the rank must be at least 1"));
    }
    let max = if planes.bit_depth <= 8 {
        255.0
    } else {
        65535.0
    };
    let mut reports = Vec::with_capacity(planes.color.len());
    let mut written: Vec<Vec<T>> = Vec::with_capacity(planes.color.len());
    for (plane, (name, factors)) in planes.color.iter().zip(&decomposition.planes) {
        let mut buf = vec![T::from_f64(0.0); m * n];
        factors.reconstruct_into(k, MatMut::from_row_major_slice_mut(&mut buf, m, n), par);
        let frobenius_error = metrics::frobenius_distance(&plane.data, &buf);
        let norm = metrics::frobenius_norm(&plane.data);
        reports.push(PlaneReport {
            name: *name,
            frobenius_error,
            relative_error: if norm > 0.0 {
                frobenius_error / norm
            } else {
                0.0
            },
            energy: metrics::retained_energy(factors.singular_values(), k),
        });
        for x in buf.iter_mut() {
            *x = T::from_f64(quantize(*x, max) / max);
        }
        written.push(buf);
    }
    let written_refs: Vec<&[T]> = written.iter().map(Vec::as_slice).collect();
    let input_refs: Vec<&[T]> = planes.color.iter().map(|p| p.data.as_slice()).collect();
    let psnr_db = metrics::psnr(&input_refs, &written_refs);
    let ssim = input_refs
        .par_iter()
        .zip(written_refs.par_iter())
        .map(|(a, b)| metrics::ssim(a, b, n, m))
        .sum::<f64>()
        / input_refs.len() as f64;
    let alpha = planes.alpha.as_ref().map(|a| a.data.as_slice());
    let image = to_image(n, m, &written_refs, alpha, planes.bit_depth);
    Ok(Approximation {
        image,
        report: Report {
            rank: k,
            width: n,
            height: m,
            planes: reports,
            psnr_db,
            ssim,
            storage: Storage::new(k, m, n, planes.color.len()),
        },
    })
}
