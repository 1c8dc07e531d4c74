//! The routes (see `API.md`): the page and its assets, the server's facts,
//! memory estimates, and the jobs.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use image::DynamicImage;
use serde::Deserialize;
use stylize::StyleConfig;

use crate::api_error::{with_causes, ApiError};
use crate::api_path::ApiPath;
use crate::app::App;
use crate::assets::{BuiltinStyle, APP_JS, BUILTIN_STYLES, INDEX_HTML, STYLE_CSS};
use crate::guard::{self, Guard};
use crate::job::{Inputs, Job, JobKind, JobState, MaskSource, Painting, StyleSource};
use crate::settings::{
    MethodName, PresetName, Settings, SettingsPatch, ITERATIONS_RANGE, SCALES_RANGE, SIZE_RANGE,
    STRENGTH_RANGE,
};
use crate::upload::{self, StylePart};

/// The routes, guarded for a server listening on `port`.
pub(crate) fn router(app: Arc<App>, port: u16) -> Router {
    let guard = Arc::new(Guard::new(app.config.bind, port, &app.config.allowed_hosts));
    let limit = app.config.max_upload_bytes;
    Router::new()
        .route("/", get(index))
        .route("/app.js", get(app_js))
        .route("/style.css", get(style_css))
        .route("/styles/{file}", get(style_image))
        .route("/api/info", get(info))
        .route("/api/network-styles/{file}", get(network_style_swatch))
        .route("/api/estimate", post(estimate))
        .route(
            "/api/jobs",
            // The whole request, read through this limit: 413 beyond it.
            get(list_jobs)
                .post(create_job)
                .layer(DefaultBodyLimit::max(limit)),
        )
        .route("/api/jobs/{id}", get(get_job).delete(delete_job))
        .route("/api/jobs/{id}/preview", get(preview))
        .route("/api/jobs/{id}/result", get(result))
        .route("/api/jobs/{id}/content", get(content))
        .route("/api/jobs/{id}/styles/{k}", get(style_of_job))
        .route("/api/jobs/{id}/mask", get(mask_of_job))
        .route("/api/results.zip", get(results_zip))
        .route("/api/jobs/{id}/costs.csv", get(costs_csv))
        .route("/api/jobs/{id}/cancel", post(cancel))
        .route("/api/events", get(crate::events::events))
        .fallback(no_such_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            crate::idle_body::BodyTimes {
                idle: app.config.upload_idle_timeout,
                whole: app.config.upload_timeout,
            },
            crate::idle_body::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(guard, guard::check))
        .with_state(app)
}

type ApiResult<T> = Result<T, ApiError>;

async fn no_such_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("`{}`", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not answered at `{}` (see API.md)", uri.path()),
    )
}

fn no_store(content_type: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    no_store("text/html; charset=utf-8", INDEX_HTML)
}

async fn app_js() -> Response {
    no_store("text/javascript; charset=utf-8", APP_JS)
}

async fn style_css() -> Response {
    no_store("text/css; charset=utf-8", STYLE_CSS)
}

async fn style_image(ApiPath(file): ApiPath<String>) -> ApiResult<Response> {
    let style = file
        .strip_suffix(".jpg")
        .and_then(crate::assets::builtin_style)
        .ok_or_else(|| ApiError::not_found(format!("style {file}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        style.bytes,
    )
        .into_response())
}

/// The fast network's built-in style `N` on a bundled photo (`N.jpg`).
async fn network_style_swatch(
    State(app): State<Arc<App>>,
    ApiPath(file): ApiPath<String>,
) -> ApiResult<Response> {
    let index: usize = file
        .strip_suffix(".jpg")
        // The number as `/api/info` writes it: not `+3` or `003`.
        .and_then(|n| n.parse().ok().filter(|i: &usize| i.to_string() == n))
        .filter(|&n| n < stylize_feedforward::BUILTIN_STYLES)
        .ok_or_else(|| ApiError::not_found(format!("network style {file}")))?;
    let fast = app.fast.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            crate::app::NO_FAST_NETWORK,
        )
    })?;
    let jpeg = tokio::task::spawn_blocking(move || app.swatches.get(&fast, index))
        .await
        .map_err(|e| ApiError::internal(format!("painting the swatch stopped: {e}")))?
        .map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        jpeg,
    )
        .into_response())
}

