//! The `video` job: every frame of a clip, coherent from frame to frame,
//! through a resumable work folder, then encoded.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use serde_json::json;
use sha2::{Digest, Sha256};
use stylize::video::{
    stylize_video, FrameInfo, FrameResult, ResumedFrame, VideoConfig, VideoObserver, WorkDir,
};
use stylize::{load_image, Error, Iteration, Preset};
use stylize_frames::{
    check_output_not_inside, create_sink, ffmpeg_from_env, open_source, takes_audio,
    takes_frame_times, writes_frame_folder, SinkOptions, SourceOptions,
};

use crate::args::{VideoArgs, VideoMethod};
use crate::console::Console;
use crate::fast_video::FastVideo;
use crate::flicker_cmd::{measure_in_step, Measuring};
use crate::interrupt::Interrupt;
use crate::json_file::write_json;
use crate::output_check::{
    check_not_a_program_file, check_not_an_input, check_output_dir, check_output_file,
    check_side_file,
};
use crate::selection::{fps_rational, Frames, Selection};
use crate::setup::{
    build_config, init_file, is_fast_init, load_styles, load_stylizer, painting_sizes,
};
use crate::{JobResult, Outcome};

/// Runs `stylize video`.
///
/// # Errors
/// Bad input or settings, a failed frame, a failed encoding.
pub fn run(cli: &VideoArgs, quiet: bool, interrupt: &Interrupt, console: &Console) -> JobResult {
    let say = |msg: String| {
        if !quiet {
            note!("{msg}");
        }
    };
    // A mistyped clip is said as the option's, not as a system error
    // (`-` is standard input).
    if cli.input.as_os_str() != "-" {
        crate::setup::check_input("input", &cli.input)?;
    }
    // A built-in mix carries its own weights, as `fast` says (before:
    // --style-blend was dropped without a word).
    if cli.builtin.is_some() && cli.common.style_blend.is_some() {
        return Err(Error::parameter(
            "style-blend",
            "--style-blend weighs --style paintings; a --builtin mix carries its own weights \
             (`--builtin 3:0.5,12:0.5`)",
        )
        .into());
    }
    if cli.method == VideoMethod::Optimize {
        if cli.builtin.is_some() {
            return Err(Error::parameter(
                "builtin",
                "--builtin chooses the fast network's style: add --method fast, or give --style",
            )
            .into());
        }
        let ignored = crate::fast_video::fast_only_flags(cli);
        if !ignored.is_empty() {
            // The optimiser's own flag for what each would do.
            let mut instead: Vec<&str> = ignored
                .iter()
                .filter_map(|f| match *f {
                    "--strength" => Some("its style strength is --beta"),
                    "--blend" | "--plain-blend" => {
                        Some("its frames follow the one before through --temporal-weight")
                    }
                    _ => None,
                })
                .collect();
            // (--blend and --plain-blend, side by side, say the same.)
            instead.dedup();
            say(format!(
                "warning: --method optimize ignores {} (they set --method fast; for the optimiser, {})",
                ignored.join(", "),
                instead.join("; ")
            ));
        }
    }
    // Everything a user can get wrong, before the long part.
    crate::setup::refuse_style_folder(&cli.common.style)?;
    // (With --method fast, --init is one of the optimiser's flags it says
    // it ignores; before, refused with advice to use --method fast.)
    let init = cli.common.init.as_deref();
    if let Some(init) = init.filter(|i| is_fast_init(i) && cli.method == VideoMethod::Optimize) {
        return Err(Error::parameter(
            "init",
            format!(
                "`--init {init}` is for `stylize image`: in a video, a shot's first frame starts \
                 as --init says (content, noise, style or a file) and the others from the \
                 painting before them; `--method fast` paints every frame with the network"
            ),
        )
        .into());
    }
    if cli.input.as_os_str() != "-" {
        check_output_not_inside(&cli.input, &cli.output)?;
        // The optimiser's work folder beside the output: its stale frames
        // are removed, so it may not be (or lie in) the input folder.
        let work = work_dir_for(&cli.output);
        if cli.method == VideoMethod::Optimize
            && check_output_not_inside(&cli.input, &work).is_err()
        {
            return Err(Error::parameter(
                "output",
                format!(
                    "{} (where this run keeps its finished frames) is the input folder {} or \
                     lies inside it: choose another output",
                    work.display(),
                    cli.input.display()
                ),
            )
            .into());
        }
    }
    // A clip or a frame folder is made beside its name and renamed onto
    // it: a link or a device there would be replaced, so it is refused.
    if let Ok(m) = std::fs::symlink_metadata(&cli.output) {
        let why = if m.file_type().is_symlink() {
            Some("a symbolic link is there; name the file it points to")
        } else if !m.is_file() && !m.is_dir() {
            Some("a device or a pipe is there; a video's output is a file or a folder")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(Error::io(&cli.output, std::io::Error::other(why)).into());
        }
    }
    crate::output_check::refuse_standard_output(&cli.output)?;
    check_output_dir(&cli.output)?;
    // The longest name made beside it (the optimiser's work folder's; the
    // network makes none): one the file system cannot hold is found out
    // now.
    if cli.method == VideoMethod::Optimize && !work_dir_for(&cli.output).exists() {
        check_output_dir(&work_dir_for(&cli.output))?;
    }
    let init_file = init_file(&cli.common);
    let inputs = || {
        std::iter::once(cli.input.as_path())
            .chain(cli.common.style.iter().map(PathBuf::as_path))
            .chain(init_file)
            .chain(cli.mask.as_deref())
    };
    check_not_an_input(&cli.output, inputs(), cli.overwrite)?;
    if cli.method == VideoMethod::Optimize {
        // The work folder is emptied when a run starts over and removed
        // once the clip is written: an input in it (a kept frame as the
        // painting, say) would go with it (before: it did, unsaid).
        let work = work_dir_for(&cli.output);
        let named = [("input", Some(cli.input.as_path()))]
            .into_iter()
            .chain(
                cli.common
                    .style
                    .iter()
                    .map(|s| ("style", Some(s.as_path()))),
            )
            .chain([("init", init_file), ("mask", cli.mask.as_deref())]);
        for (flag, file) in named {
            let Some(file) = file.filter(|f| f.as_os_str() != "-") else {
                continue;
            };
            let inside = matches!(
                (crate::output_check::written_at(file), crate::output_check::written_at(&work)),
                (Some(f), Some(w)) if f.starts_with(&w) || stylize_frames::lies_within(&f, &w)
            );
            if inside {
                return Err(Error::parameter(
                    flag,
                    format!(
                        "{} is inside the work folder {}, which this run empties or removes: \
                         copy it out of there first",
                        file.display(),
                        work.display()
                    ),
                )
                .into());
            }
        }
    }
    if let Some(report) = &cli.report {
        check_output_file(report).map_err(|e| Error::parameter("report", e.to_string()))?;
        check_not_a_program_file("report", report, &cli.common)?;
        check_side_file("report", report, &cli.output, inputs())?;
        // A frame folder's run replaces the frames in it (a report named
        // frame_000002.png would be taken for one, or replace one); where
        // each is written, links followed (the report's need not lead to
        // a file yet).
        // (Folder by folder by identity, for a case-insensitive disk.)
        let written = crate::output_check::written_at;
        let under_output = matches!(
            (written(report), written(&cli.output)),
            (Some(r), Some(o)) if r != o
                && !stylize_frames::same_file(&r, &o)
                && (r.starts_with(&o) || stylize_frames::lies_within(&r, &o))
        );
        if under_output {
            return Err(Error::parameter(
                "report",
                format!(
                    "{} is inside the output folder {}, which holds the frames: choose a \
                     file elsewhere",
                    report.display(),
                    cli.output.display()
                ),
            )
            .into());
        }
        // The work folder goes once the clip is written, with whatever is
        // in it (before: the report too, and the run said nothing); kept,
        // a file in it not of the run stops the next run with other
        // settings.
        let work = work_dir_for(&cli.output);
        let in_work = matches!(
            (written(report), written(&work)),
            (Some(r), Some(w)) if r.starts_with(&w) || stylize_frames::lies_within(&r, &w)
        );
        if cli.method == VideoMethod::Optimize && in_work {
            return Err(Error::parameter(
                "report",
                format!(
                    "{} is inside the work folder {}, which holds the run's frames alone \
                     (and is removed once the clip is written): choose a file elsewhere",
                    report.display(),
                    work.display()
                ),
            )
            .into());
        }
        // The optimiser's report reads the input again once the clip is
        // written: where the clip replaces it, it would measure the painting
        // as the original (before: figures silently wrong).
        let replaces_input = cli.input.as_os_str() != "-"
            && check_not_an_input(&cli.output, [cli.input.as_path()], false).is_err();
        if cli.method == VideoMethod::Optimize && replaces_input {
            return Err(Error::parameter(
                "report",
                format!(
                    "--report measures the input clip once the painting is written, and the \
                     output {} replaces it: write the output elsewhere, or leave --report out",
                    cli.output.display()
                ),
            )
            .into());
        }
        if cli.input.as_os_str() != "-" && check_output_not_inside(&cli.input, report).is_err() {
            return Err(Error::parameter(
                "report",
                format!(
                    "{} is inside the input folder {}: choose a file elsewhere",
                    report.display(),
                    cli.input.display()
                ),
            )
            .into());
        }
        // A pipe (`<(...)`, a FIFO) is read once, as standard input is.
        let streamed = cli.input.as_os_str() == "-" || is_pipe(&cli.input);
        if streamed && cli.method == VideoMethod::Optimize {
            return Err(Error::parameter(
                "report",
                "--report reads the clip a second time, which standard input or a pipe cannot \
                 give; save the clip to a file and pass that to --input",
            )
            .into());
        }
    }
    let sink_options = SinkOptions {
        ffmpeg: ffmpeg_from_env(),
        // A frame folder from an earlier run is replaced with --overwrite.
        replace_frames: cli.overwrite,
        ..SinkOptions::default()
    };
    // The kind of output (and ffmpeg, where it needs one) before any work:
    // a sink made and dropped leaves nothing behind. It is made on the
    // output itself, so that a folder output that is not empty is refused
    // now, not after every frame is painted.
    drop(create_sink(&cli.output, &sink_options).map_err(in_cli_words)?);
    let source_options = SourceOptions {
        ffmpeg: ffmpeg_from_env(),
        frames: cli.frames.unwrap_or((1, None)),
        ..SourceOptions::default()
    };
    let source = open_source(&cli.input, &source_options)?;
    let info = *source.info();
    // A still picture is a clip of one frame: painted, but likely meant
    // for another job.
    // (A picture by its first bytes: a Y4M or an mp4 of one frame is a
    // clip, which `stylize image` refuses; before, said to be a picture.)
    let picture = || {
        image::ImageReader::open(&cli.input)
            .and_then(image::ImageReader::with_guessed_format)
            .is_ok_and(|r| r.format().is_some())
    };
    if info.frames == Some(1) && cli.input.is_file() && picture() {
        log::warn!(
            "{} is a single picture, so the clip has one frame; `stylize image --content {}` \
             paints a photo (`stylize fast` in well under a second); a video, an animated GIF, \
             APNG or WebP, or a folder of frames gives a clip",
            cli.input.display(),
            cli.input.display()
        );
    }
    let mut config = VideoConfig {
        image: build_config(
            &cli.common,
            Preset::Gatys,
            Some(256),
            match cli.method {
                VideoMethod::Fast => crate::setup::Workers::Networks,
                VideoMethod::Optimize => crate::setup::Workers::of_run(&cli.common),
            },
        )?,
        ..VideoConfig::default()
    };
    if let Some(n) = cli.frame_iterations {
        config.frame_iterations = Some(usize::try_from(n)?);
    }
    if let Some(w) = cli.temporal_weight {
        config.temporal_weight = f64::from(w);
    }
    if let Some(j) = cli.long_term {
        config.long_term = j as usize;
    }
    if let Some(c) = cli.cut_threshold {
        config.cut_threshold = f64::from(c);
    }
    config.independent = cli.independent;
    // Frames painted each on their own have no seam to close.
    config.loop_frames = if cli.independent {
        0
    } else {
        cli.loop_frames.map_or(0, |n| n as usize)
    };
    // (`--method fast` says which of the optimiser's flags it ignores.)
    let inert = crate::setup::inert_flags(&cli.common, &config.image, false);
    if cli.method == VideoMethod::Optimize && !inert.is_empty() {
        say(format!("warning: this run ignores {}", inert.join("; ")));
    }
    if let Some(warning) = crate::setup::start_warning(&config.image) {
        if cli.method == VideoMethod::Optimize {
            say(warning);
        }
    }
    // A shot's first frame starts from --init's picture, stretched to the
    // frames' shape: said when the shapes differ, as `image` says it.
    if let (stylize::Init::Image(start), Some(file), VideoMethod::Optimize) =
        (&config.image.init, init_file, cli.method)
    {
        if let Some(warning) = crate::setup::stretch_warning(
            "init",
            file,
            (start.width(), start.height()),
            "the frames",
            (info.width, info.height),
        ) {
            say(warning);
        }
    }
    if cli.independent {
        let ignored = crate::fast_video::linking_flags(cli);
        if !ignored.is_empty() {
            say(format!(
                "warning: --independent paints each frame on its own: {} {} no effect",
                ignored.join(", "),
                if ignored.len() == 1 { "has" } else { "have" }
            ));
        }
    }
    if let Some(w) = cli.warp {
        config.warp = w;
    }
    if let Some(f) = cli.warp_flow {
        config.warp_flow = f;
    }
    // Read before the long part; part of the settings a stopped run is
    // continued with (another mask paints the frames again).
    config.mask = cli
        .mask
        .as_deref()
        .map(|m| {
            // The limit of the method's own threads (the networks' are
            // the lighter).
            let limit = match cli.method {
                VideoMethod::Fast => crate::setup::memory_limit(
                    cli.common.max_memory,
                    cli.common.threads,
                    crate::setup::Workers::Networks,
                )?,
                VideoMethod::Optimize => config.image.max_memory,
            };
            crate::setup::load_mask(m, (info.width, info.height), "the frames", limit, say)
        })
        .transpose()?;
    config.validate()?;
    let in_fps = info.fps.map(|(n, d)| f64::from(n) / f64::from(d.max(1)));
    if let (Some(want), Some(have)) = (cli.fps, in_fps) {
        // Frames are dropped to lower the rate, never repeated to raise it:
        // a higher rate plays the clip faster. Only a warning: 30 for
        // 29.97 is common.
        // Any rate above the input's that is not taken as its own (within
        // 0.1%): before, only 1% above was said, and 3% as "1.0x".
        if want > have && !crate::selection::same_rate(have, want) {
            let faster = want / have;
            let how = if faster < 1.1 {
                format!("{:.1}% faster", (faster - 1.0) * 100.0)
            } else {
                format!("{faster:.1}x faster")
            };
            say(format!(
                "warning: --fps {want} is above the input's {have:.3} fps; frames are only dropped, \
                 never repeated, so the clip will play {how} (leave --fps out to keep the input's \
                 rate)"
            ));
        }
    }
    let out_fps = match (cli.fps, in_fps) {
        // The input's own rate as printed (29.97 for 30000/1001): exact,
        // and said where it is not the number given (30 for 29.97).
        (Some(f), Some(have)) if crate::selection::same_rate(have, f) => {
            if format!("{have:.3}") != format!("{f:.3}") {
                say(format!(
                    "note: --fps {f} is taken as the input's own rate, {have:.3} fps (within \
                     0.1%), so that every frame and the sound stay in time"
                ));
            }
            Some(have)
        }
        (Some(f), _) => Some(f),
        (None, f) => f,
    };
    // A GIF's delays are whole hundredths of a second, and browsers show
    // one under 2/100 s as 1/10 s.
    let gif = cli
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gif"));
    if let Some(fps) = out_fps.filter(|&f| gif && f > 50.0) {
        say(format!(
            "warning: a GIF at {fps:.3} fps: its frames' delays are whole hundredths of a \
             second, and browsers show those under 2/100 s as 1/10 s, so it plays unevenly or \
             slowly; --fps 50 (or 25), or an .apng, .webp or .mp4 output, keeps the timing"
        ));
    }
    let selection = Selection::new(cli.frames, in_fps, out_fps);
    let sink_options = SinkOptions {
        frame_times: frame_times(cli, source.frame_times(), &selection, (in_fps, out_fps)),
        ..sink_options
    };
    let total = source.total_frames().map(|n| selection.count(n as usize));
    // A range past a clip of known length is said as such, before any
    // work (a length from ffmpeg's duration is an estimate: not used here).
    if let Some(n) = info.frames {
        if n > 0 && selection.count(n as usize) == 0 {
            return Err(selects_none(cli, n as usize).into());
        }
        // One that runs past its end is said too: the clip is shorter
        // than asked.
        if let Some((first, Some(last))) = cli.frames {
            if last as u64 > n {
                log::warn!(
                    "--frames {first}..{last}: {} has {n} frames; painting {first}..{n}",
                    cli.input.display()
                );
            }
        }
    }
    // Settings that change nothing in this run are said, not dropped.
    if cli.method == VideoMethod::Optimize {
        if config.loop_frames > 0 && total == Some(1) {
            say("warning: --loop has no effect: there is one frame to paint".to_string());
        }
        if cli.long_term.is_some() && config.temporal_weight == 0.0 && !cli.independent {
            say(
                "warning: --long-term has no effect: --temporal-weight 0 turns the temporal \
                 cost off"
                    .to_string(),
            );
        }
    }
    // The frames are written at the clip's own size: one the output's
    // format cannot hold is said now (before: once every frame was
    // painted, and on every rerun from the work folder).
    stylize_frames::check_frame_size(&cli.output, info.width, info.height)?;
    // The report measures flicker between frames: a selection of one frame
    // of a clip of known length is said now, not after the painting.
    if cli.report.is_some() {
        // `--frames A..A` is one frame whatever the clip's length.
        let one = matches!(cli.frames, Some((first, Some(last))) if first == last);
        let selected = info.frames.map(|n| selection.count(n as usize));
        if one || selected == Some(1) {
            return Err(Error::parameter(
                "report",
                "--report measures the flicker between frames, and the selection has one \
                 frame: select at least two, or leave --report out",
            )
            .into());
        }
        // Its optical flow needs a patch's worth of pixels (before: said
        // once every frame was painted, and again on every rerun).
        let min = stylize_flow::WarpOptions::default().params.patch_size as u32;
        if info.width < min || info.height < min {
            return Err(Error::parameter(
                "report",
                format!(
                    "--report measures the flicker along the optical flow, which needs frames \
                     of at least {min}x{min} px, and these are {}x{}: leave --report out",
                    info.width, info.height
                ),
            )
            .into());
        }
    }
    if cli.method == VideoMethod::Fast {
        // The network converts only each painting's centre square.
        let styles = load_styles(&cli.common)?;
        let frames = Frames::new(source, &selection, &cli.input);
        let options = FastVideo {
            total,
            in_fps,
            out_fps,
            sink_options,
            styles: &styles,
            config: &config,
        };
        return crate::fast_video::run(cli, quiet, interrupt, console, frames, options);
    }
    // The engine keeps its own copy of the kernels: the file's copy is
    // dropped here, not held through the video; its path is kept for the
    // work folder's settings.
    let (stylizer, weights) = load_stylizer(&cli.common, &config.image, quiet, interrupt, console)?;
    let weights_file = weights.path.clone();
    drop(weights);
    // A frame stands for the photo, beside the optical flow's state at the
    // frames' size (what the video's own check counts before each frame).
    stylize::video::check_video_memory(
        &stylizer,
        (info.width, info.height),
        &painting_sizes(&cli.common)?,
        &config,
    )?;
    let styles = load_styles(&cli.common)?;
    // Each scale runs them (before: unsaid, the first frame then reporting
    // twice the iterations with --scales 2); later frames continue at the
    // working size alone.
    let per_scale = match config.image.scales.sizes(config.image.size).len() {
        1 => String::new(),
        n => format!(" at each of {n} scales"),
    };
    say(format!(
        "{}: {}x{}{}{}; working size {} px, first frame of a shot {} iterations{}, later frames {}",
        cli.input.display(),
        info.width,
        info.height,
        in_fps.map_or(String::new(), |f| format!(", {f:.3} fps")),
        total.map_or(String::new(), |n| format!(", {n} frame(s) to paint")),
        config.image.size,
        config.image.iterations,
        per_scale,
        if cli.independent {
            // Each frame as the first: at each scale too.
            format!("{}{per_scale}", config.image.iterations)
        } else {
            config.effective_frame_iterations().to_string()
        }
    ));
    if let Some(note) =
        crate::setup::enlargement_note((info.width, info.height), config.image.size, "the clip's")
    {
        say(note);
    }
    let work_dir = work_dir_for(&cli.output);
    // The frames selected decide the work folder, not how --fps was
    // spelled: the input's own rate given is the same as none (before:
    // `--fps 25` on a 25 fps clip started a stopped run over).
    let selected_fps = match (cli.fps, in_fps) {
        // (A rate above the input's keeps every frame, as none does.)
        (Some(f), Some(have)) if crate::selection::same_rate(have, f) || f > have => None,
        // An input of no rate (a folder) keeps every frame: --fps only
        // times them (before: keyed, and a rerun without it started over).
        (_, None) => None,
        (f, _) => f,
    };
    let settings = settings(cli, selected_fps, &config, &stylizer, &weights_file);
    let work_existed = work_dir.exists();
    let mut work = WorkDir::open(&work_dir, &settings)?;
    if work.restarted() {
        log::warn!(
            "{} held frames of a run with other settings; starting over",
            work_dir.display()
        );
    }
    let show = !quiet && crate::progress::bars_drawn();
    // A shot's first frame runs --iterations at every scale.
    let fresh = config.image.iterations * config.image.scales.sizes(config.image.size).len();
    let plan = (
        fresh,
        if cli.independent {
            fresh
        } else {
            config.effective_frame_iterations()
        },
    );
    let mut progress = VideoProgress::new(
        show,
        console,
        total,
        plan,
        config.loop_frames > 0,
        interrupt.clone(),
    )
    .with_plain_lines(!quiet && !show)
    .with_selection(&selection);
    let start = Instant::now();
    let mut frames = Frames::new(source, &selection, &cli.input);
    let summary = match stylize_video(
        &stylizer,
        &mut frames,
        total,
        &styles,
        &config,
        &mut work,
        &mut progress,
    ) {
        Ok(summary) => summary,
        Err(e) => {
            // A run that failed before finishing a frame (a clip with no
            // frames, frames too small, a bad first frame) leaves no work
            // folder of its own behind: there is nothing to continue.
            let finished = work.finished();
            if !work_existed && finished == 0 {
                work.remove().ok();
            }
            // A clip of unknown length (through ffmpeg) that ended before
            // the --frames range began: said as such.
            let none_selected = frames.index > 0 && selection.count(frames.index) == 0;
            if let stylize::Error::Parameter { name, .. } = &e {
                if name == "input" && cli.frames.is_some() && none_selected {
                    return Err(selects_none(cli, frames.index).into());
                }
            }
            // Frames finished before the failure (a full disk) are kept:
            // said, with how to go on.
            if finished > 0 {
                return Err(format!(
                    "{}\n  the {} finished frame(s) are kept in {}: once the cause is put \
                     right, the same command continues from there",
                    crate::with_causes(&e),
                    finished,
                    work_dir.display()
                )
                .into());
            }
            return Err(e.into());
        }
    };
    progress.finish();
    if summary.stopped && summary.frames == 0 {
        // Said even with -q: the user asked for the stop.
        if !work_existed && work.finished() == 0 {
            work.remove().ok();
        }
        note!("stopped before the first frame was finished: nothing to keep");
        return Ok(Outcome::Interrupted);
    }
    if summary.stopped {
        // Said even with -q: the user asked for the stop.
        note!(
            "{}",
            format_args!(
            "stopped after {} finished frame(s); they are kept in {}: run the same command again to continue",
                summary.frames,
                work_dir.display()
            )
        );
        return Ok(Outcome::Interrupted);
    }
    let files = work.frame_files();
    let mut sink = clip_sink(cli, in_fps, out_fps, sink_options, interrupt)?;
    // Said even with -q: the user asked for the stop.
    let stopped_writing = || {
        // The sink is dropped unfinished: no partial output.
        note!(
            "stopped while writing {}: nothing written; the {} painted frame(s) are kept in {}: \
             run the same command again to write it",
            cli.output.display(),
            files.len(),
            work_dir.display()
        );
        Ok(Outcome::Interrupted)
    };
    // A write that fails (a full disk) keeps the painted frames, and says
    // so: the same command writes the clip without painting again.
    let kept = |e: &(dyn std::error::Error + 'static)| {
        format!(
            "{}\n  the {} painted frame(s) are kept in {}: once the cause is put right, the \
             same command writes the clip from them, without painting",
            crate::with_causes(e),
            files.len(),
            work_dir.display()
        )
    };
    for f in &files {
        if interrupt.requested() {
            return stopped_writing();
        }
        let frame = load_image(f).map_err(|e| kept(&e))?;
        sink.write_frame(&frame.to_rgb8()).map_err(|e| kept(&e))?;
    }
    match sink.finish() {
        Err(stylize_frames::FramesError::Stopped { .. }) => return stopped_writing(),
        r => r.map_err(|e| kept(&e))?,
    }
    if cli.report.is_some() && files.len() < 2 {
        // The clip is complete: its work folder goes, as after a finished
        // run, so that the same command does not fail here again.
        if !cli.keep_work {
            work.remove().ok();
        }
        return Err(Error::parameter(
            "report",
            format!(
                "wrote {} ({} frame); no report: the flicker is measured between frames, and \
                 the clip has one",
                cli.output.display(),
                files.len()
            ),
        )
        .into());
    }
    if let Some(report) = &cli.report {
        // A frame at a time: the input read again, the paintings from the
        // work folder.
        let measured = (|| {
            // Its streams were said when it was opened for the painting.
            let again = SourceOptions {
                tell_streams: false,
                ..source_options.clone()
            };
            let original = Frames {
                tell_short: false,
                ..Frames::new(open_source(&cli.input, &again)?, &selection, &cli.input)
            }
            .map(|f| Ok(f?.to_rgb8()));
            let stylized = files.iter().map(|f| Ok(load_image(f)?.to_rgb8()));
            let measuring = Measuring {
                total: Some(files.len()),
                show,
                console: console.clone(),
                interrupt,
            };
            let Some(mut figures) = measure_in_step(original, stylized, &measuring)? else {
                return Ok(false);
            };
            figures["warm_start"] = warm_start(&progress.costs);
            write_json(report, &figures).map(|()| true)
        })();
        if !matches!(measured, Ok(true)) {
            // The clip is written, its report is not (stopped, or it
            // failed: a full disk, the input unreadable). A folder output,
            // now full, would stop the same command again: its work folder
            // goes, and `stylize flicker` measures it, where it reads the
            // same frames (no selection); else the frames stay, and the
            // same command measures without painting.
            let selected = cli.frames.is_some() || cli.fps.is_some();
            let again = if cli.output.is_dir() && !selected {
                if !cli.keep_work {
                    work.remove().ok();
                }
                format!(
                    "`stylize flicker --original {} --stylized {}` measures it",
                    cli.input.display(),
                    cli.output.display()
                )
            } else if cli.output.is_dir() {
                format!(
                    "the frames are kept in {}: remove the folder {} and run the same command \
                     again, which writes them again and measures them without painting",
                    work_dir.display(),
                    cli.output.display()
                )
            } else {
                format!(
                    "the frames are kept in {}: the same command again writes the clip again \
                     and measures it, without painting",
                    work_dir.display()
                )
            };
            return match measured {
                // Said even with -q: the user asked for the stop.
                Ok(_) => {
                    note!(
                        "wrote {}; stopped while measuring its flicker: no report ({again})",
                        cli.output.display(),
                    );
                    Ok(Outcome::Interrupted)
                }
                Err(e) => Err(format!(
                    "wrote {}, but not the report {}: {} ({again})",
                    cli.output.display(),
                    report.display(),
                    crate::with_causes(e.as_ref())
                )
                .into()),
            };
        }
    }
    if !cli.keep_work {
        work.remove().ok();
    }
    say(format!(
        "wrote {} ({} frame{}, {} shot(s){}) in {:.1} s",
        cli.output.display(),
        summary.frames,
        if summary.frames == 1 { "" } else { "s" },
        summary.shot_starts.len(),
        if summary.resumed > 0 {
            format!(", {} from an earlier run", summary.resumed)
        } else {
            String::new()
        },
        start.elapsed().as_secs_f64()
    ));
    Ok(Outcome::Done)
}

