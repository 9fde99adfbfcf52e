//! Singular values without vectors: the two-stage solver against faer's one-stage one,
//! with the time of each stage.
//!
//! `cargo run --release -p svdimg --example values [-- SIZES]`, SIZES like `768x1024,2000x3000`.
//! Matrices are random uniform on [0, 1) plus a smooth image-like part; best of 3.

use std::time::Instant;

use faer::{Mat, Par};
use svdimg::{singular_values_timed, Factors, Scalar};

fn matrix<T: Scalar>(m: usize, n: usize) -> Mat<T> {
    let mut state = 12345u64;
    Mat::from_fn(m, n, |i, j| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let noise = (state >> 11) as f64 / (1u64 << 53) as f64;
        let smooth = ((i as f64) * 0.01).sin() * ((j as f64) * 0.013).cos();
        T::from_f64(0.5 + 0.3 * smooth + 0.2 * noise)
    })
}

fn run<T: Scalar>(m: usize, n: usize) {
    let a = matrix::<T>(m, n);
    let par = Par::rayon(0);
    let (mut one, mut two) = (f64::INFINITY, f64::INFINITY);
    let mut stages = None;
    let (mut s1, mut s2) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let t = Instant::now();
        s1 = Factors::singular_values_of(a.as_ref(), par).unwrap();
        one = one.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let (s, st) = singular_values_timed(a.as_ref(), par).unwrap();
        let secs = t.elapsed().as_secs_f64();
        if secs < two {
            two = secs;
            stages = Some(st);
        }
        s2 = s;
    }
    let top = s1[0].to_f64();
    let worst = s1
        .iter()
        .zip(&s2)
        .map(|(a, b)| (a.to_f64() - b.to_f64()).abs())
        .fold(0.0, f64::max);
    let st = stages.unwrap();
    println!(
        "| {m}x{n} | {} | {one:.3} | {two:.3} | {:.2} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1e} |",
        T::PRECISION.as_str(),
        one / two,
        st.qr,
        st.band,
        st.bulge,
        st.dqds,
        worst / top
    );
}

fn main() {
    let sizes = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "768x1024,2000x3000".into());
    println!("| shape | precision | faer one-stage (s) | two-stage (s) | ratio | QR | dense→band | band→bidiagonal | dqds | max diff / s₁ |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for size in sizes.split(',') {
        let (m, n) = size.split_once('x').expect("sizes like 768x1024");
        let (m, n): (usize, usize) = (m.parse().unwrap(), n.parse().unwrap());
        run::<f64>(m, n);
        run::<f32>(m, n);
    }
}
