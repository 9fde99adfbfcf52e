//! Measures of how good an approximation is and what it costs to store.

use rayon::prelude::*;

use crate::Scalar;

/// The share of the energy Σ sᵢ² kept by the first `k` singular values, in [0, 1].
///
/// An all-zero spectrum keeps all of its (zero) energy, so this returns 1.
pub fn retained_energy<T: Scalar>(s: &[T], k: usize) -> f64 {
    let total: f64 = s.iter().map(|x| x.to_f64().powi(2)).sum();
    if total == 0.0 {
        return 1.0;
    }
    let kept: f64 = s.iter().take(k).map(|x| x.to_f64().powi(2)).sum();
    kept / total
}

/// The smallest rank whose components keep at least `fraction` of the energy.
pub fn energy_rank<T: Scalar>(s: &[T], fraction: f64) -> usize {
    let total: f64 = s.iter().map(|x| x.to_f64().powi(2)).sum();
    energy_rank_of(s, total, fraction).unwrap_or(s.len())
}

/// The smallest rank whose leading singular values `s` keep at least `fraction` of the
/// energy `total` (= ‖A‖²_F), or `None` when the values given do not reach it, as with a
/// truncated SVD.
pub fn energy_rank_of<T: Scalar>(s: &[T], total: f64, fraction: f64) -> Option<usize> {
    if total == 0.0 {
        return Some(0);
    }
    let mut kept = 0.0;
    for (i, x) in s.iter().enumerate() {
        kept += x.to_f64().powi(2);
        if kept >= fraction * total * (1.0 - 1e-12) {
            return Some(i + 1);
        }
    }
    None
}

/// The Eckart–Young optimum: the smallest Frobenius error any rank-`k` matrix can reach,
/// `sqrt(Σ_{i>k} sᵢ²)`.
pub fn optimal_error<T: Scalar>(s: &[T], k: usize) -> f64 {
    s.iter()
        .skip(k)
        .map(|x| x.to_f64().powi(2))
        .sum::<f64>()
        .sqrt()
}

/// `‖a − b‖_F`, accumulated in `f64`.
///
/// # Panics
/// If the lengths differ.
#[track_caller]
pub fn frobenius_distance<T: Scalar>(a: &[T], b: &[T]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x.to_f64() - y.to_f64()).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// `‖a‖_F`, accumulated in `f64`.
pub fn frobenius_norm<T: Scalar>(a: &[T]) -> f64 {
    a.iter().map(|x| x.to_f64().powi(2)).sum::<f64>().sqrt()
}

/// Peak signal-to-noise ratio in dB on the [0, 1] scale, over all the planes together.
///
/// Identical planes give `f64::INFINITY`.
///
/// # Panics
/// If the plane counts or lengths differ.
#[track_caller]
pub fn psnr<T: Scalar>(reference: &[&[T]], test: &[&[T]]) -> f64 {
    assert_eq!(reference.len(), test.len());
    let mut sum = 0.0;
    let mut count = 0usize;
    for (a, b) in reference.iter().zip(test) {
        assert_eq!(a.len(), b.len());
        sum += a
            .iter()
            .zip(b.iter())
            .map(|(x, y)| (x.to_f64() - y.to_f64()).powi(2))
            .sum::<f64>();
        count += a.len();
    }
    psnr_from_squared_error(sum, count)
}

/// PSNR in dB on the [0, 1] scale from a sum of squared errors over `count` samples;
/// infinite when the error is zero.
pub(crate) fn psnr_from_squared_error(sum: f64, count: usize) -> f64 {
    if count == 0 || sum == 0.0 {
        return f64::INFINITY;
    }
    -10.0 * (sum / count as f64).log10()
}

