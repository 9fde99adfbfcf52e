//! Handlers for one setting (colour model and ranks): the image, its numbers, its sizes,
//! its `.svdz` file; and the spectrum and the rank for a PSNR.

use super::*;

pub(super) async fn render(
    State(state): State<Shared>,
    ImageRequest { image, q }: ImageRequest,
) -> ApiResult<Response> {
    let setting = setting(&image, &q)?;
    let raw = raw(&q)?;
    let scale = scale(&q)?;
    if scale > 1 && !raw {
        return Err(ApiError::bad("scale is for format=rgba only"));
    }
    let preview = wants_preview(&q);
    let view = view(&state, &image, setting.color, preview).await?;
    blocking(&state, move || {
        let alpha = image.planes.alpha.as_ref().map(|a| &a.data[..]);
        let (width, height) = view.scaled_size(scale);
        let headers = |ranks: &[usize]| {
            vec![
                ("x-ranks", ranks_text(ranks)),
                ("x-exact", u8::from(view.is_exact()).to_string()),
                ("x-max-rank", view.max_rank().to_string()),
                ("x-width", width.to_string()),
                ("x-height", height.to_string()),
                ("x-scale", scale.to_string()),
            ]
        };
        if raw {
            // The page's fast path: RGBA bytes straight from the products, no encoding,
            // reduced to the screen's size when the page asks.
            let (pixels, ranks) = view.render_rgba8_scaled(&setting.ranks, alpha, scale)?;
            return Ok(bytes_response(OCTETS, pixels, headers(&ranks)));
        }
        let r = view.render(&setting.ranks, alpha, image.planes.bit_depth, Par::rayon(0))?;
        Ok(png_response(png(&r.image)?, headers(&r.ranks)))
    })
    .await
}

pub(super) async fn spectrum(
    State(state): State<Shared>,
    ImageRequest { image, q }: ImageRequest,
) -> ApiResult<Response> {
    let color = color_of(&image, &q)?;
    let view = view(&state, &image, color, false).await?;
    let planes: Vec<_> = color
        .plane_names()
        .iter()
        .zip(view.factors())
        .map(|(name, f)| json!({ "name": name, "singular_values": f.singular_values() }))
        .collect();
    let mut response = Json(json!({ "mode": color.as_str(), "planes": planes })).into_response();
    no_store(response.headers_mut());
    Ok(response)
}

pub(super) async fn stats(
    State(state): State<Shared>,
    ImageRequest { image, q }: ImageRequest,
) -> ApiResult<Json<serde_json::Value>> {
    let setting = setting(&image, &q)?;
    let preview = wants_preview(&q);
    let view = view(&state, &image, setting.color, preview).await?;
    let turn = state.turn(&image, "stats", &q);
    let lane = Arc::clone(&state);
    side_blocking(&state, move || {
        lane.check_turn(&turn)?;
        let quality = view.quality(&image.planes, &setting.ranks, Par::rayon(0))?;
        let (m, n) = (image.planes.height as u64, image.planes.width as u64);
        let ranks = view.ranks_for(&setting.ranks)?;
        let stored: u64 = ranks.iter().map(|&k| k as u64 * (m + n + 1)).sum();
        let pixels = m * n * ranks.len() as u64;
        let planes: Vec<_> = setting
            .color
            .plane_names()
            .iter()
            .zip(&ranks)
            .zip(&quality.energy)
            .map(|((name, k), e)| json!({ "name": name, "rank": k, "energy": e }))
            .collect();
        Ok(Json(json!({
            "mode": setting.color.as_str(),
            "exact": view.is_exact(),
            "psnr_db": quality.psnr_db.is_finite().then_some(quality.psnr_db),
            "ssim": quality.ssim,
            "planes": planes,
            "stored_values": stored,
            "pixel_values": pixels,
            "ratio": stored as f64 / pixels as f64,
        })))
    })
    .await
}

/// The `.svdz` file for a setting: `psnr=DB`, `rank=K`, or the page's `mode` and ranks.
fn svdz_target(image: &Image, q: &Params) -> ApiResult<(StoredColor, Target)> {
    let color = match q.get("mode") {
        Some(_) => color_of(image, q)?,
        // As `svdimg compress`: Y Cb Cr for colour images.
        None if image.planes.color.len() == 3 => StoredColor::YCbCr,
        None => StoredColor::Gray,
    };
    if let Some(db) = number::<f64>(q, "psnr")? {
        if !(db.is_finite() && db > 0.0 && db <= 200.0) {
            return Err(ApiError::bad(format!(
                "psnr={db}: use a value in (0, 200] dB"
            )));
        }
        return Ok((color, Target::Psnr(db)));
    }
    if let Some(k) = number::<usize>(q, "rank")? {
        if k == 0 {
            return Err(ApiError::bad("rank must be at least 1"));
        }
        return Ok((color, Target::Rank(k)));
    }
    let q = if q.contains_key("mode") {
        q.clone()
    } else {
        let mut q = q.clone();
        q.insert("mode".into(), color.as_str().into());
        q
    };
    let s = setting(image, &q).map_err(|_| ApiError::bad("give psnr=DB or rank=K"))?;
    let mut ranks = [0; 3];
    ranks[..s.ranks.len()].copy_from_slice(&s.ranks);
    Ok((color, Target::Ranks(ranks)))
}

