//! Truncated image files: every format, cut at several points, is refused by default, and
//! `allow_truncated` either decodes what is there (reporting the cut) or still refuses.
//!
//! `cargo test --release -p svdimg --test it truncation_table -- --nocapture` prints the
//! table the README's limits quote.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat};
use svdimg::{DecodeOptions, Limits, Picture};

/// A test file: its name in the table, its bytes and where its header ends.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    header: usize,
}

fn sample() -> DynamicImage {
    let picture = Picture::decode(svdimg::SAMPLE_PNG, &Limits::default()).unwrap();
    // 128×128 keeps the table's files small; the cut points are relative.
    picture
        .image()
        .resize_exact(128, 128, image::imageops::FilterType::Triangle)
}

fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The end of a JPEG's first SOS segment: everything before the first scan's data.
fn jpeg_header(b: &[u8]) -> usize {
    let sos = b.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    sos + 2 + usize::from(u16::from_be_bytes([b[sos + 2], b[sos + 3]]))
}

/// The end of a binary PNM header: after the line holding its third number.
fn pnm_header(b: &[u8]) -> usize {
    b.iter()
        .enumerate()
        .filter(|(_, &c)| c == b'\n')
        .nth(2)
        .map(|(i, _)| i + 1)
        .unwrap()
}

fn cases() -> Vec<Case> {
    let rgb = DynamicImage::ImageRgb8(sample().to_rgb8());
    let rgba = DynamicImage::ImageRgba8(sample().to_rgba8());
    let png = encoded(&rgb, ImageFormat::Png);
    let jpeg = encoded(&rgb, ImageFormat::Jpeg);
    let progressive = fixture("progressive.jpg");
    let gif = encoded(&rgba, ImageFormat::Gif);
    let bmp = encoded(&rgb, ImageFormat::Bmp);
    let tiff = encoded(&rgb, ImageFormat::Tiff);
    let lossy = fixture("lossy.webp");
    let lossless = encoded(&rgb, ImageFormat::WebP);
    let ppm = encoded(&rgb, ImageFormat::Pnm);
    let mut plain = format!("P3\n{} {}\n255\n", rgb.width(), rgb.height()).into_bytes();
    for v in rgb.to_rgb8().as_raw() {
        plain.extend_from_slice(format!("{v}\n").as_bytes());
    }
    let gif_header = 13 + (3 << ((gif[10] & 7) + 1)) * usize::from(gif[10] >> 7);
    vec![
        Case {
            name: "PNG",
            header: 33,
            bytes: png,
        },
        Case {
            name: "JPEG baseline",
            header: jpeg_header(&jpeg),
            bytes: jpeg,
        },
        Case {
            name: "JPEG progressive",
            header: jpeg_header(&progressive),
            bytes: progressive,
        },
        Case {
            name: "GIF",
            header: gif_header,
            bytes: gif,
        },
        Case {
            name: "BMP",
            header: u32::from_le_bytes(bmp[10..14].try_into().unwrap()) as usize,
            bytes: bmp,
        },
        Case {
            name: "TIFF",
            header: 8,
            bytes: tiff,
        },
        Case {
            name: "WebP lossy",
            header: 30,
            bytes: lossy,
        },
        Case {
            name: "WebP lossless",
            header: 25,
            bytes: lossless,
        },
        Case {
            name: "PNM binary (P6)",
            header: pnm_header(&ppm),
            bytes: ppm,
        },
        Case {
            name: "PNM plain (P3)",
            header: pnm_header(&plain),
            bytes: plain,
        },
    ]
}