/// How fast continuing frames get to where a shot's first frame ended:
/// for each, the number of steps after which its network cost is at or
/// below the first frame's final one (0 when it starts there; `null` if
/// never), and the frame's own iterations. A final cost is the one after
/// the last step. (Until 2026-12-06 it was the cost at the start of the
/// last step, and the count was one more.) Frames painted by an earlier
/// run (a resumed run) give only their stored final cost (`"resumed":
/// true`).
fn warm_start(costs: &[FrameCosts]) -> serde_json::Value {
    // Each frame is measured against its own shot's first frame; every
    // shot is listed, and the clip's first frame's figures are the first
    // shot's (before: the last shot's, and a frame's comparison unsaid).
    let mut shot: Option<(usize, Option<f64>)> = None;
    let mut shots = Vec::new();
    let mut frames = Vec::new();
    for f in costs {
        let c = match &f.costs {
            Costs::Stored(cost) if f.fresh => {
                shot = Some((f.index + 1, Some(*cost)));
                shots.push(json!({
                    "frame": f.index + 1,
                    "resumed": true,
                    "iterations": null,
                    "final_cost": cost,
                }));
                continue;
            }
            Costs::Stored(cost) => {
                frames.push(json!({
                    "frame": f.index + 1,
                    "shot_starts_at": shot.map(|(n, _)| n),
                    "resumed": true,
                    "iterations": null,
                    "reaches_first_frame_cost_at": null,
                    "start_cost": null,
                    "final_cost": cost,
                }));
                continue;
            }
            Costs::Steps { steps, last } => (steps, last),
        };
        let (steps, last) = c;
        // A loop's cross-faded frames are not optimised.
        if steps.is_empty() {
            continue;
        }
        // The cost after each number of steps, 0 to all of them.
        let after: Vec<f64> = steps.iter().chain(last.iter()).copied().collect();
        let last = after.last().copied();
        if f.fresh {
            shot = Some((f.index + 1, last));
            shots.push(json!({
                "frame": f.index + 1,
                "resumed": false,
                "iterations": steps.len(),
                "final_cost": last,
            }));
            continue;
        }
        let target = shot.and_then(|(_, t)| t);
        let reached = target.and_then(|t| after.iter().position(|v| *v <= t));
        frames.push(json!({
            "frame": f.index + 1,
            "shot_starts_at": shot.map(|(n, _)| n),
            "resumed": false,
            "iterations": steps.len(),
            "reaches_first_frame_cost_at": reached,
            "start_cost": steps.first(),
            "final_cost": last,
        }));
    }
    let first = shots.first();
    json!({
        "first_frame_iterations": first.map(|s| s["iterations"].clone()),
        "first_frame_final_cost": first.map(|s| s["final_cost"].clone()),
        "shots": shots,
        "frames": frames,
    })
}

