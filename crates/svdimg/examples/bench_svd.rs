//! Times svdimg's SVDs on a matrix given as raw little-endian f64 (row-major), for
//! `scripts/compare.py`. Prints one JSON object per line.
//!
//! `bench_svd FILE M N MODE K` with MODE one of `exact-f64`, `exact-f32`
//! (`Factors::compute_with`), `onestage-f64`, `onestage-f32` (faer's one-stage SVD),
//! `twostage-f64`, `twostage-f32` (the two-stage route whatever the size, with the seconds
//! of each stage), `full-f64`, `full-f32` (`Factors::compute_full`), `top-f64`,
//! `top-f32` (the exact first K components, `Factors::compute_top`), `randomized-f32`,
//! `randomized-f64`, `values-f64`, `values-f32` (the two-stage singular values, with the
//! seconds of each stage) or `onestage-values-f64`, `onestage-values-f32` (faer's
//! values-only SVD). Values modes print the seconds and the largest singular value.
//! Randomized modes also time `svdimg::sketch` (Gaussian Ω drawn, then A·Ω) against a plain
//! product of the same shapes in the same process.

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
        "exact-f64" => run::<f64>(&data, m, n, k, Route::Exact, par),
        "exact-f32" => run::<f32>(&data, m, n, k, Route::Exact, par),
        "onestage-f64" => run::<f64>(&data, m, n, k, Route::OneStage, par),
        "onestage-f32" => run::<f32>(&data, m, n, k, Route::OneStage, par),
        "full-f64" => full::<f64>(&data, m, n, par),
        "full-f32" => full::<f32>(&data, m, n, par),
        "twostage-f64" => run::<f64>(&data, m, n, k, Route::TwoStage, par),
        "twostage-f32" => run::<f32>(&data, m, n, k, Route::TwoStage, par),
        "top-f64" => run::<f64>(&data, m, n, k, Route::Top, par),
        "top-f32" => run::<f32>(&data, m, n, k, Route::Top, par),
        "randomized-f64" => run::<f64>(&data, m, n, k, Route::Randomized, par),
        "randomized-f32" => run::<f32>(&data, m, n, k, Route::Randomized, par),
        "values-f64" => values::<f64>(&data, m, n, false, par),
        "values-f32" => values::<f32>(&data, m, n, false, par),
        "onestage-values-f64" => values::<f64>(&data, m, n, true, par),
        "onestage-values-f32" => values::<f32>(&data, m, n, true, par),
        other => panic!("unknown mode {other}"),
    }
}

#[derive(PartialEq)]
enum Route {
    Exact,
    OneStage,
    TwoStage,
    Top,
    Randomized,
}

fn run<T: Scalar>(data: &[f64], m: usize, n: usize, k: usize, route: Route, par: Par) {
    let a: Vec<T> = data.iter().map(|&x| T::from_f64(x)).collect();
    let a = MatRef::from_row_major_slice(&a, m, n);
    let start = Instant::now();
    let mut stages = String::new();
    let f = match route {
        Route::Randomized => {
            Factors::compute_randomized(a, k, &Randomized::default(), par).unwrap()
        }
        Route::Top => Factors::compute_top(a, k, par).unwrap(),
        Route::Exact => Factors::compute_with(a, par).unwrap(),
        Route::OneStage => Factors::compute_one_stage(a, par).unwrap(),
        Route::TwoStage => {
            let b = if m.min(n) >= 3000 { 48 } else { 32 };
            let (f, t) = svdimg::two_stage_svd(a, b, par).unwrap();
            stages = format!(
                ",\"band\":{},\"bulge\":{},\"divide\":{},\"chase_back\":{},\"panels_back\":{}",
                t.band, t.bulge, t.divide, t.chase_back, t.panels_back
            );
            f
        }
    };
    let randomized = route == Route::Randomized;
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
    // The sketch phase alone (for randomized), and a plain faer product of the same shapes,
    // side by side in this process: GFLOP/s of each.
    let sketch = if randomized {
        let l = k + (k / 2).max(10);
        let flops = 2.0 * (m * n * l) as f64 / 1e9;
        let (mut t_sketch, mut t_plain) = (f64::MAX, f64::MAX);
        for _ in 0..3 {
            let start = Instant::now();
            let y = svdimg::sketch(a, l, Randomized::default().seed, par);
            t_sketch = t_sketch.min(start.elapsed().as_secs_f64());
            drop(y);
            t_plain = t_plain.min(plain_product_seconds(a, l, par));
        }
        format!(
            ",\"sketch_gflops\":{},\"matmul_gflops\":{}",
            flops / t_sketch,
            flops / t_plain
        )
    } else {
        String::new()
    };
    println!(
        "{{\"mode\":\"{}-{}\",\"k\":{k},\"seconds\":{seconds},\"error\":{},\"s_top\":{}{sketch}{stages}}}",
        match route {
            Route::Randomized => "randomized",
            Route::Top => "top",
            Route::Exact => "exact",
            Route::OneStage => "onestage",
            Route::TwoStage => "twostage",
        },
        T::PRECISION.as_str(),
        err.sqrt(),
        s0[0]
    );
}

