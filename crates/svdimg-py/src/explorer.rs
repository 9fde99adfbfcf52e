//! The notebook widget's native half: one picture and the exact factorisation of the colour
//! model on screen (one at a time), answering the explorer's questions as `svdimg serve`
//! does, through the same library calls.
//!
//! The widget asks for pixels from the kernel's main thread and for numbers (PSNR and SSIM
//! over every pixel) from a worker thread, at once: the factors are shared behind a lock,
//! and the numbers run on a pool of one thread of their own, so that a render never waits
//! behind them (as `svdimg serve` runs them in a lane of their own).

use std::sync::{Arc, Mutex, OnceLock};

use faer::Par;
use numpy::PyReadonlyArray3;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use svdimg::image::{DynamicImage, ImageBuffer};
use svdimg::{Limits, Part, Picture, Planes, StoredColor, View};

use crate::{contiguous, py_err};

/// One picture in the explorer, and its factors in one colour model.
#[pyclass(module = "svdimg._native", frozen)]
pub struct ExplorerCore {
    planes: Arc<Planes<f32>>,
    input_bytes: u64,
    view: Mutex<Option<Arc<View>>>,
}

/// The numbers' own pool: one thread.
fn side_pool() -> PyResult<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "svdimg-numbers".into())
            .build()
            .ok()
    })
    .as_ref()
    .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no thread for the numbers"))
}

fn color_of(name: &str) -> PyResult<StoredColor> {
    match name {
        "gray" => Ok(StoredColor::Gray),
        "rgb" => Ok(StoredColor::Rgb),
        "ycbcr" => Ok(StoredColor::YCbCr),
        other => Err(PyValueError::new_err(format!(
            "unknown colour model {other:?} (use gray, rgb or ycbcr)"
        ))),
    }
}

/// An (H, W, C) array of samples as an image: C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
fn image_of<P>(
    samples: &[P::Subpixel],
    w: u32,
    h: u32,
) -> PyResult<ImageBuffer<P, Vec<P::Subpixel>>>
where
    P: svdimg::image::Pixel,
{
    ImageBuffer::from_raw(w, h, samples.to_vec())
        .ok_or_else(|| PyValueError::new_err("the samples do not fill the image"))
}

fn dynamic_u8(a: &[u8], w: u32, h: u32, c: usize) -> PyResult<DynamicImage> {
    use svdimg::image::{Luma, LumaA, Rgb, Rgba};
    Ok(match c {
        1 => DynamicImage::ImageLuma8(image_of::<Luma<u8>>(a, w, h)?),
        2 => DynamicImage::ImageLumaA8(image_of::<LumaA<u8>>(a, w, h)?),
        3 => DynamicImage::ImageRgb8(image_of::<Rgb<u8>>(a, w, h)?),
        4 => DynamicImage::ImageRgba8(image_of::<Rgba<u8>>(a, w, h)?),
        _ => return Err(PyValueError::new_err(format!("{c} channels: use 1 to 4"))),
    })
}

fn dynamic_u16(a: &[u16], w: u32, h: u32, c: usize) -> PyResult<DynamicImage> {
    use svdimg::image::{Luma, LumaA, Rgb, Rgba};
    Ok(match c {
        1 => DynamicImage::ImageLuma16(image_of::<Luma<u16>>(a, w, h)?),
        2 => DynamicImage::ImageLumaA16(image_of::<LumaA<u16>>(a, w, h)?),
        3 => DynamicImage::ImageRgb16(image_of::<Rgb<u16>>(a, w, h)?),
        4 => DynamicImage::ImageRgba16(image_of::<Rgba<u16>>(a, w, h)?),
        _ => return Err(PyValueError::new_err(format!("{c} channels: use 1 to 4"))),
    })
}

impl ExplorerCore {
    fn from_picture(picture: &Picture, input_bytes: u64) -> Self {
        ExplorerCore {
            planes: Arc::new(picture.planes::<f32>(false)),
            input_bytes,
            view: Mutex::new(None),
        }
    }

