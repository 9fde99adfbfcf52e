//! `svdimg compress`, `svdimg decompress` and `svdimg info FILE.svdz`: the `.svdz` format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{anyhow, Result};
use serde::Serialize;
use svdimg::{CompressOptions, DecompressOptions, Limits, SvdzInfo};

use crate::cli::{CompressArgs, DecompressArgs};
use crate::io::{check_target, io_reason, print_stdout, write_atomic, Input, Output, UsageError};

#[derive(Serialize)]
struct CompressJson<'a> {
    bytes: usize,
    bpp: f64,
    /// `bytes` over the raw samples (width × height × channels × bytes per sample).
    ratio_raw: f64,
    /// `bytes` over the input file's size.
    ratio_input: f64,
    /// `null` when the decoded image equals the input.
    psnr_db: Option<f64>,
    ssim: f64,
    color: &'a str,
    ranks: BTreeMap<&'a str, usize>,
    seconds: f64,
}

// The keys above are a contract (issue 4): the layout is in `svdimg info FILE.svdz --json`.

fn chroma_name(half: bool) -> &'static str {
    if half {
        "4:2:0"
    } else {
        "4:4:4"
    }
}

pub fn compress(args: CompressArgs) -> Result<()> {
    let start = Instant::now();
    let input = Input::read(&args.source)?;
    if args.output.extension().and_then(|e| e.to_str()) != Some("svdz") {
        return Err(UsageError(format!(
            "'{}': the output of compress must end in .svdz",
            args.output.display()
        ))
        .into());
    }
    check_target(&args.output, &input, args.file.force)?;
    let picture = input.decode(&args.file.decode)?;
    let planes = picture.planes::<f32>(false);
    let color_model = picture.color_model();
    drop(picture);
    let options = CompressOptions {
        target: args.target.target(),
        color: args.color.choice(),
        method: args.svd.method(),
        randomized: args.svd.settings(),
        version: args.codec.version,
        layout: args.codec.layout(),
        chroma: args.codec.chroma(),
        ..CompressOptions::default()
    };
    let bar = crate::io::spinner("compress");
    let result = svdimg::compress(&planes, &options);
    bar.finish_and_clear();
    let c = result.map_err(|e| anyhow!("'{}': {e}", input.name))?;
    write_atomic(&args.output, &c.bytes)?;
    let seconds = start.elapsed().as_secs_f64();

    let (w, h) = (planes.width, planes.height);
    let channels = planes.color.len() + usize::from(planes.alpha.is_some());
    let raw = (w * h * channels * usize::from(planes.bit_depth / 8)) as f64;
    let bytes = c.bytes.len();
    if bytes > input.bytes.len() {
        eprintln!(
            "warning: '{}' ({bytes} bytes) is larger than the input '{}' ({} bytes)",
            args.output.display(),
            input.name,
            input.bytes.len()
        );
    }
    let json = CompressJson {
        bytes,
        bpp: 8.0 * bytes as f64 / (w * h) as f64,
        ratio_raw: bytes as f64 / raw,
        ratio_input: bytes as f64 / input.bytes.len() as f64,
        psnr_db: c.psnr_db.is_finite().then_some(c.psnr_db),
        ssim: c.ssim,
        color: c.color.as_str(),
        ranks: c.ranks.iter().copied().collect(),
        seconds,
    };
    if args.file.json {
        return print_stdout(&(serde_json::to_string(&json)? + "\n"));
    }
    let mut out = String::new();
    writeln!(
        out,
        "{}: {w}x{h} {}, {}-bit, stored as {}",
        input.name,
        color_model.as_str(),
        planes.bit_depth,
        json.color
    )?;
    writeln!(
        out,
        "{}",
        layout_line(
            c.version,
            c.layout(),
            c.tiles,
            c.tile_size,
            c.half_chroma,
            c.patch_dct
        )
    )?;
    let ranks: Vec<String> = c.ranks.iter().map(|(p, k)| format!("{p} {k}")).collect();
    writeln!(
        out,
        "{}: {}",
        components_label(c.layout()),
        ranks.join(", ")
    )?;
    writeln!(
        out,
        "{bytes} bytes: {:.3} bpp, {:.1}% of the raw pixels, {:.1}% of the input file",
        json.bpp,
        100.0 * json.ratio_raw,
        100.0 * json.ratio_input
    )?;
    writeln!(
        out,
        "decoded: PSNR {}, SSIM {:.4}",
        crate::explore::psnr_text(c.psnr_db),
        c.ssim
    )?;
    writeln!(out, "wrote {} in {seconds:.3} s", args.output.display())?;
    print_stdout(&out)
}

