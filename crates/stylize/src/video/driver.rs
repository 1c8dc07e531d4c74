//! The frame loop: link each frame to its shot, stylize it with the
//! temporal terms, store it, and report to a [`VideoObserver`].

use std::ops::ControlFlow;
use std::sync::Arc;

use image::{DynamicImage, Rgb32FImage, RgbImage};
use stylize_flow::{DisFlow, Flow, GrayImage};

use super::config::{VideoConfig, WarpInterpolation};
use super::history::{History, Past};
use super::temporal::{carrying_flow, link, to_working, Link};
use super::workdir::{source_digest, Stored, WorkDir};
use crate::config::{Init, Scales, StyleConfig};
use crate::error::{Error, Result};
use crate::image_io::{checked_rgb32f, from_planar, to_planar, to_rgb8, working_size};
use crate::objective::CostValues;
use crate::observer::{Iteration, Observer, RunInfo};
use crate::pixel_term::PixelTerm;
use crate::stylizer::Stylizer;

/// About a frame, before it is stylized.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameInfo {
    /// 0-based frame number.
    pub index: usize,
    /// Frames in the clip, when known.
    pub total: Option<usize>,
    /// Whether it starts a shot (the first frame, or after a scene cut).
    pub fresh: bool,
    /// Share of its pixels consistent with the previous frame (`None` for
    /// the first frame).
    pub consistent: Option<f64>,
    /// Iterations it will run.
    pub iterations: usize,
}

/// A finished frame.
#[derive(Debug, Clone)]
pub struct FrameResult {
    /// 0-based frame number.
    pub index: usize,
    /// The result at the frame's size.
    pub image: DynamicImage,
    /// Whether it started a shot.
    pub fresh: bool,
    /// Iterations run.
    pub iterations: usize,
    /// Its final costs (`extra` is the temporal cost).
    pub final_costs: CostValues,
}

/// A frame finished by an earlier run, as its record says.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumedFrame {
    /// 0-based frame number.
    pub index: usize,
    /// Whether it started a shot.
    pub fresh: bool,
    /// Its final network cost (content + style + TV, without the temporal
    /// terms), as stored.
    pub cost: f64,
}

/// Receives a video run's progress; `Break` from either method stops the
/// run (an unfinished frame is dropped, finished ones are kept: one
/// stopped at its last iteration is finished).
pub trait VideoObserver: Send {
    /// Frames finished by an earlier run, skipped.
    fn resumed(&mut self, _frames: usize) {}
    /// Each of those frames, in order, as it is read back.
    fn frame_resumed(&mut self, _frame: &ResumedFrame) {}
    /// A frame starts.
    fn frame_started(&mut self, _info: &FrameInfo) {}
    /// An iteration of the current frame finished.
    fn iteration(&mut self, _frame: usize, _it: &Iteration<'_>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// A frame finished and was stored.
    fn frame_done(&mut self, _result: &FrameResult) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// A flag each frame's run checks while it sets up, as
    /// [`Observer::stop_signal`]'s: set, the frame is dropped and the run
    /// stops, as a `Break` from [`Self::iteration`] stops it. Default: none.
    fn stop_signal(&self) -> Option<crate::StopSignal> {
        None
    }
}

impl VideoObserver for crate::observer::NoObserver {}

/// What a video run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoSummary {
    /// Frames finished, from earlier runs included.
    pub frames: usize,
    /// Of those, finished by earlier runs.
    pub resumed: usize,
    /// 0-based frames that started a shot (this run's and earlier ones').
    pub shot_starts: Vec<usize>,
    /// Whether the observer stopped the run before the clip ended.
    pub stopped: bool,
}