/// The cut points: (column name, bytes kept).
fn cuts(case: &Case) -> [(&'static str, usize); 5] {
    let n = case.bytes.len();
    [
        ("after header", case.header),
        ("10%", n / 10),
        ("50%", n / 2),
        ("90%", n * 9 / 10),
        ("1 byte short", n - 1),
    ]
}

const ALLOW: DecodeOptions = DecodeOptions {
    limits: Limits {
        max_pixels: 100_000_000,
        max_alloc: 4 << 30,
    },
    allow_truncated: true,
};

#[test]
fn complete_files_decode_and_report_no_truncation() {
    for case in cases() {
        let picture = Picture::decode(&case.bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(
            (picture.width(), picture.height()),
            (128, 128),
            "{}",
            case.name
        );
        assert!(picture.truncation().is_none(), "{}", case.name);
        // Trailing bytes after the end marker or the stated length are not a cut.
        let mut padded = case.bytes.clone();
        padded.extend_from_slice(&[0; 7]);
        assert!(
            Picture::decode(&padded, &Limits::default()).is_ok(),
            "{} + 7",
            case.name
        );
    }
}

/// Whether a cut loses nothing: a plain-text PNM one byte short loses only its final
/// newline. (A cut inside its last number cannot be told from a shorter number: that is
/// the one blind spot, listed in the README's limits.)
fn harmless(case: &Case, keep: usize) -> bool {
    case.name.starts_with("PNM plain") && case.bytes[keep..] == *b"\n"
}

#[test]
fn every_cut_is_refused_by_default_with_where_the_data_ends() {
    for case in cases() {
        for (point, keep) in cuts(&case) {
            assert!(keep > 0 && keep < case.bytes.len(), "{} {point}", case.name);
            if harmless(&case, keep) {
                let full = Picture::decode(&case.bytes, &Limits::default()).unwrap();
                let cut = Picture::decode(&case.bytes[..keep], &Limits::default()).unwrap();
                assert_eq!(cut.image(), full.image());
                continue;
            }
            let e = Picture::decode(&case.bytes[..keep], &Limits::default())
                .err()
                .unwrap_or_else(|| panic!("{} cut {point} ({keep} bytes) was accepted", case.name));
            let message = e.to_string();
            let format = case.name.split(' ').next().unwrap();
            assert!(
                message.starts_with(&format!(
                    "the image is truncated ({format} data ends at byte {keep}"
                )),
                "{} cut {point}: {message}",
                case.name
            );
            assert_eq!(e.kind(), svdimg::ErrorKind::InvalidInput);
        }
    }
}

#[test]
fn allowed_cuts_decode_at_full_size_and_say_so() {
    let mut recovered = 0;
    for case in cases() {
        for (point, keep) in cuts(&case) {
            if harmless(&case, keep) {
                continue;
            }
            match Picture::decode_with(&case.bytes[..keep], &ALLOW) {
                Ok(picture) => {
                    recovered += 1;
                    assert_eq!((picture.width(), picture.height()), (128, 128));
                    let t = picture
                        .truncation()
                        .expect("an accepted cut reports itself");
                    assert_eq!(t.len(), keep, "{} {point}", case.name);
                }
                Err(e) => assert!(
                    e.to_string().starts_with("the image is truncated ("),
                    "{} {point}: {e}",
                    case.name
                ),
            }
        }
    }
    assert!(recovered > 0, "--allow-truncated never decodes anything");
}

/// A JPEG cut in half decodes with the flag: the lower rows are the decoder's fill, which
/// is exactly what the default refuses to pass off as the picture.
#[test]
fn a_half_jpeg_is_decoded_on_request_with_its_lost_rows_filled() {
    let jpeg = encoded(
        &DynamicImage::ImageRgb8(sample().to_rgb8()),
        ImageFormat::Jpeg,
    );
    let half = &jpeg[..jpeg.len() / 2];
    let picture = Picture::decode_with(half, &ALLOW).unwrap();
    let t = picture.truncation().unwrap();
    assert_eq!(
        t.to_string(),
        format!(
            "JPEG data ends at byte {} with no end-of-image marker",
            half.len()
        )
    );
    assert_eq!(t.expected_len(), None);
    let last_row = picture.image().to_rgb8();
    let row: Vec<_> = (0..128).map(|x| *last_row.get_pixel(x, 127)).collect();
    assert!(
        row.windows(2).all(|w| w[0] == w[1]),
        "the lost rows are one flat fill"
    );
}

#[test]
fn lengths_in_headers_give_the_missing_bytes() {
    let rgb = DynamicImage::ImageRgb8(sample().to_rgb8());
    let bmp = encoded(&rgb, ImageFormat::Bmp);
    let cut = &bmp[..1000];
    let e = Picture::decode(cut, &Limits::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "the image is truncated (BMP data ends at byte 1000 of {})",
            bmp.len()
        )
    );
}

/// Prints the format × cut-point table (`-- --nocapture`) that the README's limits quote.
#[test]
fn truncation_table() {
    let cases = cases();
    let mut table = String::from(
        "| format | bytes | after header | 10% | 50% | 90% | 1 byte short |\n\
         |---|---:|---|---|---|---|---|\n",
    );
    for case in &cases {
        table += &format!("| {} | {} |", case.name, case.bytes.len());
        for (_, keep) in cuts(case) {
            let bytes = &case.bytes[..keep];
            let by_default = Picture::decode(bytes, &Limits::default());
            let cell = match (by_default, Picture::decode_with(bytes, &ALLOW)) {
                (Ok(_), _) => "accepted (nothing lost)",
                (Err(_), Ok(_)) => "refused; flag decodes",
                (Err(_), Err(_)) => "refused",
            };
            table += &format!(" {cell} |");
        }
        table.push('\n');
    }
    println!("{table}");
}

/// Replays the `decode` fuzz target's corpus and crash files (`fuzz/corpus/decode`,
/// `fuzz/artifacts/decode`) and the crashes it found (kept in `tests/data/fuzz-*`), with the
/// target's invariants.
#[test]
fn decode_fuzz_corpus_and_crash_files_keep_the_invariants() {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let limits = Limits {
        max_pixels: 1 << 16,
        max_alloc: 64 << 20,
    };
    let lenient = DecodeOptions {
        limits,
        allow_truncated: true,
    };
    let mut files = Vec::new();
    for dir in [
        "../../fuzz/corpus/decode",
        "../../fuzz/artifacts/decode",
        "tests/data",
    ] {
        if let Ok(entries) = std::fs::read_dir(manifest.join(dir)) {
            files.extend(entries.map(|e| e.unwrap().path()));
        }
    }
    let regressions = files
        .iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("fuzz-")
        })
        .count();
    assert!(
        regressions >= 1,
        "the fuzzer's regression files are missing"
    );
    let mut count = 0;
    for path in files {
        // A running fuzzer replaces corpus files as it shrinks them.
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        let strict = Picture::decode(&data, &limits);
        let allowed = Picture::decode_with(&data, &lenient);
        match (&strict, &allowed) {
            (Ok(s), Ok(a)) => assert!(s.truncation().is_none() && s.image() == a.image()),
            (Ok(_), Err(e)) => panic!("{}: refused only when allowed: {e}", path.display()),
            (Err(_), Ok(a)) => assert!(a.truncation().is_some(), "{}", path.display()),
            (Err(_), Err(_)) => {}
        }
        if let Ok(picture) = allowed {
            let planes = picture.planes::<f32>(false);
            let pixels = picture.width() * picture.height();
            assert!(planes.color.iter().all(|p| p.data.len() == pixels));
        }
        count += 1;
    }
    assert!(count >= 10, "the corpus is missing ({count} files)");
}
