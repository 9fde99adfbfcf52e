//! The `.svdz` format: targets are met on the decoded image, prefixes decode, alpha and
//! 16-bit survive, and hostile bytes give errors, never panics or huge allocations.

use image::{DynamicImage, ImageBuffer, Rgba};
use svdimg::{
    compress, decompress, inspect, is_svdz, psnr, ColorChoice, CompressOptions, DecompressOptions,
    ErrorKind, Limits, Picture, Planes, StoredColor, Target,
};

use crate::shared_dir;

fn sample() -> Planes<f32> {
    Picture::decode(svdimg::SAMPLE_PNG, &Limits::default())
        .unwrap()
        .planes(false)
}

fn options(target: Target, color: ColorChoice) -> CompressOptions {
    CompressOptions {
        target,
        color,
        ..CompressOptions::default()
    }
}

/// Version 1 files for `target` (its search grows a global SVD).
fn version_one(target: Target) -> CompressOptions {
    CompressOptions {
        target,
        version: 1,
        ..CompressOptions::default()
    }
}

/// PSNR of the decoded file, rounded to the bit depth as a writer would, against `planes`.
pub(crate) fn decoded_psnr(bytes: &[u8], reference: &Planes<f32>, rank: Option<usize>) -> f64 {
    let decoded = decompress(
        bytes,
        &DecompressOptions {
            rank,
            ..Default::default()
        },
    )
    .unwrap();
    let max = if reference.bit_depth == 8 {
        255.0
    } else {
        65535.0
    };
    let rounded: Vec<Vec<f32>> = decoded
        .color
        .iter()
        .map(|p| {
            p.data
                .iter()
                .map(|&x| (svdimg::quantize(x, max) / max) as f32)
                .collect()
        })
        .collect();
    let a: Vec<&[f32]> = reference.color.iter().map(|p| &p.data[..]).collect();
    let b: Vec<&[f32]> = rounded.iter().map(|p| &p[..]).collect();
    psnr(&a, &b)
}

/// An image of 520 rows searches on a quarter of its rows first, then confirms and refines
/// on the whole image: the target is met, and not overshot by much.
#[test]
fn a_large_image_meets_its_psnr_through_the_sampled_search() {
    let image = image::RgbImage::from_fn(700, 520, |x, y| {
        let (x, y) = (f64::from(x), f64::from(y));
        let v = |a: f64, b: f64| {
            (127.5 + 90.0 * (a * x).sin() * (b * y).cos() + 30.0 * ((x * y) / 900.0).sin()) as u8
        };
        image::Rgb([v(0.031, 0.017), v(0.011, 0.043), v(0.023, 0.029)])
    });
    let planes = Picture::from_image(DynamicImage::ImageRgb8(image)).planes::<f32>(false);
    for db in [32.0, 38.0] {
        let c = compress(&planes, &version_one(Target::Psnr(db))).unwrap();
        let measured = decoded_psnr(&c.bytes, &planes, None);
        assert!(measured >= db, "{db} dB asked, {measured} decoded");
        assert!(
            measured < db + 0.15,
            "{db} dB asked, {measured} decoded: overshot"
        );
    }
}

/// Over a megapixel the SVD is randomized and starts with few components; a detailed image
/// needs more, which the search extrapolates from the spectrum: the target is still met.
#[test]
fn a_detailed_megapixel_image_grows_its_svd_to_what_the_target_needs() {
    let mut state = 12345u32;
    let image = image::GrayImage::from_fn(1100, 1000, |x, y| {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let noise = f64::from(state >> 24) / 255.0 - 0.5;
        let (x, y) = (f64::from(x), f64::from(y));
        let v = 128.0 + 60.0 * (0.05 * x + 0.3 * (0.02 * y).sin()).sin() + 40.0 * noise;
        image::Luma([v.clamp(0.0, 255.0) as u8])
    });
    let planes = Picture::from_image(DynamicImage::ImageLuma8(image)).planes::<f32>(false);
    let c = compress(&planes, &version_one(Target::Psnr(33.0))).unwrap();
    let measured = decoded_psnr(&c.bytes, &planes, None);
    assert!(measured >= 33.0, "{measured}");
    assert!(
        c.ranks[0].1 > 128,
        "{:?}: the test should need more than two rounds' worth",
        c.ranks
    );
}

