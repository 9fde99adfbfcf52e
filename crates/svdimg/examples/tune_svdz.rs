//! Measures the `.svdz` file size at 30, 35 and 40 dB for a range of step factors c
//! (`Δ = t / (c √max(m, n))`), on the photos given as arguments, in YCbCr (or gray).
//!
//! `cargo run --release -p svdimg --example tune_svdz -- ../shared/images/*.png`

use svdimg::{compress, CompressOptions, Limits, Picture, Target};

const FACTORS: [f64; 7] = [0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8];
const LEVELS: [f64; 3] = [30.0, 35.0, 40.0];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        return Err("give one or more image files".into());
    }
    print!("{:<28} {:>5}", "image", "dB");
    for c in FACTORS {
        print!(" {:>9}", format!("c={c}"));
    }
    println!();
    let mut totals = vec![0.0f64; FACTORS.len()];
    for path in &paths {
        let planes = Picture::decode(&std::fs::read(path)?, &Limits::default())?.planes(false);
        for db in LEVELS {
            let sizes = FACTORS
                .iter()
                .map(|&c| {
                    let options = CompressOptions {
                        target: Target::Psnr(db),
                        step_factor: c,
                        ..CompressOptions::default()
                    };
                    compress(&planes, &options).map(|x| x.bytes.len())
                })
                .collect::<Result<Vec<_>, _>>()?;
            let best = *sizes.iter().min().unwrap_or(&1) as f64;
            print!("{:<28} {db:>5}", path.rsplit('/').next().unwrap_or(path));
            for (i, s) in sizes.iter().enumerate() {
                print!(" {s:>9}");
                totals[i] += *s as f64 / best;
            }
            println!();
        }
    }
    let cases = (paths.len() * LEVELS.len()) as f64;
    print!("{:<28} {:>5}", "mean size / best", "");
    for t in totals {
        print!(" {:>9.3}", t / cases);
    }
    println!();
    Ok(())
}
