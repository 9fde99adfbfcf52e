//! One plane of a layout, factored: its grid and data, the tiles' σ (and the u formed so
//! far), and the sums the error model needs.

use std::borrow::Cow;

use super::input::Input;
use super::tiles::{Grid, TileSvd};

/// One plane ready to quantise.
#[derive(Clone)]
pub(super) struct Plane<'a> {
    /// The grid of tiles over what is stored: the plane, or its patch matrix.
    pub(super) grid: Grid,
    pub(super) data: Cow<'a, [f32]>,
    pub(super) svds: Vec<TileSvd>,
    /// Squared RGB error per unit of squared error in the plane.
    pub(super) weight: f64,
    /// The kept σ, ascending, and the prefix sums of σ².
    pub(super) sorted: Vec<f32>,
    pub(super) prefix: Vec<f64>,
    /// The energy of every tile beyond its kept components.
    pub(super) tail: f64,
    /// The σ below which the tiles' u are not formed yet (0 when all are).
    pub(super) limit: f32,
}

impl<'a> Plane<'a> {
    /// A factored plane: its σ sorted, with the prefix sums and tail the model needs.
    /// `limit`: the σ below which its tiles' u are not formed yet.
    pub(super) fn new(
        grid: Grid,
        data: Cow<'a, [f32]>,
        svds: Vec<TileSvd>,
        weight: f64,
        limit: f32,
    ) -> Self {
        let mut sorted: Vec<f32> = svds.iter().flat_map(|s| s.s.iter().copied()).collect();
        sorted.sort_unstable_by(f32::total_cmp);
        let mut prefix = Vec::with_capacity(sorted.len() + 1);
        prefix.push(0.0);
        for &s in &sorted {
            prefix.push(prefix.last().unwrap() + f64::from(s).powi(2));
        }
        let tail = svds.iter().map(|s| s.tail).sum();
        Plane {
            grid,
            data,
            svds,
            weight,
            sorted,
            prefix,
            tail,
            limit,
        }
    }
}

/// A plane as it is stored, before factoring: its grid over the data (the plane, at half
/// size for 4:2:0 chroma, or its patch matrix), its weight, and its size.
pub(super) struct Prepared<'a> {
    pub(super) grid: Grid,
    pub(super) data: Cow<'a, [f32]>,
    pub(super) weight: f64,
    pub(super) pm: usize,
    pub(super) pn: usize,
}

/// The tiles' components far below the 8-bit rounding noise never matter.
pub(super) fn tile_floor(input: &Input, grid: &Grid) -> f32 {
    (0.1 / input.max.max(255.0) * (grid.side() as f64) / 12f64.sqrt()) as f32
}
