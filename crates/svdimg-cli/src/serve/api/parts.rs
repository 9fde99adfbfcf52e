//! Handlers for the parts of an image: rank-one components, running sums and remainders,
//! singular vectors, and the rank gallery.

use super::*;
use svdimg::Part;

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

/// Largest side of a component picture.
const TILE_SIDE: usize = 480;

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
        let tile = view.part_tile(&image.planes, plane, part, TILE_SIDE, Par::rayon(0))?;
        Ok(png_response(
            png(&DynamicImage::ImageRgb8(tile.image))?,
            vec![("x-peak", format!("{:e}", tile.peak))],
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
