//! Measures the randomized SVD's error against the Eckart–Young optimum on the shared photos
//! for several oversampling and power-iteration settings, to choose the defaults.
//!
//! `cargo run --release -p svdimg --example tune_randomized -- ../shared/images/*.png`

use std::time::Instant;

use svdimg::{Factors, Limits, Picture, Randomized};

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let pictures: Vec<(String, Picture)> = paths
        .iter()
        .map(|p| {
            (
                p.clone(),
                Picture::decode(&std::fs::read(p).unwrap(), &Limits::default()).unwrap(),
            )
        })
        .collect();
    let par = faer::Par::rayon(0);
    println!(
        "{:>4} {:>3} {:>3} {:>12} {:>10}",
        "k", "p", "q", "worst ratio", "seconds"
    );
    for q in [2usize, 3] {
        for p in [4usize, 2] {
            for k in [5usize, 10, 20, 50, 100, 200] {
                let mut worst: f64 = 0.0;
                let start = Instant::now();
                for (_, picture) in &pictures {
                    for gray in [true, false] {
                        let planes = picture.planes::<f32>(gray);
                        for i in 0..planes.color.len() {
                            let a = planes.matrix(i);
                            if k >= a.nrows().min(a.ncols()) {
                                continue;
                            }
                            let exact = Factors::compute_with(a, par).unwrap();
                            let optimum = svdimg::optimal_error(exact.singular_values(), k);
                            let settings = Randomized {
                                oversample: Some((k / p).max(10)),
                                power_iterations: q,
                                seed: 0,
                            };
                            let f = Factors::compute_randomized(a, k, &settings, par).unwrap();
                            let approx = f.reconstruct(k, par);
                            let mut err = 0.0f64;
                            for r in 0..a.nrows() {
                                for c in 0..a.ncols() {
                                    err +=
                                        (f64::from(a[(r, c)]) - f64::from(approx[(r, c)])).powi(2);
                                }
                            }
                            worst = worst.max(err.sqrt() / optimum);
                        }
                    }
                }
                println!(
                    "{k:>4} {p:>3} {q:>3} {worst:>12.6} {:>10.2}",
                    start.elapsed().as_secs_f64()
                );
            }
        }
    }
}