/// Stylizes `frames` (all the same size) into `work` (see the module
/// docs), continuing after the frames it already holds.
///
/// # Errors
/// [`Error::Parameter`] for bad settings or frames of different sizes,
/// [`Error::Flow`], the errors of [`Stylizer::stylize`], and I/O errors of
/// the work folder.
#[allow(clippy::too_many_arguments)]
pub fn stylize_video(
    stylizer: &Stylizer,
    frames: &mut dyn Iterator<Item = Result<DynamicImage>>,
    total: Option<usize>,
    styles: &[DynamicImage],
    config: &VideoConfig,
    work: &mut WorkDir,
    observer: &mut dyn VideoObserver,
) -> Result<VideoSummary> {
    config.validate()?;
    // The flow's loops at the stylizer's SIMD level; burn's engine has
    // none, and the flow then runs at the best this CPU has (a library
    // call reads no environment: `STYLIZE_SIMD` is read where a fast
    // engine is built).
    let isa: stylize_matmul::Isa = stylizer.simd_level().unwrap_or_default().into();
    let mut flow = DisFlow::with_isa(config.flow.clone(), isa)?;
    let mut history = History::new(config.long_term);
    let mut summary = VideoSummary {
        resumed: work.finished(),
        ..VideoSummary::default()
    };
    if summary.resumed > 0 {
        observer.resumed(summary.resumed);
    }
    let mut size: Option<(u32, u32)> = None;
    // Whether this run has painted a frame yet.
    let mut painting = false;
    // The first frames, kept for closing the loop.
    let mut first: Vec<(DynamicImage, GrayImage)> = Vec::new();
    // The settings with the memory the flow and those frames take off
    // the limit.
    let mut looping: Option<VideoConfig> = None;
    let mut reserved: Option<Reserve> = None;
    for (index, frame) in frames.enumerate() {
        let frame = frame?;
        let dims = (frame.width(), frame.height());
        match size {
            None => {
                let (c, r) = reserve_memory(config, &frame, total)?;
                looping = Some(c);
                reserved = r;
                // The flow needs a patch's worth of pixels; say so before
                // the first frame is painted, not after.
                let min = config.flow.patch_size as u32;
                if !config.independent && (dims.0 < min || dims.1 < min) {
                    return Err(Error::parameter(
                        "input frames",
                        format!(
                            "the frames are {}x{} px; the optical flow that carries the painting \
                             from frame to frame needs at least {min}x{min} (or paint each frame \
                             on its own, without the flow)",
                            dims.0, dims.1
                        ),
                    ));
                }
                size = Some(dims);
            }
            Some(s) if s != dims => {
                return Err(Error::parameter(
                    "input frames",
                    format!(
                        "frame {} is {}x{}, the first was {}x{}: all frames must have one size",
                        index + 1,
                        dims.0,
                        dims.1,
                        s.0,
                        s.1
                    ),
                ))
            }
            Some(_) => {}
        }
        // `total` may be an estimate (a container's duration): a loop
        // frame beyond what was reserved takes its memory off the limit
        // now, or stops the run as the reservation would have.
        if index < config.loop_frames {
            if let (Some(c), Some(r)) = (looping.as_mut(), reserved.as_mut()) {
                if first.len() >= r.frames {
                    r.grow(config, c, &frame)?;
                }
            }
        }
        let config = looping.as_ref().unwrap_or(config);
        let (w, h) = working_size(dims.0, dims.1, config.image.size);
        let what = format!("frame {}", index + 1);
        let content = stylizer.install(|| checked_rgb32f(&what, &frame, w, h))?;
        // The flow at the frames' own size (sharper, and what the flicker
        // measure uses), taken to the working size where needed.
        let rgb = frame.to_rgb8();
        let grey = GrayImage::from_rgb8(dims.0 as usize, dims.1 as usize, rgb.as_raw())?;
        if index < config.loop_frames {
            first.push((frame.clone(), grey.clone()));
        }
        if index < work.finished() {
            match work.resume(index, (w, h), &frame, &source_digest(&frame))? {
                Ok(stored) => {
                    observer.frame_resumed(&ResumedFrame {
                        index,
                        fresh: stored.fresh,
                        cost: stored.cost,
                    });
                    finish_frame(&mut history, &mut summary, index, grey, stored);
                    continue;
                }
                Err(why) => {
                    log::warn!(
                        "frame {} in {} cannot be continued from ({why}): painting it and the \
                         frames after it again",
                        index + 1,
                        work.path().display()
                    );
                    summary.resumed = index;
                    work.truncate(index)?;
                    observer.resumed(index);
                }
            }
        }
        if !painting {
            // This run paints a frame: the loop's second pass, which starts
            // from the clip's last frame, is to be made again.
            painting = true;
            work.clear_loop()?;
        }
        let linked = stylizer.install(|| link(&mut flow, &grey, &content, &history, config))?;
        let (frame_config, terms, info) = match linked {
            Link::Fresh { consistent } => {
                history.clear();
                let info = FrameInfo {
                    index,
                    total,
                    fresh: true,
                    consistent,
                    iterations: config
                        .image
                        .iterations
                        .saturating_mul(config.image.scales.sizes(config.image.size).len()),
                };
                (config.image.clone(), Vec::new(), info)
            }
            Link::Continue(c) => {
                let frame_config = continuing(config, c.init);
                let info = FrameInfo {
                    index,
                    total,
                    fresh: false,
                    consistent: Some(c.consistent),
                    iterations: frame_config.iterations,
                };
                (frame_config, c.terms, info)
            }
        };
        let Some((result, stored, asked)) = paint(
            stylizer,
            &frame,
            styles,
            &frame_config,
            &terms,
            &info,
            config.mask.as_ref(),
            observer,
        )
        .map_err(|e| Reserve::explain(reserved, e))?
        else {
            summary.stopped = true;
            return Ok(summary);
        };
        work.store(index, &result.image, &stored)?;
        finish_frame(&mut history, &mut summary, index, grey, stored);
        // (A stop asked for at the frame's last iteration kept the frame,
        // whole, and stops the run after it.)
        if observer.frame_done(&result) == ControlFlow::Break(()) || asked.is_break() {
            summary.stopped = true;
            return Ok(summary);
        }
    }
    if summary.frames == 0 {
        return Err(Error::parameter("input", "the clip has no frames"));
    }
    // A clip shorter than the one an earlier run painted (a shorter
    // selection, another clip on standard input): the frames past its end
    // are not this run's.
    if summary.frames < work.finished() {
        log::warn!(
            "{} held {} frames; this run has {}: the rest are dropped",
            work.path().display(),
            work.finished(),
            summary.frames
        );
        work.truncate(summary.frames)?;
        work.clear_loop()?;
        // Of this run's frames, all came from the earlier run.
        summary.resumed = summary.resumed.min(summary.frames);
    }
    let config = looping.as_ref().unwrap_or(config);
    let k = first.len().min(summary.frames.saturating_sub(1));
    if k > 0 {
        let stopped = close_loop(
            stylizer,
            styles,
            config,
            work,
            observer,
            &mut flow,
            &mut history,
            &first[..k],
        )
        .map_err(|e| Reserve::explain(reserved, e))?;
        summary.stopped = stopped;
    }
    Ok(summary)
}

