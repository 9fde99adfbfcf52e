//! `svdimg spectrum`, `gallery` and `components`: the tour's figures one at a time.

use anyhow::{anyhow, bail, Result};
use serde::Serialize;
use svdimg::{approximations, Decomposition, Factors, PlaneName, Planes, Scalar};

use crate::cli::{ComponentsArgs, GalleryArgs, PrecisionArg, SpectrumArgs};
use crate::figures::{self, Component, Series, Tile};
use crate::io::{check_target, print_stdout, progress, write_atomic, Input, Output};

/// The singular values of every colour plane, plus gray for a colour image (unless
/// `gray_only`), as plot series.
pub fn spectrum_series<T: Scalar>(
    color: &[(PlaneName, Vec<T>)],
    gray: Option<&[(PlaneName, Vec<T>)]>,
) -> Vec<Series<'static>> {
    color
        .iter()
        .chain(gray.into_iter().flatten())
        .map(|(name, s)| Series {
            name: name.as_str(),
            values: s.iter().map(|s| s.to_f64()).collect(),
        })
        .collect()
}

/// The singular values of each plane of a decomposition.
pub fn spectra_of<T: Scalar>(svd: &Decomposition<T>) -> Vec<(PlaneName, Vec<T>)> {
    svd.planes
        .iter()
        .map(|(name, f)| (*name, f.singular_values().to_vec()))
        .collect()
}

/// The gallery tiles at `ranks`, accumulated from one decomposition.
pub fn gallery_tiles<T: Scalar>(
    planes: &Planes<T>,
    svd: &Decomposition<T>,
    ranks: &[usize],
) -> Result<(Vec<Tile>, Vec<svdimg::Report>)> {
    let bar = progress(ranks.len() as u64, "gallery");
    let approx = approximations(planes, svd, ranks, faer::Par::rayon(0), |_| bar.inc(1))?;
    bar.finish_and_clear();
    let tiles = approx
        .iter()
        .map(|a| Tile {
            image: a.image.clone(),
            label: format!("rank={}  {}", a.report.rank, psnr_text(a.report.psnr_db)),
        })
        .collect();
    Ok((tiles, approx.into_iter().map(|a| a.report).collect()))
}

pub fn psnr_text(psnr: f64) -> String {
    if psnr.is_finite() {
        format!("{psnr:.2} dB")
    } else {
        "exact".into()
    }
}

/// The first `count` rank-one components σᵢ uᵢ vᵢᵀ of one plane, with their rows vᵢ.
pub fn component_items<T: Scalar>(f: &Factors<T>, count: usize) -> Vec<Component> {
    let (m, n) = (f.nrows(), f.ncols());
    let mut out = faer::Mat::<T>::zeros(m, n);
    (0..count.min(f.rank()))
        .map(|i| {
            f.components_into(i..i + 1, out.as_mut(), faer::Par::rayon(0));
            let mut values = Vec::with_capacity(m * n);
            for r in 0..m {
                values.extend((0..n).map(|c| out[(r, c)].to_f64()));
            }
            Component {
                index: i + 1,
                sigma: f.singular_values()[i].to_f64(),
                values,
                width: n,
                height: m,
                v: f.v().col(i).iter().map(|x| x.to_f64()).collect(),
            }
        })
        .collect()
}

/// The largest |Σᵢ components − A_count| over all pixels: the components add up.
pub fn component_sum_difference<T: Scalar>(f: &Factors<T>, items: &[Component]) -> f64 {
    let (m, n) = (f.nrows(), f.ncols());
    let direct = f.reconstruct(items.len(), faer::Par::rayon(0));
    let mut worst = 0.0f64;
    for r in 0..m {
        for c in 0..n {
            let sum: f64 = items.iter().map(|it| it.values[r * n + c]).sum();
            worst = worst.max((sum - direct[(r, c)].to_f64()).abs());
        }
    }
    worst
}

#[derive(Serialize)]
struct SpectrumJson<'a> {
    output: String,
    planes: Vec<SpectrumPlane<'a>>,
}

#[derive(Serialize)]
struct SpectrumPlane<'a> {
    name: &'a str,
    singular_values: &'a [f64],
}

pub fn spectrum(args: SpectrumArgs) -> Result<()> {
    let input = Input::read(&args.source)?;
    let path = &args.output;
    let ext = crate::io::plot_extension(path, "the spectrum")?;
    check_target(path, &input, args.force)?;
    let picture = input.decode(&args.common.decode)?;
    let series = match args.common.precision {
        PrecisionArg::F32 => spectrum_of::<f32>(&input, &picture, args.common.gray)?,
        PrecisionArg::F64 => spectrum_of::<f64>(&input, &picture, args.common.gray)?,
    };
    let bytes = if ext == "svg" {
        figures::spectrum_svg(&series)?.into_bytes()
    } else {
        let png = svdimg::OutputFormat::from_extension("png")?;
        svdimg::encode(&figures::spectrum_image(&series)?, png)?
    };
    write_atomic(path, &bytes)?;
    if args.common.json {
        let json = SpectrumJson {
            output: path.display().to_string(),
            planes: series
                .iter()
                .map(|s| SpectrumPlane {
                    name: s.name,
                    singular_values: &s.values,
                })
                .collect(),
        };
        return print_stdout(&(serde_json::to_string(&json)? + "\n"));
    }
    print_stdout(&format!("wrote {}\n", path.display()))
}