#[test]
fn psnr_target_is_met_on_the_decoded_file_and_saves_bytes() {
    let planes = sample();
    for (db, color) in [
        (30.0, ColorChoice::Auto),
        (35.0, ColorChoice::Rgb),
        (40.0, ColorChoice::YCbCr),
    ] {
        let c = compress(&planes, &options(Target::Psnr(db), color)).unwrap();
        let measured = decoded_psnr(&c.bytes, &planes, None);
        assert!(measured >= db, "{db} dB asked, {measured} decoded");
        assert!(
            (measured - c.psnr_db).abs() < 1e-5,
            "{measured} vs {}",
            c.psnr_db
        );
        assert!(c.psnr_db < db + 0.5, "overshoot: {} for {db}", c.psnr_db);
        assert!(
            c.bytes.len() < svdimg::SAMPLE_PNG.len(),
            "{} bytes",
            c.bytes.len()
        );
        assert!(c.ssim > 0.8 && c.ssim <= 1.0);
    }
}

#[test]
fn ycbcr_is_smaller_than_rgb_at_equal_psnr_and_chroma_keeps_fewer_components() {
    let planes = sample();
    let rgb = compress(&planes, &options(Target::Psnr(35.0), ColorChoice::Rgb)).unwrap();
    let ycc = compress(&planes, &options(Target::Psnr(35.0), ColorChoice::Auto)).unwrap();
    assert_eq!(rgb.color, StoredColor::Rgb);
    assert_eq!(ycc.color, StoredColor::YCbCr);
    assert!(
        ycc.bytes.len() < rgb.bytes.len(),
        "{} vs {}",
        ycc.bytes.len(),
        rgb.bytes.len()
    );
    let [(_, y), (_, cb), (_, cr)] = ycc.ranks[..] else {
        panic!()
    };
    assert!(cb < y && cr < y, "{:?}", ycc.ranks);
}

#[test]
fn max_bytes_fits_and_more_bytes_give_more_psnr() {
    let planes = sample();
    let mut last = 0.0;
    for budget in [4_000u64, 12_000, 30_000] {
        let c = compress(
            &planes,
            &options(Target::MaxBytes(budget), ColorChoice::Auto),
        )
        .unwrap();
        assert!(
            c.bytes.len() as u64 <= budget,
            "{} > {budget}",
            c.bytes.len()
        );
        assert!(
            c.bytes.len() as u64 > budget * 9 / 10,
            "{} far below {budget}",
            c.bytes.len()
        );
        assert!(c.psnr_db > last, "{} after {last}", c.psnr_db);
        last = c.psnr_db;
    }
    let e = compress(&planes, &options(Target::MaxBytes(50), ColorChoice::Auto)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidParameter);
    assert!(
        e.message()
            .starts_with("cannot fit in 50 bytes: the smallest file for this image is "),
        "{e}"
    );
}

#[test]
fn rank_target_keeps_k_components_close_to_the_exact_approximation() {
    let planes = sample();
    let c = compress(&planes, &options(Target::Rank(20), ColorChoice::Rgb)).unwrap();
    assert_eq!(c.ranks, vec![("r", 20), ("g", 20), ("b", 20)]);
    let svd = svdimg::Decomposition::compute(&planes).unwrap();
    let exact = svdimg::approximate(&planes, &svd, 20, faer::Par::Seq).unwrap();
    // Quantisation costs a little, never much.
    assert!(c.psnr_db <= exact.report.psnr_db + 0.05);
    assert!(
        c.psnr_db > exact.report.psnr_db - 0.6,
        "{} vs {}",
        c.psnr_db,
        exact.report.psnr_db
    );
    let info = inspect(&c.bytes, &Limits::default()).unwrap();
    assert_eq!((info.width, info.height, info.bit_depth), (256, 256, 8));
    assert_eq!(info.ranks, c.ranks);
    assert!(!info.alpha && is_svdz(&c.bytes));
}

