//! The lesson mode's numbers: both SVD lessons measured on one image in float64, as NumPy
//! computes them (see `svdimg::Lesson`).

use super::*;

/// `GET /api/images/{id}/lesson?k=K`: the lessons' numbers at rank k (default 10).
pub(super) async fn lesson(
    State(state): State<Shared>,
    ImageRequest { image, q }: ImageRequest,
) -> ApiResult<Json<serde_json::Value>> {
    let k = number::<usize>(&q, "k")?.unwrap_or(10);
    if k == 0 {
        return Err(ApiError::bad("k must be at least 1"));
    }
    let store = Arc::clone(&state.store);
    let turn = state.turn(&image, "lesson", &q);
    let lane = Arc::clone(&state);
    slow_blocking(&state, move || {
        lane.check_turn(&turn)?;
        let held = store.lesson(&image)?;
        let f = held.lesson.facts(k, Par::rayon(0))?;
        Ok(Json(json!({
            "image": image.id,
            "shrink": held.shrink,
            "source_width": image.planes.width,
            "source_height": image.planes.height,
            "width": f.width,
            "height": f.height,
            "channels": f.channels,
            "dtype": f.dtype,
            "type_max": f.type_max,
            "raw_range": [f.raw_range.0, f.raw_range.1],
            "full_rank": f.full_rank,
            "k": f.rank,
            "gray_error": f.gray_error,
            "gray_allclose": f.gray_allclose,
            "stored_values": f.storage.stored_values,
            "pixel_values": f.storage.pixel_values,
            "ratio": f.storage.ratio,
            "rank_error": f.rank_error,
            "optimum": f.optimum,
            "color_planes": f.color_planes,
            "color_error": f.color_error,
            "color_allclose": f.color_allclose,
            "color_range": [f.color_range.0, f.color_range.1],
            "sigmas": f.sigmas,
            "component_difference": f.component_difference,
        })))
    })
    .await
}
