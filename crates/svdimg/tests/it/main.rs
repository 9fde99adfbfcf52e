//! Integration tests for the svdimg library (one test binary, several modules).

mod bombs;
mod degenerate;
mod divide;
mod exact;
mod format;
mod format_v2;
mod metrics;
mod prefix;
mod randomized;
mod reference;
mod top;
mod truncated;
mod values;

use std::path::PathBuf;

/// `../shared` beside the repository, or `None` (with a note) when it is absent.
///
/// Under `CI` a missing `../shared` fails the test loudly instead.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if dir.join("reference").is_dir() && dir.join("images").is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI is set but {} is missing: the reference tests cannot run",
            dir.display()
        );
    }
    eprintln!("skipped: {} not found", dir.display());
    None
}

/// Encodes an in-memory image to PNG bytes.
pub fn png_bytes(image: &image::DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}