/// `--frames A..B` selecting none of the `n` frames of the input.
pub(crate) fn selects_none(cli: &VideoArgs, n: usize) -> Error {
    let range = cli.frames.map_or(String::new(), |(first, last)| {
        format!("{first}..{}", last.map_or(String::new(), |l| l.to_string()))
    });
    Error::parameter(
        "frames",
        format!(
            "{range} selects none of the {n} frames of {}",
            cli.input.display()
        ),
    )
}

/// The work folder beside the output: `OUT.stylize-work`.
fn work_dir_for(output: &Path) -> PathBuf {
    let trimmed = output.components().collect::<PathBuf>();
    let mut name = trimmed.as_os_str().to_owned();
    name.push(".stylize-work");
    PathBuf::from(name)
}

/// What decides the frames: the settings, the inputs (path, size, time),
/// the first frame selected, the weights file loaded (`weights_file`,
/// however it was found), the engine and the threads painted on.
fn settings(
    cli: &VideoArgs,
    fps: Option<f64>,
    config: &VideoConfig,
    stylizer: &stylize::Stylizer,
    weights_file: &Path,
) -> String {
    let stamp = |meta: Option<std::fs::Metadata>| {
        format!(
            "{:?} {:?}",
            meta.as_ref().map(std::fs::Metadata::len),
            meta.and_then(|m| m.modified().ok())
        )
    };
    let identity = |p: &Path| {
        // The same file however it is spelled (`st.jpg`, `./st.jpg`, its
        // absolute path, a link to it).
        let canonical = std::fs::canonicalize(p);
        let p = canonical.as_deref().unwrap_or(p);
        if !p.is_dir() {
            return format!("{} {}", p.display(), stamp(std::fs::metadata(p).ok()));
        }
        // A folder of frames: rewriting the frames in place (as `ffmpeg -y
        // -i clip frames/%04d.png` does) leaves the folder's own size and
        // time alone, so every frame file's name, size and time count,
        // hashed (through symlinks), and the folder's own do not (another
        // file added to it changes them).
        let mut hash = Sha256::new();
        for file in stylize_frames::frame_files(p).unwrap_or_default() {
            hash.update(file.as_os_str().as_encoded_bytes());
            hash.update([0]);
            hash.update(stamp(std::fs::metadata(&file).ok()).as_bytes());
            hash.update([0]);
        }
        format!("{} files {:x}", p.display(), hash.finalize())
    };
    // Where the selection starts, not where it ends: the frames of `A..B`
    // and of `A..C` are the same up to the shorter's end, so a run that
    // stopped (a bad frame at N) continues with `..N-1` or a longer range;
    // frames past the new end are dropped, and each frame's digest still
    // guards what is continued.
    let first = cli.frames.map_or(1, |(a, _)| a);
    // The library's key: the memory limit left out (under `ulimit -v` it
    // moved from run to run, and a rerun started over), a start image as a
    // digest (not 22 MB of manifest for a 1600x1000 --init).
    let keyed = config.work_key();
    format!(
        "{keyed} | input {} | frames from {first} fps {:?} | styles {:?} | weights {:?} | {} | threads {:?}",
        // A clip through a pipe (`<(...)`, a FIFO) is a stream, as
        // standard input is: its name (`/dev/fd/63`) and time change from
        // one run to the next, so neither counts, and each frame's digest
        // guards what is continued. (Paintings and weights are files.)
        if is_pipe(&cli.input) {
            "a stream (a pipe or a device)".to_string()
        } else {
            identity(&cli.input)
        },
        fps,
        cli.common.style.iter().map(|p| identity(p)).collect::<Vec<_>>(),
        // The file loaded, not `--weights`: weights found through
        // STYLIZE_WEIGHTS or the cache decide the frames as much.
        identity(weights_file),
        stylizer.device_description(),
        // The threads painted on, not `--threads`: without the flag
        // (one per core, or fewer under `taskset`, `RAYON_NUM_THREADS` or
        // a memory limit) the count, and with it the frames, may differ
        // from one run to the next.
        stylizer.threads(),
    )
}

