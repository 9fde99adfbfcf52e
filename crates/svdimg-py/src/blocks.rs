//! Block products for the Dask randomized SVD (`svdimg.dask`): each task multiplies one
//! block of the big matrix, with the GIL released.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use numpy::{Element, PyReadonlyArray2};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use svdimg::Scalar;

use crate::{matrix, to_numpy};

/// `a @ b`, or `a.T @ b` with `transpose_a`, for C-contiguous float32 or float64 arrays of
/// the same dtype.
#[pyfunction]
pub fn block_product<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    transpose_a: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if let (Ok(a), Ok(b)) = (
        a.extract::<PyReadonlyArray2<f32>>(),
        b.extract::<PyReadonlyArray2<f32>>(),
    ) {
        return product(py, &a, &b, transpose_a);
    }
    if let (Ok(a), Ok(b)) = (
        a.extract::<PyReadonlyArray2<f64>>(),
        b.extract::<PyReadonlyArray2<f64>>(),
    ) {
        return product(py, &a, &b, transpose_a);
    }
    Err(PyValueError::new_err(
        "block_product takes two float32 or two float64 2-D arrays",
    ))
}

fn product<'py, T: Element + Scalar>(
    py: Python<'py>,
    a: &PyReadonlyArray2<'py, T>,
    b: &PyReadonlyArray2<'py, T>,
    transpose_a: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let (a, b) = (matrix(a)?, matrix(b)?);
    let a = if transpose_a { a.transpose() } else { a };
    if a.ncols() != b.nrows() {
        return Err(PyValueError::new_err(format!(
            "shapes {}x{} and {}x{} do not multiply",
            a.nrows(),
            a.ncols(),
            b.nrows(),
            b.ncols()
        )));
    }
    let out = py.detach(|| multiply(a, b));
    Ok(to_numpy(py, out.as_ref(), false).into_any())
}

fn multiply<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> Mat<T> {
    let mut out = Mat::<T>::zeros(a.nrows(), b.ncols());
    matmul(
        out.as_mut(),
        Accum::Replace,
        a,
        b,
        T::from_f64(1.0),
        Par::rayon(0),
    );
    out
}

/// `a @ Ω[col0 : col0 + a.shape[1]]` for the n×l Gaussian test matrix Ω whose row `i` is
/// drawn from `(seed, i)` alone: any block of columns of the big matrix meets the same rows
/// of Ω, so the sketch does not depend on how the matrix is chunked, and Ω is never stored.
#[pyfunction]
pub fn sketch_block<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    col0: u64,
    l: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    with_float!(a, PyReadonlyArray2, "2-D", |x| sketch(
        py, &x, col0, l, seed
    ))
}

fn sketch<'py, T: Element + Scalar>(
    py: Python<'py>,
    a: &PyReadonlyArray2<'py, T>,
    col0: u64,
    l: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let a = matrix(a)?;
    let out = py.detach(|| {
        let omega = Mat::<T>::from_fn(a.ncols(), l, |i, j| {
            T::from_f64(gaussian(seed, col0 + i as u64, j as u64))
        });
        multiply(a, omega.as_ref())
    });
    Ok(to_numpy(py, out.as_ref(), false).into_any())
}

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in (0, 1) from a key.
fn uniform(key: u64) -> f64 {
    ((mix(key) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// Entry (row, col) of the standard Gaussian test matrix for `seed` (Box–Muller on two
/// uniforms keyed by seed, row and the column pair).
fn gaussian(seed: u64, row: u64, col: u64) -> f64 {
    let base = mix(mix(seed) ^ row) ^ mix(col / 2 + 0x5EED);
    let (u1, u2) = (uniform(base), uniform(base ^ 0xA5A5_A5A5_A5A5_A5A5));
    let radius = (-2.0 * u1.ln()).sqrt();
    let angle = 2.0 * std::f64::consts::PI * u2;
    if col.is_multiple_of(2) {
        radius * angle.cos()
    } else {
        radius * angle.sin()
    }
}