#[derive(Serialize)]
struct DecompressJson<'a> {
    width: usize,
    height: usize,
    bit_depth: u8,
    color: &'a str,
    /// The components decoded per plane.
    ranks: BTreeMap<&'a str, usize>,
    /// Components decoded, over all planes, and those the whole file gives at this rank.
    components_used: usize,
    components_total: usize,
    /// Bytes read from the file, and the file's length as its header gives it.
    bytes_read: usize,
    file_bytes: usize,
    /// Whether the file ended before the bytes the decode needed (--allow-truncated).
    truncated: bool,
    seconds: f64,
}

pub fn decompress(args: DecompressArgs) -> Result<()> {
    let start = Instant::now();
    let input = Input {
        name: args.input.display().to_string(),
        path: Some(args.input.clone()),
        bytes: Vec::new(),
    };
    let output = Output::check(&args.output, &input, args.file.force)?;
    let named = |e: svdimg::Error| anyhow!("'{}': {e}", input.name);
    let mut options = DecompressOptions {
        rank: args.rank,
        limits: args.file.decode.limits(),
        allow_truncated: args.file.decode.allow_truncated,
    };
    if args.input.is_dir() {
        return Err(anyhow!(
            "'{}': is a directory, not an .svdz file",
            input.name
        ));
    }
    let file = std::fs::File::open(&args.input)
        .map_err(|e| anyhow!("'{}': {}", input.name, io_reason(&e)))?;
    let bytes = svdimg::read_svdz(std::io::BufReader::new(file), &options, args.max_bytes)
        .map_err(named)?;
    // A prefix cut by --max-bytes is asked for; one cut by the end of the file is not.
    if args.max_bytes == Some(bytes.len() as u64) {
        options.allow_truncated = true;
    }
    let decoded = svdimg::decompress_prefix(&bytes, &options).map_err(|e| {
        let hint = if e.message().starts_with("the .svdz file is truncated: ") {
            " (pass --allow-truncated to decode what arrived)"
        } else {
            ""
        };
        anyhow!("'{}': {e}{hint}", input.name)
    })?;
    let (info, planes) = (&decoded.info, &decoded.planes);
    if decoded.truncated && args.max_bytes != Some(bytes.len() as u64) {
        eprintln!(
            "warning: '{}': the .svdz file is truncated (it ends at byte {} of {}); decoded \
             {} of its {} components{}",
            input.name,
            bytes.len(),
            info.bytes,
            decoded.used(),
            decoded.total(),
            if decoded.alpha_missing {
                ", without the alpha plane"
            } else {
                ""
            }
        );
    }
    let color: Vec<&[f32]> = planes.color.iter().map(|p| &p.data[..]).collect();
    let image = svdimg::to_image(
        planes.width,
        planes.height,
        &color,
        planes.alpha.as_ref().map(|a| &a.data[..]),
        planes.bit_depth,
    );
    let encoded = svdimg::encode(&image, output.format)
        .map_err(|e| anyhow!("'{}': {e}", output.path.display()))?;
    output.write(&encoded)?;
    let seconds = start.elapsed().as_secs_f64();
    let json = DecompressJson {
        width: info.width,
        height: info.height,
        bit_depth: info.bit_depth,
        color: info.color.as_str(),
        ranks: decoded.components.iter().map(|c| (c.0, c.1)).collect(),
        components_used: decoded.used(),
        components_total: decoded.total(),
        bytes_read: bytes.len(),
        file_bytes: info.bytes,
        truncated: decoded.truncated,
        seconds,
    };
    if args.file.json {
        return print_stdout(&(serde_json::to_string(&json)? + "\n"));
    }
    // In file order (y, cb, cr), not the JSON map's.
    let ranks: Vec<String> = decoded
        .components
        .iter()
        .map(|(p, used, _)| format!("{p} {used}"))
        .collect();
    let prefix = if decoded.truncated || decoded.used() < decoded.total() {
        format!(" of {}", decoded.total())
    } else {
        String::new()
    };
    print_stdout(&format!(
        "{}: {}x{}, {}-bit, stored as {}; decoded {} {} ({}{prefix} components)\n\
         read {} of {} bytes ({:.1}%)\nwrote {} in {seconds:.3} s\n",
        input.name,
        info.width,
        info.height,
        info.bit_depth,
        json.color,
        if info.tiles == 1 {
            "ranks"
        } else {
            "components (all tiles)"
        },
        ranks.join(", "),
        decoded.used(),
        bytes.len(),
        info.bytes,
        100.0 * bytes.len() as f64 / info.bytes.max(1) as f64,
        args.output.display()
    ))
}