/// The progress bar over frames, with the current frame's iterations.
///
/// The bar counts iterations, not frames, so that its ETA holds when a
/// shot's first frame runs all of `--iterations` (at every scale) and the
/// others a fifth of that. Its length plans one shot over the clip; each
/// frame, as it starts, corrects it by what it will really run (a scene
/// cut's full iterations, the loop's extra pass).
struct VideoProgress {
    bar: Option<ProgressBar>,
    /// Without a terminal: when the run started, and when a plain line
    /// last said its progress (after the first frame, then every
    /// [`PLAIN_EVERY`](crate::progress::PLAIN_EVERY)).
    plain: Option<(Instant, Option<Instant>)>,
    interrupt: Interrupt,
    frame: Option<FrameInfo>,
    /// Per frame, in order: this run's and the earlier runs' it continues.
    costs: Vec<FrameCosts>,
    /// Frames to paint, when known.
    total: Option<usize>,
    /// Iterations of the clip's first frame, and of each later frame.
    plan: (u64, u64),
    /// Iterations of the frames finished.
    done: u64,
    /// Of `done`, the planned iterations of frames an earlier run
    /// finished (not this run's pace).
    resumed_work: u64,
    /// The last frame started in the clip's pass; a frame at or before it
    /// belongs to the loop's pass, which the plan does not hold.
    last_started: Option<usize>,
    /// Whether the current frame belongs to the loop's pass.
    looping: bool,
    /// Whether the plan holds the loop's pass (its repainted first frame,
    /// at the later frames' iterations) and has not met it yet.
    loop_planned: bool,
    /// The iterations the whole run will take, when the clip's length is
    /// known: the plan, corrected by each frame as it starts (the bar's
    /// length, and the plain lines' time left).
    length: Option<u64>,
    /// Whether the ETA has dropped the run's set-up (the first
    /// iteration's time, with the style targets computed in it).
    eta_reset: bool,
    /// Which input frames are painted, where `--frames` or `--fps` make
    /// a painted frame's number another than its input's (for the log's
    /// scene cuts).
    selection: Option<Selection>,
}

