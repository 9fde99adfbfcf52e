//! `.svdz` version 2: the encoder's choice of layout (the file's bytes are [`codec`]).
//!
//! Each plane is cut into tiles with a rank per tile under one global threshold, kept whole
//! ("global", one tile), or stored as its matrix of 8×8 patches; Cb and Cr optionally at
//! half size (4:2:0). The encoder tries tiles of 32, 16 and 64 and patches, and the global
//! layout when a randomized SVD of the first plane predicts the target (axis-aligned and
//! synthetic content); the smallest file wins. Each layout is a [`candidate::Candidate`],
//! searched by [`threshold`] and ranked by [`search`]; above 3/4 MP a [`crop`] of the image
//! chooses which to make (all it tried, where the whole image shows it saw far less detail).

mod candidate;
pub(crate) mod codec;
mod crop;
mod dct;
mod deblock;
mod entropy;
mod global;
mod gram;
pub(crate) mod header;
mod input;
mod lattice;
mod patches;
mod plane;
mod qr;
mod quantised;
mod rebuild;
mod search;
mod stream;
mod threshold;
mod tiles;

use rayon::prelude::*;

use crate::format::color::{self, ColorChoice, StoredColor};
use crate::format::measure::level_psnr;
use crate::format::options::{Chroma, CompressOptions, Compressed, Layout, Target};
use crate::{metrics, Error, Result};
use candidate::Shape;
pub(crate) use input::Input;
use input::CROP_FROM;
use lattice::Lattice;
use search::{chroma_first, smallest, Made, Rules, PATCH, TILE_SIZES};

/// A JPEG's grid whose file is below this share of the crop's file scaled to the image
/// leaves the local layouts untried. Measured at 30/35/40 dB: the grid made the file at
/// every share up to 1.0 (the 1224×816 JPEG mosaic 0.47-0.50, the Hubble deep field
/// 0.57-0.73, the 6000×4000 mosaic 0.31-0.38), and lost at 0.95 (a 1.2 MP mosaic at 30 dB).
/// Below 2 MP the grid is always made, and each local layout then stopped at its first
/// measurement: skipping them saves about 0.6 s on the 1 MP mosaic.
const GRID_AHEAD: f64 = 0.75;

/// For a PSNR, a file on the whole image larger than this many times the crop's file in the
/// same layout (scaled to the image) shows that the crop saw much less detail than the image
/// has; the other layouts the crop made are then made on the whole image too. Measured at
/// 30/35/40 dB on 17 photos and mosaics of 1-2 MP the ratio was 0.52-1.22 (a crop with more
/// detail than the image still chose as trying every layout did: the bytes go where the
/// detail is), and 2.4-4.6 on a 2× upscaled photo (the rocket) whose crop held mostly sky,
/// where the crop chose 64-pixel tiles with 4:2:0 chroma: 13% larger at 35 dB than the
/// 32-pixel tiles with 4:4:4 now found.
const SAW_LESS: f64 = 1.5;

