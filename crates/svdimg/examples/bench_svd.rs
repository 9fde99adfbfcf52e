//! Times svdimg's SVDs on a matrix given as raw little-endian f64 (row-major), for
//! `scripts/compare.py`. Prints one JSON object per line.
//!
//! `bench_svd FILE M N MODE K` with MODE one of `exact-f64`, `exact-f32`, `randomized-f32`,
//! `randomized-f64`, `matmul-f32` (the sketch product A·Ω alone, for its GFLOP/s).

use std::time::Instant;

use faer::{Mat, MatRef, Par};
use svdimg::{Factors, Randomized, Scalar};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&args[1]).expect("matrix file");
    let (m, n): (usize, usize) = (args[2].parse().unwrap(), args[3].parse().unwrap());
    let mode = args[4].as_str();
    let k: usize = args[5].parse().unwrap();
    let data: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(data.len(), m * n);
    let par = Par::rayon(0);
    match mode {
        "exact-f64" => run::<f64>(&data, m, n, k, false, par),
        "exact-f32" => run::<f32>(&data, m, n, k, false, par),
        "randomized-f64" => run::<f64>(&data, m, n, k, true, par),
        "randomized-f32" => run::<f32>(&data, m, n, k, true, par),
        "matmul-f32" => {
            let a: Vec<f32> = data.iter().map(|&x| x as f32).collect();
            let a = MatRef::from_row_major_slice(&a, m, n);
            let l = k + (k / 2).max(10);
            let omega = Mat::<f32>::from_fn(n, l, |i, j| ((i * 31 + j * 17) % 7) as f32 - 3.0);
            let mut y = Mat::<f32>::zeros(m, l);
            let start = Instant::now();
            faer::linalg::matmul::matmul(
                y.as_mut(),
                faer::Accum::Replace,
                a,
                omega.as_ref(),
                1.0,
                par,
            );
            let seconds = start.elapsed().as_secs_f64();
            let gflops = 2.0 * (m * n * l) as f64 / seconds / 1e9;
            println!("{{\"mode\":\"{mode}\",\"k\":{k},\"seconds\":{seconds},\"gflops\":{gflops}}}");
        }
        other => panic!("unknown mode {other}"),
    }
}

fn run<T: Scalar>(data: &[f64], m: usize, n: usize, k: usize, randomized: bool, par: Par) {
    let a: Vec<T> = data.iter().map(|&x| T::from_f64(x)).collect();
    let a = MatRef::from_row_major_slice(&a, m, n);
    let start = Instant::now();
    let f = if randomized {
        Factors::compute_randomized(a, k, &Randomized::default(), par).unwrap()
    } else {
        Factors::compute_with(a, par).unwrap()
    };
    let seconds = start.elapsed().as_secs_f64();
    // Error of the rank-k reconstruction against the optimum from the exact f64 spectrum.
    let rebuilt = f.reconstruct(k, par);
    let mut err = 0.0f64;
    for i in 0..m {
        for j in 0..n {
            err += (data[i * n + j] - rebuilt[(i, j)].to_f64()).powi(2);
        }
    }
    let s0: Vec<f64> = f.singular_values().iter().map(|x| x.to_f64()).collect();
    // The sketch phase alone (for randomized): time A·Ω again for its GFLOP/s.
    let sketch = if randomized {
        let l = k + (k / 2).max(10);
        let omega = Mat::<T>::from_fn(n, l, |i, j| {
            T::from_f64(((i * 31 + j * 17) % 7) as f64 - 3.0)
        });
        let mut y = Mat::<T>::zeros(m, l);
        let start = Instant::now();
        faer::linalg::matmul::matmul(
            y.as_mut(),
            faer::Accum::Replace,
            a,
            omega.as_ref(),
            T::from_f64(1.0),
            par,
        );
        let t = start.elapsed().as_secs_f64();
        format!(",\"sketch_gflops\":{}", 2.0 * (m * n * l) as f64 / t / 1e9)
    } else {
        String::new()
    };
    println!(
        "{{\"mode\":\"{}-{}\",\"k\":{k},\"seconds\":{seconds},\"error\":{},\"s_top\":{}{sketch}}}",
        if randomized { "randomized" } else { "exact" },
        T::PRECISION.as_str(),
        err.sqrt(),
        s0[0]
    );
}
