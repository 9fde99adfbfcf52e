//! Writes small `.svdz` version 2 files as seeds for the `decompress` fuzz target: tiled
//! global and patch layouts, 4:4:4 and 4:2:0 chroma, gray, 16-bit and alpha, and a block
//! that zstd codes.
//!
//! `cargo run --release -p svdimg --example svdz_seeds -- fuzz/corpus/decompress`

use image::{DynamicImage, ImageBuffer, Luma, Rgba};
use svdimg::{compress, Chroma, CompressOptions, Layout, Picture, Target};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "seeds".into()));
    std::fs::create_dir_all(&out)?;
    let rgba = DynamicImage::ImageRgba8(ImageBuffer::from_fn(40, 28, |x, y| {
        Rgba([
            (x * 6) as u8,
            (y * 9) as u8,
            ((x + y) * 3) as u8,
            if (x + y) % 7 == 0 { 0 } else { 200 },
        ])
    }));
    let gray16 = DynamicImage::ImageLuma16(ImageBuffer::from_fn(33, 21, |x, y| {
        Luma([((x * 1999 + y * 977) % 65536) as u16])
    }));
    let flat = DynamicImage::ImageRgb8(image::RgbImage::from_fn(48, 16, |x, _| {
        image::Rgb(if x % 8 < 4 {
            [10, 200, 30]
        } else {
            [250, 250, 250]
        })
    }));
    let cases = [
        (
            "v2-tiled-420-alpha",
            &rgba,
            Layout::Tiled(16),
            Chroma::Half,
            40.0,
        ),
        ("v2-tiled-444", &rgba, Layout::Tiled(8), Chroma::Full, 35.0),
        ("v2-global", &rgba, Layout::Global, Chroma::Full, 30.0),
        (
            "v2-patches-420",
            &rgba,
            Layout::Patches(8),
            Chroma::Half,
            35.0,
        ),
        (
            "v2-patches-gray16",
            &gray16,
            Layout::Patches(4),
            Chroma::Auto,
            40.0,
        ),
        ("v2-gray16", &gray16, Layout::Tiled(16), Chroma::Auto, 45.0),
        ("v2-stripes", &flat, Layout::Auto, Chroma::Auto, 40.0),
    ];
    for (name, image, layout, chroma, db) in cases {
        let planes = Picture::from_image(image.clone()).planes::<f32>(false);
        let c = compress(
            &planes,
            &CompressOptions {
                target: Target::Psnr(db),
                layout,
                chroma,
                ..CompressOptions::default()
            },
        )?;
        std::fs::write(out.join(format!("{name}.svdz")), &c.bytes)?;
        println!("{name}: {} bytes, {} tiles", c.bytes.len(), c.tiles);
    }
    Ok(())
}
