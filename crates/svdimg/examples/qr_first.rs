//! Measures when a QR factorisation before faer's bidiagonalisation pays off: the rule in
//! `svd_params` (crates/svdimg/src/factors.rs). For each shape it times faer's thin SVD with
//! faer's own setting (QR first only from an aspect ratio of 11/6) and with a QR first,
//! interleaved, best of three. The last column is faer's bidiagonalisation alone, the step
//! both settings spend most of their time in (`scripts/gebrd_timing.py` times OpenBLAS's).
//!
//! `cargo run --release -p svdimg --example qr_first [f32|f64] [MxN ...]`

use std::time::Instant;

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::svd::{self, ComputeSvdVectors, SvdParams};
use faer::{Auto, Mat, Par};
use svdimg::Scalar;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let f32_only = args.first().is_some_and(|a| a == "f32");
    let shapes: Vec<(usize, usize)> = args
        .iter()
        .filter_map(|a| a.split_once('x'))
        .map(|(m, n)| (m.parse().expect("M"), n.parse().expect("N")))
        .collect();
    let shapes = if shapes.is_empty() {
        vec![
            (768, 1024),
            (1200, 1600),
            (1500, 2000),
            (2000, 2400),
            (2000, 3000),
        ]
    } else {
        shapes
    };
    println!("| shape | type | faer's setting (s) | QR first (s) | speed-up | bidiagonalisation alone (s) |");
    println!("|---|---|---:|---:|---:|---:|");
    for (m, n) in shapes {
        if f32_only {
            compare::<f32>(m, n);
        } else {
            compare::<f64>(m, n);
        }
    }
}

fn compare<T: Scalar>(m: usize, n: usize) {
    // A fixed pseudo-random matrix (an LCG): no structure for the SVD to exploit.
    let mut state = 12345u64;
    let a = Mat::<T>::from_fn(m, n, |_, _| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        T::from_f64((state >> 11) as f64 / (1u64 << 53) as f64)
    });
    let faer_default = <SvdParams as Auto<T>>::auto();
    let qr_first = SvdParams {
        qr_ratio_threshold: 1.0,
        ..faer_default
    };
    let (mut plain, mut qr, mut bidiag) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..3 {
        plain = plain.min(time_thin_svd(&a, faer_default));
        qr = qr.min(time_thin_svd(&a, qr_first));
        bidiag = bidiag.min(time_bidiag(&a));
    }
    let name = if T::PRECISION == svdimg::Precision::F32 {
        "f32"
    } else {
        "f64"
    };
    println!(
        "| {m}×{n} | {name} | {plain:.3} | {qr:.3} | {:.2} | {bidiag:.3} |",
        plain / qr
    );
}

fn time_thin_svd<T: Scalar>(a: &Mat<T>, params: SvdParams) -> f64 {
    let (m, n) = a.shape();
    let r = m.min(n);
    let par = Par::rayon(0);
    let (mut u, mut v) = (Mat::<T>::zeros(m, r), Mat::<T>::zeros(n, r));
    let mut s = faer::diag::Diag::<T>::zeros(r);
    let thin = ComputeSvdVectors::Thin;
    let scratch = svd::svd_scratch::<T>(m, n, thin, thin, par, params.into());
    let mut buffer = MemBuffer::new(scratch);
    let start = Instant::now();
    svd::svd(
        a.as_ref(),
        s.as_mut(),
        Some(u.as_mut()),
        Some(v.as_mut()),
        par,
        MemStack::new(&mut buffer),
        params.into(),
    )
    .expect("svd");
    start.elapsed().as_secs_f64()
}

/// faer's bidiagonalisation of the matrix (transposed to tall, as faer's SVD does).
fn time_bidiag<T: Scalar>(a: &Mat<T>) -> f64 {
    let tall = if a.nrows() >= a.ncols() {
        a.to_owned()
    } else {
        a.transpose().to_owned()
    };
    let (m, n) = tall.shape();
    let mut work = tall;
    let bs = faer::linalg::qr::no_pivoting::factor::recommended_block_size::<T>(m, n);
    let (mut left, mut right) = (Mat::<T>::zeros(bs, n), Mat::<T>::zeros(bs, n - 1));
    let par = Par::rayon(0);
    let scratch = svd::bidiag::bidiag_in_place_scratch::<T>(m, n, par, Default::default());
    let mut buffer = MemBuffer::new(scratch);
    let start = Instant::now();
    svd::bidiag::bidiag_in_place(
        work.as_mut(),
        left.as_mut(),
        right.as_mut(),
        par,
        MemStack::new(&mut buffer),
        Default::default(),
    );
    start.elapsed().as_secs_f64()
}
