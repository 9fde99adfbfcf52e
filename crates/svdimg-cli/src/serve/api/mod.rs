//! The HTTP API: routes, errors, the Host check, and what the handlers share (request
//! parsing, waiting for factors, running work on blocking threads). The handlers are thin
//! calls into the library, by noun: images, renders of a setting, and parts of an image
//! (components, vectors, the gallery).

mod images;
mod lesson;
mod parts;
mod renders;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
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
use images::{describe, list, original, status, upload};
use lesson::lesson;
use parts::{component, gallery, vectors};
use renders::{rank, render, sizes, spectrum, stats, svdz};

/// What every handler shares.
pub struct AppState {
    pub store: Arc<Store>,
    /// `Host` header values accepted (DNS rebinding defence).
    pub hosts: Vec<String>,
    pub max_upload: usize,
    /// Heavy work (renders, compression) in flight at once.
    pub workers: Semaphore,
    /// Slow requests in flight at once (see `slow_blocking`).
    pub slow: Semaphore,
    /// The one thread slow work runs on, so that renders always find a core.
    pub slow_pool: rayon::ThreadPool,
    /// Numbers and component pictures in flight at once (see `side_blocking`).
    pub side: Semaphore,
    /// The one thread they run on.
    pub side_pool: rayon::ThreadPool,
    /// Panics caught in handlers and blocking work: 0 is the only good number.
    pub panics: AtomicU64,
    /// The newest `latest=1` request of each kind for each image (see `Turn`).
    newest: std::sync::Mutex<HashMap<(String, &'static str), u64>>,
    tickets: AtomicU64,
}

/// A request's place among those of its kind for its image. The page marks its requests
/// for numbers `latest=1`: one still waiting for its lane when a newer one of the same
/// kind arrives is answered `409` without being computed, so that a page moving its slider
/// never leaves a queue of stale work behind it (a request's work, once started, runs on).
pub(super) struct Turn {
    key: Option<((String, &'static str), u64)>,
}

impl AppState {
    /// Takes a turn for `kind` of `image` when the request asks for `latest=1`.
    pub(super) fn turn(&self, image: &Image, kind: &'static str, q: &Params) -> Turn {
        if q.get("latest").is_none_or(|v| v != "1") {
            return Turn { key: None };
        }
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed) + 1;
        let key = (image.id.clone(), kind);
        self.newest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), ticket);
        Turn {
            key: Some((key, ticket)),
        }
    }

    /// `409` when a newer request has taken this one's place.
    pub(super) fn check_turn(&self, turn: &Turn) -> ApiResult<()> {
        let Some((key, ticket)) = &turn.key else {
            return Ok(());
        };
        let newest = self.newest.lock().unwrap_or_else(|e| e.into_inner());
        if newest.get(key).is_some_and(|n| n != ticket) {
            return Err(ApiError(
                StatusCode::CONFLICT,
                "superseded by a newer request for this image".into(),
            ));
        }
        Ok(())
    }
}

impl AppState {
    /// The state of a server over `store`, answering to `hosts`, taking uploads of at most
    /// `max_upload` bytes.
    pub fn new(store: Arc<Store>, hosts: Vec<String>, max_upload: usize) -> anyhow::Result<Self> {
        let pool = |name: &'static str| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .thread_name(move |_| name.into())
                .start_handler(|_| super::yield_to_renders())
                .build()
        };
        Ok(AppState {
            store,
            hosts,
            max_upload,
            workers: Semaphore::new(super::WORKERS),
            slow: Semaphore::new(1),
            slow_pool: pool("svdimg-slow")?,
            side: Semaphore::new(1),
            side_pool: pool("svdimg-side")?,
            panics: AtomicU64::new(0),
            newest: Default::default(),
            tickets: AtomicU64::new(0),
        })
    }
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
    let api = Router::new()
        .route("/api/status", get(status))
        .route(
            "/api/images",
            get(list).post(upload).layer(DefaultBodyLimit::disable()),
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
        .route("/api/images/{id}/rank", get(rank))
        .route("/api/images/{id}/lesson", get(lesson));
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
        None => ApiError(
            StatusCode::FORBIDDEN,
            "the request has no Host header".into(),
        )
        .into_response(),
    }
}

