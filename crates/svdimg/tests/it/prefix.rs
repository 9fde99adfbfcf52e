//! Prefixes of `.svdz` files: any cut after the header decodes (with `allow_truncated`) to
//! the components it holds, the PSNR never falls as the prefix grows, a cut without the
//! flag is an error, and a rank or a byte budget reads only the bytes it needs.

use std::io::Read;

use svdimg::{
    compress, decompress, decompress_prefix, inspect, read_svdz, svdz_bytes_needed, Chroma,
    ColorChoice, CompressOptions, DecompressOptions, Decompressed, Layout, Limits, Picture, Planes,
    SvdzNeed, Target,
};

use crate::shared_dir;

fn photo(name: &str) -> Option<Planes<f32>> {
    let path = shared_dir()?.join("images").join(name);
    let picture = Picture::decode(&std::fs::read(path).unwrap(), &Limits::default()).unwrap();
    Some(picture.planes(false))
}

fn cut() -> DecompressOptions {
    DecompressOptions {
        allow_truncated: true,
        ..Default::default()
    }
}

/// PSNR of decoded planes, rounded to 8 bits as a writer would, against `reference`.
fn psnr(decoded: &Planes<f32>, reference: &Planes<f32>) -> f64 {
    let round = |p: &[f32]| -> Vec<f32> {
        p.iter()
            .map(|&x| (svdimg::quantize(x, 255.0) / 255.0) as f32)
            .collect()
    };
    let a: Vec<Vec<f32>> = decoded.color.iter().map(|p| round(&p.data)).collect();
    let a: Vec<&[f32]> = a.iter().map(|p| &p[..]).collect();
    let b: Vec<&[f32]> = reference.color.iter().map(|p| &p.data[..]).collect();
    svdimg::psnr(&a, &b)
}

/// The header's length: the first length at which a decode with the flag succeeds.
fn header_len(bytes: &[u8]) -> usize {
    (0..bytes.len())
        .find(|&n| decompress_prefix(&bytes[..n], &cut()).is_ok())
        .unwrap()
}

/// Decodes cuts at `lengths` (sorted) and checks what every prefix must give: success with
/// the flag and an error without, components and PSNR that never fall, and the whole file
/// at the end. Returns (length, components used, PSNR) for each.
fn check_cuts(
    bytes: &[u8],
    reference: &Planes<f32>,
    lengths: &[usize],
) -> Vec<(usize, usize, f64)> {
    let whole = decompress_prefix(bytes, &DecompressOptions::default()).unwrap();
    assert!(!whole.truncated && whole.used() == whole.total());
    let mut curve: Vec<(usize, usize, f64)> = Vec::new();
    for &len in lengths {
        let d: Decompressed = decompress_prefix(&bytes[..len], &cut())
            .unwrap_or_else(|e| panic!("cut at {len} of {}: {e}", bytes.len()));
        let p = psnr(&d.planes, reference);
        assert_eq!(d.truncated, len < bytes.len(), "at {len}");
        assert_eq!(d.total(), whole.total());
        if len < bytes.len() {
            let e = decompress(&bytes[..len], &DecompressOptions::default()).unwrap_err();
            assert_eq!(
                e.message(),
                format!(
                    "the .svdz file is truncated: it ends at byte {len} of {}",
                    bytes.len()
                )
            );
        } else {
            assert_eq!(d.planes, whole.planes);
        }
        if let Some(&(at, used, before)) = curve.last() {
            assert!(
                d.used() >= used,
                "{} components at {len}, {used} at {at}",
                d.used()
            );
            assert!(p >= before, "PSNR {p} at {len} below {before} at {at}");
        }
        curve.push((len, d.used(), p));
    }
    curve
}

/// Every block boundary (from the component counts) is hard to find from outside; instead
/// cut at many lengths, evenly spread from the header to the end, plus the end itself.
fn lengths(bytes: &[u8], cuts: usize) -> Vec<usize> {
    let start = header_len(bytes);
    let mut l: Vec<usize> = (0..cuts)
        .map(|i| start + (bytes.len() - start) * i / cuts)
        .collect();
    l.push(bytes.len());
    l.dedup();
    l
}