async fn info(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    // The fast network's built-in styles (`network_style`), with their
    // swatches; none without the network.
    let network_styles: Vec<_> = match app.fast {
        Some(_) => (0..stylize_feedforward::BUILTIN_STYLES)
            .map(|n| {
                serde_json::json!({
                    "index": n,
                    "url": format!("/api/network-styles/{n}.jpg"),
                })
            })
            .collect(),
        None => Vec::new(),
    };
    let styles: Vec<_> = BUILTIN_STYLES
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name,
                "title": s.title,
                "url": format!("/styles/{}.jpg", s.name),
            })
        })
        .collect();
    Json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "device": app.stylizer.device_description(),
        "weights": app.weights,
        // Whether jobs may use the feed-forward network (`method: fast`,
        // `init: fast`).
        "fast": app.fast.is_some(),
        "network_styles": network_styles,
        "max_upload_bytes": app.config.max_upload_bytes,
        // Whether finished results are also written to a folder that
        // outlives the server (`--output-dir`); else they go when it stops.
        "keeps_results": app.config.output_dir.is_some(),
        "max_memory_bytes": app.config.max_memory,
        "default_preset": "seed",
        "presets": {
            "seed": Settings::defaults(PresetName::Seed),
            "gatys": Settings::defaults(PresetName::Gatys),
        },
        "styles": styles,
        "ranges": {
            "size": [SIZE_RANGE.0, SIZE_RANGE.1],
            "iterations": [ITERATIONS_RANGE.0, ITERATIONS_RANGE.1],
            "strength": [STRENGTH_RANGE.0, STRENGTH_RANGE.1],
            "scales": [SCALES_RANGE.0, SCALES_RANGE.1],
        },
    }))
}

fn parse_settings(text: Option<&str>) -> ApiResult<Settings> {
    let patch: SettingsPatch = match text.map(str::trim).filter(|t| !t.is_empty()) {
        // An object only: serde would also read a JSON array as the
        // fields in order, and name its own type in the error.
        Some(t) if !t.starts_with('{') => {
            return Err(ApiError::bad_request(
                "settings: expected a JSON object, such as {\"size\": 256}",
            ))
        }
        Some(t) => {
            serde_json::from_str(t).map_err(|e| ApiError::bad_request(format!("settings: {e}")))?
        }
        None => SettingsPatch::default(),
    };
    Settings::resolve(&patch).map_err(|e| ApiError::bad_request(format!("settings: {e}")))
}

/// 400 when the settings' `style_blend` does not weigh `paintings`
/// paintings, one weight each, or there are more paintings than a job may
/// have.
fn check_blend(settings: &Settings, paintings: usize) -> ApiResult<()> {
    if paintings > crate::upload::MAX_STYLES {
        return Err(crate::upload::too_many_styles());
    }
    match &settings.style_blend {
        Some(b) if b.len() != paintings => Err(ApiError::bad_request(format!(
            "style_blend has {} weight(s) for {paintings} painting(s): give one weight per \
             `style` or `builtin` part, in the order sent",
            b.len()
        ))),
        _ => Ok(()),
    }
}

/// The memory a run of `settings` (as `config`) needs (a clip's frames
/// painted one after another, `clip`), and the refusal
/// message when that is over the server's limit; 422 when it cannot run at
/// all (images too small for its layers).
fn check_memory(
    app: &App,
    settings: &Settings,
    config: &StyleConfig,
    content: (u32, u32),
    clip: bool,
    styles: &[(u32, u32)],
) -> ApiResult<(u64, Option<String>)> {
    if settings.method == MethodName::Fast {
        let side = settings.size;
        let estimate = |side: u32| {
            if clip {
                stylize_feedforward::estimate_clip_memory(content, side, styles)
            } else {
                stylize_feedforward::estimate_memory(content, side, styles)
            }
        };
        // A sheet holds its tiles beside the network's run on one.
        let need_at = |side: u32| {
            let sheet = settings.sheet.then(|| {
                let tile = stylize_feedforward::longest_size(content, side);
                stylize_feedforward::sheet_bytes(tile, crate::settings::sheet_tiles(styles.len()))
            });
            estimate(side).total.saturating_add(sheet.unwrap_or(0))
        };
        let need = need_at(side);
        let refusal = app
            .config
            .max_memory
            .filter(|limit| need > *limit)
            .map(|limit| {
                // The largest size that fits, from the least the networks take
                // for the photo's shape; none where the images' own size is
                // already over the limit.
                let least =
                    stylize_feedforward::least_longest(content, 16, crate::settings::SIZE_RANGE.1);
                let advice = match least
                    .and_then(|l| stylize_feedforward::largest_size_within(limit, l, side, need_at))
                {
                    Some(fits) => format!("a size of {fits} fits"),
                    // Too narrow at any size: no size is worth naming.
                    None if least.is_none() => {
                        "the photo is too narrow for the fast network at any size".to_string()
                    }
                    // Where the least run of all (tiny images at the
                    // least size) fits, smaller images help; else
                    // nothing the page can change.
                    None if stylize_feedforward::estimate_memory((16, 16), 16, &[]).total
                        <= limit =>
                    {
                        "scale the images down before uploading them".to_string()
                    }
                    None => "this server's limit (its --max-memory) is below what the fast \
                                 network needs at any size"
                        .to_string(),
                };
                let (need, limit) = stylize::memory::human_apart(need, limit);
                format!(
                "the fast network at {side} px needs about {need}, over this server's limit of \
                 {limit}: {advice}"
            )
            });
        return Ok((need, refusal));
    }
    // A clip's frames are painted as `stylize video` paints them, with
    // the optical flow between them at their own size beside each.
    let check = |limit: Option<u64>| {
        let config = config.clone().with_max_memory(limit);
        if clip {
            let video = stylize::video::VideoConfig {
                image: config,
                ..stylize::video::VideoConfig::default()
            };
            stylize::video::check_video_memory(&app.stylizer, content, styles, &video)
        } else {
            app.stylizer.check_memory(content, styles, &config)
        }
    };
    let need = check(None)
        // The photo or the paintings too small for the settings.
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, with_causes(&e)))?;
    let refusal = match app.config.max_memory {
        Some(limit) if need > limit => Some(check(Some(limit)).err().map_or_else(
            || "the run does not fit in memory".to_string(),
            // The page cannot paint a clip's frames each on its own (the
            // command line's --independent); the network's flow runs at
            // the painting's size.
            |e| {
                e.to_string().replace(
                    "or paint each frame on its own, without the flow",
                    "or paint it with the fast method (whose flow runs at the painting's size)",
                )
            },
        )),
        _ => None,
    };
    Ok((need, refusal))
}