    /// The factors held now.
    fn current(&self) -> Option<Arc<View>> {
        self.view.lock().map_or(None, |v| v.clone())
    }

    fn view(&self) -> PyResult<Arc<View>> {
        self.current()
            .ok_or_else(|| PyValueError::new_err("no colour model is factored yet"))
    }
}

#[pymethods]
impl ExplorerCore {
    /// A picture from image file bytes (PNG, JPEG, ...).
    #[staticmethod]
    fn from_file_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let picture = py
            .detach(|| Picture::decode(data, &Limits::default()))
            .map_err(py_err)?;
        Ok(Self::from_picture(&picture, data.len() as u64))
    }

    /// A picture from a C-contiguous (H, W, C) uint8 array.
    #[staticmethod]
    fn from_u8(a: PyReadonlyArray3<'_, u8>) -> PyResult<Self> {
        let (h, w, c) = a.as_array().dim();
        let image = dynamic_u8(contiguous(a.as_slice())?, w as u32, h as u32, c)?;
        Ok(Self::from_picture(
            &Picture::from_image(image),
            (h * w * c) as u64,
        ))
    }

    /// A picture from a C-contiguous (H, W, C) uint16 array.
    #[staticmethod]
    fn from_u16(a: PyReadonlyArray3<'_, u16>) -> PyResult<Self> {
        let (h, w, c) = a.as_array().dim();
        let image = dynamic_u16(contiguous(a.as_slice())?, w as u32, h as u32, c)?;
        Ok(Self::from_picture(
            &Picture::from_image(image),
            (2 * h * w * c) as u64,
        ))
    }

    #[getter]
    fn width(&self) -> usize {
        self.planes.width
    }

    #[getter]
    fn height(&self) -> usize {
        self.planes.height
    }

    #[getter]
    fn is_color(&self) -> bool {
        self.planes.color.len() == 3
    }

    #[getter]
    fn has_alpha(&self) -> bool {
        self.planes.alpha.is_some()
    }

    #[getter]
    fn bit_depth(&self) -> u8 {
        self.planes.bit_depth
    }

    #[getter]
    fn input_bytes(&self) -> u64 {
        self.input_bytes
    }

    /// The colour model factored now, or None.
    #[getter]
    fn color(&self) -> Option<&'static str> {
        self.current().map(|v| v.color().as_str())
    }

    /// Bytes held by the factors (U, Σ, V of every plane).
    #[getter]
    fn factor_bytes(&self) -> u64 {
        self.current().map_or(0, |v| v.heap_bytes())
    }

    /// Bytes held by the picture's planes.
    #[getter]
    fn picture_bytes(&self) -> u64 {
        let samples = self.planes.color.len() + usize::from(self.planes.alpha.is_some());
        (samples * self.planes.width * self.planes.height * 4) as u64
    }

    /// Factors the picture in colour model `color` (exact, every plane), replacing the
    /// factors of another model; nothing to do if they are this model's already.
    fn factor(&self, py: Python<'_>, color: &str) -> PyResult<()> {
        let color = color_of(color)?;
        {
            let mut held = self
                .view
                .lock()
                .map_err(|_| PyValueError::new_err("the factors were lost"))?;
            if held.as_ref().is_some_and(|v| v.color() == color) {
                return Ok(());
            }
            // The old factors go first: the kernel holds one factorisation at a time.
            *held = None;
        }
        let planes = Arc::clone(&self.planes);
        let view = py
            .detach(move || View::exact(&planes, color, Par::rayon(0)))
            .map_err(py_err)?;
        if let Ok(mut held) = self.view.lock() {
            *held = Some(Arc::new(view));
        }
        Ok(())
    }

    /// The number of components of each plane.
    #[getter]
    fn max_rank(&self) -> PyResult<usize> {
        Ok(self.view()?.max_rank())
    }

    /// The approximation at `ranks` as RGBA8 pixels reduced `scale` times:
    /// `(pixels, width, height, ranks used)`.
    fn render_rgba<'py>(
        &self,
        py: Python<'py>,
        ranks: Vec<usize>,
        scale: usize,
    ) -> PyResult<(Bound<'py, PyBytes>, usize, usize, Vec<usize>)> {
        let view = self.view()?;
        let planes = Arc::clone(&self.planes);
        let s = scale.max(1);
        let (w, h) = view.scaled_size(s);
        let (pixels, used) = py
            .detach(move || {
                let alpha = planes.alpha.as_ref().map(|a| &a.data[..]);
                view.render_rgba8_scaled(&ranks, alpha, s)
            })
            .map_err(py_err)?;
        Ok((PyBytes::new(py, &pixels), w, h, used))
    }

    /// The original (its gray plane when `gray`) as RGBA8 pixels reduced `scale` times:
    /// `(pixels, width, height)`.
    fn original_rgba<'py>(
        &self,
        py: Python<'py>,
        gray: bool,
        scale: usize,
    ) -> (Bound<'py, PyBytes>, usize, usize) {
        let planes = Arc::clone(&self.planes);
        let color = if gray {
            StoredColor::Gray
        } else {
            StoredColor::Rgb
        };
        let picture = py.detach(move || svdimg::original_scaled(&planes, color, scale));
        let (w, h) = (picture.width() as usize, picture.height() as usize);
        (PyBytes::new(py, picture.to_rgba8().as_raw()), w, h)
    }

    /// The approximation at `ranks` as PNG bytes, at the picture's bit depth with its
    /// alpha, as `svdimg approx` writes it.
    fn png<'py>(&self, py: Python<'py>, ranks: Vec<usize>) -> PyResult<Bound<'py, PyBytes>> {
        let view = self.view()?;
        let planes = Arc::clone(&self.planes);
        let bytes = py
            .detach(move || {
                let alpha = planes.alpha.as_ref().map(|a| &a.data[..]);
                let r = view.render(&ranks, alpha, planes.bit_depth, Par::rayon(0))?;
                svdimg::encode(&r.image, svdimg::OutputFormat::from_extension("png")?)
            })
            .map_err(py_err)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// `(psnr_db, ssim, energy per plane, ranks used)` of the approximation at `ranks` in
    /// colour model `color`, computed on the numbers' own thread. A ValueError when the
    /// factors held are another model's (the setting changed meanwhile).
    fn quality(
        &self,
        py: Python<'_>,
        ranks: Vec<usize>,
        color: &str,
    ) -> PyResult<(f64, f64, Vec<f64>, Vec<usize>)> {
        let view = self.view()?;
        if view.color() != color_of(color)? {
            return Err(PyValueError::new_err(format!(
                "superseded: the factors held are {}'s, not {color}'s",
                view.color().as_str()
            )));
        }
        let planes = Arc::clone(&self.planes);
        let pool = side_pool()?;
        py.detach(move || {
            pool.install(|| {
                let q = view.quality(&planes, &ranks, Par::rayon(0))?;
                Ok((q.psnr_db, q.ssim, q.energy, view.ranks_for(&ranks)?))
            })
        })
        .map_err(py_err)
    }

    /// The singular values of each plane.
    fn singular_values(&self) -> PyResult<Vec<Vec<f32>>> {
        Ok(self
            .view()?
            .factors()
            .iter()
            .map(|f| f.singular_values().to_vec())
            .collect())
    }

    /// `(σᵢ, uᵢ, vᵢ)` of plane `plane`, component `i` (1-based).
    fn vectors(&self, plane: usize, i: usize) -> PyResult<(f32, Vec<f32>, Vec<f32>)> {
        let view = self.view()?;
        let f = view.factors().get(plane).ok_or_else(|| {
            PyValueError::new_err(format!(
                "plane={plane}: the {} model has {} planes",
                view.color().as_str(),
                view.factors().len()
            ))
        })?;
        if i == 0 || i > f.rank() {
            return Err(PyValueError::new_err(format!(
                "i={i}: components are numbered 1 to {}",
                f.rank()
            )));
        }
        let col = |m: faer::MatRef<'_, f32>| m.col(i - 1).iter().copied().collect();
        Ok((f.singular_values()[i - 1], col(f.u()), col(f.v())))
    }

    /// A component tile as PNG bytes and its peak: `part` is `"i"` (component `index`),
    /// `"sum"` (A_k, k = `index`) or `"remainder"` (A − A_k).
    fn tile<'py>(
        &self,
        py: Python<'py>,
        plane: usize,
        part: &str,
        index: usize,
        side: usize,
    ) -> PyResult<(Bound<'py, PyBytes>, f32)> {
        let part = match part {
            "i" => Part::One(index),
            "sum" => Part::Sum(index),
            "remainder" => Part::Remainder(index),
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown part {other:?} (use i, sum or remainder)"
                )))
            }
        };
        let view = self.view()?;
        let planes = Arc::clone(&self.planes);
        let (bytes, peak) = py
            .detach(move || {
                let tile = view.part_tile(&planes, plane, part, side, Par::rayon(0))?;
                let png = svdimg::encode(
                    &DynamicImage::ImageRgb8(tile.image),
                    svdimg::OutputFormat::from_extension("png")?,
                )?;
                Ok((png, tile.peak))
            })
            .map_err(py_err)?;
        Ok((PyBytes::new(py, &bytes), peak))
    }

    /// The smallest k (the same for every plane) that reaches `psnr_db`: `(k, None)`, or
    /// `(None, best PSNR)` when none does. On the numbers' own thread.
    fn rank_for_psnr(
        &self,
        py: Python<'_>,
        psnr_db: f64,
    ) -> PyResult<(Option<usize>, Option<f64>)> {
        let view = self.view()?;
        let planes = Arc::clone(&self.planes);
        let pool = side_pool()?;
        let found = py
            .detach(move || pool.install(|| view.rank_for_psnr(&planes, psnr_db, Par::rayon(0))))
            .map_err(py_err)?;
        Ok(match found {
            Ok(k) => (Some(k), None),
            Err(best) => (None, Some(best)),
        })
    }
}

