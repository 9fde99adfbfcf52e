//! Handlers for the parts of an image: rank-one components, running sums and remainders,
//! singular vectors, and the rank gallery.

use super::*;

/// Which picture of a plane `component` draws: component i, the running sum A_k, or the
/// remainder A − A_k.
enum Part {
    One(usize),
    Sum(usize),
    Remainder(usize),
}

fn plane_of(view: &View, q: &Params) -> ApiResult<usize> {
    let plane = number::<usize>(q, "plane")?.unwrap_or(0);
    if plane >= view.factors().len() {
        return Err(ApiError::bad(format!(
            "plane={plane}: the {} model has {} planes",
            view.color().as_str(),
            view.factors().len()
        )));
    }
    Ok(plane)
}

/// The remainder's value drawn in the darkest colour: half the pixels' range.
const REMAINDER_SPAN: f64 = 0.5;

/// Largest side of a component picture.
const TILE_SIDE: u32 = 480;

pub(super) async fn component(
    State(state): State<Shared>,
    ImageRequest { image, q }: ImageRequest,
) -> ApiResult<Response> {
    let color = color_of(&image, &q)?;
    let part = match (
        number::<usize>(&q, "i")?,
        number::<usize>(&q, "sum")?,
        number::<usize>(&q, "remainder")?,
    ) {
        (Some(i), None, None) if i >= 1 => Part::One(i),
        (None, Some(k), None) if k >= 1 => Part::Sum(k),
        (None, None, Some(k)) => Part::Remainder(k),
        _ => {
            return Err(ApiError::bad(
                "give one of i=I (1-based), sum=K or remainder=K",
            ))
        }
    };
    let view = view(&state, &image, color, wants_preview(&q)).await?;
    let plane = plane_of(&view, &q)?;
    blocking(&state, move || {
        // Drawn from factors reduced to about the tile's size: a 24 MP component costs
        // a thumbnail's work.
        let scale = (view.height().max(view.width()) / TILE_SIDE as usize).max(1);
        let (n, m) = view.scaled_size(scale);
        let par = Par::rayon(0);
        let values = match part {
            Part::One(i) => view.components_scaled(plane, i - 1..i, scale, par)?,
            Part::Sum(k) => view.components_scaled(plane, 0..k, scale, par)?,
            Part::Remainder(k) => {
                let sum = view.components_scaled(plane, 0..k, scale, par)?;
                let stored = svdimg::stored_planes(&image.planes, color);
                let a = svdimg::block_means(&stored[plane], view.width(), view.height(), scale);
                a.iter().zip(&sum).map(|(a, s)| a - s).collect()
            }
        };
        let peak = values.iter().fold(0.0f32, |p, &x| p.max(x.abs()));
        // A component is scaled to its own largest value (its shape is what matters); a
        // remainder A − A_k is shown on the pixels' own scale, so that what is left is as
        // faint as it is (white at full rank, not rounding noise blown up).
        let scale = match part {
            Part::Remainder(_) => 1.0 / REMAINDER_SPAN,
            _ if peak > 0.0 => 1.0 / f64::from(peak),
            _ => 0.0,
        };
        // A_k of a gray, R, G, B or Y plane is a picture: shown as one, in gray. The rest
        // (components, remainders, chroma) have signs: shown on the diverging map.
        let picture = matches!(part, Part::Sum(_))
            && !matches!(view.color(), StoredColor::YCbCr if plane > 0);
        let heat = image::RgbImage::from_fn(n as u32, m as u32, |x, y| {
            let value = values[y as usize * n + x as usize];
            if picture {
                let g = (value.clamp(0.0, 1.0) * 255.0).round() as u8;
                image::Rgb([g, g, g])
            } else {
                figures::diverging(f64::from(value) * scale)
            }
        });
        let shrink = (f64::from(TILE_SIDE) / m.max(n) as f64).min(1.0);
        let heat = if shrink < 1.0 {
            image::imageops::resize(
                &heat,
                ((n as f64 * shrink).round() as u32).max(1),
                ((m as f64 * shrink).round() as u32).max(1),
                image::imageops::FilterType::Triangle,
            )
        } else {
            heat
        };
        Ok(png_response(
            png(&DynamicImage::ImageRgb8(heat))?,
            vec![("x-peak", format!("{peak:e}"))],
        ))
    })
    .await
}

/// Most samples of a singular vector sent to the page.
const PROFILE_POINTS: usize = 600;

fn profile(column: faer::ColRef<'_, f32>) -> Vec<f32> {
    let len = column.nrows();
    let step = len.div_ceil(PROFILE_POINTS).max(1);
    (0..len).step_by(step).map(|i| column[i]).collect()
}

pub(super) async fn vectors(
    State(state): State<Shared>,
    ImageRequest { image, q }: ImageRequest,
) -> ApiResult<Json<serde_json::Value>> {
    let color = color_of(&image, &q)?;
    let i = number::<usize>(&q, "i")?.ok_or_else(|| ApiError::bad("missing i (1-based)"))?;
    let view = view(&state, &image, color, wants_preview(&q)).await?;
    let plane = plane_of(&view, &q)?;
    let f = &view.factors()[plane];
    if i == 0 || i > f.rank() {
        return Err(ApiError::bad(format!(
            "i={i}: components are numbered 1 to {}",
            f.rank()
        )));
    }
    Ok(Json(json!({
        "plane": color.plane_names()[plane],
        "i": i,
        "sigma": f.singular_values()[i - 1],
        "u": profile(f.u().col(i - 1)),
        "v": profile(f.v().col(i - 1)),
    })))
}

pub(super) async fn gallery(
    State(state): State<Shared>,
    ImageRequest { image, q }: ImageRequest,
) -> ApiResult<Response> {
    let color = color_of(&image, &q)?;
    let ranks: Vec<usize> = match q.get("ranks") {
        None => vec![1, 2, 3, 4, 5, 10, 20, 50],
        Some(list) => list
            .split(',')
            .map(|r| match r.trim().parse::<usize>() {
                Ok(k) if k >= 1 => Ok(k),
                _ => Err(ApiError::bad(format!(
                    "ranks: '{r}' is not a rank of 1 or more"
                ))),
            })
            .collect::<ApiResult<_>>()?,
    };
    if ranks.is_empty() || ranks.len() > 24 {
        return Err(ApiError::bad("ranks: give 1 to 24 ranks"));
    }
    let view = view(&state, &image, color, false).await?;
    slow_blocking(&state, move || {
        let alpha = image.planes.alpha.as_ref().map(|a| &a.data[..]);
        let tiles = ranks
            .iter()
            .map(|&k| {
                let r = view.render(&[k], alpha, image.planes.bit_depth, Par::rayon(0))?;
                let q = view.quality(&image.planes, &[k], Par::rayon(0))?;
                Ok(figures::Tile {
                    image: r.image,
                    label: format!(
                        "rank={}  {}",
                        r.ranks.iter().max().unwrap_or(&k),
                        crate::explore::psnr_text(q.psnr_db)
                    ),
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let grid = figures::gallery(&tiles, 4)
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")))?;
        let disposition = format!(
            "attachment; filename=\"{}-gallery.png\"",
            file_stem(&image.name)
        );
        Ok(png_response(
            png(&grid)?,
            vec![("content-disposition", disposition)],
        ))
    })
    .await
}
