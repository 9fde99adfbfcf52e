//! `info` and `approx`: output, JSON contracts and every error path.

use serde_json::Value;

use crate::*;

#[test]
fn info_on_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let o = svdimg(dir.path(), &["info", "--sample"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("sample: 256x256 pixels, rgb, 8-bit\n"),
        "{out}"
    );
    for plane in ["\nr ", "\ng ", "\nb "] {
        assert!(out.contains(plane), "{out}");
    }
}

#[test]
fn info_json_has_the_contracted_keys() {
    let dir = tempfile::tempdir().unwrap();
    let o = svdimg(dir.path(), &["info", "--sample", "--json"]);
    assert!(o.status.success());
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["width"], 256);
    assert_eq!(v["height"], 256);
    assert_eq!(v["bit_depth"], 8);
    assert_eq!(v["color"], "rgb");
    let planes = v["planes"].as_array().unwrap();
    let names: Vec<&str> = planes.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["r", "g", "b"]);
    for p in planes {
        let s: Vec<f64> = floats(&p["singular_values"]);
        assert_eq!(s.len(), 256);
        assert!(s.windows(2).all(|w| w[0] >= w[1]));
        let ranks = &p["energy_ranks"];
        let (a, b, c) = (
            ranks["0.9"].as_u64().unwrap(),
            ranks["0.99"].as_u64().unwrap(),
            ranks["0.999"].as_u64().unwrap(),
        );
        assert!(1 <= a && a <= b && b <= c && c <= 256);
        // The 90% rank really keeps 90% of the energy, and one fewer does not.
        let total: f64 = s.iter().map(|x| x * x).sum();
        let kept = |k: usize| s[..k].iter().map(|x| x * x).sum::<f64>() / total;
        assert!(kept(a as usize) >= 0.9 && kept(a as usize - 1) < 0.9);
    }
}

#[test]
fn info_gray_analyses_one_plane() {
    let dir = tempfile::tempdir().unwrap();
    let o = svdimg(
        dir.path(),
        &["info", "--sample", "--gray", "--json", "--precision", "f64"],
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["planes"].as_array().unwrap().len(), 1);
    assert_eq!(v["planes"][0]["name"], "gray");
}

#[test]
fn approx_writes_the_rank_k_image_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let o = svdimg(
        dir.path(),
        &["approx", "--sample", "-k", "20", "-o", "out.png", "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "height",
            "method",
            "pixel_values",
            "planes",
            "psnr_db",
            "rank",
            "ratio",
            "seconds",
            "ssim",
            "stored_values",
            "width"
        ]
    );
    assert_eq!(v["rank"], 20);
    assert_eq!(v["method"], "exact", "auto picks exact below 300 pixels");
    assert_eq!(v["stored_values"], 20 * (256 + 256 + 1) * 3);
    assert_eq!(v["pixel_values"], 256 * 256 * 3);
    let ratio = v["ratio"].as_f64().unwrap();
    assert!((ratio - 30780.0 / 196608.0).abs() < 1e-12);
    for p in v["planes"].as_array().unwrap() {
        let (e, r, en) = (
            p["frobenius_error"].as_f64().unwrap(),
            p["relative_error"].as_f64().unwrap(),
            p["energy"].as_f64().unwrap(),
        );
        assert!(e > 0.0 && r > 0.0 && r < 1.0 && en > 0.9 && en < 1.0);
    }
    let psnr = v["psnr_db"].as_f64().unwrap();
    assert!(psnr > 18.0 && psnr < 40.0, "{psnr}");
    let ssim = v["ssim"].as_f64().unwrap();
    assert!(ssim > 0.3 && ssim < 1.0);
    let written = image::open(dir.path().join("out.png")).unwrap();
    assert_eq!((written.width(), written.height()), (256, 256));
    assert!(matches!(written, image::DynamicImage::ImageRgb8(_)));
    assert_eq!(files(dir.path()), ["out.png"]);
}

#[test]
fn approx_psnr_grows_with_rank() {
    let dir = tempfile::tempdir().unwrap();
    let psnr = |k: &str| {
        let o = svdimg(
            dir.path(),
            &["approx", "--sample", "-k", k, "-o", "o.png", "--json"],
        );
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        v["psnr_db"].as_f64().unwrap()
    };
    let (a, b, c) = (psnr("5"), psnr("20"), psnr("100"));
    assert!(a < b && b < c, "{a} {b} {c}");
}

