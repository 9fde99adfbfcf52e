//! The orthonormal DCT-II of a singular vector, for `.svdz` version 2: a smooth vector
//! (the leading components of a tile) has a few large coefficients and many that round to
//! zero, so quantising its coefficients instead of its entries costs fewer bits for the
//! same error (the transform is orthonormal: rounding errors keep their energy).
//!
//! Basis tables are built once per vector length; the encoder and the decoder use the same
//! tables and the same order of operations, so they rebuild the same floats.
//!
//! In a patch file with the square flag, a v-vector (one P×P patch, row-major) takes the
//! separable 2D DCT of the patch instead: the basis of JPEG's 8×8 blocks, which lets a file
//! store a photo that was a JPEG on the grid it was quantised on (see [`super::lattice`]).

use std::f64::consts::PI;

/// The longest vector a DCT is offered for: tiles, not whole planes.
pub(crate) const MAX_LEN: usize = 128;

/// Which vector of a component a transform is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Axis {
    /// Down the tile (or across the patches of a patch matrix).
    U,
    /// Across the tile (or within one patch).
    V,
}

/// A basis (row k is basis vector k) and its transpose, for vectors of one length.
type Table = (usize, Vec<f32>, Vec<f32>);

/// Basis tables for the lengths of one image's tiles.
#[derive(Debug, Default)]
pub(crate) struct Dct {
    /// Per length, the 1D DCT.
    tables: Vec<Table>,
    /// The 2D DCT of a P×P patch, for the v-vectors of P² entries (the square flag).
    square: Option<Table>,
}

impl Dct {
    /// Tables for every length in `lengths` up to [`MAX_LEN`].
    pub(crate) fn new(lengths: impl IntoIterator<Item = usize>) -> Self {
        let mut dct = Dct::default();
        for len in lengths {
            if (1..=MAX_LEN).contains(&len) && !dct.offers(len, Axis::U) {
                let b = table(len);
                let t = (0..len * len)
                    .map(|i| b[(i % len) * len + i / len])
                    .collect();
                dct.tables.push((len, b, t));
            }
        }
        dct
    }

    /// These tables with the v-vectors of `side`² entries in the 2D DCT of a `side`×`side`
    /// patch (`None`: the 1D DCT for every vector).
    pub(crate) fn square(mut self, side: Option<usize>) -> Self {
        self.square = side.map(|p| {
            // Row k·P + l is the patch cos_k(row) · cos_l(column), as f64 then f32.
            let mut b = Vec::with_capacity(p.pow(4));
            for k in 0..p {
                for l in 0..p {
                    for a in 0..p {
                        for c in 0..p {
                            b.push((basis64(p, k, a) * basis64(p, l, c)) as f32);
                        }
                    }
                }
            }
            let len = p * p;
            let t = (0..len * len)
                .map(|i| b[(i % len) * len + i / len])
                .collect();
            (len, b, t)
        });
        self
    }

    /// Whether v-vectors of patches use the 2D DCT.
    pub(crate) fn is_square(&self) -> bool {
        self.square.is_some()
    }

    fn table(&self, len: usize, axis: Axis) -> Option<&Table> {
        match &self.square {
            Some(sq) if axis == Axis::V && sq.0 == len => Some(sq),
            _ => self.tables.iter().find(|(l, _, _)| *l == len),
        }
    }

    /// Whether a vector of `len` entries may be coded as DCT coefficients.
    pub(crate) fn offers(&self, len: usize, axis: Axis) -> bool {
        self.table(len, axis).is_some()
    }

    /// The coefficients of `x`.
    ///
    /// # Panics
    /// If no table was built for `x.len()`.
    #[inline(always)]
    pub(crate) fn forward(&self, x: &[f32], axis: Axis, out: &mut Vec<f32>) {
        let len = x.len();
        let t = &self.table(len, axis).expect("a table for this length").2;
        out.clear();
        out.resize(len, 0.0);
        // A sum of scaled rows: the inner loop vectorises.
        for (&xj, row) in x.iter().zip(t.chunks_exact(len)) {
            out.iter_mut().zip(row).for_each(|(o, &r)| *o += xj * r);
        }
    }