/// Adds frame `index`, painted or continued from the work folder, to its
/// shot and to the summary; a frame that begins a shot forgets the ones
/// before it.
fn finish_frame(
    history: &mut History,
    summary: &mut VideoSummary,
    index: usize,
    grey: GrayImage,
    stored: Stored,
) {
    if stored.fresh {
        history.clear();
        summary.shot_starts.push(index);
    }
    history.push(Past {
        content: grey,
        state: stored.state,
        cost: stored.cost,
    });
    summary.frames += 1;
}

/// Memory set aside from the limit before each frame's own estimate (a
/// photo of the working size, [`Stylizer::stylize`]'s check): the optical
/// flow's state at the frames' own size, and the frames kept to close
/// the loop.
#[derive(Debug, Clone, Copy)]
struct Reserve {
    /// The flow's ([`VideoConfig::flow_bytes`]); 0 for frames painted on
    /// their own.
    flow: u64,
    /// Frames kept for the loop, and their bytes.
    frames: usize,
    bytes: u64,
}

impl Reserve {
    /// One frame more than reserved for the loop: its memory off
    /// `looping`'s limit (`config`'s less what is reserved), or the error
    /// [`reserve_memory`] gives when the frames reach the limit.
    fn grow(
        &mut self,
        config: &VideoConfig,
        looping: &mut VideoConfig,
        frame: &DynamicImage,
    ) -> Result<()> {
        let Some(limit) = config.image.max_memory else {
            return Ok(());
        };
        let bytes = self.bytes.saturating_add(loop_frame_bytes(frame));
        if self.flow.saturating_add(bytes) >= limit {
            let note = " (the clip turned out longer than its length as estimated before reading)";
            return Err(loop_memory_error(
                self.frames + 1,
                frame,
                bytes,
                limit,
                self.flow,
                note,
            ));
        }
        self.frames += 1;
        self.bytes = bytes;
        looping.image.max_memory = Some(limit - self.flow - bytes);
        Ok(())
    }

