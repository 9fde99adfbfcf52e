//! Times the exact and the randomized SVD (f32, default settings) on random-spectrum
//! matrices of several sizes and ranks, to place `Method::Auto`'s crossover.
//!
//! `cargo run --release -p svdimg --example crossover`

use std::time::Instant;

use svdimg::{Factors, Randomized};

fn main() {
    let par = faer::Par::rayon(0);
    println!(
        "{:>11} {:>5} {:>10} {:>12} {:>7}",
        "size", "k", "exact s", "randomized s", "ratio"
    );
    for (m, n) in [
        (128, 128),
        (256, 256),
        (512, 512),
        (768, 1024),
        (1500, 2000),
    ] {
        // A smooth image-like matrix: a sum of decaying rank-one waves plus noise.
        let a = faer::Mat::<f32>::from_fn(m, n, |i, j| {
            let (x, y) = (i as f32 / m as f32, j as f32 / n as f32);
            (0..30)
                .map(|t| {
                    (t as f32 + 1.0).powf(-1.2) * ((t as f32 + 1.0) * 3.1 * x + y * t as f32).sin()
                })
                .sum::<f32>()
                + 0.01 * (((i * 7919 + j * 104729) % 1000) as f32 / 1000.0)
        });
        let start = Instant::now();
        let _ = Factors::compute_with(a.as_ref(), par).unwrap();
        let exact = start.elapsed().as_secs_f64();
        for k in [10usize, 50, 100, 200] {
            if k * 2 > m.min(n) {
                continue;
            }
            let start = Instant::now();
            let _ =
                Factors::compute_randomized(a.as_ref(), k, &Randomized::default(), par).unwrap();
            let rand = start.elapsed().as_secs_f64();
            println!(
                "{:>11} {k:>5} {exact:>10.4} {rand:>12.4} {:>7.2}",
                format!("{m}x{n}"),
                exact / rand
            );
        }
    }
}
