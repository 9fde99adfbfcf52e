//! The layout chosen on a crop: an image above 3/4 MP tries its layouts on four pieces of
//! itself first, and then only the best of them (and those near it, up to 2 MP) on the
//! whole.

use super::candidate::Shape;
use super::input::{Input, CROP_FROM};
use super::search::{self, Rules};
use crate::format::measure::LevelPlane;
use crate::format::options::{CompressOptions, Target};
use crate::Result;

/// The crop's side above [`CROP_FROM`] pixels.
const LARGE: usize = 1024;
/// Images above this many pixels and up to [`CROP_FROM`] choose on a crop of this side.
const MID_FROM: usize = 3 << 18;
/// The crop's side up to [`CROP_FROM`] pixels: a quarter to a third of the image.
const MID: usize = 512;
/// On the crop, a candidate after the first (32-pixel tiles, full chroma) must make a file
/// this much smaller to be chosen: the crop is a proxy, and a near tie there can be a clear
/// loss on the whole image (measured: 64-pixel tiles 0.3% smaller than 32 on the centre
/// crop of a 6000×4000 mosaic, and 5% larger on the whole of it).
const CROP_MARGIN: f64 = 0.01;
/// Up to [`CROP_FROM`] pixels, the layouts whose files on the crop are within this share of
/// the best one's are made on the whole image too (the crop is a quarter to a third of the
/// image, and near layouts often change places on the whole). Measured on 12 photos of 1-2
/// MP at 30/35/40 dB: the crop's best alone made a larger file in 8 of 36 cases (up to
/// 13%); the layouts within 2.7% of it, and the best tiles where patches win (see
/// [`with_near`]), were enough for all 36 files to come out the same as from trying every
/// layout on the whole image.
const NEAR: f64 = 0.04;

/// The crop's side for an m×n image, if it chooses on a crop. For a byte budget only above
/// [`CROP_FROM`] pixels: below, every file fills the budget and the crop's ranking by PSNR
/// missed the best layout (measured: 0.24 dB lower on a 1.2 MP mosaic at 30 kB). Not where
/// the crop would hold less than half of side² pixels (a strip 8 pixels high: a crop of
/// 8×512 chose a layout 22% larger than the best on the 100000×8 strip).
pub(super) fn side(m: usize, n: usize, target: Target) -> Option<usize> {
    let side = match m * n {
        p if p > CROP_FROM => LARGE,
        p if p > MID_FROM && matches!(target, Target::Psnr(_)) => MID,
        _ => return None,
    };
    (2 * m.min(side) * n.min(side) >= side * side).then_some(side)
}

/// A layout's file on the crop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Proxy {
    /// Shape and half chroma.
    pub layout: (Shape, bool),
    /// Its size scaled to the whole image.
    pub bytes: usize,
    /// The model's offset from the measurement at its file (see [`search::Made::bias`]).
    pub bias: f64,
}

/// The layouts to make on the whole image, from the crop's `ranked` files of an image of
/// `pixels`: the best, and up to [`CROP_FROM`] pixels those within [`NEAR`] of it and, where
/// patches are best, the best tiles (the patches' one basis has less to cover on the crop:
/// on an upscaled photo at 40 dB they made a file 9% smaller than 32-pixel tiles there and
/// 13% larger on the whole).
pub(super) fn with_near(ranked: &[Proxy], pixels: usize) -> Vec<(Shape, bool)> {
    let Some(best) = ranked.first() else {
        return Vec::new();
    };
    if pixels > CROP_FROM {
        return vec![best.layout];
    }
    let tiles = ranked
        .iter()
        .position(|r| matches!(r.layout.0, Shape::Tiles(_)))
        .filter(|_| matches!(best.layout.0, Shape::Patches(_)));
    let near = best.bytes as f64 * (1.0 + NEAR);
    ranked
        .iter()
        .enumerate()
        .filter(|&(i, r)| i == 0 || Some(i) == tiles || r.bytes as f64 <= near)
        .map(|(_, r)| r.layout)
        .collect()
}