    /// A frame's memory error, which ran on what the flow and the loop's
    /// frames left of the limit, saying so (else it names a limit the
    /// user never gave); other errors unchanged.
    fn explain(reserve: Option<Self>, e: Error) -> Error {
        let Some(r) = reserve.filter(|r| r.flow > 0 || r.frames > 0) else {
            return e;
        };
        match e {
            // (A frame too small for the network is not about memory.)
            Error::Parameter { name, reason } if name == "size" && reason.contains("memory") => {
                let flow = format!(
                    "the optical flow between frames at their own size ({})",
                    crate::memory::human(r.flow)
                );
                let kept = format!(
                    "the {} frames kept to close the loop ({})",
                    r.frames,
                    crate::memory::human(r.bytes)
                );
                let counted = match (r.flow > 0, r.frames > 0) {
                    (true, false) => format!("{flow} is counted: smaller frames leave more"),
                    (false, _) => format!("{kept} are counted: a shorter loop leaves more"),
                    (true, true) => {
                        format!("{flow} and {kept} are counted: a shorter loop leaves more")
                    }
                };
                Error::Parameter {
                    name,
                    reason: format!("{reason}; the limit here is what is left once {counted}"),
                }
            }
            e => e,
        }
    }
}

/// `limit` less the flow's state (`flow` bytes, between frames of `(w,
/// h)` pixels), or an error naming `flow` when that alone reaches it.
fn less_flow(limit: u64, flow: u64, (w, h): (u32, u32)) -> Result<u64> {
    if flow < limit {
        return Ok(limit - flow);
    }
    Err(Error::parameter(
        "flow",
        format!(
            "carrying the painting from frame to frame computes the optical flow at the \
             frames' own size, {w}x{h} px: about {}, and the memory limit is {}; scale the clip \
             down, or paint each frame on its own, without the flow",
            crate::memory::human(flow),
            crate::memory::human(limit),
        ),
    ))
}

/// Checks from the sizes alone, before any frame is read, what
/// [`stylize_video`] checks before each frame: a run on a frame of
/// `frame` pixels with paintings of `styles` pixels
/// ([`Stylizer::check_memory`]) within `config.image.max_memory` less the
/// optical flow's state ([`VideoConfig::flow_bytes`]). The frames kept to
/// close the loop are counted by [`stylize_video`] as they are read.
/// Returns the estimated peak bytes of a continuing frame: the run's and
/// the flow's.
///
/// # Errors
/// [`Error::Parameter`] naming `flow` when the flow's state alone
/// reaches the limit; [`Stylizer::check_memory`]'s errors, saying what
/// the flow took of the limit.
pub fn check_video_memory(
    stylizer: &Stylizer,
    frame: (u32, u32),
    styles: &[(u32, u32)],
    config: &VideoConfig,
) -> Result<u64> {
    let mut image = config.image.clone();
    // The most steps any frame runs: L-BFGS holds a pair a step, up to its
    // history (before: the first frame's steps, and a run whose later
    // frames run more was refused at its second frame).
    // (Independent frames each run --iterations alone.)
    if !config.independent {
        image.iterations = image.iterations.max(config.effective_frame_iterations());
    }
    let flow = config.flow_bytes(frame.0, frame.1);
    if let Some(limit) = image.max_memory {
        image.max_memory = Some(less_flow(limit, flow, frame)?);
    }
    let reserve = Reserve {
        flow,
        frames: 0,
        bytes: 0,
    };
    let run = stylizer
        .check_memory(frame, styles, &image)
        .map_err(|e| Reserve::explain(Some(reserve), e))?;
    Ok(run.saturating_add(flow))
}

