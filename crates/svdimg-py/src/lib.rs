//! `svdimg._native`: the Rust half of the svdimg Python package.
//!
//! Thin glue: each function takes C-contiguous NumPy arrays (the Python layer in
//! `python/svdimg/__init__.py` validates, converts and reshapes), releases the GIL, and
//! calls the svdimg library. Arrays are read in place, without a copy.

use faer::linalg::svd::ComputeSvdVectors;
use faer::traits::ComplexField;
use faer::{Mat, MatMut, MatRef, Par};
use num_complex::Complex;
use numpy::ndarray::{Array1, Array2, Array3};
use numpy::{Element, IntoPyArray, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use rayon::prelude::*;
use svdimg::image::DynamicImage;
use svdimg::{complex_svd, ErrorKind, Factors, Limits, Method, Randomized, Scalar};

/// A library error as a Python exception: numerical failures are `RuntimeError`, the rest
/// `ValueError`.
fn py_err(e: svdimg::Error) -> PyErr {
    match e.kind() {
        ErrorKind::Numerical => PyRuntimeError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

fn contiguous<T: Element>(slice: Result<&[T], numpy::AsSliceError>) -> PyResult<&[T]> {
    slice.map_err(|_| PyValueError::new_err("the array must be C-contiguous"))
}

/// A 2-D NumPy array as a faer matrix view, without a copy.
fn matrix<'a, T: Element + Scalar>(a: &'a PyReadonlyArray2<'_, T>) -> PyResult<MatRef<'a, T>> {
    let (m, n) = a.as_array().dim();
    Ok(MatRef::from_row_major_slice(
        contiguous(a.as_slice())?,
        m,
        n,
    ))
}

/// A faer matrix (or its transpose) as a new row-major NumPy array.
fn to_numpy<'py, T: Element + Scalar>(
    py: Python<'py>,
    a: MatRef<'_, T>,
    transpose: bool,
) -> Bound<'py, numpy::PyArray2<T>> {
    let a = if transpose { a.transpose() } else { a };
    Array2::from_shape_fn((a.nrows(), a.ncols()), |(i, j)| a[(i, j)]).into_pyarray(py)
}

/// Calls `$body` with `$a` extracted as a complex64 or complex128 array of type `$array`.
macro_rules! with_complex {
    ($a:expr, $array:ident, $what:literal, |$x:ident| $body:expr) => {
        if let Ok($x) = $a.extract::<$array<Complex<f32>>>() {
            $body
        } else if let Ok($x) = $a.extract::<$array<Complex<f64>>>() {
            $body
        } else {
            Err(PyTypeError::new_err(concat!(
                "expected a complex64 or complex128 ",
                $what,
                " array"
            )))
        }
    };
}

/// Calls `$body` with `$a` extracted as a float32 or float64 array of type `$array`.
macro_rules! with_float {
    ($a:expr, $array:ident, $what:literal, |$x:ident| $body:expr) => {
        if let Ok($x) = $a.extract::<$array<f32>>() {
            $body
        } else if let Ok($x) = $a.extract::<$array<f64>>() {
            $body
        } else {
            Err(PyTypeError::new_err(concat!(
                "expected a float32 or float64 ",
                $what,
                " array"
            )))
        }
    };
}

// Declared after the macros above, which they use.
mod batch;
mod blocks;
mod explorer;

/// The matrices of a (B, M, N) C-contiguous stack as faer views, without a copy.
fn stack<'a, T: Element>(a: &'a PyReadonlyArray3<'_, T>) -> PyResult<Vec<MatRef<'a, T>>> {
    let (b, m, n) = a.as_array().dim();
    let data = contiguous(a.as_slice())?;
    Ok((0..b)
        .map(|i| MatRef::from_row_major_slice(&data[i * m * n..(i + 1) * m * n], m, n))
        .collect())
}

/// `f` on every matrix of a stack, matrices in parallel; each call may use faer's parallel
/// kernels too: one rayon pool, so the cores are shared, not oversubscribed (as svdimg's
/// colour planes are).
fn each_in_parallel<T: Sync, R: Send>(
    views: &[MatRef<'_, T>],
    f: impl Fn(MatRef<'_, T>) -> svdimg::Result<R> + Sync,
) -> svdimg::Result<Vec<R>> {
    views.par_iter().map(|&view| f(view)).collect()
}

/// Matrices of one shape as a new (B, rows, cols) row-major NumPy array, each transposed
/// when `transpose` is set.
fn stack_to_numpy<'py, T: Element + Copy>(
    py: Python<'py>,
    mats: &[Mat<T>],
    rows: usize,
    cols: usize,
    transpose: bool,
) -> Bound<'py, numpy::PyArray3<T>> {
    Array3::from_shape_fn((mats.len(), rows, cols), |(b, i, j)| {
        if transpose {
            mats[b][(j, i)]
        } else {
            mats[b][(i, j)]
        }
    })
    .into_pyarray(py)
}

/// Equal-length rows (one per matrix of a stack) as a new (B, len) NumPy array.
fn rows_to_numpy<'py, T: Element + Copy>(
    py: Python<'py>,
    rows: &[Vec<T>],
    len: usize,
) -> Bound<'py, numpy::PyArray2<T>> {
    Array2::from_shape_fn((rows.len(), len), |(b, i)| rows[b][i]).into_pyarray(py)
}

