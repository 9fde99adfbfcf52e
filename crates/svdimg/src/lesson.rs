//! The numbers of the two SVD lessons (NumPy's "Linear algebra on n-dimensional arrays"
//! and the SVD compression lesson), measured on any picture in float64 as NumPy does: the
//! array's shape and range, the gray plane, the SVD's reconstruction checked with
//! `allclose`, the rank-k error next to its Eckart–Young optimum, the storage, the batched
//! colour SVD and why its values must be clipped, and the rank-one components.
//!
//! `svdimg tour` prints them; the explorer's lesson mode shows them beside its pictures.

use faer::{Mat, MatMut, Par};

use crate::metrics::{frobenius_distance, optimal_error, Storage};
use crate::picture::{block_means, REC709};
use crate::{approximate, Decomposition, Plane, PlaneName, Planes, Result};

/// How many rank-one components the lessons add up.
pub const LESSON_COMPONENTS: usize = 5;

/// A picture's planes in float64 and their exact SVDs: everything the lessons measure.
/// Built once; [`Lesson::facts`] then measures any rank k.
///
/// ```
/// use svdimg::{faer::Par, Lesson, Limits, Picture};
///
/// let picture = Picture::decode(svdimg::SAMPLE_PNG, &Limits::default())?;
/// let lesson = Lesson::new(picture.planes(false), Par::Seq)?;
/// let facts = lesson.facts(10, Par::Seq)?;
/// assert!(facts.gray_allclose); // np.allclose(A, U @ Sigma @ Vt)
/// assert!((facts.rank_error - facts.optimum).abs() < 1e-9); // Eckart–Young
/// assert_eq!(facts.storage.stored_values, 10 * (256 + 256 + 1)); // k(m+n+1)
/// # Ok::<(), svdimg::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Lesson {
    /// The colour planes (R G B, or one gray plane for a gray picture) on the [0, 1] scale.
    pub color: Planes<f64>,
    /// The Rec.709 gray plane `0.2126 R + 0.7152 G + 0.0722 B` (the picture itself when it
    /// is gray).
    pub gray: Planes<f64>,
    /// The SVD of the gray plane (the first lesson's `np.linalg.svd(img_gray)`).
    pub gray_svd: Decomposition<f64>,
    /// The SVD of every colour plane (the batched `np.linalg.svd(img_array_transposed)`).
    pub color_svd: Decomposition<f64>,
}

/// What the lessons measure at one rank k.
#[derive(Debug, Clone, PartialEq)]
pub struct LessonFacts {
    /// Width n.
    pub width: usize,
    /// Height m.
    pub height: usize,
    /// Channels of the array (colour planes and alpha).
    pub channels: usize,
    /// NumPy's dtype of the decoded array: `uint8`, `uint16` or `float32`.
    pub dtype: &'static str,
    /// The largest value of that dtype (255, 65535, or 1 for floats): the divisor.
    pub type_max: f64,
    /// The smallest and largest sample, on the dtype's scale.
    pub raw_range: (f64, f64),
    /// min(m, n): how many singular values each plane has.
    pub full_rank: usize,
    /// The rank k measured (clamped to `full_rank`).
    pub rank: usize,
    /// ‖A − U Σ Vᵀ‖_F of the gray plane at full rank.
    pub gray_error: f64,
    /// NumPy's `allclose(A, U Σ Vᵀ)` (rtol 1e-5, atol 1e-8) for the gray plane.
    pub gray_allclose: bool,
    /// Numbers stored at rank k for one plane: k(m+n+1) against m·n.
    pub storage: Storage,
    /// ‖A − A_k‖_F of the gray plane, measured on the reconstruction.
    pub rank_error: f64,
    /// Its Eckart–Young optimum sqrt(Σ_{i>k} σᵢ²).
    pub optimum: f64,
    /// Colour planes factored in the batched call.
    pub color_planes: usize,
    /// ‖A − U Σ Vᵀ‖_F over every colour plane at full rank.
    pub color_error: f64,
    /// `allclose` for every colour plane.
    pub color_allclose: bool,
    /// The smallest and largest value of the rank-k colour approximation before clipping.
    pub color_range: (f64, f64),
    /// The first [`LESSON_COMPONENTS`] singular values of the gray plane.
    pub sigmas: Vec<f64>,
    /// The largest |Σᵢ σᵢuᵢvᵢᵀ − A_5| over the pixels: the components add up.
    pub component_difference: f64,
}

/// NumPy's `allclose(a, b, rtol=1e-5, atol=1e-8)`: |a − b| ≤ atol + rtol·|b| everywhere.
fn allclose(a: &[f64], b: &[f64]) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (x - y).abs() <= 1e-8 + 1e-5 * y.abs())
}

/// `U_k Σ_k V_kᵀ` as a row-major buffer, laid out like a plane.
fn rebuild(f: &crate::Factors<f64>, k: usize, par: Par) -> Vec<f64> {
    let mut out = vec![0.0; f.nrows() * f.ncols()];
    f.reconstruct_into(
        k,
        MatMut::from_row_major_slice_mut(&mut out, f.nrows(), f.ncols()),
        par,
    );
    out
}

/// The largest value of a sample of `bit_depth` bits (1 for float sources).
fn type_max(bit_depth: u8) -> f64 {
    match bit_depth {
        8 => 255.0,
        16 => 65535.0,
        _ => 1.0,
    }
}

