//! Every route, in-process (no network): the page, the facts, estimates,
//! a job from upload to result, the queue, cancellation, the event
//! stream, and the security checks.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use common::*;

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>, header::HeaderMap) {
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, body, headers)
}

async fn json(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let (status, body, _) = send(app, req).await;
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, v)
}

fn error_of(v: &Value) -> &str {
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message in {v}"))
}

/// Polls a job until `done(job)`, for at most two minutes.
async fn wait_for(app: &Router, id: u64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (status, job) = json(app, get(&format!("/api/jobs/{id}"))).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        if done(&job) {
            return job;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "job {id} never got to {what}: {job}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The job's note for chelsea.jpg (451x300) painted at 64 px.
const CHELSEA_AT_64: &str = "the result is painted at 64x43 and scaled up 7.0x to the photo's \
    451x300, so it looks soft; a larger Size paints finer detail (time and memory grow with its \
    square)";

fn small_job(iterations: usize) -> String {
    format!(r#"{{"size":64,"iterations":{iterations}}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_assets_and_info() {
    let Some(server) = server("page_assets_and_info", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    for (uri, kind) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/style.css", "text/css"),
        ("/styles/starry_night.jpg", "image/jpeg"),
    ] {
        let (status, body, headers) = send(&app, get(uri)).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(!body.is_empty(), "{uri}");
        let ct = headers[header::CONTENT_TYPE].to_str().expect("ascii");
        assert!(ct.starts_with(kind), "{uri}: {ct}");
    }
    let (status, _, _) = send(&app, get("/styles/../../etc/passwd")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = send(&app, get("/styles/nope.jpg")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, info) = json(&app, get("/api/info")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["presets"]["seed"]["size"], 400);
    assert_eq!(info["presets"]["gatys"]["optimizer"], "lbfgs");
    assert_eq!(info["styles"].as_array().map(Vec::len), Some(3));
    assert_eq!(info["max_upload_bytes"], 32 << 20);
    // No output folder: the page says results go with the server.
    assert_eq!(info["keeps_results"], false);
    assert!(
        info["device"].as_str().is_some_and(|d| d.contains("cpu")),
        "{info}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_checks() {
    let config = stylize_serve::ServeConfig {
        max_upload_bytes: 24 << 10,
        upload_idle_timeout: Duration::from_millis(300),
        ..quick_config()
    };
    let Some(server) = server("security_checks", config) else {
        return;
    };
    let app = server.router(PORT);
    let with = |method: &str, uri: &str, host: &str, origin: Option<&str>| {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, host);
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        b.body(Body::empty()).expect("request")
    };
    // DNS rebinding: a foreign name is refused on every route.
    for uri in ["/", "/api/info", "/api/jobs", "/api/events"] {
        let (status, v) = json(&app, with("GET", uri, "evil.example:8080", None)).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{uri}");
        assert!(error_of(&v).contains("Host"));
    }
    for host in ["localhost:8080", "[::1]:8080", "127.0.0.1:8080"] {
        let (status, _, _) = send(&app, with("GET", "/api/info", host, None)).await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }
    // Every answer, the page's and a refusal's, forbids framing by other
    // sites (clickjacking: clicks in a framed page carry its Origin) and
    // loading by them.
    for (uri, host) in [
        ("/", HOST),
        ("/api/info", HOST),
        ("/styles/starry_night.jpg", HOST),
        ("/api/info", "evil.example:8080"),
    ] {
        let (_, _, headers) = send(&app, with("GET", uri, host, None)).await;
        let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(h("x-frame-options"), Some("DENY"), "{uri} {host}");
        assert_eq!(
            h("content-security-policy"),
            Some("frame-ancestors 'none'"),
            "{uri} {host}"
        );
        assert_eq!(h("cross-origin-resource-policy"), Some("same-origin"));
        assert_eq!(h("x-content-type-options"), Some("nosniff"));
    }
    let (status, _, _) = send(&app, with("GET", "/api/info", "127.0.0.1:9999", None)).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
    // Unknown routes and methods answer in JSON too, behind the same guard.
    let (status, v) = json(&app, with("GET", "/api/nothing", HOST, None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert!(error_of(&v).contains("/api/nothing"), "{v}");
    let (status, v) = json(&app, with("PUT", "/api/info", HOST, Some(ORIGIN))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{v}");
    assert!(error_of(&v).contains("PUT"), "{v}");
    let (status, _) = json(&app, with("GET", "/api/nothing", "evil.example:8080", None)).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
    // A body that breaks off mid-stream is the request's fault: 400.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"a.png\"\r\n\r\n").into_bytes()),
        Err(std::io::Error::other("the connection broke")),
    ];
    let broken = Request::post("/api/jobs")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .expect("request");
    let (status, v) = json(&app, broken).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    // One that stops coming (a stalled or hostile client) is answered 408
    // after the idle time, and what it sent is dropped.
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"a.png\"\r\n\r\n"
    );
    let stalled = futures_util::StreamExt::chain(
        futures_util::stream::iter([Ok::<_, std::io::Error>(head.into_bytes())]),
        futures_util::stream::pending(),
    );
    let stalled = Request::post("/api/jobs")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from_stream(stalled))
        .expect("request");
    let (status, v) = tokio::time::timeout(Duration::from_secs(30), json(&app, stalled))
        .await
        .expect("a stalled upload was waited for without end");
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{v}");
    assert!(error_of(&v).contains("stalled"), "{v}");
    // Not a form: 415, naming what is taken and what came.
    for content_type in [Some("application/json"), Some("multipart/form-data"), None] {
        let mut request = Request::post("/api/jobs")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, ORIGIN);
        if let Some(t) = content_type {
            request = request.header(header::CONTENT_TYPE, t);
        }
        let (status, v) = json(&app, request.body(Body::from("{}")).expect("request")).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}: {v}"
        );
        let said = error_of(&v);
        assert!(
            said.contains("multipart/form-data with a boundary")
                && said.contains(content_type.unwrap_or("none")),
            "{v}"
        );
    }
    // Changes need this server's Origin.
    for (method, uri) in [
        ("POST", "/api/jobs"),
        ("POST", "/api/estimate"),
        ("POST", "/api/jobs/1/cancel"),
        ("DELETE", "/api/jobs/1"),
    ] {
        for origin in [
            None,
            Some("http://evil.example"),
            Some("http://127.0.0.1:9999"),
            Some("null"),
        ] {
            let (status, v) = json(&app, with(method, uri, HOST, origin)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri} {origin:?}");
            assert!(error_of(&v).contains("Origin"));
        }
    }
    // Data another site's page asks for (an `<img>` of the ZIP of every
    // result, which the server would build): refused; the page's own,
    // a typed address and a script (no such headers) are served.
    let read = |fetch_site: Option<&str>, origin: Option<&str>, uri: &str| {
        let mut request = Request::get(uri).header(header::HOST, HOST);
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        if let Some(o) = origin {
            request = request.header(header::ORIGIN, o);
        }
        request.body(Body::empty()).expect("request")
    };
    for uri in ["/api/results.zip", "/api/info", "/api/network-styles/7.jpg"] {
        for (site, origin) in [
            (Some("cross-site"), None),
            (Some("same-site"), None),
            (None, Some("http://evil.example")),
        ] {
            let (status, v) = json(&app, read(site, origin, uri)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{uri} {site:?} {origin:?}");
            assert!(error_of(&v).contains("another site"), "{v}");
        }
    }
    for (site, origin) in [
        (Some("same-origin"), Some(ORIGIN)),
        (Some("none"), None),
        (None, None),
    ] {
        let (status, v) = json(&app, read(site, origin, "/api/info")).await;
        assert_eq!(status, StatusCode::OK, "{site:?} {origin:?}: {v}");
    }
    // A path that does not parse is refused in the API's JSON, as every
    // refusal is (before: axum's plain text).
    for uri in ["/api/jobs/abc", "/api/jobs/-1", "/api/jobs/1/styles/-1"] {
        let (status, v) = json(&app, get(uri)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(error_of(&v).contains("Cannot parse"), "{uri}: {v}");
    }
    // The page itself may be opened from a link on another site.
    let (status, _, _) = send(&app, read(Some("cross-site"), None, "/")).await;
    assert_eq!(status, StatusCode::OK);
    // Too large: chelsea.jpg is 38 KB, the limit 24 KiB.
    let photo = asset("chelsea.jpg");
    assert!(photo.len() > 24 << 10);
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "udnie"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(
        error_of(&v).contains("limit of 24 KiB (--max-upload)"),
        "{v}"
    );
    // Announced as too large (`Expect: 100-continue`, as curl sends for a
    // large file): 413 at once, the body never read. (This body never
    // arrives, so reading it would hang.)
    let never = Body::from_stream(futures_util::stream::pending::<
        Result<Vec<u8>, std::io::Error>,
    >());
    let announced = Request::post("/api/jobs")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
        .header(header::CONTENT_LENGTH, (24 << 10) + 1)
        .header(header::EXPECT, "100-continue")
        .body(never)
        .expect("request");
    let answer = tokio::time::timeout(std::time::Duration::from_secs(30), json(&app, announced));
    let (status, v) = answer
        .await
        .expect("the announced size was not refused before reading");
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(
        error_of(&v).contains("limit of 24 KiB (--max-upload)"),
        "{v}"
    );
    // A bundled style misnamed: the names there are.
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "p.png", &png_header_only(8, 8)),
            Part::Text("builtin", "Udnie.jpg"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        error_of(&v).contains("no bundled style named `Udnie.jpg`: the bundled ones are ")
            && error_of(&v).contains("udnie"),
        "{v}"
    );
    // Not an image, whatever its name says.
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "notes.jpg", b"these are my notes, not a photo"),
            Part::Text("builtin", "udnie"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    assert!(error_of(&v).contains("notes.jpg"), "{v}");
    assert!(
        error_of(&v).contains("is not a PNG, JPEG, WebP or GIF image"),
        "{v}"
    );
    // An iPhone's HEIC photo (its first box) is named, with how to convert it.
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File(
                "content",
                "IMG_0001.HEIC",
                b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\x08meta",
            ),
            Part::Text("builtin", "udnie"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    assert!(
        error_of(&v).contains(
            "the photo (content) `IMG_0001.HEIC` is a HEIC (HEIF) image, as phones save photos"
        ) && error_of(&v).contains("heif-convert")
            && error_of(&v).ends_with("the page takes PNG, JPEG, WebP or GIF images"),
        "{v}"
    );
    // An image that does not decode: a PNG signature and nothing else.
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "broken.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Part::Text("builtin", "udnie"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        error_of(&v).contains("broken.png") && !error_of(&v).contains("/tmp"),
        "{v}"
    );
    // Missing parts, unknown parts and bad settings: 400 with the reason.
    let tiny = tiny_png();
    assert!(tiny.len() < 16 << 10, "{}", tiny.len());
    let long_name = "x".repeat(10_000);
    for (parts, needle) in [
        (vec![Part::Text("builtin", "udnie")], "content"),
        (vec![Part::File("content", "a.png", &tiny)], "style"),
        (
            vec![
                Part::File("content", "a.png", &tiny),
                Part::Text("builtin", "mona_lisa"),
            ],
            "mona_lisa",
        ),
        (
            vec![
                Part::File("content", "a.png", &tiny),
                Part::Text("path", "/etc/passwd"),
            ],
            "path",
        ),
        (
            vec![
                Part::File("content", "a.png", &tiny),
                Part::Text("builtin", "udnie"),
                Part::Text("settings", r#"{"size": 1}"#),
            ],
            "size",
        ),
        (
            vec![
                Part::File("content", "a.png", &tiny),
                Part::Text("builtin", "udnie"),
                Part::Text("settings", r#"{"size": 64}"#),
                Part::Text("settings", r#"{"size": 96}"#),
            ],
            "more than one `settings` part",
        ),
        (
            // The page could not show it exactly (JavaScript's doubles).
            vec![
                Part::File("content", "a.png", &tiny),
                Part::Text("builtin", "udnie"),
                Part::Text("settings", r#"{"seed": 9007199254740992}"#),
            ],
            "seed must be within 0..=9007199254740991",
        ),
        (
            // An array is not read as the fields in order.
            vec![
                Part::File("content", "a.png", &tiny),
                Part::Text("builtin", "udnie"),
                Part::Text("settings", "[]"),
            ],
            "settings: expected a JSON object",
        ),
        (
            // An f32 setting out of range is shown as the number sent.
            vec![
                Part::File("content", "a.png", &tiny),
                Part::Text("builtin", "udnie"),
                Part::Text("settings", r#"{"tv_weight": -3.01}"#),
            ],
            "tv_weight must be within 0..=1000000000 (got -3.01)",
        ),
        (
            // A whole-number setting too, not as its f32 (4294967300).
            vec![
                Part::File("content", "a.png", &tiny),
                Part::Text("builtin", "udnie"),
                Part::Text("settings", r#"{"size": 4294967295}"#),
            ],
            "size must be within 16..=8192 (got 4294967295)",
        ),
        (
            // A part's name is quoted, not echoed whole.
            vec![
                Part::File("content", "a.png", &tiny),
                Part::Text(&long_name, "1"),
            ],
            "unknown form part `xxxxxxxx",
        ),
        (
            // One more style than a job may blend: refused as it is read.
            std::iter::once(Part::File("content", "a.png", &tiny))
                .chain((0..17).map(|_| Part::Text("builtin", "udnie")))
                .collect(),
            "more than 16 style images",
        ),
    ] {
        let (status, v) = json(&app, post_job(&parts)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{needle}: {v}");
        assert!(error_of(&v).contains(needle), "{needle}: {v}");
        assert!(error_of(&v).len() < 400, "{needle}: {v}");
    }
    // A seed the page holds exactly is taken.
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "a.png", &tiny),
            Part::Text("builtin", "udnie"),
            Part::Text(
                "settings",
                r#"{"seed": 9007199254740991, "size": 64, "iterations": 1}"#,
            ),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["settings"]["seed"], 9007199254740991u64, "{v}");
    // A photo too small for the optimiser's layers at this size: 422, as
    // the fast network's too-small photo is.
    let mut speck = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(200, 4)
        .write_to(&mut speck, image::ImageFormat::Png)
        .expect("encode");
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "speck.png", speck.get_ref()),
            Part::Text("builtin", "udnie"),
            Part::Text("settings", r#"{"size": 16}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(error_of(&v).contains("px"), "{v}");
    // Nothing of all that became a job, but the one that was taken.
    let (_, jobs) = json(&app, get("/api/jobs")).await;
    assert_eq!(jobs.as_array().map(Vec::len), Some(1), "{jobs}");
}

/// A 96x64 PNG made here (small enough for any upload limit).
fn tiny_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(96, 64, |x, y| {
        image::Rgb([(x * 2) as u8, (y * 3) as u8, 128])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estimate_and_memory_refusal() {
    let Some(server) = server_with_fast("estimate_and_memory_refusal", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    let estimate = |body: &str| {
        Request::post("/api/estimate")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, ORIGIN)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let (status, small) = json(
        &app,
        estimate(r#"{"settings":{"size":128},"content":[451,300],"styles":[[1024,640]]}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{small}");
    assert_eq!(small["fits"], true);
    // A body announced as too large is refused before it is read (the
    // body here never comes: reading it would wait for the stall timeout).
    let huge = Request::post("/api/estimate")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "1000000000000")
        .body(Body::from(r#"{"content":"#))
        .expect("request");
    let (status, v) = json(&app, huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    let (_, big) = json(
        &app,
        estimate(r#"{"settings":{"size":512},"content":[451,300],"styles":[[1024,640]]}"#),
    )
    .await;
    let (s, b) = (small["bytes"].as_u64(), big["bytes"].as_u64());
    assert!(s.is_some() && b > s, "{small} {big}");
    // A clip's frames painted by the optimiser carry the optical flow
    // between them at their own size: its state comes on top of a photo's.
    let (_, clip) = json(
        &app,
        estimate(
            r#"{"settings":{"size":128},"content":[451,300],"styles":[[1024,640]],"clip":true}"#,
        ),
    )
    .await;
    let flow = stylize::video::VideoConfig::default().flow_bytes(451, 300);
    assert_eq!(
        clip["bytes"].as_u64(),
        s.map(|s| s + flow),
        "{small} {clip}"
    );
    // A body past the limit is 413, bad JSON 400.
    let padded = format!(r#"{{"content":[4,3],"pad":"{}"}}"#, "x".repeat(3 << 20));
    let (status, v) = json(&app, estimate(&padded)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    let (status, v) = json(&app, estimate(r#"{"content":"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    // JSON sent as another type: 415.
    let plain = Request::post("/api/estimate")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(r#"{"content":[4,3]}"#))
        .expect("request");
    let (status, v) = json(&app, plain).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    // A blend that does not weigh the paintings sent: 400, as the job
    // would be; with no paintings yet, as many as it weighs are assumed.
    let (status, v) = json(
        &app,
        estimate(r#"{"settings":{"style_blend":[1,1]},"content":[451,300],"styles":[[64,64]]}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        error_of(&v).contains("style_blend has 2 weight(s) for 1 painting(s)"),
        "{v}"
    );
    let (status, v) = json(
        &app,
        estimate(r#"{"settings":{"style_blend":[1,1]},"content":[451,300]}"#),
    )
    .await;
    assert_eq!(
        (status, &v["fits"]),
        (StatusCode::OK, &Value::Bool(true)),
        "{v}"
    );
    // More paintings than a job may have: 400, as the job would be.
    let seventeen = format!(
        r#"{{"content":[451,300],"styles":[{}]}}"#,
        vec!["[64,64]"; 17].join(",")
    );
    let (status, v) = json(&app, estimate(&seventeen)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(error_of(&v).contains("more than 16 style images"), "{v}");
    // Too small for the deepest layer: explained, not an error.
    let (status, v) = json(
        &app,
        estimate(r#"{"settings":{"size":16},"content":[451,300]}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["fits"], false);
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("px")),
        "{v}"
    );
    // The same for the fast network: a photo too narrow at the size, as
    // the job itself would be refused (a small one is enlarged to it).
    let (_, v) = json(
        &app,
        estimate(r#"{"settings":{"method":"fast","size":64},"content":[10,10]}"#),
    )
    .await;
    assert_eq!(v["fits"], true, "{v}");
    for (body, says) in [(
        r#"{"settings":{"method":"fast","size":64},"content":[1000,20]}"#,
        "choose a size of 775 or more",
    )] {
        let (status, v) = json(&app, estimate(body)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(
            (v["fits"].as_bool(), v["bytes"].is_null()),
            (Some(false), true),
            "{v}"
        );
        assert!(
            v["message"].as_str().is_some_and(|m| m.contains(says)),
            "{v}"
        );
    }
    let (status, v) = json(&app, estimate(r#"{"content":[0,10]}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = json(
        &app,
        estimate(r#"{"settings":{"sise":3},"content":[10,10]}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");

    // A server with little memory refuses, naming the size that fits.
    drop(app);
    drop(server);
    let limit = s.unwrap_or(0) + (b.unwrap_or(0) - s.unwrap_or(0)) / 2;
    let config = stylize_serve::ServeConfig {
        max_memory: Some(limit),
        ..quick_config()
    };
    let Some(server) = server_with_fast("estimate_and_memory_refusal", config) else {
        return;
    };
    let app = server.router(PORT);
    let (_, v) = json(
        &app,
        estimate(r#"{"settings":{"size":512},"content":[451,300],"styles":[[1024,640]]}"#),
    )
    .await;
    assert_eq!(v["fits"], false, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("a size of ")),
        "{v}"
    );
    // A clip whose flow alone is over the limit: the advice is what the
    // page can do (before: the command line's frames each on their own).
    let (_, v) = json(
        &app,
        estimate(r#"{"settings":{"size":64},"content":[7680,4320],"clip":true}"#),
    )
    .await;
    let message = v["message"].as_str().unwrap_or_default();
    assert_eq!(v["fits"], false, "{v}");
    assert!(
        message.contains("optical flow") && message.contains("the fast method"),
        "{v}"
    );
    assert!(!message.contains("on its own"), "{v}");
    // Frames too small for the optimiser's flow: said by the estimate
    // too (before: it advised a size, and the job was then refused).
    let (_, v) = json(
        &app,
        estimate(r#"{"settings":{"size":400},"content":[400,6],"clip":true}"#),
    )
    .await;
    assert_eq!(v["fits"], false, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("frames are 400x6 px") && m.contains("8x8")),
        "{v}"
    );
    let photo = asset("chelsea.jpg");
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "starry_night"),
            Part::Text("settings", r#"{"size":512}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(error_of(&v).contains("a size of "), "{v}");
    // A painting that would decode to gigabytes is refused from its
    // header, before it is decoded: this one cannot be decoded at all, and
    // the refusal is the memory's.
    let huge = common::png_header_only(16_000, 16_000);
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::File("style", "huge.png", &huge),
            Part::Text("settings", r#"{"size":64}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        error_of(&v).contains("scale the paintings down") && !error_of(&v).contains("decode"),
        "{v}"
    );
    // So is a clip's job, once the clip's header gives its frames' size.
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("video", "clip.gif", &tiny_gif()),
            Part::File("style", "huge.png", &huge),
            Part::Text("settings", r#"{"size":64}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        error_of(&v).contains("scale the paintings down") && !error_of(&v).contains("decode"),
        "{v}"
    );

    // The fast network holds the photo decoded at its own size: a photo
    // that alone is over the limit is refused at any working size, with
    // advice to scale it down, and the same size at a small photo fits.
    let fast = |side: u32| {
        format!(
            r#"{{"settings":{{"method":"fast","size":64}},"content":[{side},{side}],"styles":[[64,64]]}}"#
        )
    };
    let (_, v) = json(&app, estimate(&fast(96))).await;
    assert_eq!(v["fits"], true, "{v}");
    let (_, v) = json(&app, estimate(&fast(30_000))).await;
    assert_eq!(v["fits"], false, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("scale the images down")),
        "{v}"
    );
    // (Decoded as up to 16-bit RGBA: 8 bytes a pixel.)
    assert!(v["bytes"].as_u64() > Some(8 * 30_000 * 30_000), "{v}");

    // A clip holds more than a photo of its frames' size (the flows, the
    // previous painting, the blend): under a limit between the two, the
    // photo's estimate fits and the clip's fast job is refused.
    drop(app);
    drop(server);
    let config = stylize_serve::ServeConfig {
        max_memory: Some(414_000_000),
        ..quick_config()
    };
    let Some(server) = server_with_fast("estimate_and_memory_refusal", config) else {
        return;
    };
    let app = server.router(PORT);
    let (_, v) = json(
        &app,
        estimate(r#"{"settings":{"method":"fast","size":1024},"content":[96,64]}"#),
    )
    .await;
    assert_eq!(v["fits"], true, "{v}");
    let (_, v) = json(
        &app,
        estimate(r#"{"settings":{"method":"fast","size":1024},"content":[96,64],"clip":true}"#),
    )
    .await;
    assert_eq!(v["fits"], false, "{v}");
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("video", "clip.gif", &tiny_gif()),
            Part::Text("builtin", "starry_night"),
            Part::Text("settings", r#"{"method":"fast","size":1024}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // The largest size that fits is named (before: "choose a smaller
    // size"), and it does fit (the bundled painting is 512x320).
    let said = error_of(&v);
    let fits: u32 = said
        .split("a size of ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no size named: {said}"));
    assert!(fits < 1024, "{said}");
    for (size, fit) in [(fits, true), (fits + 1, false)] {
        let (_, v) = json(
            &app,
            estimate(&format!(
                r#"{{"settings":{{"method":"fast","size":{size}}},"content":[96,64],"styles":[[512,320]],"clip":true}}"#
            )),
        )
        .await;
        assert_eq!(v["fits"], fit, "{size}: {v}");
    }
    // Under a limit the networks alone pass, no size or smaller images
    // help: said so (before: "scale the images down").
    drop(app);
    drop(server);
    let config = stylize_serve::ServeConfig {
        max_memory: Some(120 << 20),
        ..quick_config()
    };
    let Some(server) = server_with_fast("estimate_and_memory_refusal", config) else {
        return;
    };
    let app = server.router(PORT);
    let (_, v) = json(
        &app,
        estimate(
            r#"{"settings":{"method":"fast","size":64},"content":[64,48],"styles":[[64,64]]}"#,
        ),
    )
    .await;
    assert_eq!(v["fits"], false, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("below what the fast network needs at any size")),
        "{v}"
    );
}

/// An optimiser job's command names the threads the server paints on
/// (`serve --threads 1` here): its result changes with their number, and
/// the command run elsewhere (one thread per core by default) would paint
/// another picture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_command_names_the_threads_it_painted_on() {
    let Some(server) = server_on_one_thread(
        "a_jobs_command_names_the_threads_it_painted_on",
        quick_config(),
    ) else {
        return;
    };
    let app = server.router(PORT);
    let photo = asset("chelsea.jpg");
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "udnie"),
            Part::Text("settings", &small_job(2)),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let command = job["command"].as_str().expect("command");
    assert!(
        command.starts_with("stylize image --content chelsea.jpg")
            && command.ends_with(" --threads 1"),
        "{command}"
    );
    let id = job["id"].as_u64().expect("id");
    wait_for(&app, id, "done", |j| j["state"] == "done").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_from_upload_to_download() {
    let Some(server) = server("a_job_from_upload_to_download", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    let photo = asset("chelsea.jpg");
    let style = asset("udnie.jpg");
    let settings = r#"{"size":64,"iterations":30,"seed":3,"strength":0.5}"#;
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::File("style", "udnie.jpg", &style),
            Part::Text("settings", settings),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    assert_eq!(
        (job["width"].as_u64(), job["height"].as_u64()),
        (Some(451), Some(300))
    );
    assert_eq!(job["settings"]["seed"], 3);
    assert_eq!(job["settings"]["optimizer"], "adam"); // the preset's
    assert!(job["command"].as_str().is_some_and(|c| c
        .contains("--content chelsea.jpg --style udnie.jpg")
        && c.contains("--seed 3")));
    let job = wait_for(&app, id, "done", |j| j["state"] == "done").await;
    assert_eq!(job["iteration"], 30);
    assert_eq!(job["has_result"], true);
    assert!(job["preview_seq"].as_u64() >= Some(1), "{job}");
    assert!(job["costs"]["total"].as_f64().is_some_and(|c| c > 0.0));

    let (status, png, headers) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    // Named as the output folder and the ZIP name it.
    assert_eq!(job["result_name"], "chelsea-udnie.png");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "inline; filename=\"chelsea-udnie.png\""
    );
    let img = image::load_from_memory(&png).expect("a valid PNG");
    assert_eq!((img.width(), img.height()), (451, 300));

    let (status, jpeg, headers) = send(&app, get(&format!("/api/jobs/{id}/preview?seq=1"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
    image::load_from_memory(&jpeg).expect("a valid JPEG");

    let (status, bytes, headers) = send(&app, get(&format!("/api/jobs/{id}/content"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(bytes, photo, "the photo comes back as uploaded");

    let (status, bytes, _) = send(&app, get(&format!("/api/jobs/{id}/styles/0"))).await;
    assert_eq!(
        (status, bytes == style),
        (StatusCode::OK, true),
        "the style comes back as uploaded"
    );
    assert_eq!(job["styles"][0]["builtin"], Value::Null);
    assert_eq!(job["styles"][0]["url"], format!("/api/jobs/{id}/styles/0"));
    let (status, _, _) = send(&app, get(&format!("/api/jobs/{id}/styles/1"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, csv, headers) = send(&app, get(&format!("/api/jobs/{id}/costs.csv"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"chelsea-udnie-costs.csv\""
    );
    let csv = String::from_utf8(csv).expect("UTF-8");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "iteration,scale,total,content,style,tv,elapsed_s");
    assert_eq!(lines.len(), 31, "{csv}");
    let totals: Vec<f64> = lines[1..]
        .iter()
        .map(|l| {
            l.split(',')
                .nth(2)
                .and_then(|t| t.parse().ok())
                .expect("a number")
        })
        .collect();
    assert!(totals[29] < totals[0], "the cost falls: {totals:?}");

    let (status, list) = json(&app, get("/api/jobs")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    // Finished: not cancelled, but removed with its files.
    let (status, _) = json(&app, post(&format!("/api/jobs/{id}/cancel"))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, _) = send(&app, delete(&format!("/api/jobs/{id}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = json(&app, get("/api/jobs")).await;
    assert_eq!(list.as_array().map(Vec::len), Some(0));
    for uri in [
        "/api/jobs/99",
        "/api/jobs/99/result",
        "/api/jobs/99/preview",
        "/api/jobs/99/costs.csv",
    ] {
        let (status, _, _) = send(&app, get(uri)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
}

/// An output folder that cannot be made, or that takes no file (`/proc`
/// even for root; before, a read-only one was taken and every job's copy
/// failed), stops the server from starting.
#[test]
fn an_output_folder_that_takes_no_file_is_refused_at_start() {
    let Some(path) = hed_weights("an_output_folder_that_takes_no_file_is_refused_at_start") else {
        return;
    };
    let weights = stylize::load_vgg_weights(&path, None).expect("weights load");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let mut bad = vec![file.join("kept")];
    if cfg!(target_os = "linux") {
        bad.push(PathBuf::from("/proc"));
    }
    for dir in bad {
        let stylizer = stylize::Stylizer::new(&weights);
        let config = stylize_serve::ServeConfig {
            output_dir: Some(dir.clone()),
            ..quick_config()
        };
        let Err(e) = stylize_serve::Server::with_fast(stylizer, None, "hed", config) else {
            panic!("{} was taken as the output folder", dir.display());
        };
        assert!(
            e.to_string()
                .ends_with("cannot create the output folder or write a file in it"),
            "{e}"
        );
    }
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

/// With `output_dir` (`serve --output-dir`), each finished job's result is
/// also written there, named after its photo and painting, never
/// replacing a file (a second job of the same pair gets `-2`; a file the
/// user had there stays); a cancelled job's image so far is kept as
/// `-stopped`; the page hears the name (`kept_as`); the copies outlive
/// the server's own files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_kept_in_the_output_folder() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("kept");
    let config = stylize_serve::ServeConfig {
        output_dir: Some(dir.clone()),
        ..quick_config()
    };
    let Some(server) = server_with_fast("results_are_kept_in_the_output_folder", config) else {
        return;
    };
    assert!(dir.is_dir(), "made when the server starts");
    std::fs::write(dir.join("chelsea-udnie-2.png"), b"the user's").unwrap();
    let app = server.router(PORT);
    let (_, info) = json(&app, get("/api/info")).await;
    assert_eq!(info["keeps_results"], true);
    let photo = asset("chelsea.jpg");
    let style = asset("udnie.jpg");
    let fast = |settings: &'static str| {
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::File("style", "udnie.jpg", &style),
            Part::Text("settings", settings),
        ])
    };
    let mut kept = Vec::new();
    for _ in 0..2 {
        let (status, job) = json(&app, fast(r#"{"method":"fast","size":96}"#)).await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
        let id = job["id"].as_u64().expect("id");
        let job = wait_for(&app, id, "done", |j| j["state"] == "done").await;
        let name = job["kept_as"].as_str().expect("kept_as").to_string();
        let (_, png, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
        assert_eq!(std::fs::read(dir.join(&name)).unwrap(), png, "{name}");
        kept.push(name);
    }
    assert_eq!(kept, ["chelsea-udnie.png", "chelsea-udnie-3.png"]);
    // The ZIP of every result names each as the folder keeps it (not
    // `-2` for the second: that is the user's file).
    let (_, zip, _) = send(&app, get("/api/results.zip")).await;
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a ZIP");
    assert_eq!(archive.file_names().collect::<Vec<_>>(), kept);
    // A mix of the network's own styles is named by its numbers.
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text(
                "settings",
                r#"{"method":"fast","size":64,"network_style":"3:0.5,12:0.5"}"#,
            ),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    let job = wait_for(&app, id, "done", |j| j["state"] == "done").await;
    assert_eq!(job["kept_as"], "chelsea-builtin_3_0_5_12_0_5.png", "{job}");
    assert_eq!(
        std::fs::read(dir.join("chelsea-udnie-2.png")).unwrap(),
        b"the user's"
    );

    // Cancelled after it started: the image so far, marked.
    let (status, job) = json(&app, fast(r#"{"size":64,"iterations":100000}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    wait_for(&app, id, "iteration 2", |j| {
        j["iteration"].as_u64() >= Some(2)
    })
    .await;
    let (status, _) = json(&app, post(&format!("/api/jobs/{id}/cancel"))).await;
    assert_eq!(status, StatusCode::OK);
    let job = wait_for(&app, id, "cancelled", |j| j["state"] == "cancelled").await;
    assert_eq!(job["kept_as"], "chelsea-udnie-stopped.png", "{job}");
    assert!(image::open(dir.join("chelsea-udnie-stopped.png")).is_ok());

    // A folder removed while the server runs is made again.
    let aside = out.path().join("aside");
    std::fs::rename(&dir, &aside).unwrap();
    let (status, job) = json(&app, fast(r#"{"method":"fast","size":64}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    let job = wait_for(&app, id, "done", |j| j["state"] == "done").await;
    assert_eq!(job["kept_as"], "chelsea-udnie.png", "{job}");
    std::fs::remove_dir_all(&dir).unwrap();

    // A copy that cannot be written (a file where the folder was) is a
    // warning on the job (without the folder), and the result is still
    // there.
    std::fs::write(&dir, b"in the way").unwrap();
    let (status, job) = json(&app, fast(r#"{"method":"fast","size":64}"#)).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    let job = wait_for(&app, id, "done", |j| j["state"] == "done").await;
    assert_eq!(job["kept_as"], Value::Null, "{job}");
    let warning = job["warnings"][0].as_str().unwrap_or_default().to_string();
    assert!(
        warning.starts_with("the result could not be written to the server's output folder")
            && !warning.contains(&*out.path().to_string_lossy()),
        "{job}"
    );
    let (status, _, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    assert_eq!(status, StatusCode::OK);
    std::fs::remove_file(&dir).unwrap();
    std::fs::rename(&aside, &dir).unwrap();

    // The server's own files go when it does; the kept ones stay.
    drop(app);
    drop(server);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "chelsea-builtin_3_0_5_12_0_5.png",
            "chelsea-udnie-2.png",
            "chelsea-udnie-3.png",
            "chelsea-udnie-stopped.png",
            "chelsea-udnie.png"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_cancel_remove_and_events() {
    let Some(server) = server("queue_cancel_remove_and_events", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    // Watch the events from the start.
    let events = app
        .clone()
        .oneshot(get("/api/events"))
        .await
        .expect("infallible");
    assert_eq!(events.status(), StatusCode::OK);
    assert_eq!(events.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = events.into_body();

    let photo = asset("chelsea.jpg");
    let submit = |iterations: usize| {
        let settings = small_job(iterations);
        let photo = photo.clone();
        let app = app.clone();
        async move {
            let (status, job) = json(
                &app,
                post_job(&[
                    Part::File("content", "chelsea.jpg", &photo),
                    Part::Text("builtin", "great_wave"),
                    Part::Text("settings", &settings),
                ]),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{job}");
            job["id"].as_u64().expect("id")
        }
    };
    let a = submit(100_000).await; // runs until cancelled
    let b = submit(10).await;
    let c = submit(10).await;
    wait_for(&app, a, "running", |j| {
        j["state"] == "running" && j["preview_seq"].as_u64() >= Some(2)
    })
    .await;
    let (_, jb) = json(&app, get(&format!("/api/jobs/{b}"))).await;
    assert_eq!(
        (jb["state"].as_str(), jb["queue_position"].as_u64()),
        (Some("queued"), Some(1))
    );
    let (_, jc) = json(&app, get(&format!("/api/jobs/{c}"))).await;
    assert_eq!(jc["queue_position"], 2);
    // A running job cannot be removed; a queued one can.
    let (status, _) = json(&app, delete(&format!("/api/jobs/{a}"))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, _) = send(&app, delete(&format!("/api/jobs/{b}"))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = send(&app, get(&format!("/api/jobs/{b}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, jc) = json(&app, get(&format!("/api/jobs/{c}"))).await;
    assert_eq!(jc["queue_position"], 1, "c moved up");
    // Cancel keeps the image so far. Removed before it has stopped (at
    // its next iteration's end): said so. (Should the job stop between
    // the two requests, it is removed instead, and its image not checked.)
    let (status, _) = json(&app, post(&format!("/api/jobs/{a}/cancel"))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = json(&app, delete(&format!("/api/jobs/{a}"))).await;
    if status == StatusCode::CONFLICT {
        assert!(error_of(&v).contains("is stopping after its cancel"), "{v}");
        let ja = wait_for(&app, a, "cancelled", |j| j["state"] == "cancelled").await;
        assert_eq!(ja["has_result"], true);
        let (status, png, _) = send(&app, get(&format!("/api/jobs/{a}/result"))).await;
        assert_eq!(status, StatusCode::OK);
        image::load_from_memory(&png).expect("the result so far is a valid image");
    } else {
        assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
        println!("job {a} stopped before its DELETE: removed");
    }
    wait_for(&app, c, "done", |j| j["state"] == "done").await;
    // A queued job cancelled before it starts ends without a result.
    let d = submit(100_000).await;
    let e = submit(10).await;
    let (status, je) = json(&app, post(&format!("/api/jobs/{e}/cancel"))).await;
    assert_eq!(
        (status, je["state"].as_str()),
        (StatusCode::OK, Some("cancelled"))
    );
    assert_eq!(je["has_result"], false);
    let _ = json(&app, post(&format!("/api/jobs/{d}/cancel"))).await;
    wait_for(&app, d, "cancelled", |j| j["state"] == "cancelled").await;

    // The stream told it all, in order.
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !stream_has(&text, "cancelled", d) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "events missing:\n{text}");
        match tokio::time::timeout(left, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    text.push_str(&String::from_utf8_lossy(data));
                }
            }
            other => panic!("the stream ended: {:?}\n{text}", other.map(|o| o.is_some())),
        }
    }
    let events = parse_events(&text);
    assert_eq!(events[0].0, "snapshot");
    let seqs: Vec<u64> = events
        .iter()
        .skip(1)
        .map(|(_, v)| v["seq"].as_u64().expect("seq"))
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive: {seqs:?}"
    );
    let kinds_of = |id: u64| -> Vec<&str> {
        let mut k: Vec<&str> = events
            .iter()
            .filter(|(_, v)| v["id"].as_u64() == Some(id))
            .map(|(k, _)| k.as_str())
            .collect();
        k.dedup();
        k
    };
    assert_eq!(kinds_of(a).first(), Some(&"queued"));
    assert!(kinds_of(a).contains(&"preview"));
    let ka: Vec<&str> = kinds_of(a)
        .into_iter()
        .filter(|k| *k != "removed")
        .collect();
    assert_eq!(ka.last(), Some(&"cancelled"));
    assert_eq!(kinds_of(b), ["queued", "removed"]);
    let kc = kinds_of(c);
    assert_eq!((kc.first(), kc.get(1)), (Some(&"queued"), Some(&"started")));
    assert_eq!(kc.last(), Some(&"done"));
    assert_eq!(kinds_of(e), ["queued", "cancelled"]);

    // A stream that begins after the server began to stop gets the
    // snapshot and the `shutdown` event, then ends (it used to wait for
    // events that would never come, holding the stop up).
    drop(server);
    let late = app.oneshot(get("/api/events")).await.expect("infallible");
    let mut body = late.into_body();
    let mut text = String::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(30), body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    text.push_str(&String::from_utf8_lossy(data));
                }
            }
            Ok(None) => break,
            other => panic!("the late stream did not end: {:?}\n{text}", other.is_ok()),
        }
    }
    let kinds: Vec<String> = parse_events(&text).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, ["snapshot", "shutdown"], "{text}");
}

/// While a job paints on the server's only worker thread, the requests
/// that ask the painter's memory estimate (an estimate, a new job) answer
/// at once, and so does everything behind them. They used to wait for the
/// busy pool, holding every request, cancels included, until the job
/// ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_holds_up_no_request() {
    let Some(server) = server_on_one_thread("a_running_job_holds_up_no_request", quick_config())
    else {
        return;
    };
    let app = server.router(PORT);
    let photo = asset("chelsea.jpg");
    let job = |iterations: usize| {
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "great_wave"),
            Part::Text("settings", &small_job(iterations)),
        ])
    };
    let (status, a) = json(&app, job(100_000)).await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let a = a["id"].as_u64().expect("id");
    wait_for(&app, a, "running", |j| {
        j["state"] == "running" && j["preview_seq"].as_u64() >= Some(2)
    })
    .await;
    // Each on a task of its own, so that one held up fails here, said,
    // rather than holding the test. Generous: each answers in
    // milliseconds when it does not wait.
    let answer = |req: Request<Body>| {
        let app = app.clone();
        async move {
            let asked = tokio::spawn(async move { json(&app, req).await });
            match tokio::time::timeout(Duration::from_secs(30), asked).await {
                Ok(answer) => Some(answer.expect("the request's task")),
                Err(_) => None,
            }
        }
    };
    let asked = estimate_request(r#"{"settings":{"size":64},"content":[451,300]}"#);
    let (status, v) = answer(asked)
        .await
        .expect("the estimate waited for the running job");
    assert_eq!(
        (status, &v["fits"]),
        (StatusCode::OK, &Value::Bool(true)),
        "{v}"
    );
    let (status, b) = answer(job(10))
        .await
        .expect("the new job waited for the running one");
    assert_eq!(status, StatusCode::CREATED, "{b}");
    assert_eq!(b["queue_position"], 1, "{b}");
    let (status, _) = answer(post(&format!("/api/jobs/{a}/cancel")))
        .await
        .expect("the cancel waited");
    assert_eq!(status, StatusCode::OK);
    wait_for(&app, a, "cancelled", |j| j["state"] == "cancelled").await;
    let b = b["id"].as_u64().expect("id");
    wait_for(&app, b, "done", |j| j["state"] == "done").await;
}

fn stream_has(text: &str, kind: &str, id: u64) -> bool {
    parse_events(text)
        .iter()
        .any(|(k, v)| k == kind && v["id"].as_u64() == Some(id))
}

/// `(event, data)` of every complete event in an SSE text.
fn parse_events(text: &str) -> Vec<(String, Value)> {
    let complete = match text.rfind("\n\n") {
        Some(i) => &text[..i],
        None => return Vec::new(),
    };
    complete
        .split("\n\n")
        .filter_map(|block| {
            let mut kind = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(k) = line.strip_prefix("event: ") {
                    kind = Some(k.to_string());
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(d).ok();
                }
            }
            Some((kind?, data?))
        })
        .collect()
}

/// A 4-frame animated GIF, 96x64: a bright square moving right.
fn tiny_gif() -> Vec<u8> {
    gif_with_delays(&[100; 4])
}

/// [`tiny_gif`] with each frame shown for its time in `ms`.
fn gif_with_delays(ms: &[u32]) -> Vec<u8> {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame, RgbaImage};
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        for (k, &ms) in (0u32..).zip(ms) {
            let img = RgbaImage::from_fn(96, 64, |x, y| {
                let inside = (20 + 8 * k..40 + 8 * k).contains(&x) && (20..40).contains(&y);
                if inside {
                    image::Rgba([250, 220, 40, 255])
                } else {
                    image::Rgba([(x * 2) as u8, (y * 3) as u8, 90, 255])
                }
            });
            enc.encode_frame(Frame::from_parts(
                img,
                0,
                0,
                Delay::from_numer_denom_ms(ms, 1),
            ))
            .expect("encode");
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_job_shows_frames_as_they_finish() {
    let Some(server) = server("a_video_job_shows_frames_as_they_finish", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    let gif = tiny_gif();
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("video", "notes.gif", b"not a clip at all"),
            Part::Text("builtin", "udnie"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    // Frames too small for the optical flow: refused at the upload (a
    // still image is a clip of one frame).
    let mut tiny = Vec::new();
    image::RgbImage::from_pixel(4, 4, image::Rgb([200, 100, 50]))
        .write_to(
            &mut std::io::Cursor::new(&mut tiny),
            image::ImageFormat::Png,
        )
        .expect("png");
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("video", "dot.png", &tiny),
            Part::Text("builtin", "udnie"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        error_of(&v).contains("the clip's frames are 4x4 px")
            && error_of(&v).contains("needs at least 8x8"),
        "{v}"
    );
    // A clip does not start from the network's painting (before:
    // accepted, ignored, and its command one the command line refuses).
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("video", "square.gif", &gif),
            Part::Text("builtin", "udnie"),
            Part::Text("settings", r#"{"size":64,"iterations":5,"init":"fast"}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(error_of(&v).contains("`init: fast` starts a photo"), "{v}");
    // With the fast method, `init` is not its setting: not that refusal
    // (this server, without the models, refuses the method itself).
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("video", "square.gif", &gif),
            Part::Text("builtin", "udnie"),
            Part::Text("settings", r#"{"method":"fast","size":64,"init":"fast"}"#),
        ]),
    )
    .await;
    assert_ne!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(!error_of(&v).contains("`init: fast`"), "{v}");
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("video", "square.gif", &gif),
            Part::Text("builtin", "udnie"),
            Part::Text("settings", r#"{"size":64,"iterations":5}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(
        (job["kind"].as_str(), job["frames"].as_u64()),
        (Some("video"), Some(4))
    );
    // A clip whose header does not give its length (a WebM written to a
    // pipe): no count, not the server's limit (before: "of 300 frames").
    let made = std::process::Command::new(stylize_frames::ffmpeg_from_env())
        .args(["-nostdin", "-v", "error", "-f", "lavfi"])
        .args(["-i", "testsrc=size=64x48:rate=10", "-frames:v", "3"])
        .args(["-c:v", "libvpx", "-f", "webm", "pipe:1"])
        .stdin(std::process::Stdio::null())
        .output();
    match made {
        Ok(made) if made.status.success() => {
            let (status, unknown) = json(
                &app,
                post_job(&[
                    Part::File("video", "piped.webm", &made.stdout),
                    Part::Text("builtin", "udnie"),
                    Part::Text("settings", r#"{"size":64,"iterations":1}"#),
                ]),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{unknown}");
            assert_eq!(unknown["frames"], serde_json::Value::Null, "{unknown}");
        }
        _ => println!("SKIPPED the clip of unknown length: ffmpeg cannot make a WebM here"),
    }
    assert!(job["command"].as_str().is_some_and(
        |c| c.starts_with("stylize video --input square.gif --style udnie --output result.gif")
    ));
    let id = job["id"].as_u64().expect("id");
    let job = wait_for(&app, id, "done", |j| {
        j["state"] != "queued" && j["state"] != "running"
    })
    .await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["frames_done"], 4);
    assert!(
        job["preview_seq"].as_u64() >= Some(4),
        "a preview per frame: {job}"
    );
    // The job's time is the clip's, not its last frame's: at least the
    // frames' own times (each frame's run restarts its clock; the costs
    // log's iteration goes back to 1 at each).
    let (status, csv, _) = send(&app, get(&format!("/api/jobs/{id}/costs.csv"))).await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<(u64, f64)> = String::from_utf8_lossy(&csv)
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].parse().expect("iteration"),
                f[6].parse().expect("elapsed"),
            )
        })
        .collect();
    let frame_times: Vec<f64> = rows
        .windows(2)
        .filter(|w| w[1].0 <= w[0].0)
        .map(|w| w[0].1)
        .chain(rows.last().map(|r| r.1))
        .collect();
    assert_eq!(frame_times.len(), 4, "{rows:?}");
    let frames_total: f64 = frame_times.iter().sum();
    let elapsed = job["elapsed_s"].as_f64().expect("elapsed_s");
    assert!(
        elapsed >= frames_total,
        "the job's {elapsed} s against its frames' {frames_total} s"
    );
    let (status, bytes, headers) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/gif");
    use image::AnimationDecoder;
    let frames = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes))
        .expect("a GIF")
        .into_frames()
        .collect_frames()
        .expect("frames");
    assert_eq!(frames.len(), 4);
    assert_eq!(frames[0].buffer().dimensions(), (96, 64));
    // The frames are in the GIF: their work folder is gone (a long clip's
    // held hundreds of MB until the job was removed).
    let work_folders = || -> Vec<PathBuf> {
        std::fs::read_dir(server.jobs_dir())
            .expect("the jobs' folder")
            .map(|e| e.expect("an entry").path().join("frames"))
            .filter(|p| p.exists())
            .collect()
    };
    assert_eq!(work_folders(), Vec::<PathBuf>::new());
    let (status, bytes, _) = send(&app, get(&format!("/api/jobs/{id}/content"))).await;
    assert_eq!((status, bytes == gif), (StatusCode::OK, true));

    // A clip damaged in a later frame passes the upload's checks and fails
    // in the run: the error names the upload, not the server's private
    // copy of it.
    let mut damaged = gif.clone();
    let at = damaged.len() * 3 / 4;
    damaged[at..at + 8].fill(0xff);
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("video", "cut.gif", &damaged),
            Part::Text("builtin", "udnie"),
            Part::Text("settings", r#"{"size":64,"iterations":2}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    let job = wait_for(&app, id, "failed", |j| {
        j["state"] != "queued" && j["state"] != "running"
    })
    .await;
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["error"].as_str().expect("an error");
    assert!(error.contains("`cut.gif`"), "{error}");
    assert!(!error.contains("stylize-serve-"), "{error}");
    // Nor does a failed clip keep the frames it finished.
    assert_eq!(work_folders(), Vec::<PathBuf>::new());

    // A clip cut short (its end lost in a copy) is painted to its last
    // whole frame, and the job says so on the page, by the upload's name.
    let short = &gif[..gif.len() - gif.len() / 6];
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("video", "short.gif", short),
            Part::Text("builtin", "udnie"),
            Part::Text("settings", r#"{"size":64,"iterations":2}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    let job = wait_for(&app, id, "done", |j| {
        j["state"] != "queued" && j["state"] != "running"
    })
    .await;
    assert_eq!(job["state"], "done", "{job}");
    let warnings = job["warnings"].to_string();
    assert!(
        warnings.contains("short.gif: the file ends early"),
        "{warnings}"
    );
    assert!(!warnings.contains("stylize-serve-"), "{warnings}");
}

/// The mean absolute difference of two same-sized images, in 8-bit levels.
fn mean_levels(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: f64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum();
    sum / a.as_raw().len() as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_jobs_paint_in_one_pass_or_start_the_optimiser() {
    let Some(server) = server_with_fast("fast_jobs", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    let (_, info) = json(&app, get("/api/info")).await;
    assert_eq!(info["fast"], true);
    assert_eq!(info["presets"]["seed"]["method"], "optimize");
    let photo = asset("chelsea.jpg");

    // The network alone: one pass at the job's size, no costs.
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "starry_night"),
            Part::Text("settings", r#"{"method":"fast","size":96}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    assert_eq!(job["iterations"], 1);
    assert_eq!(
        job["command"],
        "stylize fast --content chelsea.jpg --style starry_night \
         --output result.png --size 96"
    );
    let job = wait_for(&app, id, "done", |j| j["state"] == "done").await;
    assert_eq!(
        (job["iteration"].as_u64(), job["costs"].is_null()),
        (Some(1), true)
    );
    let (status, png, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    assert_eq!(status, StatusCode::OK);
    let painted = image::load_from_memory(&png).expect("a PNG").to_rgb8();
    assert_eq!(painted.dimensions(), (96, 64));
    // A painting, not the photo: far from the photo at the same size.
    let small = image::load_from_memory(&photo)
        .expect("the photo")
        .resize_exact(96, 64, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let diff = mean_levels(&painted, &small);
    assert!(
        diff > 20.0,
        "mean difference from the photo {diff:.1} levels"
    );

    // A photo with transparency keeps it, as `stylize fast` keeps it.
    let rgba = {
        let p = image::load_from_memory(&photo)
            .expect("the photo")
            .to_rgba8();
        let w = p.width();
        let see_through = image::RgbaImage::from_fn(w, p.height(), |x, y| {
            let q = p.get_pixel(x, y);
            image::Rgba([q[0], q[1], q[2], if x < w / 2 { 255 } else { 77 }])
        });
        let mut png = std::io::Cursor::new(Vec::new());
        see_through
            .write_to(&mut png, image::ImageFormat::Png)
            .expect("encode");
        png.into_inner()
    };
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "see-through.png", &rgba),
            Part::Text("builtin", "starry_night"),
            Part::Text("settings", r#"{"method":"fast","size":96}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    wait_for(&app, id, "done", |j| j["state"] == "done").await;
    let (_, png, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    let result = image::load_from_memory(&png).expect("a PNG").to_rgba8();
    assert_eq!(result.get_pixel(2, 32)[3], 255);
    assert!(result.get_pixel(93, 32)[3].abs_diff(77) <= 2, "alpha lost");

    // A 3x3 photo is enlarged to the job's size, as `stylize fast` (the
    // command shown) enlarges it.
    let mut three = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(3, 3)
        .write_to(&mut three, image::ImageFormat::Png)
        .expect("encode");
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "three.png", three.get_ref()),
            Part::Text("builtin", "starry_night"),
            Part::Text("settings", r#"{"method":"fast","size":96}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let id = v["id"].as_u64().expect("id");
    wait_for(&app, id, "done", |j| j["state"] == "done").await;
    let (_, png, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    let result = image::load_from_memory(&png).expect("a PNG");
    assert_eq!((result.width(), result.height()), (96, 96));
    // A 3x3 painting is refused, for either use of the network, and the
    // estimate says it does not fit.
    for settings in [
        r#"{"method":"fast","size":96}"#,
        r#"{"method":"optimize","init":"fast","size":64,"iterations":1}"#,
    ] {
        let (status, v) = json(
            &app,
            post_job(&[
                Part::File("content", "photo.png", &photo),
                Part::File("style", "three.png", three.get_ref()),
                Part::Text("settings", settings),
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{settings}: {v}");
        assert!(
            error_of(&v).contains("painting 1 is 3x3; the fast network needs at least 16x16"),
            "{settings}: {v}"
        );
    }
    let (status, v) = json(
        &app,
        Request::post("/api/estimate")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, ORIGIN)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                r#"{"settings":{"method":"fast","size":96},"content":[96,64],"styles":[[1,1]]}"#,
            ))
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["fits"], false, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("painting 1 is 1x1")),
        "{v}"
    );
    // So is one too narrow at the job's size (64x1), before it is queued.
    let mut strip = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(1000, 20)
        .write_to(&mut strip, image::ImageFormat::Png)
        .expect("encode");
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "strip.png", strip.get_ref()),
            Part::Text("builtin", "starry_night"),
            Part::Text("settings", r#"{"method":"fast","size":64}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        error_of(&v).contains("64x1 at size 64")
            && error_of(&v).contains("choose a size of 775 or more"),
        "{v}"
    );

    // Less strength: the style vector nearer the photo's own.
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "starry_night"),
            Part::Text(
                "settings",
                r#"{"method":"fast","size":96,"fast_strength":0.2}"#,
            ),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let weak_id = job["id"].as_u64().expect("id");
    assert!(job["command"]
        .as_str()
        .is_some_and(|c| c.ends_with("--size 96 --strength 0.2")));
    wait_for(&app, weak_id, "done", |j| j["state"] == "done").await;
    let (_, png, _) = send(&app, get(&format!("/api/jobs/{weak_id}/result"))).await;
    let weak = image::load_from_memory(&png).expect("a PNG").to_rgb8();
    let weak_diff = mean_levels(&weak, &small);
    assert!(
        weak_diff < diff,
        "strength 0.2 is {weak_diff:.1} levels from the photo, strength 1 {diff:.1}"
    );

    // The optimiser from the network's painting.
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "udnie"),
            Part::Text(
                "settings",
                r#"{"preset":"gatys","init":"fast","size":64,"iterations":3}"#,
            ),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    assert!(job["command"]
        .as_str()
        .is_some_and(|c| c.starts_with("stylize image") && c.ends_with("--init fast --threads 2")));
    let job = wait_for(&app, id, "done", |j| j["state"] == "done").await;
    assert_eq!(job["iteration"], 3);
    assert!(job["costs"]["total"].as_f64().is_some_and(|c| c > 0.0));

    // A clip: every frame through the network, blended along the flow;
    // its title frame keeps its time.
    let gif = gif_with_delays(&[1000, 100, 100, 100]);
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("video", "walk.gif", &gif),
            Part::Text("builtin", "udnie"),
            Part::Text("settings", r#"{"method":"fast","size":64}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    let frames = job["frames"].as_u64().expect("frames");
    assert_eq!(job["iterations"].as_u64(), Some(frames));
    let job = wait_for(&app, id, "done", |j| j["state"] == "done").await;
    assert_eq!(job["frames_done"].as_u64(), Some(frames), "{job}");
    let (status, bytes, headers) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/gif");
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).expect("a GIF");
    let decoded = image::AnimationDecoder::into_frames(decoder)
        .collect_frames()
        .expect("frames");
    assert_eq!(decoded.len() as u64, frames);
    let ms: Vec<u32> = decoded
        .iter()
        .map(|f| f.delay().numer_denom_ms())
        .map(|(n, d)| n / d)
        .collect();
    assert_eq!(ms, [1000, 100, 100, 100]);
    // Painted at 64 px, written at the clip's own size (96x64), as the
    // job's command (`stylize video --method fast`) writes it.
    assert_eq!(decoded[0].buffer().dimensions(), (96, 64));

    // A clip cut short (its length unknown until it ends) is done with the
    // frames it had, and says so.
    let cut = &gif[..gif.len() * 3 / 5];
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("video", "cut.gif", cut),
            Part::Text("builtin", "udnie"),
            Part::Text("settings", r#"{"method":"fast","size":64}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    let job = wait_for(&app, id, "finished", |j| {
        j["state"] != "queued" && j["state"] != "running"
    })
    .await;
    assert_eq!(job["state"], "done", "{job}");
    let done = job["frames_done"].as_u64().expect("frames_done");
    assert!((1..4).contains(&done), "{job}");
    assert_eq!(
        (job["frames"].as_u64(), job["iterations"].as_u64()),
        (Some(done), Some(done)),
        "{job}"
    );
    let (_, bytes, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(bytes)).expect("a GIF");
    let decoded = image::AnimationDecoder::into_frames(decoder)
        .collect_frames()
        .expect("frames");
    assert_eq!(decoded.len() as u64, done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_networks_own_styles_paint_without_a_painting() {
    let Some(server) = server_with_fast("network_styles", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    let (_, info) = json(&app, get("/api/info")).await;
    let styles = info["network_styles"].as_array().expect("a list");
    assert_eq!(styles.len(), 26);
    assert_eq!(styles[3]["url"], "/api/network-styles/3.jpg");

    // Swatches: each style on the same bundled photo, different from each other.
    let mut swatches = Vec::new();
    for n in [3, 12] {
        let (status, jpeg, headers) =
            send(&app, get(&format!("/api/network-styles/{n}.jpg"))).await;
        assert_eq!(status, StatusCode::OK, "swatch {n}");
        assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
        let img = image::load_from_memory(&jpeg).expect("a JPEG").to_rgb8();
        assert_eq!(img.width().max(img.height()), 160);
        swatches.push(img);
    }
    let apart = mean_levels(&swatches[0], &swatches[1]);
    assert!(apart > 10.0, "styles 3 and 12 differ by {apart:.1} levels");
    for bad in ["26.jpg", "x.jpg", "3.png", "+3.jpg", "003.jpg"] {
        let (status, _, _) = send(&app, get(&format!("/api/network-styles/{bad}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }

    // A job with built-in style 3 and no painting: the library's own
    // painting of the photo at that size, with that style.
    let photo = asset("chelsea.jpg");
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text(
                "settings",
                r#"{"method":"fast","size":96,"network_style":"3"}"#,
            ),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(
        job["command"],
        "stylize fast --content chelsea.jpg --builtin 3 --output result.png --size 96"
    );
    assert_eq!(job["styles"].as_array().map(Vec::len), Some(0));
    let id = job["id"].as_u64().expect("id");
    wait_for(&app, id, "done", |j| j["state"] == "done").await;
    let (_, png, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    let painted = image::load_from_memory(&png).expect("a PNG").to_rgb8();
    let fast =
        stylize_feedforward::FastStylizer::load(&stylize_feedforward::default_models_dir(), 2)
            .expect("models");
    let small = stylize_feedforward::resize_longest(
        &image::load_from_memory(&photo).expect("photo").to_rgb32f(),
        96,
    );
    let want = fast
        .stylize(
            &small,
            &stylize_feedforward::FastStyle::Builtin(
                stylize_feedforward::StyleMix::single(3).expect("style 3"),
            ),
            &stylize_feedforward::FastOptions::default(),
        )
        .expect("paints");
    let want = image::DynamicImage::ImageRgb32F(want).to_rgb8();
    let off = mean_levels(&painted, &want);
    assert!(
        off < 0.5,
        "the job's result is {off:.2} levels from style 3's"
    );

    // A clip with a built-in style: every frame, and the video command.
    let gif = tiny_gif();
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("video", "walk.gif", &gif),
            Part::Text(
                "settings",
                r#"{"method":"fast","size":64,"network_style":"3:0.5,12:0.5"}"#,
            ),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert!(job["command"]
        .as_str()
        .is_some_and(|c| c
            .starts_with("stylize video --method fast --input walk.gif --builtin 3:0.5,12:0.5 ")));
    let id = job["id"].as_u64().expect("id");
    let frames = job["frames"].as_u64().expect("frames");
    let job = wait_for(&app, id, "done", |j| j["state"] == "done").await;
    assert_eq!(job["frames_done"].as_u64(), Some(frames), "{job}");

    // What is refused, by cause.
    let starry = Part::Text("builtin", "starry_night");
    for (parts, status, want) in [
        (
            vec![
                Part::Text("settings", r#"{"method":"fast","network_style":"3"}"#),
                starry,
            ],
            StatusCode::BAD_REQUEST,
            "send no `style`",
        ),
        (
            vec![Part::Text("settings", r#"{"method":"fast"}"#)],
            StatusCode::BAD_REQUEST,
            "no style",
        ),
        (
            vec![Part::Text("settings", r#"{"network_style":"3"}"#)],
            StatusCode::BAD_REQUEST,
            "set method",
        ),
        (
            vec![Part::Text(
                "settings",
                r#"{"method":"fast","network_style":"30"}"#,
            )],
            StatusCode::BAD_REQUEST,
            "0 to 25",
        ),
    ] {
        let mut all = vec![Part::File("content", "chelsea.jpg", &photo)];
        all.extend(parts);
        let (got, v) = json(&app, post_job(&all)).await;
        assert_eq!(got, status, "{v}");
        assert!(error_of(&v).contains(want), "{v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn style_blend_weighs_the_paintings_in_both_methods() {
    let Some(server) = server_with_fast("style_blend", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    let photo = asset("chelsea.jpg");
    // One job: the photo, the given bundled paintings, the settings; its
    // result once done, and the job as it ended.
    let run = |styles: &'static [&'static str], settings: &'static str| {
        let app = app.clone();
        let photo = photo.clone();
        async move {
            let mut parts = vec![Part::File("content", "chelsea.jpg", &photo)];
            parts.extend(styles.iter().map(|s| Part::Text("builtin", s)));
            parts.push(Part::Text("settings", settings));
            let (status, job) = json(&app, post_job(&parts)).await;
            assert_eq!(status, StatusCode::CREATED, "{settings}: {job}");
            let id = job["id"].as_u64().expect("id");
            let done = wait_for(&app, id, "done", |j| j["state"] == "done").await;
            let (_, png, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
            let img = image::load_from_memory(&png).expect("a PNG").to_rgb8();
            (job, done, img)
        }
    };
    const BOTH: &[&str] = &["udnie", "great_wave"];
    // The network: all the weight on the first painting is that painting
    // alone; equal parts are not.
    let (job, _, first) = run(BOTH, r#"{"method":"fast","size":96,"style_blend":[1,0]}"#).await;
    assert!(job["command"]
        .as_str()
        .is_some_and(|c| c.ends_with("--style-blend 1,0 --output result.png --size 96")));
    let (_, _, alone) = run(&["udnie"], r#"{"method":"fast","size":96}"#).await;
    let (_, _, equal) = run(BOTH, r#"{"method":"fast","size":96}"#).await;
    let off = mean_levels(&first, &alone);
    assert!(
        off < 0.5,
        "weights 1,0 are {off:.2} levels from the first painting alone"
    );
    let apart = mean_levels(&equal, &alone);
    assert!(
        apart > 3.0,
        "equal parts are only {apart:.2} levels from the first painting"
    );

    // The optimiser: the same costs as the first painting alone.
    let opt = r#"{"preset":"gatys","size":64,"iterations":2,"style_blend":[1,0]}"#;
    let (job, done, _) = run(BOTH, opt).await;
    assert!(job["command"].as_str().is_some_and(
        |c| c.starts_with("stylize image") && c.ends_with("--style-blend 1,0 --threads 2")
    ));
    let (_, alone, _) = run(&["udnie"], r#"{"preset":"gatys","size":64,"iterations":2}"#).await;
    let cost = |j: &Value| j["costs"]["total"].as_f64().expect("a cost");
    let (a, b) = (cost(&done), cost(&alone));
    assert!(
        (a - b).abs() <= 1e-4 * b,
        "weights 1,0 cost {a}, the first painting alone {b}"
    );

    // What is refused, by cause.
    for (styles, settings, want) in [
        (
            BOTH,
            r#"{"method":"fast","style_blend":[1]}"#,
            "one weight per",
        ),
        (
            BOTH,
            r#"{"style_blend":[1,-1]}"#,
            "weights must be finite numbers >= 0",
        ),
        (BOTH, r#"{"style_blend":[0,0]}"#, "all weights are 0"),
        (
            &[][..],
            r#"{"method":"fast","network_style":"3","style_blend":[1]}"#,
            "its own weights",
        ),
    ] {
        let mut parts = vec![Part::File("content", "chelsea.jpg", &photo)];
        parts.extend(styles.iter().map(|s| Part::Text("builtin", s)));
        parts.push(Part::Text("settings", settings));
        let (status, v) = json(&app, post_job(&parts)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{settings}: {v}");
        assert!(error_of(&v).contains(want), "{settings}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_models_fast_jobs_are_refused_saying_how_to_get_them() {
    let Some(server) = server("no_fast", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    let (_, info) = json(&app, get("/api/info")).await;
    assert_eq!(info["fast"], false);
    assert_eq!(info["network_styles"].as_array().map(Vec::len), Some(0));
    let (status, v) = json(&app, get("/api/network-styles/3.jpg")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(error_of(&v).contains("scripts/fetch-fast-models"), "{v}");
    let photo = asset("chelsea.jpg");
    for settings in [r#"{"method":"fast"}"#, r#"{"init":"fast"}"#] {
        let (status, v) = json(
            &app,
            post_job(&[
                Part::File("content", "chelsea.jpg", &photo),
                Part::Text("builtin", "udnie"),
                Part::Text("settings", settings),
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{settings}: {v}");
        assert!(error_of(&v).contains("scripts/fetch-fast-models"), "{v}");
    }
    let (_, list) = json(&app, get("/api/jobs")).await;
    assert_eq!(list.as_array().map(Vec::len), Some(0), "nothing queued");
    // Nor does the estimate say such a job fits.
    let (status, v) = json(
        &app,
        estimate_request(r#"{"settings":{"method":"fast","size":64},"content":[451,300]}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["fits"], false, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("scripts/fetch-fast-models")),
        "{v}"
    );
}

/// The photo and the paintings of one job share the decoding limit:
/// files that each decode within it cannot add up to many times it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_images_share_the_decoding_limit() {
    let config = stylize_serve::ServeConfig {
        // Two 96x64 RGB images (18432 bytes each) fit; a third does not.
        image_limits: stylize::ImageLimits {
            max_alloc: 40_000,
            ..stylize::ImageLimits::DEFAULT
        },
        ..quick_config()
    };
    let Some(server) = server("a_jobs_images_share_the_decoding_limit", config) else {
        return;
    };
    let app = server.router(PORT);
    let tiny = tiny_png();
    let photo_and = |styles: usize| -> Vec<Part<'_>> {
        std::iter::once(Part::File("content", "a.png", &tiny))
            .chain((0..styles).map(|_| Part::File("style", "s.png", &tiny)))
            .chain([Part::Text("settings", r#"{"size": 32, "iterations": 1}"#)])
            .collect()
    };
    let (status, v) = json(&app, post_job(&photo_and(2))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(error_of(&v).contains("may decode to at most"), "{v}");
    let (status, v) = json(&app, post_job(&photo_and(1))).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

/// The waiting jobs' decoded images are bounded together
/// (`max_queued_bytes`); the running job's are not counted, a job
/// refused for it goes in once the queue has moved on, and one alone over
/// it goes in when nothing waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_jobs_hold_a_bounded_amount_of_decoded_images() {
    let config = stylize_serve::ServeConfig {
        // A job of two 96x64 RGB images holds 36864 bytes: one waits.
        max_queued_bytes: 40_000,
        ..quick_config()
    };
    let Some(server) = server("the_waiting_jobs_hold_a_bounded_amount", config) else {
        return;
    };
    let app = server.router(PORT);
    let tiny = tiny_png();
    let job = |iterations: usize| {
        let settings = format!(r#"{{"size": 32, "iterations": {iterations}}}"#);
        post_job(&[
            Part::File("content", "a.png", &tiny),
            Part::File("style", "s.png", &tiny),
            Part::Text("settings", &settings),
        ])
    };
    let (status, a) = json(&app, job(100_000)).await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let a = a["id"].as_u64().expect("id");
    wait_for(&app, a, "running", |j| j["state"] == "running").await;
    let (status, b) = json(&app, job(2)).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let b = b["id"].as_u64().expect("id");
    let (status, v) = json(&app, job(2)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(
        error_of(&v).contains(
            "the waiting jobs hold 36 KiB of decoded images, and this one's 36 KiB would pass"
        ),
        "{v}"
    );
    let _ = json(&app, post(&format!("/api/jobs/{a}/cancel"))).await;
    wait_for(&app, b, "started", |j| j["state"] != "queued").await;
    let (status, v) = json(&app, job(2)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let c = v["id"].as_u64().expect("id");
    wait_for(&app, c, "done", |j| j["state"] == "done").await;
    // A job alone over the bound (three images, 55296 bytes) goes in when
    // nothing waits: waiting would not help it.
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "a.png", &tiny),
            Part::File("style", "s.png", &tiny),
            Part::File("style", "t.png", &tiny),
            Part::Text("settings", r#"{"size": 32, "iterations": 2}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

/// A preview interval of `Duration::MAX` (no more previews after the
/// first) used to overflow the clock and fail every optimiser job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_preview_interval_means_one_preview() {
    let config = stylize_serve::ServeConfig {
        preview_interval: Duration::MAX,
        ..quick_config()
    };
    let Some(server) = server("an_endless_preview_interval_means_one_preview", config) else {
        return;
    };
    let app = server.router(PORT);
    let photo = asset("chelsea.jpg");
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "great_wave"),
            Part::Text("settings", &small_job(3)),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    let job = wait_for(&app, id, "an end", |j| {
        j["state"] != "queued" && j["state"] != "running"
    })
    .await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["iteration"], 3, "{job}");
    assert_eq!(job["preview_seq"], 1, "{job}");
}

/// A photo cut short (a JPEG whose end is missing) decodes, its missing
/// part grey: the job says so, in the file's own name, where the page
/// shows it (it used to reach only the server's log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_cut_short_is_said_in_the_job() {
    let Some(server) = server("a_photo_cut_short_is_said_in_the_job", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    let photo = asset("chelsea.jpg");
    let cut = &photo[..photo.len() * 2 / 3];
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "half.jpg", cut),
            Part::Text("builtin", "great_wave"),
            Part::Text("settings", &small_job(1)),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let warnings = job["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 2, "{job}");
    let text = warnings[0].as_str().unwrap();
    assert!(
        text.starts_with("half.jpg: the file ends before its image data does"),
        "{text}"
    );
    // A whole photo: none but the note that 64 px is scaled up to the
    // photo's size, as the command line notes it.
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "great_wave"),
            Part::Text("settings", &small_job(1)),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["warnings"], serde_json::json!([CHELSEA_AT_64]), "{job}");
    // At a size near the photo's: no note.
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "great_wave"),
            Part::Text("settings", r#"{"size":256,"iterations":1}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["warnings"], serde_json::json!([]), "{job}");
}

/// A PNG of `w` x `h`, white in its left half and black in its right.
fn half_mask(w: u32, h: u32) -> Vec<u8> {
    let mask =
        image::GrayImage::from_fn(w, h, |x, _| image::Luma([if x < w / 2 { 255 } else { 0 }]));
    let mut png = std::io::Cursor::new(Vec::new());
    mask.write_to(&mut png, image::ImageFormat::Png)
        .expect("encode");
    png.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mask_keeps_the_photo_where_it_is_black() {
    let Some(server) = server_with_fast("a_mask_keeps_the_photo", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    let photo = asset("chelsea.jpg");
    let decoded = image::load_from_memory(&photo)
        .expect("the photo")
        .to_rgb8();
    // Drawn at another scale of the photo (as the page draws it): no warning.
    let mask = half_mask(226, 150);

    // The optimiser: the result at the photo's size, its right half the
    // photo's own pixels, its left half painted.
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "starry_night"),
            Part::File("mask", "left half.png", &mask),
            Part::Text("settings", &small_job(3)),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    // No word of the mask: only the note that 64 px is scaled up.
    assert_eq!(job["warnings"], serde_json::json!([CHELSEA_AT_64]), "{job}");
    let id = job["id"].as_u64().expect("id");
    assert_eq!(job["mask"]["name"], "left half.png");
    assert_eq!(job["mask"]["url"], format!("/api/jobs/{id}/mask"));
    let command = job["command"].as_str().expect("command");
    assert!(
        command.contains("--output result.png --mask 'left half.png' --preset seed"),
        "{command}"
    );
    // The mask as uploaded, for "run again".
    let (status, bytes, headers) = send(&app, get(&format!("/api/jobs/{id}/mask"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, mask);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    wait_for(&app, id, "done", |j| j["state"] == "done").await;
    let (_, png, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    let result = image::load_from_memory(&png).expect("a PNG").to_rgb8();
    assert_eq!(result.dimensions(), decoded.dimensions());
    let (w, h) = result.dimensions();
    let half = |img: &image::RgbImage, x0: u32| {
        image::imageops::crop_imm(img, x0, 0, w / 2 - 8, h).to_image()
    };
    assert_eq!(
        half(&result, w / 2 + 8),
        half(&decoded, w / 2 + 8),
        "the black half is not the photo"
    );
    let painted = mean_levels(&half(&result, 0), &half(&decoded, 0));
    assert!(
        painted > 5.0,
        "the white half is not painted: {painted:.1} levels"
    );

    // The fast network: the same, at the job's size.
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "starry_night"),
            Part::File("mask", "left half.png", &mask),
            Part::Text("settings", r#"{"method":"fast","size":96}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    let id = job["id"].as_u64().expect("id");
    assert!(
        job["command"]
            .as_str()
            .is_some_and(|c| c.contains("--output result.png --mask 'left half.png' --size 96")),
        "{job}"
    );
    wait_for(&app, id, "done", |j| j["state"] == "done").await;
    let (_, png, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    let result = image::load_from_memory(&png).expect("a PNG").to_rgb8();
    assert_eq!(result.dimensions(), (96, 64));
    // The photo as the network saw it (as `stylize fast --mask` keeps it).
    let small = image::DynamicImage::ImageRgb32F(stylize_feedforward::resize_longest(
        &image::load_from_memory(&photo)
            .expect("the photo")
            .to_rgb32f(),
        96,
    ))
    .to_rgb8();
    let right = |img: &image::RgbImage| image::imageops::crop_imm(img, 52, 0, 44, 64).to_image();
    let left = |img: &image::RgbImage| image::imageops::crop_imm(img, 0, 0, 44, 64).to_image();
    assert_eq!(
        right(&result),
        right(&small),
        "the black half is not the photo"
    );
    let painted = mean_levels(&left(&result), &left(&small));
    assert!(
        painted > 20.0,
        "the white half is not painted: {painted:.1} levels"
    );

    // A mask of another shape, or one that paints nothing, is said; a
    // mask that is not an image, a second mask and a clip's mask are refused.
    let black = {
        let mut png = std::io::Cursor::new(Vec::new());
        image::GrayImage::new(40, 40)
            .write_to(&mut png, image::ImageFormat::Png)
            .expect("encode");
        png.into_inner()
    };
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "starry_night"),
            Part::File("mask", "black.png", &black),
            Part::Text("settings", r#"{"method":"fast","size":96}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(
        job["warnings"],
        serde_json::json!([
            "mask `black.png` is 40x40, the photo 451x300: it is stretched to that shape",
            "mask `black.png` is black (or transparent) everywhere: nothing of the photo is painted"
        ])
    );
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "starry_night"),
            Part::File("mask", "notes.txt", b"paint the sky"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    assert_eq!(
        error_of(&v),
        "the mask `notes.txt` is not a PNG, JPEG, WebP or GIF image"
    );
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "starry_night"),
            Part::File("mask", "a.png", &mask),
            Part::File("mask", "b.png", &mask),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(error_of(&v), "more than one `mask` part");
    // A clip's mask is the same over every frame (the fast network's
    // frames at the job's size, the GIF's colours within its palette).
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("video", "walk.gif", &tiny_gif()),
            Part::Text("builtin", "starry_night"),
            Part::File("mask", "left half.png", &mask),
            Part::Text("settings", r#"{"method":"fast","size":96}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert!(
        job["command"].as_str().is_some_and(|c| c.starts_with(
            "stylize video --method fast --input walk.gif --style starry_night \
             --output result.gif --mask 'left half.png'"
        )),
        "{job}"
    );
    let id = job["id"].as_u64().expect("id");
    wait_for(&app, id, "done", |j| j["state"] == "done").await;
    let (_, gif, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    let source =
        image::codecs::gif::GifDecoder::new(std::io::Cursor::new(tiny_gif())).expect("a GIF");
    let result = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(gif)).expect("a GIF");
    use image::AnimationDecoder;
    let frames = |d: image::codecs::gif::GifDecoder<std::io::Cursor<Vec<u8>>>| {
        d.into_frames()
            .map(|f| image::DynamicImage::ImageRgba8(f.expect("a frame").into_buffer()).to_rgb8())
            .collect::<Vec<_>>()
    };
    let (source, result) = (frames(source), frames(result));
    assert_eq!(result.len(), 4);
    for (k, (s, r)) in source.iter().zip(&result).enumerate() {
        let (kept, painted) = (
            mean_levels(&right(r), &right(s)),
            mean_levels(&left(r), &left(s)),
        );
        assert!(
            kept < 6.0 && painted > 20.0,
            "frame {k}: kept {kept:.1}, painted {painted:.1}"
        );
    }
    // A job without one has none.
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "starry_night"),
            Part::Text("settings", r#"{"method":"fast","size":96}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert!(job["mask"].is_null(), "{job}");
    let id = job["id"].as_u64().expect("id");
    let (status, v) = json(&app, get(&format!("/api/jobs/{id}/mask"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(error_of(&v), format!("the mask of job {id} not found"));
}

fn estimate_request(body: &str) -> Request<Body> {
    Request::post("/api/estimate")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sheet_tries_every_style_on_the_photo() {
    let Some(server) = server_with_fast("a_sheet_tries_every_style", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    let photo = asset("chelsea.jpg");
    let fast =
        stylize_feedforward::FastStylizer::load(&stylize_feedforward::default_models_dir(), 2)
            .expect("models");
    let tile = stylize_feedforward::resize_longest(
        &image::load_from_memory(&photo).expect("photo").to_rgb32f(),
        64,
    );

    // No painting: the network's 26 built-in styles, a pass a tile, the
    // library's own sheet.
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("settings", r#"{"method":"fast","size":64,"sheet":true}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["iterations"], 26);
    assert_eq!(job["settings"]["sheet"], true);
    assert_eq!(
        job["command"],
        "stylize fast --sheet --content chelsea.jpg --output result.png --size 64"
    );
    let id = job["id"].as_u64().expect("id");
    let job = wait_for(&app, id, "done", |j| j["state"] == "done").await;
    assert_eq!(job["iteration"], 26);
    let (_, png, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    let sheet = image::load_from_memory(&png).expect("a PNG").to_rgb8();
    let want = stylize_feedforward::builtin_sheet(
        &fast,
        &tile,
        &stylize_feedforward::FastOptions::default(),
        |_| std::ops::ControlFlow::Continue(()),
    )
    .expect("the sheet")
    .expect("not stopped");
    let want = image::DynamicImage::ImageRgb32F(want).into_rgb8();
    assert_eq!(sheet.dimensions(), want.dimensions());
    assert!(
        mean_levels(&sheet, &want) < 0.5,
        "not the library's sheet: {:.2} levels apart",
        mean_levels(&sheet, &want)
    );

    // Paintings: one tile each, in the order sent.
    let (status, job) = json(
        &app,
        post_job(&[
            Part::File("content", "chelsea.jpg", &photo),
            Part::Text("builtin", "starry_night"),
            Part::Text("builtin", "great_wave"),
            Part::Text("settings", r#"{"method":"fast","size":64,"sheet":true}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["iterations"], 2);
    assert_eq!(
        job["command"],
        "stylize fast --sheet --content chelsea.jpg --style starry_night --style great_wave \
         --output result.png --size 64"
    );
    let id = job["id"].as_u64().expect("id");
    wait_for(&app, id, "done", |j| j["state"] == "done").await;
    let (_, png, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
    let sheet = image::load_from_memory(&png).expect("a PNG").to_rgb8();
    assert_eq!(
        Some(sheet.dimensions()),
        stylize_feedforward::sheet_size(tile.dimensions(), 2)
    );

    // The estimate counts the sheet: 26 tiles hold more than one painting.
    let (_, one) = json(
        &app,
        estimate_request(r#"{"settings":{"method":"fast","size":512},"content":[451,300]}"#),
    )
    .await;
    let (_, all) = json(
        &app,
        estimate_request(
            r#"{"settings":{"method":"fast","size":512,"sheet":true},"content":[451,300]}"#,
        ),
    )
    .await;
    let (one, all) = (
        one["bytes"].as_u64().expect("bytes"),
        all["bytes"].as_u64().expect("bytes"),
    );
    let sheet_bytes =
        stylize_feedforward::sheet_bytes(stylize_feedforward::longest_size((451, 300), 512), 26);
    assert!(all >= sheet_bytes && all > one, "sheet {all}, one {one}");

    // What a sheet cannot be, refused by name.
    let mask = half_mask(40, 30);
    for (parts, want) in [
        (
            vec![Part::Text("settings", r#"{"sheet":true}"#)],
            "settings: a sheet is the fast network's",
        ),
        (
            vec![Part::Text(
                "settings",
                r#"{"method":"fast","sheet":true,"network_style":"3"}"#,
            )],
            "settings: a sheet without paintings shows every built-in style",
        ),
        (
            vec![
                Part::Text("builtin", "udnie"),
                Part::Text("builtin", "great_wave"),
                Part::Text(
                    "settings",
                    r#"{"method":"fast","sheet":true,"style_blend":[1,2]}"#,
                ),
            ],
            "settings: a sheet shows each painting on its own",
        ),
        (
            vec![Part::Text(
                "settings",
                r#"{"method":"fast","sheet":true,"preserve_colors":"luminance"}"#,
            )],
            "settings: a sheet shows each style's own colours",
        ),
        (
            vec![
                Part::File("mask", "m.png", &mask),
                Part::Text("settings", r#"{"method":"fast","sheet":true}"#),
            ],
            "a sheet shows each style on the whole photo",
        ),
    ] {
        let mut all = vec![Part::File("content", "chelsea.jpg", &photo)];
        all.extend(parts);
        let (status, v) = json(&app, post_job(&all)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert!(error_of(&v).starts_with(want), "{v}");
    }
    let (status, v) = json(
        &app,
        post_job(&[
            Part::File("video", "walk.gif", &tiny_gif()),
            Part::Text("settings", r#"{"method":"fast","sheet":true}"#),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        error_of(&v).starts_with("a sheet shows the styles on a photo"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_all_zips_every_result_under_its_kept_name() {
    let Some(server) = server_with_fast("download_all", quick_config()) else {
        return;
    };
    let app = server.router(PORT);
    let (status, v) = json(&app, get("/api/results.zip")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert!(error_of(&v).starts_with("no results yet"), "{v}");
    let photo = asset("chelsea.jpg");
    let mut ids = Vec::new();
    for size in ["96", "80"] {
        let settings = format!(r#"{{"method":"fast","size":{size}}}"#);
        let (status, job) = json(
            &app,
            post_job(&[
                Part::File("content", "chelsea.jpg", &photo),
                Part::Text("builtin", "starry_night"),
                Part::Text("settings", &settings),
            ]),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
        let id = job["id"].as_u64().expect("id");
        wait_for(&app, id, "done", |j| j["state"] == "done").await;
        ids.push(id);
    }
    let (status, zip, headers) = send(&app, get("/api/results.zip")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/zip");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"stylize-results.zip\""
    );
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a ZIP");
    let names: Vec<String> = archive.file_names().map(String::from).collect();
    assert_eq!(names.len(), 2);
    // Oldest first, each as the output folder would name it.
    for (k, (id, name)) in ids
        .iter()
        .zip(["chelsea-starry_night.png", "chelsea-starry_night-2.png"])
        .enumerate()
    {
        let mut entry = archive.by_index(k).expect("an entry");
        assert_eq!(entry.name(), name);
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).expect("read");
        let (_, result, _) = send(&app, get(&format!("/api/jobs/{id}/result"))).await;
        assert_eq!(bytes, result, "{name}");
    }
    // A removed job's result goes from the archive too.
    let (status, _, _) = send(&app, delete(&format!("/api/jobs/{}", ids[0]))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, zip, _) = send(&app, get("/api/results.zip")).await;
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a ZIP");
    assert_eq!(
        archive.file_names().collect::<Vec<_>>(),
        ["chelsea-starry_night.png"]
    );
}
