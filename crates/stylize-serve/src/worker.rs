//! The worker thread: it owns the network's use, takes jobs from the
//! queue one at a time, runs them with a [`JobObserver`] and stores the
//! result. A panic in a run fails that job, not the server.

use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::sync::atomic::Ordering;

use image::{DynamicImage, Rgb32FImage};
use stylize::video::{stylize_video, VideoConfig, WorkDir};
use stylize::{Init, Stylizer};
use stylize_feedforward::{
    resize_longest_image, FastOptions, FastStyle, FastStylizer, TemporalBlend,
};
use stylize_frames::{
    create_sink, open_source, FramesError, SinkOptions, SourceOptions, StopSignal, WarningHook,
};

use crate::api_error::with_causes;
use crate::board::{Board, Outcome, Task};
use crate::clip_observer::ClipObserver;
use crate::error::Error;
use crate::job::Painting;
use crate::job_observer::JobObserver;
use crate::settings::{Colors, InitName, MethodName};

pub(crate) struct WorkerSettings {
    pub(crate) preview_interval: Duration,
    pub(crate) preview_side: u32,
    pub(crate) max_video_frames: usize,
    /// The ffmpeg executable for clips ([`crate::ServeConfig::ffmpeg`]).
    pub(crate) ffmpeg: PathBuf,
    /// Where results are also kept ([`crate::ServeConfig::output_dir`]).
    pub(crate) output_dir: Option<PathBuf>,
}

/// Starts the worker; it ends when the board is closed.
pub(crate) fn spawn(
    board: Arc<Board>,
    stylizer: Arc<Stylizer>,
    fast: Option<Arc<FastStylizer>>,
    settings: WorkerSettings,
) -> Result<JoinHandle<()>, Error> {
    std::thread::Builder::new()
        .name("stylize-worker".into())
        .spawn(move || {
            while let Some(task) = board.next() {
                let id = task.id;
                let nets = Networks {
                    stylizer: &stylizer,
                    fast: fast.as_deref(),
                };
                let outcome = run(&board, nets, &settings, task);
                if let Some(dir) = &settings.output_dir {
                    keep_result(&board, id, &outcome, dir);
                }
                board.finish(id, outcome);
            }
        })
        .map_err(|source| Error::Start {
            what: "worker thread",
            source,
        })
}

/// What the worker paints with.
#[derive(Clone, Copy)]
struct Networks<'a> {
    stylizer: &'a Stylizer,
    /// `None` when the server has no model files (such jobs are refused
    /// before they are queued).
    fast: Option<&'a FastStylizer>,
}

fn run(board: &Arc<Board>, nets: Networks<'_>, settings: &WorkerSettings, task: Task) -> Outcome {
    let observer = JobObserver::new(
        board.clone(),
        task.id,
        task.cancel.clone(),
        settings.preview_interval,
        settings.preview_side,
    );
    let id = task.id;
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| match &task.inputs.painting {
        Painting::Image(content) if task.settings.method == MethodName::Fast => {
            paint_fast(board, nets, &task, content, settings.output_dir.as_deref())
        }
        Painting::Image(content) => {
            let keep_in = settings.output_dir.as_deref();
            paint_image(board, nets, &task, content, observer, keep_in)
        }
        Painting::Video { file, .. } if task.settings.method == MethodName::Fast => {
            let tell = job_warnings(board, id, file);
            paint_fast_clip(board, nets, &task, file, settings, &observer, tell)
        }
        Painting::Video { file, .. } => {
            let tell = job_warnings(board, id, file);
            paint_clip(nets.stylizer, &task, file, settings, observer, tell)
        }
    }));
    match result {
        Ok(outcome) => outcome,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            log::error!("job {id}: the run panicked: {what}");
            Outcome::Failed(format!("internal error (a bug; please report it): {what}"))
        }
    }
}

