//! The crate's only `unsafe` code: [`Blocks::apply`]'s kernel compiled for AVX-512.
//!
//! The kernel is plain safe Rust ([`Blocks::run`]); compiled inside a function with
//! AVX-512 enabled, its loops use 512-bit registers, which halves the chase back's time
//! where the CPU has them (measured at 2000×3000 f64: 0.7–0.85 s against 1.2–1.5 s with
//! AVX2). Calling such a function is `unsafe` because running its instructions on a CPU
//! without them is undefined behaviour.
//!
//! The one invariant: [`run`] calls `run_avx512` only after the CPU reported every feature
//! it is compiled with (`is_x86_feature_detected!`). pulp's own AVX-512 level would give the
//! same without `unsafe`, but it is one feature for the whole build, and faer's one-stage
//! SVD, compiled with it, failed to converge on a rank-3 260×300 matrix (the test
//! `values::flat_regions_and_repeated_columns`).
#![allow(unsafe_code)]

use faer::MatMut;

use super::blocks::Blocks;
use crate::Scalar;

/// Runs the kernel with AVX-512 and returns `None`, or hands `x` back when the CPU lacks it.
pub(super) fn run<'x, T: Scalar>(blocks: &Blocks<T>, x: MatMut<'x, T>) -> Option<MatMut<'x, T>> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        // SAFETY: the CPU has every feature `run_avx512` is compiled with, checked above.
        unsafe { run_avx512(blocks, x) };
        return None;
    }
    Some(x)
}

/// [`Blocks::run`] with two 512-bit registers per tile row.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
fn run_avx512<T: Scalar>(blocks: &Blocks<T>, x: MatMut<'_, T>) {
    if std::mem::size_of::<T>() == 8 {
        blocks.run::<16>(x);
    } else {
        blocks.run::<32>(x);
    }
}