#[test]
fn a_flat_colour_image_keeps_its_colour_at_rank_one() {
    let flat = Picture::from_image(DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        64,
        48,
        image::Rgb([9, 200, 30]),
    )))
    .planes::<f32>(false);
    let c = compress(&flat, &options(Target::Rank(1), ColorChoice::Auto)).unwrap();
    assert_eq!(c.ranks, vec![("y", 1), ("cb", 1), ("cr", 1)]);
    assert!(c.psnr_db > 50.0, "{}", c.psnr_db);
}

#[test]
fn a_black_image_stores_no_components_and_decodes_exactly() {
    let black = Picture::from_image(DynamicImage::ImageRgb8(image::RgbImage::new(30, 20)))
        .planes::<f32>(false);
    for target in [
        Target::Psnr(35.0),
        Target::MaxBytes(100),
        Target::Energy(0.9),
    ] {
        let c = compress(&black, &options(target, ColorChoice::Auto)).unwrap();
        assert_eq!(c.ranks, vec![("y", 0), ("cb", 0), ("cr", 0)], "{target:?}");
        assert!(c.bytes.len() <= 100 && c.psnr_db.is_infinite());
        let d = decompress(&c.bytes, &DecompressOptions::default()).unwrap();
        assert!(d.color.iter().all(|p| p.data.iter().all(|&x| x == 0.0)));
    }
}

#[test]
fn energy_target_keeps_the_share_asked_for() {
    let planes = sample();
    let gray = Planes {
        color: vec![svdimg::Plane {
            name: svdimg::PlaneName::Gray,
            data: planes.color[1].data.clone(),
        }],
        ..planes.clone()
    };
    let svd = svdimg::Decomposition::compute(&gray).unwrap();
    let s = svd.planes[0].1.singular_values();
    let c = compress(&gray, &options(Target::Energy(0.99), ColorChoice::Auto)).unwrap();
    assert_eq!(c.ranks, vec![("gray", svdimg::energy_rank(s, 0.99))]);
}

#[test]
fn a_prefix_decodes_even_when_later_blocks_are_damaged() {
    let planes = sample();
    let c = compress(&planes, &options(Target::Rank(40), ColorChoice::Rgb)).unwrap();
    let full = decoded_psnr(&c.bytes, &planes, None);
    let prefix = decoded_psnr(&c.bytes, &planes, Some(10));
    assert!(prefix < full - 3.0, "{prefix} vs {full}");
    // The rank-10 decode equals a rank-10 file's full decode up to quantisation.
    let ten = compress(&planes, &options(Target::Rank(10), ColorChoice::Rgb)).unwrap();
    let ten_psnr = decoded_psnr(&ten.bytes, &planes, None);
    assert!((ten_psnr - prefix).abs() < 0.5, "{ten_psnr} vs {prefix}");
    // Damage the last byte (in the last block): the full decode fails, rank 10 does not.
    let mut damaged = c.bytes.clone();
    *damaged.last_mut().unwrap() ^= 0x55;
    let e = decompress(&damaged, &DecompressOptions::default()).unwrap_err();
    assert_eq!(e.message(), "corrupt .svdz block: checksum mismatch");
    let opts = DecompressOptions {
        rank: Some(10),
        ..Default::default()
    };
    assert!(decompress(&damaged, &opts).is_ok());
}

/// A 24×16 RGBA image at `depth` bits with a varied alpha plane.
fn rgba(depth: u8) -> Planes<f32> {
    let image = ImageBuffer::from_fn(24, 16, |x, y| {
        let v = |a: u32| ((x * a + y * 7 + x * y) % 256) as u16 * 257;
        Rgba([v(3), v(5), v(11), if (x + y) % 5 == 0 { 0 } else { v(13) }])
    });
    let image = if depth == 8 {
        DynamicImage::ImageRgba8(DynamicImage::ImageRgba16(image).to_rgba8())
    } else {
        DynamicImage::ImageRgba16(image)
    };
    Picture::from_image(image).planes(false)
}

#[test]
fn alpha_is_lossless_and_sixteen_bits_survive() {
    for depth in [8, 16] {
        let planes = rgba(depth);
        let c = compress(&planes, &options(Target::Psnr(45.0), ColorChoice::Auto)).unwrap();
        let d = decompress(&c.bytes, &DecompressOptions::default()).unwrap();
        assert_eq!(d.bit_depth, depth);
        assert_eq!(
            d.alpha.as_ref().unwrap().data,
            planes.alpha.as_ref().unwrap().data
        );
        assert!(decoded_psnr(&c.bytes, &planes, None) >= 45.0);
        assert!(inspect(&c.bytes, &Limits::default()).unwrap().alpha);
    }
}

