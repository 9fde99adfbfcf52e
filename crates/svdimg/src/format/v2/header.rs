//! The byte layout of an `.svdz` version 2 file (specified in `docs/FORMAT.md`): the
//! header with its block table and CRC-32, the side block (each tile's rank and its
//! components' codes), then the blocks of integer vectors and the alpha block.
//!
//! Parsing validates every field against [`Limits`] before anything sized by the file is
//! allocated, and checks that the table accounts for every byte of the file.

use super::entropy::{class, Adapt, Decoder, Encoder, Ints};
use super::tiles::{Grid, MAX_CODE};
use crate::format::color::StoredColor;
use crate::format::container::{self, BlockEntry, Reader, MAGIC};
use crate::{Error, Limits, Result};

pub(crate) const VERSION: u8 = 2;
/// The smallest tile side a file may use.
pub(crate) const MIN_TILE: u32 = 8;
/// A block coded with [`super::entropy`] (adaptive binary range coding).
pub(crate) const RANGE: u8 = 0;
/// A block of varints compressed with zstd, as in version 1.
pub(crate) const ZSTD: u8 = 1;
/// A block range-coded as [`RANGE`] with the two-speed model ([`Adapt::Dual`]): what the
/// encoder writes since 2026-12-04; [`RANGE`] blocks still decode.
pub(crate) const RANGE2: u8 = 2;
/// A block range-coded as [`RANGE2`], its patch coefficients also in the context of each
/// patch's size in the block's earlier vectors (see `stream`): what the encoder writes since
/// 2026-12-05 for blocks of patch coefficients (a small one only where it is smaller).
pub(crate) const RANGE3: u8 = 3;
/// Bytes of one block-table entry: coding, stored length, inflated length, CRC-32.
pub(crate) const ENTRY: u64 = 13;
/// Contexts of the side block's ranks: the class of the rank of the tile to the left.
const RANK_CONTEXTS: usize = 8;

/// One block's coding and place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block {
    pub coding: u8,
    pub entry: BlockEntry,
}

/// Everything before the side block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    pub color: StoredColor,
    pub alpha: bool,
    /// Cb and Cr are stored at half the width and height.
    pub half_chroma: bool,
    /// Each plane is stored as its matrix of `tile`×`tile` patches (one tile).
    pub patches: bool,
    /// With `patches`: a v-vector stored as DCT coefficients holds its patch's 2D DCT
    /// (flag bit 5), not the 1D DCT of its entries.
    pub square: bool,
    pub bit_depth: u8,
    pub width: u32,
    pub height: u32,
    /// The nominal tile side; at least the image's larger side means one tile.
    pub tile: u32,
    /// Components per block.
    pub block_size: u16,
    /// The deblocking filter's strength (0: off); see [`super::deblock`].
    pub deblock: u8,
    /// Per plane, the quantisation step Δ.
    pub deltas: Vec<f32>,
    /// Per plane, the number of components over all its tiles.
    pub counts: Vec<u32>,
    pub side: BlockEntry,
    /// Whether the components of all planes form one stream, strongest first (flag bit 3);
    /// otherwise each plane is a stream of its own.
    pub interleaved: bool,
    /// Whether the side block is coded with the two-speed model of coding 2 (flag bit 4);
    /// otherwise with coding 0's.
    pub side_dual: bool,
    /// Per stream ([`stream_counts`]), ⌈count / block_size⌉ blocks.
    pub blocks: Vec<Vec<Block>>,
    pub alpha_block: Option<BlockEntry>,
}

/// A parsed file: its header and where each block starts.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub header: Header,
    pub side_offset: usize,
    pub offsets: Vec<Vec<usize>>,
    pub alpha_offset: usize,
    /// The file's length: the header's, plus the side block's and every block's.
    pub end: u64,
}

/// Each tile's components: per plane, per tile, the codes g.
pub(crate) type Side = Vec<Vec<Vec<u8>>>;

