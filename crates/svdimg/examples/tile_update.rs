//! Probes the band reduction's fused update (`values/reduce.rs`, `update_and_project`):
//! `C −= L R` followed by `W = Vᵀ C`, as two parallel products over the whole matrix against
//! tile by tile (each tile read once for both), and `Z = C U` as one parallel product against
//! row tiles. Prints four runs of each.
//!
//! `cargo run --release -p svdimg --example tile_update -- [M N B ROWS COLS]`, by default
//! 6000 4000 48 1024 256: the first panel's shapes at 4000×6000 with b = 48, tiles of
//! 1024 rows by 256 columns.

use std::time::Instant;

use faer::linalg::matmul::matmul;
use faer::reborrow::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, Par};
use rayon::prelude::*;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a whole number"))
        .collect();
    let at = |i: usize, default: usize| args.get(i).copied().unwrap_or(default);
    let (m, n, b, rows, cols) = (at(0, 6000), at(1, 4000), at(2, 48), at(3, 1024), at(4, 256));
    let par = Par::rayon(0);
    let fill = |r: usize, c: usize, k: usize| {
        Mat::<f64>::from_fn(r, c, |i, j| ((i * k + j) % 7) as f64 * 1e-3)
    };
    let (l, r, v, u) = (
        fill(m, 2 * b, 1),
        fill(2 * b, n, 3),
        fill(m, b, 2),
        fill(n, b, 5),
    );
    let mut c = fill(m, n, 3);
    let flops = 2.0 * (m * n) as f64 * (3 * b) as f64;
    for _ in 0..4 {
        let clock = Instant::now();
        matmul(c.as_mut(), Accum::Add, l.as_ref(), r.as_ref(), -1.0, par);
        let mut w = Mat::<f64>::zeros(b, n);
        matmul(
            w.as_mut(),
            Accum::Replace,
            v.transpose(),
            c.as_ref(),
            1.0,
            par,
        );
        let whole = clock.elapsed().as_secs_f64();

        let clock = Instant::now();
        let mut w = Mat::<f64>::zeros(b, n);
        c.as_mut()
            .par_col_chunks_mut(cols)
            .zip(w.as_mut().par_col_chunks_mut(cols))
            .enumerate()
            .for_each(|(j, (mut c, mut w))| {
                let r = r.as_ref().subcols(j * cols, c.ncols());
                for i in (0..m).step_by(rows) {
                    let h = rows.min(m - i);
                    let mut tile = c.rb_mut().subrows_mut(i, h);
                    matmul(
                        tile.rb_mut(),
                        Accum::Add,
                        l.as_ref().subrows(i, h),
                        r,
                        -1.0,
                        Par::Seq,
                    );
                    let accum = if i == 0 { Accum::Replace } else { Accum::Add };
                    let vt = v.as_ref().subrows(i, h).transpose();
                    matmul(w.rb_mut(), accum, vt, tile.rb(), 1.0, Par::Seq);
                }
            });
        let tiled = clock.elapsed().as_secs_f64();

        let clock = Instant::now();
        let mut z = Mat::<f64>::zeros(m, b);
        matmul(z.as_mut(), Accum::Replace, c.as_ref(), u.as_ref(), 1.0, par);
        let z_whole = clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        z.as_mut()
            .par_row_chunks_mut(rows)
            .enumerate()
            .for_each(|(i, z)| {
                let c = c.as_ref().subrows(i * rows, z.nrows());
                matmul(z, Accum::Replace, c, u.as_ref(), 1.0, Par::Seq);
            });
        let z_tiled = clock.elapsed().as_secs_f64();
        println!(
            "update + Vᵀ C: whole {whole:.3} s ({:.0} GFLOP/s), tiles {tiled:.3} s ({:.0} GFLOP/s); \
             Z = C U: whole {z_whole:.3} s, row tiles {z_tiled:.3} s",
            flops / whole / 1e9,
            flops / tiled / 1e9
        );
    }
}