fn svd_impl<'py, T: Element + Scalar>(
    py: Python<'py>,
    a: PyReadonlyArray3<'py, T>,
    full_matrices: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let (_, m, n) = a.as_array().dim();
    let views = stack(&a)?;
    let parts = py
        .detach(|| {
            each_in_parallel(&views, |view| {
                if full_matrices {
                    Factors::compute_full(view, Par::rayon(0))
                } else {
                    Factors::compute_with(view, Par::rayon(0)).map(|f| {
                        (
                            f.u().to_owned(),
                            f.singular_values().to_vec(),
                            f.v().to_owned(),
                        )
                    })
                }
            })
        })
        .map_err(py_err)?;
    let r = m.min(n);
    let (ucols, vrows) = if full_matrices { (m, n) } else { (r, r) };
    let (mut us, mut ss, mut vs) = (Vec::new(), Vec::new(), Vec::new());
    for (u, s, v) in parts {
        us.push(u);
        ss.push(s);
        vs.push(v);
    }
    Ok((
        stack_to_numpy(py, &us, m, ucols, false),
        rows_to_numpy(py, &ss, r),
        stack_to_numpy(py, &vs, vrows, n, true),
    )
        .into_pyobject(py)?
        .into_any())
}

/// `(U, S, Vh)` of each matrix of a (B, M, N) float stack, matrices in parallel: full
/// (U (B, M, M), Vh (B, N, N)) or thin (r = min(M, N)).
#[pyfunction]
fn svd<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    full_matrices: bool,
) -> PyResult<Bound<'py, PyAny>> {
    with_float!(a, PyReadonlyArray3, "3-D", |x| svd_impl(
        py,
        x,
        full_matrices
    ))
}

fn complex_svd_impl<'py, T: Scalar + Element>(
    py: Python<'py>,
    a: PyReadonlyArray3<'py, Complex<T>>,
    vectors: Option<bool>,
) -> PyResult<Bound<'py, PyAny>>
where
    Complex<T>: Element + ComplexField,
{
    let (_, m, n) = a.as_array().dim();
    let views = stack(&a)?;
    let kind = match vectors {
        None => ComputeSvdVectors::No,
        Some(true) => ComputeSvdVectors::Full,
        Some(false) => ComputeSvdVectors::Thin,
    };
    let parts = py
        .detach(|| each_in_parallel(&views, |view| complex_svd(view, kind, Par::rayon(0))))
        .map_err(py_err)?;
    let r = m.min(n);
    let (mut us, mut ss, mut vs) = (Vec::new(), Vec::new(), Vec::new());
    for (u, s, v) in parts {
        us.extend(u);
        ss.push(s);
        // Vᴴ: the conjugate of V, transposed below.
        vs.extend(v.map(|v| Mat::from_fn(v.nrows(), v.ncols(), |i, j| v[(i, j)].conj())));
    }
    let s = rows_to_numpy(py, &ss, r);
    if vectors.is_none() {
        return Ok(s.into_any());
    }
    let (ucols, vrows) = if vectors == Some(true) {
        (m, n)
    } else {
        (r, r)
    };
    Ok((
        stack_to_numpy(py, &us, m, ucols, false),
        s,
        stack_to_numpy(py, &vs, vrows, n, true),
    )
        .into_pyobject(py)?
        .into_any())
}

