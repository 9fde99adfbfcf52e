//! `.svdz` version 2: the encoder's choice of layout (the file's bytes are [`codec`]).
//!
//! Each plane is cut into tiles with a rank per tile under one global threshold, kept whole
//! ("global", one tile), or stored as its matrix of 8×8 patches; Cb and Cr optionally at
//! half size (4:2:0). The encoder tries tiles of 32, 16 and 64 and patches, and the global
//! layout when a randomized SVD of the first plane predicts the target (axis-aligned and
//! synthetic content); the smallest file wins. Each layout is a [`Candidate`], searched by
//! [`threshold`].

mod candidate;
pub(crate) mod codec;
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
mod rebuild;
mod stream;
mod threshold;
mod tiles;

use rayon::prelude::*;

use crate::format::color::{self, ColorChoice, StoredColor};
use crate::format::measure::{level_psnr, LevelPlane};
use crate::format::options::{Chroma, CompressOptions, Compressed, Layout, Target};
use crate::{metrics, Error, Result};
use candidate::{Candidate, Shape};
pub(crate) use input::Input;
use input::CROP_FROM;
use lattice::Lattice;
use threshold::{search_bytes, search_psnr};

/// The side of the patches the encoder tries.
const PATCH: usize = 8;

/// The tile sides the encoder tries, the likeliest first (it makes the file that prunes the
/// others). 16 joined on 2026-12-04: on 23 photos at 30/35/40 dB the files came out 2.2%
/// smaller on average, up to 23% (silhouettes, logos, sharp edges), and never 0.1% larger.
/// The file size rose on both sides of the best side in all 60 cases of 22 photos at
/// 30/35/40 dB where all three were measured: when 16 beats 32, 64 is not tried.
const TILE_SIZES: [usize; 3] = [32, 16, 64];
/// The side of that crop.
const CROP: usize = 1024;
/// On the crop, a candidate after the first (32-pixel tiles, full chroma) must make a file
/// this much smaller to be chosen: the crop is a proxy, and a near tie there can be a clear
/// loss on the whole image (measured: 64-pixel tiles 0.3% smaller than 32 on the centre
/// crop of a 6000×4000 mosaic, and 5% larger on the whole of it).
const CROP_MARGIN: f64 = 0.01;

/// On an image larger than the crop, a JPEG's grid whose file is below this share of the
/// crop's file scaled to the image leaves the local layouts untried.
const GRID_AHEAD: f64 = 0.5;

/// The file an encoder candidate made.
struct Made {
    bytes: Vec<u8>,
    /// The PSNR it decodes to.
    psnr: f64,
    /// Per stored plane, the components it keeps.
    ranks: Vec<usize>,
    shape: Shape,
    tile: u32,
    tiles: usize,
    half: bool,
    /// Patches coded in the 2D DCT ([`lattice`]).
    patch_dct: bool,
    /// The colour model it stores.
    color: StoredColor,
}

impl Made {
    /// Whether this file is better: smaller for a PSNR, a better PSNR for a byte budget.
    fn beats(&self, other: &Made, target: Target) -> bool {
        match target {
            Target::MaxBytes(_) => {
                (self.psnr, std::cmp::Reverse(self.bytes.len()))
                    > (other.psnr, std::cmp::Reverse(other.bytes.len()))
            }
            _ => self.bytes.len() < other.bytes.len(),
        }
    }

    /// Whether this file, found after `other`, replaces it: smaller by the share `margin`
    /// for a PSNR (see [`smallest`]), better by [`Made::beats`] for a byte budget.
    fn wins_after(&self, other: &Made, target: Target, margin: f64) -> bool {
        match target {
            Target::Psnr(_) => {
                (self.bytes.len() as f64) < other.bytes.len() as f64 * (1.0 - margin)
            }
            _ => self.beats(other, target),
        }
    }
}

/// [`smallest`] over `candidates`, whose first two are one layout with both chroma sizes:
/// the size is chosen on that layout and kept for the other candidates; `extra` (the
/// global layout) is tried as it is.
fn chroma_first(
    input: &Input,
    options: &CompressOptions,
    candidates: &[(Shape, bool)],
    extra: &[(Shape, bool)],
    probe: bool,
    margin: f64,
    made: Option<usize>,
) -> Result<Option<Made>> {
    let first = smallest(input, options, &candidates[..2], probe, margin, made)?;
    let half = first.as_ref().is_some_and(|f| f.half);
    let rest: Vec<_> = candidates[2..]
        .iter()
        .copied()
        .filter(|c| c.1 == half)
        .chain(extra.iter().copied())
        .collect();
    let made = smaller(first.as_ref(), made);
    let second = smallest(input, options, &rest, probe, margin, made)?;
    Ok(match (first, second) {
        (Some(a), Some(b)) => Some(if b.wins_after(&a, options.target, margin) {
            b
        } else {
            a
        }),
        (a, b) => a.or(b),
    })
}