#[test]
fn every_version_two_layout_decodes_its_prefixes_ever_better() {
    let Some(planes) = photo("astronaut.png") else {
        return;
    };
    for (layout, chroma) in [
        (Layout::Tiled(32), Chroma::Half),
        (Layout::Tiled(64), Chroma::Full),
        (Layout::Global, Chroma::Full),
        (Layout::Patches(8), Chroma::Half),
    ] {
        let options = CompressOptions {
            target: Target::Psnr(38.0),
            layout,
            chroma,
            ..CompressOptions::default()
        };
        let c = compress(&planes, &options).unwrap();
        let curve = check_cuts(&c.bytes, &planes, &lengths(&c.bytes, 60));
        let (first, last) = (curve[0], curve[curve.len() - 1]);
        assert_eq!(
            first.1, 0,
            "{layout:?}: the header alone holds no component"
        );
        assert!(last.2 >= 38.0, "{layout:?}: {last:?}");
        // Halfway through the file is already a picture, not noise.
        let half = curve[curve.len() / 2];
        assert!(half.2 > 25.0, "{layout:?}: {half:?}");
        assert!(half.1 > last.1 / 4, "{layout:?}: {half:?} of {last:?}");
    }
}

#[test]
fn a_gray_jpeg_on_its_own_grid_decodes_its_prefixes_ever_better() {
    let planes = crate::format_v2::gray_jpeg(85, 256);
    let options = CompressOptions {
        target: Target::Psnr(40.0),
        ..CompressOptions::default()
    };
    let c = compress(&planes, &options).unwrap();
    assert_ne!(c.bytes[10] & 0x20, 0, "not the 2D DCT basis");
    let curve = check_cuts(&c.bytes, &planes, &lengths(&c.bytes, 40));
    // The DC comes first: a quarter of the file is a picture.
    let quarter = curve[curve.len() / 4];
    assert!(quarter.2 > 20.0, "{quarter:?}");
}

#[test]
fn version_one_decodes_its_prefixes_ever_better() {
    let Some(planes) = photo("chelsea.png") else {
        return;
    };
    let options = CompressOptions {
        target: Target::Rank(60),
        color: ColorChoice::YCbCr,
        ..CompressOptions::default()
    };
    let c = compress(&planes, &options).unwrap();
    assert_eq!(inspect(&c.bytes, &Limits::default()).unwrap().version, 1);
    let curve = check_cuts(&c.bytes, &planes, &lengths(&c.bytes, 40));
    assert_eq!(curve.last().unwrap().1, 180);
}

#[test]
fn every_cut_of_a_small_file_with_alpha_decodes_without_its_alpha() {
    // A small file, cut at every byte after its header.
    let Some(planes) = photo("coffee.png") else {
        return;
    };
    let mut planes = svdimg::Picture::from_image(image::DynamicImage::ImageRgb8(
        image::imageops::thumbnail(&to_rgb(&planes), 64, 48),
    ))
    .planes(false);
    let alpha = svdimg::Plane {
        name: svdimg::PlaneName::Alpha,
        data: (0..64 * 48).map(|i| (i % 64) as f32 / 63.0).collect(),
    };
    planes.alpha = Some(alpha);
    let c = compress(&planes, &CompressOptions::default()).unwrap();
    let start = header_len(&c.bytes);
    let all: Vec<usize> = (start..=c.bytes.len()).collect();
    check_cuts(&c.bytes, &planes, &all);
    for len in start..c.bytes.len() {
        let d = decompress_prefix(&c.bytes[..len], &cut()).unwrap();
        assert!(d.alpha_missing && d.planes.alpha.is_none(), "at {len}");
    }
    // Inside the header nothing decodes, with the flag or without.
    for len in 0..start {
        let e = decompress_prefix(&c.bytes[..len], &cut()).unwrap_err();
        assert!(
            e.message().starts_with("the .svdz file is truncated"),
            "{e}"
        );
    }
}

fn to_rgb(planes: &Planes<f32>) -> image::RgbImage {
    let q = |p: &[f32], i: usize| svdimg::quantize(p[i], 255.0) as u8;
    image::RgbImage::from_fn(planes.width as u32, planes.height as u32, |x, y| {
        let i = y as usize * planes.width + x as usize;
        image::Rgb([
            q(&planes.color[0].data, i),
            q(&planes.color[1].data, i),
            q(&planes.color[2].data, i),
        ])
    })
}

/// A reader that counts what is taken from it.
struct Counting<'a> {
    inner: &'a [u8],
    read: usize,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n;
        Ok(n)
    }
}