/// The memory one frame kept for the loop holds: as decoded, and its luma
/// as `f32`.
fn loop_frame_bytes(frame: &DynamicImage) -> u64 {
    let pixels = u64::from(frame.width()) * u64::from(frame.height());
    frame.as_bytes().len() as u64 + 4 * pixels
}

fn loop_memory_error(
    kept: usize,
    frame: &DynamicImage,
    bytes: u64,
    limit: u64,
    flow: u64,
    note: &str,
) -> Error {
    let flow = if flow > 0 {
        format!(
            " (of which the optical flow between frames takes {})",
            crate::memory::human(flow)
        )
    } else {
        String::new()
    };
    Error::parameter(
        "loop",
        format!(
            "closing the loop over {kept} frames keeps them at their own size, {}x{} px, \
             from the start of the clip to its end: about {}, and the memory limit is \
             {}{flow}{note}; loop over fewer frames, or scale the clip down",
            frame.width(),
            frame.height(),
            crate::memory::human(bytes),
            crate::memory::human(limit),
        ),
    )
}

/// `config` with the memory limit lowered by the optical flow's state
/// ([`VideoConfig::flow_bytes`]) and by
/// what closing the loop keeps: its frames like `frame` (as decoded, and
/// their luma as `f32`), held from the start of the clip to its end;
/// `total`, the clip's length when known, caps their number. An error
/// naming `flow` when the flow alone reaches the limit, `loop` when the
/// loop's frames do.
fn reserve_memory(
    config: &VideoConfig,
    frame: &DynamicImage,
    total: Option<usize>,
) -> Result<(VideoConfig, Option<Reserve>)> {
    let mut config = config.clone();
    let Some(limit) = config.image.max_memory else {
        return Ok((config, None));
    };
    let dims = (frame.width(), frame.height());
    let flow = config.flow_bytes(dims.0, dims.1);
    let left = less_flow(limit, flow, dims)?;
    let kept = total.map_or(config.loop_frames, |n| n.min(config.loop_frames));
    let bytes = loop_frame_bytes(frame).saturating_mul(kept as u64);
    if bytes >= left {
        let note = if total.is_none() {
            " (the clip's length is not known before it is read, so all of the loop's frames count)"
        } else {
            ""
        };
        return Err(loop_memory_error(kept, frame, bytes, limit, flow, note));
    }
    config.image.max_memory = Some(left - bytes);
    Ok((
        config,
        Some(Reserve {
            flow,
            frames: kept,
            bytes,
        }),
    ))
}

/// The warning for a loop left open because the clip's last frame starts
/// a shot again before its first: how consistent they are where the flow
/// measured it (`None`: it did not, which is not 0%).
fn loop_left_open(consistent: Option<f64>) -> String {
    let share = consistent.map_or(String::new(), |c| {
        format!(" ({:.0}% consistent)", 100.0 * c)
    });
    format!("the clip's last frame does not continue into its first{share}: the loop is left open")
}