/// Why the fast network cannot paint a photo (or a clip's frames, `clip`)
/// of `size` px with `settings`, as `stylize fast` (the command this page
/// shows for the job) would refuse it: one too narrow at the job's size
/// (a small photo is enlarged to it, as `stylize fast` enlarges it); or a
/// painting (of `styles`) under the network's least side
/// when the network reads the paintings (the fast method, or the
/// optimiser started from the network's painting). Also a clip's frames
/// too small for the optimiser's optical flow. `None` when it can, or the
/// job does not use the network.
fn fast_too_small(
    settings: &Settings,
    (w, h): (u32, u32),
    clip: bool,
    styles: &[(u32, u32)],
) -> Option<String> {
    // The optimiser carries the painting along the optical flow of the
    // frames at their own size, which needs a patch's worth of pixels (the
    // network's clips flow at the working size). Before: refused for either
    // method at the upload, and never by the estimate.
    let patch = stylize::video::VideoConfig::default().flow.patch_size as u32;
    if clip && settings.method != MethodName::Fast && (w < patch || h < patch) {
        return Some(format!(
            "the clip's frames are {w}x{h} px; the optical flow that carries the painting \
             from frame to frame needs at least {patch}x{patch} (the fast method paints them)"
        ));
    }
    let min = stylize_feedforward::MIN_SIDE;
    if settings.needs_fast() && settings.network_style.is_none() {
        let small = styles.iter().enumerate().find(|(_, s)| s.0.min(s.1) < min);
        if let Some((k, (sw, sh))) = small {
            return Some(format!(
                "painting {} is {sw}x{sh}; the fast network needs at least {min}x{min} pixels",
                k + 1
            ));
        }
    }
    if settings.method != MethodName::Fast {
        return None;
    }
    let what = if clip {
        "the clip's frames are"
    } else {
        "the photo is"
    };
    let (a, b) = stylize_feedforward::longest_size((w, h), settings.size);
    (a.min(b) < min).then(|| {
        let advice = match stylize_feedforward::least_longest(
            (w, h),
            settings.size,
            crate::settings::SIZE_RANGE.1,
        ) {
            Some(size) => format!("choose a size of {size} or more"),
            None => "it is too narrow at any size".to_string(),
        };
        format!(
            "{what} {w}x{h}, {a}x{b} at size {}; the fast network needs at least {min} px on \
             each side: {advice}",
            settings.size
        )
    })
}

