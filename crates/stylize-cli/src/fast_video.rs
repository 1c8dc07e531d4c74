//! `stylize video --method fast`: the feed-forward network on every frame,
//! blended along the optical flow ([`TemporalBlend`]), straight to the
//! output (no work folder: a frame takes a fraction of a second).

use std::time::Instant;

use image::{imageops, DynamicImage};
use indicatif::ProgressBar;
use stylize::video::VideoConfig;
use stylize::{ColorPreservation, Error};
use stylize_feedforward::{
    resize_longest_image, FastNetworks, FastOptions, FastStyle, FrameLink, TemporalBlend,
    DEFAULT_BLEND,
};
use stylize_flow::DisParams;
use stylize_frames::SinkOptions;

use crate::args::{DeviceArg, VideoArgs};
use crate::console::Console;
use crate::fast_cmd::{load_fast, refuse_over_memory, run_style};
use crate::flicker_cmd::FlickerReport;
use crate::interrupt::Interrupt;
use crate::json_file::write_json;
use crate::selection::Frames;
use crate::{JobResult, Outcome};

/// The working size's longer side when --size is not given: the frame's
/// own, up to this.
const MAX_DEFAULT_SIZE: u32 = 512;

/// What `video_cmd` has prepared.
pub struct FastVideo<'a> {
    /// Frames to paint, when the source knows.
    pub total: Option<usize>,
    /// The input's frame rate, when known.
    pub in_fps: Option<f64>,
    /// The output's frame rate.
    pub out_fps: Option<f64>,
    /// The sink's settings (ffmpeg).
    pub sink_options: SinkOptions,
    /// The paintings.
    pub styles: &'a [DynamicImage],
    /// The run's settings (style blend, cut threshold).
    pub config: &'a VideoConfig,
}

/// The names of the flags given, of `(name, given)`.
fn given(flags: &[(&'static str, bool)]) -> Vec<&'static str> {
    flags
        .iter()
        .filter_map(|&(name, given)| given.then_some(name))
        .collect()
}

/// The flags given on the command line that tie a frame to the ones
/// before it, which `--independent` leaves without effect.
pub fn linking_flags(cli: &VideoArgs) -> Vec<&'static str> {
    given(&[
        ("--temporal-weight", cli.temporal_weight.is_some()),
        ("--long-term", cli.long_term.is_some()),
        ("--cut-threshold", cli.cut_threshold.is_some()),
        ("--frame-iterations", cli.frame_iterations.is_some()),
        ("--loop", cli.loop_frames.is_some()),
        ("--warp", cli.warp.is_some()),
        ("--warp-flow", cli.warp_flow.is_some()),
        ("--blend", cli.blend.is_some()),
        ("--plain-blend", cli.plain_blend),
    ])
}

/// The fast method's own flags given on the command line, which the
/// optimiser does not use.
pub fn fast_only_flags(cli: &VideoArgs) -> Vec<&'static str> {
    given(&[
        ("--blend", cli.blend.is_some()),
        ("--plain-blend", cli.plain_blend),
        ("--strength", cli.strength.is_some()),
    ])
}

/// The optimiser's flags given on the command line, which the network
/// does not use.
fn ignored_flags(cli: &VideoArgs) -> Vec<&'static str> {
    let c = &cli.common;
    given(&[
        ("--style-scale", c.style_scale.is_some()),
        ("--preset", c.preset.is_some()),
        ("--optimizer", c.optimizer.is_some()),
        ("--line-search", c.line_search.is_some()),
        ("--lbfgs-bounds", c.lbfgs_bounds.is_some()),
        ("--lbfgs-history", c.lbfgs_history.is_some()),
        ("--init", c.init.is_some()),
        ("--init-noise", c.init_noise.is_some()),
        ("--tv-weight", c.tv_weight.is_some()),
        ("--pooling", c.pooling.is_some()),
        ("--scales", c.scales.is_some()),
        ("--similarity", c.similarity.is_some()),
        ("--iterations", c.epochs.is_some()),
        ("--alpha", c.alpha.is_some()),
        ("--beta", c.beta.is_some()),
        ("--lr", c.lr.is_some()),
        ("--seed", c.seed.is_some()),
        ("--weights", c.weights.is_some()),
        ("--preprocess", c.preprocess.is_some()),
        ("--style-layers", c.style_layers.is_some()),
        ("--content-layer", c.content_layer.is_some()),
        ("--engine", c.engine.is_some()),
        ("--frame-iterations", cli.frame_iterations.is_some()),
        ("--temporal-weight", cli.temporal_weight.is_some()),
        ("--long-term", cli.long_term.is_some()),
        ("--warp", cli.warp.is_some()),
        ("--warp-flow", cli.warp_flow.is_some()),
        ("--keep-work", cli.keep_work),
    ])
}

