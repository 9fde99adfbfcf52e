//! Exact and randomized SVD at several sizes, ranks and precisions.
//!
//! `cargo bench -p svdimg --bench svd` (all), or filter: `cargo bench -p svdimg --bench svd -- randomized`.
//! The matrices are smooth and image-like: decaying waves plus a little noise.

use divan::Bencher;
use faer::{Mat, Par};
use svdimg::{Factors, Randomized, Scalar};

fn main() {
    divan::main();
}

const SIZES: [(usize, usize); 4] = [(512, 512), (768, 1024), (2000, 3000), (4000, 6000)];

fn matrix<T: Scalar>(m: usize, n: usize) -> Mat<T> {
    Mat::from_fn(m, n, |i, j| {
        let (x, y) = (i as f64 / m as f64, j as f64 / n as f64);
        let waves: f64 = (1..=30)
            .map(|t| {
                let t = t as f64;
                t.powf(-1.2) * (t * 3.1 * x + y * (t - 1.0)).sin()
            })
            .sum();
        T::from_f64(waves + 0.01 * (((i * 7919 + j * 104_729) % 1000) as f64 / 1000.0))
    })
}

#[divan::bench(types = [f32, f64], args = SIZES, sample_count = 3, sample_size = 1)]
fn exact<T: Scalar>(bencher: Bencher, (m, n): (usize, usize)) {
    let a = matrix::<T>(m, n);
    bencher.bench_local(|| Factors::compute_with(a.as_ref(), Par::rayon(0)).unwrap());
}

#[divan::bench(types = [f32, f64], args = [10, 50, 200], sample_count = 5, sample_size = 1)]
fn randomized_2000x3000<T: Scalar>(bencher: Bencher, k: usize) {
    let a = matrix::<T>(2000, 3000);
    bencher.bench_local(|| {
        Factors::compute_randomized(a.as_ref(), k, &Randomized::default(), Par::rayon(0)).unwrap()
    });
}

#[divan::bench(types = [f32, f64], args = SIZES, sample_count = 5, sample_size = 1)]
fn randomized_k50<T: Scalar>(bencher: Bencher, (m, n): (usize, usize)) {
    let a = matrix::<T>(m, n);
    bencher.bench_local(|| {
        Factors::compute_randomized(a.as_ref(), 50, &Randomized::default(), Par::rayon(0)).unwrap()
    });
}

#[divan::bench(types = [f32, f64], args = [10, 200], sample_count = 3, sample_size = 1)]
fn randomized_4000x6000<T: Scalar>(bencher: Bencher, k: usize) {
    let a = matrix::<T>(4000, 6000);
    bencher.bench_local(|| {
        Factors::compute_randomized(a.as_ref(), k, &Randomized::default(), Par::rayon(0)).unwrap()
    });
}
