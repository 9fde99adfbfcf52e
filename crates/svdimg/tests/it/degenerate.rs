//! A sweep of degenerate and unusual inputs, and the errors bad bytes get.

use image::{DynamicImage, GrayAlphaImage, GrayImage, ImageBuffer, Luma, RgbaImage};
use svdimg::{approximate, ColorModel, Decomposition, ErrorKind, Factors, Limits, Picture};

use crate::png_bytes;

/// Deterministic values in [0, 1).
fn noise(seed: u64, n: usize) -> Vec<f64> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

fn decode(image: &DynamicImage) -> Picture {
    Picture::decode(&png_bytes(image), &Limits::default()).unwrap()
}

/// Decodes `image`, approximates it at rank `k` in f64 and returns the picture and result.
fn run(image: &DynamicImage, k: usize) -> (Picture, svdimg::Approximation) {
    let picture = decode(image);
    let planes = picture.planes::<f64>(false);
    let svd = Decomposition::compute(&planes).unwrap();
    let approx = approximate(&planes, &svd, k, faer::Par::Seq).unwrap();
    (picture, approx)
}

fn gray8(w: u32, h: u32, seed: u64) -> DynamicImage {
    let v = noise(seed, (w * h) as usize);
    DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, y| {
        Luma([(v[(y * w + x) as usize] * 255.0) as u8])
    }))
}

#[test]
fn one_by_one() {
    let img = DynamicImage::ImageLuma8(GrayImage::from_pixel(1, 1, Luma([200])));
    let (_, approx) = run(&img, 5);
    assert_eq!(approx.report.rank, 1);
    assert_eq!(approx.image.as_bytes(), &[200]);
}

#[test]
fn one_row_and_one_column_are_rank_one() {
    for (w, h) in [(37, 1), (1, 37)] {
        let img = gray8(w, h, 3);
        let (_, approx) = run(&img, 1);
        assert_eq!(approx.report.rank, 1);
        assert!(approx.report.planes[0].frobenius_error < 1e-12);
        assert_eq!(approx.image.as_bytes(), img.as_bytes());
    }
}

#[test]
fn constant_image_has_one_singular_value() {
    let img = DynamicImage::ImageLuma8(GrayImage::from_pixel(30, 20, Luma([51])));
    let picture = decode(&img);
    let planes = picture.planes::<f64>(false);
    let svd = Decomposition::compute(&planes).unwrap();
    let s = svd.planes[0].1.singular_values();
    assert!((s[0] - 0.2 * (600f64).sqrt()).abs() < 1e-12);
    assert!(s[1..].iter().all(|&x| x.abs() < 1e-12));
    let approx = approximate(&planes, &svd, 1, faer::Par::Seq).unwrap();
    assert_eq!(approx.image.as_bytes(), img.as_bytes());
}

#[test]
fn all_zero_image_gives_zeros_and_no_nan() {
    let img = DynamicImage::ImageLuma8(GrayImage::new(12, 9));
    let (_, approx) = run(&img, 3);
    let p = &approx.report.planes[0];
    assert_eq!(p.frobenius_error, 0.0);
    assert_eq!(p.relative_error, 0.0);
    assert_eq!(p.energy, 1.0);
    assert!(approx.image.as_bytes().iter().all(|&b| b == 0));
    assert!(approx.report.psnr_db.is_infinite());
    assert!((approx.report.ssim - 1.0).abs() < 1e-12);
}

#[test]
fn sixteen_bit_stays_sixteen_bit() {
    let v = noise(9, 24 * 16);
    let img = DynamicImage::ImageLuma16(ImageBuffer::from_fn(24, 16, |x, y| {
        Luma([(v[(y * 24 + x) as usize] * 65535.0) as u16])
    }));
    let (picture, approx) = run(&img, 1000);
    assert_eq!(picture.bit_depth(), 16);
    assert!(matches!(approx.image, DynamicImage::ImageLuma16(_)));
    assert_eq!(approx.image.as_bytes(), img.as_bytes());
    let (_, low) = run(&img, 2);
    assert!(matches!(low.image, DynamicImage::ImageLuma16(_)));
}

#[test]
fn gray_alpha_passes_alpha_through() {
    let v = noise(4, 20 * 10);
    let img = DynamicImage::ImageLumaA8(GrayAlphaImage::from_fn(20, 10, |x, y| {
        let i = (y * 20 + x) as usize;
        image::LumaA([(v[i] * 255.0) as u8, (x * 12) as u8])
    }));
    let (picture, approx) = run(&img, 1);
    assert_eq!(picture.color_model(), ColorModel::GrayAlpha);
    let out = approx.image.to_luma_alpha8();
    for (x, y, px) in out.enumerate_pixels() {
        assert_eq!(px[1], (x * 12) as u8, "alpha at {x},{y}");
    }
    assert_eq!(approx.report.planes.len(), 1);
}

#[test]
fn rgba_gives_three_planes_and_keeps_alpha() {
    let v = noise(5, 16 * 8 * 3);
    let img = DynamicImage::ImageRgba8(RgbaImage::from_fn(16, 8, |x, y| {
        let i = 3 * (y * 16 + x) as usize;
        image::Rgba([
            (v[i] * 255.0) as u8,
            (v[i + 1] * 255.0) as u8,
            (v[i + 2] * 255.0) as u8,
            (y * 30) as u8,
        ])
    }));
    let (picture, approx) = run(&img, 2);
    assert_eq!(picture.color_model(), ColorModel::Rgba);
    let names: Vec<&str> = approx
        .report
        .planes
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["r", "g", "b"]);
    let out = approx.image.to_rgba8();
    assert!(out
        .enumerate_pixels()
        .all(|(_, y, px)| px[3] == (y * 30) as u8));
    let (_, full) = run(&img, 8);
    assert_eq!(full.image.as_bytes(), img.as_bytes());
}

