//! The page: HTML, CSS and JavaScript compiled into the binary (from the library's
//! `svdimg::PAGE_*`, which the notebook widget shares), so that it works offline and from
//! any directory. Plain ES modules, no build step.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::api::AppState;

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
    let page = Router::new()
        .route(
            "/",
            get(|| async { asset(svdimg::PAGE_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/style.css",
            get(|| async { asset(svdimg::PAGE_CSS, "text/css; charset=utf-8") }),
        );
    svdimg::PAGE_MODULES
        .iter()
        .fold(page, |router, &(name, body)| {
            router.route(
                &format!("/{name}"),
                get(move || async move { asset(body, JS) }),
            )
        })
}