impl Header {
    /// The grid of tiles over what plane `p` stores: the plane, or its patch matrix.
    pub(crate) fn grid(&self, p: usize) -> Grid {
        plane_grid(
            self.height,
            self.width,
            self.tile,
            self.half_chroma,
            self.patches,
            p,
        )
    }

    /// The row length of plane `p`'s u-vector entries where they form an image (the patch
    /// layout: patches per row); 0 otherwise.
    pub(crate) fn stride(&self, p: usize) -> usize {
        if !self.patches {
            return 0;
        }
        let (_, n) = plane_size(self.height, self.width, self.half_chroma && p > 0);
        n.div_ceil(self.tile as usize)
    }

    /// Blocks in file order: block 0 of every stream, then block 1, ...
    fn order(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let most = self.blocks.iter().map(Vec::len).max().unwrap_or(0);
        (0..most).flat_map(move |b| {
            (0..self.blocks.len()).filter_map(move |p| (b < self.blocks[p].len()).then_some((p, b)))
        })
    }

    /// The header, the side block, the blocks (`blocks[p][b]`) and the alpha block.
    pub(crate) fn write(
        &self,
        side: &[u8],
        blocks: &[Vec<Vec<u8>>],
        alpha: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(self.color.code());
        out.push(
            u8::from(self.alpha)
                | (u8::from(self.half_chroma) << 1)
                | (u8::from(self.patches) << 2)
                | (u8::from(self.interleaved) << 3)
                | (u8::from(self.side_dual) << 4)
                | (u8::from(self.square) << 5),
        );
        out.push(self.bit_depth);
        for x in [self.width, self.height, self.tile] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(&self.block_size.to_le_bytes());
        out.push(self.deblock);
        for d in &self.deltas {
            out.extend_from_slice(&d.to_le_bytes());
        }
        for c in &self.counts {
            out.extend_from_slice(&c.to_le_bytes());
        }
        let put = |out: &mut Vec<u8>, e: &BlockEntry| {
            for x in [e.stored, e.raw, e.crc] {
                out.extend_from_slice(&x.to_le_bytes());
            }
        };
        put(&mut out, &self.side);
        for b in self.blocks.iter().flatten() {
            out.push(b.coding);
            put(&mut out, &b.entry);
        }
        if let Some(a) = &self.alpha_block {
            put(&mut out, a);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(side);
        for (p, b) in self.order() {
            out.extend_from_slice(&blocks[p][b]);
        }
        if let Some(a) = alpha {
            out.extend_from_slice(a);
        }
        out
    }
}

/// Plane size for an m×n image, halved (rounding up) for 4:2:0 chroma.
pub(crate) fn plane_size(height: u32, width: u32, half: bool) -> (usize, usize) {
    let (m, n) = (height as usize, width as usize);
    if half {
        (m.div_ceil(2), n.div_ceil(2))
    } else {
        (m, n)
    }
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::input(format!("corrupt .svdz header: {what}"))
}

/// The most bytes a zstd block of `components` components can inflate to, with tiles of
/// at most `side` rows and columns: a kind byte, a mode byte and at most five bytes per
/// entry for each of its two vectors.
fn raw_bound(components: u64, side: u64) -> u64 {
    components * (4 + crate::format::vectors::MAX_VARINT as u64 * 2 * side)
}

/// The header's length from its first bytes (`planes` colour planes), or `Err(n)` when at
/// least `n` bytes are needed to say. Nothing is validated: [`parse`] does that.
pub(crate) fn header_len(bytes: &[u8], planes: usize) -> std::result::Result<u64, u64> {
    let fixed = 27 + 8 * planes;
    if bytes.len() < fixed {
        return Err(fixed as u64);
    }
    let alpha = u64::from(bytes[10] & 1);
    let block_size = u64::from(u16::from_le_bytes([bytes[24], bytes[25]])).max(1);
    let counts: Vec<u32> = (0..planes)
        .map(|p| {
            let at = 27 + 4 * planes + 4 * p;
            u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4"))
        })
        .collect();
    let blocks: u64 = stream_counts(&counts, bytes[10] & 8 != 0)
        .iter()
        .map(|&k| u64::from(k).div_ceil(block_size))
        .sum();
    Ok(fixed as u64 + 12 + ENTRY * blocks + 12 * alpha + 4)
}

/// Parses and validates a version 2 header; `r` stands after the version byte.
pub(crate) fn parse(bytes: &[u8], mut r: Reader, limits: &Limits) -> Result<Parsed> {
    let color = StoredColor::from_code(r.u8()?).ok_or_else(|| corrupt("unknown colour model"))?;
    let flags = r.u8()?;
    if flags & !63 != 0 {
        return Err(corrupt(format!("unknown flags {flags:#04x}")));
    }
    let (alpha, half_chroma, patches) = (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
    let (interleaved, side_dual) = (flags & 8 != 0, flags & 16 != 0);
    let square = flags & 32 != 0;
    if square && !patches {
        return Err(corrupt("2D DCT patch vectors without the patch layout"));
    }
    if half_chroma && color.luma().is_none() {
        return Err(corrupt("half-size chroma without YCbCr"));
    }
    let bit_depth = r.u8()?;
    if bit_depth != 8 && bit_depth != 16 {
        return Err(corrupt(format!("bit depth {bit_depth} is not 8 or 16")));
    }
    let (width, height, tile) = (r.u32()?, r.u32()?, r.u32()?);
    let block_size = r.u16()?;
    let deblock = r.u8()?;
    if width == 0 || height == 0 {
        return Err(corrupt(format!(
            "the image has no pixels ({width}x{height})"
        )));
    }
    if patches && !super::patches::SIDES.contains(&tile) {
        return Err(corrupt(format!("patch size {tile} is not 4 to 16")));
    }
    if !patches && tile < MIN_TILE {
        return Err(corrupt(format!("tile size {tile} is below {MIN_TILE}")));
    }
    if !(1..=container::MAX_BLOCK_SIZE).contains(&block_size) {
        return Err(corrupt(format!("block size {block_size}")));
    }
    let pixels = container::check_pixels(width, height, limits)?;
    let names = color.plane_names();
    let mut deltas = Vec::with_capacity(names.len());
    for name in names {
        let d = f32::from_le_bytes(r.take()?);
        if !(d.is_finite() && d > 0.0) {
            return Err(corrupt(format!(
                "plane {name} has a step that is not positive"
            )));
        }
        deltas.push(d);
    }
    let mut counts = Vec::with_capacity(names.len());
    let mut memory = 4 * (names.len() as u64 + 1) * pixels;
    for (p, name) in names.iter().enumerate() {
        let k = r.u32()?;
        let grid = plane_grid(height, width, tile, half_chroma, patches, p);
        // No tile has more components than its shorter side.
        let most = grid.len() as u64 * grid.side() as u64;
        if u64::from(k) > most {
            return Err(corrupt(format!(
                "plane {name} has {k} components, more than its tiles can hold"
            )));
        }
        // The decoded vectors, twice (as decoded, then by tile), as i32.
        memory += 2 * 4 * u64::from(k) * 2 * grid.side() as u64;
        counts.push(k);
    }
    if memory > limits.max_alloc {
        return Err(Error::limit(format!(
            "decoding needs {memory} bytes, over the limit of {} bytes",
            limits.max_alloc
        )));
    }
    let bs = u64::from(block_size);
    let streams = stream_counts(&counts, interleaved);
    let block_counts: Vec<u64> = streams.iter().map(|&k| u64::from(k).div_ceil(bs)).collect();
    let header_len = r.pos as u64
        + 12
        + ENTRY * block_counts.iter().sum::<u64>()
        + if alpha { 12 } else { 0 }
        + 4;
    if header_len > bytes.len() as u64 {
        return Err(Error::input(container::TRUNCATED));
    }
    let header_len = header_len as usize;
    let stored_crc = u32::from_le_bytes(bytes[header_len - 4..header_len].try_into().expect("4"));
    if !cfg!(fuzzing) && crc32fast::hash(&bytes[..header_len - 4]) != stored_crc {
        return Err(corrupt("checksum mismatch"));
    }
    let entry = |r: &mut Reader| -> Result<BlockEntry> {
        Ok(BlockEntry {
            stored: r.u32()?,
            raw: r.u32()?,
            crc: r.u32()?,
        })
    };
    let side = entry(&mut r)?;
    if side.raw != 0 {
        return Err(corrupt("the side block has an inflated length"));
    }
    let mut blocks = Vec::with_capacity(streams.len());
    let mut largest = 0u64;
    let side_of = |p| plane_grid(height, width, tile, half_chroma, patches, p).side() as u64;
    for (s, (&k, &count)) in streams.iter().zip(&block_counts).enumerate() {
        // The longest vector a block of this stream can hold.
        let side_len = if interleaved {
            (0..counts.len()).map(side_of).max().unwrap_or(0)
        } else {
            side_of(s)
        };
        let mut plane = Vec::with_capacity(count as usize);
        for b in 0..count {
            let coding = r.u8()?;
            let e = entry(&mut r)?;
            let components = (u64::from(k) - b * bs).min(bs);
            match coding {
                RANGE | RANGE2 | RANGE3 if e.raw == 0 => {}
                ZSTD if u64::from(e.raw) <= raw_bound(components, side_len) => {
                    largest = largest.max(u64::from(e.raw));
                }
                RANGE | RANGE2 | RANGE3 | ZSTD => {
                    return Err(corrupt(format!(
                        "a block claims {} bytes inflated, more than its components take",
                        e.raw
                    )))
                }
                c => return Err(corrupt(format!("unknown block coding {c}"))),
            }
            plane.push(Block { coding, entry: e });
        }
        blocks.push(plane);
    }
    // Blocks are inflated in parallel: count them all.
    let inflated: u64 = blocks
        .iter()
        .flatten()
        .map(|b| u64::from(b.entry.raw))
        .sum();
    if memory + inflated.max(largest) > limits.max_alloc {
        return Err(Error::limit(format!(
            "decoding needs {} bytes, over the limit of {} bytes",
            memory + inflated,
            limits.max_alloc
        )));
    }
    let alpha_block = if alpha {
        Some(container::alpha_entry(entry(&mut r)?, pixels, bit_depth)?)
    } else {
        None
    };
    let header = Header {
        color,
        alpha,
        half_chroma,
        patches,
        square,
        bit_depth,
        width,
        height,
        tile,
        block_size,
        deblock,
        deltas,
        counts,
        side,
        interleaved,
        side_dual,
        blocks,
        alpha_block,
    };
    let mut pos = header_len as u64;
    let side_offset = pos as usize;
    pos += u64::from(side.stored);
    let mut offsets: Vec<Vec<usize>> = header.blocks.iter().map(|b| vec![0; b.len()]).collect();
    for (p, b) in header.order() {
        offsets[p][b] = pos as usize;
        pos += u64::from(header.blocks[p][b].entry.stored);
    }
    let alpha_offset = pos as usize;
    pos += header.alpha_block.map_or(0, |e| u64::from(e.stored));
    container::check_end(pos, bytes.len())?;
    Ok(Parsed {
        end: pos,
        header,
        side_offset,
        offsets,
        alpha_offset,
    })
}

/// The grid over what plane `p` stores: its tiles, or its patch matrix as one tile.
fn plane_grid(height: u32, width: u32, tile: u32, half: bool, patches: bool, p: usize) -> Grid {
    let (m, n) = plane_size(height, width, half && p > 0);
    if patches {
        let (rows, cols) = super::patches::matrix_size(m, n, tile as usize);
        Grid::new(rows, cols, rows.max(cols))
    } else {
        Grid::new(m, n, tile as usize)
    }
}

/// Codes every tile's rank and component codes: per plane, per tile in raster order, the
/// rank (in the context of the left tile's), then the first code and the non-negative
/// drops from each code to the next.
pub(crate) fn encode_side(side: &Side, adapt: Adapt) -> Vec<u8> {
    let mut e = Encoder::new(adapt);
    let (mut ranks, mut codes) = (Ints::new(RANK_CONTEXTS), Ints::new(2));
    for plane in side {
        let mut left = 0;
        for g in plane {
            ranks.encode(&mut e, class(left as u32, RANK_CONTEXTS), g.len() as i32);
            left = g.len();
            for (i, &c) in g.iter().enumerate() {
                let x = if i == 0 { c } else { g[i - 1] - c };
                codes.encode(&mut e, usize::from(i > 0), i32::from(x));
            }
        }
    }
    e.finish()
}

/// Reads [`encode_side`]'s output, checking each rank against its tile and each plane's
/// total against the header.
pub(crate) fn decode_side(bytes: &[u8], header: &Header) -> Result<Side> {
    let bad = |what: String| Error::input(format!("corrupt .svdz side block: {what}"));
    let adapt = if header.side_dual {
        Adapt::Dual
    } else {
        Adapt::Single
    };
    let mut d = Decoder::new(bytes, adapt);
    let (mut ranks, mut codes) = (Ints::new(RANK_CONTEXTS), Ints::new(2));
    let mut side = Vec::with_capacity(header.counts.len());
    for (p, &count) in header.counts.iter().enumerate() {
        let grid = header.grid(p);
        let mut plane = Vec::with_capacity(grid.len());
        let (mut left, mut total) = (0usize, 0u64);
        for t in 0..grid.len() {
            let (_, h, _, w) = grid.rect(t);
            let k = ranks.decode(&mut d, class(left as u32, RANK_CONTEXTS))?;
            if k < 0 || k as usize > h.min(w) {
                return Err(bad(format!("tile {t} has rank {k}")));
            }
            total += k as u64;
            if total > u64::from(count) {
                return Err(bad("more components than the header counts".into()));
            }
            let mut g = Vec::with_capacity(k as usize);
            for i in 0..k as usize {
                let x = codes.decode(&mut d, usize::from(i > 0))?;
                let c = if i == 0 { x } else { i32::from(g[i - 1]) - x };
                if !(0..=MAX_CODE as i32).contains(&c) || (i > 0 && x < 0) {
                    return Err(bad(format!("tile {t} has a bad component code")));
                }
                g.push(c as u8);
            }
            left = k as usize;
            plane.push(g);
        }
        if total != u64::from(count) {
            return Err(bad("fewer components than the header counts".into()));
        }
        side.push(plane);
    }
    Ok(side)
}

/// Components per stream: all planes' in one, or each plane's.
pub(crate) fn stream_counts(counts: &[u32], interleaved: bool) -> Vec<u32> {
    if interleaved {
        vec![counts.iter().fold(0u32, |a, &k| a.saturating_add(k))]
    } else {
        counts.to_vec()
    }
}

/// What a unit of squared error in each stored plane costs in the picture, for the order
/// of an interleaved file: Y (or R G B, or gray) 1, Cb 1.159, Cr 0.900 (a JPEG's Y Cb Cr:
/// 1.086 and 0.825), four times that for a half-size plane (each of its samples covers four
/// pixels).
pub(crate) fn order_weights(color: StoredColor, half_chroma: bool) -> Vec<f64> {
    let half = if half_chroma { 4.0 } else { 1.0 };
    match color {
        StoredColor::YCbCr => vec![1.0, 1.159 * half, 0.900 * half],
        StoredColor::YCbCr601 => vec![1.0, 1.086 * half, 0.825 * half],
        c => vec![1.0; c.plane_names().len()],
    }
}

/// The weight of a component of code `g` in a plane of step `delta` and weight `w`:
/// `w · Δ² · 2^(g/2)`, about the squared error it removes. Computed with exact powers of
/// two and one multiplication by √2 for odd codes, so every reader orders alike.
fn order_key(w: f64, delta: f32, g: u8) -> f64 {
    let d = f64::from(delta);
    // 2^(g/2) for even g, from its bits: exact.
    let power = f64::from_bits((1023 + u64::from(g / 2)) << 52);
    let mut key = w * d * d * power;
    if g % 2 == 1 {
        key *= std::f64::consts::SQRT_2;
    }
    key
}

/// Each stream's components in order, as (plane, tile, index in the tile). Each plane's
/// own order is [`component_order`]; an interleaved file merges the planes' orders into
/// one by decreasing [`order_key`] (ties to the lower plane), so the first blocks hold the
/// strongest components of the whole picture.
pub(crate) fn streams(header: &Header, side: &Side) -> Vec<Vec<(u8, u32, u32)>> {
    let planes: Vec<Vec<(u8, u32, u32)>> = side
        .iter()
        .enumerate()
        .map(|(p, plane)| {
            component_order(plane)
                .into_iter()
                .map(|(t, i)| (p as u8, t, i))
                .collect()
        })
        .collect();
    if !header.interleaved {
        return planes;
    }
    let weights = order_weights(header.color, header.half_chroma);
    let key = |&(p, t, i): &(u8, u32, u32)| {
        let p = usize::from(p);
        order_key(
            weights[p],
            header.deltas[p],
            side[p][t as usize][i as usize],
        )
    };
    let mut heads = vec![0usize; planes.len()];
    let mut merged = Vec::with_capacity(planes.iter().map(Vec::len).sum());
    loop {
        let mut best: Option<(usize, f64)> = None;
        for (p, order) in planes.iter().enumerate() {
            if let Some(c) = order.get(heads[p]) {
                let k = key(c);
                if best.is_none_or(|(_, b)| k > b) {
                    best = Some((p, k));
                }
            }
        }
        let Some((p, _)) = best else {
            break;
        };
        merged.push(planes[p][heads[p]]);
        heads[p] += 1;
    }
    vec![merged]
}

/// The order of a plane's components in its blocks: by decreasing code, then tile, then
/// index within the tile (a tile's codes never increase, so each tile's components stay
/// in order).
pub(crate) fn component_order(plane: &[Vec<u8>]) -> Vec<(u32, u32)> {
    let mut order: Vec<(u8, u32, u32)> = plane
        .iter()
        .enumerate()
        .flat_map(|(t, g)| {
            g.iter()
                .enumerate()
                .map(move |(i, &c)| (c, t as u32, i as u32))
        })
        .collect();
    order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    order.into_iter().map(|(_, t, i)| (t, i)).collect()
}

/// Parses a file of this version that its own writer made, to check what it wrote.
pub(crate) fn parse_written(bytes: &[u8]) -> Result<Parsed> {
    container::parse_written(bytes, VERSION, parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_blocks_of_either_model_decode_by_the_flag() {
        // A gray 40×24 picture in 16-pixel tiles: 3 × 2 tiles, ranks up to 8 or 16.
        let side: Side = vec![vec![
            vec![40, 31, 30, 22],
            vec![],
            vec![55, 54, 12, 11, 9, 3, 0],
            vec![18],
            vec![61, 60, 60, 20],
            vec![7, 2],
        ]];
        let count = side[0].iter().map(Vec::len).sum::<usize>() as u32;
        let mut header = Header {
            color: StoredColor::Gray,
            alpha: false,
            half_chroma: false,
            patches: false,
            square: false,
            bit_depth: 8,
            width: 40,
            height: 24,
            tile: 16,
            block_size: 64,
            deblock: 0,
            deltas: vec![0.01],
            counts: vec![count],
            side: BlockEntry::of(&[], 0),
            interleaved: true,
            side_dual: false,
            blocks: Vec::new(),
            alpha_block: None,
        };
        for adapt in [Adapt::Single, Adapt::Dual] {
            let bytes = encode_side(&side, adapt);
            header.side_dual = adapt == Adapt::Dual;
            assert_eq!(decode_side(&bytes, &header).unwrap(), side, "{adapt:?}");
            // Read with the other model, the bytes give other codes or an error.
            header.side_dual = !header.side_dual;
            assert!(decode_side(&bytes, &header).map_or(true, |s| s != side));
        }
    }
}