fn spectrum_of<T: Scalar>(
    input: &Input,
    picture: &svdimg::Picture,
    gray: bool,
) -> Result<Vec<Series<'static>>> {
    let par = faer::Par::rayon(0);
    let fail = |e: svdimg::Error| anyhow!("'{}': {e}", input.name);
    // Values only: no singular vectors are computed for a plot of the values.
    let color = svdimg::plane_singular_values(&picture.planes::<T>(gray), par).map_err(fail)?;
    let gray_values = if !gray && picture.color_model().is_color() {
        Some(svdimg::plane_singular_values(&picture.planes::<T>(true), par).map_err(fail)?)
    } else {
        None
    };
    Ok(spectrum_series(&color, gray_values.as_deref()))
}

#[derive(Serialize)]
struct GalleryJson {
    output: String,
    tiles: Vec<GalleryTile>,
}

#[derive(Serialize)]
struct GalleryTile {
    rank: usize,
    psnr_db: Option<f64>,
    ssim: f64,
}

pub fn gallery(args: GalleryArgs) -> Result<()> {
    let input = Input::read(&args.source)?;
    let output = Output::check(&args.output, &input, args.force)?;
    let picture = input.decode(&args.common.decode)?;
    let reports = match args.common.precision {
        PrecisionArg::F32 => gallery_of::<f32>(&args, &input, &picture, &output)?,
        PrecisionArg::F64 => gallery_of::<f64>(&args, &input, &picture, &output)?,
    };
    if args.common.json {
        let json = GalleryJson {
            output: args.output.display().to_string(),
            tiles: reports
                .iter()
                .map(|r| GalleryTile {
                    rank: r.rank,
                    psnr_db: r.psnr_db.is_finite().then_some(r.psnr_db),
                    ssim: r.ssim,
                })
                .collect(),
        };
        return print_stdout(&(serde_json::to_string(&json)? + "\n"));
    }
    let mut text = String::new();
    for r in &reports {
        text += &format!(
            "rank={:<5} PSNR {:>9}  SSIM {:.4}\n",
            r.rank,
            psnr_text(r.psnr_db),
            r.ssim
        );
    }
    text += &format!("wrote {}\n", args.output.display());
    print_stdout(&text)
}

fn gallery_of<T: Scalar>(
    args: &GalleryArgs,
    input: &Input,
    picture: &svdimg::Picture,
    output: &Output,
) -> Result<Vec<svdimg::Report>> {
    let planes = picture.planes::<T>(args.common.gray);
    // One factorisation at the largest requested rank serves every smaller one.
    let top = args.ranks.iter().copied().max().unwrap_or(1);
    let svd = Decomposition::compute_truncated(
        &planes,
        top,
        args.svd.method(),
        &args.svd.settings(),
        faer::Par::rayon(0),
    )
    .map_err(|e| anyhow!("'{}': {e}", input.name))?;
    let (tiles, reports) = gallery_tiles(&planes, &svd, &args.ranks)?;
    let image = figures::gallery(&tiles, 4)?;
    output.write(&svdimg::encode(&image, output.format)?)?;
    Ok(reports)
}

#[derive(Serialize)]
struct ComponentsJson {
    output: String,
    sigmas: Vec<f64>,
    max_abs_difference: f64,
}

pub fn components(args: ComponentsArgs) -> Result<()> {
    let input = Input::read(&args.source)?;
    let output = Output::check(&args.output, &input, args.file.force)?;
    if args.count == 0 || args.count > 20 {
        bail!(crate::io::UsageError(
            "--count must be between 1 and 20".into()
        ));
    }
    let picture = input.decode(&args.file.decode)?;
    let planes = picture.planes::<f64>(true);
    let f = Factors::compute_with(planes.matrix(0), faer::Par::rayon(0))
        .map_err(|e| anyhow!("'{}': {e}", input.name))?;
    let items = component_items(&f, args.count);
    let difference = component_sum_difference(&f, &items);
    let image = figures::components(&items)?;
    output.write(&svdimg::encode(&image, output.format)?)?;
    if args.file.json {
        let json = ComponentsJson {
            output: args.output.display().to_string(),
            sigmas: items.iter().map(|c| c.sigma).collect(),
            max_abs_difference: difference,
        };
        return print_stdout(&(serde_json::to_string(&json)? + "\n"));
    }
    print_stdout(&format!(
        "the first {} components add up to the rank-{} approximation: max |difference| = {difference:.3e}\nwrote {}\n",
        items.len(),
        items.len(),
        args.output.display()
    ))
}
