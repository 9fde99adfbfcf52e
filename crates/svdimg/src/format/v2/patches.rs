//! The patch layout of `.svdz` version 2: a plane cut into P×P patches, each patch one row
//! of a matrix with P² columns. The SVD of that matrix is an image-adaptive P×P transform
//! (a Karhunen–Loève transform learnt from the image itself: Eckart–Young applied to
//! patches instead of rows), its right singular vectors the basis and its left ones each
//! patch's coefficients.

use rayon::prelude::*;

/// The patch sides a file may use.
pub(crate) const SIDES: std::ops::RangeInclusive<u32> = 4..=16;

/// The size of the patch matrix of an m×n plane with patches of `p`: one row per patch
/// (⌈m/p⌉·⌈n/p⌉), p² columns.
pub(crate) fn matrix_size(m: usize, n: usize, p: usize) -> (usize, usize) {
    (m.div_ceil(p) * n.div_ceil(p), p * p)
}

/// The patch matrix of `plane` (m×n row-major). Patches are in raster order, each row-major;
/// pixels beyond the plane's edge repeat the last row or column.
pub(crate) fn to_matrix(plane: &[f32], m: usize, n: usize, p: usize) -> Vec<f32> {
    let cols = n.div_ceil(p);
    let mut out = vec![0f32; matrix_size(m, n, p).0 * p * p];
    out.par_chunks_mut(p * p)
        .enumerate()
        .for_each(|(k, patch)| {
            let (y0, x0) = ((k / cols) * p, (k % cols) * p);
            for a in 0..p {
                let y = (y0 + a).min(m - 1);
                for b in 0..p {
                    patch[a * p + b] = plane[y * n + (x0 + b).min(n - 1)];
                }
            }
        });
    out
}

/// The m×n plane of a patch matrix (the inverse of [`to_matrix`] on the plane's pixels).
pub(crate) fn from_matrix(matrix: &[f32], m: usize, n: usize, p: usize) -> Vec<f32> {
    let cols = n.div_ceil(p);
    let mut out = vec![0f32; m * n];
    out.par_chunks_mut(n).enumerate().for_each(|(y, row)| {
        let (a, first) = (y % p, (y / p) * cols);
        for (x, o) in row.iter_mut().enumerate() {
            *o = matrix[(first + x / p) * p * p + a * p + x % p];
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_round_trip_through_their_patch_matrix() {
        for (m, n) in [(16, 24), (13, 7), (1, 1), (9, 30)] {
            let plane: Vec<f32> = (0..m * n).map(|i| i as f32).collect();
            let matrix = to_matrix(&plane, m, n, 8);
            assert_eq!(matrix.len(), matrix_size(m, n, 8).0 * 64);
            assert_eq!(from_matrix(&matrix, m, n, 8), plane);
        }
        // The second patch of a 16-wide plane starts at column 8.
        let plane: Vec<f32> = (0..8 * 16).map(|i| i as f32).collect();
        assert_eq!(&to_matrix(&plane, 8, 16, 8)[64..67], &[8.0, 9.0, 10.0]);
    }
}
