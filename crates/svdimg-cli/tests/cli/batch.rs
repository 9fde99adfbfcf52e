//! `svdimg batch`: mirrored outputs, bad files recorded, resume, SIGKILL, globs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::tempdir;

use crate::{assert_error, gradient, stdout, svdimg, write_png};

/// A noisy test photo (`seed` varies it), big enough that compressing it takes a moment.
fn photo(w: u32, h: u32, seed: u32) -> image::DynamicImage {
    let mut state = seed.wrapping_mul(2654435761).wrapping_add(1);
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = state % 32;
        image::Rgb([
            ((x * 3 + seed * 11) % 200 + noise) as u8,
            ((y * 2 + x / 3) % 200 + noise) as u8,
            ((x + y + seed) % 200 + noise) as u8,
        ])
    }))
}

/// Every file below `dir` whose name does not start with a dot, relative, sorted.
fn visible_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Names below `dir` (any depth) that start with `prefix`.
fn hidden_named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().starts_with(prefix) {
                out.push(e.path());
            }
        }
    }
    out
}

/// Decodes an .svdz output whole, or panics naming it.
fn assert_decodes(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    svdimg::decompress(&bytes, &svdimg::DecompressOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn summary(o: &std::process::Output) -> Value {
    serde_json::from_str(stdout(o).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn mirrors_folders_records_bad_files_and_resumes() {
    let dir = tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("in/a/deep")).unwrap();
    std::fs::create_dir_all(root.join("in/b")).unwrap();
    write_png(&root.join("in/a"), "x.png", &gradient(64, 48));
    write_png(&root.join("in/b"), "x.png", &gradient(50, 40));
    write_png(&root.join("in/a/deep"), "y.jpg", &gradient(40, 40));
    std::fs::write(root.join("in/b/bad.png"), b"not an image").unwrap();
    std::fs::write(root.join("in/notes.txt"), b"skipped: not an image name").unwrap();

    let o = svdimg(root, &["batch", "in", "-o", "out", "--json"]);
    assert_eq!(o.status.code(), Some(1), "a bad file makes the exit code 1");
    let s = summary(&o);
    let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "bytes_in",
            "bytes_out",
            "done",
            "failed",
            "psnr_median",
            "psnr_worst",
            "seconds",
            "skipped"
        ]
    );
    assert_eq!(
        (
            s["done"].as_u64(),
            s["failed"].as_u64(),
            s["skipped"].as_u64()
        ),
        (Some(3), Some(1), Some(0))
    );
    assert!(s["psnr_worst"].as_f64().unwrap() >= 35.0);
    let outputs = visible_files(&root.join("out"));
    assert_eq!(
        outputs,
        ["a/deep/y.svdz", "a/x.svdz", "b/x.svdz"].map(PathBuf::from)
    );
    for f in &outputs {
        assert_decodes(&root.join("out").join(f));
    }
    let bytes_out: u64 = outputs
        .iter()
        .map(|f| std::fs::metadata(root.join("out").join(f)).unwrap().len())
        .sum();
    assert_eq!(s["bytes_out"].as_u64(), Some(bytes_out));
    // The journal: one line per file, the bad one with its error.
    let journal = std::fs::read_to_string(root.join("out/.svdimg-journal.jsonl")).unwrap();
    let lines: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    let bad = lines.iter().find(|l| l["status"] == "failed").unwrap();
    assert!(bad["input"].as_str().unwrap().ends_with("in/b/bad.png"));
    assert_eq!(bad["error"], "not a recognised image format");

    // A rerun skips what is done and retries the bad file.
    let o = svdimg(root, &["batch", "in", "-o", "out", "--json"]);
    let s = summary(&o);
    assert_eq!(
        (
            s["done"].as_u64(),
            s["failed"].as_u64(),
            s["skipped"].as_u64()
        ),
        (Some(0), Some(1), Some(3))
    );

    // A changed file is redone; so is everything under other settings.
    std::thread::sleep(Duration::from_millis(20));
    write_png(&root.join("in/b"), "x.png", &gradient(52, 40));
    std::fs::remove_file(root.join("in/b/bad.png")).unwrap();
    let o = svdimg(root, &["batch", "in", "-o", "out", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let s = summary(&o);
    assert_eq!(
        (s["done"].as_u64(), s["skipped"].as_u64()),
        (Some(1), Some(2))
    );
    let o = svdimg(
        root,
        &["batch", "in", "-o", "out", "--json", "--psnr", "30"],
    );
    let s = summary(&o);
    assert_eq!(
        (s["done"].as_u64(), s["skipped"].as_u64()),
        (Some(3), Some(0))
    );
}

#[test]
fn survives_sigkill_at_any_moment() {
    let dir = tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("in")).unwrap();
    let count = 16;
    for i in 0..count {
        write_png(
            &root.join("in"),
            &format!("p{i:02}.png"),
            &photo(300, 220, i),
        );
    }
    // Kill at a spread of moments (the last well after the first files are written).
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    for (round, base) in [30u64, 120, 300].into_iter().enumerate() {
        let delay = base + (nanos >> (round * 3)) % 60;
        let mut child = Command::new(env!("CARGO_BIN_EXE_svdimg"))
            .args(["batch", "in", "-o", "out", "--jobs", "2", "--json"])
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Whatever is visible is whole.
        let written = if root.join("out").is_dir() {
            let files = visible_files(&root.join("out"));
            for f in &files {
                assert_decodes(&root.join("out").join(f));
            }
            files.len()
        } else {
            0
        };
        if round == 0 {
            // The first kill lands mid-batch (each file takes tens of milliseconds).
            assert!(
                written < count as usize,
                "the batch finished before the kill"
            );
        }
    }
    let o = svdimg(root, &["batch", "in", "-o", "out", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let s = summary(&o);
    assert_eq!(
        s["done"].as_u64().unwrap() + s["skipped"].as_u64().unwrap(),
        count as u64
    );
    let outputs = visible_files(&root.join("out"));
    assert_eq!(outputs.len(), count as usize);
    for f in &outputs {
        assert_decodes(&root.join("out").join(f));
    }
    assert!(
        hidden_named(&root.join("out"), ".svdimg-batch-").is_empty(),
        "leftover temporary files"
    );
    // And now everything is done.
    let s = summary(&svdimg(root, &["batch", "in", "-o", "out", "--json"]));
    assert_eq!(s["skipped"].as_u64(), Some(count as u64));
}

#[test]
fn globs_png_output_and_collisions() {
    let dir = tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("in/a")).unwrap();
    std::fs::create_dir_all(root.join("in/b")).unwrap();
    write_png(&root.join("in/a"), "x.png", &gradient(64, 48));
    write_png(&root.join("in/b"), "x.png", &gradient(30, 20));
    write_png(&root.join("in/b"), "y.bmp", &gradient(30, 20));

    // A glob mirrors paths below its fixed part; --to png writes the decoded image.
    let o = svdimg(
        root,
        &["batch", "in/**/*.png", "-o", "out", "--to", "png", "--json"],
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        visible_files(&root.join("out")),
        ["a/x.png", "b/x.png"].map(PathBuf::from)
    );
    let png = image::open(root.join("out/b/x.png")).unwrap();
    assert_eq!((png.width(), png.height()), (30, 20));

    // Two files given by name that would write the same output: refused before any work.
    let o = svdimg(root, &["batch", "in/a/x.png", "in/b/x.png", "-o", "out2"]);
    assert_error(&o, 2, "would both write");
    assert!(visible_files(&root.join("out2")).is_empty());

    let o = svdimg(root, &["batch", "in/nothing-*.png", "-o", "out3"]);
    assert_error(&o, 2, "no file matches");
    let o = svdimg(root, &["batch", "missing", "-o", "out3"]);
    assert_error(&o, 1, "'missing': no such file or directory");
    let o = svdimg(root, &["batch", "in", "-o", "out3", "--memory", "0"]);
    assert_eq!(o.status.code(), Some(2));
    // An output over its own input is refused (PNG into the input's folder).
    let before = std::fs::read(root.join("in/a/x.png")).unwrap();
    let o = svdimg(root, &["batch", "in/a", "-o", "in/a", "--to", "png"]);
    assert_error(&o, 2, "would be written over itself");
    assert_eq!(std::fs::read(root.join("in/a/x.png")).unwrap(), before);
}