#[test]
fn unreachable_and_invalid_targets_are_parameter_errors() {
    let planes = sample();
    for (target, message) in [
        (Target::Rank(0), "the rank must be at least 1"),
        (Target::Energy(1.5), "the energy share 1.5 is not in (0, 1]"),
        (Target::Psnr(-3.0), "the PSNR target -3 dB is not positive"),
        (Target::MaxBytes(0), "the byte budget must be at least 1"),
    ] {
        let e = compress(&planes, &options(target, ColorChoice::Auto)).unwrap_err();
        assert_eq!(
            (e.kind(), e.message()),
            (ErrorKind::InvalidParameter, message)
        );
    }
    let gray = Picture::decode(svdimg::SAMPLE_PNG, &Limits::default())
        .unwrap()
        .planes::<f32>(true);
    let e = compress(&gray, &options(Target::Psnr(30.0), ColorChoice::Rgb)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidParameter);
}

/// A small RGBA YCbCr file, to break in every way.
fn small_file() -> Vec<u8> {
    compress(&rgba(8), &options(Target::Rank(6), ColorChoice::YCbCr))
        .unwrap()
        .bytes
}

#[test]
fn truncation_at_every_offset_is_an_error() {
    let bytes = small_file();
    for len in 0..bytes.len() {
        let e = decompress(&bytes[..len], &DecompressOptions::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "at {len}: {e}");
        assert!(inspect(&bytes[..len], &Limits::default()).is_err() || len >= 24);
    }
    let e = decompress(&[], &DecompressOptions::default()).unwrap_err();
    assert_eq!(e.message(), "the .svdz file is truncated");
}

#[test]
fn flipped_bytes_give_an_error_or_the_same_image() {
    let bytes = small_file();
    let good = decompress(&bytes, &DecompressOptions::default()).unwrap();
    for offset in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = bytes.clone();
            bad[offset] ^= mask;
            if let Ok(planes) = decompress(&bad, &DecompressOptions::default()) {
                assert_eq!(planes, good, "flip {mask:#x} at {offset} changed the image");
            }
        }
    }
}

/// Rewrites the header CRC-32 after editing the header, as a hostile writer would.
fn reseal(bytes: &mut [u8]) {
    let header_len = header_len(bytes);
    let crc = crc32fast::hash(&bytes[..header_len - 4]);
    bytes[header_len - 4..header_len].copy_from_slice(&crc.to_le_bytes());
}

/// The header length of a well-formed 3-plane file with alpha and block size 16.
fn header_len(bytes: &[u8]) -> usize {
    let rank =
        |p: usize| u32::from_le_bytes(bytes[22 + 4 * p..26 + 4 * p].try_into().unwrap()) as usize;
    let ranks: Vec<usize> = (0..3).map(rank).collect();
    let blocks: usize = ranks.iter().map(|k| k.div_ceil(16)).sum::<usize>() + 1;
    22 + 12 + 4 * ranks.iter().sum::<usize>() + 12 * blocks + 4
}