/// Refuses what this server cannot paint: a job that needs the fast
/// network when its model files were not found (422).
fn check_method(app: &App, settings: &Settings) -> ApiResult<()> {
    if settings.needs_fast() && app.fast.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            crate::app::NO_FAST_NETWORK,
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EstimateRequest {
    #[serde(default)]
    settings: Option<serde_json::Value>,
    content: (u32, u32),
    #[serde(default)]
    styles: Vec<(u32, u32)>,
    /// `content` is a clip's frame size (painted as a video).
    #[serde(default)]
    clip: bool,
}

/// The most an estimate's JSON may be (axum's default body limit).
const ESTIMATE_BODY_LIMIT: u64 = 2 << 20;

async fn estimate(
    State(app): State<Arc<App>>,
    request: axum::extract::Request,
) -> ApiResult<Json<serde_json::Value>> {
    use axum::extract::FromRequest;
    // A body announced as too large is refused before a byte of it is
    // read, as a job's is.
    let announced = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > ESTIMATE_BODY_LIMIT) {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "an estimate's JSON may be at most {}",
                stylize::memory::human(ESTIMATE_BODY_LIMIT)
            ),
        ));
    }
    let body = Json::<EstimateRequest>::from_request(request, &()).await;
    let Json(req) = body.map_err(|e| {
        // 413 past the body limit; a body that stopped coming, 408 (as a
        // job's); anything else about the JSON, 400.
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(e.status(), e.body_text());
        }
        if let Some(stall) = crate::idle_body::stall_in(&e) {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!("cannot read the request: {stall}"),
            );
        }
        // Not JSON by its content type: 415, as axum says it.
        let status = match e.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.body_text())
    })?;
    let settings = parse_settings(req.settings.as_ref().map(|v| v.to_string()).as_deref())?;
    let limits = app.config.image_limits;
    let ok = |(w, h): (u32, u32)| w > 0 && h > 0 && w <= limits.max_width && h <= limits.max_height;
    if !ok(req.content) || !req.styles.iter().all(|&s| ok(s)) {
        return Err(ApiError::bad_request(format!(
            "image sizes must be 1..={}x{} px",
            limits.max_width, limits.max_height
        )));
    }
    // Paintings not chosen yet: estimate with as many as the blend weighs
    // (else one), each as large as the photo.
    let given = req.styles.clone();
    // (A sheet without paintings shows the built-in styles: none.)
    let styles = if req.styles.is_empty() && !settings.sheet {
        let n = settings.style_blend.as_ref().map_or(1, Vec::len).max(1);
        vec![req.content; n]
    } else {
        req.styles
    };
    check_blend(&settings, styles.len())?;
    let config = settings.to_config(None).map_err(ApiError::bad_request)?;
    // The photo is what is sized here (a clip's frames alike).
    // Only the paintings given are sized (the stand-ins are the photo).
    let too_small = fast_too_small(&settings, req.content, req.clip, &given)
        .map(|m| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m));
    // A job the server cannot run at all (the fast network without its
    // models) does not fit, whatever its size.
    let checked = match (check_method(&app, &settings), too_small) {
        (Err(e), _) | (_, Some(e)) => Err(e),
        _ => check_memory(&app, &settings, &config, req.content, req.clip, &styles),
    };
    let reply = match checked {
        Ok((need, refusal)) => serde_json::json!({
            "bytes": need,
            "human": stylize::memory::human(need),
            "limit_bytes": app.config.max_memory,
            "fits": refusal.is_none(),
            "message": refusal.unwrap_or_else(|| format!("about {} of memory", stylize::memory::human(need))),
        }),
        // The images are too small for the settings, and the like.
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => serde_json::json!({
            "bytes": null,
            "human": null,
            "limit_bytes": app.config.max_memory,
            "fits": false,
            "message": e.message,
        }),
        Err(e) => return Err(e),
    };
    Ok(Json(reply))
}

/// The photo and styles stored in the job's folder and decoded.
struct Decoded {
    /// The job's folder, removed when dropped: by a request that ends
    /// without a job, the client's hang-up included (the decoding runs to
    /// its end and its result is then dropped). Kept once the job is on
    /// the board.
    dir: tempfile::TempDir,
    content_file: PathBuf,
    style_sources: Vec<StyleSource>,
    mask: Option<MaskSource>,
    inputs: Inputs,
    /// What decoding the uploads warned about.
    warnings: Vec<String>,
    /// The photo's or the frames' size.
    size: (u32, u32),
    fps: Option<(u32, u32)>,
}

/// A job that does not fit, refused (422) from its images' headers,
/// before they are decoded: an upload of a few MB may decode to
/// gigabytes. `content` is the photo's size or a clip's frames' (`clip`).
/// The sizes are checked again once decoded; a painting whose header
/// cannot be read is the decoder's to refuse.
fn fits_from_headers(
    app: &App,
    settings: &Settings,
    config: &StyleConfig,
    content: (u32, u32),
    clip: bool,
    form: &upload::JobForm,
) -> ApiResult<()> {
    let styles: Option<Vec<(u32, u32)>> = form
        .styles
        .iter()
        .map(|s| match s {
            StylePart::File(f) => upload::header_size(&f.bytes),
            StylePart::Builtin(b) => upload::header_size(b.bytes),
        })
        .collect();
    let Some(styles) = styles else {
        return Ok(());
    };
    check_job(app, settings, config, content, clip, &styles).map(drop)
}

/// A job of a photo (or a clip's frames, `clip`) of `content` pixels and
/// paintings of `styles`, refused (422) when `stylize fast` would refuse
/// it ([`fast_too_small`]) or it does not fit in memory
/// ([`check_memory`]); else its memory estimate, in bytes.
fn check_job(
    app: &App,
    settings: &Settings,
    config: &StyleConfig,
    content: (u32, u32),
    clip: bool,
    styles: &[(u32, u32)],
) -> ApiResult<u64> {
    let refuse = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m);
    if let Some(message) = fast_too_small(settings, content, clip, styles) {
        return Err(refuse(message));
    }
    match check_memory(app, settings, config, content, clip, styles)? {
        (_, Some(message)) => Err(refuse(message)),
        (estimate, None) => Ok(estimate),
    }
}