/// Copies a job's result (a cancelled job's image so far too) into the
/// output folder, named after its photo and paintings; the job hears where
/// it went, or, when the copy fails, a warning (the result itself stays
/// on the page).
fn keep_result(board: &Board, id: u64, outcome: &Outcome, dir: &Path) {
    let (result, stopped) = match outcome {
        Outcome::Done(path) => (path, false),
        Outcome::Cancelled(Some(path)) => (path, true),
        Outcome::Cancelled(None) | Outcome::Failed(_) => return,
    };
    let Some((photo, paintings)) = board.names(id) else {
        return;
    };
    let ext = result
        .extension()
        .map_or_else(|| "png".to_string(), |e| e.to_string_lossy().into_owned());
    let name = crate::kept_result::kept_name(&photo, &paintings, stopped, &ext);
    // A folder removed while the server runs is made again.
    let kept =
        std::fs::create_dir_all(dir).and_then(|()| crate::kept_result::keep(result, dir, &name));
    match kept {
        Ok(path) => {
            log::info!("job {id}: result kept as {}", path.display());
            board.set_kept(id, path);
        }
        Err(e) => {
            // The page is told without the folder (it may be served to
            // other machines); the server's log names it.
            log::warn!(
                "job {id}: the result could not be kept in {}: {e}",
                dir.display()
            );
            // The system's words alone: some errors carry the path.
            let why = e.raw_os_error().map_or_else(
                || e.kind().to_string(),
                |code| std::io::Error::from_raw_os_error(code).to_string(),
            );
            board.warn(
                id,
                format!("the result could not be written to the server's output folder: {why}"),
            );
        }
    }
}

