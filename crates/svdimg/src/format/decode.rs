//! Decoding `.svdz` files of either version, whole or a prefix: what a header says
//! (`inspect`), how many leading bytes a decode needs, reading only those, and decoding
//! what they hold.
//!
//! Both versions store their components strongest first, in blocks with a table of their
//! places, so the first bytes of a file after its header are a coarser picture. A decode
//! with a rank needs only the blocks that hold the components it keeps; a file cut short
//! (a download that stopped, or `--max-bytes`) decodes to the components it holds
//! completely.

use std::io::Read;

use super::color::StoredColor;
use super::container::{self, unpredict_alpha};
use super::file::{self, File};
use super::options::{DecompressOptions, SvdzInfo};
use super::v1;
use super::v2::{codec, header as header2};
use crate::{Error, Planes, Result};
use crate::{Limits, Plane, PlaneName};

/// How many leading bytes of a file a decode reads, from [`svdz_bytes_needed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvdzNeed {
    /// At least this many: the header (or version 2's side block, for a rank) is not all
    /// there yet, and says the rest once it is.
    AtLeast(u64),
    /// Exactly this many: the decode uses nothing after them.
    Exactly(u64),
}

/// What [`decompress_prefix`] made of a file or of a prefix of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decompressed {
    /// What the header says (`bytes` is the whole file's length, as the header gives it).
    pub info: SvdzInfo,
    /// The picture, on the [0, 1] scale, unclipped: gray or R G B, plus alpha when stored
    /// and held by the bytes given.
    pub planes: Planes<f32>,
    /// Per stored plane in file order: its name, the components decoded, and those the
    /// whole file gives at the rank asked (each tile's capped at it in version 2).
    pub components: Vec<(&'static str, usize, usize)>,
    /// The bytes the decode needed, at most the file's length: less with a rank.
    pub needed: u64,
    /// Whether the bytes given end before `needed`: a cut file, decoded because
    /// [`DecompressOptions::allow_truncated`] is set.
    pub truncated: bool,
    /// Whether the file stores an alpha plane that the bytes given do not hold: the picture
    /// then has none.
    pub alpha_missing: bool,
}

impl Decompressed {
    /// Components decoded over all planes.
    pub fn used(&self) -> usize {
        self.components.iter().map(|c| c.1).sum()
    }

    /// Components the whole file gives at the rank asked, over all planes.
    pub fn total(&self) -> usize {
        self.components.iter().map(|c| c.2).sum()
    }
}

/// How many leading bytes of an `.svdz` file a decode with `options` needs, given its first
/// bytes `head` (any number of them). Without a rank that is the whole file; with a rank,
/// the blocks up to the last one holding a kept component (and the alpha block, which ends
/// the file, when there is one).
///
/// Call it again with more bytes while it answers [`SvdzNeed::AtLeast`]. Errors are those of
/// the header (not an `.svdz` file, a corrupt or over-limit header, a corrupt side block).
pub fn svdz_bytes_needed(head: &[u8], options: &DecompressOptions) -> Result<SvdzNeed> {
    let header = match file::header_len(head) {
        Ok(len) => len,
        Err(at_least) => {
            if !container::has_magic(head) && !container::MAGIC.starts_with(head) {
                file::parse(head, &options.limits)?;
            }
            return Ok(SvdzNeed::AtLeast(at_least));
        }
    };
    if (head.len() as u64) < header {
        return Ok(SvdzNeed::AtLeast(header));
    }
    needed(head, &file::parse(head, &options.limits)?, header, options)
}