/// Compresses to version 2 for a PSNR or a byte budget.
pub(super) fn compress(mut input: Input, options: &CompressOptions) -> Result<Compressed> {
    let (local, global): (Vec<Shape>, bool) = match options.layout {
        Layout::Auto => (
            TILE_SIZES
                .iter()
                .map(|&t| Shape::Tiles(t))
                .chain([Shape::Patches(PATCH)])
                .collect(),
            true,
        ),
        Layout::Global => (Vec::new(), true),
        Layout::Tiled(t) if t >= header::MIN_TILE as usize => (vec![Shape::Tiles(t)], false),
        Layout::Tiled(t) => {
            return Err(Error::parameter(format!(
                "the tile size {t} is below {}",
                header::MIN_TILE
            )))
        }
        Layout::Patches(p) if patches::SIDES.contains(&(p as u32)) => {
            (vec![Shape::Patches(p)], false)
        }
        Layout::Patches(p) => {
            return Err(Error::parameter(format!(
                "the patch size {p} is not 4 to 16"
            )))
        }
    };
    let halves: &[bool] = match (options.chroma, input.color) {
        (Chroma::Auto, StoredColor::YCbCr) => &[false, true],
        (Chroma::Half, StoredColor::YCbCr) => &[true],
        _ => &[false],
    };
    let local: Vec<(Shape, bool)> = local
        .iter()
        .flat_map(|&t| halves.iter().map(move |&h| (t, h)))
        .collect();
    let globals: Vec<(Shape, bool)> = if global {
        halves.iter().map(|&h| (Shape::Global, h)).collect()
    } else {
        Vec::new()
    };
    let probe = options.layout == Layout::Auto;
    // A JPEG's own grid (in JPEG's Y Cb Cr where the colour model is the encoder's to
    // choose) is tried first: where it makes the smaller file, the other layouts stop at
    // their first measurement. Up to the crop's size it is always made; above, only where a
    // sample predicts it can beat the crop's file scaled to the image (for a PSNR), or,
    // failing that, the best other file (tried last).
    let colour = options.color == ColorChoice::Auto;
    let large = input.m * input.n > CROP_FROM;
    let lattice = match options.layout {
        Layout::Auto => Lattice::new(&input, options.target, colour),
        _ => None,
    };
    // The file on the grid, and whether it was tried.
    let (mut early, mut tried) = (None, false);
    if let (Some(l), false) = (&lattice, large) {
        (early, tried) = (l.make(&input, options.target), true);
    }
    let hint = early.as_ref().map(|e| e.bytes.len());
    let whole = Rules::whole(probe, hint);
    let side = crop::side(input.m, input.n, options.target).filter(|_| local.len() > 1);
    let found = if let Some(side) = side {
        // Images above 3/4 MP try the local layouts that win on a crop (and the global
        // one), and the crop's others only when those miss or the crop misled.
        let ranked = crop::ranked(&input, options, &local, side)?;
        let crop = ranked.first().map(|p| p.bytes);
        if let (Some(l), Target::Psnr(_), Some(scaled), true) =
            (&lattice, options.target, crop, large)
        {
            if l.may_beat(options.target, (scaled, f64::NAN)) {
                // The grid reads the levels alone: the stored planes go while it runs (288
                // MB at 24 MP in colour) and are made again from the reference after it.
                input.stored = Vec::new();
                (early, tried) = (l.make(&input, options.target), true);
                let reference: Vec<&[f32]> = input.reference.iter().map(|r| &r[..]).collect();
                let stored = color::from_slices(&reference, input.color);
                input.stored = stored;
            }
        }
        let hint = early.as_ref().map(|e| e.bytes.len());
        // Each layout's search corrects the model as it did on the crop.
        let biases: Vec<_> = ranked.iter().map(|p| (p.layout, p.bias)).collect();
        let whole = Rules {
            biases: &biases,
            ..Rules::whole(probe, hint)
        };
        let far_ahead = match (crop, hint) {
            (Some(scaled), Some(grid)) => (grid as f64) < GRID_AHEAD * scaled as f64,
            _ => false,
        };
        // The crop's best, and up to 2 MP those near it.
        let first: Vec<_> = crop::with_near(&ranked, input.m * input.n)
            .into_iter()
            .filter(|_| !far_ahead)
            .chain(globals.iter().copied())
            .collect();
        let found = smallest(&input, options, &first, whole)?;
        // A crop that saw much less detail than the image has says little about where the
        // image's bytes go: the other layouts are then made on the whole image too.
        let unlike = found.as_ref().is_some_and(|f| {
            let proxy = ranked.iter().find(|p| p.layout == f.layout());
            matches!(options.target, Target::Psnr(_))
                && proxy.is_some_and(|p| f.bytes.len() as f64 > SAW_LESS * p.bytes as f64)
        });
        match found {
            Some(found) if !unlike => Some(found),
            // Behind the grid's file the layouts stop early: the others would too.
            None if hint.is_some() => None,
            found => {
                // The others the crop made, in its order (where the crop's best made no file,
                // trying every other layout instead took 31 s on a 24 MP photo whose crop
                // chose learnt patches, which cannot reach 35 dB at that size).
                let rest: Vec<_> = ranked
                    .iter()
                    .map(|p| p.layout)
                    .filter(|c| !first.contains(c))
                    .collect();
                let rules = Rules {
                    made: search::smaller(found.as_ref(), hint),
                    ..whole
                };
                match (found, smallest(&input, options, &rest, rules)?) {
                    (Some(f), Some(o)) if !o.beats(&f, options.target) => Some(f),
                    (f, o) => o.or(f),
                }
            }
        }
    } else if halves.len() == 2 && local.len() > 2 {
        // The chroma size is chosen on the first local layout, then kept for the others;
        // the global layout tries both (its probe stops it early on photos).
        chroma_first(&input, options, &local, &globals, whole)?
            .into_iter()
            .next()
    } else {
        let all: Vec<_> = local.iter().chain(&globals).copied().collect();
        smallest(&input, options, &all, whole)?
    };
    let rival = found.as_ref().map(|f| (f.bytes.len(), f.psnr));
    // The lattice reads the levels alone: the stored planes go first.
    input.stored = Vec::new();
    let late = || match (&lattice, tried) {
        (Some(l), false) if rival.is_none_or(|r| l.may_beat(options.target, r)) => {
            l.make(&input, options.target)
        }
        _ => None,
    };
    let found = match options.layout {
        Layout::Auto => match (early.or_else(late), found) {
            (Some(grid), f) => {
                let made = Made {
                    bytes: grid.bytes,
                    psnr: grid.psnr,
                    ranks: grid.ranks,
                    shape: Shape::Patches(8),
                    bias: f64::NAN,
                    tile: 8,
                    tiles: 1,
                    half: grid.half,
                    patch_dct: true,
                    color: grid.color,
                };
                match f {
                    Some(f) if !made.beats(&f, options.target) => Some(f),
                    _ => Some(made),
                }
            }
            (None, f) => f,
        },
        _ => found,
    };
    let Some(Made {
        bytes,
        psnr: measured,
        ranks,
        shape,
        tile,
        tiles,
        half,
        patch_dct,
        color,
        ..
    }) = found
    else {
        return Err(Error::parameter(match options.target {
            Target::Psnr(db) => format!("the image cannot reach {db} dB"),
            Target::MaxBytes(b) => format!("no .svdz file of this image fits in {b} bytes"),
            _ => unreachable!(),
        }));
    };
    // Measure what a reader of the file gets.
    let (mut decoded, _) = codec::decode(&bytes, &header::parse_written(&bytes)?, usize::MAX)?;
    let planes: Vec<&[f32]> = decoded.iter().map(|p| &p[..]).collect();
    let psnr = level_psnr(&planes, input.levels, input.max);
    if psnr != measured {
        return Err(Error::new(
            crate::ErrorKind::Numerical,
            format!("the file decodes to {psnr} dB, not the {measured} dB measured"),
        ));
    }
    let count = decoded.len() as f64;
    let ssim = decoded
        .iter_mut()
        .zip(&input.reference)
        .map(|(d, r)| {
            let max = input.max;
            d.par_iter_mut()
                .for_each(|x| *x = (crate::picture::quantize(*x, max) / max) as f32);
            metrics::ssim(r, d, input.n, input.m)
        })
        .sum::<f64>()
        / count;
    Ok(Compressed {
        ranks: color.plane_names().iter().copied().zip(ranks).collect(),
        bytes,
        color,
        psnr_db: measured,
        ssim,
        version: 2,
        tile_size: tile as usize,
        tiles,
        half_chroma: half,
        patches: matches!(shape, Shape::Patches(_)),
        patch_dct,
    })
}
