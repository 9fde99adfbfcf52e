//! Version 1's quantised global components: integer vectors with a scale each, and the
//! planes they rebuild.

use faer::{Mat, MatMut, Par};
use rayon::prelude::*;

use crate::format::container::{zstd_compress, BlockEntry};
use crate::format::vectors;
use crate::Factors;

/// Components per zstd block: small enough for `--rank J` to skip most of a file, large
/// enough for zstd to find the statistics of the integers.
pub(super) const BLOCK_SIZE: u16 = 16;
/// The largest integer a vector entry may hold, so that sums stay exact in f32's range.
pub(super) const MAX_ENTRY: f64 = (1 << 24) as f64;

/// One plane's stored components: scales and the integer vectors, component-major.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub(super) m: usize,
    pub(super) n: usize,
    pub(super) scales: Vec<f32>,
    pub(super) u: Vec<i32>,
    pub(super) v: Vec<i32>,
}

impl Stored {
    /// Quantises the first `k` components of `f` with step `delta`.
    pub(super) fn quantize(f: &Factors<f32>, k: usize, delta: f64) -> Stored {
        let (m, n) = (f.nrows(), f.ncols());
        let mut stored = Stored {
            m,
            n,
            scales: Vec::with_capacity(k),
            u: Vec::with_capacity(k * m),
            v: Vec::with_capacity(k * n),
        };
        for i in 0..k {
            let sigma = f64::from(f.singular_values()[i]);
            let fit = |x: faer::ColRef<'_, f32>, out: &mut Vec<i32>| {
                let (mut dot, mut norm2) = (0.0, 0.0);
                for &e in x.iter() {
                    let e = f64::from(e);
                    let q = (sigma * e / delta).round().clamp(-MAX_ENTRY, MAX_ENTRY);
                    dot += e * q;
                    norm2 += q * q;
                    out.push(q as i32);
                }
                (dot, norm2)
            };
            let (du, nu) = fit(f.u().col(i), &mut stored.u);
            let (dv, nv) = fit(f.v().col(i), &mut stored.v);
            let scale = if nu > 0.0 && nv > 0.0 {
                sigma * du * dv / (nu * nv)
            } else {
                0.0
            };
            stored.scales.push(scale as f32);
        }
        stored
    }

    pub(super) fn rank(&self) -> usize {
        self.scales.len()
    }

    /// `Σ sᵢ qᵤ qᵥᵀ` as a row-major m×n plane.
    pub(super) fn reconstruct(&self, par: Par) -> Vec<f32> {
        self.reconstruct_rows(1, par)
    }

    /// Every `step`-th row of [`Stored::reconstruct`] (rows 0, step, 2·step, ...).
    pub(super) fn reconstruct_rows(&self, step: usize, par: Par) -> Vec<f32> {
        let (m, n, k) = (self.m, self.n, self.rank());
        let rows = m.div_ceil(step);
        let mut out = vec![0.0f32; rows * n];
        if k > 0 {
            let us = Mat::<f32>::from_fn(rows, k, |r, c| {
                self.scales[c] * self.u[c * m + r * step] as f32
            });
            let vs = Mat::<f32>::from_fn(n, k, |r, c| self.v[c * n + r] as f32);
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut out, rows, n),
                faer::Accum::Replace,
                us.as_ref(),
                vs.as_ref().transpose(),
                1.0,
                par,
            );
        }
        out
    }

    /// The compressed blocks of `BLOCK_SIZE` components and their table entries.
    pub(super) fn blocks(&self) -> (Vec<Vec<u8>>, Vec<BlockEntry>) {
        let (m, n) = (self.m, self.n);
        let bs = usize::from(BLOCK_SIZE);
        let starts: Vec<usize> = (0..self.rank()).step_by(bs).collect();
        starts
            .par_iter()
            .map(|&start| {
                let mut raw = Vec::new();
                for i in start..(start + bs).min(self.rank()) {
                    vectors::encode(&self.u[i * m..(i + 1) * m], &mut raw);
                    vectors::encode(&self.v[i * n..(i + 1) * n], &mut raw);
                }
                let packed = zstd_compress(&raw);
                let entry = BlockEntry::of(&packed, raw.len());
                (packed, entry)
            })
            .unzip()
    }
}
