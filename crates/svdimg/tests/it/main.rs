//! Integration tests for the svdimg library (one test binary, several modules).

mod bombs;
mod degenerate;
mod divide;
mod exact;
mod format;
mod format_v2;
mod jpeg;
mod layout;
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

/// The shared photos `row` pixels high (widths rounded down to multiples of 8), side by
/// side in rows that each start one photo further on, filling a `width`×`height` image:
/// photo-like detail at any size, with repeats.
pub fn photo_mosaic(dir: &std::path::Path, width: u32, height: u32, row: u32) -> image::RgbImage {
    let mut photos = Vec::new();
    for name in ["astronaut", "camera", "chelsea", "coffee", "text"] {
        let png = std::fs::read(dir.join("images").join(format!("{name}.png"))).unwrap();
        let rgb = svdimg::Picture::decode(&png, &svdimg::Limits::default())
            .unwrap()
            .image()
            .to_rgb8();
        let w = rgb.width() * row / rgb.height() / 8 * 8;
        photos.push(image::imageops::resize(
            &rgb,
            w,
            row,
            image::imageops::FilterType::Lanczos3,
        ));
    }
    let mut mosaic = image::RgbImage::new(width, height);
    let (mut i, mut y) = (0, 0);
    while y < height {
        let mut x = 0;
        while x < width {
            let photo = &photos[i % photos.len()];
            image::imageops::replace(&mut mosaic, photo, i64::from(x), i64::from(y));
            x += photo.width();
            i += 1;
        }
        (y, i) = (y + row, i + 1);
    }
    mosaic
}