/// Singular values only: the two-stage solver (with its stage times) or faer's one-stage.
fn values<T: Scalar>(data: &[f64], m: usize, n: usize, one_stage: bool, par: Par) {
    let a: Vec<T> = data.iter().map(|&x| T::from_f64(x)).collect();
    let a = MatRef::from_row_major_slice(&a, m, n);
    let start = Instant::now();
    let (s, stages) = if one_stage {
        (Factors::singular_values_of(a, par).unwrap(), String::new())
    } else {
        let (s, t) = svdimg::singular_values_timed(a, par).unwrap();
        let stages = format!(
            ",\"qr\":{},\"band\":{},\"bulge\":{},\"dqds\":{}",
            t.qr, t.band, t.bulge, t.dqds
        );
        (s, stages)
    };
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{{\"seconds\":{seconds},\"s_top\":{},\"s_min\":{}{stages}}}",
        s[0].to_f64(),
        s[s.len() - 1].to_f64()
    );
}

/// `Factors::compute_full` (NumPy's `full_matrices=True`): the seconds and the largest
/// deviation of `UᵀU` from the identity over its first column.
fn full<T: Scalar>(data: &[f64], m: usize, n: usize, par: Par) {
    let a: Vec<T> = data.iter().map(|&x| T::from_f64(x)).collect();
    let a = MatRef::from_row_major_slice(&a, m, n);
    let start = Instant::now();
    let (u, s, v) = Factors::compute_full(a, par).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!((u.nrows(), u.ncols(), v.nrows(), v.ncols()), (m, m, n, n));
    println!(
        "{{\"mode\":\"full-{}\",\"seconds\":{seconds},\"s_top\":{}}}",
        T::PRECISION.as_str(),
        s[0].to_f64()
    );
}

/// The best of five timings of a plain product A·Ω (m×n by n×l, a fixed Ω) into a
/// preallocated m×l matrix, after one untimed warm-up run (thread pool start, first touch).
fn plain_product_seconds<T: Scalar>(a: MatRef<'_, T>, l: usize, par: Par) -> f64 {
    let (m, n) = a.shape();
    let omega = Mat::<T>::from_fn(n, l, |i, j| {
        T::from_f64(((i * 31 + j * 17) % 7) as f64 - 3.0)
    });
    let mut y = Mat::<T>::zeros(m, l);
    let mut best = f64::MAX;
    for round in 0..6 {
        let start = Instant::now();
        faer::linalg::matmul::matmul(
            y.as_mut(),
            faer::Accum::Replace,
            a,
            omega.as_ref(),
            T::from_f64(1.0),
            par,
        );
        if round > 0 {
            best = best.min(start.elapsed().as_secs_f64());
        }
    }
    best
}
