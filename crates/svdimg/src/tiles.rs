//! The explorer's pictures other than the approximation: the original reduced to the
//! screen's size, and a [`View`]'s parts as tiles under the image (one rank-one component
//! σᵢ uᵢ vᵢᵀ, the running sum A_k, or the remainder A − A_k of one stored plane). The server
//! and the notebook widget both draw them here.

use image::{DynamicImage, Rgb, RgbImage};

use crate::{block_means, stored_planes, to_image, Error, Planes, Result, StoredColor, View};

/// The original picture as `color` stores it (its gray plane for `gray`, else its own
/// colours), reduced `scale` times in each direction by block means as
/// [`View::render_rgba8_scaled`] reduces a rendering; alpha passes through.
pub fn original_scaled(planes: &Planes<f32>, color: StoredColor, scale: usize) -> DynamicImage {
    let s = scale.max(1);
    let (width, height) = (planes.width.div_ceil(s), planes.height.div_ceil(s));
    let gray = color == StoredColor::Gray || planes.color.len() != 3;
    let stored = stored_planes(
        planes,
        if gray {
            StoredColor::Gray
        } else {
            StoredColor::Rgb
        },
    );
    let shrink = |plane: &[f32]| block_means(plane, planes.width, planes.height, s);
    let color: Vec<Vec<f32>> = stored.iter().map(|c| shrink(c)).collect();
    let color: Vec<&[f32]> = color.iter().map(|c| &c[..]).collect();
    let alpha = planes.alpha.as_ref().map(|a| shrink(&a.data));
    to_image(width, height, &color, alpha.as_deref(), planes.bit_depth)
}

/// Which picture of a plane [`View::part_tile`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Component i (1-based): σᵢ uᵢ vᵢᵀ.
    One(usize),
    /// The first k components added up: A_k.
    Sum(usize),
    /// What the first k components leave out: A − A_k.
    Remainder(usize),
}

/// A drawn part and the largest magnitude among its values.
#[derive(Debug, Clone)]
pub struct Tile {
    /// The picture, at most `side` pixels on its longer side.
    pub image: RgbImage,
    /// max |value| before the colour map (a component is drawn on its own scale).
    pub peak: f32,
}

/// The remainder's value drawn in the darkest colour: half the pixels' range.
const REMAINDER_SPAN: f64 = 0.5;

/// A diverging colour map: blue for negative, white at zero, red for positive; `t` in
/// [-1, 1] (clamped; NaN is white).
pub fn diverging(t: f64) -> Rgb<u8> {
    const STOPS: [(f64, [f64; 3]); 5] = [
        (-1.0, [5.0, 48.0, 97.0]),
        (-0.5, [67.0, 147.0, 195.0]),
        (0.0, [247.0, 247.0, 247.0]),
        (0.5, [214.0, 96.0, 77.0]),
        (1.0, [103.0, 0.0, 31.0]),
    ];
    let t = if t.is_nan() { 0.0 } else { t.clamp(-1.0, 1.0) };
    let i = STOPS.windows(2).position(|w| t <= w[1].0).unwrap_or(3);
    let ((t0, c0), (t1, c1)) = (STOPS[i], STOPS[i + 1]);
    let f = (t - t0) / (t1 - t0);
    Rgb([0, 1, 2].map(|j| (c0[j] + f * (c1[j] - c0[j])).round() as u8))
}