/// The sink of the painted clip, at `out_fps` (the input's `in_fps` when
/// `--fps` leaves it, or names it as printed): with the input's sound
/// when every frame is kept in time with it (said when `--frames` or
/// `--fps` leave it out), and stopped by Ctrl-C while it encodes (a GIF's
/// or APNG's whole clip). For both methods.
///
/// # Errors
/// As [`create_sink`].
pub(crate) fn clip_sink(
    cli: &VideoArgs,
    in_fps: Option<f64>,
    out_fps: Option<f64>,
    base: SinkOptions,
    interrupt: &Interrupt,
) -> Result<Box<dyn stylize_frames::FrameSink>, stylize_frames::FramesError> {
    // Every frame from the first kept, at the input's rate (`--fps` at
    // that rate as printed is the input's: see `run`); the sound is cut
    // where the frames end (`--frames ..B`).
    let in_time = cli.frames.is_none_or(|(first, _)| first == 1) && out_fps == in_fps;
    // A sound left out is said where there is one (the sink says, with
    // -v, the sound it copies).
    if takes_audio(&cli.output)
        && !in_time
        && stylize_frames::reads_through_ffmpeg(&cli.input)
        && cli.input.is_file()
        && stylize_frames::probe(&cli.input, &base.ffmpeg).is_ok_and(|p| p.has_audio())
    {
        log::warn!(
            "{}: its sound is not copied: with --frames from a later frame, or --fps, the \
             frames are no longer in time with it",
            cli.input.display()
        );
    }
    create_sink(
        &cli.output,
        &SinkOptions {
            fps: out_fps.map(fps_rational),
            audio_from: (in_time && cli.input.as_os_str() != "-" && cli.input.is_file())
                .then(|| cli.input.clone()),
            stop: Some(interrupt.stop_signal()),
            ..base
        },
    )
}