fn compress(image: &Image, view: &View, target: Target) -> ApiResult<svdimg::Compressed> {
    let options = CompressOptions {
        target,
        color: match view.color() {
            StoredColor::Gray => svdimg::ColorChoice::Gray,
            StoredColor::Rgb => svdimg::ColorChoice::Rgb,
            StoredColor::YCbCr | StoredColor::YCbCr601 => svdimg::ColorChoice::YCbCr,
        },
        ..CompressOptions::default()
    };
    Ok(svdimg::compress_factored(
        &image.planes,
        view.factors(),
        &options,
    )?)
}

pub(super) async fn svdz(
    State(state): State<Shared>,
    ImageRequest { image, q }: ImageRequest,
) -> ApiResult<Response> {
    let (color, target) = svdz_target(&image, &q)?;
    let view = view(&state, &image, color, false).await?;
    slow_blocking(&state, move || {
        let file = compress(&image, &view, target)?;
        let stem = file_stem(&image.name);
        let ranks: Vec<usize> = file.ranks.iter().map(|r| r.1).collect();
        let headers = vec![
            (
                "content-disposition",
                format!("attachment; filename=\"{stem}.svdz\""),
            ),
            ("x-psnr-db", format!("{:.4}", file.psnr_db)),
            ("x-ssim", format!("{:.6}", file.ssim)),
            ("x-ranks", ranks_text(&ranks)),
        ];
        Ok(bytes_response(OCTETS, file.bytes, headers))
    })
    .await
}

/// The sizes that put a setting in context: its real `.svdz` file, the input file, and
/// the JPEG that reaches the same PSNR.
pub(super) async fn sizes(
    State(state): State<Shared>,
    ImageRequest { image, q }: ImageRequest,
) -> ApiResult<Json<serde_json::Value>> {
    let setting = setting(&image, &q)?;
    let view = view(&state, &image, setting.color, false).await?;
    let turn = state.turn(&image, "sizes", &q);
    let lane = Arc::clone(&state);
    slow_blocking(&state, move || {
        lane.check_turn(&turn)?;
        let mut ranks = [0; 3];
        ranks[..setting.ranks.len()].copy_from_slice(&setting.ranks);
        let file = compress(&image, &view, Target::Ranks(ranks))?;
        let quality = view.quality(&image.planes, &setting.ranks, Par::rayon(0))?;
        let reference = if setting.color == StoredColor::Gray && image.planes.color.len() == 3 {
            let gray = svdimg::stored_planes(&image.planes, StoredColor::Gray);
            svdimg::Planes {
                width: image.planes.width,
                height: image.planes.height,
                bit_depth: image.planes.bit_depth,
                color: vec![svdimg::Plane {
                    name: svdimg::PlaneName::Gray,
                    data: gray.into_iter().next().unwrap_or_default(),
                }],
                alpha: None,
            }
        } else {
            svdimg::Planes {
                alpha: None,
                ..image.planes.clone()
            }
        };
        let jpeg = if quality.psnr_db.is_finite() {
            svdimg::jpeg_for_psnr(&reference, quality.psnr_db)?
        } else {
            None
        };
        Ok(Json(json!({
            "input_bytes": image.input_bytes,
            "raw_bytes": image.pixels() as u64 * reference.color.len() as u64
                * if image.planes.bit_depth > 8 { 2 } else { 1 },
            "psnr_db": quality.psnr_db.is_finite().then_some(quality.psnr_db),
            "svdz_bytes": file.bytes.len(),
            "svdz_psnr_db": file.psnr_db.is_finite().then_some(file.psnr_db),
            "jpeg_bytes": jpeg.map(|j| j.point.bytes),
            "jpeg_quality": jpeg.map(|j| j.quality),
            "jpeg_encoder": jpeg.map(|j| j.kind.as_str()),
            "jpeg_psnr_db": jpeg.map(|j| j.point.psnr_db),
        })))
    })
    .await
}

/// The smallest k (the same for every plane) whose image reaches `psnr=DB`.
pub(super) async fn rank(
    State(state): State<Shared>,
    ImageRequest { image, q }: ImageRequest,
) -> ApiResult<Json<serde_json::Value>> {
    let color = color_of(&image, &q)?;
    let db = number::<f64>(&q, "psnr")?.ok_or_else(|| ApiError::bad("missing psnr=DB"))?;
    if !(db.is_finite() && db > 0.0) {
        return Err(ApiError::bad(format!(
            "psnr={db}: use a positive number of dB"
        )));
    }
    let view = view(&state, &image, color, false).await?;
    slow_blocking(&state, move || {
        Ok(Json(
            match view.rank_for_psnr(&image.planes, db, Par::rayon(0))? {
                Ok(k) => json!({ "psnr_db": db, "k": k }),
                Err(best) => json!({
                    "psnr_db": db,
                    "k": null,
                    "best_psnr_db": best.is_finite().then_some(best),
                }),
            },
        ))
    })
    .await
}
