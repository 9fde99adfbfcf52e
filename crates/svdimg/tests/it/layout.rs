//! The version 2 encoder's choice of layout: from 3/4 MP it tries the layouts on a crop of
//! the image first and makes only the best (and those near it) on the whole; its file must
//! still be the smallest of those the layouts make one by one, also where the crop holds
//! none of the image's detail.

use svdimg::{compress, Chroma, CompressOptions, Layout, Picture, Target};

use crate::{photo_mosaic, shared_dir};

#[test]
fn a_megapixel_photo_takes_the_smallest_layout_after_the_crop() {
    let Some(dir) = shared_dir() else { return };
    // 1224×816: the crop is a quarter of it, and on this mosaic at 40 dB the crop's best
    // (16-pixel tiles, 2.3% ahead there) makes a file 0.8% larger than 32-pixel tiles on
    // the whole image.
    let mosaic = photo_mosaic(&dir, 1224, 816, 600);
    let planes = Picture::from_image(image::DynamicImage::ImageRgb8(mosaic)).planes(false);
    let db = 40.0;
    let made = |layout| {
        let options = CompressOptions {
            target: Target::Psnr(db),
            layout,
            chroma: Chroma::Auto,
            ..CompressOptions::default()
        };
        let c = compress(&planes, &options).unwrap();
        assert!(c.psnr_db >= db, "{layout:?}: {} dB", c.psnr_db);
        (c.bytes.len(), c.layout(), c.tile_size)
    };
    let auto = made(Layout::Auto);
    for layout in [
        Layout::Tiled(32),
        Layout::Tiled(16),
        Layout::Tiled(64),
        Layout::Patches(8),
    ] {
        let alone = made(layout);
        assert!(
            auto.0 <= alone.0,
            "auto {auto:?} against {layout:?} {alone:?}"
        );
    }
}

#[test]
fn a_crop_that_saw_only_sky_does_not_choose_for_the_photo() {
    let Some(dir) = shared_dir() else { return };
    // 1024×1024: the crop is four 256-pixel squares centred in the quadrants ([128, 384) and
    // [640, 896) on each axis). Here they hold a smooth gradient, and the mosaic of photos
    // around them holds the detail: the crop alone would choose a layout for the sky.
    let mut picture = photo_mosaic(&dir, 1024, 1024, 512);
    let crop = |v: u32| (128..384).contains(&v) || (640..896).contains(&v);
    for (x, y, p) in picture.enumerate_pixels_mut() {
        if crop(x) && crop(y) {
            let t = (x % 256 + y % 256) as f32 / 512.0;
            *p = image::Rgb([(90.0 + 80.0 * t) as u8, (140.0 + 60.0 * t) as u8, 230]);
        }
    }
    let planes = Picture::from_image(image::DynamicImage::ImageRgb8(picture)).planes(false);
    let db = 35.0;
    let made = |layout, chroma| {
        let options = CompressOptions {
            target: Target::Psnr(db),
            layout,
            chroma,
            ..CompressOptions::default()
        };
        let c = compress(&planes, &options).unwrap();
        assert!(c.psnr_db >= db, "{layout:?}: {} dB", c.psnr_db);
        (c.bytes.len(), c.layout(), c.tile_size, c.half_chroma)
    };
    let auto = made(Layout::Auto, Chroma::Auto);
    for layout in [Layout::Tiled(32), Layout::Tiled(16), Layout::Tiled(64)] {
        for chroma in [Chroma::Full, Chroma::Half] {
            let alone = made(layout, chroma);
            assert!(
                auto.0 as f64 <= 1.02 * alone.0 as f64,
                "auto {auto:?} against {layout:?} {alone:?}"
            );
        }
    }
}