#[derive(Serialize)]
struct SvdzInfoJson<'a> {
    format: &'a str,
    width: usize,
    height: usize,
    bit_depth: u8,
    color: &'a str,
    alpha: bool,
    ranks: BTreeMap<&'a str, usize>,
    block_size: usize,
    bytes: usize,
    bpp: f64,
    version: u8,
    /// `global`, `tiled` or `patches`.
    layout: &'a str,
    tile_size: usize,
    tiles: usize,
    /// `4:4:4` or `4:2:0`.
    chroma: &'a str,
    /// Whether the patches are coded in their 2D DCT (a JPEG's grid).
    patch_dct: bool,
}

/// `version 2, tiled: 32x32 tiles (600 per plane), chroma 4:2:0` and the like.
fn layout_line(
    version: u8,
    layout: &str,
    tiles: usize,
    tile_size: usize,
    half: bool,
    patch_dct: bool,
) -> String {
    let chroma = chroma_name(half);
    match layout {
        "global" => format!("version {version}, global: one basis per plane, chroma {chroma}"),
        "patches" if patch_dct => format!(
            "version {version}, patches: {tile_size}x{tile_size} patches on the 2D DCT's basis (a JPEG's grid), chroma {chroma}"
        ),
        "patches" => format!(
            "version {version}, patches: {tile_size}x{tile_size} patches, one basis per plane, chroma {chroma}"
        ),
        _ => format!(
            "version {version}, tiled: {tile_size}x{tile_size} tiles ({tiles} per plane), chroma {chroma}"
        ),
    }
}

/// What the per-plane counts are: ranks of one basis per plane, or components over all tiles.
fn components_label(layout: &str) -> &'static str {
    if layout == "tiled" {
        "components (all tiles)"
    } else {
        "ranks"
    }
}

/// `svdimg info FILE.svdz`: what the header says.
pub fn info(input: &Input, json: bool, limits: Limits) -> Result<()> {
    let i: SvdzInfo =
        svdimg::inspect(&input.bytes, &limits).map_err(|e| anyhow!("'{}': {e}", input.name))?;
    let bpp = 8.0 * i.bytes as f64 / (i.width * i.height) as f64;
    if json {
        let j = SvdzInfoJson {
            format: "svdz",
            width: i.width,
            height: i.height,
            bit_depth: i.bit_depth,
            color: i.color.as_str(),
            alpha: i.alpha,
            ranks: i.ranks.iter().copied().collect(),
            block_size: i.block_size,
            bytes: i.bytes,
            bpp,
            version: i.version,
            layout: i.layout(),
            tile_size: i.tile_size,
            tiles: i.tiles,
            chroma: chroma_name(i.half_chroma),
            patch_dct: i.patch_dct,
        };
        return print_stdout(&(serde_json::to_string(&j)? + "\n"));
    }
    let ranks: Vec<String> = i.ranks.iter().map(|(p, k)| format!("{p} {k}")).collect();
    print_stdout(&format!(
        "{}: .svdz file, {}x{} pixels, {}-bit, stored as {}{}\n\
         {}\n\
         {}: {} (in blocks of {} components)\n\
         {} bytes: {bpp:.3} bpp\n",
        input.name,
        i.width,
        i.height,
        i.bit_depth,
        i.color.as_str(),
        if i.alpha { " with lossless alpha" } else { "" },
        layout_line(
            i.version,
            i.layout(),
            i.tiles,
            i.tile_size,
            i.half_chroma,
            i.patch_dct
        ),
        components_label(i.layout()),
        ranks.join(", "),
        i.block_size,
        i.bytes,
    ))
}
