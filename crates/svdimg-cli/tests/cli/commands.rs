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
    assert_error(&o, 1, "'cut.png': ");
    assert_eq!(files(dir.path()), ["cut.png", "full.png"]);
}

#[test]
fn zero_by_zero_image() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.pgm"), b"P5\n0 0\n255\n").unwrap();
    let o = svdimg(dir.path(), &["info", "empty.pgm"]);
    assert_error(&o, 1, "'empty.pgm': ");
    std::fs::write(dir.path().join("nothing.png"), b"").unwrap();
    let o = svdimg(dir.path(), &["info", "nothing.png"]);
    assert_error(&o, 1, "'nothing.png': the file is empty");
}

#[test]
fn rank_zero_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = svdimg(
        dir.path(),
        &["approx", "--sample", "-k", "0", "-o", "out.png"],
    );
    assert_error(&o, 2, "the rank must be at least 1");
    let o = svdimg(
        dir.path(),
        &["approx", "--sample", "-k", "ten", "-o", "out.png"],
    );
    assert_error(&o, 2, "'ten' is not a positive whole number");
    assert!(files(dir.path()).is_empty());
}

#[test]
fn usage_errors_exit_2_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    assert_error(
        &svdimg(dir.path(), &["approx", "-k", "3", "-o", "x.png"]),
        2,
        "<IMAGE|--sample>",
    );
    assert_error(&svdimg(dir.path(), &["frobnicate"]), 2, "frobnicate");
    assert_error(
        &svdimg(
            dir.path(),
            &["approx", "--sample", "-k", "3", "-o", "x.xyz"],
        ),
        2,
        "cannot write '.xyz' files",
    );
    assert_eq!(svdimg(dir.path(), &[]).status.code(), Some(2));
    let help = svdimg(dir.path(), &["approx", "--help"]);
    assert!(help.status.success() && stdout(&help).contains("--rank <K>"));
}

#[test]
fn missing_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let o = svdimg(
        dir.path(),
        &["approx", "--sample", "-k", "3", "-o", "nowhere/out.png"],
    );
    assert_error(
        &o,
        1,
        "cannot write 'nowhere/out.png': directory 'nowhere' does not exist",
    );
    assert!(files(dir.path()).is_empty());
}

#[test]
fn unwritable_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    // A plain file where a directory should be cannot be written into, even by root.
    std::fs::write(dir.path().join("blocker"), b"x").unwrap();
    let o = svdimg(
        dir.path(),
        &["approx", "--sample", "-k", "3", "-o", "blocker/out.png"],
    );
    assert_error(&o, 1, "cannot write 'blocker/out.png'");
    assert_eq!(files(dir.path()), ["blocker"]);
}

#[test]
fn output_equal_to_input_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_png(dir.path(), "photo.png", &gradient(32, 24));
    let before = std::fs::read(&path).unwrap();
    let o = svdimg(
        dir.path(),
        &["approx", "photo.png", "-k", "2", "-o", "./photo.png"],
    );
    assert_error(
        &o,
        2,
        "refusing to overwrite the input './photo.png' (pass --force",
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let o = svdimg(
        dir.path(),
        &[
            "approx",
            "photo.png",
            "-k",
            "2",
            "-o",
            "photo.png",
            "--force",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(std::fs::read(&path).unwrap(), before);
    assert_eq!(files(dir.path()), ["photo.png"]);
}

#[test]
fn image_over_the_pixel_limit() {
    let dir = tempfile::tempdir().unwrap();
    write_png(dir.path(), "big.png", &gradient(50, 40));
    let o = svdimg(
        dir.path(),
        &[
            "approx",
            "big.png",
            "-k",
            "2",
            "-o",
            "o.png",
            "--max-pixels",
            "1000",
        ],
    );
    assert_error(
        &o,
        1,
        "'big.png': the image is 50x40 = 2000 pixels, over the limit of 1000 pixels (raise it with --max-pixels)",
    );
    assert_eq!(files(dir.path()), ["big.png"]);
    let o = svdimg(
        dir.path(),
        &[
            "approx",
            "big.png",
            "-k",
            "2",
            "-o",
            "o.png",
            "--max-pixels",
            "2000",
        ],
    );
    assert!(o.status.success());
}

#[test]
fn broken_pipe_exits_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_svdimg"))
        .args(["info", "--sample", "--json", "--precision", "f64"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn approx_method_randomized_is_near_exact_and_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let run = |method: &str, seed: &str, out: &str| {
        let o = svdimg(
            dir.path(),
            &[
                "approx", "--sample", "-k", "20", "-o", out, "--json", "--method", method,
                "--seed", seed,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str::<Value>(&stdout(&o)).unwrap()
    };
    let exact = run("exact", "0", "e.png");
    let a = run("randomized", "7", "a.png");
    let b = run("randomized", "7", "b.png");
    assert_eq!(a["method"], "randomized");
    assert_eq!(
        a["planes"], b["planes"],
        "the same seed gives the same errors"
    );
    for (pe, pr) in exact["planes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(a["planes"].as_array().unwrap())
    {
        let (e, r) = (
            pe["frobenius_error"].as_f64().unwrap(),
            pr["frobenius_error"].as_f64().unwrap(),
        );
        assert!(r >= e * (1.0 - 1e-6) && r <= 1.01 * e, "{r} vs exact {e}");
    }
    assert_eq!(
        std::fs::read(dir.path().join("a.png")).unwrap(),
        std::fs::read(dir.path().join("b.png")).unwrap(),
        "the same seed gives the same image"
    );
}
