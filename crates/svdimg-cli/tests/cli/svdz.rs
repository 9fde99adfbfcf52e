//! `compress`, `decompress`, `info FILE.svdz` and `rd`.

use serde_json::Value;
use tempfile::tempdir;

use crate::{assert_error, files, gradient, stderr, stdout, svdimg, write_png};

fn json(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn compress_json_has_the_contracted_keys_and_meets_the_psnr() {
    let dir = tempdir().unwrap();
    let o = svdimg(
        dir.path(),
        &[
            "compress", "--sample", "-o", "s.svdz", "--psnr", "33", "--json",
        ],
    );
    let v = json(&o);
    assert_eq!(
        keys(&v),
        [
            "bpp",
            "bytes",
            "color",
            "psnr_db",
            "ranks",
            "ratio_input",
            "ratio_raw",
            "seconds",
            "ssim"
        ]
    );
    let bytes = v["bytes"].as_u64().unwrap();
    assert_eq!(
        std::fs::metadata(dir.path().join("s.svdz")).unwrap().len(),
        bytes
    );
    assert!(v["psnr_db"].as_f64().unwrap() >= 33.0);
    assert_eq!(v["color"], "ycbcr");
    assert_eq!(keys(&v["ranks"]), ["cb", "cr", "y"]);
    let bpp = v["bpp"].as_f64().unwrap();
    assert!((bpp - 8.0 * bytes as f64 / 65536.0).abs() < 1e-9);
    assert!(v["ratio_input"].as_f64().unwrap() < 1.0);
    assert!((v["ratio_raw"].as_f64().unwrap() - bytes as f64 / (3.0 * 65536.0)).abs() < 1e-12);
    assert!(stderr(&o).is_empty());
    assert_eq!(files(dir.path()), ["s.svdz"]);
}

#[test]
fn compress_then_decompress_round_trips_and_prefixes_decode() {
    let dir = tempdir().unwrap();
    let o = svdimg(
        dir.path(),
        &[
            "compress", "--sample", "-o", "s.svdz", "--rank", "30", "--color", "rgb",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("stored as rgb") && text.contains("ranks: r 30, g 30, b 30"),
        "{text}"
    );

    let v = json(&svdimg(dir.path(), &["info", "s.svdz", "--json"]));
    assert_eq!(v["format"], "svdz");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(256), Some(256))
    );
    assert_eq!(v["ranks"]["g"], 30);

    let v = json(&svdimg(
        dir.path(),
        &["decompress", "s.svdz", "-o", "back.png", "--json"],
    ));
    assert_eq!(v["ranks"]["r"], 30);
    let v = json(&svdimg(
        dir.path(),
        &[
            "decompress",
            "s.svdz",
            "-o",
            "ten.png",
            "-k",
            "10",
            "--json",
        ],
    ));
    assert_eq!(v["ranks"]["b"], 10);
    // Version 1 keeps the first components first: rank 10 reads only each plane's first
    // block of 16 components, not the second.
    let (read, of) = (
        v["bytes_read"].as_u64().unwrap(),
        v["file_bytes"].as_u64().unwrap(),
    );
    assert!(read < of * 3 / 4, "read {read} of {of} bytes");
    let full = image::open(dir.path().join("back.png")).unwrap().to_rgb8();
    let ten = image::open(dir.path().join("ten.png")).unwrap().to_rgb8();
    let sample = image::load_from_memory(svdimg::SAMPLE_PNG)
        .unwrap()
        .to_rgb8();
    let mse = |a: &image::RgbImage| {
        a.as_raw()
            .iter()
            .zip(sample.as_raw())
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum::<f64>()
            / a.as_raw().len() as f64
    };
    assert_eq!(full.dimensions(), (256, 256));
    assert!(
        mse(&ten) > 2.0 * mse(&full),
        "{} vs {}",
        mse(&ten),
        mse(&full)
    );
}