/// Refuses frames of `frame` size painted at `size` (with `styles`) when
/// the clip's estimated peak memory is over `limit` (none: no check),
/// naming the `--size` that fits.
///
/// # Errors
/// [`Error::Parameter`] (`size`) when it does not fit.
fn check_memory(
    frame: (u32, u32),
    size: u32,
    styles: &[DynamicImage],
    limit: Option<u64>,
) -> Result<(), Error> {
    let Some(limit) = limit else {
        return Ok(());
    };
    let styles: Vec<(u32, u32)> = styles.iter().map(|p| (p.width(), p.height())).collect();
    // The paintings are decoded together and held through the clip (a
    // painting's own size counts 10 bytes a pixel, its decoded 3 to 8
    // counted with the margin); each is seen at the default style size.
    let paintings =
        stylize_feedforward::Paintings::all_held(&styles, FastOptions::default().style_size);
    let need = |size: u32, _: u32| {
        stylize_feedforward::estimate_clip_memory_with(frame, size, paintings).total
    };
    let subject = format!("painting {}x{} frames at --size {size}", frame.0, frame.1);
    // Frames too narrow at any size are refused as such when sized.
    let Some(least) = stylize_feedforward::least_longest(frame, 16, 16384) else {
        return Ok(());
    };
    // (No --style-size here: the default's square is in the fixed part.)
    refuse_over_memory(
        &subject,
        (least, size),
        None,
        limit,
        need,
        "scale the clip (or the paintings) down",
    )
}