#[test]
fn palette_png_decodes_to_rgb_planes() {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, 6, 4);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_palette(vec![255, 0, 0, 0, 255, 0, 0, 0, 255]);
        let mut writer = encoder.write_header().unwrap();
        let data: Vec<u8> = (0..24).map(|i| (i % 3) as u8).collect();
        writer.write_image_data(&data).unwrap();
    }
    let picture = Picture::decode(&bytes, &Limits::default()).unwrap();
    assert_eq!(picture.color_model(), ColorModel::Rgb);
    let planes = picture.planes::<f32>(false);
    assert_eq!(planes.color.len(), 3);
    // Pixel 0 is index 0 = red, pixel 1 is index 1 = green.
    assert_eq!(planes.color[0].data[0], 1.0);
    assert_eq!(planes.color[1].data[1], 1.0);
    let gray = picture.planes::<f64>(true);
    assert!((gray.color[0].data[1] - 0.7152).abs() < 1e-12);
}

#[test]
fn tall_and_wide_factors_are_orthonormal_and_optimal() {
    for (w, h) in [(7, 40), (40, 7), (33, 33)] {
        let img = gray8(w, h, u64::from(w * 100 + h));
        let picture = decode(&img);
        let planes = picture.planes::<f64>(false);
        let f = Factors::compute(planes.matrix(0)).unwrap();
        let r = w.min(h) as usize;
        assert_eq!(
            (f.u().shape(), f.v().shape()),
            ((h as usize, r), (w as usize, r))
        );
        let utu = f.u().transpose() * f.u();
        let vtv = f.v().transpose() * f.v();
        for i in 0..r {
            for j in 0..r {
                let id = if i == j { 1.0 } else { 0.0 };
                assert!((utu[(i, j)] - id).abs() < 1e-12 && (vtv[(i, j)] - id).abs() < 1e-12);
            }
        }
        // Sign convention: the largest-magnitude entry of each u column is positive.
        for j in 0..r {
            let col = f.u().col(j);
            let best = col
                .iter()
                .copied()
                .fold(0.0f64, |b, x| if x.abs() > b.abs() { x } else { b });
            assert!(best > 0.0);
        }
        for k in [1, 3, r] {
            let approx = approximate(
                &planes,
                &Decomposition::compute(&planes).unwrap(),
                k,
                faer::Par::Seq,
            )
            .unwrap();
            let optimum = svdimg::optimal_error(f.singular_values(), k);
            assert!((approx.report.planes[0].frobenius_error - optimum).abs() < 1e-10);
        }
    }
}

#[test]
fn components_add_up_to_the_approximation() {
    let img = gray8(25, 18, 77);
    let planes = decode(&img).planes::<f64>(false);
    let f = Factors::compute(planes.matrix(0)).unwrap();
    let a5 = f.reconstruct(5, faer::Par::Seq);
    let mut sum = faer::Mat::<f64>::zeros(18, 25);
    let mut one = faer::Mat::<f64>::zeros(18, 25);
    for i in 0..5 {
        f.components_into(i..i + 1, one.as_mut(), faer::Par::Seq);
        sum += &one;
    }
    assert!((&sum - &a5).norm_max() < 1e-12);
}

#[test]
fn exif_orientation_is_applied() {
    // A 4×2 JPEG with EXIF orientation 6 (rotate 90° clockwise) is 2×4 upright.
    let img = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(4, 2, image::Rgb([10, 200, 30])));
    let mut jpeg = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut jpeg),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    let tiff: &[u8] = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00";
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(tiff);
    let len = (app1.len() + 2) as u16;
    let mut bytes = jpeg[..2].to_vec();
    bytes.extend_from_slice(&[0xFF, 0xE1]);
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(&app1);
    bytes.extend_from_slice(&jpeg[2..]);
    let picture = Picture::decode(&bytes, &Limits::default()).unwrap();
    assert_eq!((picture.width(), picture.height()), (2, 4));
}

#[test]
fn bad_bytes_get_input_errors() {
    let limits = Limits::default();
    let err = Picture::decode(&[], &limits).unwrap_err();
    assert_eq!(
        (err.kind(), err.message()),
        (ErrorKind::InvalidInput, "the file is empty")
    );
    let err = Picture::decode(b"hello, this is not an image", &limits).unwrap_err();
    assert_eq!(err.message(), "not a recognised image format");
    let png = png_bytes(&gray8(64, 64, 1));
    for cut in [20, 40, png.len() / 2, png.len() - 13] {
        let err = Picture::decode(&png[..cut], &limits).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "cut at {cut}: {err}");
    }
    let err = Picture::decode(b"P5\n0 0\n255\n", &limits).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[test]
fn pixel_limit_is_checked_before_decoding() {
    let png = png_bytes(&gray8(50, 40, 2));
    let limits = Limits {
        max_pixels: 1999,
        ..Limits::default()
    };
    let err = Picture::decode(&png, &limits).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    assert_eq!(
        err.message(),
        "the image is 50x40 = 2000 pixels, over the limit of 1999 pixels"
    );
    assert!(Picture::decode(
        &png,
        &Limits {
            max_pixels: 2000,
            ..limits
        }
    )
    .is_ok());
}

#[test]
fn rank_zero_is_a_parameter_error() {
    let planes = decode(&gray8(5, 5, 1)).planes::<f32>(false);
    let svd = Decomposition::compute(&planes).unwrap();
    let err = approximate(&planes, &svd, 0, faer::Par::Seq).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter);
}
