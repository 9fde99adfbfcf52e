//! The HTTP API: routes, request parsing and the handlers, each a thin call into the
//! library on a blocking thread.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use faer::Par;
use image::DynamicImage;
use serde::Serialize;
use serde_json::json;
use svdimg::{CompressOptions, ErrorKind, StoredColor, Target, View};
use tokio::sync::{watch, Semaphore};

use super::page;
use super::store::{Factored, Image, Origin, Store};
use crate::figures;

/// What every handler shares.
pub struct AppState {
    pub store: Arc<Store>,
    /// `Host` header values accepted (DNS rebinding defence).
    pub hosts: Vec<String>,
    pub max_upload: usize,
    /// Heavy work (renders, compression) in flight at once.
    pub workers: Semaphore,
    /// Panics caught in handlers and blocking work: 0 is the only good number.
    pub panics: AtomicU64,
}

type Shared = Arc<AppState>;

/// An error answered as `{"error": "..."}` with a 4xx or 5xx status.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl ApiError {
    fn bad(message: impl Into<String>) -> Self {
        ApiError(StatusCode::BAD_REQUEST, message.into())
    }

    fn unprocessable(message: impl Into<String>) -> Self {
        ApiError(StatusCode::UNPROCESSABLE_ENTITY, message.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(json!({ "error": self.1 }))).into_response();
        no_store(response.headers_mut());
        response
    }
}

/// A library error as the status a client can act on.
impl From<svdimg::Error> for ApiError {
    fn from(e: svdimg::Error) -> Self {
        let status = match e.kind() {
            ErrorKind::InvalidParameter => StatusCode::BAD_REQUEST,
            ErrorKind::LimitExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::InvalidInput | ErrorKind::Unsupported => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The whole application: page, API, Host check and panic guard.
pub fn router(state: Shared) -> Router {
    let max_upload = state.max_upload;
    let api = Router::new()
        .route("/api/status", get(status))
        .route(
            "/api/images",
            get(list).post(upload).layer(DefaultBodyLimit::max(max_upload)),
        )
        .route("/api/images/{id}", get(describe))
        .route("/api/images/{id}/render", get(render))
        .route("/api/images/{id}/original", get(original))
        .route("/api/images/{id}/spectrum", get(spectrum))
        .route("/api/images/{id}/stats", get(stats))
        .route("/api/images/{id}/sizes", get(sizes))
        .route("/api/images/{id}/svdz", get(svdz))
        .route("/api/images/{id}/component", get(component))
        .route("/api/images/{id}/vectors", get(vectors))
        .route("/api/images/{id}/gallery", get(gallery))
        .route("/api/images/{id}/rank", get(rank));
    let panic_state = Arc::clone(&state);
    page::routes()
        .merge(api)
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such page or route".into()) })
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            move |_: Box<dyn std::any::Any + Send>| {
                panic_state.panics.fetch_add(1, Ordering::Relaxed);
                ApiError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error (the server goes on)".into(),
                )
                .into_response()
            },
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            check_host,
        ))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(state)
}

/// Refuses requests whose `Host` is not this server's address: a page on another site
/// that rebinds its DNS name to 127.0.0.1 still sends its own name.
async fn check_host(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_ascii_lowercase);
    match host {
        Some(h) if state.hosts.contains(&h) => next.run(request).await,
        Some(h) => ApiError(
            StatusCode::FORBIDDEN,
            format!("the Host header '{h}' is not this server's address"),
        )
        .into_response(),
        None => ApiError(StatusCode::FORBIDDEN, "the request has no Host header".into())
            .into_response(),
    }
}

/// Runs heavy work on a blocking thread, at most `workers` at once. A client that goes
/// away while waiting for a turn takes its work with it.
async fn blocking<T: Send + 'static>(
    state: &Shared,
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let _permit = state
        .workers
        .acquire()
        .await
        .map_err(|_| ApiError(StatusCode::SERVICE_UNAVAILABLE, "shutting down".into()))?;
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(_) => {
            state.panics.fetch_add(1, Ordering::Relaxed);
            Err(ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error (the server goes on)".into(),
            ))
        }
    }
}

type Params = HashMap<String, String>;

fn params(query: Result<Query<Params>, QueryRejection>) -> ApiResult<Params> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError::bad(format!("bad query string: {}", e.body_text())))
}

fn image_of(state: &Shared, id: Result<Path<String>, PathRejection>) -> ApiResult<Arc<Image>> {
    let Path(id) = id.map_err(|e| ApiError::bad(e.body_text()))?;
    state.store.get(&id).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("no image '{id}' (unknown, or dropped from memory: upload it again)"),
        )
    })
}

