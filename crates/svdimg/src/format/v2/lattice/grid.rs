//! Finding a JPEG's grid: the steps its table quantised each 2D DCT coefficient of the
//! aligned 8×8 blocks on, read back from the decoded pixels.

use rayon::prelude::*;

use super::super::dct::basis64;
use super::super::patches;

/// JPEG's block side.
pub(super) const SIDE: usize = 8;
/// Coefficients per block.
pub(super) const K: usize = SIDE * SIDE;
/// How far (in levels) a coefficient may lie from a multiple of its step and still count
/// as on it: about 2.5 times the spread that rounding each pixel to a level gives.
const TOLERANCE: f64 = 0.75;
/// Coefficients smaller than this (in levels) are rounding noise around 0, not witnesses of
/// a step (5 times the noise's spread; a step of 2 puts every other value at 2 or more).
const SIGNIFICANT: f64 = 1.5;
/// The share of a frequency's significant coefficients that must lie on its step: less
/// than all, as blocks clipped to black or white leave it.
const ON_GRID: f64 = 0.85;
/// A frequency with at least this many significant coefficients witnesses the grid or its
/// absence; three quarters of those must show a step, the two lowest among them.
const WITNESSES: usize = 32;
/// At most this many blocks are read to find the steps (the DC alone tries up to 254 steps
/// on each).
const DETECT_BLOCKS: usize = 4096;

/// The 8-point orthonormal DCT basis, row k, in f64 (the decoder's, before rounding).
pub(super) fn basis() -> [[f64; SIDE]; SIDE] {
    std::array::from_fn(|k| std::array::from_fn(|j| basis64(SIDE, k, j)))
}

/// The 2D DCT of one 8×8 patch (row-major, in levels minus 128), coefficient k·8 + l.
pub(super) fn transform(patch: &[f32], b: &[[f64; SIDE]; SIDE]) -> [f64; K] {
    // Rows first (coefficient l of each row), then columns.
    let mut rows = [0.0; K];
    for a in 0..SIDE {
        for l in 0..SIDE {
            rows[a * SIDE + l] = (0..SIDE)
                .map(|c| b[l][c] * f64::from(patch[a * SIDE + c]))
                .sum();
        }
    }
    let mut out = [0.0; K];
    for k in 0..SIDE {
        for l in 0..SIDE {
            out[k * SIDE + l] = (0..SIDE).map(|a| b[k][a] * rows[a * SIDE + l]).sum();
        }
    }
    out
}

/// The steps of a JPEG's table, per coefficient k·8 + l in levels (0 where every block's
/// coefficient is 0, 1 where no step shows), found in `coefficients` (a block's 64 after
/// another), and whether the blocks show the grid: the two lowest frequencies with a step,
/// and three quarters of the witnessed ones. (Small coefficients fit a step of 2 by chance,
/// so the high frequencies of any photo show some; the low ones show none off a JPEG's grid:
/// measured on the 21 shared and unseen photos. The DC may lack one: a JPEG at quality 96
/// quantises it in steps of 1.)
pub(super) fn steps(coefficients: &[[f64; K]]) -> ([f64; K], bool) {
    let mut steps = [0.0; K];
    let (mut witnessed, mut shown) = (0, 0);
    for (k, step) in steps.iter_mut().enumerate() {
        let significant: Vec<f64> = coefficients
            .iter()
            .map(|c| c[k])
            .filter(|x| x.abs() >= SIGNIFICANT)
            .collect();
        if significant.is_empty() {
            continue;
        }
        // Whether ON_GRID of the coefficients lie on multiples of q. Counting stops once so
        // many are off that the rest cannot make up the share (the same answer; off a grid,
        // after about a fifth of them).
        let need = ON_GRID * significant.len() as f64;
        let fits = |q: f64| {
            let mut on = 0;
            for (seen, &x) in significant.iter().enumerate() {
                if ((on + significant.len() - seen) as f64) < need {
                    return false;
                }
                on += usize::from((x - q * round(x / q)).abs() <= TOLERANCE);
            }
            on as f64 >= need
        };
        // The largest step the coefficients fit: multiples of the true step fail on its
        // odd multiples, and every divisor of it fits as well as it does.
        let largest = significant.iter().fold(0f64, |a, &x| a.max(x.abs()));
        let q = (2..=(largest.round() as i64).clamp(2, 255))
            .rev()
            .map(|q| q as f64)
            .find(|&q| fits(q));
        if significant.len() >= WITNESSES {
            witnessed += 1;
            shown += usize::from(q.is_some());
        }
        // Witnessed off any grid: a step of 1. Too few witnesses: the largest step of the
        // lower frequencies in its row and column, as JPEG's tables grow with frequency;
        // filled in below.
        *step = match q {
            Some(q) => q,
            None if significant.len() >= WITNESSES => 1.0,
            None => -1.0,
        };
    }
    let shows = [1, SIDE].iter().all(|&k| steps[k] >= 2.0) && 4 * shown >= 3 * witnessed;
    for k in 0..K {
        if steps[k] < 0.0 {
            let (i, j) = (k / SIDE, k % SIDE);
            steps[k] = (0..=i)
                .flat_map(|a| (0..=j).map(move |b| a * SIDE + b))
                .map(|x| steps[x])
                .fold(1.0, f64::max);
        }
    }
    (steps, shows)
}

