//! Runs the real `svdimg` binary in temporary directories and checks exit codes, messages
//! and the files written.

mod batch;
mod commands;
mod serve;
mod svdz;
mod tour;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A JSON array of numbers as `f64`s.
pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Runs `svdimg ARGS` in `dir`.
pub fn svdimg(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_svdimg"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The captured stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The captured stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Asserts a failure with `code` and exactly one `error: ...` line containing `needle`.
#[track_caller]
pub fn assert_error(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(o.stdout.is_empty());
}

/// The names of the files in `dir`, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Saves `image` as `dir/name` (format from the extension).
pub fn write_png(dir: &Path, name: &str, image: &image::DynamicImage) -> PathBuf {
    let path = dir.join(name);
    image.save(&path).unwrap();
    path
}

/// A deterministic RGB test pattern.
pub fn gradient(w: u32, h: u32) -> image::DynamicImage {
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x * 7 % 256) as u8,
            (y * 5 % 256) as u8,
            ((x * y) % 256) as u8,
        ])
    }))
}
