//! The decoded planes of a file's codes: what the decoder makes of them, and what the
//! encoder measures its trials against.

use super::dct::Dct;
use super::deblock;
use super::patches;
use super::tiles::{self, Grid, TileCode};
use crate::format::color::{double_chroma, to_output, StoredColor};

/// The output planes (gray or R G B, full size) of a file's codes.
#[allow(clippy::too_many_arguments)]
pub(super) fn rebuild(
    codes: &[Vec<TileCode>],
    grids: &[Grid],
    deltas: &[f32],
    half: bool,
    strength: u8,
    patch: Option<usize>,
    square: bool,
    color: StoredColor,
    m: usize,
    n: usize,
    rank: usize,
) -> Vec<Vec<f32>> {
    let dct = Dct::new(grids.iter().flat_map(Grid::lengths)).square(patch.filter(|_| square));
    let planes = codes
        .iter()
        .zip(grids)
        .zip(deltas)
        .enumerate()
        .map(|(p, ((c, g), &d))| {
            let mut plane = tiles::assemble(c, g, d, &dct, rank);
            deblock::deblock(&mut plane, 0, g, deblock::alpha(strength, d));
            if let Some(side) = patch {
                let (pm, pn) = if half && p > 0 {
                    (m.div_ceil(2), n.div_ceil(2))
                } else {
                    (m, n)
                };
                plane = patches::from_matrix(&plane, pm, pn, side);
            }
            if half && p > 0 {
                double_chroma(&plane, m, n)
            } else {
                plane
            }
        })
        .collect();
    to_output(planes, color)
}
