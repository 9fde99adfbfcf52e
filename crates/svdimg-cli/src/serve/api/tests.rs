//! The handlers, called through the router as a client would (no socket).

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

use super::*;
use crate::serve::store::Store;

const HOST: &str = "127.0.0.1:8470";

fn app_with(budget: u64, max_pixels: u64, max_upload: usize) -> Router {
    let state = Arc::new(
        AppState::new(
            Arc::new(Store::new(budget, max_pixels)),
            vec![HOST.into(), "localhost:8470".into()],
            max_upload,
        )
        .unwrap(),
    );
    router(state)
}

fn app() -> Router {
    app_with(1 << 30, 10_000_000, 1 << 20)
}

async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    host: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(h) = host {
        request = request.header("host", h);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, bytes.to_vec())
}

async fn get(app: &Router, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
    send(app, "GET", uri, Some(HOST), Vec::new()).await
}

fn json_of(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

/// Uploads the sample and returns its id.
async fn upload_sample(app: &Router) -> String {
    let (status, _, body) = send(
        app,
        "POST",
        "/api/images",
        Some(HOST),
        svdimg::SAMPLE_PNG.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let reply = json_of(&body);
    assert_eq!(reply["width"], 256);
    assert_eq!(reply["height"], 256);
    assert_eq!(reply["color"], "rgb");
    assert_eq!(reply["planes"], json!(["r", "g", "b"]));
    reply["id"].as_str().unwrap().to_string()
}

fn error_of(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> (StatusCode, String) {
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    (status, json_of(body)["error"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn render_is_the_library_approximation() {
    let app = app();
    let id = upload_sample(&app).await;
    let (status, headers, body) = get(&app, &format!("/api/images/{id}/render?k=12")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    let served = image::load_from_memory(&body).unwrap().to_rgb8();
    // What `svdimg approx -k 12 --method exact` writes.
    let picture = svdimg::Picture::decode(svdimg::SAMPLE_PNG, &svdimg::Limits::default()).unwrap();
    let planes = picture.planes::<f32>(false);
    let svd = svdimg::Decomposition::compute(&planes).unwrap();
    let expected = svdimg::approximate(&planes, &svd, 12, Par::Seq).unwrap();
    assert_eq!(served, expected.image.to_rgb8());
    // The page's raw pixels are the same image.
    let (_, headers, raw) = get(&app, &format!("/api/images/{id}/render?k=12&format=rgba")).await;
    assert_eq!(headers["x-width"], "256");
    assert_eq!(headers["x-exact"], "1");
    let rgba = image::RgbaImage::from_raw(256, 256, raw).unwrap();
    assert_eq!(image::DynamicImage::ImageRgba8(rgba).to_rgb8(), served);
}

#[tokio::test]
async fn stats_and_spectrum_match_the_library() {
    let app = app();
    let id = upload_sample(&app).await;
    let picture = svdimg::Picture::decode(svdimg::SAMPLE_PNG, &svdimg::Limits::default()).unwrap();
    let planes = picture.planes::<f32>(false);
    let svd = svdimg::Decomposition::compute(&planes).unwrap();
    let expected = svdimg::approximate(&planes, &svd, 30, Par::Seq)
        .unwrap()
        .report;
    let (status, _, body) = get(&app, &format!("/api/images/{id}/stats?k=30")).await;
    assert_eq!(status, StatusCode::OK);
    let stats = json_of(&body);
    let psnr = stats["psnr_db"].as_f64().unwrap();
    assert!(
        (psnr - expected.psnr_db).abs() < 1e-6,
        "{psnr} vs {}",
        expected.psnr_db
    );
    assert!((stats["ssim"].as_f64().unwrap() - expected.ssim).abs() < 1e-9);
    assert_eq!(stats["stored_values"], expected.storage.stored_values);
    let (_, _, body) = get(&app, &format!("/api/images/{id}/spectrum")).await;
    let spectrum = json_of(&body);
    let names: Vec<&str> = spectrum["planes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["r", "g", "b"]);
    let served: Vec<f64> = spectrum["planes"][1]["singular_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let exact = svd.planes[1].1.singular_values();
    assert_eq!(served.len(), 256);
    for (a, b) in served.iter().zip(exact) {
        assert!((a - f64::from(*b)).abs() <= 1e-5 * f64::from(exact[0]));
    }
}

#[tokio::test]
async fn ycbcr_with_separate_ranks_and_gray() {
    let app = app();
    let id = upload_sample(&app).await;
    let (status, headers, body) = get(
        &app,
        &format!("/api/images/{id}/render?mode=ycbcr&ky=40&kc=0"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-ranks"], "40,0,0");
    // No chroma components: every pixel is gray.
    let rgb = image::load_from_memory(&body).unwrap().to_rgb8();
    assert!(rgb
        .pixels()
        .all(|p| p[0].abs_diff(p[1]) <= 1 && p[1].abs_diff(p[2]) <= 1));
    // The page's raw pixels, made band by band, are the same.
    for query in [
        "mode=ycbcr&ky=40&kc=0",
        "mode=ycbcr&ky=9&kc=4",
        "mode=rgb&kr=1&kg=30&kb=256",
        "mode=gray&k=3",
    ] {
        let (_, _, png) = get(&app, &format!("/api/images/{id}/render?{query}")).await;
        let (_, _, raw) = get(
            &app,
            &format!("/api/images/{id}/render?{query}&format=rgba"),
        )
        .await;
        let rgba = image::RgbaImage::from_raw(256, 256, raw).unwrap();
        let png = image::load_from_memory(&png).unwrap();
        assert_eq!(
            image::DynamicImage::ImageRgba8(rgba).to_rgb8(),
            png.to_rgb8(),
            "{query}"
        );
    }
    let (status, _, body) = get(&app, &format!("/api/images/{id}/render?mode=gray&k=5")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        image::load_from_memory(&body).unwrap().color(),
        image::ColorType::L8
    );
}

#[tokio::test]
async fn svdz_downloads_decode() {
    let app = app();
    let id = upload_sample(&app).await;
    let (status, headers, body) = get(&app, &format!("/api/images/{id}/svdz?psnr=30")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains(".svdz"));
    let info = svdimg::inspect(&body, &svdimg::Limits::default()).unwrap();
    assert_eq!(info.color, StoredColor::YCbCr);
    assert!(
        headers["x-psnr-db"]
            .to_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            >= 30.0
    );
    let (_, headers, body) = get(&app, &format!("/api/images/{id}/svdz?rank=7&mode=rgb")).await;
    let info = svdimg::inspect(&body, &svdimg::Limits::default()).unwrap();
    assert_eq!(info.ranks, vec![("r", 7), ("g", 7), ("b", 7)]);
    assert_eq!(headers["x-ranks"], "7,7,7");
}

#[tokio::test]
async fn bad_uploads_get_json_errors() {
    let app = app_with(1 << 30, 1000, 4096);
    let (status, headers, body) = send(
        &app,
        "POST",
        "/api/images",
        Some(HOST),
        b"not an image".to_vec(),
    )
    .await;
    assert_eq!(
        error_of(status, &headers, &body),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a recognised image format".into()
        )
    );
    let (status, headers, body) =
        send(&app, "POST", "/api/images", Some(HOST), vec![0; 5000]).await;
    let (status, message) = error_of(status, &headers, &body);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(message.contains("4096 bytes"), "{message}");
    // A PNG cut short: decodable header, missing data.
    let cut = svdimg::SAMPLE_PNG[..200].to_vec();
    let (status, headers, body) = send(&app, "POST", "/api/images", Some(HOST), cut).await;
    let (status, message) = error_of(status, &headers, &body);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(message.starts_with("the image is truncated"), "{message}");
    // Over the pixel limit (1000 pixels).
    let small = app_with(1 << 30, 1000, 1 << 20);
    let (status, headers, body) = send(
        &small,
        "POST",
        "/api/images",
        Some(HOST),
        svdimg::SAMPLE_PNG.to_vec(),
    )
    .await;
    let (status, message) = error_of(status, &headers, &body);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        message.contains("65536 pixels, over the limit of 1000"),
        "{message}"
    );
    let (status, headers, body) = send(&app, "POST", "/api/images", Some(HOST), Vec::new()).await;
    assert_eq!(
        error_of(status, &headers, &body).0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn host_header_is_checked() {
    let app = app();
    for host in [
        Some("evil.example:8470"),
        Some("127.0.0.1:9999"),
        Some("localhost"),
        None,
    ] {
        let (status, headers, body) = send(&app, "GET", "/api/images", host, Vec::new()).await;
        assert_eq!(
            error_of(status, &headers, &body).0,
            StatusCode::FORBIDDEN,
            "{host:?}"
        );
    }
    let (status, ..) = send(&app, "GET", "/", Some("localhost:8470"), Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    // Before any handler: an upload from a rebinding page is refused too.
    let (status, ..) = send(
        &app,
        "POST",
        "/api/images",
        Some("evil.example:8470"),
        svdimg::SAMPLE_PNG.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_requests_get_4xx_json() {
    let app = app();
    let id = upload_sample(&app).await;
    let cases = [
        ("/api/images/nope/render?k=3", StatusCode::NOT_FOUND),
        ("/api/images/nope/spectrum", StatusCode::NOT_FOUND),
        ("/api/nothing", StatusCode::NOT_FOUND),
        (&format!("/api/images/{id}/render"), StatusCode::BAD_REQUEST),
        (
            &format!("/api/images/{id}/render?k=0"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("/api/images/{id}/render?k=abc"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("/api/images/{id}/render?k=-1"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("/api/images/{id}/render?k=99999999999999999999999"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("/api/images/{id}/render?k=3&mode=cmyk"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("/api/images/{id}/render?k=3&format=gif"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("/api/images/{id}/render?mode=ycbcr&ky=0&kc=0"),
            StatusCode::BAD_REQUEST,
        ),
        (&format!("/api/images/{id}/svdz"), StatusCode::BAD_REQUEST),
        (
            &format!("/api/images/{id}/svdz?psnr=nan"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("/api/images/{id}/component?i=0"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("/api/images/{id}/vectors?i=999"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("/api/images/{id}/component?i=1&plane=7"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("/api/images/{id}/gallery?ranks=1,x"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &format!("/api/images/{id}/render?k=%ZZ"),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (uri, expected) in cases {
        let (status, headers, body) = get(&app, uri).await;
        assert_eq!(error_of(status, &headers, &body).0, expected, "{uri}");
    }
    // A k past min(m, n) is clamped, as `svdimg approx` does.
    let (status, headers, _) = get(&app, &format!("/api/images/{id}/render?k=5000")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-ranks"], "256,256,256");
}

#[tokio::test]
async fn gray_images_have_one_plane() {
    let app = app();
    let gray = image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(40, 30, |x, y| {
        image::Luma([(x * 6 + y) as u8])
    }));
    let mut png = Vec::new();
    gray.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let (status, _, body) = send(&app, "POST", "/api/images", Some(HOST), png).await;
    assert_eq!(status, StatusCode::CREATED);
    let reply = json_of(&body);
    assert_eq!(reply["planes"], json!(["gray"]));
    let id = reply["id"].as_str().unwrap();
    let (status, headers, body) = get(&app, &format!("/api/images/{id}/render?k=2&mode=rgb")).await;
    let (status, message) = error_of(status, &headers, &body);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        message,
        "the image is gray: it has no rgb planes (use mode=gray)"
    );
    let (status, ..) = get(&app, &format!("/api/images/{id}/render?k=2")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn components_add_up_and_rank_meets_psnr() {
    let app = app();
    let id = upload_sample(&app).await;
    let (status, headers, _) = get(&app, &format!("/api/images/{id}/component?i=1&plane=1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    let (_, _, body) = get(&app, &format!("/api/images/{id}/vectors?i=2&mode=ycbcr")).await;
    let v = json_of(&body);
    assert_eq!(v["plane"], "y");
    assert_eq!(v["u"].as_array().unwrap().len(), 256);
    let (_, _, body) = get(&app, &format!("/api/images/{id}/rank?psnr=30")).await;
    let k = json_of(&body)["k"].as_u64().unwrap();
    let psnr_at = |stats: Vec<u8>| json_of(&stats)["psnr_db"].as_f64().unwrap();
    let (_, _, at) = get(&app, &format!("/api/images/{id}/stats?k={k}")).await;
    let (_, _, below) = get(&app, &format!("/api/images/{id}/stats?k={}", k - 1)).await;
    assert!(psnr_at(at) >= 30.0);
    assert!(psnr_at(below) < 30.0);
}

/// A `latest=1` request overtaken by a newer one of its kind for its image gives way; one
/// without the flag, or of another kind, never does.
#[test]
fn a_newer_request_supersedes_a_waiting_one() {
    let state = AppState::new(
        Arc::new(Store::new(1 << 30, 10_000_000)),
        vec![HOST.into()],
        1 << 20,
    )
    .unwrap();
    let image = state
        .store
        .add(
            svdimg::SAMPLE_PNG,
            "s".into(),
            Origin::Sample,
            Some("s".into()),
        )
        .unwrap();
    let latest: Params = [("latest".to_string(), "1".to_string())].into();
    let first = state.turn(&image, "sizes", &latest);
    let plain = state.turn(&image, "sizes", &Params::new());
    let other = state.turn(&image, "stats", &latest);
    assert!(state.check_turn(&first).is_ok());
    let second = state.turn(&image, "sizes", &latest);
    let ApiError(status, message) = state.check_turn(&first).unwrap_err();
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(message, "superseded by a newer request for this image");
    assert!(state.check_turn(&second).is_ok());
    assert!(state.check_turn(&plain).is_ok());
    assert!(state.check_turn(&other).is_ok());
}

/// A render reduced S times is the approximation's block means (before clipping), within
/// a rounding step: the library's unclipped reconstruction, averaged here.
#[tokio::test]
async fn a_scaled_render_is_the_mean_of_blocks() {
    let app = app();
    let id = upload_sample(&app).await;
    let (status, headers, small) = get(
        &app,
        &format!("/api/images/{id}/render?k=20&format=rgba&scale=3"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-width"], "86");
    assert_eq!(headers["x-scale"], "3");
    assert_eq!(small.len(), 4 * 86 * 86);
    let planes = svdimg::Picture::decode(svdimg::SAMPLE_PNG, &svdimg::Limits::default())
        .unwrap()
        .planes::<f32>(false);
    let view = View::exact(&planes, StoredColor::Rgb, Par::Seq).unwrap();
    let (full, _) = view.reconstruct(&[20], Par::Seq).unwrap();
    let mut worst = 0i32;
    for (c, plane) in full.iter().enumerate() {
        let means = svdimg::block_means(plane, 256, 256, 3);
        for (i, m) in means.iter().enumerate() {
            let expected = (f64::from(*m).clamp(0.0, 1.0) * 255.0).round() as i32;
            worst = worst.max((expected - i32::from(small[4 * i + c])).abs());
        }
    }
    assert!(worst <= 1, "{worst}");
    let (status, headers, body) = get(&app, &format!("/api/images/{id}/render?k=20&scale=2")).await;
    assert_eq!(
        error_of(status, &headers, &body),
        (
            StatusCode::BAD_REQUEST,
            "scale is for format=rgba only".into()
        )
    );
    let (status, _, body) = get(
        &app,
        &format!("/api/images/{id}/render?k=20&format=rgba&scale=0"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json_of(&body)["error"], "scale=0: use 1 to 64");
}