/// The loop's second pass over the first `first.len()` frames (see
/// [`VideoConfig::loop_frames`]); whether the observer stopped it.
///
/// The first frame is painted again as a continuing frame of the last one
/// (its start and temporal target the last frame warped), which closes
/// the seam. Its difference `D` from the first pass's painting is then
/// carried along the flow to the next frames and faded out: frame `j` of
/// the pass is the first pass's frame `j` plus `(1 - j / k) D_j`, `D_j`
/// the difference warped onto frame `j` (and 0 where the flow is
/// inconsistent), so the loop's frames change by `D / k` from one to the
/// next, moving with the scene, and meet the first pass at frame `k + 1`.
/// Only the first is optimised; the cross-faded frames are recomputed
/// from it on every run (resuming included), which is cheap and exact.
#[allow(clippy::too_many_arguments)]
fn close_loop(
    stylizer: &Stylizer,
    styles: &[DynamicImage],
    config: &VideoConfig,
    work: &mut WorkDir,
    observer: &mut dyn VideoObserver,
    flow: &mut DisFlow,
    history: &mut History,
    first: &[(DynamicImage, GrayImage)],
) -> Result<bool> {
    let k = first.len();
    let Some((frame0, grey0)) = first.first() else {
        return Ok(false);
    };
    let (w, h) = working_size(frame0.width(), frame0.height(), config.image.size);
    if let Some(stored) = work.load_loop(0)? {
        // Painted by an earlier run: told as the clip's frames are (before:
        // not at all, and a resumed run's report left it out).
        observer.frame_resumed(&ResumedFrame {
            index: 0,
            fresh: false,
            cost: stored.cost,
        });
    } else {
        let content = stylizer.install(|| checked_rgb32f("frame 1", frame0, w, h))?;
        let c = match stylizer.install(|| link(flow, grey0, &content, history, config))? {
            Link::Continue(c) => c,
            Link::Fresh { consistent } => {
                log::warn!("{}", loop_left_open(consistent));
                return Ok(false);
            }
        };
        let frame_config = continuing(config, c.init);
        let info = FrameInfo {
            index: 0,
            total: None,
            fresh: false,
            consistent: Some(c.consistent),
            iterations: frame_config.iterations,
        };
        let Some((result, stored, asked)) = paint(
            stylizer,
            frame0,
            styles,
            &frame_config,
            &c.terms,
            &info,
            config.mask.as_ref(),
            observer,
        )?
        else {
            return Ok(true);
        };
        work.store_loop(0, &result.image, &stored)?;
        if observer.frame_done(&result) == ControlFlow::Break(()) || asked.is_break() {
            return Ok(true);
        }
    }
    // The differences at the frames' size (the results) and at the
    // working size (the states a resumed run would continue from).
    let planar = |img: &DynamicImage| to_planar(&img.to_rgb32f());
    let minus =
        |a: Vec<f32>, b: Vec<f32>| -> Vec<f32> { a.iter().zip(&b).map(|(x, y)| x - y).collect() };
    let state = |s: &RgbImage| planar(&DynamicImage::ImageRgb8(s.clone()));
    let loop0 = work.load_looped(0)?;
    let mut d_out = minus(
        planar(&work.load_result(0, true)?),
        planar(&work.load_result(0, false)?),
    );
    let mut d_state = minus(state(&loop0.state), state(&work.load(0)?.state));
    let (fw, fh) = (frame0.width(), frame0.height());
    for j in 1..k {
        // Frame j's pixels in frame j-1, at the frames' size.
        let grey = &first[j].1;
        (d_out, d_state) = stylizer.install(|| -> Result<_> {
            let (here_to_past, c_source) = carrying_flow(flow, grey, &first[j - 1].1, config)?;
            let (small, c_small) = to_working(&here_to_past, &c_source, (w, h))?;
            Ok((
                carry(&d_out, &here_to_past, &c_source, config.warp)?,
                carry(&d_state, &small, &c_small, config.warp)?,
            ))
        })?;
        let fade = 1.0 - j as f32 / k as f32;
        let blend = |base: Vec<f32>, d: &[f32]| -> Vec<f32> {
            base.iter()
                .zip(d)
                .map(|(b, d)| (b + fade * d).clamp(0.0, 1.0))
                .collect()
        };
        let image = from_planar(&blend(planar(&work.load_result(j, false)?), &d_out), fw, fh)?;
        let first_pass = work.load(j)?;
        let stored = Stored {
            state: to_rgb8(&from_planar(
                &blend(state(&first_pass.state), &d_state),
                w,
                h,
            )?),
            cost: first_pass.cost,
            fresh: false,
            source: first_pass.source,
        };
        let info = FrameInfo {
            index: j,
            total: None,
            fresh: false,
            consistent: None,
            iterations: 0,
        };
        observer.frame_started(&info);
        let mut image = DynamicImage::ImageRgb8(to_rgb8(&image));
        // Made of masked frames (a grey part is mixed once already); but
        // the difference carried along the flow may move into what the
        // mask keeps as the frame: that is kept again.
        if let Some(mask) = &config.mask {
            image = mask.keep_where_black(&image, &first[j].0)?;
        }
        work.store_loop(j, &image, &stored)?;
        let result = FrameResult {
            index: j,
            image,
            fresh: false,
            iterations: 0,
            final_costs: CostValues::default(),
        };
        if observer.frame_done(&result) == ControlFlow::Break(()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `d` (planar RGB) warped along `flow` and zeroed where `c` is not 1
/// (weighted by it).
fn carry(d: &[f32], flow: &Flow, c: &[f32], warp: WarpInterpolation) -> Result<Vec<f32>> {
    let mut out = warp.warp(d, 3, flow)?;
    let plane = c.len();
    for ch in out.chunks_mut(plane) {
        for (v, ci) in ch.iter_mut().zip(c) {
            *v *= ci;
        }
    }
    Ok(out)
}

/// The settings of a frame that continues its shot from `init` (the
/// previous result warped): no noise, one scale, fewer iterations.
fn continuing(config: &VideoConfig, init: Rgb32FImage) -> StyleConfig {
    config
        .image
        .clone()
        .with_init(Init::Image(DynamicImage::ImageRgb32F(init)))
        .with_init_noise(0.0)
        .with_scales(Scales::Fixed(1))
        .with_iterations(config.effective_frame_iterations())
}

/// Paints one frame, reporting to `observer`: the result (the frame kept
/// where `mask` says), what the work folder keeps of it (the whole
/// painting) and whether the observer asked to stop at its last iteration
/// (the frame is whole: kept, and the run stops after it), or `None` when
/// the observer stopped it sooner.
#[allow(clippy::too_many_arguments)]
fn paint(
    stylizer: &Stylizer,
    frame: &DynamicImage,
    styles: &[DynamicImage],
    frame_config: &StyleConfig,
    terms: &[Arc<dyn PixelTerm>],
    info: &FrameInfo,
    mask: Option<&crate::PaintMask>,
    observer: &mut dyn VideoObserver,
) -> Result<Option<(FrameResult, Stored, ControlFlow<()>)>> {
    observer.frame_started(info);
    let mut adapter = FrameObserver {
        index: info.index,
        inner: observer,
        asked: ControlFlow::Continue(()),
    };
    let out = match stylizer.stylize_with_terms(frame, styles, frame_config, terms, &mut adapter) {
        Ok(out) if !out.stopped => out,
        Ok(_) | Err(crate::Error::Stopped) => return Ok(None),
        Err(e) => return Err(e),
    };
    let costs = out.final_costs;
    let stored = Stored {
        state: to_rgb8(&out.working_image),
        cost: costs.content + costs.style + costs.tv,
        fresh: info.fresh,
        source: Some(source_digest(frame)),
    };
    let image = match mask {
        Some(mask) => mask.apply(&out.image, frame)?,
        None => out.image,
    };
    let result = FrameResult {
        index: info.index,
        image,
        fresh: info.fresh,
        iterations: out.iterations,
        final_costs: costs,
    };
    Ok(Some((result, stored, adapter.asked)))
}

/// Hands one frame's iterations to the video observer.
struct FrameObserver<'a> {
    index: usize,
    inner: &'a mut dyn VideoObserver,
    /// `Break` once the video observer asked to stop.
    asked: ControlFlow<()>,
}

impl Observer for FrameObserver<'_> {
    fn started(&mut self, _info: &RunInfo) {}
    fn iteration(&mut self, it: &Iteration<'_>) -> ControlFlow<()> {
        let flow = self.inner.iteration(self.index, it);
        if flow.is_break() {
            self.asked = flow;
        }
        flow
    }
    fn stop_signal(&self) -> Option<crate::StopSignal> {
        self.inner.stop_signal()
    }
}

#[cfg(test)]
mod tests {
    use super::loop_left_open;

    /// A consistency the flow did not measure is not said as 0%.
    #[test]
    fn a_loop_left_open_says_only_a_measured_consistency() {
        let unmeasured = loop_left_open(None);
        assert!(!unmeasured.contains('%'), "{unmeasured}");
        assert!(unmeasured.contains("the loop is left open"), "{unmeasured}");
        let measured = loop_left_open(Some(0.12));
        assert!(measured.contains("(12% consistent)"), "{measured}");
    }
}