/// A sink's error as the command line says it: the flag, not the
/// library's setting, that lets an earlier run's frames be replaced.
fn in_cli_words(e: stylize_frames::FramesError) -> Box<dyn std::error::Error + Send + Sync> {
    match e {
        stylize_frames::FramesError::OutputFolderNotEmpty {
            path,
            only_frames: true,
        } => format!(
            "output folder {} already exists and holds an earlier run's frames: remove it, \
             choose another, or add --overwrite to replace them",
            path.display()
        )
        .into(),
        e => e.into(),
    }
}

/// The animation an output's extension makes, and the longest it shows a
/// frame: a GIF 65535 hundredths of a second, an APNG 65535 tenths (the
/// delay a 16-bit fraction), a WebP 2^24 - 1 ms.
fn longest_frame(ext: &str) -> Option<(&'static str, Duration)> {
    match ext {
        "gif" => Some(("a GIF", Duration::from_millis(655_350))),
        "apng" | "png" => Some(("an APNG", Duration::from_millis(6_553_500))),
        "webp" => Some(("a WebP", Duration::from_millis(16_777_215))),
        _ => None,
    }
}

/// The display times of the painted frames, where the input is an
/// animation whose frames are shown for really different times (`times`,
/// see [`stylize_frames::FrameSource::frame_times`]) and the output keeps
/// them: an animation, every frame of the range at the input's rate. Where
/// it cannot, said (a folder of frames has no timing to lose).
fn frame_times(
    cli: &VideoArgs,
    times: Option<&[Duration]>,
    selection: &Selection,
    (in_fps, out_fps): (Option<f64>, Option<f64>),
) -> Option<Vec<Duration>> {
    let times = times?;
    // Of the frames painted (before: of the whole input, and `--frames
    // 6..8` of frames all shown for 100 ms was warned of 100 to 500 ms);
    // none (a range past the end, said next) says nothing.
    let selected = selection.times(times);
    if selected.is_empty() {
        return None;
    }
    let (lo, hi) = selected
        .iter()
        .fold((Duration::MAX, Duration::ZERO), |(lo, hi), &t| {
            (lo.min(t), hi.max(t))
        });
    let range = format!("{} to {} ms", lo.as_millis(), hi.as_millis());
    let typical = out_fps.map_or(String::new(), |f| format!(" ({:.0} ms)", 1000.0 / f));
    let input = cli.input.display();
    let output = cli.output.display();
    // Frames all shown for one time (a GIF's over 100 s each, read slower
    // than that): not "different times"; the reading said the rate.
    let varied = lo != hi;
    let takes = takes_frame_times(&cli.output);
    let with_fps = out_fps != in_fps;
    if takes && !with_fps {
        log::info!("{output}: each frame keeps its time in {input} ({range})");
        // Each animation holds a frame's time to a longest (before: a
        // longer one was cut to it, unsaid; the GIF's said, and advice of
        // formats that cut it too).
        let ext = cli.output.extension().and_then(|e| e.to_str());
        let ext = ext.map(str::to_ascii_lowercase);
        if let Some((what, longest)) = ext.as_deref().and_then(longest_frame) {
            if hi > longest {
                let others: Vec<&str> = ["gif", "apng", "webp"]
                    .into_iter()
                    .filter(|e| Some(*e) != ext.as_deref() && !(*e == "apng" && what == "an APNG"))
                    .filter(|e| longest_frame(e).is_some_and(|(_, l)| l >= hi))
                    .collect();
                let keep = match others.first() {
                    Some(first) => format!(
                        ": {} .{} output keeps its time",
                        if *first == "apng" { "an" } else { "a" },
                        others.join(" or .")
                    ),
                    None => String::new(),
                };
                log::warn!(
                    "{input}: a frame is shown for {:.1} s; {what} shows a frame for at most \
                     {} s, so {output} shows it that long{keep}",
                    hi.as_secs_f64(),
                    longest.as_secs_f64()
                );
            }
        }
        return Some(selection.times(times));
    }
    if varied && !writes_frame_folder(&cli.output) {
        // With --fps, the rate is --fps's, and only leaving it out keeps
        // each frame's time.
        let (rate, keep) = match (with_fps, takes) {
            (false, _) => (
                format!("{output} has one rate, its typical frame's{typical}"),
                "a .gif, .apng or .webp output keeps each frame's time",
            ),
            (true, true) => (
                format!("with --fps every frame of {output} is shown for the same time{typical}"),
                "leave --fps out to keep each frame's own",
            ),
            (true, false) => (
                format!("with --fps every frame of {output} is shown for the same time{typical}"),
                "a .gif, .apng or .webp output without --fps keeps each frame's own",
            ),
        };
        log::warn!("{input}: its frames are shown for different times ({range}); {rate}: {keep}");
    }
    None
}

