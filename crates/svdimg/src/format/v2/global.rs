//! The global layout's probe: whether one basis per plane may reach the target, and how
//! many components it takes.

use std::borrow::Cow;

use super::input::{Input, CROP_FROM};
use super::tiles::{self, TileSvd};
use crate::format::color::{halve, StoredColor};
use crate::format::options::{CompressOptions, Layout, Target};
use crate::Result;

/// The rank of the randomized SVD that decides whether the global layout is tried.
pub(super) const GLOBAL_RANK: usize = 48;

/// Components of a global layout: `GLOBAL_RANK` when the encoder tries it on its own
/// (`Auto`); when asked for, the exact SVD up to 4 megapixels and 256 above.
pub(super) fn global_rank(layout: Layout, m: usize, n: usize) -> usize {
    match layout {
        Layout::Auto => GLOBAL_RANK.min(m.min(n)),
        _ if m * n <= 1 << 22 => m.min(n),
        _ => 256.min(m.min(n)),
    }
}

/// Whether a global layout might reach the PSNR target: false when the energy of the
/// first plane beyond `GLOBAL_RANK` components already costs more than the target allows.
/// Above a megapixel it is judged on the plane at half size (which has less detail, so it
/// errs towards trying).
pub(super) fn global_may_reach(
    input: &Input,
    plane: &[f32],
    weight: f64,
    options: &CompressOptions,
) -> Result<Reach> {
    let Target::Psnr(db) = options.target else {
        return Ok(if input.m * input.n <= CROP_FROM {
            Reach::Yes(None)
        } else {
            Reach::No
        });
    };
    let (m, n) = (input.m, input.n);
    let (small, sm, sn, scale) = if m * n > 1 << 20 {
        (
            Cow::Owned(halve(plane, m, n)),
            m.div_ceil(2),
            n.div_ceil(2),
            4.0,
        )
    } else {
        (Cow::Borrowed(plane), m, n, 1.0)
    };
    let rank = GLOBAL_RANK.min(sm.min(sn));
    let f = tiles::factor_global(&small, sm, sn, rank, &options.randomized, options.par)?;
    let norm = (m * n) as f64
        * if input.color == StoredColor::Rgb {
            3.0
        } else {
            1.0
        };
    let mse = scale * weight * f.tail / norm;
    Ok(if mse > 10f64.powf(-db / 10.0) {
        Reach::No
    } else if scale == 1.0 && rank == global_rank(options.layout, m, n) {
        Reach::Yes(Some(f))
    } else {
        Reach::Yes(None)
    })
}

/// What the global probe found.
pub(super) enum Reach {
    /// The target is out of reach.
    No,
    /// It may be reached; with the plane's factors when the probe took them of the plane
    /// itself.
    Yes(Option<TileSvd>),
}