/// Mean structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004) of two row-major
/// `height`×`width` planes on the [0, 1] scale.
///
/// Uses an 11×11 Gaussian window with σ = 1.5, K₁ = 0.01, K₂ = 0.03 and dynamic range 1,
/// averaged over the positions where the window fits inside the image (the "valid" region,
/// as in the authors' reference code and scikit-image's `structural_similarity` with
/// `gaussian_weights=True, use_sample_covariance=False, data_range=1`). Planes smaller
/// than 11 pixels in a direction use the largest odd window that fits.
///
/// # Panics
/// If a plane's length is not `width * height`.
#[track_caller]
pub fn ssim<T: Scalar>(a: &[T], b: &[T], width: usize, height: usize) -> f64 {
    assert!(a.len() == width * height && b.len() == width * height);
    if width == 0 || height == 0 {
        return 1.0;
    }
    let size = 11.min(width).min(height);
    let size = if size % 2 == 0 { size - 1 } else { size };
    let weights = gaussian(size, 1.5);
    let (out_h, out_w) = (height - size + 1, width - size + 1);
    // Tiles of output pixels in parallel; each filters the input it needs. Tiles are narrow
    // enough for their rows of filtered values to stay in cache.
    const ROWS: usize = 64;
    const COLS: usize = 512;
    let tiles: Vec<(usize, usize)> = (0..out_h)
        .step_by(ROWS)
        .flat_map(|r| (0..out_w).step_by(COLS).map(move |c| (r, c)))
        .collect();
    let (total, count) = tiles
        .par_iter()
        .map(|&(r, c)| {
            let rows = r..(r + ROWS).min(out_h);
            let cols = c..(c + COLS).min(out_w);
            // Run the tile's loops with the widest SIMD the CPU has (AVX2 and FMA on most
            // x86-64), chosen at run time; the plain loops vectorise for it.
            pulp::Arch::new().dispatch(
                #[inline(always)]
                || match weights.len() {
                    11 => ssim_tile::<T, 11>(a, b, width, &weights, rows, cols),
                    _ => ssim_tile::<T, 0>(a, b, width, &weights, rows, cols),
                },
            )
        })
        .reduce(|| (0.0, 0), |x, y| (x.0 + y.0, x.1 + y.1));
    total / count as f64
}

/// The sum and count of SSIM values over the windows whose top-left corners are in
/// `rows` × `cols`.
///
/// Each row of output is made from a ring of `size` horizontally filtered rows. Both
/// filters and the SSIM formula work on `LANES` adjacent columns at once, held in local
/// arrays so that the compiler keeps them in vector registers; the SSIM values are summed
/// per lane. `S` is the window's size where it is known when compiling (11, the size on
/// any image at least 11 pixels each way), so that the loops over the taps unroll; 0 reads
/// it from `weights`.
#[inline(always)]
fn ssim_tile<T: Scalar, const S: usize>(
    a: &[T],
    b: &[T],
    width: usize,
    weights: &[f64],
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) -> (f64, usize) {
    let weights = if S > 0 { &weights[..S] } else { weights };
    let size = weights.len();
    let out_w = cols.len();
    let in_w = out_w + size - 1;
    let mut raw: [Vec<f64>; 5] = std::array::from_fn(|_| vec![0.0; in_w]);
    // A ring of `size` filtered rows: row r lives in slot r % size.
    let mut ring: Vec<[Vec<f64>; 5]> = (0..size)
        .map(|_| std::array::from_fn(|_| vec![0.0; out_w]))
        .collect();
    for row in rows.start..rows.start + size - 1 {
        let start = row * width + cols.start;
        filter_row(a, b, start, weights, &mut raw, &mut ring[row % size]);
    }
    let mut sums = [0.0; LANES];
    let mut tail = 0.0;
    let whole = out_w - out_w % LANES;
    for top in rows.clone() {
        let bottom = top + size - 1;
        let start = bottom * width + cols.start;
        filter_row(a, b, start, weights, &mut raw, &mut ring[bottom % size]);
        // The window's rows, top to bottom, for each quantity.
        let window: [Vec<&[f64]>; 5] =
            std::array::from_fn(|q| (0..size).map(|t| &ring[(top + t) % size][q][..]).collect());
        for col in (0..whole).step_by(LANES) {
            let mut m = [[0.0; LANES]; 5];
            for (mq, rows) in m.iter_mut().zip(&window) {
                *mq = symmetric(weights, |t| lanes(rows[t], col));
            }
            for (sum, value) in sums.iter_mut().zip(ssim_formula(m)) {
                *sum += value;
            }
        }
        for col in whole..out_w {
            let mut m = [[0.0; 1]; 5];
            for (mq, rows) in m.iter_mut().zip(&window) {
                *mq = symmetric(weights, |t| lanes(rows[t], col));
            }
            tail += ssim_formula(m)[0];
        }
    }
    (sums.iter().sum::<f64>() + tail, rows.len() * out_w)
}

/// Columns processed together by the SSIM loops.
const LANES: usize = 8;