    /// The vector with coefficients `c`, written into `out` (same length).
    ///
    /// # Panics
    /// If no table was built for `c.len()`.
    #[inline(always)]
    pub(crate) fn inverse(&self, c: &[i32], axis: Axis, out: &mut [f32]) {
        let len = c.len();
        let b = &self.table(len, axis).expect("a table for this length").1;
        out.iter_mut().for_each(|o| *o = 0.0);
        for (&k, row) in c.iter().zip(b.chunks_exact(len)) {
            if k != 0 {
                let k = k as f32;
                out.iter_mut().zip(row).for_each(|(o, &r)| *o += k * r);
            }
        }
    }
}

/// `B[k][j] = α(k) cos(π (2j + 1) k / 2n)`, α(0) = √(1/n), α(k) = √(2/n).
fn table(n: usize) -> Vec<f32> {
    let mut t = Vec::with_capacity(n * n);
    for k in 0..n {
        for j in 0..n {
            t.push(basis64(n, k, j) as f32);
        }
    }
    t
}

/// Entry j of basis vector k of length n, in f64.
pub(super) fn basis64(n: usize, k: usize, j: usize) -> f64 {
    let alpha = if k == 0 {
        (1.0 / n as f64).sqrt()
    } else {
        (2.0 / n as f64).sqrt()
    };
    alpha * (PI * (2 * j + 1) as f64 * k as f64 / (2 * n) as f64).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transform_is_orthonormal_and_inverts() {
        let dct = Dct::new([1, 7, 32, 200]);
        assert!(!dct.offers(200, Axis::U) && dct.offers(32, Axis::U));
        let x: Vec<f32> = (0..32).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
        let mut c = Vec::new();
        dct.forward(&x, Axis::U, &mut c);
        let energy = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>();
        assert!((energy(&c) - energy(&x)).abs() < 1e-3 * energy(&x));
        // Integer coefficients back and forth: the inverse of the forward of an inverse.
        let k: Vec<i32> = (0..7).map(|i| i * 3 - 9).collect();
        let mut y = vec![0.0; 7];
        dct.inverse(&k, Axis::U, &mut y);
        dct.forward(&y, Axis::U, &mut c);
        assert!(
            c.iter().zip(&k).all(|(a, &b)| (a - b as f32).abs() < 1e-4),
            "{c:?}"
        );
        // A constant is one coefficient.
        dct.forward(&[2.0; 32], Axis::U, &mut c);
        assert!((c[0] - 2.0 * 32f32.sqrt()).abs() < 1e-4 && c[1..].iter().all(|a| a.abs() < 1e-4));
    }

    #[test]
    fn the_square_table_is_the_patchs_2d_dct_for_v_only() {
        let dct = Dct::new([64, 7]).square(Some(8));
        assert!(dct.is_square() && dct.offers(64, Axis::V) && dct.offers(64, Axis::U));
        // Coefficient (k, l) = (2, 3) is the patch cos₂(row)·cos₃(column).
        let mut q = vec![0; 64];
        q[2 * 8 + 3] = 5;
        let (mut v, mut u) = (vec![0.0; 64], vec![0.0; 64]);
        dct.inverse(&q, Axis::V, &mut v);
        dct.inverse(&q, Axis::U, &mut u);
        let one = table(8);
        for a in 0..8 {
            for c in 0..8 {
                let want = 5.0 * one[2 * 8 + a] * one[3 * 8 + c];
                assert!((v[a * 8 + c] - want).abs() < 1e-5, "({a}, {c})");
            }
        }
        // A u-vector of 64 entries keeps the 1D DCT: entry j is 5·B[19][j].
        assert!(u
            .iter()
            .zip(&table(64)[19 * 64..])
            .all(|(x, b)| (x - 5.0 * b).abs() < 1e-5));
        // Orthonormal: forward undoes inverse.
        let mut c = Vec::new();
        dct.forward(&v, Axis::V, &mut c);
        assert!(c.iter().zip(&q).all(|(a, &b)| (a - b as f32).abs() < 1e-4));
    }
}