/// A frame's network costs (content + style + TV), for the report.
struct FrameCosts {
    index: usize,
    /// Whether it began a shot.
    fresh: bool,
    costs: Costs,
}

enum Costs {
    /// Painted by this run: the cost at the start of each step, and after
    /// the last one (once the frame is done).
    Steps { steps: Vec<f64>, last: Option<f64> },
    /// Painted by an earlier run: only its stored final cost is known.
    Stored(f64),
}

impl VideoProgress {
    /// `plan`: the iterations of the clip's first frame and of later ones.
    /// `loop_pass`: whether the loop is closed (one later frame more).
    fn new(
        show: bool,
        console: &Console,
        total: Option<usize>,
        plan: (usize, usize),
        loop_pass: bool,
        interrupt: Interrupt,
    ) -> Self {
        let plan = (plan.0 as u64, plan.1 as u64);
        let loop_planned = loop_pass && total.is_some_and(|n| n > 1);
        let length = total
            .map(|n| Self::work(plan, n).saturating_add(if loop_planned { plan.1 } else { 0 }));
        let bar = show.then(|| {
            crate::progress::bar_or_spinner(
                console,
                length.map(|l| l.max(1)),
                "{bar:30.cyan/blue} {msg} | {elapsed} | ETA {eta}",
                "{spinner} {msg} | {elapsed}",
            )
        });
        VideoProgress {
            bar,
            plain: None,
            interrupt,
            frame: None,
            costs: Vec::new(),
            total,
            plan,
            done: 0,
            resumed_work: 0,
            last_started: None,
            looping: false,
            loop_planned,
            length,
            eta_reset: false,
            selection: None,
        }
    }

    /// Names each painted frame's input number too where `selection`
    /// makes it another (`--frames 3..`, `--fps` below the input's).
    fn with_selection(mut self, selection: &Selection) -> Self {
        self.selection = Some(selection.clone());
        self
    }

    /// Plain progress lines when there is no bar (`on`: not quiet, and
    /// standard error is no terminal).
    fn with_plain_lines(mut self, on: bool) -> Self {
        self.plain = on.then(|| (Instant::now(), None));
        self
    }

    /// The planned iterations of the first `frames` frames.
    fn work((first, later): (u64, u64), frames: usize) -> u64 {
        match frames {
            0 => 0,
            n => first.saturating_add((n as u64 - 1).saturating_mul(later)),
        }
    }

