//! Probe: `.svdz` v1 and v2 settings against the strong JPEG at one PSNR.
//! `cargo run --release -p svdimg --example v2_probe -- DB IMAGE...`
use std::time::Instant;

use svdimg::{compress, jpeg_for_psnr, Chroma, CompressOptions, Layout, Picture, Target};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let db: f64 = args[0].parse().unwrap();
    let step: f64 = std::env::var("STEP")
        .ok()
        .map_or(0.55, |s| s.parse().unwrap());
    for path in &args[1..] {
        let bytes = std::fs::read(path).unwrap();
        let planes = Picture::decode(&bytes, &Default::default())
            .unwrap()
            .planes::<f32>(false);
        let jpeg = jpeg_for_psnr(&planes, db)
            .unwrap()
            .map_or(0, |j| j.point.bytes);
        let mut line = format!("{:<28} jpeg {:>8}", path.rsplit('/').next().unwrap(), jpeg);
        let variants: Vec<(&str, u8, Layout, Chroma)> = vec![
            ("v1", 1, Layout::Auto, Chroma::Full),
            ("t32", 2, Layout::Tiled(32), Chroma::Full),
            ("t64", 2, Layout::Tiled(64), Chroma::Auto),
            ("glob", 2, Layout::Global, Chroma::Auto),
            ("t32h", 2, Layout::Tiled(32), Chroma::Half),
            ("auto", 2, Layout::Auto, Chroma::Auto),
        ];
        for (name, version, layout, chroma) in variants {
            let t = Instant::now();
            let options = CompressOptions {
                target: Target::Psnr(db),
                version,
                layout,
                chroma,
                tile_step_factor: step,
                ..CompressOptions::default()
            };
            match compress(&planes, &options) {
                Ok(c) => {
                    let back = svdimg::decompress(&c.bytes, &Default::default()).unwrap();
                    assert_eq!(back.width, planes.width);
                    line += &format!(
                        " | {name} {:.3} ({:.2}dB {:.1}s)",
                        c.bytes.len() as f64 / jpeg as f64,
                        c.psnr_db,
                        t.elapsed().as_secs_f64()
                    )
                }
                Err(e) => line += &format!(" | {name} err {e}"),
            }
        }
        println!("{line}");
    }
}
