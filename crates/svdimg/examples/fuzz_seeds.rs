//! Writes a seed corpus for the `decode` fuzz target: each photo in a folder (by default
//! `../shared/images`), shrunk to 40×40 and encoded in every format the library reads,
//! whole, cut short and with bits flipped.
//!
//! `cargo run --release -p svdimg --example fuzz_seeds -- ../shared/images /tmp/seeds`

use std::io::Cursor;
use std::path::PathBuf;

use image::{imageops::FilterType, DynamicImage, ImageFormat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let images = PathBuf::from(args.next().unwrap_or_else(|| "../shared/images".into()));
    let out = PathBuf::from(args.next().unwrap_or_else(|| "fuzz-seeds".into()));
    std::fs::create_dir_all(&out)?;
    let formats = [
        (ImageFormat::Png, "png"),
        (ImageFormat::Jpeg, "jpg"),
        (ImageFormat::Gif, "gif"),
        (ImageFormat::Bmp, "bmp"),
        (ImageFormat::Tiff, "tif"),
        (ImageFormat::WebP, "webp"),
        (ImageFormat::Pnm, "pnm"),
    ];
    let mut count = 0;
    let mut paths: Vec<_> = std::fs::read_dir(&images)?.collect::<Result<_, _>>()?;
    paths.sort_by_key(|e| e.path());
    for entry in paths {
        let path = entry.path();
        let Ok(photo) = image::open(&path) else {
            continue;
        };
        let small = photo.resize_exact(40, 40, FilterType::Triangle);
        let stem = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for (format, ext) in formats {
            // 8 bits; GIF takes RGBA only, the rest gray photos as gray.
            let image = match format {
                ImageFormat::Gif => DynamicImage::ImageRgba8(small.to_rgba8()),
                _ if small.color().has_color() => DynamicImage::ImageRgb8(small.to_rgb8()),
                _ => DynamicImage::ImageLuma8(small.to_luma8()),
            };
            let mut bytes = Vec::new();
            image.write_to(&mut Cursor::new(&mut bytes), format)?;
            let n = bytes.len();
            let mut variants = vec![("whole".to_string(), bytes.clone())];
            for (name, keep) in [("cut10", n / 10), ("cut50", n / 2), ("cut99", n - 1)] {
                variants.push((name.into(), bytes[..keep].to_vec()));
            }
            for i in 1..4 {
                let mut flipped = bytes.clone();
                flipped[i * n / 4] ^= 1 << i;
                variants.push((format!("flip{i}"), flipped));
            }
            for (name, data) in variants {
                std::fs::write(out.join(format!("{stem}-{name}.{ext}")), data)?;
                count += 1;
            }
        }
    }
    println!("wrote {count} seeds to {}", out.display());
    Ok(())
}