#[test]
fn a_rank_reads_only_the_blocks_it_needs() {
    let Some(planes) = photo("astronaut.png") else {
        return;
    };
    // A tile's first components are spread over a tiled file (a flat tile's only one is
    // weak), so rank 1 needs most of it; a global basis keeps the first components first.
    for (options, rank_one_share) in [
        (
            CompressOptions {
                target: Target::Psnr(40.0),
                layout: Layout::Tiled(32),
                ..CompressOptions::default()
            },
            1.0,
        ),
        (
            CompressOptions {
                target: Target::Psnr(30.0),
                layout: Layout::Global,
                ..CompressOptions::default()
            },
            0.3,
        ),
        (
            CompressOptions {
                target: Target::Rank(100),
                ..CompressOptions::default()
            },
            0.2,
        ),
    ] {
        let bytes = compress(&planes, &options).unwrap().bytes;
        let mut last = 0;
        for rank in [1, 2, 5, 20, 100, 512] {
            let opts = DecompressOptions {
                rank: Some(rank),
                ..Default::default()
            };
            let mut reader = Counting {
                inner: &bytes,
                read: 0,
            };
            let head = read_svdz(&mut reader, &opts, None).unwrap();
            assert_eq!(reader.read, head.len());
            assert_eq!(
                svdz_bytes_needed(&head, &opts).unwrap(),
                SvdzNeed::Exactly(head.len() as u64)
            );
            assert!(head.len() >= last, "rank {rank}");
            last = head.len();
            // The prefix alone, without the flag, decodes as the whole file does.
            let from_prefix = decompress_prefix(&head, &opts).unwrap();
            assert!(!from_prefix.truncated);
            assert_eq!(from_prefix.planes, decompress(&bytes, &opts).unwrap());
            // One byte less is a cut file.
            let shorter = decompress(&head[..head.len() - 1], &opts).unwrap_err();
            assert!(shorter.message().starts_with("the .svdz file is truncated"));
        }
        let one = read_svdz(
            &bytes[..],
            &DecompressOptions {
                rank: Some(1),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        let share = one.len() as f64 / bytes.len() as f64;
        assert!(share <= rank_one_share, "{} of {}", one.len(), bytes.len());
        assert_eq!(
            read_svdz(&bytes[..], &DecompressOptions::default(), None).unwrap(),
            bytes
        );
    }
}

#[test]
fn a_byte_budget_reads_that_many_bytes_and_no_more() {
    let Some(planes) = photo("camera.png") else {
        return;
    };
    let bytes = compress(&planes, &CompressOptions::default())
        .unwrap()
        .bytes;
    for max in [0, 5, 40, 1000, 5000, bytes.len() as u64, 1 << 40] {
        let mut reader = Counting {
            inner: &bytes,
            read: 0,
        };
        let head = read_svdz(&mut reader, &DecompressOptions::default(), Some(max)).unwrap();
        assert_eq!(head.len() as u64, max.min(bytes.len() as u64));
        assert_eq!(reader.read, head.len());
    }
    // Not an .svdz file: said at once, after the few bytes that show it.
    let e = read_svdz(
        &b"GIF89a, not svdz"[..],
        &DecompressOptions::default(),
        None,
    )
    .unwrap_err();
    assert_eq!(
        e.message(),
        "not an .svdz file (the first bytes are not the .svdz signature)"
    );
}

/// The ends of a file's blocks, found as a reader finds them: the bytes a rank J needs end
/// where the block holding component J ends (a global basis and version 1 keep a plane's
/// components in order).
fn block_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends: Vec<usize> = (1..=512)
        .filter_map(|rank| {
            let options = DecompressOptions {
                rank: Some(rank),
                ..Default::default()
            };
            match svdz_bytes_needed(bytes, &options).unwrap() {
                SvdzNeed::Exactly(n) => Some(n as usize),
                SvdzNeed::AtLeast(_) => None,
            }
        })
        .collect();
    ends.dedup();
    ends
}

#[test]
fn cuts_at_every_block_end_decode_ever_better() {
    let Some(planes) = photo("chelsea.png") else {
        return;
    };
    for options in [
        CompressOptions {
            target: Target::Psnr(36.0),
            layout: Layout::Global,
            ..CompressOptions::default()
        },
        CompressOptions {
            target: Target::Rank(80),
            ..CompressOptions::default()
        },
    ] {
        let c = compress(&planes, &options).unwrap();
        let ends = block_ends(&c.bytes);
        assert!(ends.len() >= 3, "{ends:?}");
        // Each block end, and the byte before it (the block then cut by one byte).
        let mut cuts: Vec<usize> = ends.iter().flat_map(|&e| [e - 1, e]).collect();
        cuts.push(c.bytes.len());
        cuts.sort_unstable();
        cuts.dedup();
        check_cuts(&c.bytes, &planes, &cuts);
    }
}

#[test]
#[ignore]
fn print_curve() {
    for name in ["astronaut.png", "coffee.png", "chelsea.png"] {
        let planes = photo(name).unwrap();
        let c = compress(&planes, &CompressOptions::default()).unwrap();
        let curve = check_cuts(&c.bytes, &planes, &lengths(&c.bytes, 20));
        let line: Vec<String> = curve.iter().map(|(_, _, p)| format!("{p:.1}")).collect();
        println!("{name} {} {}", c.bytes.len(), line.join(" "));
    }
}
