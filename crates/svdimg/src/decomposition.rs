//! The SVD of every colour plane of an image, and rank-k approximations built from it.

use faer::{MatMut, Par};
use image::DynamicImage;
use rayon::prelude::*;

use crate::metrics::{self, Storage};
use crate::picture::{quantize, ImageWriter};
use crate::{Error, Factors, Method, PlaneName, Planes, Randomized, Result, Scalar};

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

    /// Factors every colour plane by `method` for approximations up to rank `k`: both keep
    /// the first `k` components (see [`Factors::compute_truncated`]).
    pub fn compute_truncated(
        planes: &Planes<T>,
        k: usize,
        method: Method,
        settings: &Randomized,
        par: Par,
    ) -> Result<Self> {
        let factors = (0..planes.color.len())
            .into_par_iter()
            .map(|i| {
                let f = Factors::compute_truncated(planes.matrix(i), k, method, settings, par)?;
                Ok((planes.color[i].name, f))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Decomposition {
            width: planes.width,
            height: planes.height,
            planes: factors,
        })
    }

    /// How many components every plane has: min(m, n) for the exact SVD, k for a truncated
    /// one.
    pub fn max_rank(&self) -> usize {
        self.planes
            .iter()
            .map(|(_, f)| f.rank())
            .min()
            .unwrap_or(0)
            .min(self.width.min(self.height))
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
    /// The share of the energy kept, Σ_{i≤k} sᵢ² / ‖A‖²_F (= Σ sᵢ² over all i).
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
        let mut builder = ReportBuilder::new(self.planes, self.rank);
        let mut scratch = Vec::new();
        for (c, sum) in self.sums.iter().enumerate() {
            // The running sums go on growing: measure and round a copy.
            scratch.clone_from(sum);
            builder.add_plane(c, &self.svd.planes[c].1, &mut scratch);
        }
        Ok(builder.finish())
    }
}

/// Elements per parallel work item in the per-pixel passes.
pub(crate) const CHUNK: usize = 1 << 16;

/// Measures planes one at a time and writes them into the output image, so that only one
/// reconstructed plane needs to exist at once.
struct ReportBuilder<'a, T: Scalar> {
    planes: &'a Planes<T>,
    rank: usize,
    writer: ImageWriter,
    reports: Vec<PlaneReport>,
    squared_error: f64,
    ssim_sum: f64,
}

impl<'a, T: Scalar> ReportBuilder<'a, T> {
    fn new(planes: &'a Planes<T>, rank: usize) -> Self {
        let channels = planes.color.len() + usize::from(planes.alpha.is_some());
        ReportBuilder {
            planes,
            rank,
            writer: ImageWriter::new(planes.width, planes.height, channels, planes.bit_depth),
            reports: Vec::with_capacity(planes.color.len()),
            squared_error: 0.0,
            ssim_sum: 0.0,
        }
    }

    /// Measures colour plane `c`, whose unclipped rank-k reconstruction is `sum`, then
    /// rounds `sum` in place to what is written.
    fn add_plane(&mut self, c: usize, factors: &Factors<T>, sum: &mut [T]) {
        let plane = &self.planes.color[c];
        let (m, n) = (self.planes.height, self.planes.width);
        let max = self.writer.max();
        // One parallel pass for ‖A − A_k‖², ‖A‖² and the range of A_k.
        let (err2, norm2, lo, hi) = plane
            .data
            .par_chunks(CHUNK)
            .zip(sum.par_chunks(CHUNK))
            .map(|(a, s)| {
                a.iter().zip(s).fold(
                    (0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY),
                    |acc, (&x, &y)| {
                        let (x, y) = (x.to_f64(), y.to_f64());
                        (
                            acc.0 + (x - y) * (x - y),
                            acc.1 + x * x,
                            acc.2.min(y),
                            acc.3.max(y),
                        )
                    },
                )
            })
            .reduce(
                || (0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY),
                |p, q| (p.0 + q.0, p.1 + q.1, p.2.min(q.2), p.3.max(q.3)),
            );
        let (frobenius_error, norm) = (err2.sqrt(), norm2.sqrt());
        let kept: f64 = factors
            .singular_values()
            .iter()
            .take(self.rank)
            .map(|s| s.to_f64().powi(2))
            .sum();
        self.reports.push(PlaneReport {
            name: plane.name,
            frobenius_error,
            relative_error: if norm > 0.0 {
                frobenius_error / norm
            } else {
                0.0
            },
            energy: if norm > 0.0 {
                (kept / (norm * norm)).min(1.0)
            } else {
                1.0
            },
            range: (lo, hi),
        });
        // What is written: clipped and rounded to the output depth.
        let written: Vec<T> = sum
            .iter()
            .map(|&x| T::from_f64(quantize(x, max) / max))
            .collect();
        self.squared_error += metrics::frobenius_distance(&plane.data, &written).powi(2);
        self.ssim_sum += metrics::ssim(&plane.data, &written, n, m);
        self.writer.set_channel(c, &written);
    }

    fn finish(mut self) -> Approximation {
        let planes = self.planes;
        let (m, n) = (planes.height, planes.width);
        let colors = planes.color.len();
        if let Some(alpha) = &planes.alpha {
            self.writer.set_channel(colors, &alpha.data);
        }
        let psnr_db = metrics::psnr_from_squared_error(self.squared_error, m * n * colors);
        Approximation {
            image: self.writer.finish(),
            report: Report {
                rank: self.rank,
                width: n,
                height: m,
                planes: self.reports,
                psnr_db,
                ssim: self.ssim_sum / colors as f64,
                storage: Storage::new(self.rank, m, n, colors),
            },
        }
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
    assert!(planes.color.len() == decomposition.planes.len());
    assert!(planes.width == decomposition.width && planes.height == decomposition.height);
    let k = k.min(decomposition.max_rank());
    if k == 0 {
        return Err(Error::parameter("the rank must be at least 1"));
    }
    let (m, n) = (planes.height, planes.width);
    let mut builder = ReportBuilder::new(planes, k);
    let mut sum = vec![T::from_f64(0.0); m * n];
    for (c, (_, factors)) in decomposition.planes.iter().enumerate() {
        factors.reconstruct_into(k, MatMut::from_row_major_slice_mut(&mut sum, m, n), par);
        builder.add_plane(c, factors, &mut sum);
    }
    Ok(builder.finish())
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