#[test]
fn version_two_records_its_layout_and_version_one_is_still_written() {
    let dir = tempdir().unwrap();
    let o = svdimg(
        dir.path(),
        &[
            "compress", "--sample", "-o", "t.svdz", "--layout", "tiled", "--chroma", "420",
        ],
    );
    let text = stdout(&o);
    assert!(
        text.contains("version 2, tiled: 32x32 tiles (64 per plane), chroma 4:2:0")
            && text.contains("components (all tiles): y "),
        "{text}"
    );
    let v = json(&svdimg(dir.path(), &["info", "t.svdz", "--json"]));
    assert_eq!(
        (
            &v["version"],
            &v["layout"],
            &v["tiles"],
            &v["tile_size"],
            &v["chroma"]
        ),
        (
            &Value::from(2),
            &Value::from("tiled"),
            &Value::from(64),
            &Value::from(32),
            &Value::from("4:2:0")
        )
    );
    let info = stdout(&svdimg(dir.path(), &["info", "t.svdz"]));
    assert!(
        info.contains("version 2, tiled: 32x32 tiles (64 per plane), chroma 4:2:0"),
        "{info}"
    );
    // A rank per tile: fewer components than the whole file.
    let all = json(&svdimg(
        dir.path(),
        &["decompress", "t.svdz", "-o", "a.png", "--json"],
    ));
    let two = json(&svdimg(
        dir.path(),
        &["decompress", "t.svdz", "-o", "b.png", "-k", "2", "--json"],
    ));
    let y = |v: &Value| v["ranks"]["y"].as_u64().unwrap();
    assert!(y(&two) <= 2 * 64 && y(&two) < y(&all), "{two} vs {all}");

    let o = svdimg(
        dir.path(),
        &[
            "compress", "--sample", "-o", "p.svdz", "--layout", "patches",
        ],
    );
    assert!(
        stdout(&o).contains("version 2, patches: 8x8 patches, one basis per plane"),
        "{}",
        stdout(&o)
    );
    let v = json(&svdimg(dir.path(), &["info", "p.svdz", "--json"]));
    assert_eq!(
        (&v["layout"], &v["tile_size"], &v["patch_dct"]),
        (
            &Value::from("patches"),
            &Value::from(8),
            &Value::from(false)
        )
    );
    // A gray photo that was a JPEG is stored on its JPEG's grid.
    let gray = image::load_from_memory(svdimg::SAMPLE_PNG)
        .unwrap()
        .to_luma8();
    let mut jpeg = std::fs::File::create(dir.path().join("gray.jpg")).unwrap();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&gray)
        .unwrap();
    let o = svdimg(
        dir.path(),
        &["compress", "gray.jpg", "-o", "j.svdz", "--psnr", "40"],
    );
    let grid = "version 2, patches: 8x8 patches on the 2D DCT's basis (a JPEG's grid)";
    assert!(stdout(&o).contains(grid), "{}", stdout(&o));
    let v = json(&svdimg(dir.path(), &["info", "j.svdz", "--json"]));
    assert_eq!(
        (&v["layout"], &v["patch_dct"]),
        (&Value::from("patches"), &Value::from(true))
    );
    let o = svdimg(
        dir.path(),
        &["compress", "--sample", "-o", "g.svdz", "--layout", "global"],
    );
    assert!(
        stdout(&o).contains("version 2, global: one basis per plane"),
        "{}",
        stdout(&o)
    );
    let o = svdimg(
        dir.path(),
        &[
            "compress",
            "--sample",
            "-o",
            "one.svdz",
            "--svdz-version",
            "1",
            "--json",
        ],
    );
    assert!(o.status.success());
    let v = json(&svdimg(dir.path(), &["info", "one.svdz", "--json"]));
    assert_eq!(
        (&v["version"], &v["layout"]),
        (&Value::from(1), &Value::from("global"))
    );

    let o = svdimg(
        dir.path(),
        &["compress", "--sample", "-o", "x.svdz", "--tile", "4"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.path().join("x.svdz").exists());
}

#[test]
fn max_bytes_is_honoured_and_a_larger_output_warns() {
    let dir = tempdir().unwrap();
    let v = json(&svdimg(
        dir.path(),
        &[
            "compress",
            "--sample",
            "-o",
            "s.svdz",
            "--max-bytes",
            "9000",
            "--json",
        ],
    ));
    assert!(v["bytes"].as_u64().unwrap() <= 9000);
    // Noise at full rank and high quality: PNG's lossless coding beats any factor file.
    let noise = image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(32, 32, |x, y| {
        image::Luma([((x * 7919 + y * 104729) % 251) as u8])
    }));
    // Written with the best compression, as an optimised PNG would be.
    let mut png = Vec::new();
    noise
        .write_with_encoder(image::codecs::png::PngEncoder::new_with_quality(
            &mut png,
            image::codecs::png::CompressionType::Best,
            image::codecs::png::FilterType::Adaptive,
        ))
        .unwrap();
    std::fs::write(dir.path().join("noise.png"), &png).unwrap();
    let o = svdimg(
        dir.path(),
        &["compress", "noise.png", "-o", "noise.svdz", "--psnr", "60"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("warning: 'noise.svdz' ("),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("is larger than the input 'noise.png'"));
}

