//! The orthonormal DCT-II of a singular vector, for `.svdz` version 2: a smooth vector
//! (the leading components of a tile) has a few large coefficients and many that round to
//! zero, so quantising its coefficients instead of its entries costs fewer bits for the
//! same error (the transform is orthonormal: rounding errors keep their energy).
//!
//! Basis tables are built once per vector length; the encoder and the decoder use the same
//! tables and the same order of operations, so they rebuild the same floats.

use std::f64::consts::PI;

/// The longest vector a DCT is offered for: tiles, not whole planes.
pub(crate) const MAX_LEN: usize = 128;

/// Basis tables for the lengths of one image's tiles.
#[derive(Debug, Default)]
pub(crate) struct Dct {
    /// Per length: the basis (row k is basis vector k) and its transpose.
    tables: Vec<(usize, Vec<f32>, Vec<f32>)>,
}

impl Dct {
    /// Tables for every length in `lengths` up to [`MAX_LEN`].
    pub(crate) fn new(lengths: impl IntoIterator<Item = usize>) -> Self {
        let mut dct = Dct::default();
        for len in lengths {
            if (1..=MAX_LEN).contains(&len) && dct.basis(len).is_none() {
                let b = table(len);
                let t = (0..len * len)
                    .map(|i| b[(i % len) * len + i / len])
                    .collect();
                dct.tables.push((len, b, t));
            }
        }
        dct
    }

    /// Row k of the table is basis vector k.
    fn basis(&self, len: usize) -> Option<&[f32]> {
        self.tables
            .iter()
            .find(|(l, _, _)| *l == len)
            .map(|(_, b, _)| &b[..])
    }

    /// Row j of the table is entry j of every basis vector.
    fn transposed(&self, len: usize) -> Option<&[f32]> {
        self.tables
            .iter()
            .find(|(l, _, _)| *l == len)
            .map(|(_, _, t)| &t[..])
    }

    /// Whether a vector of `len` entries may be coded as DCT coefficients.
    pub(crate) fn offers(&self, len: usize) -> bool {
        self.basis(len).is_some()
    }

    /// The coefficients of `x`.
    ///
    /// # Panics
    /// If no table was built for `x.len()`.
    pub(crate) fn forward(&self, x: &[f32], out: &mut Vec<f32>) {
        let len = x.len();
        let t = self.transposed(len).expect("a table for this length");
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
    pub(crate) fn inverse(&self, c: &[i32], out: &mut [f32]) {
        let len = c.len();
        let b = self.basis(len).expect("a table for this length");
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
        let alpha = if k == 0 {
            (1.0 / n as f64).sqrt()
        } else {
            (2.0 / n as f64).sqrt()
        };
        for j in 0..n {
            t.push((alpha * (PI * (2 * j + 1) as f64 * k as f64 / (2 * n) as f64).cos()) as f32);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transform_is_orthonormal_and_inverts() {
        let dct = Dct::new([1, 7, 32, 200]);
        assert!(!dct.offers(200) && dct.offers(32));
        let x: Vec<f32> = (0..32).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
        let mut c = Vec::new();
        dct.forward(&x, &mut c);
        let energy = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>();
        assert!((energy(&c) - energy(&x)).abs() < 1e-3 * energy(&x));
        // Integer coefficients back and forth: the inverse of the forward of an inverse.
        let k: Vec<i32> = (0..7).map(|i| i * 3 - 9).collect();
        let mut y = vec![0.0; 7];
        dct.inverse(&k, &mut y);
        dct.forward(&y, &mut c);
        assert!(
            c.iter().zip(&k).all(|(a, &b)| (a - b as f32).abs() < 1e-4),
            "{c:?}"
        );
        // A constant is one coefficient.
        dct.forward(&[2.0; 32], &mut c);
        assert!((c[0] - 2.0 * 32f32.sqrt()).abs() < 1e-4 && c[1..].iter().all(|a| a.abs() < 1e-4));
    }
}
