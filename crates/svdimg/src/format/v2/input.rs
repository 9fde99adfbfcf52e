//! What the version 2 encoder needs of the image, prepared once.

use std::borrow::Cow;

use crate::format::color::StoredColor;
use crate::format::container::BlockEntry;
use crate::format::measure::LevelPlane;

/// What the encoder needs of the input, prepared once.
pub(crate) struct Input<'a> {
    pub color: StoredColor,
    pub stored: Vec<Vec<f32>>,
    pub levels: &'a [LevelPlane],
    pub reference: Vec<Cow<'a, [f32]>>,
    pub m: usize,
    pub n: usize,
    pub max: f64,
    pub bit_depth: u8,
    pub alpha: Option<(Vec<u8>, BlockEntry)>,
}

/// Images above this many pixels choose their tiling and chroma size on a crop of four pieces.
pub(super) const CROP_FROM: usize = 1 << 21;