/// SSIM at `L` positions from the filtered means of x, y, x², y² and xy.
#[inline(always)]
fn ssim_formula<const L: usize>([mx, my, exx, eyy, exy]: [[f64; L]; 5]) -> [f64; L] {
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let mut out = [0.0; L];
    for j in 0..L {
        let (mx, my) = (mx[j], my[j]);
        let vx = exx[j] - mx * mx;
        let vy = eyy[j] - my * my;
        let cov = exy[j] - mx * my;
        out[j] =
            ((2.0 * mx * my + c1) * (2.0 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
    }
    out
}

/// Filters horizontally the five quantities x, y, x², y², xy of the samples of `a` and `b`
/// from `start` on into `out`, with `raw` (as long as the input span) as scratch.
#[inline(always)]
fn filter_row<T: Scalar>(
    a: &[T],
    b: &[T],
    start: usize,
    weights: &[f64],
    raw: &mut [Vec<f64>; 5],
    out: &mut [Vec<f64>; 5],
) {
    let (in_w, out_w) = (raw[0].len(), out[0].len());
    let xs = &a[start..][..in_w];
    let ys = &b[start..][..in_w];
    // Zipped loops without indexing, so that they vectorise.
    let [rx, ry, rxx, ryy, rxy] = raw;
    for ((dx, dy), (&x, &y)) in rx.iter_mut().zip(ry.iter_mut()).zip(xs.iter().zip(ys)) {
        (*dx, *dy) = (x.to_f64(), y.to_f64());
    }
    for ((dxx, dyy), (dxy, (&x, &y))) in rxx
        .iter_mut()
        .zip(ryy.iter_mut())
        .zip(rxy.iter_mut().zip(rx.iter().zip(ry.iter())))
    {
        (*dxx, *dyy, *dxy) = (x * x, y * y, x * y);
    }
    let whole = out_w - out_w % LANES;
    for (q, input) in out.iter_mut().zip(raw.iter()) {
        for (col, chunk) in (0..whole).step_by(LANES).zip(q.chunks_exact_mut(LANES)) {
            chunk.copy_from_slice(&symmetric(weights, |t| lanes::<LANES>(input, col + t)));
        }
        for (col, value) in q.iter_mut().enumerate().skip(whole) {
            *value = symmetric(weights, |t| lanes::<1>(input, col + t))[0];
        }
    }
}

/// The `L` values of `s` from `at` on, as an array.
#[inline(always)]
fn lanes<const L: usize>(s: &[f64], at: usize) -> [f64; L] {
    let mut out = [0.0; L];
    out.copy_from_slice(&s[at..at + L]);
    out
}

/// `Σₜ weights[t] · tap(t)` for symmetric `weights` of odd length: taps t and
/// size − 1 − t are added first, then multiplied once.
#[inline(always)]
fn symmetric<const L: usize>(weights: &[f64], tap: impl Fn(usize) -> [f64; L]) -> [f64; L] {
    let size = weights.len();
    let centre = size / 2;
    let g = weights[centre];
    let mut out = tap(centre);
    for o in &mut out {
        *o *= g;
    }
    for (t, &g) in weights.iter().enumerate().take(centre) {
        let (left, right) = (tap(t), tap(size - 1 - t));
        for j in 0..L {
            out[j] += g * (left[j] + right[j]);
        }
    }
    out
}

/// Normalised 1-D Gaussian weights of odd length `size`.
fn gaussian(size: usize, sigma: f64) -> Vec<f64> {
    let r = (size / 2) as f64;
    let w: Vec<f64> = (0..size)
        .map(|i| (-(i as f64 - r).powi(2) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = w.iter().sum();
    w.into_iter().map(|x| x / sum).collect()
}

/// What a rank-k approximation stores: k(m + n + 1) values per plane, against m·n pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Storage {
    /// Values kept: k(m + n + 1) for each plane.
    pub stored_values: u64,
    /// Values in the planes themselves: m·n for each plane.
    pub pixel_values: u64,
    /// `stored_values / pixel_values`: below 1 the factors take less room than the pixels.
    pub ratio: f64,
}

impl Storage {
    /// Storage for `planes` planes of m×n at rank `k` (clamped to min(m, n)).
    pub fn new(k: usize, m: usize, n: usize, planes: usize) -> Self {
        let k = k.min(m.min(n)) as u64;
        let (m, n, p) = (m as u64, n as u64, planes as u64);
        let stored_values = k * (m + n + 1) * p;
        let pixel_values = m * n * p;
        Storage {
            stored_values,
            pixel_values,
            ratio: if pixel_values == 0 {
                0.0
            } else {
                stored_values as f64 / pixel_values as f64
            },
        }
    }
}