/// The job's photo (or clip) and paintings stored in its folder and
/// decoded; `check` is given a clip's frame size, once its header is read,
/// before the paintings are decoded.
fn decode_form(
    app: &App,
    form: &upload::JobForm,
    check: &dyn Fn((u32, u32)) -> ApiResult<()>,
) -> ApiResult<Decoded> {
    let dir = crate::private_dir::builder("job-")
        .tempdir_in(&app.jobs_dir)
        .map_err(|e| ApiError::internal(format!("cannot create the job's folder: {e}")))?;
    let limits = app.config.image_limits;
    let mut warnings = Vec::new();
    let (content_file, painting, size, fps) = if form.video {
        let file = upload::store(dir.path(), "video", &form.content)?;
        let (painting, size, fps) = open_clip(app, &file, &form.content.name)?;
        check(size)?;
        (file, painting, size, fps)
    } else {
        let d = upload::store_and_decode(dir.path(), "content", &form.content, &limits)?;
        warnings.extend(d.warnings);
        let size = (d.image.width(), d.image.height());
        (d.path, Painting::Image(d.image), size, None)
    };
    // One job's images share the decoding limit's bytes, so that many
    // small files that each decode to gigabytes cannot add up: each is
    // decoded within what the ones before it left.
    let mut left = match &painting {
        Painting::Image(img) => limits.max_alloc.saturating_sub(img.as_bytes().len() as u64),
        Painting::Video { .. } => limits.max_alloc,
    };
    // `file` stored as `stem` and decoded within what is left.
    let mut decode = |what: &str, stem: &str, f: &upload::UploadedFile| {
        // The bytes its decoder will ask for, from the header: said in the
        // job's terms before the decoder refuses them in its own (whose
        // message would give the bytes left as the limit).
        let need = image::ImageReader::new(std::io::Cursor::new(&f.bytes))
            .with_guessed_format()
            .ok()
            .and_then(|r| r.into_decoder().ok())
            .map_or(0, |d| image::ImageDecoder::total_bytes(&d));
        if need > left {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "{what} `{}`: the photo, paintings and mask of one job may decode to at \
                     most {} together, and this one would pass it",
                    f.name,
                    stylize::memory::human(limits.max_alloc)
                ),
            ));
        }
        let within = stylize::ImageLimits {
            max_alloc: left,
            ..limits
        };
        let d = upload::store_and_decode(dir.path(), stem, f, &within)?;
        left = left.saturating_sub(d.image.as_bytes().len() as u64);
        Ok(d)
    };
    let mut styles = Vec::new();
    let mut style_sources = Vec::new();
    for (i, part) in form.styles.iter().enumerate() {
        match part {
            StylePart::File(f) => {
                let d = decode("style", &format!("style-{i}"), f)?;
                warnings.extend(d.warnings);
                styles.push(d.image);
                style_sources.push(StyleSource::File(d.path, f.media_type));
            }
            StylePart::Builtin(b) => {
                styles.push(decode_builtin(b)?);
                style_sources.push(StyleSource::Builtin(b));
            }
        }
    }
    let (mask, mask_source) = match &form.mask {
        Some(f) => {
            let d = decode("mask", "mask", f)?;
            warnings.extend(d.warnings);
            let mask = stylize::PaintMask::from_image(&d.image);
            let (mw, mh) = mask.dimensions();
            let what = if form.video {
                "the clip's frames"
            } else {
                "the photo"
            };
            if stylize::stretch_distorts((mw, mh), size) {
                warnings.push(format!(
                    "mask `{}` is {mw}x{mh}, {what} {}x{}: it is stretched to that shape",
                    f.name, size.0, size.1
                ));
            }
            if mask.coverage() == 0.0 {
                warnings.push(format!(
                    "mask `{}` is black (or transparent) everywhere: nothing of {what} is painted",
                    f.name
                ));
            }
            let source = MaskSource {
                name: f.name.clone(),
                file: d.path,
                media_type: f.media_type,
            };
            (Some(mask), Some(source))
        }
        None => (None, None),
    };
    Ok(Decoded {
        dir,
        content_file,
        style_sources,
        mask: mask_source,
        inputs: Inputs {
            painting,
            styles,
            mask,
        },
        warnings,
        size,
        fps,
    })
}

/// What a clip's header says: the painting to make, the frames' size and
/// their rate.
type Clip = (Painting, (u32, u32), Option<(u32, u32)>);

/// A clip's frame size, frame count and rate, read from its header.
///
/// # Errors
/// 422 when it cannot be read, is too long, or its frames are larger
/// than the image limits.
fn open_clip(app: &App, file: &std::path::Path, name: &str) -> ApiResult<Clip> {
    // Its streams are said in the log when the job runs and reads it.
    let options = stylize_frames::SourceOptions {
        ffmpeg: app.config.ffmpeg.clone(),
        tell_streams: false,
        ..stylize_frames::SourceOptions::default()
    };
    let refuse = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, m);
    let source = stylize_frames::open_source(file, &options)
        .map_err(|e| refuse(with_causes(&e).replace(&file.display().to_string(), name)))?;
    let info = *source.info();
    let limits = app.config.image_limits;
    if info.width == 0
        || info.height == 0
        || info.width > limits.max_width
        || info.height > limits.max_height
    {
        return Err(refuse(format!(
            "video `{name}`: its frames are {}x{} px (at most {}x{})",
            info.width, info.height, limits.max_width, limits.max_height
        )));
    }
    let max = app.config.max_video_frames;
    let frames = source.total_frames().map(|n| n as usize);
    if let Some(n) = frames.filter(|&n| n > max) {
        return Err(refuse(format!(
            "video `{name}` has {n} frames; this server paints at most {max} (cut the clip)"
        )));
    }
    Ok((
        Painting::Video {
            file: file.to_path_buf(),
            // Not known: not said as the limit's (before: "of 300 frames").
            frames,
        },
        (info.width, info.height),
        info.fps,
    ))
}