/// The SVD of each matrix of a (B, M, N) complex stack, matrices in parallel:
/// `(U, S, Vh)` full (`full_matrices`) or thin, or `S` alone when `compute_uv` is false.
#[pyfunction]
fn complex_svd_stack<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    full_matrices: bool,
    compute_uv: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let vectors = compute_uv.then_some(full_matrices);
    with_complex!(a, PyReadonlyArray3, "3-D", |x| complex_svd_impl(
        py, x, vectors
    ))
}

fn singular_values_impl<'py, T: Element + Scalar>(
    py: Python<'py>,
    a: PyReadonlyArray3<'py, T>,
) -> PyResult<Bound<'py, PyAny>> {
    let (_, m, n) = a.as_array().dim();
    let views = stack(&a)?;
    let ss = py
        .detach(|| each_in_parallel(&views, |view| svdimg::singular_values(view, Par::rayon(0))))
        .map_err(py_err)?;
    let r = m.min(n);
    Ok(rows_to_numpy(py, &ss, r).into_any())
}

/// The singular values of each matrix of a (B, M, N) float stack, descending: (B, r).
#[pyfunction]
fn singular_values<'py>(py: Python<'py>, a: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    with_float!(a, PyReadonlyArray3, "3-D", |x| singular_values_impl(py, x))
}

fn parse_method(method: &str) -> PyResult<Method> {
    match method {
        "auto" => Ok(Method::Auto),
        "exact" => Ok(Method::Exact),
        "randomized" => Ok(Method::Randomized),
        other => Err(PyValueError::new_err(format!(
            "method must be 'auto', 'exact' or 'randomized', got '{other}'"
        ))),
    }
}

fn truncated_impl<'py, T: Element + Scalar>(
    py: Python<'py>,
    a: PyReadonlyArray2<'py, T>,
    k: usize,
    method: Method,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let view = matrix(&a)?;
    let settings = Randomized {
        seed,
        ..Randomized::default()
    };
    let f = py
        .detach(|| Factors::compute_truncated(view, k, method, &settings, Par::rayon(0)))
        .map_err(py_err)?;
    let k = k.min(f.rank());
    let s = Array1::from_vec(f.singular_values()[..k].to_vec()).into_pyarray(py);
    let u = to_numpy(py, f.u().get(.., ..k), false);
    let vh = to_numpy(py, f.v().get(.., ..k), true);
    Ok((u, s, vh).into_pyobject(py)?.into_any())
}

/// `(U, S, Vh)` with only the first k components, by `method` (`auto`, `exact` or
/// `randomized`).
#[pyfunction]
fn truncated_svd<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    k: usize,
    method: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let method = parse_method(method)?;
    with_float!(a, PyReadonlyArray2, "2-D", |x| truncated_impl(
        py, x, k, method, seed
    ))
}

fn approximate_impl<'py, T: Element + Scalar>(
    py: Python<'py>,
    planes: PyReadonlyArray3<'py, T>,
    rank: usize,
    method: Method,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let (c, m, n) = planes.as_array().dim();
    let data = contiguous(planes.as_slice())?;
    let settings = Randomized {
        seed,
        ..Randomized::default()
    };
    let out = py
        .detach(|| -> svdimg::Result<Vec<T>> {
            let mut out = vec![T::from_f64(0.0); c * m * n];
            for (plane, dst) in data.chunks(m * n).zip(out.chunks_mut(m * n)) {
                let a = MatRef::from_row_major_slice(plane, m, n);
                let f = Factors::compute_truncated(a, rank, method, &settings, Par::rayon(0))?;
                f.reconstruct_into(
                    rank,
                    MatMut::from_row_major_slice_mut(dst, m, n),
                    Par::rayon(0),
                );
            }
            Ok(out)
        })
        .map_err(py_err)?;
    let out = Array3::from_shape_vec((c, m, n), out).expect("c·m·n values");
    Ok(out.into_pyarray(py).into_any())
}