/// [`svdz_bytes_needed`] for a parsed header of `header` bytes, all held by `head`.
fn needed(head: &[u8], file: &File, header: u64, options: &DecompressOptions) -> Result<SvdzNeed> {
    let rank = options.rank.unwrap_or(usize::MAX);
    Ok(match file {
        File::V1(p) => {
            if options.rank.is_none() || p.header.alpha {
                return Ok(SvdzNeed::Exactly(p.end));
            }
            let bs = usize::from(p.header.block_size);
            let mut end = header;
            for (plane, scales) in p.header.scales.iter().enumerate() {
                let blocks = rank.min(scales.len()).div_ceil(bs);
                if let Some(last) = blocks.checked_sub(1) {
                    let e = p.header.blocks[plane][last];
                    end = end.max(p.offsets[plane][last] as u64 + u64::from(e.stored));
                }
            }
            SvdzNeed::Exactly(end)
        }
        File::V2(p) => {
            if options.rank.is_none() || p.header.alpha {
                return Ok(SvdzNeed::Exactly(p.end));
            }
            let side_end = p.side_offset as u64 + u64::from(p.header.side.stored);
            if (head.len() as u64) < side_end {
                return Ok(SvdzNeed::AtLeast(side_end));
            }
            let side = codec::side(head, p)?;
            let bs = usize::from(p.header.block_size);
            let mut end = side_end;
            for (s, order) in header2::streams(&p.header, &side).iter().enumerate() {
                // The last component in file order that a tile keeps at this rank.
                if let Some(last) = order.iter().rposition(|&(_, _, i)| (i as usize) < rank) {
                    let b = last / bs;
                    let e = p.header.blocks[s][b].entry;
                    end = end.max(p.offsets[s][b] as u64 + u64::from(e.stored));
                }
            }
            SvdzNeed::Exactly(end)
        }
    })
}

/// Reads from `reader` the bytes a decode with `options` needs ([`svdz_bytes_needed`]), and no
/// more than `max_bytes` when given: the file, the prefix a rank needs, or the first
/// `max_bytes`. Stops early, without an error, where the file ends; [`decompress_prefix`] then judges
/// the bytes read.
pub fn read_svdz(
    mut reader: impl Read,
    options: &DecompressOptions,
    max_bytes: Option<u64>,
) -> Result<Vec<u8>> {
    let cap = max_bytes.unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    loop {
        let (target, exact) = match svdz_bytes_needed(&bytes, options)? {
            SvdzNeed::AtLeast(n) => (n.min(cap), false),
            SvdzNeed::Exactly(n) => (n.min(cap), true),
        };
        let want = target.saturating_sub(bytes.len() as u64);
        let got = (&mut reader)
            .take(want)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::input(format!("cannot read the .svdz file: {e}")))?;
        if exact || (got as u64) < want || bytes.len() as u64 >= cap {
            return Ok(bytes);
        }
    }
}

/// Decodes an `.svdz` file, or a prefix of it, and says what it used.
///
/// The header must be whole. Bytes that end before what the decode needs (see
/// [`svdz_bytes_needed`]) are an error unless `options.allow_truncated` is set; then each plane
/// gets the components the bytes hold completely, in the file's order (strongest first),
/// and the picture is the best those components give. A cut block's checksum cannot be
/// checked; everything before it is checked as in a whole file.
pub fn decompress_prefix(bytes: &[u8], options: &DecompressOptions) -> Result<Decompressed> {
    if options.rank == Some(0) {
        return Err(Error::parameter("the rank must be at least 1"));
    }
    let file = file::parse(bytes, &options.limits)?;
    let header = file::header_len(bytes).map_err(|_| Error::input(container::TRUNCATED))?;
    // `AtLeast` only where version 2's side block is cut: a rank needs all of it and more.
    let (SvdzNeed::Exactly(needed) | SvdzNeed::AtLeast(needed)) =
        self::needed(bytes, &file, header, options)?;
    let truncated = (bytes.len() as u64) < needed;
    if truncated && !options.allow_truncated {
        return Err(Error::input(format!(
            "{}: it ends at byte {} of {needed}",
            container::TRUNCATED,
            bytes.len()
        )));
    }
    let info = info_of(&file);
    let (planes, counts, alpha) = match &file {
        File::V1(p) => {
            let (planes, counts) = v1::decode(bytes, p, options.rank)?;
            (
                planes,
                counts,
                p.header.alpha_block.map(|e| (p.alpha_offset, e)),
            )
        }
        File::V2(p) => {
            let (planes, counts) = codec::decode(bytes, p, options.rank.unwrap_or(usize::MAX))?;
            (
                planes,
                counts,
                p.header.alpha_block.map(|e| (p.alpha_offset, e)),
            )
        }
    };
    let alpha_missing = alpha.is_some_and(|(offset, e)| {
        !matches!(
            container::held(bytes, offset, e.stored),
            container::Held::Whole(_)
        )
    });
    let planes = finish(bytes, planes, &info, alpha.filter(|_| !alpha_missing))?;
    let components = info
        .color
        .plane_names()
        .iter()
        .zip(counts)
        .map(|(&name, (used, of))| (name, used, of))
        .collect();
    Ok(Decompressed {
        info,
        planes,
        components,
        needed,
        truncated,
        alpha_missing,
    })
}

