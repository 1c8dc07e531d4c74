//! Shared by the server's tests: the real weights, a server on them, and
//! requests with the headers this server's own page sends.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request};
use stylize_serve::{ServeConfig, Server};

pub const PORT: u16 = 8080;
pub const HOST: &str = "127.0.0.1:8080";
pub const ORIGIN: &str = "http://127.0.0.1:8080";

// The real weights, found as every other crate's tests find them.
#[path = "../../../stylize/tests/common/mod.rs"]
mod shared;
pub use shared::hed_weights;
// Used by some of the test binaries that include this module.
#[allow(unused_imports)]
pub use shared::png_header_only;

/// A server on the real weights (two worker threads), with quick previews.
pub fn server(test: &str, config: ServeConfig) -> Option<Server> {
    start(test, config, None, 2)
}

/// As [`server`], painting on one thread, as `stylize serve --threads 1`.
pub fn server_on_one_thread(test: &str, config: ServeConfig) -> Option<Server> {
    start(test, config, None, 1)
}

/// As [`server`], with the fast network (its model files: `scripts/test`
/// fetches them; else set STYLIZE_FAST_MODELS or run
/// scripts/fetch-fast-models).
pub fn server_with_fast(test: &str, config: ServeConfig) -> Option<Server> {
    let dir = stylize_feedforward::default_models_dir();
    let fast = stylize_feedforward::FastStylizer::load(&dir, 2).unwrap_or_else(|e| {
        panic!(
            "the tests need the fast models in {}: run scripts/fetch-fast-models or set \
             STYLIZE_FAST_MODELS ({e})",
            dir.display()
        )
    });
    start(test, config, Some(fast), 2)
}

fn start(
    test: &str,
    config: ServeConfig,
    fast: Option<stylize_feedforward::FastStylizer>,
    threads: usize,
) -> Option<Server> {
    let path = hed_weights(test)?;
    let weights = stylize::load_vgg_weights(&path, None).expect("weights load");
    let stylizer = stylize::Stylizer::new(&weights)
        .with_threads(threads)
        .expect("pool");
    Some(Server::with_fast(stylizer, fast, "hed", config).expect("server starts"))
}

pub fn quick_config() -> ServeConfig {
    ServeConfig {
        preview_interval: Duration::from_millis(50),
        ..ServeConfig::default()
    }
}

pub fn asset(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/images")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A part of a multipart form.
pub enum Part<'a> {
    File(&'a str, &'a str, &'a [u8]),
    Text(&'a str, &'a str),
}

pub const BOUNDARY: &str = "stylize-test-boundary-7f3a";

/// The body of a multipart form.
pub fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match p {
            Part::File(name, file, bytes) => {
                out.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                         Content-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                out.extend_from_slice(bytes);
            }
            Part::Text(name, value) => {
                out.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}")
                        .as_bytes(),
                );
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// `POST /api/jobs` as the page sends it.
pub fn post_job(parts: &[Part<'_>]) -> Request<Body> {
    Request::post("/api/jobs")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(multipart(parts)))
        .expect("request")
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, HOST)
        .body(Body::empty())
        .expect("request")
}

pub fn post(uri: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .body(Body::empty())
        .expect("request")
}

pub fn delete(uri: &str) -> Request<Body> {
    Request::delete(uri)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .body(Body::empty())
        .expect("request")
}