/// Paints and writes every frame.
pub fn run(
    cli: &VideoArgs,
    quiet: bool,
    interrupt: &Interrupt,
    console: &Console,
    mut frames: Frames<'_>,
    prepared: FastVideo<'_>,
) -> JobResult {
    if cli.loop_frames.is_some() {
        return Err(Error::parameter("loop", "--loop applies to --method optimize").into());
    }
    let ignored = ignored_flags(cli);
    if !ignored.is_empty() && !quiet {
        note!(
            "warning: --method fast ignores {} (the optimiser's)",
            ignored.join(", ")
        );
    }
    let on_device = !matches!(
        cli.common.device,
        DeviceArg::Auto | DeviceArg::Exact(stylize::ComputeDevice::Cpu)
    );
    if on_device && !quiet {
        note!("warning: --method fast ignores --device: the network runs on the CPU");
    }
    let keep_colors = match cli.common.preserve_colors {
        None => false,
        Some(ColorPreservation::Luminance) => true,
        Some(ColorPreservation::Histogram) => {
            return Err(Error::parameter(
                "preserve-colors",
                "--method fast keeps the photo's colours by luminance only: use --preserve-colors luminance",
            )
            .into())
        }
    };
    let blend = if cli.independent {
        0.0
    } else {
        cli.blend.unwrap_or(DEFAULT_BLEND)
    };
    let builtin = cli
        .builtin
        .as_deref()
        .map(|b| {
            crate::setup::parse_builtin(b, |m| {
                if !quiet {
                    note!("{m}");
                }
            })
        })
        .transpose()?;
    let networks = match builtin {
        Some(_) => FastNetworks::Builtin,
        None => FastNetworks::Arbitrary,
    };
    let fast = load_fast(cli.common.models.as_deref(), cli.common.threads, networks)?;
    let mut temporal =
        TemporalBlend::new(blend, DisParams::default(), prepared.config.cut_threshold)?
            .with_isa(fast.isa())?;
    if cli.plain_blend {
        temporal = temporal.with_plain_average();
    }
    let options = FastOptions {
        strength: cli.strength.unwrap_or(1.0),
        ..FastOptions::default()
    };
    if !(0.0..=1.0).contains(&options.strength) {
        return Err(Error::parameter("strength", "--strength is a share, 0..1").into());
    }
    let style = match builtin {
        Some(mix) => FastStyle::Builtin(mix),
        None => {
            let sizes: Vec<(u32, u32)> = prepared
                .styles
                .iter()
                .map(|s| (s.width(), s.height()))
                .collect();
            crate::fast_cmd::check_painting_sizes(&cli.common.style, &sizes)?;
            run_style(&fast, prepared.styles, &prepared.config.image)?
        }
    };
    let mut sink = crate::video_cmd::clip_sink(
        cli,
        prepared.in_fps,
        prepared.out_fps,
        prepared.sink_options,
        interrupt,
    )?;
    let bar = if !quiet && crate::progress::bars_drawn() {
        // A clip of unknown length (a pipe) counts its frames.
        crate::progress::bar_or_spinner(
            console,
            prepared.total.map(|n| n as u64),
            "{bar:30.cyan/blue} {pos}/{len} frames | {msg} | ETA {eta}",
            "{spinner} {pos} frames | {msg} | {elapsed}",
        )
    } else {
        ProgressBar::hidden()
    };
    // Measured as the frames go (memory for a few frames), outside the
    // painting's time. A failed measure stops measuring, not painting:
    // the clip is written, then the error said.
    let mut report = cli.report.is_some().then(FlickerReport::new);
    let mut report_error = None;
    let mut measuring = std::time::Duration::ZERO;
    let (mut count, mut cuts) = (0usize, 0usize);
    let start = Instant::now();
    // Without a bar (not a terminal), a line now and then.
    let plain = !quiet && bar.is_hidden();
    let mut said = Instant::now();
    for frame in frames.by_ref() {
        if interrupt.requested() {
            bar.finish_and_clear();
            // The sink is dropped unfinished: no partial output file.
            note!("stopped after {count} frame(s); nothing written");
            return Ok(Outcome::Interrupted);
        }
        // Read to the working size a row at a time (no float copy of the
        // frame at its own size).
        let frame = frame?;
        let (fw, fh) = (frame.width(), frame.height());
        let size = cli.common.size.unwrap_or(fw.max(fh).min(MAX_DEFAULT_SIZE));
        let work = fast.install(|| resize_longest_image(&frame, size));
        let (ww, wh) = work.dimensions();
        if ww.min(wh) < stylize_feedforward::MIN_SIDE {
            let advice = match stylize_feedforward::least_longest((fw, fh), size, 16384) {
                Some(needed) => format!("use --size {needed} or more"),
                None => "they are too narrow at any --size".to_string(),
            };
            return Err(Error::parameter(
                "size",
                format!(
                    "the frames are {fw}x{fh}, {ww}x{wh} at --size {size}; the networks need at \
                     least {} px on each side: {advice}",
                    stylize_feedforward::MIN_SIDE
                ),
            )
            .into());
        }
        if count == 0 {
            let limit = crate::setup::memory_limit(
                cli.common.max_memory,
                cli.common.threads,
                crate::setup::Workers::Networks,
            )?;
            check_memory((fw, fh), size, prepared.styles, limit)?;
        }
        // The flow needs only the frame: it runs while the network paints.
        let (mut out, link) =
            fast.install(|| temporal.next_with(&work, || fast.stylize(&work, &style, &options)))?;
        // After the blend: the carried painting keeps its own colours.
        if keep_colors {
            out = stylize::combine_luminance(&out, &work)?;
        }
        if matches!(link, FrameLink::Fresh(Some(_))) {
            cuts += 1;
        }
        let out = if out.dimensions() == (fw, fh) {
            out
        } else {
            imageops::resize(&out, fw, fh, imageops::FilterType::Triangle)
        };
        // The frame kept where the mask says; the blend carries on with
        // the whole painting.
        let rgb = match &prepared.config.mask {
            Some(mask) => mask
                .apply(&DynamicImage::ImageRgb32F(out), &frame)?
                .to_rgb8(),
            None => DynamicImage::ImageRgb32F(out).to_rgb8(),
        };
        sink.write_frame(&rgb)?;
        if let Some(measure) = &mut report {
            let started = Instant::now();
            if let Err(e) = measure.push(&frame.to_rgb8(), &rgb) {
                report_error = Some(e);
                report = None;
            }
            measuring += started.elapsed();
        }
        count += 1;
        let rate = count as f64 / start.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!("{rate:.1} frames/s"));
        bar.inc(1);
        if plain && said.elapsed().as_secs() >= 5 {
            said = Instant::now();
            let of = prepared.total.map_or(String::new(), |n| format!(" of {n}"));
            note!("frame {count}{of} painted ({rate:.1} frames/s)");
        }
    }
    bar.finish_and_clear();
    let painted = start.elapsed().saturating_sub(measuring).as_secs_f64();
    // A clip that ended before the --frames range began: said as such.
    if count == 0 && cli.frames.is_some() && frames.index > 0 {
        return Err(crate::video_cmd::selects_none(cli, frames.index).into());
    }
    if !quiet && count > 0 {
        // A GIF's or APNG's frames are encoded now, all of them.
        note!("writing {}…", cli.output.display());
    }
    let writing = Instant::now();
    match sink.finish() {
        Err(stylize_frames::FramesError::Stopped { .. }) => {
            note!(
                "stopped while writing {}: nothing written",
                cli.output.display()
            );
            return Ok(Outcome::Interrupted);
        }
        r => r?,
    }
    if interrupt.requested() && !quiet {
        // Every frame was painted when Ctrl-C came: the clip is whole.
        note!(
            "Ctrl-C came as {} was being finished: it is complete",
            cli.output.display()
        );
    }
    let written = writing.elapsed().as_secs_f64();
    // (The report's rate counts the writing too, as it always has.)
    let seconds = start.elapsed().saturating_sub(measuring).as_secs_f64();
    if cli.report.is_some() && count < 2 {
        return Err(Error::parameter(
            "report",
            format!(
                "wrote {} ({count} frame); no report: the flicker is measured between frames, \
                 and the clip has one",
                cli.output.display()
            ),
        )
        .into());
    }
    if let Some(e) = report_error {
        return Err(format!(
            "wrote {}, but could not measure its flicker for --report: {e}",
            cli.output.display()
        )
        .into());
    }
    if let (Some(report), Some(path)) = (report, &cli.report) {
        let mut figures = report.finish()?;
        figures["method"] = "fast".into();
        // As given (0.8, not the f32's 0.800000011920929).
        figures["blend"] = blend
            .to_string()
            .parse::<f64>()
            .unwrap_or(f64::from(blend))
            .into();
        // The blend's kind: none, the plain average, or its texture kept.
        figures["blend_texture"] = if blend == 0.0 {
            "none"
        } else if cli.plain_blend {
            "average"
        } else {
            "kept"
        }
        .into();
        figures["frames_per_second"] = (count as f64 / seconds.max(1e-9)).into();
        // The clip is written: said, with what failed (a full disk), and
        // the figures, which no other run gives back as they are (the
        // frames before the output's encoding).
        write_json(path, &figures).map_err(|e| {
            // Without the long per-pair lists.
            let mut summary = figures.clone();
            if let Some(fields) = summary.as_object_mut() {
                fields.remove("per_pair");
            }
            format!(
                "wrote {}, but not the report {}: {}; its figures: {summary}",
                cli.output.display(),
                path.display(),
                crate::with_causes(e.as_ref()),
            )
        })?;
    }
    if !quiet {
        note!(
            "wrote {} ({count} frame{}, {} shot(s)): painted in {painted:.1} s ({:.1} \
             frames/s), written in {written:.1} s",
            cli.output.display(),
            if count == 1 { "" } else { "s" },
            cuts + usize::from(count > 0),
            count as f64 / painted.max(1e-9)
        );
    }
    Ok(Outcome::Done)
}