/// A plane's blocks, DCT'd: 64 coefficients for each of the `patches` (numbers in the
/// patch matrix, or all of them; edge patches padded by repeating the last row and column,
/// as JPEG pads). `value(i)` is the plane's pixel i in levels, centred as JPEG centres it
/// (less 128 for gray and luma).
pub(super) fn coefficients(
    value: &(impl Fn(usize) -> f32 + Sync),
    m: usize,
    n: usize,
    patches: Option<&[usize]>,
) -> Vec<[f32; K]> {
    let cols = n.div_ceil(SIDE);
    let b = basis();
    let all: Vec<usize>;
    let patches = match patches {
        Some(p) => p,
        None => {
            all = (0..patches::matrix_size(m, n, SIDE).0).collect();
            &all
        }
    };
    // In f32 (half the memory at 24 MP: 96 MB a plane): a coefficient of up to 2040 levels
    // keeps 0.0002 of a level.
    patches
        .par_iter()
        .map(|&k| {
            let (y0, x0) = ((k / cols) * SIDE, (k % cols) * SIDE);
            let mut patch = [0f32; K];
            for a in 0..SIDE {
                let y = (y0 + a).min(m - 1);
                for c in 0..SIDE {
                    patch[a * SIDE + c] = value(y * n + (x0 + c).min(n - 1));
                }
            }
            transform(&patch, &b).map(|x| x as f32)
        })
        .collect()
}

/// The plane's JPEG steps and whether its whole blocks show the grid ([`steps`]), read on at
/// most [`DETECT_BLOCKS`] of them, leaving out blocks with a pixel that `clipped` (at 0 or
/// 255 in a channel: clipped by the JPEG's decoder, so off the grid). `None` when fewer
/// than 16 blocks are left.
pub(super) fn detect(
    value: &(impl Fn(usize) -> f32 + Sync),
    m: usize,
    n: usize,
    clipped: impl Fn(usize) -> bool + Sync,
) -> Option<([f64; K], bool)> {
    let (rows, cols) = (m / SIDE, n / SIDE);
    let every = (rows * cols).div_ceil(DETECT_BLOCKS).max(1);
    let b = basis();
    let sampled: Vec<[f64; K]> = (0..rows * cols)
        .step_by(every)
        .collect::<Vec<_>>()
        .par_iter()
        .filter_map(|&i| {
            let (y, x) = (i / cols * SIDE, i % cols * SIDE);
            let mut patch = [0f32; K];
            for a in 0..SIDE {
                for c in 0..SIDE {
                    let at = (y + a) * n + x + c;
                    if clipped(at) {
                        return None;
                    }
                    patch[a * SIDE + c] = value(at);
                }
            }
            Some(transform(&patch, &b))
        })
        .collect();
    (sampled.len() >= 16).then(|| steps(&sampled))
}

/// `x.round()` (half away from zero) without a libm call, for |x| < 2^52: the cast
/// truncates toward zero.
#[inline]
pub(super) fn round(x: f64) -> f64 {
    (x + 0.5f64.copysign(x)) as i64 as f64
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A picture of `m`×`n` levels whose blocks lie on `table` (a JPEG's decode, rounded).
    pub(crate) fn jpeg_like(m: usize, n: usize, table: &[f64; K], seed: u64) -> Vec<u8> {
        let b = basis();
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
        };
        let mut out = vec![0u8; m * n];
        for by in 0..m.div_ceil(SIDE) {
            for bx in 0..n.div_ceil(SIDE) {
                let mut c = [0.0; K];
                for (k, x) in c.iter_mut().enumerate() {
                    let (i, j) = (k / SIDE, k % SIDE);
                    // Smaller coefficients at higher frequencies, as in photos.
                    let amp = 200.0 / (1.0 + (i + j) as f64).powi(2);
                    *x = (next() * amp / table[k]).round() * table[k];
                }
                for a in 0..SIDE {
                    for cc in 0..SIDE {
                        let (y, x) = (by * SIDE + a, bx * SIDE + cc);
                        if y < m && x < n {
                            let mut v = 128.0;
                            for k in 0..SIDE {
                                for l in 0..SIDE {
                                    v += c[k * SIDE + l] * b[k][a] * b[l][cc];
                                }
                            }
                            out[y * n + x] = v.round().clamp(0.0, 255.0) as u8;
                        }
                    }
                }
            }
        }
        out
    }

    pub(crate) fn table(q: f64) -> [f64; K] {
        let mut t = [0.0; K];
        for (k, x) in t.iter_mut().enumerate() {
            *x = (q * (1.0 + ((k / SIDE) + (k % SIDE)) as f64 / 2.0)).round();
        }
        t
    }

    #[test]
    fn the_steps_of_a_jpeg_like_picture_are_found_and_noise_has_none() {
        let t = table(4.0);
        let levels = jpeg_like(96, 120, &t, 7);
        let centred = |l: &[u8]| l.iter().map(|&l| f32::from(l) - 128.0).collect::<Vec<_>>();
        let at = |plane: Vec<f32>| move |i: usize| plane[i];
        let (found, shows) = detect(&at(centred(&levels)), 96, 120, |_| false).expect("a grid");
        assert!(shows);
        for k in [0, 1, 8, 9, 2, 16] {
            assert_eq!(found[k], t[k], "coefficient {k}: {found:?}");
        }
        // Shifted by a pixel, the blocks are off the grid.
        let shifted: Vec<u8> = (0..96 * 119)
            .map(|i| levels[(i / 119) * 120 + i % 119 + 1])
            .collect();
        assert!(
            !detect(&at(centred(&shifted)), 96, 119, |_| false)
                .unwrap()
                .1
        );
        let mut state = 1u32;
        let noise: Vec<u8> = (0..96 * 120)
            .map(|_| {
                state = state.wrapping_mul(1664525).wrapping_add(1013904223);
                (state >> 24) as u8
            })
            .collect();
        assert!(!detect(&at(centred(&noise)), 96, 120, |_| false).unwrap().1);
        // Every block clipped: nothing to read.
        assert!(detect(&at(centred(&levels)), 96, 120, |_| true).is_none());
    }
}
