//! `.svdz` version 2: the encoder's choice of layout and the file's writing and decoding.
//!
//! Each plane is cut into tiles with a rank per tile under one global threshold, kept whole
//! ("global", one tile), or stored as its matrix of 8×8 patches; Cb and Cr optionally at
//! half size (4:2:0). The encoder tries tiles of 32 and 64 and patches, and the global
//! layout when a randomized SVD of the first plane predicts the target (axis-aligned and
//! synthetic content); the smallest file wins. Each layout is a [`Candidate`], searched by
//! [`super::threshold`].

use std::borrow::Cow;

use rayon::prelude::*;

use super::candidate::{rebuild, Candidate, Quantised, Shape};
use super::dct::Dct;
use super::header2::{self, Block, Header, Side};
use super::layout::{self, BlockEntry};
use super::patches;
use super::rate::level_psnr;
use super::stream::{self, Vector};
use super::threshold::{search_bytes, search_psnr};
use super::tiles::TileCode;
use super::{Compressed, StoredColor, Target};
use crate::{metrics, Error, Result};

/// The tile side of `--layout tiled`. Measured at 35 dB on the shared photos against 16,
/// 24, 64 and 128 (`cargo run --release -p svdimg --example v2_probe -- 35
/// ../shared/images/*.png`): 32 gives the smallest files on four of the five; 64 wins on
/// the fifth and at lower qualities, so `Layout::Auto` tries both.
pub const DEFAULT_TILE: usize = 32;
/// Components per block of a tiled file. Each block restarts the range coder's models, so
/// few large blocks code best; a prefix still decodes inside a block.
const BLOCK_SIZE: u16 = 1024;
/// Components per block where each plane is one tile (the global and patch layouts): few
/// components with long vectors, so that `decompress --rank J` reads little more than the
/// J components it keeps. Measured at 35 dB on the shared photos against 1024: 0.2–0.4%
/// larger global files, patch files within 0.1%.
const ONE_TILE_BLOCK_SIZE: u16 = 32;

/// How a version 2 file arranges each plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// The smallest of tiles of 32 and of 64 pixels and global, per image. Default.
    #[default]
    Auto,
    /// The whole plane as one tile: one global rank-k basis per plane.
    Global,
    /// Tiles of about this many pixels a side (at least 8), each with its own rank.
    Tiled(usize),
    /// Patches of this many pixels a side (4 to 16), each a row of one matrix per plane
    /// whose SVD is an image-adaptive transform.
    Patches(usize),
}

/// The side of the patches the encoder tries.
const PATCH: usize = 8;

/// How Cb and Cr are stored (YCbCr only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Chroma {
    /// The smaller file of `Full` and `Half`. Default.
    #[default]
    Auto,
    /// At full size: best for sharp colour graphics.
    Full,
    /// At half the width and height, averaged over 2×2 pixels, and interpolated back:
    /// smaller files for photos.
    Half,
}

/// What the encoder needs of the input, prepared once.
pub(super) struct Input<'a> {
    pub color: StoredColor,
    pub stored: Vec<Vec<f32>>,
    pub levels: &'a [Vec<u16>],
    pub reference: Vec<Cow<'a, [f32]>>,
    pub m: usize,
    pub n: usize,
    pub max: f64,
    pub bit_depth: u8,
    pub alpha: Option<(Vec<u8>, BlockEntry)>,
}

/// The tile sides the encoder tries.
const TILE_SIZES: [usize; 2] = [32, 64];
/// Images above this many pixels choose their tiling and chroma size on a centre crop.
pub(super) const CROP_FROM: usize = 1 << 21;
/// The side of that crop.
const CROP: usize = 1024;

/// The file an encoder candidate made.
struct Made {
    bytes: Vec<u8>,
    q: Quantised,
    shape: Shape,
    tile: u32,
    tiles: usize,
    half: bool,
}

impl Made {
    /// Whether this file is better: smaller for a PSNR, a better PSNR for a byte budget.
    fn beats(&self, other: &Made, target: Target) -> bool {
        match target {
            Target::MaxBytes(_) => {
                (self.q.psnr, std::cmp::Reverse(self.bytes.len()))
                    > (other.q.psnr, std::cmp::Reverse(other.bytes.len()))
            }
            _ => self.bytes.len() < other.bytes.len(),
        }
    }
}

