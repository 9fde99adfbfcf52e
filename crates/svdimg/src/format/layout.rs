//! The byte layout of an `.svdz` file (specified in `docs/FORMAT.md`): a header with the
//! block table and its own CRC-32, then the blocks.
//!
//! Parsing validates every field against [`Limits`] before anything sized by the file is
//! allocated, and checks that the table accounts for every byte of the file.

use crate::format::StoredColor;
use crate::{Error, Limits, Result};

/// The first eight bytes: like PNG's, they catch text-mode and 7-bit transfers.
pub(crate) const MAGIC: [u8; 8] = *b"\x89SVDZ\r\n\x1a";
/// The format version of this layout.
pub(crate) const VERSION: u8 = 1;
/// Bytes of one block-table entry.
const ENTRY: usize = 12;
/// The most components one block may hold.
pub(crate) const MAX_BLOCK_SIZE: u16 = 4096;

/// Where one compressed block is and what it inflates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockEntry {
    /// Compressed (zstd) length in bytes.
    pub stored: u32,
    /// Inflated length in bytes.
    pub raw: u32,
    /// CRC-32 of the compressed bytes.
    pub crc: u32,
}

impl BlockEntry {
    pub(crate) fn of(stored: &[u8], raw_len: usize) -> Self {
        BlockEntry {
            stored: stored.len() as u32,
            raw: raw_len as u32,
            crc: crc32fast::hash(stored),
        }
    }
}

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

/// Reads little-endian fields from the front of a slice; running out means truncation.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pub(crate) pos: usize,
}

impl Reader<'_> {
    pub(crate) fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let end = self.pos + N;
        let field = self.bytes.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(field.try_into().expect("N bytes"))
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take::<1>()?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take()?))
    }
}

/// The start of the message for a file cut short.
pub(crate) const TRUNCATED: &str = "the .svdz file is truncated";

fn truncated() -> Error {
    Error::input(TRUNCATED)
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::input(format!("corrupt .svdz header: {what}"))
}

/// That the blocks, ending at `pos`, end where the file of `len` bytes does.
/// Checks that no bytes follow the end `end` the header gives. Fewer bytes than that are
/// a prefix of the file, which the decoder judges ([`super::prefix`]).
pub(crate) fn check_end(end: u64, len: usize) -> Result<()> {
    if (len as u64) > end {
        return Err(Error::input(format!(
            "corrupt .svdz file: {} bytes after the last block",
            len as u64 - end
        )));
    }
    Ok(())
}

/// How much of a block a prefix of the file holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Held<'a> {
    /// All of its bytes.
    Whole(&'a [u8]),
    /// Its first bytes: the file is cut inside it.
    Cut(&'a [u8]),
    /// None of it.
    Missing,
}

/// The part of the block at `offset` with `stored` bytes that `bytes` holds.
pub(crate) fn held(bytes: &[u8], offset: usize, stored: u32) -> Held<'_> {
    let end = offset.saturating_add(stored as usize);
    if end <= bytes.len() {
        Held::Whole(&bytes[offset..end])
    } else if offset < bytes.len() {
        Held::Cut(&bytes[offset..])
    } else {
        Held::Missing
    }
}

/// What the start of a zstd block inflates to (at most its table's length): the frame's
/// complete inner blocks. Nothing can be checked; the caller uses what parses.
pub(crate) fn inflate_prefix(stored: &[u8], entry: BlockEntry) -> Vec<u8> {
    use std::io::Read;
    let mut raw = Vec::new();
    if let Ok(d) = zstd::stream::read::Decoder::with_buffer(stored) {
        // The error at the cut is expected: what came before it stays in `raw`.
        let _ = d.take(u64::from(entry.raw)).read_to_end(&mut raw);
    }
    raw
}

/// The alpha block's table entry, checked: it inflates to the samples, m·n at the depth.
pub(crate) fn alpha_entry(e: BlockEntry, pixels: u64, bit_depth: u8) -> Result<BlockEntry> {
    let alpha_bytes = pixels * u64::from(bit_depth / 8);
    if u64::from(e.raw) != alpha_bytes {
        return Err(corrupt(format!(
            "the alpha block inflates to {} bytes, not {alpha_bytes}",
            e.raw
        )));
    }
    Ok(e)
}

/// Whether `bytes` start with the `.svdz` magic.
pub(crate) fn has_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// The most bytes a block of `components` components of an m×n plane can inflate to: a
/// mode byte and at most five bytes per entry for each of its two vectors.
fn raw_bound(components: u64, m: u64, n: u64) -> u64 {
    components * (2 + super::vectors::MAX_VARINT as u64 * (m + n))
}

/// A parsed file of either version.
#[derive(Debug)]
pub(crate) enum File {
    V1(Parsed),
    V2(super::header2::Parsed),
}

