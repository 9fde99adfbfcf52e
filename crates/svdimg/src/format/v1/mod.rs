//! `.svdz` version 1: one global basis per plane, the first k components `σᵢ uᵢ vᵢᵀ` of
//! each, quantised with one step per plane and a least-squares scale per component, coded
//! as varints and zstd (see the module documentation of [`super`] and `docs/FORMAT.md`).

pub(crate) mod header;
mod rate;
mod stored;

use std::borrow::Cow;

use faer::Par;
use rayon::prelude::*;

use crate::format::color::{to_output, StoredColor};
use crate::format::container::{self};
use crate::format::measure::LevelPlane;
use crate::format::options::{CompressOptions, Compressed, Target};
use crate::format::vectors;
use crate::picture::quantize;
use crate::{metrics, Error, Factors, Method, Planes, Result};
use rate::{search_bytes, search_psnr, Found, Search};
use stored::{Stored, BLOCK_SIZE};

/// The extrapolated rank for a PSNR gets 1/NEED_MARGIN more, for the quantisation noise
/// the extrapolation leaves out.
const NEED_MARGIN: usize = 6;

/// Compresses to version 1: the global factors of `stored_planes` (the planes in `color`),
/// from `given` or computed, quantised for `options.target`.
#[allow(clippy::too_many_arguments)]
pub(super) fn compress(
    planes: &Planes<f32>,
    given: Option<&[Factors<f32>]>,
    options: &CompressOptions,
    color: StoredColor,
    stored_planes: Vec<Vec<f32>>,
    max: f64,
    alpha: Option<(Vec<u8>, container::BlockEntry)>,
) -> Result<Compressed> {
    let (m, n) = (planes.height, planes.width);
    let short = m.min(n);
    let gray_of_colour = color == StoredColor::Gray && planes.color.len() == 3;
    let reference: Vec<&[f32]> = if gray_of_colour {
        vec![&stored_planes[0]]
    } else {
        planes.color.iter().map(|p| &p.data[..]).collect()
    };
    let levels: Vec<LevelPlane> = reference.iter().map(|r| LevelPlane::of(r, max)).collect();
    let totals: Vec<f64> = stored_planes
        .iter()
        .map(|p| metrics::frobenius_norm(p).powi(2))
        .collect();
    let header = |ranks: &[Stored]| header::Header {
        color,
        alpha: alpha.is_some(),
        bit_depth: planes.bit_depth,
        width: n as u32,
        height: m as u32,
        block_size: BLOCK_SIZE,
        scales: ranks.iter().map(|s| s.scales.clone()).collect(),
        blocks: Vec::new(),
        alpha_block: alpha.as_ref().map(|a| a.1),
    };
    let encode = |stored: &[Stored]| -> Vec<u8> {
        let mut h = header(stored);
        let (blocks, entries): (Vec<_>, Vec<_>) = stored.iter().map(Stored::blocks).unzip();
        h.blocks = entries;
        h.write(&blocks, alpha.as_ref().map(|a| &a.0[..]))
    };

    // A truncated SVD is grown until the target is decided by components it has.
    let mut k = match (options.target, options.method) {
        (Target::Rank(k), _) => k.min(short),
        (Target::Ranks(r), _) => r.iter().copied().max().unwrap_or(0).min(short),
        (_, Method::Exact) => short,
        (_, Method::Auto) if m * n <= 1 << 20 => short,
        _ => short.min(64.max(short / 16)),
    };
    let (stored, search) = loop {
        let method = match options.method {
            Method::Auto if k == short => Method::Exact,
            Method::Auto => Method::Randomized,
            other => other,
        };
        let factors: Cow<'_, [Factors<f32>]> = match given {
            Some(f) => Cow::Borrowed(f),
            None => Cow::Owned(
                (0..stored_planes.len())
                    .into_par_iter()
                    .map(|p| {
                        let a = faer::MatRef::from_row_major_slice(&stored_planes[p], m, n);
                        Factors::compute_truncated(a, k, method, &options.randomized, options.par)
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        let search = Search {
            color,
            weights: color.weights(),
            complete: factors.iter().all(|f| f.rank() >= short),
            factors,
            reference: reference.clone(),
            levels: &levels,
            m,
            n,
            max,
            par: options.par,
            step_factor: options.step_factor,
        };
        // With too few components for a PSNR, how many it seems to need.
        let mut needed = 0;
        let decided = match options.target {
            Target::Rank(k) => Some(search.rank_plan(&[k; 3], &totals)),
            Target::Ranks(r) => Some(search.rank_plan(&r, &totals)),
            Target::Energy(f) => search.energy_threshold(f, &totals).map(|t| search.plan(t)),
            Target::Psnr(db) => match search_psnr(&search, db)? {
                Found::Plan(plan) => Some(plan),
                Found::Short(best) => {
                    needed = search.rank_needed(&totals, best, db);
                    None
                }
            },
            Target::MaxBytes(budget) => search_bytes(&search, budget, &encode)?,
        };
        if let Some(plan) = decided {
            break (search.quantize(&plan), search);
        }
        // Double, or go straight to the extrapolated need (with a margin for the
        // quantisation noise it leaves out) when that is further.
        k = (2 * k).max(needed + needed / NEED_MARGIN).min(short);
    };
    let bytes = encode(&stored);
    // Measure what a reader of the file gets.
    let (decoded, _) = decode(&bytes, &header::parse_written(&bytes)?, None)?;
    let rounded: Vec<Vec<f32>> = decoded
        .iter()
        .map(|p| p.iter().map(|&x| (quantize(x, max) / max) as f32).collect())
        .collect();
    let psnr_db = search.psnr(&decoded.iter().map(|p| &p[..]).collect::<Vec<_>>());
    // The search measured this same decode; the check keeps the promise explicit.
    if let Target::Psnr(db) = options.target {
        if psnr_db < db {
            return Err(Error::new(
                crate::ErrorKind::Numerical,
                format!("the decoded file reaches {psnr_db:.4} dB, below the {db} dB target"),
            ));
        }
    }
    let ssim = rounded
        .iter()
        .zip(&search.reference)
        .map(|(d, r)| metrics::ssim(r, d, n, m))
        .sum::<f64>()
        / rounded.len() as f64;
    Ok(Compressed {
        bytes,
        color,
        ranks: color
            .plane_names()
            .iter()
            .zip(&stored)
            .map(|(&name, s)| (name, s.rank()))
            .collect(),
        psnr_db,
        ssim,
        version: 1,
        tile_size: m.max(n),
        tiles: 1,
        half_chroma: false,
        patch_dct: false,
        patches: false,
    })
}

/// Decodes a parsed version 1 file, or a prefix of it, to output planes with at most
/// `rank` components per plane; and per plane the components decoded and those the whole
/// file gives at `rank`. A prefix gives each plane the components its whole blocks hold,
/// and those of a cut block that inflate completely.
pub(super) fn decode(
    bytes: &[u8],
    parsed: &header::Parsed,
    rank: Option<usize>,
) -> Result<container::Decoded> {
    let h = &parsed.header;
    let (m, n) = (h.height as usize, h.width as usize);
    let bs = usize::from(h.block_size);
    let mut stored = Vec::with_capacity(h.scales.len());
    let mut counts = Vec::with_capacity(h.scales.len());
    for (p, scales) in h.scales.iter().enumerate() {
        let k = rank.unwrap_or(usize::MAX).min(scales.len());
        let mut plane = Stored {
            m,
            n,
            scales: Vec::new(),
            u: Vec::with_capacity(k * m),
            v: Vec::with_capacity(k * n),
        };
        let mut arrived = 0;
        for b in 0..k.div_ceil(bs) {
            let components = b * bs..((b + 1) * bs).min(scales.len());
            let (offset, entry) = (parsed.offsets[p][b], h.blocks[p][b]);
            match container::held(bytes, offset, entry.stored) {
                container::Held::Whole(_) => {
                    let raw = container::inflate(bytes, offset, entry)?;
                    let mut input = &raw[..];
                    for _ in components.clone() {
                        vectors::decode(&mut input, m, &mut plane.u)?;
                        vectors::decode(&mut input, n, &mut plane.v)?;
                    }
                    if !input.is_empty() {
                        return Err(Error::input(format!(
                            "corrupt .svdz block: {} bytes left over",
                            input.len()
                        )));
                    }
                    arrived = components.end;
                }
                container::Held::Cut(cut) => {
                    let raw = container::inflate_prefix(cut, entry);
                    let mut input = &raw[..];
                    for _ in components {
                        let (u, v) = (plane.u.len(), plane.v.len());
                        let whole = vectors::decode(&mut input, m, &mut plane.u).is_ok()
                            && vectors::decode(&mut input, n, &mut plane.v).is_ok();
                        if !whole {
                            plane.u.truncate(u);
                            plane.v.truncate(v);
                            break;
                        }
                        arrived += 1;
                    }
                    break;
                }
                container::Held::Missing => break,
            }
        }
        let k = k.min(arrived);
        plane.scales = scales[..k].to_vec();
        plane.u.truncate(k * m);
        plane.v.truncate(k * n);
        counts.push((k, rank.unwrap_or(usize::MAX).min(scales.len())));
        stored.push(plane);
    }
    let planes: Vec<Vec<f32>> = stored
        .par_iter()
        .map(|s| s.reconstruct(Par::rayon(0)))
        .collect();
    Ok((to_output(planes, h.color), counts))
}
