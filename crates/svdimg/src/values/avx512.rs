//! The crate's only `unsafe` code: [`Blocks::apply`]'s kernel for AVX-512.
//!
//! The kernel applies one block reflector ([`Block`]) to panels of two 512-bit registers'
//! worth of columns (16 f64 or 32 f32), in register tiles written with the CPU's
//! intrinsics:
//! - `W = Vᵀ X`: 8 slots at a time, 16 registers of sums carried down the rows of `X`; each
//!   row is two loads and 8 broadcasts for 16 FMAs;
//! - `X −= (V T) W`: 8 rows at a time in 16 registers, each slot two loads of `W` and 8
//!   broadcasts for 16 FMAs.
//!
//! The same loops in plain Rust (`Block::apply`, used where the CPU lacks AVX-512) are
//! vectorised by LLVM across the wrong dimension, with gathers, as soon as a tile holds 16
//! sums of two registers (20 times slower); with one register a row they ran at 0.55–0.6 s
//! for one side at n = 2000 on one thread, the intrinsics at 0.44–0.62 s, and a single
//! block applied over and over in L1 at 3.3 against 4.1 G FMA/s.
//!
//! The invariants:
//! - [`run`] calls the functions compiled with AVX-512 only after the CPU reported every
//!   feature they are compiled with (`is_x86_feature_detected!`);
//! - every load and store is of 8 f64 or 16 f32 within a slice checked to hold them
//!   (`chunks_exact` of a panel's or a block's rows).
//!
//! pulp's own AVX-512 level would give safe wrappers, but it is one feature for the whole
//! build, and faer's one-stage SVD, compiled with it, failed to converge on a rank-3 260×300
//! matrix (the test `values::flat_regions_and_repeated_columns`).
#![allow(unsafe_code)]

#[cfg(target_arch = "x86_64")]
use std::any::Any;

use faer::MatMut;

use super::blocks::Blocks;
use crate::Scalar;

/// Runs the kernel with AVX-512 and returns `None`, or hands `x` back when the CPU lacks it.
pub(super) fn run<'x, T: Scalar>(blocks: &Blocks<T>, x: MatMut<'x, T>) -> Option<MatMut<'x, T>> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has every feature `run_avx512` is compiled with, checked above.
        unsafe { run_avx512(blocks, x) };
        return None;
    }
    Some(x)
}

/// [`Blocks::run_with`] with the kernel of f64 or f32.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn run_avx512<T: Scalar>(blocks: &Blocks<T>, x: MatMut<'_, T>) {
    match T::PRECISION {
        crate::Precision::F64 => blocks.run_with::<16>(x, |block, panels, stride| {
            // The closure has `run_avx512`'s features: the call is safe.
            x86::block_f64(cast(block), cast_mut::<_, Vec<f64>>(panels), stride)
        }),
        crate::Precision::F32 => blocks.run_with::<32>(x, |block, panels, stride| {
            x86::block_f32(cast(block), cast_mut::<_, Vec<f32>>(panels), stride)
        }),
    }
}

/// `x` as the type it is: T is f64 or f32 as `T::PRECISION` says.
#[cfg(target_arch = "x86_64")]
fn cast<X: Any, Y: Any>(x: &X) -> &Y {
    (x as &dyn Any)
        .downcast_ref::<Y>()
        .expect("the type T::PRECISION names")
}

/// [`cast`] for a mutable reference.
#[cfg(target_arch = "x86_64")]
fn cast_mut<X: Any, Y: Any>(x: &mut X) -> &mut Y {
    (x as &mut dyn Any)
        .downcast_mut::<Y>()
        .expect("the type T::PRECISION names")
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::super::blocks::{Block, ROWS, SLOTS};

    /// One kernel per precision, from one body.
    macro_rules! block_kernel {
        ($name:ident, $t:ty, $lanes:expr, $zero:ident, $set1:ident, $fmadd:ident, $load:ident, $store:ident) => {
            /// `X ← (I − V T Vᵀ) X` on the block's rows of every panel (two registers wide).
            #[target_feature(enable = "avx512f")]
            pub(super) fn $name(block: &Block<$t>, panels: &mut [$t], stride: usize) {
                const L: usize = $lanes;
                const C: usize = 2 * L;
                let load = |x: &[$t]| {
                    let x: &[$t; L] = x.try_into().unwrap();
                    // SAFETY: `x` holds the L lanes read.
                    unsafe { $load(x.as_ptr()) }
                };
                let (first, rows) = (block.first, block.rows);
                for panel in panels.chunks_exact_mut(stride * C) {
                    let x = &mut panel[first * C..(first + rows) * C];
                    // W = Vᵀ X, 8 slots at a time.
                    let mut w = [[$zero(); 2]; SLOTS];
                    for half in 0..SLOTS / ROWS {
                        let mut acc = [[$zero(); 2]; ROWS];
                        let (lo, hi) = block.reach[half];
                        let (x, v) = (&x[lo * C..hi * C], &block.v[lo * SLOTS..hi * SLOTS]);
                        for (row, v) in x.chunks_exact(C).zip(v.chunks_exact(SLOTS)) {
                            let v: &[$t; ROWS] = v[half * ROWS..][..ROWS].try_into().unwrap();
                            let (r0, r1) = (load(&row[..L]), load(&row[L..]));
                            for (a, &c) in acc.iter_mut().zip(v) {
                                let c = $set1(c);
                                a[0] = $fmadd(c, r0, a[0]);
                                a[1] = $fmadd(c, r1, a[1]);
                            }
                        }
                        w[half * ROWS..][..ROWS].copy_from_slice(&acc);
                    }
                    // X −= (V T) W, ROWS rows at a time.
                    for (x, vt) in x
                        .chunks_exact_mut(ROWS * C)
                        .zip(block.vt.chunks_exact(ROWS * SLOTS))
                    {
                        let mut acc = [[$zero(); 2]; ROWS];
                        for (a, row) in acc.iter_mut().zip(x.chunks_exact(C)) {
                            *a = [load(&row[..L]), load(&row[L..])];
                        }
                        for (k, wk) in w.iter().enumerate() {
                            for (i, a) in acc.iter_mut().enumerate() {
                                let c = $set1(vt[i * SLOTS + k]);
                                a[0] = $fmadd(c, wk[0], a[0]);
                                a[1] = $fmadd(c, wk[1], a[1]);
                            }
                        }
                        for (a, row) in acc.iter().zip(x.chunks_exact_mut(C)) {
                            let row: &mut [$t; C] = row.try_into().unwrap();
                            // SAFETY: `row` holds the 2 L lanes written.
                            unsafe {
                                $store(row.as_mut_ptr(), a[0]);
                                $store(row.as_mut_ptr().add(L), a[1]);
                            }
                        }
                    }
                }
            }
        };
    }

    block_kernel!(
        block_f64,
        f64,
        8,
        _mm512_setzero_pd,
        _mm512_set1_pd,
        _mm512_fmadd_pd,
        _mm512_loadu_pd,
        _mm512_storeu_pd
    );
    block_kernel!(
        block_f32,
        f32,
        16,
        _mm512_setzero_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_loadu_ps,
        _mm512_storeu_ps
    );
}
