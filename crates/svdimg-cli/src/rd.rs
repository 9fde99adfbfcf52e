//! `svdimg rd`: rate–distortion curves of .svdz, float32 factors, JPEG and WebP.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{anyhow, Result};
use serde::Serialize;

use crate::cli::RdArgs;
use crate::figures;
use crate::io::{check_target, plot_extension, print_stdout, write_atomic, Input};

/// The PSNR levels whose byte counts are tabulated.
const LEVELS: [(f64, &str); 3] = [(30.0, "30"), (35.0, "35"), (40.0, "40")];
/// The SSIM levels whose byte counts are tabulated.
const SSIM_LEVELS: [(f64, &str); 3] = [(0.90, "0.90"), (0.95, "0.95"), (0.98, "0.98")];

#[derive(Serialize)]
struct RdJson<'a> {
    output: String,
    width: usize,
    height: usize,
    curves: Vec<CurveJson<'a>>,
    /// For each PSNR level, the bytes each curve needs (interpolated), or `null` when the
    /// curve does not reach it.
    bytes_at: BTreeMap<&'a str, BTreeMap<&'a str, Option<u64>>>,
    /// The same for each SSIM level.
    bytes_at_ssim: BTreeMap<&'a str, BTreeMap<&'a str, Option<u64>>>,
}

#[derive(Serialize)]
struct CurveJson<'a> {
    name: &'a str,
    points: Vec<PointJson>,
}

#[derive(Serialize)]
struct PointJson {
    bytes: u64,
    bpp: f64,
    psnr_db: f64,
    ssim: f64,
}

pub fn run(args: RdArgs) -> Result<()> {
    let input = Input::read(&args.source)?;
    let ext = plot_extension(&args.output, "the rate–distortion plot")?;
    check_target(&args.output, &input, args.file.force)?;
    let picture = input.decode(&args.file.decode)?;
    let planes = picture.planes::<f32>(false);
    let (w, h) = (planes.width, planes.height);
    let pixels = (w * h) as f64;
    let bar = crate::io::progress(1, "measure");
    let curves = svdimg::rate_distortion(&planes, faer::Par::rayon(0), |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .map_err(|e| anyhow!("'{}': {e}", input.name))?;
    bar.finish_and_clear();
    let bytes = if ext == "svg" {
        figures::rd_svg(&curves, pixels)?.into_bytes()
    } else {
        let png = svdimg::OutputFormat::from_extension("png")?;
        svdimg::encode(&figures::rd_image(&curves, pixels)?, png)?
    };
    write_atomic(&args.output, &bytes)?;

    let table = |levels: &[(f64, &'static str)], at: fn(&svdimg::RdCurve, f64) -> Option<f64>| {
        levels
            .iter()
            .map(|&(level, key)| {
                let row: BTreeMap<&str, Option<u64>> = curves
                    .iter()
                    .map(|c| (c.name, at(c, level).map(|b| b.round() as u64)))
                    .collect();
                (key, row)
            })
            .collect::<BTreeMap<&str, _>>()
    };
    let bytes_at = table(&LEVELS, svdimg::RdCurve::bytes_at);
    let bytes_at_ssim = table(&SSIM_LEVELS, svdimg::RdCurve::bytes_at_ssim);
    if args.file.json {
        let json = RdJson {
            output: args.output.display().to_string(),
            width: w,
            height: h,
            curves: curves
                .iter()
                .map(|c| CurveJson {
                    name: c.name,
                    points: c
                        .points
                        .iter()
                        .map(|p| PointJson {
                            bytes: p.bytes,
                            bpp: 8.0 * p.bytes as f64 / pixels,
                            psnr_db: p.psnr_db,
                            ssim: p.ssim,
                        })
                        .collect(),
                })
                .collect(),
            bytes_at,
            bytes_at_ssim,
        };
        return print_stdout(&(serde_json::to_string(&json)? + "\n"));
    }
    let mut out = String::new();
    writeln!(
        out,
        "{}: {w}x{h}, bytes needed for each PSNR and SSIM (measured on the decoded image)",
        input.name
    )?;
    write!(out, "{:<10}", "target")?;
    for c in &curves {
        write!(out, " {:>16}", c.name)?;
    }
    writeln!(out)?;
    let rows = bytes_at
        .iter()
        .map(|(key, row)| (format!("{key} dB"), row))
        .chain(
            bytes_at_ssim
                .iter()
                .map(|(key, row)| (format!("SSIM {key}"), row)),
        );
    for (label, row) in rows {
        write!(out, "{label:<10}")?;
        for c in &curves {
            let cell = row[c.name].map_or("-".to_string(), |b| b.to_string());
            write!(out, " {cell:>16}")?;
        }
        writeln!(out)?;
    }
    // Version 2 against the baselines, as the codec's targets state it.
    for base in ["jpeg-strong", "webp"] {
        let ratios: Vec<String> = LEVELS
            .iter()
            .map(|&(_, key)| {
                match (
                    bytes_at[key]["svdz-v2"],
                    bytes_at[key].get(base).copied().flatten(),
                ) {
                    (Some(a), Some(b)) if b > 0 => {
                        format!("{:.2}× at {key} dB", a as f64 / b as f64)
                    }
                    _ => format!("- at {key} dB"),
                }
            })
            .collect();
        if curves.iter().any(|c| c.name == base) {
            writeln!(out, "svdz-v2 / {base}: {}", ratios.join(", "))?;
        }
    }
    writeln!(out, "wrote {}", args.output.display())?;
    print_stdout(&out)
}