/// The best file of `candidates` (shape, half chroma): the smallest for a PSNR, the best
/// PSNR for a byte budget.
fn smallest(
    input: &Input,
    options: &super::CompressOptions,
    candidates: &[(Shape, bool)],
    probe: bool,
) -> Result<Option<Made>> {
    let mut best: Option<Made> = None;
    for &(shape, half) in candidates {
        let Some(c) = Candidate::new(input, shape, half, options, probe)? else {
            continue;
        };
        let found = match options.target {
            Target::Psnr(db) => search_psnr(&c, input, db)?.map(|(_, q)| q),
            Target::MaxBytes(budget) => search_bytes(&c, input, budget)?,
            _ => unreachable!("version 2 is written for a PSNR or a byte budget"),
        };
        let Some(q) = found else { continue };
        let bytes = write(&c, &q, input);
        let made = Made {
            bytes,
            q,
            shape,
            tile: c.tile,
            tiles: match shape {
                Shape::Patches(_) => 1,
                _ => c.planes[0].grid.len(),
            },
            half: c.half,
        };
        if best.as_ref().is_none_or(|b| made.beats(b, options.target)) {
            best = Some(made);
        }
    }
    Ok(best)
}

/// Which of `candidates` makes the best file on the centre `CROP`² pixels.
fn best_on_crop(
    input: &Input,
    options: &super::CompressOptions,
    candidates: &[(Shape, bool)],
) -> Result<Option<(Shape, bool)>> {
    let (h, w) = (CROP.min(input.m), CROP.min(input.n));
    let (y, x) = ((input.m - h) / 2, (input.n - w) / 2);
    let cut = |plane: &[f32]| -> Vec<f32> {
        (y..y + h)
            .flat_map(|r| plane[r * input.n + x..r * input.n + x + w].iter().copied())
            .collect()
    };
    let stored: Vec<Vec<f32>> = input.stored.iter().map(|p| cut(p)).collect();
    let levels: Vec<Vec<u16>> = input
        .levels
        .iter()
        .map(|l| {
            (y..y + h)
                .flat_map(|r| l[r * input.n + x..r * input.n + x + w].iter().copied())
                .collect()
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
    let best = smallest(&crop, options, candidates, false)?;
    Ok(best.map(|b| (b.shape, b.half)))
}

/// Compresses to version 2 for a PSNR or a byte budget.
pub(super) fn compress(mut input: Input, options: &super::CompressOptions) -> Result<Compressed> {
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
        Layout::Tiled(t) if t >= header2::MIN_TILE as usize => (vec![Shape::Tiles(t)], false),
        Layout::Tiled(t) => {
            return Err(Error::parameter(format!(
                "the tile size {t} is below {}",
                header2::MIN_TILE
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
    let found = if local.len() > 1 && input.m * input.n > CROP_FROM {
        // Large images try the local layout that wins on a crop (and the global one), and
        // the others only when those miss.
        let winner = best_on_crop(&input, options, &local)?;
        let first: Vec<_> = winner.into_iter().chain(globals.iter().copied()).collect();
        match smallest(&input, options, &first, probe)? {
            Some(found) => Some(found),
            None => {
                let rest: Vec<_> = local
                    .iter()
                    .copied()
                    .filter(|c| Some(*c) != winner)
                    .collect();
                smallest(&input, options, &rest, probe)?
            }
        }
    } else if halves.len() == 2 && local.len() > 2 {
        // The chroma size is chosen on the first local layout, then kept for the others.
        let first = smallest(&input, options, &local[..2], probe)?;
        let half = first.as_ref().is_some_and(|f| f.half);
        // The global layout tries both (its probe stops it early on photos).
        let rest: Vec<_> = local[2..]
            .iter()
            .copied()
            .filter(|c| c.1 == half)
            .chain(globals.iter().copied())
            .collect();
        let second = smallest(&input, options, &rest, probe)?;
        match (first, second) {
            (Some(a), Some(b)) => Some(if b.beats(&a, options.target) { b } else { a }),
            (a, b) => a.or(b),
        }
    } else {
        let all: Vec<_> = local.iter().chain(&globals).copied().collect();
        smallest(&input, options, &all, probe)?
    };
    // Free the stored planes for the decode.
    input.stored = Vec::new();
    let Some(Made {
        bytes,
        q,
        shape,
        tile,
        tiles,
        half,
    }) = found
    else {
        return Err(Error::parameter(match options.target {
            Target::Psnr(db) => format!("the image cannot reach {db} dB"),
            Target::MaxBytes(b) => format!("no .svdz file of this image fits in {b} bytes"),
            _ => unreachable!(),
        }));
    };
    // Measure what a reader of the file gets.
    let decoded = super::decompress(
        &bytes,
        &super::DecompressOptions {
            rank: None,
            limits: crate::Limits {
                max_pixels: u64::MAX,
                max_alloc: u64::MAX,
            },
            allow_truncated: false,
        },
    )?;
    let mut decoded: Vec<Vec<f32>> = decoded.color.into_iter().map(|p| p.data).collect();
    let planes: Vec<&[f32]> = decoded.iter().map(|p| &p[..]).collect();
    let psnr = level_psnr(&planes, input.levels, input.max);
    if psnr != q.psnr {
        return Err(Error::new(
            crate::ErrorKind::Numerical,
            format!(
                "the file decodes to {psnr} dB, not the {} dB measured",
                q.psnr
            ),
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
        ranks: input
            .color
            .plane_names()
            .iter()
            .zip(&q.codes)
            .map(|(&name, c)| (name, c.iter().map(TileCode::rank).sum()))
            .collect(),
        bytes,
        color: input.color,
        psnr_db: q.psnr,
        ssim,
        version: 2,
        tile_size: tile as usize,
        tiles,
        half_chroma: half,
        patches: matches!(shape, Shape::Patches(_)),
    })
}

/// The file of a quantised image.
pub(super) fn write(c: &Candidate, q: &Quantised, input: &Input) -> Vec<u8> {
    let side: Side = q
        .codes
        .iter()
        .map(|plane| plane.iter().map(|t| t.g.clone()).collect())
        .collect();
    let side_bytes = header2::encode_side(&side);
    let mut header = Header {
        color: input.color,
        alpha: input.alpha.is_some(),
        half_chroma: c.half,
        patches: c.patch().is_some(),
        bit_depth: input.bit_depth,
        width: input.n as u32,
        height: input.m as u32,
        tile: c.tile,
        block_size: if c.planes[0].grid.len() == 1 {
            ONE_TILE_BLOCK_SIZE
        } else {
            BLOCK_SIZE
        },
        deblock: q.deblock,
        deltas: q.deltas.clone(),
        counts: side
            .iter()
            .map(|p| p.iter().map(Vec::len).sum::<usize>() as u32)
            .collect(),
        side: BlockEntry::of(&side_bytes, 0),
        interleaved: true,
        blocks: Vec::new(),
        alpha_block: input.alpha.as_ref().map(|a| a.1),
    };
    let (blocks, entries): (Vec<Vec<Vec<u8>>>, Vec<Vec<Block>>) = header2::streams(&header, &side)
        .iter()
        .map(|order| {
            order
                .par_chunks(usize::from(header.block_size))
                .map(|chunk| {
                    let mut vectors = Vec::with_capacity(2 * chunk.len());
                    for &(p, t, i) in chunk {
                        let (p, t, i) = (usize::from(p), t as usize, i as usize);
                        let (_, h, _, w) = c.planes[p].grid.rect(t);
                        let code = &q.codes[p][t];
                        vectors.push(Vector {
                            q: &code.u[i * h..(i + 1) * h],
                            g: code.g[i],
                            dct: code.dct[i] & 1 != 0,
                            stride: header.stride(p),
                        });
                        vectors.push(Vector {
                            q: &code.v[i * w..(i + 1) * w],
                            g: code.g[i],
                            dct: code.dct[i] & 2 != 0,
                            stride: 0,
                        });
                    }
                    let (bytes, coding, entry) = stream::encode(&vectors);
                    (bytes, Block { coding, entry })
                })
                .unzip()
        })
        .unzip();
    header.blocks = entries;
    header.write(&side_bytes, &blocks, input.alpha.as_ref().map(|a| &a.0[..]))
}

/// The side block of a parsed file, checked: each tile's codes.
pub(super) fn side(bytes: &[u8], parsed: &header2::Parsed) -> Result<Side> {
    let h = &parsed.header;
    let side_bytes = &bytes[parsed.side_offset..parsed.side_offset + h.side.stored as usize];
    if !cfg!(fuzzing) && crc32fast::hash(side_bytes) != h.side.crc {
        return Err(Error::input("corrupt .svdz side block: checksum mismatch"));
    }
    header2::decode_side(side_bytes, h)
}

/// Decodes a parsed version 2 file, or a prefix of it, to output planes (gray or R G B,
/// unclipped) with at most `rank` components per tile; and per stored plane the components
/// decoded and those the whole file gives at `rank`.
///
/// A prefix gives each stream its components in file order up to the last one it holds
/// completely; each tile then has its first few, as the order keeps a tile's components
/// in sequence. Without the whole side block no component can be placed: every plane is
/// empty (and the whole file's count is the header's, uncapped).
pub(super) fn decode(
    bytes: &[u8],
    parsed: &header2::Parsed,
    rank: usize,
) -> Result<(Vec<Vec<f32>>, Vec<(usize, usize)>)> {
    let h = &parsed.header;
    let planes = h.counts.len();
    let grids: Vec<_> = (0..planes).map(|p| h.grid(p)).collect();
    let side_end = parsed.side_offset as u64 + u64::from(h.side.stored);
    let side = if side_end <= bytes.len() as u64 {
        side(bytes, parsed)?
    } else {
        let counts = h.counts.iter().map(|&k| (0, k as usize)).collect();
        let empty: Vec<Vec<TileCode>> = grids
            .iter()
            .map(|g| vec![TileCode::default(); g.len()])
            .collect();
        return Ok((rebuild_planes(h, &empty, &grids, rank), counts));
    };
    let dcts: Vec<Dct> = grids.iter().map(|g| Dct::new(g.lengths())).collect();
    let mut codes: Vec<Vec<TileCode>> = side
        .iter()
        .zip(&grids)
        .map(|(plane, grid)| {
            plane
                .iter()
                .enumerate()
                .map(|(t, g)| {
                    let (_, th, _, tw) = grid.rect(t);
                    TileCode {
                        g: g.clone(),
                        u: vec![0; g.len() * th],
                        v: vec![0; g.len() * tw],
                        dct: vec![0; g.len()],
                    }
                })
                .collect()
        })
        .collect();
    let mut arrived: Vec<Vec<usize>> = side.iter().map(|p| vec![0; p.len()]).collect();
    let bs = usize::from(h.block_size);
    for ((order, blocks), offsets) in header2::streams(h, &side)
        .iter()
        .zip(&h.blocks)
        .zip(&parsed.offsets)
    {
        let decoded: Vec<(Vec<i32>, Vec<bool>)> = order
            .par_chunks(bs)
            .zip(blocks)
            .zip(offsets)
            .map(|((chunk, block), &offset)| {
                let shape: Vec<(usize, u8, usize)> = chunk
                    .iter()
                    .flat_map(|&(p, t, i)| {
                        let p = usize::from(p);
                        let (_, th, _, tw) = grids[p].rect(t as usize);
                        let c = side[p][t as usize][i as usize];
                        [(th, c, h.stride(p)), (tw, c, 0)]
                    })
                    .collect();
                let (mut out, mut kinds) = (Vec::new(), Vec::new());
                let (stored, cut) = match layout::held(bytes, offset, block.entry.stored) {
                    layout::Held::Whole(b) => (b, false),
                    layout::Held::Cut(b) => (b, true),
                    layout::Held::Missing => return Ok((out, kinds)),
                };
                stream::decode(
                    stored,
                    block.coding,
                    block.entry,
                    &shape,
                    &mut out,
                    &mut kinds,
                    cut,
                )?;
                let too_long = chunk.iter().flat_map(|&(p, _, _)| [p, p]).zip(&shape);
                if too_long
                    .zip(&kinds)
                    .any(|((p, s), &k)| k && !dcts[usize::from(p)].offers(s.0))
                {
                    return Err(Error::input(
                        "corrupt .svdz block: a DCT vector longer than a tile can be",
                    ));
                }
                Ok((out, kinds))
            })
            .collect::<Result<_>>()?;
        // Components arrive in order until the first block that is not whole.
        'blocks: for (chunk, (values, kinds)) in order.chunks(bs).zip(&decoded) {
            let mut at = 0;
            for (j, &(p, t, i)) in chunk.iter().enumerate() {
                if 2 * j + 1 >= kinds.len() {
                    break 'blocks;
                }
                let (p, t, i) = (usize::from(p), t as usize, i as usize);
                let (_, th, _, tw) = grids[p].rect(t);
                let code = &mut codes[p][t];
                code.dct[i] = u8::from(kinds[2 * j]) | (u8::from(kinds[2 * j + 1]) << 1);
                code.u[i * th..(i + 1) * th].copy_from_slice(&values[at..at + th]);
                at += th;
                code.v[i * tw..(i + 1) * tw].copy_from_slice(&values[at..at + tw]);
                at += tw;
                arrived[p][t] += 1;
            }
        }
    }
    let mut counts = Vec::with_capacity(planes);
    for p in 0..planes {
        for (t, (code, &a)) in codes[p].iter_mut().zip(&arrived[p]).enumerate() {
            let (_, th, _, tw) = grids[p].rect(t);
            code.g.truncate(a);
            code.u.truncate(a * th);
            code.v.truncate(a * tw);
            code.dct.truncate(a);
        }
        counts.push((
            arrived[p].iter().map(|&a| a.min(rank)).sum(),
            side[p].iter().map(|g| g.len().min(rank)).sum(),
        ));
    }
    Ok((rebuild_planes(h, &codes, &grids, rank), counts))
}

/// The output planes of decoded tile codes.
fn rebuild_planes(
    h: &Header,
    codes: &[Vec<TileCode>],
    grids: &[super::tiles::Grid],
    rank: usize,
) -> Vec<Vec<f32>> {
    rebuild(
        codes,
        grids,
        &h.deltas,
        h.half_chroma,
        h.deblock,
        h.patches.then_some(h.tile as usize),
        h.color,
        h.height as usize,
        h.width as usize,
        rank,
    )
}