/// The rank-k approximation of each plane of a (C, H, W) float array, unclipped.
#[pyfunction]
fn approximate_planes<'py>(
    py: Python<'py>,
    planes: &Bound<'py, PyAny>,
    rank: usize,
    method: &str,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let method = parse_method(method)?;
    if let Ok(x) = planes.extract::<PyReadonlyArray3<f32>>() {
        approximate_impl(py, x, rank, method, seed)
    } else {
        let x = planes.extract::<PyReadonlyArray3<f64>>()?;
        approximate_impl(py, x, rank, method, seed)
    }
}

/// Interleaved samples as an (H, W) or (H, W, C) array.
fn samples<'py, T: Element + Copy>(
    py: Python<'py>,
    raw: &[T],
    h: usize,
    w: usize,
) -> Bound<'py, PyAny> {
    let c = raw.len() / (h * w).max(1);
    if c == 1 {
        Array2::from_shape_vec((h, w), raw.to_vec())
            .expect("h·w samples")
            .into_pyarray(py)
            .into_any()
    } else {
        Array3::from_shape_vec((h, w, c), raw.to_vec())
            .expect("h·w·c samples")
            .into_pyarray(py)
            .into_any()
    }
}

/// An image as a uint8 or uint16 array of its own channels.
fn image_array<'py>(py: Python<'py>, image: &DynamicImage) -> Bound<'py, PyAny> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    match image {
        DynamicImage::ImageLuma8(b) => samples(py, b.as_raw(), h, w),
        DynamicImage::ImageLumaA8(b) => samples(py, b.as_raw(), h, w),
        DynamicImage::ImageRgb8(b) => samples(py, b.as_raw(), h, w),
        DynamicImage::ImageRgba8(b) => samples(py, b.as_raw(), h, w),
        DynamicImage::ImageLuma16(b) => samples(py, b.as_raw(), h, w),
        DynamicImage::ImageLumaA16(b) => samples(py, b.as_raw(), h, w),
        DynamicImage::ImageRgb16(b) => samples(py, b.as_raw(), h, w),
        DynamicImage::ImageRgba16(b) => samples(py, b.as_raw(), h, w),
        other if other.color().has_alpha() => samples(py, other.to_rgba16().as_raw(), h, w),
        other => samples(py, other.to_rgb16().as_raw(), h, w),
    }
}

/// Decodes image file bytes: `(array, metadata)`. With `allow_truncated`, a file cut short
/// decodes when the decoder can fill it in, and `metadata["truncated"]` says where it ends.
#[pyfunction]
#[pyo3(signature = (data, allow_truncated = false))]
fn decode<'py>(
    py: Python<'py>,
    data: &[u8],
    allow_truncated: bool,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
    let options = svdimg::DecodeOptions {
        limits: Limits::default(),
        allow_truncated,
    };
    let picture = py
        .detach(|| svdimg::Picture::decode_with(data, &options))
        .map_err(py_err)?;
    let meta = PyDict::new(py);
    meta.set_item("width", picture.width())?;
    meta.set_item("height", picture.height())?;
    meta.set_item("bit_depth", picture.bit_depth())?;
    meta.set_item("color", picture.color_model().as_str())?;
    let format = picture.format().map(|f| format!("{f:?}").to_lowercase());
    meta.set_item("format", format)?;
    meta.set_item("truncated", picture.truncation().map(|t| t.to_string()))?;
    Ok((image_array(py, picture.image()), meta))
}

