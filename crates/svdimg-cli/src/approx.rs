//! `svdimg approx`: the rank-k approximation of an image, written to a file.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{anyhow, Result};
use serde::Serialize;
use svdimg::{approximate, encode, Decomposition, Method, Picture, Report, Scalar};

use crate::cli::{ApproxArgs, PrecisionArg};
use crate::io::{print_stdout, Input, Output};

#[derive(Serialize)]
struct ApproxJson<'a> {
    rank: usize,
    width: usize,
    height: usize,
    planes: Vec<PlaneJson<'a>>,
    /// `null` when the written image equals the input (infinite PSNR).
    psnr_db: Option<f64>,
    ssim: f64,
    stored_values: u64,
    pixel_values: u64,
    ratio: f64,
    seconds: f64,
    /// The SVD algorithm used: `exact` or `randomized`.
    method: &'a str,
}

#[derive(Serialize)]
struct PlaneJson<'a> {
    name: &'a str,
    frobenius_error: f64,
    relative_error: f64,
    energy: f64,
}

pub fn run(args: ApproxArgs) -> Result<()> {
    let start = Instant::now();
    let mut input = Input::read(&args.source)?;
    let output = Output::check(&args.output, &input, args.force)?;
    let picture = input.decode(&args.common.decode)?;
    input.bytes = Vec::new(); // the file's bytes are decoded: free them
    let (report, method) = match args.common.precision {
        PrecisionArg::F32 => write::<f32>(&args, &input, picture, &output)?,
        PrecisionArg::F64 => write::<f64>(&args, &input, picture, &output)?,
    };
    let seconds = start.elapsed().as_secs_f64();
    print_report(&args, &input, &report, method, seconds)
}

fn write<T: Scalar>(
    args: &ApproxArgs,
    input: &Input,
    picture: Picture,
    output: &Output,
) -> Result<(Report, Method)> {
    let par = faer::Par::rayon(0);
    let planes = picture.planes::<T>(args.common.gray);
    // The decoded pixels are not needed once the planes exist: free them before the SVD.
    drop(picture);
    let method = args
        .svd
        .method()
        .resolve(planes.height, planes.width, args.rank);
    let svd =
        Decomposition::compute_truncated(&planes, args.rank, method, &args.svd.settings(), par)
            .map_err(|e| anyhow!("'{}': {e}", input.name))?;
    let approx = approximate(&planes, &svd, args.rank, par)?;
    let bytes = encode(&approx.image, output.format)
        .map_err(|e| anyhow!("'{}': {e}", output.path.display()))?;
    output.write(&bytes)?;
    Ok((approx.report, method))
}

fn print_report(
    args: &ApproxArgs,
    input: &Input,
    r: &Report,
    method: Method,
    seconds: f64,
) -> Result<()> {
    if args.common.json {
        let json = ApproxJson {
            rank: r.rank,
            width: r.width,
            height: r.height,
            planes: r
                .planes
                .iter()
                .map(|p| PlaneJson {
                    name: p.name.as_str(),
                    frobenius_error: p.frobenius_error,
                    relative_error: p.relative_error,
                    energy: p.energy,
                })
                .collect(),
            psnr_db: r.psnr_db.is_finite().then_some(r.psnr_db),
            ssim: r.ssim,
            stored_values: r.storage.stored_values,
            pixel_values: r.storage.pixel_values,
            ratio: r.storage.ratio,
            seconds,
            method: method.as_str(),
        };
        return print_stdout(&(serde_json::to_string(&json)? + "\n"));
    }
    let mut out = String::new();
    let clamped = if r.rank < args.rank {
        format!(" (asked for {}, clamped to min(width, height))", args.rank)
    } else {
        String::new()
    };
    writeln!(
        out,
        "{}: {}x{}, rank {}{clamped}, {} SVD",
        input.name,
        r.width,
        r.height,
        r.rank,
        method.as_str()
    )?;
    writeln!(
        out,
        "{:<6} {:>16} {:>10} {:>9}",
        "plane", "Frobenius error", "relative", "energy"
    )?;
    for p in &r.planes {
        writeln!(
            out,
            "{:<6} {:>16.4} {:>9.3}% {:>8.3}%",
            p.name.as_str(),
            p.frobenius_error,
            100.0 * p.relative_error,
            100.0 * p.energy
        )?;
    }
    writeln!(out, "PSNR {:.2} dB, SSIM {:.4}", r.psnr_db, r.ssim)?;
    writeln!(
        out,
        "storage: {} values instead of {} ({:.1}%: k(m+n+1) per plane against m·n)",
        r.storage.stored_values,
        r.storage.pixel_values,
        100.0 * r.storage.ratio
    )?;
    writeln!(out, "wrote {} in {seconds:.3} s", args.output.display())?;
    print_stdout(&out)
}
