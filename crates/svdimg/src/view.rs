//! One image factored in one colour model, for looking at every rank: the unit an
//! interactive explorer caches. One factorisation serves every k, per plane.

use faer::{Mat, MatMut, Par};
use image::DynamicImage;
use rayon::prelude::*;

use crate::picture::{block_means, quantize};
use crate::{
    metrics, output_planes, stored_planes, to_image, Error, Factors, Planes, Randomized, Result,
    StoredColor,
};

/// The factors of every plane of an image in one colour model (`gray`, `rgb` or `ycbcr`):
/// exact, or a randomized preview of the leading components.
#[derive(Debug, Clone)]
pub struct View {
    color: StoredColor,
    width: usize,
    height: usize,
    factors: Vec<Factors<f32>>,
    exact: bool,
}

/// An image rendered from a [`View`], and the ranks it was rendered at.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The image at the source's bit depth (8 or 16), alpha passed through: gray for the
    /// `gray` model, RGB otherwise.
    pub image: DynamicImage,
    /// The rank used for each plane, after clamping.
    pub ranks: Vec<usize>,
}

/// How close a rendering is to its original, measured on the written samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Quality {
    /// PSNR in dB over the output planes (infinite when equal).
    pub psnr_db: f64,
    /// Mean SSIM over the output planes.
    pub ssim: f64,
    /// Per stored plane, the share of its energy Σσᵢ² that the first kᵢ components keep.
    pub energy: Vec<f64>,
}

impl View {
    /// The exact thin SVD of each plane of `planes` (gray or R G B) stored as `color`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::ErrorKind) for `rgb` or `ycbcr` of a gray
    /// image; a numerical error if the SVD fails.
    pub fn exact(planes: &Planes<f32>, color: StoredColor, par: Par) -> Result<Self> {
        Self::factor(planes, color, None, par)
    }

    /// A randomized SVD of the first `rank` components of each plane, much faster than
    /// [`View::exact`] on large images: a preview while the exact factors are computed.
    ///
    /// # Errors
    /// As [`View::exact`], and a zero `rank`.
    pub fn preview(
        planes: &Planes<f32>,
        color: StoredColor,
        rank: usize,
        par: Par,
    ) -> Result<Self> {
        if rank == 0 {
            return Err(Error::parameter("the preview rank must be at least 1"));
        }
        Self::factor(planes, color, Some(rank), par)
    }