    /// `frame 3/30`, or `frame 3` when the clip's length is unknown.
    fn frame_text(&self, index: usize) -> String {
        match self.total {
            _ if self.looping => format!("closing the loop: frame {}", index + 1),
            Some(n) => format!("frame {}/{n}", index + 1),
            None => format!("frame {}", index + 1),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl VideoObserver for VideoProgress {
    /// Ctrl-C during a frame's set-up stops it there.
    fn stop_signal(&self) -> Option<stylize::StopSignal> {
        Some(self.interrupt.stop_signal())
    }

    fn resumed(&mut self, frames: usize) {
        log::warn!("continuing after {frames} frame(s) finished by an earlier run");
        // A frame after these one more time is the loop's pass (before: a
        // resumed run called the loop's frames "frame 2/8").
        if let Some(last) = frames.checked_sub(1) {
            self.last_started = self.last_started.max(Some(last));
        }
        self.done = Self::work(self.plan, frames);
        // This run's pace is of its own frames.
        self.resumed_work = self.done;
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
            // The jump is not this run's speed.
            bar.reset_eta();
        }
    }

    fn frame_started(&mut self, info: &FrameInfo) {
        if info.fresh && info.consistent.is_some() {
            let input = self
                .selection
                .as_ref()
                .and_then(|s| s.input_number(info.index))
                .map_or(String::new(), |n| format!(" (input frame {n})"));
            log::info!(
                "frame {}{input}: scene cut ({:.0}% consistent), starting fresh",
                info.index + 1,
                100.0 * info.consistent.unwrap_or(0.0)
            );
        }
        self.looping = self.last_started.is_some_and(|last| info.index <= last);
        // What the plan holds for this frame: the loop's pass once (the
        // flag is taken by the first of its frames), else a frame of the
        // clip within its known length.
        let planned = match self.total {
            _ if self.looping && std::mem::take(&mut self.loop_planned) => self.plan.1,
            _ if self.looping => 0,
            Some(n) if info.index < n && info.index == 0 => self.plan.0,
            Some(n) if info.index < n => self.plan.1,
            _ => 0,
        };
        // The plan corrected by what this frame will run.
        if let Some(length) = &mut self.length {
            *length = (*length + info.iterations as u64).saturating_sub(planned);
        }
        if let Some(bar) = &self.bar {
            if let Some(length) = self.length {
                bar.set_length(length.max(1));
            }
            bar.set_message(self.frame_text(info.index));
        }
        if self.last_started.is_none_or(|last| info.index > last) {
            self.last_started = Some(info.index);
        }
        self.frame = Some(info.clone());
        self.costs.push(FrameCosts {
            index: info.index,
            fresh: info.fresh,
            costs: Costs::Steps {
                steps: Vec::new(),
                last: None,
            },
        });
    }

    fn frame_resumed(&mut self, frame: &ResumedFrame) {
        self.costs.push(FrameCosts {
            index: frame.index,
            fresh: frame.fresh,
            costs: Costs::Stored(frame.cost),
        });
    }

    fn iteration(&mut self, frame: usize, it: &Iteration<'_>) -> ControlFlow<()> {
        if let Some(FrameCosts {
            costs: Costs::Steps { steps, .. },
            ..
        }) = self.costs.last_mut()
        {
            steps.push(it.total - it.extra);
        }
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{} it {}/{} | total {:.3e} temporal {:.2e}",
                self.frame_text(frame),
                it.iteration,
                it.iterations,
                it.total,
                it.extra
            ));
            bar.set_position(self.done + it.iteration.min(it.iterations) as u64);
            if !self.eta_reset {
                self.eta_reset = true;
                bar.reset_eta();
            }
        }
        if self.interrupt.requested() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn frame_done(&mut self, result: &FrameResult) -> ControlFlow<()> {
        // What the frame was to run (the bar's length counts that), even
        // if it stopped sooner.
        if let Some(FrameCosts {
            costs: Costs::Steps { last, .. },
            index,
            ..
        }) = self.costs.last_mut()
        {
            if *index == result.index {
                let c = &result.final_costs;
                *last = Some(c.content + c.style + c.tv);
            }
        }
        let ran = self.frame.as_ref().map_or(0, |f| f.iterations as u64);
        self.done = self.done.saturating_add(ran);
        // The loop's frames after its first are cross-faded, not
        // optimised: no iterations, no cost (before: "cost 0.0000e0").
        let what = if result.iterations == 0 {
            "cross-faded into the loop".to_string()
        } else {
            format!(
                "{} iterations, cost {:.4e}",
                result.iterations, result.final_costs.total
            )
        };
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
        } else {
            log::info!("frame {} done: {what}", result.index + 1);
        }
        let text = self.frame_text(result.index);
        if let Some((start, last)) = &mut self.plain {
            let now = Instant::now();
            if last.is_none_or(|t| now.duration_since(t) >= crate::progress::PLAIN_EVERY) {
                *last = Some(now);
                let elapsed = now.duration_since(*start).as_secs_f64();
                let left = self
                    .length
                    .filter(|_| self.done > self.resumed_work)
                    .map(|p| crate::progress::time_left(p, self.done, self.resumed_work, elapsed))
                    .map_or(String::new(), |s| {
                        format!(" | about {} left", crate::progress::human_duration(s))
                    });
                note!(
                    "{text} done: {what} | {} elapsed{left}",
                    crate::progress::human_duration(elapsed)
                );
            }
        }
        if self.interrupt.requested() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// Whether `path` is a pipe (`<(...)`, a FIFO) or a device: neither a
/// file nor a folder, read once as a stream.
fn is_pipe(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_folder_sits_beside_the_output() {
        assert_eq!(
            work_dir_for(Path::new("out/clip.gif")),
            PathBuf::from("out/clip.gif.stylize-work")
        );
        assert_eq!(
            work_dir_for(Path::new("frames/")),
            PathBuf::from("frames.stylize-work")
        );
    }

    /// The first frame's mark is its cost after its last step; a later
    /// frame reaches it after the steps counted (0 when it starts there,
    /// its last step counting), or never.
    #[test]
    fn the_warm_start_counts_steps_to_the_first_frames_final_cost() {
        let steps = |index, fresh, steps: &[f64], last| FrameCosts {
            index,
            fresh,
            costs: Costs::Steps {
                steps: steps.to_vec(),
                last: Some(last),
            },
        };
        let report = warm_start(&[
            steps(0, true, &[10.0, 8.0, 6.0], 5.0),
            steps(1, false, &[7.0, 5.5, 5.2], 4.9),
            steps(2, false, &[5.0, 4.0, 3.0], 2.0),
            steps(3, false, &[9.0, 8.0, 7.0], 6.0),
            steps(4, false, &[9.0, 5.0, 4.0], 3.0),
        ]);
        assert_eq!(report["first_frame_final_cost"], 5.0);
        assert_eq!(report["first_frame_iterations"], 3);
        let at: Vec<_> = report["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["reaches_first_frame_cost_at"].clone())
            .collect();
        assert_eq!(at, [json!(3), json!(0), json!(null), json!(1)]);
        assert_eq!(report["frames"][0]["final_cost"], 4.9);
        assert_eq!(report["frames"][0]["start_cost"], 7.0);
    }

    /// Each frame is compared with its own shot's first frame, every shot
    /// is listed, and the clip's first frame is the first shot's (before:
    /// the last shot's, with the earlier frames measured against another).
    #[test]
    fn warm_start_compares_each_frame_with_its_own_shot() {
        let steps = |v: &[f64]| Costs::Steps {
            steps: v[..v.len() - 1].to_vec(),
            last: v.last().copied(),
        };
        let frame = |index, fresh, costs| FrameCosts {
            index,
            fresh,
            costs,
        };
        let costs = [
            frame(0, true, steps(&[90.0, 50.0, 30.0])),
            frame(1, false, steps(&[40.0, 29.0])),
            frame(2, true, steps(&[900.0, 500.0, 400.0])),
            frame(3, false, steps(&[450.0, 420.0])),
        ];
        let r = warm_start(&costs);
        assert_eq!(r["first_frame_final_cost"], 30.0);
        assert_eq!(r["first_frame_iterations"], 2);
        let shots = r["shots"].as_array().unwrap();
        assert_eq!(
            (shots[0]["frame"].clone(), shots[1]["frame"].clone()),
            (1.into(), 3.into())
        );
        let frames = r["frames"].as_array().unwrap();
        assert_eq!(frames[0]["shot_starts_at"], 1);
        assert_eq!(frames[0]["reaches_first_frame_cost_at"], 1);
        assert_eq!(frames[1]["shot_starts_at"], 3);
        assert_eq!(
            frames[1]["reaches_first_frame_cost_at"],
            serde_json::Value::Null
        );
    }
}
