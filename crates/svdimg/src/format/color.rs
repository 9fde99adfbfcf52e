//! Colour models of a stored image: which planes a file stores (gray, R G B, Rec.709
//! Y Cb Cr, or a JPEG's own Y Cb Cr), and the transforms between them and the image's own
//! planes.

use rayon::prelude::*;

use crate::{Error, Planes, Result, REC709};

/// Which colour planes to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// Y Cb Cr for a colour image, gray for a gray one. Default.
    #[default]
    Auto,
    /// Red, green and blue.
    Rgb,
    /// Rec.709 luma and two colour differences: chroma has little detail, so it needs
    /// fewer components.
    YCbCr,
    /// One Rec.709 gray plane (a colour image loses its colour).
    Gray,
}

/// The colour planes a file stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredColor {
    /// One gray plane.
    Gray,
    /// Red, green, blue.
    Rgb,
    /// Rec.709 Y, Cb, Cr: `Y = 0.2126 R + 0.7152 G + 0.0722 B`,
    /// `Cb = (B − Y) / 1.8556`, `Cr = (R − Y) / 1.5748`.
    YCbCr,
    /// A JPEG's Y Cb Cr (BT.601 luma, full range, as JFIF): `Y = 0.299 R + 0.587 G +
    /// 0.114 B`, `Cb = (B − Y) / 1.772`, `Cr = (R − Y) / 1.402`. Version 2 only, chosen by
    /// the encoder alone: a colour photo that was a JPEG keeps its JPEG's grid in these
    /// planes and in no others.
    YCbCr601,
}

/// BT.601's luma coefficients (R, G, B), a JPEG's.
pub const BT601: [f64; 3] = [0.299, 0.587, 0.114];