/// Parses and validates the header of `bytes`; see the module documentation.
/// The header's length from the first bytes of a file of either version, or `Err(n)`
/// when `bytes` is too short to say and at least `n` are needed to. Nothing is validated:
/// [`parse`] does that.
pub(crate) fn header_len(bytes: &[u8]) -> std::result::Result<u64, u64> {
    let version = *bytes.get(MAGIC.len()).ok_or(MAGIC.len() as u64 + 3)?;
    let planes = match bytes.get(9) {
        Some(&c) => StoredColor::from_code(c).map_or(1, |c| c.plane_names().len()),
        None => return Err(MAGIC.len() as u64 + 3),
    };
    let u32_at = |at: usize| -> u64 {
        u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")))
    };
    match version {
        VERSION => {
            let fixed = 22 + 4 * planes;
            if bytes.len() < fixed {
                return Err(fixed as u64);
            }
            let alpha = u64::from(bytes[10] == 1);
            let block_size = u64::from(u16::from_le_bytes([bytes[20], bytes[21]])).max(1);
            let ranks: Vec<u64> = (0..planes).map(|p| u32_at(22 + 4 * p)).collect();
            let blocks: u64 = ranks.iter().map(|k| k.div_ceil(block_size)).sum();
            let scales: u64 = ranks.iter().sum();
            Ok(fixed as u64 + 4 * scales + ENTRY as u64 * (blocks + alpha) + 4)
        }
        super::header2::VERSION => {
            let fixed = 27 + 8 * planes;
            if bytes.len() < fixed {
                return Err(fixed as u64);
            }
            let alpha = u64::from(bytes[10] & 1);
            let block_size = u64::from(u16::from_le_bytes([bytes[24], bytes[25]])).max(1);
            let counts: Vec<u32> = (0..planes)
                .map(|p| u32_at(27 + 4 * planes + 4 * p) as u32)
                .collect();
            let blocks: u64 = super::header2::stream_counts(&counts, bytes[10] & 8 != 0)
                .iter()
                .map(|&k| u64::from(k).div_ceil(block_size))
                .sum();
            Ok(fixed as u64 + 12 + super::header2::ENTRY * blocks + 12 * alpha + 4)
        }
        // Any length: parse names the unknown version.
        _ => Ok(MAGIC.len() as u64 + 1),
    }
}

impl File {
    /// The file's length as its header gives it.
    pub(crate) fn end(&self) -> u64 {
        match self {
            File::V1(p) => p.end,
            File::V2(p) => p.end,
        }
    }
}

/// [`parse`], for callers that need the whole file: fewer bytes than the header gives are
/// an error.
pub(crate) fn parse_whole(bytes: &[u8], limits: &Limits) -> Result<File> {
    let file = parse(bytes, limits)?;
    if file.end() > bytes.len() as u64 {
        return Err(Error::input(format!(
            "{TRUNCATED}: it ends at byte {} of {}",
            bytes.len(),
            file.end()
        )));
    }
    Ok(file)
}

/// Parses and validates the header of either version. The bytes may end before the
/// blocks do (a prefix); the header must be whole.
pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Result<File> {
    if !has_magic(bytes) {
        return Err(
            if MAGIC.starts_with(&bytes[..bytes.len().min(MAGIC.len())]) {
                truncated()
            } else {
                Error::input("not an .svdz file (the first bytes are not the .svdz signature)")
            },
        );
    }
    let mut r = Reader {
        bytes,
        pos: MAGIC.len(),
    };
    match r.u8()? {
        VERSION => parse_v1(bytes, r, limits).map(File::V1),
        super::header2::VERSION => super::header2::parse(bytes, r, limits).map(File::V2),
        version => Err(Error::unsupported(format!(
            "unsupported .svdz version {version} (this build reads versions 1 and 2)"
        ))),
    }
}

/// Parses a version 1 header; `r` stands after the version byte.
fn parse_v1(bytes: &[u8], mut r: Reader, limits: &Limits) -> Result<Parsed> {
    let color = StoredColor::from_code(r.u8()?).ok_or_else(|| corrupt("unknown colour model"))?;
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
    let pixels = m * n;
    if pixels > limits.max_pixels {
        return Err(Error::limit(format!(
            "the image is {width}x{height} = {pixels} pixels, over the limit of {} pixels",
            limits.max_pixels
        )));
    }
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
        return Err(truncated());
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

/// The bytes of one block, inflated, after checking its CRC-32 and inflated length.
pub(crate) fn inflate(bytes: &[u8], offset: usize, entry: BlockEntry) -> Result<Vec<u8>> {
    let stored = &bytes[offset..offset + entry.stored as usize];
    check_crc(stored, entry)?;
    inflate_checked(stored, entry)
}

/// A block's CRC-32 against its table entry (skipped under `cfg(fuzzing)`).
pub(crate) fn check_crc(stored: &[u8], entry: BlockEntry) -> Result<()> {
    if !cfg!(fuzzing) && crc32fast::hash(stored) != entry.crc {
        return Err(Error::input("corrupt .svdz block: checksum mismatch"));
    }
    Ok(())
}

/// A zstd block inflated to exactly its table's length.
pub(crate) fn inflate_checked(stored: &[u8], entry: BlockEntry) -> Result<Vec<u8>> {
    let raw = zstd::bulk::decompress(stored, entry.raw as usize)
        .map_err(|e| Error::input(format!("corrupt .svdz block: {e}")))?;
    if raw.len() != entry.raw as usize {
        return Err(Error::input(format!(
            "corrupt .svdz block: it inflates to {} bytes, not {}",
            raw.len(),
            entry.raw
        )));
    }
    Ok(raw)
}
