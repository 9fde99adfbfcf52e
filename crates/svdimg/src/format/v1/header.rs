//! The header of an `.svdz` version 1 file (specified in `docs/FORMAT.md`): fixed fields,
//! ranks, scales and the block table with its own CRC-32, then the blocks.
//!
//! Parsing validates every field against [`Limits`] before anything sized by the file is
//! allocated, and checks that no bytes follow the last block.

use crate::format::color::StoredColor;
use crate::format::container::{
    self, alpha_entry, check_end, BlockEntry, Reader, MAGIC, MAX_BLOCK_SIZE, TRUNCATED,
};
use crate::{Error, Limits, Result};

/// The format version of this layout.
pub(crate) const VERSION: u8 = 1;

/// Bytes of one block-table entry.
const ENTRY: usize = 12;

/// Everything before the blocks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    pub color: StoredColor,
    pub alpha: bool,
    pub bit_depth: u8,
    pub width: u32,
    pub height: u32,
    /// Components per block.
    pub block_size: u16,
    /// Per plane, one scale per stored component (its length is the plane's rank).
    pub scales: Vec<Vec<f32>>,
    /// Per plane, ⌈rank / block_size⌉ blocks.
    pub blocks: Vec<Vec<BlockEntry>>,
    /// The alpha block, when there is alpha.
    pub alpha_block: Option<BlockEntry>,
}

/// A parsed file: its header and where each block starts.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub header: Header,
    /// Per plane, the byte offset of each block.
    pub offsets: Vec<Vec<usize>>,
    pub alpha_offset: usize,
    /// The file's length: the header's, plus every block's.
    pub end: u64,
}

impl Header {
    fn planes(&self) -> usize {
        self.color.plane_names().len()
    }

    /// The blocks in file order: block 0 of every plane, then block 1, and so on, so that a
    /// prefix of the file holds the first components of every plane. Alpha comes last.
    fn order(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let most = self.blocks.iter().map(Vec::len).max().unwrap_or(0);
        (0..most).flat_map(move |b| {
            (0..self.planes()).filter_map(move |p| (b < self.blocks[p].len()).then_some((p, b)))
        })
    }