#[test]
fn compress_and_decompress_errors_leave_no_files() {
    let dir = tempdir().unwrap();
    write_png(dir.path(), "g.png", &gradient(40, 30));
    let cases: [(&[&str], i32, &str); 7] = [
        (
            &["compress", "g.png", "-o", "g.png"],
            2,
            "the output of compress must end in .svdz",
        ),
        (
            &[
                "compress", "g.png", "-o", "g.svdz", "--rank", "3", "--psnr", "30",
            ],
            2,
            "cannot be used with",
        ),
        (
            &["compress", "g.png", "-o", "g.svdz", "--energy", "1.5"],
            2,
            "'1.5' is not a share in (0, 1]",
        ),
        (
            &["compress", "g.png", "-o", "g.svdz", "--max-bytes", "40"],
            1,
            "'g.png': cannot fit in 40 bytes: the smallest file for this image is",
        ),
        (
            &["decompress", "g.png", "-o", "out.png"],
            1,
            "'g.png': not an .svdz file",
        ),
        (
            &["decompress", "none.svdz", "-o", "out.png"],
            1,
            "'none.svdz': no such file or directory",
        ),
        (
            &["decompress", "g.png", "-o", "out.xyz"],
            2,
            "cannot write '.xyz' files",
        ),
    ];
    for (args, code, needle) in cases {
        let o = svdimg(dir.path(), args);
        assert_error(&o, code, needle);
    }
    assert_eq!(files(dir.path()), ["g.png"]);
}