fn decode_builtin(style: &BuiltinStyle) -> ApiResult<DynamicImage> {
    image::load_from_memory(style.bytes)
        .map_err(|e| ApiError::internal(format!("bundled style {}: {e}", style.name)))
}

async fn create_job(
    State(app): State<Arc<App>>,
    headers: axum::http::HeaderMap,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<(StatusCode, Json<crate::job::JobView>)> {
    // A body announced as too large is refused before a byte of it is
    // read: a client that sent `Expect: 100-continue` gets the 413 instead
    // of "continue", and does not send it.
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > app.config.max_upload_bytes as u64) {
        return Err(upload::too_large(app.config.max_upload_bytes));
    }
    let form = form.map_err(|e| {
        // Not a form (JSON, a bare file, no boundary): say what is taken.
        let given = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "a job is posted as multipart/form-data with a boundary (fields `content`, \
                 `style` or `builtin`, `mask`, `settings`), as the page and `curl -F` send it; \
                 this request's content type: {given} ({})",
                e.body_text()
            ),
        )
    })?;
    // A few uploads read and held at once, until they are decoded: the
    // others wait, unread, so that uploads cannot hold every connection's
    // worth of memory.
    let reading =
        app.uploading.clone().acquire_owned().await.map_err(|_| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping")
        })?;
    let form = upload::read_form(form, app.config.max_upload_bytes).await?;
    let settings = parse_settings(form.settings.as_deref())?;
    // As on the command line: a clip's shots start as `init` says, and the
    // network paints a clip with the fast method (before: accepted, then
    // ignored, the job's command one the command line refuses).
    // (The fast method paints each frame with the network: `init` is not
    // its setting, as on the page.)
    if form.video
        && settings.init == crate::settings::InitName::Fast
        && settings.method != MethodName::Fast
    {
        return Err(ApiError::bad_request(
            "`init: fast` starts a photo from the network's painting; a clip's shots start \
             from the frame (`init: content`, `noise` or `style`), and `method: fast` paints \
             a clip with the network",
        ));
    }
    check_method(&app, &settings)?;
    match (form.styles.is_empty(), settings.network_style.is_some()) {
        // A sheet without paintings shows the network's built-in styles.
        (true, false) if settings.sheet => {}
        (true, false) => {
            return Err(ApiError::bad_request(
                "no style: upload a `style` image, pick a bundled one (`builtin`), \
                 or with the fast method set `network_style`",
            ))
        }
        (false, true) => {
            return Err(ApiError::bad_request(
                "a `network_style` job paints with the network's built-in style: \
                 send no `style` or `builtin` part",
            ))
        }
        _ => {}
    }
    check_blend(&settings, form.styles.len())?;
    if settings.sheet && form.video {
        return Err(ApiError::bad_request(
            "a sheet shows the styles on a photo: send `content`, not `video`",
        ));
    }
    if settings.sheet && form.mask.is_some() {
        return Err(ApiError::bad_request(
            "a sheet shows each style on the whole photo: send no `mask`",
        ));
    }
    let config = settings
        .to_config(app.config.max_memory)
        .map_err(ApiError::bad_request)?;
    // A full queue is said before the work of decoding.
    app.board.check_room()?;
    // So is a photo's job that does not fit, from the images' headers (a
    // clip's is checked once its header is read, before its paintings are
    // decoded).
    if !form.video {
        if let Some(content) = upload::header_size(&form.content.bytes) {
            fits_from_headers(&app, &settings, &config, content, false, &form)?;
        }
    }
    // Decoding is CPU work and memory: off the async threads, a few at a
    // time. The permit goes with the decoding, which runs to its end even
    // when the client hangs up.
    let permit =
        app.decoding.clone().acquire_owned().await.map_err(|_| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping")
        })?;
    // The queue may have filled while this request waited its turn.
    app.board.check_room()?;
    let (app2, settings2, config2) = (app.clone(), settings.clone(), config.clone());
    let (form, decoded) = tokio::task::spawn_blocking(move || {
        let check = |frames| fits_from_headers(&app2, &settings2, &config2, frames, true, &form);
        let decoded = decode_form(&app2, &form, &check);
        drop(permit);
        (form, decoded)
    })
    .await
    .map_err(|e| ApiError::internal(format!("decoding stopped: {e}")))?;
    // The upload's bytes are stored and decoded: the next may be read.
    drop(reading);
    let decoded = decoded?;
    let dims = |i: &DynamicImage| (i.width(), i.height());
    let content = decoded.size;
    let clip = matches!(decoded.inputs.painting, Painting::Video { .. });
    let styles: Vec<_> = decoded.inputs.styles.iter().map(dims).collect();
    let estimate = check_job(&app, &settings, &config, content, clip, &styles)?;
    let style_names = form
        .styles
        .iter()
        .map(|s| match s {
            StylePart::File(f) => f.name.clone(),
            StylePart::Builtin(b) => format!("{}.jpg", b.name),
        })
        .collect();
    let frames = match &decoded.inputs.painting {
        Painting::Video { frames, .. } => Some(frames.unwrap_or(app.config.max_video_frames)),
        Painting::Image(_) => None,
    };
    // A fast job's passes: one a frame, or one a sheet's tile.
    let iterations = if settings.sheet {
        crate::settings::sheet_tiles(form.styles.len())
    } else if settings.method == MethodName::Fast {
        frames.unwrap_or(1).max(1)
    } else {
        config.iterations * config.scales.sizes(config.size).len()
    };
    // The job's count of frames where the clip says it (its passes above
    // counted to the server's limit otherwise).
    let frames = match &decoded.inputs.painting {
        Painting::Video { frames, .. } => *frames,
        Painting::Image(_) => None,
    };
    let server_flags = settings.server_flags(
        app.stylizer.threads(),
        app.config.weights_file.as_deref(),
        app.config.models_dir.as_deref(),
    );
    let mut warnings = decoded.warnings.clone();
    // The optimiser's results, and clips, have the photo's (or frames')
    // own size: said when that scales the painting up 2x or more, as the
    // command line notes it. (A fast photo's result has the size asked.)
    if !settings.sheet && (settings.method != MethodName::Fast || clip) {
        let whose = if clip { "the clip's" } else { "the photo's" };
        warnings.extend(enlargement_warning(content, settings.size, whose));
    }
    let job = Job {
        id: 0,
        kind: if form.video {
            JobKind::Video
        } else {
            JobKind::Image
        },
        state: JobState::Queued,
        settings,
        config,
        content_name: form.content.name.clone(),
        style_names,
        width: content.0,
        height: content.1,
        estimate_bytes: estimate,
        // Kept from here on; removed with the server's folder, or by DELETE.
        dir: decoded.dir.keep(),
        content_file: decoded.content_file.clone(),
        content_type: form.content.media_type,
        style_sources: decoded.style_sources.clone(),
        mask: decoded.mask.clone(),
        inputs: Some(decoded.inputs),
        cancel: Arc::new(AtomicBool::new(false)),
        iteration: 0,
        iterations,
        rows: Vec::new(),
        its_per_s: None,
        eta_s: None,
        elapsed_s: 0.0,
        preview: None,
        preview_seq: 0,
        frames_done: 0,
        frames,
        fps: decoded.fps,
        result_file: None,
        kept_file: None,
        error: None,
        warnings,
        server_flags,
    };
    let dir = job.dir.clone();
    let view = app.board.add(job).inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&dir);
    })?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The warning that a result of `(width, height)` painted with its longer