/// Where along an axis of `len` pixels a crop of side `side` has its pieces: (start, length)
/// of each. An axis of at least `side` pixels gives two pieces of `side / 2`, centred at a
/// quarter and at three quarters of it; a shorter axis gives the whole of it.
fn pieces(len: usize, side: usize) -> Vec<(usize, usize)> {
    let half = side / 2;
    if len < side {
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

/// The files `candidates` make on a proxy of the image, the best first (see
/// [`search::ranked`]; a later candidate must be smaller by `CROP_MARGIN` to come first).
/// The proxy is the four `side/2`-square pieces centred in the image's quadrants, side by
/// side (`side`² pixels in all). The pieces' sides are multiples of every tile and patch
/// side tried, so no tile straddles two of them. Four places stand for the image better
/// than its centre alone (measured on a 6000×4000 mosaic of photos: the centre crop chose
/// 64-pixel tiles, whose file was 4.9% larger than with 32-pixel tiles, which the four
/// pieces choose).
pub(super) fn ranked(
    input: &Input,
    options: &CompressOptions,
    candidates: &[(Shape, bool)],
    side: usize,
) -> Result<Vec<Proxy>> {
    let (rows, cols) = (pieces(input.m, side), pieces(input.n, side));
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
    // Up to 2 MP every layout finishes its search on the crop, so that the near ones are
    // known (see [`NEAR`]).
    let rules = Rules {
        probe: false,
        margin: CROP_MARGIN,
        made: None,
        prune: side == LARGE,
        biases: &[],
    };
    let files = if candidates.len() > 2 && candidates[0].0 == candidates[1].0 {
        search::chroma_first(&crop, options, candidates, &[], rules)?
    } else {
        search::ranked(&crop, options, candidates, rules)?
    };
    // The crop's bytes scaled to the whole image.
    let scale = (input.m * input.n) as f64 / (h * w) as f64;
    Ok(files
        .iter()
        .map(|f| Proxy {
            layout: f.layout(),
            bytes: (f.bytes.len() as f64 * scale) as usize,
            bias: f.bias,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::v2::search::{PATCH, TILE_SIZES};

    #[test]
    fn crop_pieces_are_apart_inside_and_whole_tiles() {
        for (len, side) in [1, 700, 1023, 1024, 1500, 2049, 4000, 6000]
            .into_iter()
            .flat_map(|len| [(len, LARGE), (len, MID)])
        {
            let pieces = pieces(len, side);
            let total: usize = pieces.iter().map(|p| p.1).sum();
            assert_eq!(total, len.min(side), "{len}");
            for w in pieces.windows(2) {
                assert!(w[0].0 + w[0].1 <= w[1].0, "{len}: {pieces:?}");
            }
            for &(start, piece) in &pieces {
                assert!(start + piece <= len, "{len}: {pieces:?}");
                if len >= side {
                    assert!(TILE_SIZES.iter().all(|t| piece % t == 0) && piece % PATCH == 0);
                }
            }
        }
        let plane: Vec<u16> = (0..64).collect();
        // An 8×8 plane, rows 1–2 and 5, columns 0 and 6–7.
        let got = gather(&plane, 8, &[(1, 2), (5, 1)], &[(0, 1), (6, 2)]);
        assert_eq!(got, [8, 14, 15, 16, 22, 23, 40, 46, 47]);
    }

    #[test]
    fn the_whole_image_makes_the_crops_best_and_those_near_it() {
        let (t32, t16, t64, p8) = (
            (Shape::Tiles(32), false),
            (Shape::Tiles(16), false),
            (Shape::Tiles(64), true),
            (Shape::Patches(8), false),
        );
        let mid = MID_FROM + 1;
        assert!(with_near(&[], mid).is_empty());
        let proxies = |files: &[((Shape, bool), usize)]| -> Vec<Proxy> {
            files
                .iter()
                .map(|&(layout, bytes)| Proxy {
                    layout,
                    bytes,
                    bias: 0.0,
                })
                .collect()
        };
        // Within 4% of the best, whatever the order they were ranked in.
        let ranked = proxies(&[(t32, 1000), (t16, 1030), (t64, 1041), (p8, 1100)]);
        assert_eq!(with_near(&ranked, mid), [t32, t16]);
        // Above 2 MP the best alone.
        assert_eq!(with_near(&ranked, CROP_FROM + 1), [t32]);
        // Patches best: the best tiles too, however far behind.
        let ranked = proxies(&[(p8, 1000), (t64, 1200), (t32, 1300)]);
        assert_eq!(with_near(&ranked, mid), [p8, t64]);
        assert_eq!(with_near(&ranked, CROP_FROM + 1), [p8]);
        let psnr = Target::Psnr(35.0);
        assert_eq!(side(1000, mid.div_ceil(1000), psnr), Some(MID));
        assert_eq!(side(1000, mid.div_ceil(1000), Target::MaxBytes(1000)), None);
        assert_eq!(side(1024, MID_FROM / 1024, psnr), None);
        assert_eq!(side(2048, 2048, Target::MaxBytes(1000)), Some(LARGE));
        // A crop of a strip would hold too little of it.
        assert_eq!(side(8, 100_000, psnr), None);
        assert_eq!(side(100_000, 8, psnr), None);
        assert_eq!(side(8, 300_000, psnr), None);
        assert_eq!(side(300, 3000, psnr), Some(MID));
        assert_eq!(side(600, 4000, psnr), Some(LARGE));
        assert_eq!(side(500, 5000, psnr), None);
    }
}
