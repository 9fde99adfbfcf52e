//! The bytes of a version 2 file: writing a quantised image (header, side block, blocks
//! of one interleaved stream, alpha), and decoding a file or a prefix of it.

use rayon::prelude::*;

use super::candidate::Candidate;
use super::dct::{Axis, Dct};
use super::entropy::Adapt;
use super::header::{self, Block, Header, Side};
use super::input::Input;
use super::quantised::Quantised;
use super::rebuild::rebuild;
use super::stream::{self, Vector};
use super::tiles::TileCode;
use crate::format::container::{self, BlockEntry};
use crate::{Error, Result};

/// Components per block of a tiled file. Each block restarts the range coder's models, so
/// few large blocks code best; a prefix still decodes inside a block.
const BLOCK_SIZE: u16 = 1024;

/// Components per block where each plane is one tile (the global and patch layouts): few
/// components with long vectors, so that `decompress --rank J` reads little more than the
/// J components it keeps. Measured at 35 dB on the shared photos against 1024: 0.2–0.4%
/// larger global files, patch files within 0.1%.
const ONE_TILE_BLOCK_SIZE: u16 = 32;

/// The file of a quantised image.
pub(super) fn write(c: &Candidate, q: &Quantised, input: &Input) -> Vec<u8> {
    let side: Side = q
        .codes
        .iter()
        .map(|plane| plane.iter().map(|t| t.g.clone()).collect())
        .collect();
    let side_bytes = header::encode_side(&side, Adapt::Dual);
    let mut header = Header {
        color: input.color,
        alpha: input.alpha.is_some(),
        half_chroma: c.half,
        patches: c.patch().is_some(),
        square: c.dct.is_square(),
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
        side_dual: true,
        blocks: Vec::new(),
        alpha_block: input.alpha.as_ref().map(|a| a.1),
    };
    let streams = header::streams(&header, &side);
    let size = usize::from(header.block_size);
    // Every block of every stream: (stream, components, samples coded).
    let jobs: Vec<(usize, &[Component], usize)> = streams
        .iter()
        .enumerate()
        .flat_map(|(s, order)| order.chunks(size).map(move |chunk| (s, chunk)))
        .map(|(s, chunk)| {
            let samples = chunk
                .iter()
                .map(|&(p, t, _)| {
                    let (_, h, _, w) = c.planes[usize::from(p)].grid.rect(t as usize);
                    h + w
                })
                .sum();
            (s, chunk, samples)
        })
        .collect();
    // The blocks are coded in parallel, the largest first: a few large blocks (a layout
    // of one tile per plane at 24 MP) then share the threads instead of one of them
    // finishing alone on the last large block.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&j| std::cmp::Reverse(jobs[j].2));
    let coded: Vec<std::sync::OnceLock<(Vec<u8>, Block)>> =
        jobs.iter().map(|_| std::sync::OnceLock::new()).collect();
    rayon::scope_fifo(|scope| {
        for &j in &order {
            let (job, coded) = (&jobs[j], &coded[j]);
            let header = &header;
            scope.spawn_fifo(move |_| {
                let _ = coded.set(encode_block(c, q, header, job.1));
            });
        }
    });
    let mut blocks: Vec<Vec<Vec<u8>>> = vec![Vec::new(); streams.len()];
    let mut entries: Vec<Vec<Block>> = vec![Vec::new(); streams.len()];
    for (job, coded) in jobs.iter().zip(coded) {
        let (bytes, block) = coded.into_inner().expect("every block is coded");
        blocks[job.0].push(bytes);
        entries[job.0].push(block);
    }
    header.blocks = entries;
    header.write(&side_bytes, &blocks, input.alpha.as_ref().map(|a| &a.0[..]))
}

/// A component of a stream: plane, tile, index in the tile.
type Component = (u8, u32, u32);

/// The coded block of `chunk`, components of `q` in file order.
fn encode_block(
    c: &Candidate,
    q: &Quantised,
    header: &Header,
    chunk: &[Component],
) -> (Vec<u8>, Block) {
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
            plane: p as u8,
        });
        vectors.push(Vector {
            q: &code.v[i * w..(i + 1) * w],
            g: code.g[i],
            dct: code.dct[i] & 2 != 0,
            stride: 0,
            plane: p as u8,
        });
    }
    let (bytes, coding, entry) = stream::encode(&vectors);
    (bytes, Block { coding, entry })
}

/// The side block of a parsed file, checked: each tile's codes.
pub(crate) fn side(bytes: &[u8], parsed: &header::Parsed) -> Result<Side> {
    let h = &parsed.header;
    let side_bytes = &bytes[parsed.side_offset..parsed.side_offset + h.side.stored as usize];
    if !cfg!(fuzzing) && crc32fast::hash(side_bytes) != h.side.crc {
        return Err(Error::input("corrupt .svdz side block: checksum mismatch"));
    }
    header::decode_side(side_bytes, h)
}

/// Decodes a parsed version 2 file, or a prefix of it, to output planes (gray or R G B,
/// unclipped) with at most `rank` components per tile; and per stored plane the components
/// decoded and those the whole file gives at `rank`.
///
/// A prefix gives each stream its components in file order up to the last one it holds
/// completely; each tile then has its first few, as the order keeps a tile's components
/// in sequence. Without the whole side block no component can be placed: every plane is
/// empty (and the whole file's count is the header's, uncapped).
pub(crate) fn decode(
    bytes: &[u8],
    parsed: &header::Parsed,
    rank: usize,
) -> Result<container::Decoded> {
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
    let square = (h.patches && h.square).then_some(h.tile as usize);
    let dcts: Vec<Dct> = grids
        .iter()
        .map(|g| Dct::new(g.lengths()).square(square))
        .collect();
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
    for ((order, blocks), offsets) in header::streams(h, &side)
        .iter()
        .zip(&h.blocks)
        .zip(&parsed.offsets)
    {
        let decoded: Vec<(Vec<i32>, Vec<bool>)> = order
            .par_chunks(bs)
            .zip(blocks)
            .zip(offsets)
            .map(|((chunk, block), &offset)| {
                let shape: Vec<stream::Shape> = chunk
                    .iter()
                    .flat_map(|&(plane, t, i)| {
                        let p = usize::from(plane);
                        let (_, th, _, tw) = grids[p].rect(t as usize);
                        let c = side[p][t as usize][i as usize];
                        [(th, c, h.stride(p), plane), (tw, c, 0, plane)]
                    })
                    .collect();
                let (mut out, mut kinds) = (Vec::new(), Vec::new());
                let (stored, cut) = match container::held(bytes, offset, block.entry.stored) {
                    container::Held::Whole(b) => (b, false),
                    container::Held::Cut(b) => (b, true),
                    container::Held::Missing => return Ok((out, kinds)),
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
                let too_long = chunk
                    .iter()
                    .flat_map(|&(p, _, _)| [(p, Axis::U), (p, Axis::V)])
                    .zip(&shape);
                if too_long
                    .zip(&kinds)
                    .any(|(((p, axis), s), &k)| k && !dcts[usize::from(p)].offers(s.0, axis))
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
        h.square,
        h.color,
        h.height as usize,
        h.width as usize,
        rank,
    )
}