/// The explorer's page, as `svdimg serve` has it: `(html, css, modules)`, where modules
/// maps file names to sources and holds the widget's entry module `widget.js` too.
#[pyfunction]
pub fn explorer_page() -> (
    &'static str,
    &'static str,
    Vec<(&'static str, &'static str)>,
) {
    let mut modules: Vec<_> = svdimg::PAGE_MODULES.to_vec();
    modules.push(svdimg::WIDGET_MODULE);
    (svdimg::PAGE_HTML, svdimg::PAGE_CSS, modules)
}

fn png_of(py: Python<'_>, image: DynamicImage) -> PyResult<Bound<'_, PyBytes>> {
    let bytes = py
        .detach(move || svdimg::encode(&image, svdimg::OutputFormat::from_extension("png")?))
        .map_err(py_err)?;
    Ok(PyBytes::new(py, &bytes))
}

/// PNG bytes of a C-contiguous (H, W, C) uint8 array (C = 1 to 4).
#[pyfunction]
pub fn png_u8<'py>(py: Python<'py>, a: PyReadonlyArray3<'_, u8>) -> PyResult<Bound<'py, PyBytes>> {
    let (h, w, c) = a.as_array().dim();
    png_of(
        py,
        dynamic_u8(contiguous(a.as_slice())?, w as u32, h as u32, c)?,
    )
}

/// PNG bytes of a C-contiguous (H, W, C) uint16 array (C = 1 to 4), 16 bits deep.
#[pyfunction]
pub fn png_u16<'py>(
    py: Python<'py>,
    a: PyReadonlyArray3<'_, u16>,
) -> PyResult<Bound<'py, PyBytes>> {
    let (h, w, c) = a.as_array().dim();
    png_of(
        py,
        dynamic_u16(contiguous(a.as_slice())?, w as u32, h as u32, c)?,
    )
}