/// side at `size` is scaled up 2x or more (soft), and what to change.
fn enlargement_warning((width, height): (u32, u32), size: u32, whose: &str) -> Option<String> {
    let (w, h) = stylize::working_size(width, height, size);
    stylize::enlargement((width, height), size).map(|enlarged| {
        format!(
            "the result is painted at {w}x{h} and scaled up {enlarged:.1}x to {whose} \
             {width}x{height}, so it looks soft; a larger Size paints finer detail (time and \
             memory grow with its square)"
        )
    })
}

async fn list_jobs(State(app): State<Arc<App>>) -> Json<Vec<crate::job::JobView>> {
    Json(app.board.list())
}

async fn get_job(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<crate::job::JobView>> {
    app.board.with_job(id, |j, pos| Json(j.view(pos)))
}

async fn preview(State(app): State<Arc<App>>, ApiPath(id): ApiPath<u64>) -> ApiResult<Response> {
    let jpeg = app.board.with_job(id, |j, _| j.preview.clone())?;
    let jpeg = jpeg.ok_or_else(|| ApiError::not_found(format!("a preview of job {id}")))?;
    Ok(no_store("image/jpeg", jpeg.as_ref().clone()))
}

async fn read_file(path: PathBuf, what: &str) -> ApiResult<Vec<u8>> {
    tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError::internal(format!("cannot read {what}: {e}")))
}

async fn result(State(app): State<Arc<App>>, ApiPath(id): ApiPath<u64>) -> ApiResult<Response> {
    let (path, kind, name) = app.board.with_job(id, |j, _| {
        (j.result_file.clone(), j.result_type().0, j.result_name())
    })?;
    let path = path.ok_or_else(|| ApiError::not_found(format!("a result of job {id}")))?;
    let bytes = read_file(path, "the result").await?;
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::CONTENT_DISPOSITION, disposition("inline", &name)),
        ],
        bytes,
    )
        .into_response())
}

async fn content(State(app): State<Arc<App>>, ApiPath(id): ApiPath<u64>) -> ApiResult<Response> {
    let (path, kind) = app
        .board
        .with_job(id, |j, _| (j.content_file.clone(), j.content_type))?;
    let bytes = read_file(path, "the photo").await?;
    Ok(no_store(kind, bytes))
}

