//! The SVD of every colour plane of an image, and rank-k approximations built from it.

use faer::{MatMut, Par};
use image::DynamicImage;
use rayon::prelude::*;

use crate::metrics::{self, Storage};
use crate::picture::{quantize, ImageWriter};
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
    /// The smallest and largest value of the unclipped reconstruction: outside [0, 1]
    /// is what clipping removes.
    pub range: (f64, f64),
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

/// Running sums of components, one per colour plane: grows a rank-j approximation to rank k
/// by adding components j+1..k, so that one SVD serves every rank.
pub struct Approximator<'a, T: Scalar> {
    planes: &'a Planes<T>,
    svd: &'a Decomposition<T>,
    sums: Vec<Vec<T>>,
    rank: usize,
    par: Par,
}

impl<'a, T: Scalar> Approximator<'a, T> {
    /// Starts at rank 0 (all sums zero).
    ///
    /// # Panics
    /// If `svd` was not computed from `planes`.
    #[track_caller]
    pub fn new(planes: &'a Planes<T>, svd: &'a Decomposition<T>, par: Par) -> Self {
        assert!(planes.color.len() == svd.planes.len());
        assert!(planes.width == svd.width && planes.height == svd.height);
        let n = planes.width * planes.height;
        Approximator {
            planes,
            svd,
            sums: vec![vec![T::from_f64(0.0); n]; planes.color.len()],
            rank: 0,
            par,
        }
    }

    /// The rank reached so far.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Adds components up to rank `k` (clamped to min(m, n)); a lower `k` does nothing.
    pub fn advance_to(&mut self, k: usize) {
        let k = k.min(self.svd.max_rank());
        if k <= self.rank {
            return;
        }
        let (m, n) = (self.planes.height, self.planes.width);
        let (rank, par) = (self.rank, self.par);
        self.sums
            .par_iter_mut()
            .zip(&self.svd.planes)
            .for_each(|(sum, (_, f))| {
                f.add_components(rank..k, MatMut::from_row_major_slice_mut(sum, m, n), par)
            });
        self.rank = k;
    }

    /// The unclipped running sum of one colour plane, row-major.
    pub fn plane(&self, index: usize) -> &[T] {
        &self.sums[index]
    }

    /// The image at the current rank, with its report.
    pub fn approximation(&self) -> Result<Approximation> {
        if self.rank == 0 {
            return Err(Error::parameter("the rank must be at least 1"));
        }
        let planes = self.planes;
        let (m, n) = (planes.height, planes.width);
        let channels = planes.color.len() + usize::from(planes.alpha.is_some());
        let mut writer = ImageWriter::new(n, m, channels, planes.bit_depth);
        let max = writer.max();
        let mut reports = Vec::with_capacity(planes.color.len());
        let (mut squared_error, mut ssim_sum) = (0.0, 0.0);
        for (c, ((plane, (name, factors)), sum)) in planes
            .color
            .iter()
            .zip(&self.svd.planes)
            .zip(&self.sums)
            .enumerate()
        {
            let frobenius_error = metrics::frobenius_distance(&plane.data, sum);
            let norm = metrics::frobenius_norm(&plane.data);
            let (lo, hi) = sum
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                    (lo.min(x.to_f64()), hi.max(x.to_f64()))
                });
            reports.push(PlaneReport {
                name: *name,
                frobenius_error,
                relative_error: if norm > 0.0 {
                    frobenius_error / norm
                } else {
                    0.0
                },
                energy: metrics::retained_energy(factors.singular_values(), self.rank),
                range: (lo, hi),
            });
            // What is written: clipped and rounded to the output depth.
            let written: Vec<T> = sum
                .iter()
                .map(|&x| T::from_f64(quantize(x, max) / max))
                .collect();
            squared_error += metrics::frobenius_distance(&plane.data, &written).powi(2);
            ssim_sum += metrics::ssim(&plane.data, &written, n, m);
            writer.set_channel(c, &written);
        }
        if let Some(alpha) = &planes.alpha {
            writer.set_channel(channels - 1, &alpha.data);
        }
        let count = (m * n * planes.color.len()) as f64;
        let psnr_db = if squared_error == 0.0 {
            f64::INFINITY
        } else {
            -10.0 * (squared_error / count).log10()
        };
        Ok(Approximation {
            image: writer.finish(),
            report: Report {
                rank: self.rank,
                width: n,
                height: m,
                planes: reports,
                psnr_db,
                ssim: ssim_sum / planes.color.len() as f64,
                storage: Storage::new(self.rank, m, n, planes.color.len()),
            },
        })
    }
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
    let mut approximator = Approximator::new(planes, decomposition, par);
    approximator.advance_to(k);
    approximator.approximation()
}

/// The approximations at each of `ranks` (each clamped to min(m, n)), built by accumulating
/// components from one decomposition. Ranks may come in any order; each result matches its
/// rank's position in `ranks`.
pub fn approximations<T: Scalar>(
    planes: &Planes<T>,
    decomposition: &Decomposition<T>,
    ranks: &[usize],
    par: Par,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Approximation>> {
    let mut order: Vec<usize> = (0..ranks.len()).collect();
    order.sort_by_key(|&i| ranks[i]);
    let mut approximator = Approximator::new(planes, decomposition, par);
    let mut out: Vec<Option<Approximation>> = vec![None; ranks.len()];
    for (done, i) in order.into_iter().enumerate() {
        approximator.advance_to(ranks[i]);
        out[i] = Some(approximator.approximation()?);
        progress(done + 1);
    }
    Ok(out
        .into_iter()
        .map(|a| a.expect("every rank was built"))
        .collect())
}