#[test]
fn hostile_headers_are_refused_before_allocating() {
    let bytes = small_file();
    let opts = DecompressOptions::default();
    // 65536 × 65536 pixels.
    let mut huge = bytes.clone();
    huge[12..16].copy_from_slice(&65536u32.to_le_bytes());
    huge[16..20].copy_from_slice(&65536u32.to_le_bytes());
    reseal(&mut huge);
    let e = decompress(&huge, &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert_eq!(
        e.message(),
        "the image is 65536x65536 = 4294967296 pixels, over the limit of 100000000 pixels"
    );
    // A JPEG's Y Cb Cr (colour model 3) is version 2's alone.
    let mut jpeg_color = bytes.clone();
    jpeg_color[9] = 3;
    reseal(&mut jpeg_color);
    assert_eq!(
        decompress(&jpeg_color, &opts).unwrap_err().message(),
        "corrupt .svdz header: unknown colour model"
    );
    // A rank above min(width, height) = 16.
    let mut rank = bytes.clone();
    rank[22..26].copy_from_slice(&17u32.to_le_bytes());
    let e = decompress(&rank, &opts).unwrap_err();
    assert_eq!(
        e.message(),
        "corrupt .svdz header: plane y has rank 17, more than min(width, height) = 16"
    );
    // A block claiming to inflate to 4 GiB.
    let mut inflated = bytes.clone();
    let first_entry = 22
        + 12
        + 4 * (0..3)
            .map(|p| u32::from_le_bytes(bytes[22 + 4 * p..26 + 4 * p].try_into().unwrap()) as usize)
            .sum::<usize>();
    inflated[first_entry + 4..first_entry + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    reseal(&mut inflated);
    let e = decompress(&inflated, &opts).unwrap_err();
    assert!(
        e.message()
            .starts_with("corrupt .svdz header: a block claims 4294967295 bytes inflated"),
        "{e}"
    );
    // The header checksum.
    let mut crc = bytes.clone();
    crc[13] ^= 1;
    assert_eq!(
        decompress(&crc, &opts).unwrap_err().message(),
        "corrupt .svdz header: checksum mismatch"
    );
    // Not an .svdz file at all.
    let e = decompress(svdimg::SAMPLE_PNG, &opts).unwrap_err();
    assert_eq!(
        e.message(),
        "not an .svdz file (the first bytes are not the .svdz signature)"
    );
    // Extra bytes after the last block.
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        decompress(&long, &opts).unwrap_err().message(),
        "corrupt .svdz file: 1 bytes after the last block"
    );
    // A small memory limit is honoured.
    let tight = DecompressOptions {
        rank: None,
        limits: Limits {
            max_pixels: 1 << 20,
            max_alloc: 1000,
        },
        allow_truncated: false,
    };
    assert_eq!(
        decompress(&bytes, &tight).unwrap_err().kind(),
        ErrorKind::LimitExceeded
    );
}

#[test]
fn shared_photos_meet_psnr_targets_below_the_png_size() {
    let Some(dir) = shared_dir() else { return };
    for name in ["camera", "chelsea", "text"] {
        let png = std::fs::read(dir.join("images").join(format!("{name}.png"))).unwrap();
        let planes: Planes<f32> = Picture::decode(&png, &Limits::default())
            .unwrap()
            .planes(false);
        let c = compress(&planes, &options(Target::Psnr(35.0), ColorChoice::Auto)).unwrap();
        assert!(decoded_psnr(&c.bytes, &planes, None) >= 35.0, "{name}");
        assert!(
            c.bytes.len() < png.len() / 2,
            "{name}: {} vs {}",
            c.bytes.len(),
            png.len()
        );
    }
}

/// Replays the fuzzer's corpus and any crash reproducers (`fuzz/corpus/decompress`,
/// `fuzz/artifacts/decompress`) with the fuzz target's invariants. Under `cfg(fuzzing)`
/// checksums are skipped; here they are checked, so most files stop earlier, which is
/// still no panic.
#[test]
fn fuzz_corpus_and_crash_files_never_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let limits = Limits {
        max_pixels: 1 << 16,
        max_alloc: 64 << 20,
    };
    let mut count = 0;
    for dir in ["corpus/decompress", "artifacts/decompress"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let options = DecompressOptions {
                limits,
                ..Default::default()
            };
            let info = inspect(&data, &limits);
            let full = decompress(&data, &options);
            if let (Ok(info), Ok(planes)) = (&info, &full) {
                assert_eq!((planes.width, planes.height), (info.width, info.height));
                let prefix = DecompressOptions {
                    rank: Some(1),
                    ..options
                };
                assert!(decompress(&data, &prefix).is_ok());
            }
            assert!(!(info.is_err() && full.is_ok()));
            // Any cut decodes or fails without a panic; a cut of a good file decodes.
            let cut = DecompressOptions {
                allow_truncated: true,
                ..options
            };
            for len in [data.len() / 3, data.len() / 2, data.len().saturating_sub(1)] {
                let d = svdimg::decompress_prefix(&data[..len], &cut);
                if let (Ok(d), Ok(_)) = (&d, &full) {
                    assert!(d.used() <= d.total());
                }
            }
            count += 1;
        }
    }
    assert!(count >= 4, "the seed corpus is missing ({count} files)");
}