impl Lesson {
    /// Factors the colour planes of a picture (`picture.planes::<f64>(false)`) and its gray
    /// plane, computed here with the Rec.709 weights exactly as
    /// [`Picture::planes`](crate::Picture::planes) does.
    ///
    /// # Errors
    /// A numerical error if an SVD fails.
    pub fn new(color: Planes<f64>, par: Par) -> Result<Self> {
        let gray = if color.color.len() == 3 {
            let (r, g, b) = (
                &color.color[0].data,
                &color.color[1].data,
                &color.color[2].data,
            );
            let data = (0..r.len())
                .map(|i| REC709[0] * r[i] + REC709[1] * g[i] + REC709[2] * b[i])
                .collect();
            Planes {
                color: vec![Plane {
                    name: PlaneName::Gray,
                    data,
                }],
                ..color.clone()
            }
        } else {
            color.clone()
        };
        let gray_svd = Decomposition::compute_with(&gray, par)?;
        let color_svd = Decomposition::compute_with(&color, par)?;
        Ok(Lesson {
            color,
            gray,
            gray_svd,
            color_svd,
        })
    }

    /// As [`Lesson::new`] from float32 planes of an 8- or 16-bit picture: each sample is
    /// rounded back to its integer and divided in float64, so the planes are exactly those
    /// of `picture.planes::<f64>(false)`. With `shrink` above 1 the planes are then reduced
    /// `shrink` times in each direction, each value the mean of a block (fewer at the
    /// right and bottom edges): the lessons on a smaller copy of a large picture.
    ///
    /// # Errors
    /// As [`Lesson::new`].
    pub fn from_f32(planes: &Planes<f32>, shrink: usize, par: Par) -> Result<Self> {
        let max = type_max(planes.bit_depth);
        let s = shrink.max(1);
        let (w, h) = (planes.width.div_ceil(s), planes.height.div_ceil(s));
        let widen = |p: &Plane<f32>| {
            let exact: Vec<f64> = p
                .data
                .iter()
                .map(|&x| {
                    if max > 1.0 {
                        (f64::from(x) * max).round() / max
                    } else {
                        f64::from(x)
                    }
                })
                .collect();
            Plane {
                name: p.name,
                data: if s == 1 {
                    exact
                } else {
                    block_means(&exact, planes.width, planes.height, s)
                },
            }
        };
        let color = Planes {
            width: w,
            height: h,
            bit_depth: planes.bit_depth,
            color: planes.color.iter().map(widen).collect(),
            alpha: planes.alpha.as_ref().map(widen),
        };
        Self::new(color, par)
    }

    /// The lessons' numbers at rank `k` (clamped to min(m, n); at least 1).
    ///
    /// # Errors
    /// Only if the picture is empty.
    pub fn facts(&self, k: usize, par: Par) -> Result<LessonFacts> {
        let (m, n) = (self.color.height, self.color.width);
        let r = m.min(n);
        let k = k.clamp(1, r.max(1));
        let max = type_max(self.color.bit_depth);
        let (lo, hi) = self
            .color
            .color
            .iter()
            .flat_map(|p| p.data.iter())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        let a = &self.gray.color[0].data;
        let gf = &self.gray_svd.planes[0].1;
        let full = rebuild(gf, r, par);
        let approx = approximate(&self.gray, &self.gray_svd, k, par)?;
        let mut color_allclose = true;
        let mut color_error2 = 0.0;
        for (plane, (_, f)) in self.color.color.iter().zip(&self.color_svd.planes) {
            let rebuilt = rebuild(f, r, par);
            color_allclose &= allclose(&plane.data, &rebuilt);
            color_error2 += frobenius_distance(&plane.data, &rebuilt).powi(2);
        }
        let color_k = approximate(&self.color, &self.color_svd, k, par)?;
        let color_range = color_k
            .report
            .planes
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.range.0), hi.max(p.range.1))
            });
        let count = LESSON_COMPONENTS.min(gf.rank());
        Ok(LessonFacts {
            width: n,
            height: m,
            channels: self.color.color.len() + usize::from(self.color.alpha.is_some()),
            dtype: match self.color.bit_depth {
                8 => "uint8",
                16 => "uint16",
                _ => "float32",
            },
            type_max: max,
            raw_range: (lo * max, hi * max),
            full_rank: r,
            rank: k,
            gray_error: frobenius_distance(a, &full),
            gray_allclose: allclose(a, &full),
            storage: Storage::new(k, m, n, 1),
            rank_error: approx.report.planes[0].frobenius_error,
            optimum: optimal_error(gf.singular_values(), k),
            color_planes: self.color.color.len(),
            color_error: color_error2.sqrt(),
            color_allclose,
            color_range,
            sigmas: gf.singular_values()[..count].to_vec(),
            component_difference: component_sum_difference(gf, count, par),
        })
    }
}

/// The largest |Σ_{i<count} σᵢuᵢvᵢᵀ − A_count| over all pixels, each component built on
/// its own as the lesson's `s[i] * np.outer(U[:, i], Vt[i])`.
pub fn component_sum_difference(f: &crate::Factors<f64>, count: usize, par: Par) -> f64 {
    let (m, n) = (f.nrows(), f.ncols());
    let mut sum = Mat::<f64>::zeros(m, n);
    let mut one = Mat::<f64>::zeros(m, n);
    for i in 0..count.min(f.rank()) {
        f.components_into(i..i + 1, one.as_mut(), par);
        sum += &one;
    }
    let direct = f.reconstruct(count.min(f.rank()), par);
    let mut worst = 0.0f64;
    for c in 0..n {
        for r in 0..m {
            worst = worst.max((sum[(r, c)] - direct[(r, c)]).abs());
        }
    }
    worst
}