    fn factor(
        planes: &Planes<f32>,
        color: StoredColor,
        rank: Option<usize>,
        par: Par,
    ) -> Result<Self> {
        check_color(planes, color)?;
        let (m, n) = (planes.height, planes.width);
        let stored = stored_planes(planes, color);
        let short = m.min(n);
        let settings = Randomized::default();
        let factors = stored
            .par_iter()
            .map(|p| {
                let a = faer::MatRef::from_row_major_slice(p, m, n);
                match rank {
                    Some(k) if k < short => Factors::compute_randomized(a, k, &settings, par),
                    _ => Factors::compute_with(a, par),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let exact = factors.iter().all(|f| f.rank() == short);
        Ok(View {
            color,
            width: n,
            height: m,
            factors,
            exact,
        })
    }

    /// The colour model.
    pub fn color(&self) -> StoredColor {
        self.color
    }

    /// Whether these are the exact factors (every component), not a preview.
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// Width n.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height m.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Each stored plane's factors, in the order of [`StoredColor::plane_names`].
    pub fn factors(&self) -> &[Factors<f32>] {
        &self.factors
    }

    /// The most components any plane has: min(m, n) when exact.
    pub fn max_rank(&self) -> usize {
        self.factors.iter().map(Factors::rank).max().unwrap_or(0)
    }

    /// The memory the factors hold, in bytes.
    pub fn heap_bytes(&self) -> u64 {
        self.factors
            .iter()
            .map(|f| 4 * (f.rank() * (f.nrows() + f.ncols() + 1)) as u64)
            .sum()
    }

    /// The memory [`View::exact`] needs for the factors of a `width`×`height` image with
    /// `planes` planes, in bytes.
    pub fn exact_bytes(width: usize, height: usize, planes: usize) -> u64 {
        let short = width.min(height) as u64;
        4 * planes as u64 * short * (width as u64 + height as u64 + 1)
    }

    /// The ranks for a request: `ranks[i]` for plane i (a missing entry repeats the last),
    /// each clamped to the components this view has.
    fn clamp(&self, ranks: &[usize]) -> Result<Vec<usize>> {
        let Some(&last) = ranks.last() else {
            return Err(Error::parameter("no rank given"));
        };
        let ks: Vec<usize> = (0..self.factors.len())
            .map(|p| {
                ranks
                    .get(p)
                    .copied()
                    .unwrap_or(last)
                    .min(self.factors[p].rank())
            })
            .collect();
        if ks.iter().all(|&k| k == 0) {
            return Err(Error::parameter("the rank must be at least 1"));
        }
        Ok(ks)
    }

    /// The unclipped output planes (gray, or R G B) rebuilt from the first `ranks[i]`
    /// components of plane i. A short `ranks` repeats its last entry; ranks are clamped.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::ErrorKind) when every rank is 0.
    pub fn reconstruct(&self, ranks: &[usize], par: Par) -> Result<(Vec<Vec<f32>>, Vec<usize>)> {
        let ks = self.clamp(ranks)?;
        let (m, n) = (self.height, self.width);
        let stored = self
            .factors
            .iter()
            .zip(&ks)
            .map(|(f, &k)| {
                let mut out = vec![0.0f32; m * n];
                f.reconstruct_into(k, MatMut::from_row_major_slice_mut(&mut out, m, n), par);
                out
            })
            .collect();
        Ok((output_planes(stored, self.color), ks))
    }

    /// The image rebuilt from the first `ranks[i]` components of plane i, at `bit_depth`
    /// (8 or 16) with `alpha` passed through. With the `rgb` model and one rank this is
    /// the image [`approximate`](crate::approximate) writes.
    ///
    /// # Errors
    /// As [`View::reconstruct`].
    pub fn render(
        &self,
        ranks: &[usize],
        alpha: Option<&[f32]>,
        bit_depth: u8,
        par: Par,
    ) -> Result<Rendered> {
        let (planes, ranks) = self.reconstruct(ranks, par)?;
        let color: Vec<&[f32]> = planes.iter().map(|p| &p[..]).collect();
        Ok(Rendered {
            image: to_image(self.width, self.height, &color, alpha, bit_depth),
            ranks,
        })
    }

    /// The ranks a request for `ranks` gets: one per plane (a short list repeats its
    /// last entry), each clamped to the components this view has.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidParameter`](crate::ErrorKind) when every rank is 0.
    pub fn ranks_for(&self, ranks: &[usize]) -> Result<Vec<usize>> {
        self.clamp(ranks)
    }

    /// The image rebuilt at `ranks` as 8-bit RGBA, row-major (a gray model repeats its
    /// plane in R, G and B; alpha comes from `alpha`, else opaque): what a canvas shows.
    /// For an 8-bit source its pixels are those of [`View::render`]. Returns the pixels
    /// and the ranks used.
    ///
    /// Bands of rows are computed in parallel with rayon: each band's products land in a
    /// buffer that stays in cache and is rounded to bytes at once, so no full-size float
    /// plane is ever written.
    ///
    /// # Errors
    /// As [`View::reconstruct`].
    pub fn render_rgba8(
        &self,
        ranks: &[usize],
        alpha: Option<&[f32]>,
    ) -> Result<(Vec<u8>, Vec<usize>)> {
        self.render_rgba8_scaled(ranks, alpha, 1)
    }

    /// The size of a rendering reduced `scale` times: (width, height), each side
    /// rounded up.
    pub fn scaled_size(&self, scale: usize) -> (usize, usize) {
        let s = scale.max(1);
        (self.width.div_ceil(s), self.height.div_ceil(s))
    }

    /// As [`View::render_rgba8`], reduced `scale` times in each direction (see
    /// [`View::scaled_size`]): each pixel is the mean of a `scale`×`scale` block of the
    /// approximation (fewer at the right and bottom edges), before rounding to bytes.
    ///
    /// Averaging blocks is linear, so the reduced approximation is the product of the
    /// factors with their rows averaged: (D_m U_k) Σ_k (D_n V_k)ᵀ. A view fitted to a
    /// screen costs (m/s)(n/s)k operations, not mnk.
    ///
    /// # Errors
    /// As [`View::reconstruct`].
    pub fn render_rgba8_scaled(
        &self,
        ranks: &[usize],
        alpha: Option<&[f32]>,
        scale: usize,
    ) -> Result<(Vec<u8>, Vec<usize>)> {
        /// Rows per band (one task).
        const ROWS: usize = 64;
        let s = scale.max(1);
        let ks = self.clamp(ranks)?;
        let (n, m) = self.scaled_size(s);
        // U_k Σ_k of each plane, so that a band is one product; rows averaged by blocks.
        let us: Vec<Mat<f32>> = self
            .factors
            .iter()
            .zip(&ks)
            .map(|(f, &k)| {
                let mut u = average_rows(f.u().get(.., 0..k), s);
                for (j, &sigma) in f.singular_values()[..k].iter().enumerate() {
                    u.col_mut(j).iter_mut().for_each(|x| *x *= sigma);
                }
                u
            })
            .collect();
        let vs: Vec<Mat<f32>> = self
            .factors
            .iter()
            .zip(&ks)
            .map(|(f, &k)| average_rows(f.v().get(.., 0..k), s))
            .collect();
        let alpha = alpha.map(|a| block_means(a, self.width, self.height, s));
        let alpha = alpha.as_deref();
        let planes = self.factors.len();
        let mut out = vec![0u8; 4 * n * m];
        out.par_chunks_mut(4 * n * ROWS).enumerate().for_each_init(
            || vec![0.0f32; planes * ROWS * n],
            |buffer, (band, out)| {
                let (r0, rows) = (band * ROWS, out.len() / (4 * n));
                let bands: Vec<&[f32]> = buffer
                    .chunks_mut(ROWS * n)
                    .zip(&us)
                    .zip(&vs)
                    .map(|((buf, u), v)| {
                        let buf = &mut buf[..rows * n];
                        let k = u.ncols();
                        if k == 0 {
                            buf.fill(0.0);
                        } else {
                            faer::linalg::matmul::matmul(
                                MatMut::from_row_major_slice_mut(buf, rows, n),
                                faer::Accum::Replace,
                                u.get(r0..r0 + rows, ..),
                                v.transpose(),
                                1.0,
                                Par::Seq,
                            );
                        }
                        &*buf
                    })
                    .collect();
                let alpha = alpha.map(|a| &a[r0 * n..(r0 + rows) * n]);
                for (i, px) in out.chunks_exact_mut(4).enumerate() {
                    let (r, g, b) = match (&bands[..], self.color) {
                        ([y, cb, cr], c) if c.luma().is_some() => c.to_rgb(y[i], cb[i], cr[i]),
                        ([r, g, b], _) => (r[i], g[i], b[i]),
                        (bands, _) => (bands[0][i], bands[0][i], bands[0][i]),
                    };
                    let a = alpha.map_or(255, |a| level(a[i]));
                    px.copy_from_slice(&[level(r), level(g), level(b), a]);
                }
            },
        );
        Ok((out, ks))
    }

    /// PSNR in dB of the image rebuilt at `ranks` against `planes`, as [`View::quality`]
    /// measures it, without the cost of SSIM.
    ///
    /// # Errors
    /// As [`View::quality`].
    pub fn psnr(&self, planes: &Planes<f32>, ranks: &[usize], par: Par) -> Result<f64> {
        let (written, stored) = self.written(planes, ranks, par)?;
        let reference = self.reference(planes, &stored);
        let test: Vec<&[f32]> = written.iter().map(|p| &p[..]).collect();
        Ok(metrics::psnr(&reference, &test))
    }

    /// The smallest rank k, the same for every plane, whose image reaches `psnr_db`
    /// against `planes`, by bisection; `Err(best)` with the best PSNR when no k does.
    ///
    /// # Errors
    /// As [`View::quality`].
    pub fn rank_for_psnr(
        &self,
        planes: &Planes<f32>,
        psnr_db: f64,
        par: Par,
    ) -> Result<std::result::Result<usize, f64>> {
        let top = self.max_rank();
        let best = self.psnr(planes, &[top], par)?;
        if best < psnr_db {
            return Ok(Err(best));
        }
        let (mut bad, mut good) = (0, top);
        while good - bad > 1 {
            let mid = bad + (good - bad) / 2;
            if self.psnr(planes, &[mid], par)? >= psnr_db {
                good = mid;
            } else {
                bad = mid;
            }
        }
        Ok(Ok(good))
    }

    /// The output planes rounded as written, and the stored planes of `planes`.
    #[allow(clippy::type_complexity)]
    fn written(
        &self,
        planes: &Planes<f32>,
        ranks: &[usize],
        par: Par,
    ) -> Result<(Vec<Vec<f32>>, Vec<Vec<f32>>)> {
        if planes.width != self.width || planes.height != self.height {
            return Err(Error::parameter(
                "the planes are not the picture of this view",
            ));
        }
        check_color(planes, self.color)?;
        let (rebuilt, _) = self.reconstruct(ranks, par)?;
        let max = if planes.bit_depth > 8 { 65535.0 } else { 255.0 };
        let written = rebuilt
            .into_par_iter()
            .map(|p| p.iter().map(|&x| (quantize(x, max) / max) as f32).collect())
            .collect();
        Ok((written, stored_planes(planes, self.color)))
    }

    /// What a rendering is measured against: the colour planes, or the gray plane.
    fn reference<'a>(&self, planes: &'a Planes<f32>, stored: &'a [Vec<f32>]) -> Vec<&'a [f32]> {
        if self.color == StoredColor::Gray {
            vec![&stored[0]]
        } else {
            planes.color.iter().map(|p| &p.data[..]).collect()
        }
    }

    /// PSNR, SSIM and energy kept of the image rebuilt at `ranks`, against `planes`, the
    /// picture this view was made from (its gray plane is the reference of the `gray`
    /// model). Samples are rounded to `planes.bit_depth` first, as in a written file.
    ///
    /// # Errors
    /// As [`View::reconstruct`], and when `planes` is not this view's picture.
    pub fn quality(&self, planes: &Planes<f32>, ranks: &[usize], par: Par) -> Result<Quality> {
        let (written, stored) = self.written(planes, ranks, par)?;
        let ks = self.clamp(ranks)?;
        let reference = self.reference(planes, &stored);
        let test: Vec<&[f32]> = written.iter().map(|p| &p[..]).collect();
        let psnr_db = metrics::psnr(&reference, &test);
        let ssim = reference
            .par_iter()
            .zip(&test)
            .map(|(r, t)| metrics::ssim(r, t, self.width, self.height))
            .sum::<f64>()
            / test.len() as f64;
        // Against the plane's whole energy ‖A‖²_F, which a preview's values do not sum to.
        let energy = self
            .factors
            .iter()
            .zip(&ks)
            .zip(&stored)
            .map(|((f, &k), a)| {
                let total = metrics::frobenius_norm(a).powi(2);
                let kept: f64 = f.singular_values()[..k]
                    .iter()
                    .map(|&x| f64::from(x).powi(2))
                    .sum();
                if total > 0.0 {
                    (kept / total).min(1.0)
                } else {
                    1.0
                }
            })
            .collect();
        Ok(Quality {
            psnr_db,
            ssim,
            energy,
        })
    }

    /// One stored plane's components `first..end` summed (σᵢ uᵢ vᵢᵀ for one i, or the
    /// running sum A_k for `0..k`), row-major, on the plane's own scale.
    ///
    /// # Errors
    /// An out-of-range plane.
    pub fn components(
        &self,
        plane: usize,
        range: std::ops::Range<usize>,
        par: Par,
    ) -> Result<Vec<f32>> {
        self.components_scaled(plane, range, 1, par)
    }

    /// As [`View::components`], reduced `scale` times in each direction (see
    /// [`View::scaled_size`]): each value the mean of a block, computed from the factors
    /// with their rows averaged, so a thumbnail of a 24 MP component costs the thumbnail's
    /// size, not the photo's.
    ///
    /// # Errors
    /// As [`View::components`].
    pub fn components_scaled(
        &self,
        plane: usize,
        range: std::ops::Range<usize>,
        scale: usize,
        par: Par,
    ) -> Result<Vec<f32>> {
        let f = self
            .factors
            .get(plane)
            .ok_or_else(|| Error::parameter(format!("there is no plane {plane}")))?;
        let s = scale.max(1);
        let (n, m) = self.scaled_size(s);
        let range = range.start.min(f.rank())..range.end.min(f.rank());
        let mut u = average_rows(f.u().get(.., range.clone()), s);
        for (j, &sigma) in f.singular_values()[range.clone()].iter().enumerate() {
            u.col_mut(j).iter_mut().for_each(|x| *x *= sigma);
        }
        let v = average_rows(f.v().get(.., range), s);
        let mut out = vec![0.0f32; m * n];
        if u.ncols() > 0 {
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut out, m, n),
                faer::Accum::Replace,
                &u,
                v.transpose(),
                1.0,
                par,
            );
        }
        Ok(out)
    }
}

/// The rows of `a` averaged in consecutive blocks of `s` (the last block may be shorter).
fn average_rows(a: faer::MatRef<'_, f32>, s: usize) -> Mat<f32> {
    if s == 1 {
        return a.to_owned();
    }
    let rows = a.nrows().div_ceil(s);
    Mat::from_fn(rows, a.ncols(), |i, j| {
        let block = i * s..((i + 1) * s).min(a.nrows());
        let len = block.len() as f32;
        block.map(|r| a[(r, j)]).sum::<f32>() / len
    })
}

/// `quantize(x, 255)` as a byte: f32 samples times 255 are exact in f64, so adding ½ and
/// truncating rounds as `round` does, without a libm call. NaN becomes 0.
#[inline]
fn level(x: f32) -> u8 {
    (f64::from(x).clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

fn check_color(planes: &Planes<f32>, color: StoredColor) -> Result<()> {
    if color != StoredColor::Gray && planes.color.len() != 3 {
        return Err(Error::parameter(format!(
            "the image is gray: it has no {} planes",
            color.as_str()
        )));
    }
    if planes.width == 0 || planes.height == 0 {
        return Err(Error::parameter("the image has no pixels"));
    }
    Ok(())
}