async fn style_of_job(
    State(app): State<Arc<App>>,
    ApiPath((id, k)): ApiPath<(u64, usize)>,
) -> ApiResult<Response> {
    let source = app
        .board
        .with_job(id, |j, _| j.style_sources.get(k).cloned())?;
    match source.ok_or_else(|| ApiError::not_found(format!("style {k} of job {id}")))? {
        StyleSource::File(path, kind) => Ok(no_store(kind, read_file(path, "the style").await?)),
        StyleSource::Builtin(b) => Ok(no_store("image/jpeg", b.bytes)),
    }
}

async fn mask_of_job(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Response> {
    let mask = app.board.with_job(id, |j, _| j.mask.clone())?;
    let mask = mask.ok_or_else(|| ApiError::not_found(format!("the mask of job {id}")))?;
    Ok(no_store(
        mask.media_type,
        read_file(mask.file, "the mask").await?,
    ))
}

/// Every result so far in one ZIP ("download all").
async fn results_zip(State(app): State<Arc<App>>) -> ApiResult<Response> {
    use crate::results_archive::{archive, ArchiveError, MAX_ARCHIVE_BYTES};
    let results = app.board.results();
    if results.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no results yet: a job's result is in the archive once it is done",
        ));
    }
    let dir = app.jobs_dir.clone();
    let zip = tokio::task::spawn_blocking(move || archive(&results, &dir))
        .await
        .map_err(|e| ApiError::internal(format!("the archive stopped: {e}")))?;
    let file = zip.map_err(|e| match e {
        ArchiveError::TooLarge(total) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the results come to {}, over the {} one archive holds: download them one by one",
                stylize::memory::human(total),
                stylize::memory::human(MAX_ARCHIVE_BYTES)
            ),
        ),
        ArchiveError::Io(e) => ApiError::internal(format!("cannot make the archive: {e}")),
    })?;
    let length = file.metadata().map(|m| m.len()).ok();
    // Sent from the file a chunk at a time; the file (unnamed) goes with
    // the stream.
    let stream =
        futures_util::stream::unfold(Some(tokio::fs::File::from_std(file)), |file| async move {
            let mut file = file?;
            let mut chunk = vec![0u8; 256 << 10];
            let read = std::future::poll_fn(|cx| {
                let mut buf = tokio::io::ReadBuf::new(&mut chunk);
                match tokio::io::AsyncRead::poll_read(std::pin::Pin::new(&mut file), cx, &mut buf) {
                    std::task::Poll::Ready(Ok(())) => {
                        std::task::Poll::Ready(Ok(buf.filled().len()))
                    }
                    std::task::Poll::Ready(Err(e)) => std::task::Poll::Ready(Err(e)),
                    std::task::Poll::Pending => std::task::Poll::Pending,
                }
            })
            .await;
            match read {
                Ok(0) => None,
                Ok(n) => {
                    chunk.truncate(n);
                    Some((Ok::<_, std::io::Error>(chunk), Some(file)))
                }
                // The client sees the body cut short.
                Err(e) => Some((Err(e), None)),
            }
        });
    let mut response = no_store("application/zip", axum::body::Body::from_stream(stream));
    if let Some(length) = length {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, header::HeaderValue::from(length));
    }
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_static("attachment; filename=\"stylize-results.zip\""),
    );
    Ok(response)
}

async fn costs_csv(State(app): State<Arc<App>>, ApiPath(id): ApiPath<u64>) -> ApiResult<Response> {
    let (csv, name) = app
        .board
        .with_job(id, |j, _| (j.costs_csv(), costs_name(&j.result_name())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                disposition("attachment", &name),
            ),
            // It grows while the job runs, as every job file changes.
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        csv,
    )
        .into_response())
}

/// The costs CSV's file name beside the result's: `chelsea-udnie-costs.csv`.
fn costs_name(result_name: &str) -> String {
    let stem = result_name
        .rsplit_once('.')
        .map_or(result_name, |(stem, _)| stem);
    format!("{stem}-costs.csv")
}

/// A `Content-Disposition` value naming `name` (letters, digits and
/// `-_.+`, as [`crate::kept_result::kept_name`] makes them): an ASCII
/// `filename` (other letters as `_`) for old clients and the exact one as
/// RFC 6266's `filename*` in UTF-8.
fn disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ascii == name {
        return format!("{kind}; filename=\"{name}\"");
    }
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.+".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn cancel(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<crate::job::JobView>> {
    app.board.cancel(id).map(Json)
}

async fn delete_job(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<StatusCode> {
    let dir = app.board.remove(id)?;
    if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
        log::warn!("{}: not removed: {e}", dir.display());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_are_named_after_the_result() {
        assert_eq!(costs_name("chelsea-udnie.png"), "chelsea-udnie-costs.csv");
        assert_eq!(
            disposition("inline", "chelsea-udnie+great_wave.png"),
            "inline; filename=\"chelsea-udnie+great_wave.png\""
        );
        assert_eq!(
            disposition("attachment", "café-udnie.png"),
            "attachment; filename=\"caf_-udnie.png\"; filename*=UTF-8''caf%C3%A9-udnie.png"
        );
    }
}