/// Runs interactive work (renders, numbers, components) on a blocking thread, at most
/// `workers` at once. A client that goes away while waiting for a turn takes its work with
/// it.
async fn blocking<T: Send + 'static>(
    state: &Shared,
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    run_with(state, &state.workers, work).await
}

/// Runs slow work (a `.svdz` file, sizes, a rank search, the gallery, the lesson: up to
/// seconds) in a lane of its own, one at a time and on one thread of its own, so that it
/// never holds a turn, or a core, that a render is waiting for.
async fn slow_blocking<T: Send + 'static>(
    state: &Shared,
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let lane = Arc::clone(state);
    run_with(state, &state.slow, move || lane.slow_pool.install(work)).await
}

/// Runs the numbers of a setting (PSNR and SSIM over every pixel: seconds at 24 MP) in a
/// lane of its own, one at a time on one thread, so that on a large picture a render never
/// waits behind them: the picture comes first, its numbers after.
async fn side_blocking<T: Send + 'static>(
    state: &Shared,
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let lane = Arc::clone(state);
    run_with(state, &state.side, move || lane.side_pool.install(work)).await
}

async fn run_with<T: Send + 'static>(
    state: &Shared,
    lane: &Semaphore,
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let _permit = lane
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

/// The image a request's path names, and its query string: what most handlers start from.
pub(super) struct ImageRequest {
    pub image: Arc<Image>,
    pub q: Params,
}

impl axum::extract::FromRequestParts<Shared> for ImageRequest {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Shared,
    ) -> ApiResult<Self> {
        let id = Path::<String>::from_request_parts(parts, state).await;
        let query = Query::<Params>::from_request_parts(parts, state).await;
        // An unknown image is 404 whatever the query says.
        let image = image_of(state, id)?;
        Ok(ImageRequest {
            image,
            q: params(query)?,
        })
    }
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

/// Whether a request accepts a randomized preview (`preview=1`) while the exact factors
/// are being computed.
fn wants_preview(q: &Params) -> bool {
    q.get("preview").is_some_and(|v| v == "1")
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
pub(super) struct Setting {
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
        StoredColor::YCbCr | StoredColor::YCbCr601 => &["ky", "kc", "kc"],
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
        return Err(ApiError::bad(
            "at least one plane needs a rank of 1 or more",
        ));
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
    bytes_response("image/png", bytes, headers)
}

/// A body of `content_type` with extra headers, never cached.
fn bytes_response(
    content_type: &'static str,
    bytes: Vec<u8>,
    headers: Vec<(&'static str, String)>,
) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], bytes).into_response();
    add_headers(&mut response, headers);
    response
}

/// Raw bytes (RGBA pixels, a `.svdz` file) with extra headers.
const OCTETS: &str = "application/octet-stream";

fn add_headers(response: &mut Response, headers: Vec<(&'static str, String)>) {
    no_store(response.headers_mut());
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
}

/// `scale=S`: a picture reduced S times in each direction (1 to 64; default 1).
fn scale(q: &Params) -> ApiResult<usize> {
    match number::<usize>(q, "scale")? {
        None => Ok(1),
        Some(s @ 1..=64) => Ok(s),
        Some(s) => Err(ApiError::bad(format!("scale={s}: use 1 to 64"))),
    }
}

/// The file-name stem of an image's name, for downloads: `photos/cat.jpg` → `cat`, or
/// `image` when nothing safe is left.
fn file_stem(name: &str) -> &str {
    name.rsplit(['/', '\\'])
        .next()
        .and_then(|n| n.split('.').next())
        .filter(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .unwrap_or("image")
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
