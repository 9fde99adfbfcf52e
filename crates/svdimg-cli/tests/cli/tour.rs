//! `tour`, `spectrum`, `gallery` and `components`: the files, their contents, and the HTML
//! report in a real browser.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::*;

const TOUR_FILES: [&str; 9] = [
    "approx_color_k10.png",
    "approx_gray_k10.png",
    "components.png",
    "gallery.png",
    "gray.png",
    "index.html",
    "original.png",
    "reconstruction_color.png",
    "spectrum.svg",
];

/// Runs `svdimg tour` on the sample into `dir/svdimg-tour` and returns that directory.
fn tour(dir: &Path) -> std::path::PathBuf {
    let o = svdimg(dir, &["tour"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "shape (256, 256, 3), uint8, values 0..255",
        "img_gray.shape = (256, 256)",
        "full (np.linalg.svd default): U (256, 256)  s (256,)  Vᵀ (256, 256)",
        "np.allclose(A, U Σ Vᵀ) (rtol 1e-5, atol 1e-8): True",
        "k(m+n+1) = 10·(256+256+1) = 5130 numbers instead of m·n = 65536",
        "before clipping",
        "rank=50",
        "Wrote 9 files to svdimg-tour/",
    ] {
        assert!(out.contains(needle), "tour output lacks {needle:?}:\n{out}");
    }
    dir.join("svdimg-tour")
}

/// The number after `label` in `text`, e.g. the error after "‖A − A_10‖ = ".
fn number_after(text: &str, label: &str) -> f64 {
    let start = text.find(label).unwrap_or_else(|| panic!("no {label:?}")) + label.len();
    let rest: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e'))
        .collect();
    rest.trim_end_matches('.').parse().unwrap()
}

#[test]
fn tour_writes_every_file_and_each_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let out = tour(dir.path());
    assert_eq!(files(&out), TOUR_FILES);
    for name in TOUR_FILES.iter().filter(|n| n.ends_with(".png")) {
        let img = image::open(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(img.width() > 0 && img.height() > 0);
    }
    for name in [
        "original.png",
        "reconstruction_color.png",
        "approx_color_k10.png",
        "gray.png",
    ] {
        let img = image::open(out.join(name)).unwrap();
        assert_eq!((img.width(), img.height()), (256, 256), "{name}");
    }
    // Full rank reproduces the sample exactly.
    let original = image::open(out.join("original.png")).unwrap();
    let rebuilt = image::open(out.join("reconstruction_color.png")).unwrap();
    assert_eq!(original.as_bytes(), rebuilt.as_bytes());
    let svg = std::fs::read_to_string(out.join("spectrum.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline") && svg.trim_end().ends_with("</svg>")
    );
}

#[test]
fn tour_error_matches_eckart_young_and_components_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let o = svdimg(dir.path(), &["tour", "-k", "7", "-o", "t"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let error = number_after(&out, "‖A − A_7‖ = ");
    let optimum = number_after(&out, "Eckart–Young optimum sqrt(Σ_{i>7} σᵢ²) = ");
    assert!(
        (error - optimum).abs() <= 1e-6 * optimum,
        "{error} vs {optimum}"
    );
    let difference = number_after(&out, "max |difference| = ");
    assert!(difference < 1e-4, "{difference}");
    assert!(dir.path().join("t/approx_gray_k7.png").is_file());
}

#[test]
fn index_html_references_only_files_that_exist() {
    let dir = tempfile::tempdir().unwrap();
    let out = tour(dir.path());
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let mut refs = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (i, _) in html.match_indices(attr) {
            let start = i + attr.len();
            let end = start + html[start..].find('"').unwrap();
            refs.push(html[start..end].to_string());
        }
    }
    assert!(refs.len() >= 8, "{refs:?}");
    for r in &refs {
        assert!(!r.contains("://"), "external reference {r}");
        assert!(out.join(r).is_file(), "index.html references missing {r}");
    }
}

#[test]
fn spectrum_is_non_increasing_and_has_gray() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["s.svg", "s.png"] {
        let o = svdimg(dir.path(), &["spectrum", "--sample", "-o", name, "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let names: Vec<&str> = v["planes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["r", "g", "b", "gray"]);
        for p in v["planes"].as_array().unwrap() {
            let s: Vec<f64> = floats(&p["singular_values"]);
            assert_eq!(s.len(), 256);
            assert!(
                s.windows(2).all(|w| w[0] >= w[1]),
                "{} not non-increasing",
                p["name"]
            );
        }
    }
    assert_eq!(image::open(dir.path().join("s.png")).unwrap().width(), 960);
    assert_error(
        &svdimg(dir.path(), &["spectrum", "--sample", "-o", "s.jpg"]),
        2,
        "written as .svg or .png",
    );
}

#[test]
fn gallery_has_one_tile_per_rank() {
    let dir = tempfile::tempdir().unwrap();
    let o = svdimg(
        dir.path(),
        &[
            "gallery",
            "--sample",
            "--ranks",
            "1,2,3,4,5,10,20,50",
            "-o",
            "g.png",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let tiles = v["tiles"].as_array().unwrap();
    let ranks: Vec<u64> = tiles.iter().map(|t| t["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, [1, 2, 3, 4, 5, 10, 20, 50]);
    let psnr: Vec<f64> = tiles
        .iter()
        .map(|t| t["psnr_db"].as_f64().unwrap())
        .collect();
    assert!(psnr.windows(2).all(|w| w[0] < w[1]), "{psnr:?}");
    // 4 columns × 2 rows of 300-pixel tiles under 34-pixel labels, 12-pixel gaps.
    let g = image::open(dir.path().join("g.png")).unwrap();
    assert_eq!(
        (g.width(), g.height()),
        (4 * 312 + 12, 2 * (300 + 34 + 12) + 12)
    );
    let o = svdimg(
        dir.path(),
        &[
            "gallery", "--sample", "--ranks", "3,1", "-o", "g2.png", "--gray",
        ],
    );
    assert!(o.status.success());
    let g = image::open(dir.path().join("g2.png")).unwrap();
    assert_eq!((g.width(), g.height()), (2 * 312 + 12, 300 + 34 + 12 + 12));
    assert_error(
        &svdimg(
            dir.path(),
            &["gallery", "--sample", "--ranks", "1,0", "-o", "x.png"],
        ),
        2,
        "at least 1",
    );
}

#[test]
fn components_add_up_to_the_rank_n_approximation() {
    let dir = tempfile::tempdir().unwrap();
    let o = svdimg(
        dir.path(),
        &[
            "components",
            "--sample",
            "--count",
            "5",
            "-o",
            "c.png",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["max_abs_difference"].as_f64().unwrap() < 1e-4);
    let sigmas: Vec<f64> = floats(&v["sigmas"]);
    assert_eq!(sigmas.len(), 5);
    assert!(sigmas.windows(2).all(|w| w[0] >= w[1]));
    let c = image::open(dir.path().join("c.png")).unwrap();
    assert_eq!(c.width(), 5 * 312 + 12);
    assert_error(
        &svdimg(
            dir.path(),
            &["components", "--sample", "--count", "0", "-o", "c.png"],
        ),
        2,
        "--count",
    );
}

/// Finds Chromium, or says why the browser test cannot run.
fn chromium() -> Option<String> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        if found.is_some() {
            return found;
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI is set but Chromium is missing: scripts/test.sh installs it with apt");
    }
    eprintln!("skipped: Chromium not found (scripts/test.sh installs it)");
    None
}

#[test]
fn index_html_renders_every_image_in_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = tour(dir.path());
    // A copy of the report with a checker that records, once the page has loaded, how many
    // images it has and which failed to load.
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let checker = r#"<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
  document.body.setAttribute('data-check', 'images=' + imgs.length + ';broken=' + broken.join(','));
});
</script></body>"#;
    std::fs::write(out.join("check.html"), html.replace("</body>", checker)).unwrap();
    assert_eq!(check_images(&browser, dir.path(), &out), "images=8;broken=");
    // The check can fail: with a figure missing, Chromium reports it broken.
    std::fs::remove_file(out.join("gallery.png")).unwrap();
    assert_eq!(
        check_images(&browser, dir.path(), &out),
        "images=8;broken=gallery.png"
    );
}

/// Loads `out/check.html` in headless Chromium and returns the checker's verdict.
fn check_images(browser: &str, dir: &Path, out: &Path) -> String {
    let profile = dir.join("profile");
    let url = format!("file://{}", out.join("check.html").display());
    let o = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=15000",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            &url,
        ])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    let start = dom.find("data-check=\"").unwrap_or_else(|| {
        panic!(
            "no check result; chromium said: {}",
            String::from_utf8_lossy(&o.stderr)
        )
    }) + "data-check=\"".len();
    dom[start..start + dom[start..].find('"').unwrap()].to_string()
}
