//! What `svdimg.batch` needs from the library: one file's transcoding, the settings line a
//! journal hashes, and an image's size from its header.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use svdimg::{
    ColorChoice, CompressOptions, DecodeOptions, Destination, Limits, Method, OutputFormat,
    Randomized, Target, TranscodeOptions,
};

use crate::py_err;

/// A batch's settings, from the Python dict `svdimg.batch` builds (`to`, `target`,
/// `value`, `color`, `method`, `seed`, `max_pixels`, `allow_truncated`).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
pub struct Settings {
    to: String,
    target: String,
    value: f64,
    color: String,
    method: String,
    seed: u64,
    max_pixels: u64,
    allow_truncated: bool,
}

impl Settings {
    /// The options `svdimg batch` would use for the same settings.
    fn options(&self) -> PyResult<TranscodeOptions> {
        let bad = |what: &str, got: &str| PyValueError::new_err(format!("{what}, got '{got}'"));
        let target = match self.target.as_str() {
            "rank" => Target::Rank(self.value as usize),
            "energy" => Target::Energy(self.value),
            "psnr" => Target::Psnr(self.value),
            "max_bytes" => Target::MaxBytes(self.value as u64),
            other => return Err(bad("target must be rank, energy, psnr or max_bytes", other)),
        };
        let color = match self.color.as_str() {
            "auto" => ColorChoice::Auto,
            "rgb" => ColorChoice::Rgb,
            "ycbcr" => ColorChoice::YCbCr,
            "gray" => ColorChoice::Gray,
            other => return Err(bad("color must be 'auto', 'rgb', 'ycbcr' or 'gray'", other)),
        };
        let method = match self.method.as_str() {
            "auto" => Method::Auto,
            "exact" => Method::Exact,
            "randomized" => Method::Randomized,
            other => return Err(bad("method must be 'auto', 'exact' or 'randomized'", other)),
        };
        let to = match self.to.as_str() {
            "svdz" => Destination::Svdz,
            ext @ ("png" | "jpg") => {
                Destination::Image(OutputFormat::from_extension(ext).map_err(py_err)?)
            }
            other => return Err(bad("to must be 'svdz', 'png' or 'jpg'", other)),
        };
        Ok(TranscodeOptions {
            compress: CompressOptions {
                target,
                color,
                method,
                randomized: Randomized {
                    seed: self.seed,
                    ..Randomized::default()
                },
                ..CompressOptions::default()
            },
            to,
            decode: DecodeOptions {
                limits: Limits {
                    max_pixels: self.max_pixels,
                    ..Limits::default()
                },
                allow_truncated: self.allow_truncated,
            },
        })
    }
}

/// The settings line `svdimg batch` hashes into its journal, for these settings.
#[pyfunction]
pub fn settings_line(settings: Settings) -> PyResult<String> {
    Ok(settings.options()?.settings_line())
}

/// The journal's hash of a settings line (64-bit FNV-1a, 16 hex digits).
#[pyfunction]
pub fn settings_hash(line: &str) -> String {
    svdimg::settings_hash(line)
}

/// Transcodes one image file's bytes: `(output bytes, width, height, psnr or None)`.
#[pyfunction]
pub fn transcode<'py>(
    py: Python<'py>,
    data: &[u8],
    settings: Settings,
) -> PyResult<(Bound<'py, PyBytes>, usize, usize, Option<f64>)> {
    let options = settings.options()?;
    let out = py
        .detach(|| svdimg::transcode(data, &options))
        .map_err(py_err)?;
    let psnr = out.psnr_db.is_finite().then_some(out.psnr_db);
    Ok((PyBytes::new(py, &out.bytes), out.width, out.height, psnr))
}

/// The memory [`transcode`] is estimated to need for these bytes, from the header.
#[pyfunction]
pub fn working_set(data: &[u8]) -> PyResult<u64> {
    svdimg::working_set(data).map_err(py_err)
}