fn number<T: std::str::FromStr>(q: &Params, key: &str) -> ApiResult<Option<T>> {
    q.get(key)
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| ApiError::bad(format!("{key}={v} is not a valid number")))
        })
        .transpose()
}

/// A colour model and a rank per stored plane, from `mode`, `k` and the per-plane `kr`,
/// `kg`, `kb`, `ky`, `kc`.
struct Setting {
    color: StoredColor,
    ranks: Vec<usize>,
}

fn color_of(image: &Image, q: &Params) -> ApiResult<StoredColor> {
    let color = match q.get("mode").map(String::as_str) {
        None | Some("") => return Ok(image.default_color()),
        Some("rgb" | "channels") => StoredColor::Rgb,
        Some("ycbcr") => StoredColor::YCbCr,
        Some("gray") => StoredColor::Gray,
        Some(other) => {
            return Err(ApiError::bad(format!(
                "mode={other}: use rgb, ycbcr or gray"
            )))
        }
    };
    if color != StoredColor::Gray && image.planes.color.len() == 1 {
        return Err(ApiError::unprocessable(format!(
            "the image is gray: it has no {} planes (use mode=gray)",
            color.as_str()
        )));
    }
    Ok(color)
}

fn setting(image: &Image, q: &Params) -> ApiResult<Setting> {
    let color = color_of(image, q)?;
    let k: Option<usize> = number(q, "k")?;
    if k == Some(0) {
        return Err(ApiError::bad("k must be at least 1"));
    }
    let keys: &[&str] = match color {
        StoredColor::Gray => &["k"],
        StoredColor::Rgb => &["kr", "kg", "kb"],
        StoredColor::YCbCr => &["ky", "kc", "kc"],
    };
    let ranks = keys
        .iter()
        .map(|key| {
            number::<usize>(q, key)?
                .or(k)
                .ok_or_else(|| ApiError::bad(format!("missing k (or {key})")))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    if ranks.iter().all(|&r| r == 0) {
        return Err(ApiError::bad("at least one plane needs a rank of 1 or more"));
    }
    Ok(Setting { color, ranks })
}

/// Waits for the exact factors, or with `preview` for whatever comes first.
async fn view(
    state: &Shared,
    image: &Arc<Image>,
    color: StoredColor,
    preview: bool,
) -> ApiResult<Arc<View>> {
    let mut receiver: watch::Receiver<Factored> = state.store.factors(image, color);
    let ready = receiver
        .wait_for(|f| f.error.is_some() || f.exact.is_some() || (preview && f.preview.is_some()))
        .await
        .map_err(|_| {
            ApiError(
                StatusCode::SERVICE_UNAVAILABLE,
                "the factorisation was dropped to stay within --memory: try again".into(),
            )
        })?;
    if let Some(e) = &ready.error {
        return Err(ApiError::unprocessable(format!(
            "cannot factor '{}': {e}",
            image.name
        )));
    }
    Ok(ready.best().expect("waited for factors"))
}

#[derive(Serialize)]
struct ImageJson {
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

async fn status(State(state): State<Shared>) -> Response {
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

async fn list(State(state): State<Shared>) -> Json<serde_json::Value> {
    let images: Vec<ImageJson> = state
        .store
        .list()
        .iter()
        .filter(|i| i.origin != Origin::Upload)
        .map(|i| image_json(i))
        .collect();
    Json(json!({ "images": images }))
}

async fn upload(
    State(state): State<Shared>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<ImageJson>)> {
    let body = body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError(
                status,
                format!(
                    "the upload is larger than the server's limit of {} bytes (--max-upload)",
                    state.max_upload
                ),
            )
        } else {
            ApiError(status, format!("cannot read the upload: {}", e.body_text()))
        }
    })?;
    if body.is_empty() {
        return Err(ApiError::unprocessable("the upload is empty: send the image file's bytes"));
    }
    let store = Arc::clone(&state.store);
    let image = blocking(&state, move || {
        store
            .add(&body, "upload".into(), Origin::Upload, None)
            .map_err(|e| {
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

async fn describe(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<ImageJson>> {
    let image = image_of(&state, id)?;
    Ok(Json(image_json(&image)))
}

fn png(image: &DynamicImage) -> ApiResult<Vec<u8>> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut bytes = Vec::new();
    image
        .write_with_encoder(PngEncoder::new_with_quality(
            Cursor::new(&mut bytes),
            CompressionType::Fast,
            FilterType::Adaptive,
        ))
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("PNG: {e}")))?;
    Ok(bytes)
}

fn png_response(bytes: Vec<u8>, headers: Vec<(&'static str, String)>) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "image/png")], bytes).into_response();
    add_headers(&mut response, headers);
    response
}

fn add_headers(response: &mut Response, headers: Vec<(&'static str, String)>) {
    no_store(response.headers_mut());
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
}

/// Raw RGBA8 pixels for a canvas (the page's fast path): no encoding, no decoding.
fn rgba_response(image: &DynamicImage, headers: Vec<(&'static str, String)>) -> Response {
    let rgba = image.to_rgba8();
    let mut response = (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        rgba.into_raw(),
    )
        .into_response();
    add_headers(&mut response, headers);
    response
}

fn raw(q: &Params) -> ApiResult<bool> {
    match q.get("format").map(String::as_str) {
        None | Some("png") => Ok(false),
        Some("rgba") => Ok(true),
        Some(other) => Err(ApiError::bad(format!("format={other}: use png or rgba"))),
    }
}

fn ranks_text(ranks: &[usize]) -> String {
    ranks
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

async fn render(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Response> {
    let image = image_of(&state, id)?;
    let q = params(query)?;
    let setting = setting(&image, &q)?;
    let raw = raw(&q)?;
    let preview = q.get("preview").is_some_and(|v| v == "1");
    let view = view(&state, &image, setting.color, preview).await?;
    blocking(&state, move || {
        let alpha = image.planes.alpha.as_ref().map(|a| &a.data[..]);
        let r = view.render(&setting.ranks, alpha, image.planes.bit_depth, Par::rayon(0))?;
        let headers = vec![
            ("x-ranks", ranks_text(&r.ranks)),
            ("x-exact", u8::from(view.is_exact()).to_string()),
            ("x-max-rank", view.max_rank().to_string()),
            ("x-width", image.planes.width.to_string()),
            ("x-height", image.planes.height.to_string()),
        ];
        if raw {
            Ok(rgba_response(&r.image, headers))
        } else {
            Ok(png_response(png(&r.image)?, headers))
        }
    })
    .await
}

async fn original(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Response> {
    let image = image_of(&state, id)?;
    let q = params(query)?;
    let raw = raw(&q)?;
    let gray = color_of(&image, &q)? == StoredColor::Gray;
    blocking(&state, move || {
        let p = &image.planes;
        let stored = svdimg::stored_planes(
            p,
            if gray {
                StoredColor::Gray
            } else {
                image.default_color()
            },
        );
        let color: Vec<&[f32]> = stored.iter().map(|c| &c[..]).collect();
        let alpha = p.alpha.as_ref().map(|a| &a.data[..]);
        let picture = svdimg::to_image(p.width, p.height, &color, alpha, p.bit_depth);
        if raw {
            Ok(rgba_response(&picture, Vec::new()))
        } else {
            Ok(png_response(png(&picture)?, Vec::new()))
        }
    })
    .await
}

async fn spectrum(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Response> {
    let image = image_of(&state, id)?;
    let q = params(query)?;
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

async fn stats(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let image = image_of(&state, id)?;
    let q = params(query)?;
    let setting = setting(&image, &q)?;
    let preview = q.get("preview").is_some_and(|v| v == "1");
    let view = view(&state, &image, setting.color, preview).await?;
    blocking(&state, move || {
        let quality = view.quality(&image.planes, &setting.ranks, Par::rayon(0))?;
        let (m, n) = (image.planes.height as u64, image.planes.width as u64);
        let ranks: Vec<usize> = setting
            .ranks
            .iter()
            .zip(view.factors())
            .map(|(&k, f)| k.min(f.rank()))
            .collect();
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
            return Err(ApiError::bad(format!("psnr={db}: use a value in (0, 200] dB")));
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
            StoredColor::YCbCr => svdimg::ColorChoice::YCbCr,
        },
        ..CompressOptions::default()
    };
    Ok(svdimg::compress_factored(
        &image.planes,
        view.factors(),
        &options,
    )?)
}

async fn svdz(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Response> {
    let image = image_of(&state, id)?;
    let q = params(query)?;
    let (color, target) = svdz_target(&image, &q)?;
    let view = view(&state, &image, color, false).await?;
    blocking(&state, move || {
        let file = compress(&image, &view, target)?;
        let stem = image
            .name
            .rsplit(['/', '\\'])
            .next()
            .and_then(|n| n.split('.').next())
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or("image");
        let mut response = (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            file.bytes,
        )
            .into_response();
        add_headers(
            &mut response,
            vec![
                (
                    "content-disposition",
                    format!("attachment; filename=\"{stem}.svdz\""),
                ),
                ("x-psnr-db", format!("{:.4}", file.psnr_db)),
                ("x-ssim", format!("{:.6}", file.ssim)),
                (
                    "x-ranks",
                    ranks_text(&file.ranks.iter().map(|r| r.1).collect::<Vec<_>>()),
                ),
            ],
        );
        Ok(response)
    })
    .await
}

/// The sizes that put a setting in context: its real `.svdz` file, the input file, and
/// the JPEG that reaches the same PSNR.
async fn sizes(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let image = image_of(&state, id)?;
    let q = params(query)?;
    let setting = setting(&image, &q)?;
    let view = view(&state, &image, setting.color, false).await?;
    blocking(&state, move || {
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
            "jpeg_bytes": jpeg.map(|j| j.1.bytes),
            "jpeg_quality": jpeg.map(|j| j.0),
            "jpeg_psnr_db": jpeg.map(|j| j.1.psnr_db),
        })))
    })
    .await
}

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

/// Largest side of a component picture.
const TILE_SIDE: u32 = 480;

async fn component(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Response> {
    let image = image_of(&state, id)?;
    let q = params(query)?;
    let color = color_of(&image, &q)?;
    let part = match (
        number::<usize>(&q, "i")?,
        number::<usize>(&q, "sum")?,
        number::<usize>(&q, "remainder")?,
    ) {
        (Some(i), None, None) if i >= 1 => Part::One(i),
        (None, Some(k), None) if k >= 1 => Part::Sum(k),
        (None, None, Some(k)) => Part::Remainder(k),
        _ => return Err(ApiError::bad("give one of i=I (1-based), sum=K or remainder=K")),
    };
    let view = view(&state, &image, color, q.get("preview").is_some_and(|v| v == "1")).await?;
    let plane = plane_of(&view, &q)?;
    blocking(&state, move || {
        let (m, n) = (view.height(), view.width());
        let par = Par::rayon(0);
        let values = match part {
            Part::One(i) => view.components(plane, i - 1..i, par)?,
            Part::Sum(k) => view.components(plane, 0..k, par)?,
            Part::Remainder(k) => {
                let sum = view.components(plane, 0..k, par)?;
                let stored = svdimg::stored_planes(&image.planes, color);
                stored[plane].iter().zip(&sum).map(|(a, s)| a - s).collect()
            }
        };
        let peak = values.iter().fold(0.0f32, |p, &x| p.max(x.abs()));
        let scale = if peak > 0.0 { 1.0 / f64::from(peak) } else { 0.0 };
        // A_k of a gray, R, G, B or Y plane is a picture: shown as one, in gray. The rest
        // (components, remainders, chroma) have signs: shown on the diverging map.
        let picture = matches!(part, Part::Sum(_)) && !matches!(view.color(), StoredColor::YCbCr if plane > 0);
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

async fn vectors(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let image = image_of(&state, id)?;
    let q = params(query)?;
    let color = color_of(&image, &q)?;
    let i = number::<usize>(&q, "i")?.ok_or_else(|| ApiError::bad("missing i (1-based)"))?;
    let view = view(&state, &image, color, q.get("preview").is_some_and(|v| v == "1")).await?;
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

async fn gallery(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Response> {
    let image = image_of(&state, id)?;
    let q = params(query)?;
    let color = color_of(&image, &q)?;
    let ranks: Vec<usize> = match q.get("ranks") {
        None => vec![1, 2, 3, 4, 5, 10, 20, 50],
        Some(list) => list
            .split(',')
            .map(|r| match r.trim().parse::<usize>() {
                Ok(k) if k >= 1 => Ok(k),
                _ => Err(ApiError::bad(format!("ranks: '{r}' is not a rank of 1 or more"))),
            })
            .collect::<ApiResult<_>>()?,
    };
    if ranks.is_empty() || ranks.len() > 24 {
        return Err(ApiError::bad("ranks: give 1 to 24 ranks"));
    }
    let view = view(&state, &image, color, false).await?;
    blocking(&state, move || {
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
        let mut response = png_response(png(&grid)?, Vec::new());
        add_headers(
            &mut response,
            vec![(
                "content-disposition",
                "attachment; filename=\"gallery.png\"".into(),
            )],
        );
        Ok(response)
    })
    .await
}

/// The smallest k (the same for every plane) whose image reaches `psnr=DB`.
async fn rank(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let image = image_of(&state, id)?;
    let q = params(query)?;
    let color = color_of(&image, &q)?;
    let db = number::<f64>(&q, "psnr")?.ok_or_else(|| ApiError::bad("missing psnr=DB"))?;
    if !(db.is_finite() && db > 0.0) {
        return Err(ApiError::bad(format!("psnr={db}: use a positive number of dB")));
    }
    let view = view(&state, &image, color, false).await?;
    blocking(&state, move || {
        Ok(Json(match view.rank_for_psnr(&image.planes, db, Par::rayon(0))? {
            Ok(k) => json!({ "psnr_db": db, "k": k }),
            Err(best) => json!({
                "psnr_db": db,
                "k": null,
                "best_psnr_db": best.is_finite().then_some(best),
            }),
        }))
    })
    .await
}