#[test]
fn a_damaged_file_is_refused_without_output() {
    let dir = tempdir().unwrap();
    assert!(svdimg(
        dir.path(),
        &["compress", "--sample", "-o", "s.svdz", "--psnr", "25"]
    )
    .status
    .success());
    let path = dir.path().join("s.svdz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(dir.path().join("cut.svdz"), &bytes[..bytes.len() / 2]).unwrap();
    let o = svdimg(dir.path(), &["decompress", "cut.svdz", "-o", "out.png"]);
    assert_error(&o, 1, "'cut.svdz': the .svdz file is truncated");
    let mut flipped = bytes.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x10;
    std::fs::write(dir.path().join("bad.svdz"), &flipped).unwrap();
    let o = svdimg(dir.path(), &["decompress", "bad.svdz", "-o", "out.png"]);
    assert_error(&o, 1, "'bad.svdz': corrupt .svdz block: checksum mismatch");
    let o = svdimg(dir.path(), &["info", "cut.svdz"]);
    assert_error(&o, 1, "'cut.svdz': the .svdz file is truncated");
    assert_eq!(files(dir.path()), ["bad.svdz", "cut.svdz", "s.svdz"]);
}

#[test]
fn cut_files_decode_with_the_flag_and_prefixes_read_only_their_bytes() {
    let dir = tempdir().unwrap();
    let o = svdimg(
        dir.path(),
        &["compress", "--sample", "-o", "s.svdz", "--psnr", "38"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(dir.path().join("s.svdz")).unwrap();
    let whole = json(&svdimg(
        dir.path(),
        &["decompress", "s.svdz", "-o", "whole.png", "--json"],
    ));
    let total = whole["components_total"].as_u64().unwrap();
    assert_eq!(whole["components_used"], total);
    assert_eq!(whole["bytes_read"], bytes.len());
    assert_eq!(whole["file_bytes"], bytes.len());
    assert_eq!(whole["truncated"], false);

    // A download cut at 60%: an error naming the flag, then with it a picture and a warning.
    let cut = bytes.len() * 3 / 5;
    std::fs::write(dir.path().join("cut.svdz"), &bytes[..cut]).unwrap();
    let o = svdimg(dir.path(), &["decompress", "cut.svdz", "-o", "cut.png"]);
    assert_error(
        &o,
        1,
        &format!(
            "error: 'cut.svdz': the .svdz file is truncated: it ends at byte {cut} of {} \
             (pass --allow-truncated to decode what arrived)",
            bytes.len()
        ),
    );
    assert!(!dir.path().join("cut.png").exists());
    let o = svdimg(
        dir.path(),
        &[
            "decompress",
            "cut.svdz",
            "-o",
            "cut.png",
            "--allow-truncated",
            "--json",
        ],
    );
    let v = json(&o);
    let used = v["components_used"].as_u64().unwrap();
    assert!(0 < used && used < total, "{used} of {total}");
    assert_eq!(v["truncated"], true);
    assert_eq!(v["bytes_read"], cut);
    assert_eq!(
        stderr(&o),
        format!(
            "warning: 'cut.svdz': the .svdz file is truncated (it ends at byte {cut} of {}); \
             decoded {used} of its {total} components\n",
            bytes.len()
        )
    );

    // --max-bytes on the whole file reads exactly that prefix and decodes the same picture,
    // without a warning: the cut is asked for.
    let o = svdimg(
        dir.path(),
        &[
            "decompress",
            "s.svdz",
            "-o",
            "budget.png",
            "--max-bytes",
            &cut.to_string(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    assert!(
        stdout(&o).contains(&format!(
            "({used} of {total} components)\nread {cut} of {} bytes",
            bytes.len()
        )),
        "{}",
        stdout(&o)
    );
    let a = image::open(dir.path().join("cut.png")).unwrap();
    let b = image::open(dir.path().join("budget.png")).unwrap();
    assert_eq!(a.as_bytes(), b.as_bytes());
    assert_eq!((a.width(), a.height()), (256, 256));

    // More bytes, a better picture; --max-bytes past the end is the whole file.
    let third = (bytes.len() / 3).to_string();
    let o = svdimg(
        dir.path(),
        &[
            "decompress",
            "s.svdz",
            "-o",
            "third.png",
            "--max-bytes",
            &third,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let sample = image::load_from_memory(svdimg::SAMPLE_PNG)
        .unwrap()
        .to_rgb8();
    let mse = |name: &str| {
        let a = image::open(dir.path().join(name)).unwrap().to_rgb8();
        a.as_raw()
            .iter()
            .zip(sample.as_raw())
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum::<f64>()
    };
    assert!(mse("third.png") > mse("budget.png"));
    assert!(mse("budget.png") > mse("whole.png"));
    let o = svdimg(
        dir.path(),
        &[
            "decompress",
            "s.svdz",
            "-o",
            "all.png",
            "--max-bytes",
            "1G",
            "--json",
        ],
    );
    assert_eq!(json(&o)["components_used"], total);

    // A folder is named as one.
    std::fs::create_dir(dir.path().join("folder.svdz")).unwrap();
    let o = svdimg(dir.path(), &["decompress", "folder.svdz", "-o", "f.png"]);
    assert_error(&o, 1, "'folder.svdz': is a directory, not an .svdz file");

    // A bad budget is a usage error.
    let o = svdimg(
        dir.path(),
        &["decompress", "s.svdz", "-o", "x.png", "--max-bytes", "0"],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn rd_writes_the_plot_and_tabulates_bytes() {
    let dir = tempdir().unwrap();
    write_png(dir.path(), "g.png", &gradient(96, 64));
    let v = json(&svdimg(
        dir.path(),
        &["rd", "g.png", "-o", "rd.svg", "--json"],
    ));
    let names: Vec<&str> = v["curves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "svdz-v2",
            "svdz-ycbcr",
            "svdz-rgb",
            "float32-factors",
            "jpeg",
            "jpeg-strong",
            "webp"
        ]
    );
    // Every WebP point was decoded and measured: real files, and (on the frontier) more
    // bytes for a higher PSNR.
    let webp = v["curves"][6]["points"].as_array().unwrap();
    for w in webp.windows(2) {
        assert!(w[0]["bytes"].as_u64() < w[1]["bytes"].as_u64(), "{w:?}");
    }
    assert!(webp.iter().all(|p| p["bytes"].as_u64().unwrap() > 30));
    for c in v["curves"].as_array().unwrap() {
        let psnr: Vec<f64> = c["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["psnr_db"].as_f64().unwrap())
            .collect();
        assert!(psnr.windows(2).all(|w| w[0] <= w[1]), "{psnr:?}");
        assert!(!psnr.is_empty());
    }
    assert_eq!(keys(&v["bytes_at"]), ["30", "35", "40"]);
    assert_eq!(keys(&v["bytes_at_ssim"]), ["0.90", "0.95", "0.98"]);
    for c in v["curves"].as_array().unwrap() {
        for p in c["points"].as_array().unwrap() {
            let ssim = p["ssim"].as_f64().unwrap();
            assert!(ssim > 0.0 && ssim <= 1.0, "{p}");
        }
    }
    let svg = std::fs::read_to_string(dir.path().join("rd.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("jpeg") && svg.contains("svdz-ycbcr"));
    let o = svdimg(dir.path(), &["rd", "g.png", "-o", "rd.jpg"]);
    assert_error(&o, 2, "the rate–distortion plot is written as .svg or .png");
}