    /// Writes the header followed by the blocks (`blocks[p][b]`, then `alpha`).
    pub(crate) fn write(&self, blocks: &[Vec<Vec<u8>>], alpha: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(self.color.code());
        out.push(u8::from(self.alpha));
        out.push(self.bit_depth);
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.block_size.to_le_bytes());
        for s in &self.scales {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        }
        for s in self.scales.iter().flatten() {
            out.extend_from_slice(&s.to_le_bytes());
        }
        for e in self.blocks.iter().flatten().chain(&self.alpha_block) {
            for x in [e.stored, e.raw, e.crc] {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        for (p, b) in self.order() {
            out.extend_from_slice(&blocks[p][b]);
        }
        if let Some(a) = alpha {
            out.extend_from_slice(a);
        }
        out
    }
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::input(format!("corrupt .svdz header: {what}"))
}

/// The most bytes a block of `components` components of an m×n plane can inflate to: a
/// mode byte and at most five bytes per entry for each of its two vectors.
fn raw_bound(components: u64, m: u64, n: u64) -> u64 {
    components * (2 + crate::format::vectors::MAX_VARINT as u64 * (m + n))
}

/// Parses a version 1 header; `r` stands after the version byte.
/// Parses and validates a version 1 header; `r` stands after the version byte.
pub(crate) fn parse(bytes: &[u8], mut r: Reader, limits: &Limits) -> Result<Parsed> {
    let color = StoredColor::from_code(r.u8()?)
        .filter(|&c| c != StoredColor::YCbCr601)
        .ok_or_else(|| corrupt("unknown colour model"))?;
    let alpha = match r.u8()? {
        0 => false,
        1 => true,
        f => return Err(corrupt(format!("unknown flags {f:#04x}"))),
    };
    let bit_depth = r.u8()?;
    if bit_depth != 8 && bit_depth != 16 {
        return Err(corrupt(format!("bit depth {bit_depth} is not 8 or 16")));
    }
    let (width, height) = (r.u32()?, r.u32()?);
    let block_size = r.u16()?;
    if width == 0 || height == 0 {
        return Err(corrupt(format!(
            "the image has no pixels ({width}x{height})"
        )));
    }
    if !(1..=MAX_BLOCK_SIZE).contains(&block_size) {
        return Err(corrupt(format!("block size {block_size}")));
    }
    let (m, n) = (u64::from(height), u64::from(width));
    let pixels = container::check_pixels(width, height, limits)?;
    let names = color.plane_names();
    let mut ranks = Vec::with_capacity(names.len());
    for name in names {
        let k = r.u32()?;
        if u64::from(k) > m.min(n) {
            return Err(corrupt(format!(
                "plane {name} has rank {k}, more than min(width, height) = {}",
                m.min(n)
            )));
        }
        ranks.push(u64::from(k));
    }
    // Decoding needs the planes and the scaled factors in f32.
    let memory =
        4 * (names.len() as u64 + 1) * pixels + ranks.iter().map(|k| 4 * k * (m + n)).sum::<u64>();
    if memory > limits.max_alloc {
        return Err(Error::limit(format!(
            "decoding needs {memory} bytes, over the limit of {} bytes",
            limits.max_alloc
        )));
    }
    let bs = u64::from(block_size);
    let block_counts: Vec<u64> = ranks.iter().map(|k| k.div_ceil(bs)).collect();
    let entries = block_counts.iter().sum::<u64>() + u64::from(alpha);
    let header_len = r.pos as u64 + 4 * ranks.iter().sum::<u64>() + ENTRY as u64 * entries + 4;
    if header_len > bytes.len() as u64 {
        return Err(Error::input(TRUNCATED));
    }
    let header_len = header_len as usize;
    let stored_crc = u32::from_le_bytes(bytes[header_len - 4..header_len].try_into().expect("4"));
    if !cfg!(fuzzing) && crc32fast::hash(&bytes[..header_len - 4]) != stored_crc {
        return Err(corrupt("checksum mismatch"));
    }
    let mut scales = Vec::with_capacity(ranks.len());
    for (name, &k) in names.iter().zip(&ranks) {
        let mut s = Vec::with_capacity(k as usize);
        for _ in 0..k {
            let x = f32::from_le_bytes(r.take()?);
            if !x.is_finite() {
                return Err(corrupt(format!(
                    "plane {name} has a scale that is not finite"
                )));
            }
            s.push(x);
        }
        scales.push(s);
    }
    let entry = |r: &mut Reader, bound: u64| -> Result<BlockEntry> {
        let e = BlockEntry {
            stored: r.u32()?,
            raw: r.u32()?,
            crc: r.u32()?,
        };
        if u64::from(e.raw) > bound {
            return Err(corrupt(format!(
                "a block claims {} bytes inflated, more than the {bound} it can hold",
                e.raw
            )));
        }
        Ok(e)
    };
    let mut blocks = Vec::with_capacity(ranks.len());
    for (&k, &count) in ranks.iter().zip(&block_counts) {
        let mut plane = Vec::with_capacity(count as usize);
        for b in 0..count {
            let components = (k - b * bs).min(bs);
            plane.push(entry(&mut r, raw_bound(components, m, n))?);
        }
        blocks.push(plane);
    }
    // One inflated block is held at a time, next to the planes.
    let largest = blocks
        .iter()
        .flatten()
        .map(|e| u64::from(e.raw))
        .max()
        .unwrap_or(0);
    if memory + largest > limits.max_alloc {
        return Err(Error::limit(format!(
            "decoding needs {} bytes, over the limit of {} bytes",
            memory + largest,
            limits.max_alloc
        )));
    }
    let alpha_block = if alpha {
        Some(alpha_entry(entry(&mut r, u64::MAX)?, pixels, bit_depth)?)
    } else {
        None
    };
    let header = Header {
        color,
        alpha,
        bit_depth,
        width,
        height,
        block_size,
        scales,
        blocks,
        alpha_block,
    };
    // The blocks must account for the rest of the file, byte for byte.
    let mut offsets: Vec<Vec<usize>> = header.blocks.iter().map(|b| vec![0; b.len()]).collect();
    let mut pos = header_len as u64;
    for (p, b) in header.order() {
        offsets[p][b] = pos as usize;
        pos += u64::from(header.blocks[p][b].stored);
    }
    let alpha_offset = pos as usize;
    pos += header.alpha_block.map_or(0, |e| u64::from(e.stored));
    check_end(pos, bytes.len())?;
    Ok(Parsed {
        header,
        offsets,
        alpha_offset,
        end: pos,
    })
}

/// The header's length from its first bytes (`planes` colour planes), or `Err(n)` when at
/// least `n` bytes are needed to say. Nothing is validated: [`parse`] does that.
pub(crate) fn header_len(bytes: &[u8], planes: usize) -> std::result::Result<u64, u64> {
    let fixed = 22 + 4 * planes;
    if bytes.len() < fixed {
        return Err(fixed as u64);
    }
    let alpha = u64::from(bytes[10] == 1);
    let block_size = u64::from(u16::from_le_bytes([bytes[20], bytes[21]])).max(1);
    let ranks: Vec<u64> = (0..planes)
        .map(|p| {
            u64::from(u32::from_le_bytes(
                bytes[22 + 4 * p..26 + 4 * p].try_into().expect("4"),
            ))
        })
        .collect();
    let blocks: u64 = ranks.iter().map(|k| k.div_ceil(block_size)).sum();
    let scales: u64 = ranks.iter().sum();
    Ok(fixed as u64 + 4 * scales + ENTRY as u64 * (blocks + alpha) + 4)
}

/// Parses a file of this version that its own writer made, to check what it wrote.
pub(crate) fn parse_written(bytes: &[u8]) -> Result<Parsed> {
    container::parse_written(bytes, VERSION, parse)
}