/// How many components [`decompress`] with `options` decodes per plane: each plane's rank
/// capped at `options.rank` in a global file, the sum over tiles of each tile's rank capped
/// at it in a tiled one.
pub fn decoded_components(
    bytes: &[u8],
    options: &DecompressOptions,
) -> Result<Vec<(&'static str, usize)>> {
    let cap = options.rank.unwrap_or(usize::MAX);
    let (color, counts): (StoredColor, Vec<usize>) =
        match file::parse_whole(bytes, &options.limits)? {
            File::V1(p) => (
                p.header.color,
                p.header.scales.iter().map(|s| s.len().min(cap)).collect(),
            ),
            File::V2(p) => (
                p.header.color,
                codec::side(bytes, &p)?
                    .iter()
                    .map(|plane| plane.iter().map(|g| g.len().min(cap)).sum())
                    .collect(),
            ),
        };
    Ok(color.plane_names().iter().copied().zip(counts).collect())
}

/// Whether `bytes` start with the `.svdz` signature.
pub fn is_svdz(bytes: &[u8]) -> bool {
    container::has_magic(bytes)
}

/// Reads and validates an `.svdz` header (blocks are not inflated).
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<SvdzInfo> {
    Ok(info_of(&file::parse_whole(bytes, limits)?))
}

/// What a parsed header says; `bytes` is the file's length as the header gives it.
fn info_of(file: &File) -> SvdzInfo {
    // The fields both versions' headers share.
    macro_rules! shared {
        ($h:expr) => {
            (
                $h.width,
                $h.height,
                $h.bit_depth,
                $h.color,
                $h.alpha,
                $h.block_size,
            )
        };
    }
    let ((width, height, bit_depth, color, alpha, block_size), counts): (_, Vec<usize>) = match file
    {
        File::V1(p) => (
            shared!(p.header),
            p.header.scales.iter().map(Vec::len).collect(),
        ),
        File::V2(p) => (
            shared!(p.header),
            p.header.counts.iter().map(|&k| k as usize).collect(),
        ),
    };
    // Version 1 is one global tile at 4:4:4.
    let info = SvdzInfo {
        width: width as usize,
        height: height as usize,
        bit_depth,
        color,
        alpha,
        ranks: color.plane_names().iter().copied().zip(counts).collect(),
        block_size: usize::from(block_size),
        bytes: file.end() as usize,
        version: 1,
        tile_size: width.max(height) as usize,
        tiles: 1,
        half_chroma: false,
        patches: false,
        patch_dct: false,
    };
    match file {
        File::V1(_) => info,
        File::V2(p) => SvdzInfo {
            version: 2,
            tile_size: p.header.tile as usize,
            tiles: if p.header.patches {
                1
            } else {
                p.header.grid(0).len()
            },
            half_chroma: p.header.half_chroma,
            patches: p.header.patches,
            patch_dct: p.header.square,
            ..info
        },
    }
}

/// Decodes an `.svdz` file to planes on the [0, 1] scale (unclipped; gray or R G B, plus
/// alpha when stored).
///
/// The header is validated against `options.limits` before anything is allocated, and
/// every block's checksum and length are checked; corrupt input gives an error, never a
/// panic.
pub fn decompress(bytes: &[u8], options: &DecompressOptions) -> Result<Planes<f32>> {
    decompress_prefix(bytes, options).map(|d| d.planes)
}

/// The decoded image from its output planes and the file's alpha block.
fn finish(
    bytes: &[u8],
    planes: Vec<Vec<f32>>,
    info: &SvdzInfo,
    alpha_block: Option<(usize, container::BlockEntry)>,
) -> Result<Planes<f32>> {
    let names: &[PlaneName] = if planes.len() == 1 {
        &[PlaneName::Gray]
    } else {
        &[PlaneName::R, PlaneName::G, PlaneName::B]
    };
    let alpha = match alpha_block {
        Some((offset, entry)) => {
            let raw = container::inflate(bytes, offset, entry)?;
            Some(Plane {
                name: PlaneName::Alpha,
                data: unpredict_alpha(&raw, info.bit_depth),
            })
        }
        None => None,
    };
    Ok(Planes {
        width: info.width,
        height: info.height,
        bit_depth: info.bit_depth,
        color: names
            .iter()
            .zip(planes)
            .map(|(&name, data)| Plane { name, data })
            .collect(),
        alpha,
    })
}