/// Compresses (C, H, W) float32 planes on the [0, 1] scale (C = 1 or 3) and an optional
/// (H, W) alpha plane to `.svdz` bytes.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn compress<'py>(
    py: Python<'py>,
    planes: PyReadonlyArray3<'py, f32>,
    alpha: Option<PyReadonlyArray2<'py, f32>>,
    bit_depth: u8,
    target: &str,
    value: f64,
    color: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    use svdimg::{ColorChoice, Plane, PlaneName, Target};
    let (c, h, w) = planes.as_array().dim();
    let names: &[PlaneName] = match c {
        1 => &[PlaneName::Gray],
        3 => &[PlaneName::R, PlaneName::G, PlaneName::B],
        _ => return Err(PyValueError::new_err("an image has 1 or 3 colour channels")),
    };
    let data = contiguous(planes.as_slice())?;
    let alpha = match &alpha {
        Some(a) => Some(contiguous(a.as_slice())?.to_vec()),
        None => None,
    };
    let target = match target {
        "rank" => Target::Rank(value as usize),
        "energy" => Target::Energy(value),
        "psnr" => Target::Psnr(value),
        "max_bytes" => Target::MaxBytes(value as u64),
        other => return Err(PyValueError::new_err(format!("unknown target '{other}'"))),
    };
    let color = match color {
        "auto" => ColorChoice::Auto,
        "rgb" => ColorChoice::Rgb,
        "ycbcr" => ColorChoice::YCbCr,
        "gray" => ColorChoice::Gray,
        other => {
            return Err(PyValueError::new_err(format!(
                "color must be 'auto', 'rgb', 'ycbcr' or 'gray', got '{other}'"
            )))
        }
    };
    let planes = svdimg::Planes {
        width: w,
        height: h,
        bit_depth,
        color: names
            .iter()
            .zip(data.chunks(w * h))
            .map(|(&name, d)| Plane {
                name,
                data: d.to_vec(),
            })
            .collect(),
        alpha: alpha.map(|data| Plane {
            name: PlaneName::Alpha,
            data,
        }),
    };
    let options = svdimg::CompressOptions {
        target,
        color,
        ..Default::default()
    };
    let c = py
        .detach(|| svdimg::compress(&planes, &options))
        .map_err(py_err)?;
    Ok(PyBytes::new(py, &c.bytes))
}

/// Decodes an `.svdz` file (`data`, or the file at `path`, of which only the bytes the
/// decode needs are read) to a uint8 or uint16 (H, W) or (H, W, C) array, and what was
/// read: `components_used`, `components_total`, `bytes_read`, `file_bytes`, `truncated`
/// (the data ended before the bytes needed) and `asked` (the cut is `max_bytes`'s).
#[pyfunction]
#[pyo3(signature = (data, path, rank=None, max_bytes=None, allow_truncated=false))]
fn decompress<'py>(
    py: Python<'py>,
    data: Option<&[u8]>,
    path: Option<std::path::PathBuf>,
    rank: Option<usize>,
    max_bytes: Option<u64>,
    allow_truncated: bool,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
    let mut options = svdimg::DecompressOptions {
        rank,
        limits: Limits::default(),
        allow_truncated,
    };
    let bytes: std::borrow::Cow<[u8]> = match (data, &path) {
        (Some(d), _) => {
            let n = max_bytes.map_or(d.len(), |m| d.len().min(m as usize));
            std::borrow::Cow::Borrowed(&d[..n])
        }
        (None, Some(p)) => {
            let file = std::fs::File::open(p).map_err(|e| {
                pyo3::exceptions::PyOSError::new_err(format!("{}: {e}", p.display()))
            })?;
            let read =
                py.detach(|| svdimg::read_svdz(std::io::BufReader::new(file), &options, max_bytes));
            std::borrow::Cow::Owned(read.map_err(py_err)?)
        }
        (None, None) => return Err(PyTypeError::new_err("decompress needs data or a path")),
    };
    let asked = max_bytes == Some(bytes.len() as u64);
    options.allow_truncated |= asked;
    let (image, d) = py
        .detach(|| -> svdimg::Result<(DynamicImage, svdimg::Decompressed)> {
            let d = svdimg::decompress_prefix(&bytes, &options)?;
            let p = &d.planes;
            let color: Vec<&[f32]> = p.color.iter().map(|c| &c.data[..]).collect();
            let alpha = p.alpha.as_ref().map(|a| &a.data[..]);
            let image = svdimg::to_image(p.width, p.height, &color, alpha, p.bit_depth);
            Ok((image, d))
        })
        .map_err(py_err)?;
    let meta = PyDict::new(py);
    meta.set_item("components_used", d.used())?;
    meta.set_item("components_total", d.total())?;
    meta.set_item("bytes_read", bytes.len())?;
    meta.set_item("file_bytes", d.info.bytes)?;
    meta.set_item("truncated", d.truncated)?;
    meta.set_item("asked", asked)?;
    Ok((image_array(py, &image), meta))
}

