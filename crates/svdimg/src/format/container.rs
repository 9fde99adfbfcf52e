//! What both versions of an `.svdz` file share at the byte level: the signature, the
//! block table's entries and their checksums, reading fields, zstd frames, the alpha block,
//! and what a prefix of the file holds of a block (specified in `docs/FORMAT.md`).

use crate::picture::quantize;

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::input(format!("corrupt .svdz header: {what}"))
}
use crate::{Error, Result};

/// The first eight bytes: like PNG's, they catch text-mode and 7-bit transfers.
pub(crate) const MAGIC: [u8; 8] = *b"\x89SVDZ\r\n\x1a";

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

/// Reads little-endian fields from the front of a slice; running out means truncation.
pub(crate) struct Reader<'a> {
    pub(crate) bytes: &'a [u8],
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

/// That the blocks, ending at `pos`, end where the file of `len` bytes does.
/// Checks that no bytes follow the end `end` the header gives. Fewer bytes than that are
/// a prefix of the file, which the decoder judges ([`super::decode`]).
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

/// zstd's compression level: 19 is the highest of its normal range.
const ZSTD_LEVEL: i32 = 19;

pub(crate) fn zstd_compress(raw: &[u8]) -> Vec<u8> {
    // Compressing an in-memory buffer cannot fail except by running out of memory.
    zstd::bulk::compress(raw, ZSTD_LEVEL).expect("zstd compresses in memory")
}

/// The alpha plane as samples at the source depth, each minus its left neighbour
/// (wrapping), zstd-compressed; and its table entry.
pub(crate) fn alpha_block(alpha: &[f32], bit_depth: u8) -> (Vec<u8>, BlockEntry) {
    let max = if bit_depth == 8 { 255.0 } else { 65535.0 };
    let samples: Vec<u16> = alpha.iter().map(|&a| quantize(a, max) as u16).collect();
    let mut raw = Vec::with_capacity(samples.len() * usize::from(bit_depth / 8));
    let mut prev = 0u16;
    // Rows are not marked: the left neighbour of a row's first pixel is the previous row's
    // last, which is as good a guess.
    for &a in &samples {
        let d = a.wrapping_sub(prev);
        prev = a;
        if bit_depth == 8 {
            raw.push(d as u8);
        } else {
            raw.extend_from_slice(&d.to_le_bytes());
        }
    }
    let packed = zstd_compress(&raw);
    let entry = BlockEntry::of(&packed, raw.len());
    (packed, entry)
}

/// Undoes [`alpha_block`]'s left prediction.
pub(crate) fn unpredict_alpha(raw: &[u8], bit_depth: u8) -> Vec<f32> {
    let mut prev = 0u16;
    let mut next = |d: u16| {
        prev = prev.wrapping_add(d);
        prev
    };
    if bit_depth == 8 {
        raw.iter()
            .map(|&d| f32::from(next(u16::from(d)) as u8) / 255.0)
            .collect()
    } else {
        raw.chunks_exact(2)
            .map(|c| f32::from(next(u16::from_le_bytes([c[0], c[1]]))) / 65535.0)
            .collect()
    }
}

/// What either version's decoder gives: the output planes (gray or R G B, unclipped), and
/// per stored plane the components decoded and those the whole file gives at the rank.
pub(crate) type Decoded = (Vec<Vec<f32>>, Vec<(usize, usize)>);

/// Parses a file its own writer made with the version's `parse` (no limits: the writer
/// made it), to check what it wrote.
pub(crate) fn parse_written<T>(
    bytes: &[u8],
    version: u8,
    parse: fn(&[u8], Reader, &crate::Limits) -> Result<T>,
) -> Result<T> {
    let limits = crate::Limits {
        max_pixels: u64::MAX,
        max_alloc: u64::MAX,
    };
    if !bytes.starts_with(&MAGIC) || bytes.get(MAGIC.len()) != Some(&version) {
        return Err(Error::input("not a file of this version"));
    }
    let r = Reader {
        bytes,
        pos: MAGIC.len() + 1,
    };
    parse(bytes, r, &limits)
}

/// The image's pixels, checked against the limit before anything sized by them is made.
pub(crate) fn check_pixels(width: u32, height: u32, limits: &crate::Limits) -> Result<u64> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(Error::limit(format!(
            "the image is {width}x{height} = {pixels} pixels, over the limit of {} pixels",
            limits.max_pixels
        )));
    }
    Ok(pixels)
}