impl View {
    /// Draws one part of stored plane `plane`, at most `side` pixels on its longer side.
    ///
    /// A component is scaled to its own largest value (its shape is what it shows); a
    /// remainder is drawn on the pixels' own scale, so that what is left is as faint as it
    /// is. A_k of a gray, R, G, B or Y plane is a picture, drawn in gray; everything else
    /// has signs and is drawn on the [`diverging`] map. `planes` are the picture's own (the
    /// ones this view was factored from), needed for the remainder.
    ///
    /// # Errors
    /// An out-of-range plane, a component index of 0, or a zero `side`.
    pub fn part_tile(
        &self,
        planes: &Planes<f32>,
        plane: usize,
        part: Part,
        side: usize,
        par: faer::Par,
    ) -> Result<Tile> {
        if plane >= self.factors().len() {
            return Err(Error::parameter(format!(
                "plane={plane}: the {} model has {} planes",
                self.color().as_str(),
                self.factors().len()
            )));
        }
        if side == 0 {
            return Err(Error::parameter("the tile side must be at least 1"));
        }
        // Drawn from factors reduced to about the tile's size: a 24 MP component costs a
        // thumbnail's work.
        let scale = (self.height().max(self.width()) / side).max(1);
        let (n, m) = self.scaled_size(scale);
        let values = match part {
            Part::One(0) => return Err(Error::parameter("components are numbered from 1")),
            Part::One(i) => self.components_scaled(plane, i - 1..i, scale, par)?,
            Part::Sum(k) => self.components_scaled(plane, 0..k, scale, par)?,
            Part::Remainder(k) => {
                let sum = self.components_scaled(plane, 0..k, scale, par)?;
                let stored = stored_planes(planes, self.color());
                let a = block_means(&stored[plane], self.width(), self.height(), scale);
                a.iter().zip(&sum).map(|(a, s)| a - s).collect()
            }
        };
        let peak = values.iter().fold(0.0f32, |p, &x| p.max(x.abs()));
        let gain = match part {
            Part::Remainder(_) => 1.0 / REMAINDER_SPAN,
            _ if peak > 0.0 => 1.0 / f64::from(peak),
            _ => 0.0,
        };
        let picture = matches!(part, Part::Sum(_)) && !(self.color().luma().is_some() && plane > 0);
        let heat = RgbImage::from_fn(n as u32, m as u32, |x, y| {
            let value = values[y as usize * n + x as usize];
            if picture {
                let g = (value.clamp(0.0, 1.0) * 255.0).round() as u8;
                Rgb([g, g, g])
            } else {
                diverging(f64::from(value) * gain)
            }
        });
        let shrink = (side as f64 / m.max(n) as f64).min(1.0);
        let image = if shrink < 1.0 {
            image::imageops::resize(
                &heat,
                ((n as f64 * shrink).round() as u32).max(1),
                ((m as f64 * shrink).round() as u32).max(1),
                image::imageops::FilterType::Triangle,
            )
        } else {
            heat
        };
        Ok(Tile { image, peak })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Picture;

    #[test]
    fn remainder_at_full_rank_is_white_and_components_are_sums() {
        let picture = Picture::decode(crate::SAMPLE_PNG, &crate::Limits::default()).unwrap();
        let planes = picture.planes::<f32>(false);
        let view = View::exact(&planes, StoredColor::Rgb, faer::Par::Seq).unwrap();
        let full = view.max_rank();
        let rest = view
            .part_tile(&planes, 0, Part::Remainder(full), 480, faer::Par::Seq)
            .unwrap();
        assert_eq!(rest.image.dimensions(), (256, 256));
        // Nothing is left at full rank: every pixel is the map's white (or one step off).
        assert!(rest.image.pixels().all(|p| p.0.iter().all(|&c| c >= 245)));
        assert!(rest.peak < 1e-3, "{}", rest.peak);
        let one = view
            .part_tile(&planes, 1, Part::One(1), 64, faer::Par::Seq)
            .unwrap();
        assert_eq!(one.image.dimensions(), (64, 64));
        let sigma = view.factors()[1].singular_values()[0];
        assert!(one.peak > 0.0 && one.peak <= sigma, "{} {sigma}", one.peak);
        let err = view
            .part_tile(&planes, 3, Part::One(1), 64, faer::Par::Seq)
            .unwrap_err();
        assert_eq!(err.to_string(), "plane=3: the rgb model has 3 planes");
        assert!(view
            .part_tile(&planes, 0, Part::One(0), 64, faer::Par::Seq)
            .is_err());
    }

    #[test]
    fn diverging_ends_and_middle() {
        assert_eq!(diverging(-1.0), Rgb([5, 48, 97]));
        assert_eq!(diverging(0.0), Rgb([247, 247, 247]));
        assert_eq!(diverging(f64::NAN), Rgb([247, 247, 247]));
        assert_eq!(diverging(7.0), Rgb([103, 0, 31]));
    }
}