/// The best file of `candidates` (shape, half chroma): the smallest for a PSNR, the best
/// PSNR for a byte budget. For a PSNR a later candidate must be smaller by the share
/// `margin` to win (0 for real files; see [`CROP_MARGIN`]). `made`, the bytes of a file
/// another call already made, lets a layout far behind it stop early, as a better file
/// among `candidates` does.
fn smallest(
    input: &Input,
    options: &CompressOptions,
    candidates: &[(Shape, bool)],
    probe: bool,
    margin: f64,
    made: Option<usize>,
) -> Result<Option<Made>> {
    let mut best: Option<Made> = None;
    // The global probe judges the first plane alone: once it refuses, it refuses again.
    let mut refused: Option<Shape> = None;
    // The last candidate's first plane, factored: the next candidate of the same shape
    // (the other chroma size) takes it as it is.
    let mut luma: Option<(Shape, plane::Plane<'_>)> = None;
    for &(shape, half) in candidates {
        if refused == Some(shape) {
            continue;
        }
        // Tiles larger than the first size are skipped once smaller ones made the smaller
        // file: on every photo and level measured the file size rose on both sides of its
        // best tile side (see [`TILE_SIZES`]).
        let smaller_won = best.as_ref().is_some_and(|b| {
            matches!(b.shape, Shape::Tiles(t) if t < TILE_SIZES[0])
                && made.is_none_or(|m| b.bytes.len() < m)
        });
        if let (Shape::Tiles(t), Target::Psnr(_), true) = (shape, options.target, smaller_won) {
            if t > TILE_SIZES[0] {
                continue;
            }
        }
        let reuse = luma.as_ref().filter(|(s, _)| *s == shape).map(|(_, p)| p);
        let Some(mut c) = Candidate::new(input, shape, half, options, probe, reuse)? else {
            refused = Some(shape);
            continue;
        };
        if luma.as_ref().is_none_or(|(s, _)| *s != shape) {
            luma = Some((shape, c.planes[0].clone()));
        }
        let found = match options.target {
            Target::Psnr(db) => {
                // A layout whose first measurement predicts a file far larger than the best
                // so far stops there (measured: the same files, 0.3-0.6 s less at 2 MP).
                // The smallest file so far, of this call or the one before it.
                let beat = smaller(best.as_ref(), made);
                search_psnr(&mut c, input, db, beat)?.map(|(_, q)| q)
            }
            Target::MaxBytes(budget) => search_bytes(&c, input, budget)?,
            _ => unreachable!("version 2 is written for a PSNR or a byte budget"),
        };
        let Some(q) = found else { continue };
        let bytes = codec::write(&c, &q, input);
        let made = Made {
            bytes,
            psnr: q.psnr,
            ranks: q.ranks(),
            shape,
            tile: c.tile,
            tiles: match shape {
                Shape::Patches(_) => 1,
                _ => c.planes[0].grid.len(),
            },
            half: c.half,
            patch_dct: c.dct.is_square(),
            color: input.color,
        };
        if best
            .as_ref()
            .is_none_or(|b| made.wins_after(b, options.target, margin))
        {
            best = Some(made);
        }
    }
    Ok(best)
}

/// The smaller of a file's size and another size, either of them absent.
fn smaller(made: Option<&Made>, other: Option<usize>) -> Option<usize> {
    made.map(|m| m.bytes.len()).into_iter().chain(other).min()
}

/// Where along an axis of `len` pixels the crop's pieces lie: (start, length) of each. An
/// axis of at least `CROP` pixels gives two pieces of `CROP / 2`, centred at a quarter and
/// at three quarters of it; a shorter axis gives the whole of it.
fn crop_pieces(len: usize) -> Vec<(usize, usize)> {
    let half = CROP / 2;
    if len < CROP {
        return vec![(0, len)];
    }
    [len / 4, 3 * len / 4]
        .iter()
        .map(|&c| (c.saturating_sub(half / 2).min(len - half), half))
        .collect()
}

/// Copies the pieces `rows` × `cols` of a row-major plane `n` wide into one plane.
fn gather<T: Copy>(
    plane: &[T],
    n: usize,
    rows: &[(usize, usize)],
    cols: &[(usize, usize)],
) -> Vec<T> {
    rows.iter()
        .flat_map(|&(y, h)| y..y + h)
        .flat_map(|r| {
            cols.iter()
                .flat_map(move |&(x, w)| &plane[r * n + x..r * n + x + w])
        })
        .copied()
        .collect()
}

/// Which of `candidates` makes the best file on a proxy of the image: the four
/// `CROP/2`-square pieces centred in its quadrants, side by side (`CROP`² pixels in all).
/// The pieces' sides are multiples of every tile and patch side tried, so no tile straddles
/// two of them. Four places stand for the image better than its centre alone (measured on a
/// 6000×4000 mosaic of photos: the centre crop chose 64-pixel tiles, whose file was 4.9%
/// larger than with 32-pixel tiles, which the four pieces choose).
fn best_on_crop(
    input: &Input,
    options: &CompressOptions,
    candidates: &[(Shape, bool)],
) -> Result<Option<((Shape, bool), usize)>> {
    let (rows, cols) = (crop_pieces(input.m), crop_pieces(input.n));
    let h: usize = rows.iter().map(|r| r.1).sum();
    let w: usize = cols.iter().map(|c| c.1).sum();
    let stored: Vec<Vec<f32>> = input
        .stored
        .iter()
        .map(|p| gather(p, input.n, &rows, &cols))
        .collect();
    let levels: Vec<LevelPlane> = input
        .levels
        .iter()
        .map(|l| match l {
            LevelPlane::Eight(l) => LevelPlane::Eight(gather(l, input.n, &rows, &cols)),
            LevelPlane::Sixteen(l) => LevelPlane::Sixteen(gather(l, input.n, &rows, &cols)),
        })
        .collect();
    let crop = Input {
        color: input.color,
        stored,
        levels: &levels,
        reference: Vec::new(),
        m: h,
        n: w,
        max: input.max,
        bit_depth: input.bit_depth,
        alpha: None,
    };
    // As on a whole image of 1-2 MP, the chroma size is chosen on the first layout where
    // it comes with both.
    let best = if candidates.len() > 2 && candidates[0].0 == candidates[1].0 {
        chroma_first(&crop, options, candidates, &[], false, CROP_MARGIN, None)?
    } else {
        smallest(&crop, options, candidates, false, CROP_MARGIN, None)?
    };
    // The crop's bytes scaled to the whole image.
    let scale = (input.m * input.n) as f64 / (h * w) as f64;
    Ok(best.map(|b| ((b.shape, b.half), (b.bytes.len() as f64 * scale) as usize)))
}

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
    let found = if local.len() > 1 && large {
        // Large images try the local layout that wins on a crop (and the global one), and
        // the others only when those miss.
        let crop = best_on_crop(&input, options, &local)?;
        let winner = crop.map(|c| c.0);
        if let (Some(l), Target::Psnr(_), Some((_, scaled))) = (&lattice, options.target, crop) {
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
        let far_ahead = match (crop, hint) {
            (Some((_, scaled)), Some(grid)) => (grid as f64) < GRID_AHEAD * scaled as f64,
            _ => false,
        };
        let first: Vec<_> = winner
            .filter(|_| !far_ahead)
            .into_iter()
            .chain(globals.iter().copied())
            .collect();
        match smallest(&input, options, &first, probe, 0.0, hint)? {
            Some(found) => Some(found),
            // Behind the grid's file the layouts stop early: the others would too.
            None if hint.is_some() => None,
            None => {
                let rest: Vec<_> = local
                    .iter()
                    .copied()
                    .filter(|c| Some(*c) != winner)
                    .collect();
                smallest(&input, options, &rest, probe, 0.0, hint)?
            }
        }
    } else if halves.len() == 2 && local.len() > 2 {
        // The chroma size is chosen on the first local layout, then kept for the others;
        // the global layout tries both (its probe stops it early on photos).
        chroma_first(&input, options, &local, &globals, probe, 0.0, hint)?
    } else {
        let all: Vec<_> = local.iter().chain(&globals).copied().collect();
        smallest(&input, options, &all, probe, 0.0, hint)?
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_pieces_are_apart_inside_and_whole_tiles() {
        for len in [1, 700, 1023, 1024, 1500, 2049, 4000, 6000] {
            let pieces = crop_pieces(len);
            let total: usize = pieces.iter().map(|p| p.1).sum();
            assert_eq!(total, len.min(CROP), "{len}");
            for w in pieces.windows(2) {
                assert!(w[0].0 + w[0].1 <= w[1].0, "{len}: {pieces:?}");
            }
            for &(start, piece) in &pieces {
                assert!(start + piece <= len, "{len}: {pieces:?}");
                if len >= CROP {
                    assert!(TILE_SIZES.iter().all(|t| piece % t == 0) && piece % PATCH == 0);
                }
            }
        }
        let plane: Vec<u16> = (0..64).collect();
        // An 8×8 plane, rows 1–2 and 5, columns 0 and 6–7.
        let got = gather(&plane, 8, &[(1, 2), (5, 1)], &[(0, 1), (6, 2)]);
        assert_eq!(got, [8, 14, 15, 16, 22, 23, 40, 46, 47]);
    }
}