/// PSNR in dB of two equally long float64 vectors on the [0, 1] scale.
#[pyfunction]
fn psnr(
    py: Python<'_>,
    a: PyReadonlyArray1<'_, f64>,
    b: PyReadonlyArray1<'_, f64>,
) -> PyResult<f64> {
    let (a, b) = (contiguous(a.as_slice())?, contiguous(b.as_slice())?);
    Ok(py.detach(|| svdimg::psnr(&[a], &[b])))
}

/// Mean SSIM of two (H, W) float64 planes on the [0, 1] scale.
#[pyfunction]
fn ssim(
    py: Python<'_>,
    a: PyReadonlyArray2<'_, f64>,
    b: PyReadonlyArray2<'_, f64>,
) -> PyResult<f64> {
    let (h, w) = a.as_array().dim();
    let (a, b) = (contiguous(a.as_slice())?, contiguous(b.as_slice())?);
    Ok(py.detach(|| svdimg::ssim(a, b, w, h)))
}

/// The Eckart–Young optimum `sqrt(Σ_{i≥k} sᵢ²)` (0-based i) of singular values `s`.
#[pyfunction]
fn optimal_error(s: PyReadonlyArray1<'_, f64>, k: usize) -> PyResult<f64> {
    Ok(svdimg::optimal_error(contiguous(s.as_slice())?, k))
}

/// The built-in sample photo's PNG bytes.
#[pyfunction]
fn sample_png(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, svdimg::SAMPLE_PNG)
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(svd, m)?)?;
    m.add_function(wrap_pyfunction!(singular_values, m)?)?;
    m.add_function(wrap_pyfunction!(complex_svd_stack, m)?)?;
    m.add_function(wrap_pyfunction!(truncated_svd, m)?)?;
    m.add_function(wrap_pyfunction!(approximate_planes, m)?)?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add_function(wrap_pyfunction!(compress, m)?)?;
    m.add_function(wrap_pyfunction!(decompress, m)?)?;
    m.add_function(wrap_pyfunction!(psnr, m)?)?;
    m.add_function(wrap_pyfunction!(ssim, m)?)?;
    m.add_function(wrap_pyfunction!(optimal_error, m)?)?;
    m.add_function(wrap_pyfunction!(sample_png, m)?)?;
    m.add_function(wrap_pyfunction!(batch::settings_line, m)?)?;
    m.add_function(wrap_pyfunction!(batch::settings_hash, m)?)?;
    m.add_function(wrap_pyfunction!(batch::transcode, m)?)?;
    m.add_function(wrap_pyfunction!(batch::working_set, m)?)?;
    m.add_function(wrap_pyfunction!(blocks::block_product, m)?)?;
    m.add_function(wrap_pyfunction!(blocks::sketch_block, m)?)?;
    m.add_function(wrap_pyfunction!(explorer::explorer_page, m)?)?;
    m.add_function(wrap_pyfunction!(explorer::png_u8, m)?)?;
    m.add_function(wrap_pyfunction!(explorer::png_u16, m)?)?;
    m.add_class::<explorer::ExplorerCore>()?;
    Ok(())
}
