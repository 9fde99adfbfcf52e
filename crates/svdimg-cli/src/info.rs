//! `svdimg info`: size, colour type and the spectrum of each plane.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use svdimg::{Decomposition, Picture, PlaneName, Scalar};

use crate::cli::{InfoArgs, PrecisionArg};
use crate::io::{print_stdout, Input};

/// The energy shares whose ranks `info` reports.
const ENERGY_LEVELS: [(f64, &str); 3] = [(0.9, "0.9"), (0.99, "0.99"), (0.999, "0.999")];

#[derive(Serialize)]
struct InfoJson<'a, T> {
    width: usize,
    height: usize,
    bit_depth: u8,
    color: &'a str,
    planes: Vec<PlaneJson<'a, T>>,
}

#[derive(Serialize)]
struct PlaneJson<'a, T> {
    name: &'a str,
    singular_values: &'a [T],
    /// `null` when the rank lies beyond the singular values computed (randomized SVD).
    energy_ranks: std::collections::BTreeMap<&'a str, Option<usize>>,
}

pub fn run(args: InfoArgs) -> Result<()> {
    let input = Input::read(&args.source)?;
    if svdimg::is_svdz(&input.bytes) {
        return crate::compress::info(&input, args.common.json, args.common.decode.limits());
    }
    let picture = input.decode(&args.common.decode)?;
    match args.common.precision {
        PrecisionArg::F32 => report::<f32>(&args, &input, &picture),
        PrecisionArg::F64 => report::<f64>(&args, &input, &picture),
    }
}

fn report<T: Scalar + Serialize>(args: &InfoArgs, input: &Input, picture: &Picture) -> Result<()> {
    let start = Instant::now();
    let planes = picture.planes::<T>(args.common.gray);
    // The whole spectrum needs the exact SVD, so `auto` means exact here.
    let method = match args.svd.method() {
        svdimg::Method::Randomized => svdimg::Method::Randomized,
        _ => svdimg::Method::Exact,
    };
    let fail = |e: svdimg::Error| anyhow::anyhow!("'{}': {e}", input.name);
    let par = faer::Par::rayon(0);
    // Only values are printed: the exact path computes no vectors at all.
    let spectra: Vec<(PlaneName, Vec<T>)> = if method == svdimg::Method::Randomized {
        Decomposition::compute_truncated(&planes, args.top, method, &args.svd.settings(), par)
            .map_err(fail)?
            .planes
            .into_iter()
            .map(|(name, f)| (name, f.singular_values().to_vec()))
            .collect()
    } else {
        svdimg::plane_singular_values(&planes, par).map_err(fail)?
    };
    let rank = spectra.iter().map(|(_, s)| s.len()).min().unwrap_or(0);
    let seconds = start.elapsed().as_secs_f64();
    let json = InfoJson {
        width: planes.width,
        height: planes.height,
        bit_depth: picture.bit_depth(),
        color: picture.color_model().as_str(),
        planes: spectra
            .iter()
            .zip(&planes.color)
            .map(|((name, s), plane)| {
                let total = svdimg::frobenius_norm(&plane.data).powi(2);
                PlaneJson {
                    name: name.as_str(),
                    singular_values: s,
                    energy_ranks: ENERGY_LEVELS
                        .iter()
                        .map(|&(level, key)| (key, svdimg::energy_rank_of(s, total, level)))
                        .collect(),
                }
            })
            .collect(),
    };
    if args.common.json {
        return print_stdout(&(serde_json::to_string(&json)? + "\n"));
    }
    let mut out = String::new();
    writeln!(
        out,
        "{}: {}x{} pixels, {}, {}-bit",
        input.name, json.width, json.height, json.color, json.bit_depth
    )?;
    let what = if method == svdimg::Method::Randomized {
        "randomized SVD (top values)"
    } else {
        "singular values (no vectors)"
    };
    writeln!(
        out,
        "{what} of {} plane{} of {}x{} (rank {}) in {} took {:.3} s",
        json.planes.len(),
        if json.planes.len() == 1 { "" } else { "s" },
        planes.height,
        planes.width,
        rank,
        T::PRECISION.as_str(),
        seconds
    )?;
    writeln!(out)?;
    let top = args.top.max(1);
    writeln!(
        out,
        "{:<6} {:<w$}  rank keeping 90% / 99% / 99.9% of the energy",
        "plane",
        format!("largest {top} singular values"),
        w = top * 9 - 1
    )?;
    for p in &json.planes {
        let values: Vec<String> = p
            .singular_values
            .iter()
            .take(top)
            .map(|s| format!("{:>8.3}", s.to_f64()))
            .collect();
        let ranks: Vec<String> = p
            .energy_ranks
            .values()
            .map(|k| k.map_or("-".into(), |k| k.to_string()))
            .collect();
        writeln!(
            out,
            "{:<6} {:<w$}  {}",
            p.name,
            values.join(" "),
            ranks.join(" / "),
            w = top * 9 - 1
        )?;
    }
    print_stdout(&out)
}