impl StoredColor {
    /// `gray`, `rgb` or `ycbcr`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoredColor::Gray => "gray",
            StoredColor::Rgb => "rgb",
            StoredColor::YCbCr => "ycbcr",
            StoredColor::YCbCr601 => "ycbcr601",
        }
    }

    /// The names of the stored planes, in file order.
    pub fn plane_names(self) -> &'static [&'static str] {
        match self {
            StoredColor::Gray => &["gray"],
            StoredColor::Rgb => &["r", "g", "b"],
            StoredColor::YCbCr | StoredColor::YCbCr601 => &["y", "cb", "cr"],
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            StoredColor::Gray => 0,
            StoredColor::Rgb => 1,
            StoredColor::YCbCr => 2,
            StoredColor::YCbCr601 => 3,
        }
    }

    /// The luma coefficients (R, G, B) of a Y Cb Cr model; `None` for gray and R G B.
    pub fn luma(self) -> Option<[f64; 3]> {
        match self {
            StoredColor::YCbCr => Some(REC709),
            StoredColor::YCbCr601 => Some(BT601),
            StoredColor::Gray | StoredColor::Rgb => None,
        }
    }

    /// One Y Cb Cr sample of this model as R, G, B; the sample as it is for the others.
    #[inline]
    pub(crate) fn to_rgb(self, y: f32, cb: f32, cr: f32) -> (f32, f32, f32) {
        match self.luma() {
            Some(k) => ycbcr_to_rgb_in(k.map(|k| k as f32), y, cb, cr),
            None => (y, cb, cr),
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        [
            StoredColor::Gray,
            StoredColor::Rgb,
            StoredColor::YCbCr,
            StoredColor::YCbCr601,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }

    /// What a unit error in each stored plane costs in squared RGB error, relative to the
    /// first plane.
    pub(super) fn weights(self) -> Vec<f64> {
        match self {
            StoredColor::Gray => vec![1.0],
            StoredColor::Rgb => vec![1.0; 3],
            StoredColor::YCbCr | StoredColor::YCbCr601 => {
                // δY moves R, G and B by δ each: cost 3. δCb moves B and G, δCr R and G.
                let [kr, kg, kb] = self.luma().expect("a Y Cb Cr model");
                let (cb, cr) = (2.0 * (1.0 - kb), 2.0 * (1.0 - kr));
                vec![
                    1.0,
                    (cb * cb + (kb * cb / kg).powi(2)) / 3.0,
                    (cr * cr + (kr * cr / kg).powi(2)) / 3.0,
                ]
            }
        }
    }
}

/// Converts stored planes to output planes (gray, or R G B), in place of the input.
pub(super) fn to_output(mut stored: Vec<Vec<f32>>, color: StoredColor) -> Vec<Vec<f32>> {
    if let Some(k) = color.luma() {
        let [y, cb, cr] = &mut stored[..] else {
            unreachable!("ycbcr has three planes")
        };
        let k = k.map(|k| k as f32);
        y.par_iter_mut()
            .zip(cb.par_iter_mut())
            .zip(cr.par_iter_mut())
            .for_each(|((y, cb), cr)| {
                (*y, *cb, *cr) = ycbcr_to_rgb_in(k, *y, *cb, *cr);
            });
    }
    stored
}

/// One Y Cb Cr sample of luma coefficients `k` (R, G, B) as R, G, B (the inverse of
/// [`from_input`]'s transform).
#[inline]
fn ycbcr_to_rgb_in(k: [f32; 3], y: f32, cb: f32, cr: f32) -> (f32, f32, f32) {
    let [kr, kg, kb] = k;
    let (cb_to_b, cr_to_r) = (2.0 * (1.0 - kb), 2.0 * (1.0 - kr));
    let r = y + cr_to_r * cr;
    let b = y + cb_to_b * cb;
    let g = (y - kr * r - kb * b) / kg;
    (r, g, b)
}

/// The planes an image is stored as in `color` (gray, R G B, or Y Cb Cr), from its colour
/// planes (gray or R G B, on the [0, 1] scale).
///
/// # Panics
/// If `color` is not `Gray` and the image is gray.
#[track_caller]
pub fn stored_planes(planes: &Planes<f32>, color: StoredColor) -> Vec<Vec<f32>> {
    assert!(color == StoredColor::Gray || planes.color.len() == 3);
    from_input(planes, color)
}

/// The output planes (gray, or R G B) of planes stored in `color`; the inverse of
/// [`stored_planes`]. Values are not clipped.
pub fn output_planes(stored: Vec<Vec<f32>>, color: StoredColor) -> Vec<Vec<f32>> {
    to_output(stored, color)
}

/// The planes to store for `color`, from the input's colour planes.
pub(super) fn from_input(planes: &Planes<f32>, color: StoredColor) -> Vec<Vec<f32>> {
    let data: Vec<&[f32]> = planes.color.iter().map(|p| &p.data[..]).collect();
    from_slices(&data, color)
}

/// The planes to store for `color`, from gray or R G B planes.
pub(super) fn from_slices(data: &[&[f32]], color: StoredColor) -> Vec<Vec<f32>> {
    let [kr, kg, kb] = color.luma().unwrap_or(REC709).map(|k| k as f32);
    match (color, data) {
        (StoredColor::Gray | StoredColor::YCbCr | StoredColor::YCbCr601, [r, g, b]) => {
            let y: Vec<f32> = r
                .par_iter()
                .zip(*g)
                .zip(*b)
                .map(|((&r, &g), &b)| kr * r + kg * g + kb * b)
                .collect();
            if color == StoredColor::Gray {
                return vec![y];
            }
            let (cb_of, cr_of) = (2.0 * (1.0 - kb), 2.0 * (1.0 - kr));
            let cb = b
                .par_iter()
                .zip(&y)
                .map(|(&b, &y)| (b - y) / cb_of)
                .collect();
            let cr = r
                .par_iter()
                .zip(&y)
                .map(|(&r, &y)| (r - y) / cr_of)
                .collect();
            vec![y, cb, cr]
        }
        _ => data.iter().map(|d| d.to_vec()).collect(),
    }
}

/// The colour model for `choice` on `planes`.
pub(super) fn resolve_color(choice: ColorChoice, planes: &Planes<f32>) -> Result<StoredColor> {
    let colour = planes.color.len() == 3;
    Ok(match (choice, colour) {
        (ColorChoice::Gray, _) | (ColorChoice::Auto, false) => StoredColor::Gray,
        (ColorChoice::Auto, true) | (ColorChoice::YCbCr, true) => StoredColor::YCbCr,
        (ColorChoice::Rgb, true) => StoredColor::Rgb,
        (ColorChoice::Rgb | ColorChoice::YCbCr, false) => {
            return Err(Error::parameter(
                "the image is gray: store it as gray (or let the colour model be chosen)",
            ))
        }
    })
}

/// An m×n plane at half size (⌈m/2⌉×⌈n/2⌉), each sample the mean of its 2×2 pixels (fewer at
/// an odd edge).
pub(super) fn halve(plane: &[f32], m: usize, n: usize) -> Vec<f32> {
    let (hm, hn) = (m.div_ceil(2), n.div_ceil(2));
    let mut out = vec![0f32; hm * hn];
    out.par_chunks_mut(hn).enumerate().for_each(|(i, row)| {
        let rows = &[2 * i, (2 * i + 1).min(m - 1)];
        for (j, o) in row.iter_mut().enumerate() {
            let cols = [2 * j, (2 * j + 1).min(n - 1)];
            let sum: f32 = rows
                .iter()
                .flat_map(|&r| cols.iter().map(move |&c| plane[r * n + c]))
                .sum();
            *o = sum / 4.0;
        }
    });
    out
}

/// A half-size plane (from [`halve`]) back at m×n, by bilinear interpolation between the
/// centres of the 2×2 cells, clamped at the edges.
pub(super) fn double_chroma(small: &[f32], m: usize, n: usize) -> Vec<f32> {
    double_rows(small, 0, m, n, 0, m)
}

/// Rows `y0..y0 + h` of [`double_chroma`]'s output, from the rows of the half-size plane
/// that `small` holds, the first of them row `first` (it must hold every row they need).
pub(super) fn double_rows(
    small: &[f32],
    first: usize,
    m: usize,
    n: usize,
    y0: usize,
    h: usize,
) -> Vec<f32> {
    let (hm, hn) = (m.div_ceil(2), n.div_ceil(2));
    let mut out = vec![0f32; h * n];
    // Each output row: its two half-size rows doubled across, then blended.
    out.par_chunks_mut(n).enumerate().for_each_init(
        || (vec![0f32; n], vec![0f32; n]),
        |(top, bottom), (i, row)| {
            let (r0, r1, fy) = taps(y0 + i, hm);
            let (r0, r1) = (r0 - first, r1 - first);
            widen(&small[r0 * hn..(r0 + 1) * hn], top);
            widen(&small[r1 * hn..(r1 + 1) * hn], bottom);
            for ((o, &t), &b) in row.iter_mut().zip(top.iter()).zip(bottom.iter()) {
                *o = t + fy * (b - t);
            }
        },
    );
    out
}

/// Output position x's two half-size cells and its weight on the second: pixel x's centre
/// lies at x/2 − 1/4 in cell units, between cells ⌊·⌋ and ⌊·⌋ + 1, clamped at the edges.
fn taps(x: usize, len: usize) -> (usize, usize, f32) {
    let pos = x as f32 / 2.0 - 0.25;
    let lo = pos.floor().max(0.0) as usize;
    let f = (pos - lo as f32).clamp(0.0, 1.0);
    (lo.min(len - 1), (lo + 1).min(len - 1), f)
}

/// The half-size row `a` doubled across into `out`: `a[c0] + f·(a[c1] − a[c0])` with
/// [`taps`]. Inside, positions 2k+1 and 2k+2 both lie between cells k and k+1, at weights
/// ¼ and ¾ exactly, so they are made in pairs without a table (the same operations, so
/// the same numbers); the edges, and rows too wide for x/2 − 1/4 to be exact in f32, go
/// through [`taps`].
fn widen(a: &[f32], out: &mut [f32]) {
    let (n, hn) = (out.len(), a.len());
    let at = |x: usize| {
        let (c0, c1, f) = taps(x, hn);
        a[c0] + f * (a[c1] - a[c0])
    };
    let paired = if n < 1 << 22 && n > 1 {
        for (o, w) in out[1..].chunks_exact_mut(2).zip(a.windows(2)) {
            let d = w[1] - w[0];
            o[0] = w[0] + 0.25 * d;
            o[1] = w[0] + 0.75 * d;
        }
        1 + 2 * ((n - 1) / 2).min(hn - 1)
    } else {
        0
    };
    out[0] = at(0);
    for (x, o) in out.iter_mut().enumerate().skip(paired.max(1)) {
        *o = at(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubled_rows_are_the_per_pixel_interpolation_to_the_bit() {
        let mut state = 7u64;
        for (m, n) in [
            (1usize, 1usize),
            (1, 2),
            (2, 1),
            (3, 5),
            (8, 9),
            (17, 64),
            (33, 31),
            (6, 101),
        ] {
            let (hm, hn) = (m.div_ceil(2), n.div_ceil(2));
            let small: Vec<f32> = (0..hm * hn)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
                })
                .collect();
            // Each pixel from its four cells, as the interpolation is defined.
            let want: Vec<f32> = (0..m * n)
                .map(|i| {
                    let ((r0, r1, fy), (c0, c1, fx)) = (taps(i / n, hm), taps(i % n, hn));
                    let at = |r: usize, c: usize| small[r * hn + c];
                    let top = at(r0, c0) + fx * (at(r0, c1) - at(r0, c0));
                    let bottom = at(r1, c0) + fx * (at(r1, c1) - at(r1, c0));
                    top + fy * (bottom - top)
                })
                .collect();
            let got = double_chroma(&small, m, n);
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{m}x{n}"
            );
            // A band of rows from the half-size rows it needs.
            if m > 4 {
                let (y0, h) = (2, m - 3);
                let first = 0;
                assert_eq!(
                    double_rows(&small, first, m, n, y0, h),
                    want[y0 * n..(y0 + h) * n]
                );
            }
        }
    }
}
