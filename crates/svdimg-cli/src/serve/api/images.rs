//! Handlers for images: the list, uploads, one image's description, its original pixels.

use super::*;

/// How long an upload's bytes may take to arrive.
const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether reading a body failed on the length limit.
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

#[derive(Serialize)]
pub(super) struct ImageJson {
    id: String,
    name: String,
    width: usize,
    height: usize,
    color: &'static str,
    planes: Vec<&'static str>,
    modes: Vec<&'static str>,
    input_bytes: u64,
    source: &'static str,
    factors: HashMap<&'static str, &'static str>,
}

fn image_json(image: &Image) -> ImageJson {
    let colour = image.planes.color.len() == 3;
    ImageJson {
        id: image.id.clone(),
        name: image.name.clone(),
        width: image.planes.width,
        height: image.planes.height,
        color: image.model.as_str(),
        planes: image.default_color().plane_names().to_vec(),
        modes: if colour {
            vec!["rgb", "ycbcr", "gray"]
        } else {
            vec!["gray"]
        },
        input_bytes: image.input_bytes,
        source: match image.origin {
            Origin::Sample => "sample",
            Origin::File => "file",
            Origin::Upload => "upload",
        },
        factors: image.status().into_iter().collect(),
    }
}

pub(super) async fn status(State(state): State<Shared>) -> Response {
    let usage = state.store.usage();
    let mut response = Json(json!({
        "usage": usage,
        "rss_bytes": rss_bytes(),
        "panics": state.panics.load(Ordering::Relaxed),
    }))
    .into_response();
    no_store(response.headers_mut());
    response
}

/// This process's resident memory, from /proc (Linux), or null.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub(super) async fn list(State(state): State<Shared>) -> Json<serde_json::Value> {
    let images: Vec<ImageJson> = state
        .store
        .list()
        .iter()
        .filter(|i| i.origin != Origin::Upload)
        .map(|i| image_json(i))
        .collect();
    Json(json!({ "images": images }))
}

/// The name an upload is shown and downloaded under: `?name=` as the page sends it (the
/// file's own name, without any folder), else `upload`.
fn upload_name(q: &Params) -> String {
    q.get("name")
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(""))
        .map(|n| {
            n.chars()
                .filter(|c| !c.is_control())
                .take(120)
                .collect::<String>()
        })
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "upload".into())
}

pub(super) async fn upload(
    State(state): State<Shared>,
    query: Result<Query<Params>, QueryRejection>,
    request: Request,
) -> ApiResult<(StatusCode, Json<ImageJson>)> {
    let name = upload_name(&params(query)?);
    let too_large = || {
        ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the upload is larger than the server's limit of {} bytes (--max-upload)",
                state.max_upload
            ),
        )
    };
    // Refused on its declared length, before a byte of it is read.
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_upload as u64) {
        return Err(too_large());
    }
    let read = axum::body::to_bytes(request.into_body(), state.max_upload);
    let body = match tokio::time::timeout(UPLOAD_TIMEOUT, read).await {
        Err(_) => {
            return Err(ApiError(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the upload did not arrive within {} s",
                    UPLOAD_TIMEOUT.as_secs()
                ),
            ))
        }
        Ok(Err(e)) if is_length_limit(&e) => return Err(too_large()),
        Ok(Err(e)) => return Err(ApiError::bad(format!("cannot read the upload: {e}"))),
        Ok(Ok(body)) => body,
    };
    if body.is_empty() {
        return Err(ApiError::unprocessable(
            "the upload is empty: send the image file's bytes",
        ));
    }
    let store = Arc::clone(&state.store);
    let image = blocking(&state, move || {
        store.add(&body, name, Origin::Upload, None).map_err(|e| {
            // A file that is not an image is 422, one over the pixel limit 413.
            let status = if e.kind() == ErrorKind::LimitExceeded {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            ApiError(status, e.to_string())
        })
    })
    .await?;
    // Start factoring now: the page asks for a view next.
    drop(state.store.factors(&image, image.default_color()));
    Ok((StatusCode::CREATED, Json(image_json(&image))))
}

pub(super) async fn describe(ImageRequest { image, .. }: ImageRequest) -> Json<ImageJson> {
    Json(image_json(&image))
}

pub(super) async fn original(
    State(state): State<Shared>,
    ImageRequest { image, q }: ImageRequest,
) -> ApiResult<Response> {
    let raw = raw(&q)?;
    let scale = scale(&q)?;
    if scale > 1 && !raw {
        return Err(ApiError::bad("scale is for format=rgba only"));
    }
    let gray = color_of(&image, &q)? == StoredColor::Gray;
    blocking(&state, move || {
        let color = if gray {
            StoredColor::Gray
        } else {
            image.default_color()
        };
        // Reduced `scale` times as the page's renders are (see `render`).
        let picture = svdimg::original_scaled(&image.planes, color, scale);
        let (width, height) = (picture.width(), picture.height());
        if raw {
            // Raw RGBA8 pixels for a canvas: no encoding, no decoding.
            Ok(bytes_response(
                OCTETS,
                picture.to_rgba8().into_raw(),
                vec![
                    ("x-width", width.to_string()),
                    ("x-height", height.to_string()),
                ],
            ))
        } else {
            Ok(png_response(png(&picture)?, Vec::new()))
        }
    })
    .await
}