#[test]
fn approx_clamps_a_rank_above_min_m_n() {
    let dir = tempfile::tempdir().unwrap();
    let o = svdimg(
        dir.path(),
        &[
            "approx", "--sample", "-k", "5000", "-o", "full.png", "--json",
        ],
    );
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["rank"], 256);
    assert!(
        v["psnr_db"].is_null(),
        "full rank reproduces the sample exactly"
    );
    let o = svdimg(
        dir.path(),
        &["approx", "--sample", "-k", "5000", "-o", "full.png"],
    );
    assert!(
        stdout(&o).contains("rank 256 (asked for 5000"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn approx_keeps_16_bits_and_alpha_in_png_and_writes_jpeg() {
    let dir = tempfile::tempdir().unwrap();
    let img = image::DynamicImage::ImageRgba16(image::ImageBuffer::from_fn(40, 30, |x, y| {
        image::Rgba([
            (x * 1000) as u16,
            (y * 2000) as u16,
            30000,
            (x * 1500) as u16,
        ])
    }));
    write_png(dir.path(), "in.png", &img);
    let o = svdimg(
        dir.path(),
        &["approx", "in.png", "-k", "3", "-o", "out.png"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = image::open(dir.path().join("out.png")).unwrap();
    let out = match out {
        image::DynamicImage::ImageRgba16(b) => b,
        other => panic!("expected RGBA16, got {:?}", other.color()),
    };
    assert!(out
        .enumerate_pixels()
        .all(|(x, _, p)| p[3] == (x * 1500) as u16));
    let o = svdimg(
        dir.path(),
        &["approx", "in.png", "-k", "3", "-o", "out.jpg"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(image::open(dir.path().join("out.jpg")).unwrap().width(), 40);
    let o = svdimg(
        dir.path(),
        &["approx", "in.png", "-k", "3", "--gray", "-o", "gray.png"],
    );
    assert!(o.status.success());
    assert!(!image::open(dir.path().join("gray.png"))
        .unwrap()
        .color()
        .has_color());
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = svdimg(
        dir.path(),
        &["approx", "missing.png", "-k", "3", "-o", "out.png"],
    );
    assert_error(&o, 1, "'missing.png': no such file or directory");
    assert!(files(dir.path()).is_empty());
}

#[test]
fn not_an_image() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("notes.txt"),
        "just some text, no pixels here",
    )
    .unwrap();
    let o = svdimg(dir.path(), &["info", "notes.txt"]);
    assert_error(&o, 1, "'notes.txt': not a recognised image format");
}

#[test]
fn truncated_image_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_png(dir.path(), "full.png", &gradient(64, 64));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(dir.path().join("cut.png"), &bytes[..bytes.len() / 2]).unwrap();
    let o = svdimg(
        dir.path(),
        &["approx", "cut.png", "-k", "3", "-o", "out.png"],
    );
    assert_error(
        &o,
        1,
        &format!(
            "error: 'cut.png': the image is truncated (PNG data ends at byte {} before its IEND \
             chunk) (pass --allow-truncated to decode what is there)",
            bytes.len() / 2
        ),
    );
    assert_eq!(files(dir.path()), ["cut.png", "full.png"]);
}

/// The issue's case: a JPEG cut in half used to decode with a gray lower half and a
/// flattering PSNR. Every command that reads an image refuses it; `--allow-truncated`
/// accepts it with a warning.
#[test]
fn truncated_jpeg_is_an_error_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_png(dir.path(), "full.jpg", &gradient(96, 64));
    let bytes = std::fs::read(&path).unwrap();
    let half = bytes.len() / 2;
    std::fs::write(dir.path().join("cut.jpg"), &bytes[..half]).unwrap();
    let message = format!(
        "error: 'cut.jpg': the image is truncated (JPEG data ends at byte {half} with no \
         end-of-image marker) (pass --allow-truncated to decode what is there)\n"
    );
    for args in [
        &["info", "cut.jpg"][..],
        &["approx", "cut.jpg", "-k", "3", "-o", "out.png"],
        &["spectrum", "cut.jpg", "-o", "s.svg"],
        &["gallery", "cut.jpg", "-o", "g.png"],
        &["components", "cut.jpg", "-o", "c.png"],
        &["compress", "cut.jpg", "-o", "c.svdz"],
        &["rd", "cut.jpg", "-o", "rd.svg"],
        &["tour", "cut.jpg", "-o", "tour"],
    ] {
        let o = svdimg(dir.path(), args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&o), message, "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    assert_eq!(files(dir.path()), ["cut.jpg", "full.jpg"]);

    let o = svdimg(
        dir.path(),
        &[
            "approx",
            "cut.jpg",
            "-k",
            "3",
            "-o",
            "out.png",
            "--allow-truncated",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "warning: 'cut.jpg': the image is truncated (JPEG data ends at byte {half} with no \
             end-of-image marker); the decoder filled in what is missing\n"
        )
    );
    assert!(dir.path().join("out.png").is_file());
}

/// Where the header states the length, the warning says how much is missing.
#[test]
fn allowed_truncation_with_a_known_length_counts_the_missing_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // A lossy WebP one byte short: the only cut of a format with a stated length that the
    // decoder still makes a picture of (the library's truncation table).
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../svdimg/tests/data/lossy.webp"
    );
    let bytes = std::fs::read(fixture).unwrap();
    let keep = bytes.len() - 1;
    std::fs::write(dir.path().join("cut.webp"), &bytes[..keep]).unwrap();
    let o = svdimg(dir.path(), &["info", "cut.webp"]);
    assert_error(&o, 1, "the image is truncated (WebP data ends at byte");
    let o = svdimg(
        dir.path(),
        &["info", "cut.webp", "--allow-truncated", "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "warning: 'cut.webp': the image is truncated (WebP data ends at byte {keep} of {}); \
             1 of its {} bytes are missing (0.02%) and the decoder filled them in\n",
            bytes.len(),
            bytes.len()
        )
    );
    let json: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(json["width"], 128);
}