/// Saves a job's result (a PNG) into its folder. Where that cannot be (the
/// temporary folder full), the result goes into the server's output
/// folder `keep_in`, if it has one, named as a kept result is, and the
/// message says where (before: the painting was lost, even with room
/// there); without one, the message says what would have kept it.
fn save_result(
    board: &Board,
    task: &Task,
    image: &DynamicImage,
    keep_in: Option<&Path>,
    stopped: bool,
) -> Result<PathBuf, String> {
    let path = task.dir.join("result.png");
    let Err(e) = stylize::save_image(image, &path) else {
        return Ok(path);
    };
    let error = with_causes(&e);
    let Some(dir) = keep_in else {
        return Err(format!(
            "{error} (in the server's temporary folder; a server started with --output-dir \
             FOLDER keeps each result there, and a result this folder cannot take too)"
        ));
    };
    let (photo, paintings) = board.names(task.id).unwrap_or_default();
    let name = crate::kept_result::kept_name(&photo, &paintings, stopped, "png");
    let kept = std::fs::create_dir_all(dir)
        .and_then(|()| crate::kept_result::keep_image(image, dir, &name));
    match kept {
        Ok(kept) => {
            let shown = kept.file_name().map_or_else(
                || kept.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            log::info!("job {}: result kept as {}", task.id, kept.display());
            board.set_kept(task.id, kept);
            Err(format!(
                "{error} (in the server's temporary folder); the result is kept in the \
                 server's output folder as {shown}"
            ))
        }
        Err(k) => Err(format!(
            "{error} (in the server's temporary folder); nor could the server's output folder \
             take it: {k}"
        )),
    }
}

fn cancelled(task: &Task) -> bool {
    task.cancel.load(Ordering::Relaxed)
}

/// The feed-forward networks, or the message that says how to get them.
fn fast_networks(nets: Networks<'_>) -> Result<&FastStylizer, String> {
    nets.fast
        .ok_or_else(|| crate::app::NO_FAST_NETWORK.to_string())
}

/// The job's built-in network style, or its styles as one arbitrary
/// style: their vectors blended by the job's style weights, each painting
/// seen at the default style size.
fn fast_style(fast: &FastStylizer, task: &Task) -> Result<FastStyle, String> {
    if let Some(mix) = task.settings.network_mix()? {
        return Ok(FastStyle::Builtin(mix));
    }
    let size = FastOptions::default().style_size;
    let weights = task
        .config
        .blend_weights(task.inputs.styles.len())
        .map_err(|e| with_causes(&e))?;
    // Converted to floats inside, one painting at a time.
    let parts: Vec<_> = task
        .inputs
        .styles
        .iter()
        .zip(weights.iter().map(|w| *w as f32))
        .collect();
    fast.blended_style(&parts, size)
        .map_err(|e| with_causes(&e))
}

/// The network's painting of `content` (its longer side `size`), with
/// the photo's colours when `preserve_colors` (luminance transfer, as
/// `stylize fast --preserve-colors`); and the photo at that size, as the
/// network saw it.
fn fast_painting(
    nets: Networks<'_>,
    task: &Task,
    content: &DynamicImage,
    size: u32,
    options: &FastOptions,
    preserve_colors: bool,
) -> Result<(DynamicImage, Rgb32FImage), String> {
    let fast = fast_networks(nets)?;
    let style = fast_style(fast, task)?;
    let photo = fast.install(|| resize_longest_image(content, size));
    let mut out = fast
        .stylize(&photo, &style, options)
        .map_err(|e| with_causes(&e))?;
    if preserve_colors {
        out = stylize::combine_luminance(&out, &photo).map_err(|e| with_causes(&e))?;
    }
    Ok((DynamicImage::ImageRgb32F(out), photo))
}

/// A fast job: one pass of the network, at the job's size.
fn paint_fast(
    board: &Board,
    nets: Networks<'_>,
    task: &Task,
    content: &DynamicImage,
    keep_in: Option<&Path>,
) -> Outcome {
    if task.settings.sheet {
        return paint_sheet(board, nets, task, content, keep_in);
    }
    let start = Instant::now();
    let colors = task.settings.preserve_colors != Colors::None;
    // A cancel during the pass ends it between the network's stages,
    // keeping nothing.
    let options = FastOptions {
        stop: Some(StopSignal::new(Arc::clone(&task.cancel))),
        ..task.settings.fast_options()
    };
    let size = task.settings.size;
    let (painting, photo) = match fast_painting(nets, task, content, size, &options, colors) {
        Ok(p) => p,
        Err(_) if cancelled(task) => return Outcome::Cancelled(None),
        Err(message) => return Outcome::Failed(message),
    };
    if cancelled(task) {
        return Outcome::Cancelled(None);
    }
    // The photo kept where the mask says, at the painting's size (the
    // photo the network saw, as `stylize fast --mask` keeps it).
    let painting = match &task.inputs.mask {
        Some(mask) => match mask.apply(&painting, &DynamicImage::ImageRgb32F(photo)) {
            Ok(p) => p,
            Err(e) => return Outcome::Failed(with_causes(&e)),
        },
        None => painting,
    };
    // The photo's transparency kept, as `stylize fast` keeps it.
    let alpha = stylize::alpha_channel(content);
    let result = stylize::with_alpha_over_white(painting.to_rgb8(), alpha.as_ref());
    let path = match save_result(board, task, &result, keep_in, false) {
        Ok(path) => path,
        Err(message) => return Outcome::Failed(message),
    };
    board.pass_done(task.id, 1, 1, start.elapsed().as_secs_f64());
    Outcome::Done(path)
}

/// A fast job's contact sheet: the photo at a tile's size, then each of
/// the job's paintings on it (numbered from 1), or without any the
/// network's built-in styles (numbered 0 to 25), as `stylize fast
/// --sheet`; each tile counts as a pass, and a cancel stops it after the
/// tile in progress, keeping nothing.
fn paint_sheet(
    board: &Board,
    nets: Networks<'_>,
    task: &Task,
    content: &DynamicImage,
    keep_in: Option<&Path>,
) -> Outcome {
    let start = Instant::now();
    let fast = match fast_networks(nets) {
        Ok(f) => f,
        Err(message) => return Outcome::Failed(message),
    };
    let options = task.settings.fast_options();
    let photo = fast.install(|| resize_longest_image(content, task.settings.size));
    let paintings = &task.inputs.styles;
    let total = crate::settings::sheet_tiles(paintings.len());
    let on_tile = |i: usize| {
        board.pass_done(task.id, i + 1, total, start.elapsed().as_secs_f64());
        if cancelled(task) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let sheet = if paintings.is_empty() {
        stylize_feedforward::builtin_sheet(fast, &photo, &options, on_tile)
    } else {
        stylize_feedforward::painting_sheet(
            fast,
            &photo,
            &options,
            paintings.len(),
            |i| -> Result<DynamicImage, stylize_feedforward::Error> { Ok(paintings[i].clone()) },
            on_tile,
        )
    };
    let sheet = match sheet {
        Ok(Some(sheet)) => sheet,
        Ok(None) => return Outcome::Cancelled(None),
        Err(e) => return Outcome::Failed(with_causes(&e)),
    };
    let rgb = DynamicImage::ImageRgb8(DynamicImage::ImageRgb32F(sheet).into_rgb8());
    match save_result(board, task, &rgb, keep_in, false) {
        Ok(path) => Outcome::Done(path),
        Err(message) => Outcome::Failed(message),
    }
}

fn paint_image(
    board: &Board,
    nets: Networks<'_>,
    task: &Task,
    content: &DynamicImage,
    mut observer: JobObserver,
    keep_in: Option<&Path>,
) -> Outcome {
    let mut config = task.config.clone();
    if task.settings.init == InitName::Fast {
        // As `--init fast`: full strength, at the optimiser's working
        // size; its own colour handling follows.
        let options = FastOptions {
            stop: Some(StopSignal::new(Arc::clone(&task.cancel))),
            ..FastOptions::default()
        };
        match fast_painting(nets, task, content, config.size, &options, false) {
            Ok((p, _)) => config.init = Init::Image(p),
            Err(_) if cancelled(task) => return Outcome::Cancelled(None),
            Err(message) => return Outcome::Failed(message),
        }
        if cancelled(task) {
            return Outcome::Cancelled(None);
        }
    }
    let mut stylized =
        match nets
            .stylizer
            .stylize(content, &task.inputs.styles, &config, &mut observer)
        {
            Ok(s) => s,
            // Cancelled before the first iteration: nothing to keep.
            Err(stylize::Error::Stopped) => return Outcome::Cancelled(None),
            Err(e) => return Outcome::Failed(with_causes(&e)),
        };
    // The photo kept where the mask says (the image so far too).
    if let Some(mask) = &task.inputs.mask {
        match mask.apply(&stylized.image, content) {
            Ok(image) => stylized.image = image,
            Err(e) => return Outcome::Failed(with_causes(&e)),
        }
    }
    let stopped = stylized.stopped && cancelled(task);
    let path = match save_result(board, task, &stylized.image, keep_in, stopped) {
        Ok(path) => path,
        Err(message) => return Outcome::Failed(message),
    };
    if stopped {
        Outcome::Cancelled(Some(path))
    } else {
        Outcome::Done(path)
    }
}

/// A clip's frames (at most `settings.max_video_frames`), how many there
/// are when the source knows, and each one's display time where they
/// differ (an animation's title frame or pause, kept in the GIF).
struct Clip<I> {
    total: Option<usize>,
    times: Option<Vec<Duration>>,
    frames: I,
}

/// Where a clip's warnings go (a clip cut short, a stream left out, a
/// rate that changes): the job's notes on the page, the server's log too.
/// They name the clip by the upload's own name, not the server's copy.
fn job_warnings(
    board: &Arc<Board>,
    id: u64,
    file: &Path,
) -> impl Fn(String) + Send + Sync + 'static {
    let board = Arc::clone(board);
    let stored = file.display().to_string();
    let name = board
        .names(id)
        .map_or_else(|| "the clip".to_string(), |(clip, _)| clip);
    move |message: String| board.warn(id, message.replace(&stored, &name))
}

/// The frames of the clip `file` (see [`Clip`]); its warnings, as
/// `CLIP: WHAT`, go to `tell` as well as the log.
fn clip_frames(
    file: &std::path::Path,
    settings: &WorkerSettings,
    tell: impl Fn(String) + Send + Sync + 'static,
) -> Result<
    Clip<impl Iterator<Item = Result<DynamicImage, stylize::Error>>>,
    stylize_frames::FramesError,
> {
    let max = settings.max_video_frames;
    let tell = Arc::new(tell);
    let hook = {
        let tell = Arc::clone(&tell);
        WarningHook::new(move |w| tell(w.to_string()))
    };
    let options = SourceOptions {
        ffmpeg: settings.ffmpeg.clone(),
        on_warning: Some(hook),
        ..SourceOptions::default()
    };
    let mut source = open_source(file, &options)?;
    let total = source.total_frames().map(|n| (n as usize).min(max));
    let times = source
        .frame_times()
        .map(|t| t.iter().take(max).copied().collect());
    let mut read = 0usize;
    let name = file.display().to_string();
    let frames = std::iter::from_fn(move || {
        if read >= max {
            // A clip whose length its header did not give (so the upload
            // was not refused for it) is cut here, said.
            if read == max && total.is_none() && matches!(source.next_frame(), Ok(Some(_))) {
                let message = format!(
                    "{name}: longer than {max} frames (its length was not in its header); \
                     its first {max} are painted"
                );
                log::warn!("{message}");
                tell(message);
            }
            read = max + 1;
            return None;
        }
        read += 1;
        match source.next_frame() {
            Ok(Some(f)) => Some(Ok(DynamicImage::ImageRgb8(f))),
            Ok(None) => None,
            Err(e) => Some(Err(stylize::Error::FrameSource(Box::new(e)))),
        }
    });
    Ok(Clip {
        total,
        times,
        frames,
    })
}

/// A fast clip: each frame through the network at the job's size, blended
/// with the previous output warped along the optical flow where the flow
/// is consistent ([`TemporalBlend`], as `stylize video --method fast`),
/// written straight to the GIF. Cancelling keeps the frames so far.
fn paint_fast_clip(
    board: &Board,
    nets: Networks<'_>,
    task: &Task,
    file: &std::path::Path,
    settings: &WorkerSettings,
    observer: &JobObserver,
    tell: impl Fn(String) + Send + Sync + 'static,
) -> Outcome {
    let fail = |e: &dyn std::error::Error| Outcome::Failed(with_causes(e));
    let fast = match fast_networks(nets) {
        Ok(f) => f,
        Err(message) => return Outcome::Failed(message),
    };
    let style = match fast_style(fast, task) {
        Ok(s) => s,
        Err(message) => return Outcome::Failed(message),
    };
    let Clip {
        total,
        times,
        frames,
    } = match clip_frames(file, settings, tell) {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    let mut temporal = match TemporalBlend::with_defaults().and_then(|t| t.with_isa(fast.isa())) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let path = task.dir.join("result.gif");
    let sink_options = SinkOptions {
        fps: task.fps,
        frame_times: times,
        ..SinkOptions::default()
    };
    let mut sink = match create_sink(&path, &sink_options) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let colors = task.settings.preserve_colors != Colors::None;
    let options = task.settings.fast_options();
    let start = Instant::now();
    let mut done = 0usize;
    for frame in frames {
        if cancelled(task) {
            break;
        }
        let painted = (|| -> Result<image::RgbImage, Box<dyn std::error::Error>> {
            let frame = frame?;
            let (fw, fh) = (frame.width(), frame.height());
            let work = fast.install(|| resize_longest_image(&frame, task.settings.size));
            // The flow runs while the network paints, as in the CLI.
            let (mut out, _) = fast
                .install(|| temporal.next_with(&work, || fast.stylize(&work, &style, &options)))?;
            if colors {
                out = stylize::combine_luminance(&out, &work)?;
            }
            // At the clip's own size, as `stylize video --method fast`
            // writes it (the command the job shows).
            let out = if out.dimensions() == (fw, fh) {
                out
            } else {
                image::imageops::resize(&out, fw, fh, image::imageops::FilterType::Triangle)
            };
            // The frame kept where the mask says (the blend carries on
            // with the whole painting), as `stylize video --mask`.
            let out = DynamicImage::ImageRgb32F(out);
            Ok(match &task.inputs.mask {
                Some(mask) => mask.apply(&out, &frame)?.to_rgb8(),
                None => out.to_rgb8(),
            })
        })();
        let rgb = match painted {
            Ok(rgb) => rgb,
            Err(e) => return Outcome::Failed(with_causes(e.as_ref())),
        };
        if let Err(e) = sink.write_frame(&rgb) {
            return fail(&e);
        }
        done += 1;
        let elapsed = start.elapsed().as_secs_f64();
        board.pass_done(task.id, done, total.unwrap_or(done).max(done), elapsed);
        observer.frame_preview(done, &DynamicImage::ImageRgb8(rgb));
    }
    if done == 0 {
        return if cancelled(task) {
            Outcome::Cancelled(None)
        } else {
            Outcome::Failed("the clip has no frames".into())
        };
    }
    if let Err(e) = sink.finish() {
        return fail(&e);
    }
    if cancelled(task) {
        Outcome::Cancelled(Some(path))
    } else {
        Outcome::Done(path)
    }
}

/// A video job: the clip's frames through the library's video loop (each
/// frame starts from the previous one warped along the optical flow),
/// then the finished frames as an animated GIF.
fn paint_clip(
    stylizer: &Stylizer,
    task: &Task,
    file: &std::path::Path,
    settings: &WorkerSettings,
    observer: JobObserver,
    tell: impl Fn(String) + Send + Sync + 'static,
) -> Outcome {
    let fail = |e: &dyn std::error::Error| Outcome::Failed(with_causes(e));
    let Clip {
        total,
        times,
        mut frames,
    } = match clip_frames(file, settings, tell) {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    let config = VideoConfig {
        image: task.config.clone(),
        mask: task.inputs.mask.clone(),
        ..VideoConfig::default()
    };
    let frames_dir = task.dir.join("frames");
    let mut work = match WorkDir::open(&frames_dir, "serve") {
        Ok(w) => w,
        Err(e) => return fail(&e),
    };
    let mut clip_observer = ClipObserver {
        inner: observer.without_previews(),
        frames_done: 0,
        start: Instant::now(),
        frames: total,
        later_iterations: config.effective_frame_iterations(),
        iterations_done: 0,
        current: 0,
    };
    let summary = stylize_video(
        stylizer,
        &mut frames,
        total,
        &task.inputs.styles,
        &config,
        &mut work,
        &mut clip_observer,
    );
    // The finished frames, as PNGs with their states, are of no use once
    // the GIF is put together (or the clip has failed): they would hold the
    // job's disk, hundreds of MB for a long clip, until it is removed.
    let clear = |work: WorkDir| {
        drop(work);
        if let Err(e) = std::fs::remove_dir_all(&frames_dir) {
            log::warn!("could not remove {}: {e}", frames_dir.display());
        }
    };
    let summary = match summary {
        Ok(s) => s,
        Err(e) => {
            clear(work);
            return fail(&e);
        }
    };
    let files = work.frame_files();
    let path = task.dir.join("result.gif");
    // A clip painted to its end and cancelled while its GIF is put
    // together keeps nothing; a clip stopped by a cancel keeps the GIF of
    // its finished frames.
    let cancel = (!summary.stopped).then_some(&task.cancel);
    let timing = SinkOptions {
        fps: task.fps,
        frame_times: times,
        ..SinkOptions::default()
    };
    let written = assemble_gif(&files, &path, timing, cancel);
    clear(work);
    let written = match written {
        Ok(w) => w,
        Err(e) => return Outcome::Failed(with_causes(e.as_ref())),
    };
    if files.is_empty() && !cancelled(task) {
        return Outcome::Failed("the clip has no frames".into());
    }
    if !written {
        return Outcome::Cancelled(None);
    }
    if summary.stopped && cancelled(task) {
        Outcome::Cancelled(Some(path))
    } else {
        Outcome::Done(path)
    }
}

/// The finished frames `files` as the GIF `path`, at `timing`'s rate and
/// frame times. A `cancel` set before
/// the last frame is encoded stops the writing and leaves no file
/// (`Ok(false)`); no frames write nothing either. `Ok(true)`: written.
fn assemble_gif(
    files: &[PathBuf],
    path: &Path,
    timing: SinkOptions,
    cancel: Option<&Arc<AtomicBool>>,
) -> Result<bool, Box<dyn std::error::Error>> {
    if files.is_empty() {
        return Ok(false);
    }
    let stopped = || cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let mut sink = create_sink(
        path,
        &SinkOptions {
            // The encoding's last pass (palette and frames) hears it too.
            stop: cancel.map(|c| StopSignal::new(c.clone())),
            ..timing
        },
    )?;
    for f in files {
        if stopped() {
            return Ok(false);
        }
        sink.write_frame(&stylize::load_image(f)?.to_rgb8())?;
    }
    match sink.finish() {
        Err(FramesError::Stopped { .. }) => Ok(false),
        r => r.map(|()| true).map_err(Into::into),
    }
}

#[cfg(test)]
#[path = "../../stylize/tests/common/mod.rs"]
mod real_weights;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use super::*;
    use crate::job::Inputs;
    use crate::settings::{Settings, SettingsPatch};

    /// A job on a 96x64 photo and painting with these settings, cancelled
    /// already.
    fn cancelled_task(settings: &str, dir: &std::path::Path) -> Task {
        let patch: SettingsPatch = serde_json::from_str(settings).unwrap();
        let settings = Settings::resolve(&patch).unwrap();
        let photo = DynamicImage::ImageRgb8(image::RgbImage::from_fn(96, 64, |x, y| {
            image::Rgb([(x * 2) as u8, (y * 3) as u8, 128])
        }));
        Task {
            id: 1,
            inputs: Inputs {
                painting: Painting::Image(photo.clone()),
                styles: vec![photo.fliph()],
                mask: None,
            },
            config: settings.to_config(None).unwrap(),
            settings,
            cancel: Arc::new(AtomicBool::new(true)),
            dir: dir.to_path_buf(),
            fps: None,
        }
    }

    /// A clip whose length ffmpeg cannot tell before reading it (a WebM
    /// written to a pipe has no duration) is cut at `max_video_frames`,
    /// and says so to the job (nothing of a length it does not know).
    #[test]
    fn a_clip_of_unknown_length_is_cut_at_the_frame_limit() {
        use std::process::Command;
        let ffmpeg = stylize_frames::ffmpeg_from_env();
        if !Command::new(&ffmpeg)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            println!(
                "SKIPPED a_clip_of_unknown_length_is_cut_at_the_frame_limit: ffmpeg not found"
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("piped.webm");
        let made = Command::new(&ffmpeg)
            .args(["-nostdin", "-v", "error", "-f", "lavfi"])
            .args(["-i", "testsrc=size=64x48:rate=10", "-frames:v", "10"])
            .args(["-c:v", "libvpx", "-f", "webm", "pipe:1"])
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&clip).unwrap())
            .output()
            .unwrap();
        if !made.status.success() {
            let said = String::from_utf8_lossy(&made.stderr);
            // An ffmpeg built without the test pattern or the VP8 encoder.
            if said.contains("Unknown encoder") || said.contains("Unknown input format") {
                println!("SKIPPED a_clip_of_unknown_length_is_cut_at_the_frame_limit: {said}");
                return;
            }
            panic!("ffmpeg could not make the clip: {said}");
        }
        let settings = WorkerSettings {
            preview_interval: Duration::from_millis(50),
            preview_side: 64,
            max_video_frames: 4,
            ffmpeg,
            output_dir: None,
        };
        let told = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&told);
        let tell = move |m: String| sink.lock().unwrap().push(m);
        let Clip { total, frames, .. } = clip_frames(&clip, &settings, tell).unwrap();
        assert_eq!(total, None, "the test needs a clip of unknown length");
        let frames: Vec<_> = frames.collect();
        assert_eq!(frames.len(), 4);
        assert!(frames.iter().all(Result::is_ok));
        // Said to the job, not only to the server's log.
        let told = told.lock().unwrap();
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(told[0].contains("longer than 4 frames"), "{told:?}");
    }

    /// A GIF whose frames are shown for different times (a title frame)
    /// gives them, cut at the frame limit, for the painted GIF to keep.
    #[test]
    fn a_clips_own_frame_times_are_kept_to_the_frame_limit() {
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("titled.gif");
        {
            let file = std::fs::File::create(&clip).unwrap();
            let mut encoder = image::codecs::gif::GifEncoder::new(file);
            for (k, ms) in [1000u32, 40, 40, 40, 40, 40].into_iter().enumerate() {
                let rgba =
                    image::RgbaImage::from_pixel(16, 16, image::Rgba([k as u8 * 40, 9, 9, 255]));
                let delay = image::Delay::from_numer_denom_ms(ms, 1);
                encoder
                    .encode_frame(image::Frame::from_parts(rgba, 0, 0, delay))
                    .unwrap();
            }
        }
        let settings = WorkerSettings {
            preview_interval: Duration::from_millis(50),
            preview_side: 64,
            max_video_frames: 4,
            ffmpeg: PathBuf::from("ffmpeg"),
            output_dir: None,
        };
        let Clip { total, times, .. } = clip_frames(&clip, &settings, |_| {}).unwrap();
        assert_eq!(total, Some(4));
        let ms = [1000, 40, 40, 40].map(Duration::from_millis);
        assert_eq!(times.as_deref(), Some(&ms[..]));
    }

    /// A cancel that arrives during the network's pass (here: before it)
    /// ends it between its stages, with nothing kept, both for a fast job
    /// and for the `init: fast` pass before the optimiser.
    #[test]
    fn a_cancel_during_the_networks_pass_keeps_nothing() {
        let Some(stylizer) = real_weights::real_stylizer("a_cancel_during_the_networks_pass")
        else {
            return;
        };
        let dir = stylize_feedforward::default_models_dir();
        let fast = FastStylizer::load(&dir, 2).unwrap_or_else(|e| {
            panic!(
                "the tests need the fast models in {}: run scripts/fetch-fast-models or set \
                 STYLIZE_FAST_MODELS ({e})",
                dir.display()
            )
        });
        let nets = Networks {
            stylizer: &stylizer,
            fast: Some(&fast),
        };
        let board = Arc::new(Board::new(1, 1 << 30));
        let tmp = tempfile::tempdir().unwrap();
        let task = cancelled_task(r#"{"method": "fast", "size": 64}"#, tmp.path());
        let Painting::Image(content) = &task.inputs.painting else {
            unreachable!("an image job")
        };
        // The pass itself stops (it painted to the end, and the cancel
        // was seen after it).
        let stop = FastOptions {
            stop: Some(StopSignal::new(Arc::clone(&task.cancel))),
            ..FastOptions::default()
        };
        assert!(fast_painting(nets, &task, content, 64, &stop, false).is_err());
        assert!(matches!(
            paint_fast(&board, nets, &task, content, None),
            Outcome::Cancelled(None)
        ));
        let task = cancelled_task(
            r#"{"init": "fast", "size": 64, "iterations": 3}"#,
            tmp.path(),
        );
        let observer = JobObserver::new(
            board.clone(),
            task.id,
            task.cancel.clone(),
            Duration::from_secs(1),
            64,
        );
        assert!(matches!(
            paint_image(&board, nets, &task, content, observer, None),
            Outcome::Cancelled(None)
        ));
        assert!(!tmp.path().join("result.png").exists());
    }

    /// Three painted frames of a clip, as the work folder keeps them.
    fn painted_frames(dir: &Path) -> Vec<PathBuf> {
        (1..=3u8)
            .map(|n| {
                let path = dir.join(format!("frame_{n:06}.png"));
                image::RgbImage::from_fn(24, 16, |x, y| {
                    image::Rgb([x as u8 * 10, y as u8 * 15, n * 60])
                })
                .save(&path)
                .unwrap();
                path
            })
            .collect()
    }

    /// A cancel while a clip painted to its end is put together as a GIF
    /// leaves no GIF; without one, or with one not set, the GIF has every
    /// frame. (A cancel inside the encoder's last pass is the sink's
    /// `StopSignal`, tested in stylize-frames.)
    #[test]
    fn a_cancel_while_the_gif_is_assembled_leaves_no_gif() {
        let tmp = tempfile::tempdir().unwrap();
        let files = painted_frames(tmp.path());
        let gif = tmp.path().join("result.gif");
        let cancel = Arc::new(AtomicBool::new(true));
        let timing = || SinkOptions::default();
        assert!(!assemble_gif(&files, &gif, timing(), Some(&cancel)).unwrap());
        assert!(!gif.exists());
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| !n.to_string_lossy().starts_with("frame_"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        cancel.store(false, Ordering::Relaxed);
        for cancel in [Some(&cancel), None] {
            let timing = SinkOptions {
                fps: Some((10, 1)),
                ..SinkOptions::default()
            };
            assert!(assemble_gif(&files, &gif, timing, cancel).unwrap());
            let decoder = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
                std::fs::File::open(&gif).unwrap(),
            ))
            .unwrap();
            let frames = image::AnimationDecoder::into_frames(decoder)
                .collect_frames()
                .unwrap();
            assert_eq!(frames.len(), 3);
            std::fs::remove_file(&gif).unwrap();
        }
        // No frames: nothing written.
        assert!(!assemble_gif(&[], &gif, timing(), None).unwrap());
        assert!(!gif.exists());
    }
}
