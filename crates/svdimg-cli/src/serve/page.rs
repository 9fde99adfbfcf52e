//! The page: HTML, CSS and JavaScript compiled into the binary, so that it works offline
//! and from any directory. Plain ES modules, no build step.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::api::AppState;

const INDEX: &str = include_str!("assets/index.html");

/// The page's files: path, contents, media type.
const FILES: [(&str, &str, &str); 14] = [
    ("/app.js", include_str!("assets/app.js"), JS),
    ("/api.js", include_str!("assets/api.js"), JS),
    ("/charts.js", include_str!("assets/charts.js"), JS),
    ("/explain.js", include_str!("assets/explain.js"), JS),
    ("/lesson.js", include_str!("assets/lesson.js"), JS),
    ("/numbers.js", include_str!("assets/numbers.js"), JS),
    ("/parts.js", include_str!("assets/parts.js"), JS),
    ("/scale.js", include_str!("assets/scale.js"), JS),
    ("/sliders.js", include_str!("assets/sliders.js"), JS),
    ("/state.js", include_str!("assets/state.js"), JS),
    ("/status.js", include_str!("assets/status.js"), JS),
    ("/util.js", include_str!("assets/util.js"), JS),
    ("/zoom.js", include_str!("assets/zoom.js"), JS),
    (
        "/style.css",
        include_str!("assets/style.css"),
        "text/css; charset=utf-8",
    ),
];

const JS: &str = "text/javascript; charset=utf-8";

/// Scripts and styles come from this server only; images may be blobs made by the page.
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; \
                   script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

pub fn routes() -> Router<std::sync::Arc<AppState>> {
    let page = Router::new().route(
        "/",
        get(|| async { asset(INDEX, "text/html; charset=utf-8") }),
    );
    FILES.iter().fold(page, |router, &(path, body, kind)| {
        router.route(path, get(move || async move { asset(body, kind) }))
    })
}
