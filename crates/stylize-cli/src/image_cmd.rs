//! The `image` job: one photo in the style of one or more paintings.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use stylize::{
    check_output_size, load_image, output_format, save_image_with, Error, Preset, Scales,
};

use crate::args::ImageArgs;
use crate::console::Console;
use crate::interrupt::Interrupt;
use crate::output_check::{
    check_not_a_program_file, check_not_a_snapshot, check_not_an_input, check_output_dir,
    check_output_file, check_side_file, check_snapshots, refuse_standard_output,
};
use crate::progress::CliObserver;
use crate::setup::{
    build_config, file_name, init_file, is_fast_init, load_styles_that_fit, load_stylizer,
};
use crate::{JobResult, Outcome};

/// Where a stopped run's image goes when `output` already holds a file:
/// `STEM-stopped.EXT` beside it, or `STEM-stopped-2.EXT` and on where
/// that is taken or is one of the run's own side files (`side`: the plot,
/// the loss log), so that no file is replaced. A stem too long for the
/// suffix is cut to fit the 255 bytes a file name may have (before: a
/// second run onto a 250-byte name was refused).
fn stopped_beside(output: &Path, side: &[Option<&Path>]) -> PathBuf {
    let stem = output.file_stem().unwrap_or_default();
    let ext = output.extension();
    // However spelt: `sub/../OUT-stopped.png`, a link to it, `OUT-STOPPED.PNG`.
    let is_side = |p: &Path| {
        side.iter()
            .flatten()
            .any(|s| crate::output_check::one_written_file(s, p))
    };
    (1u32..)
        .map(|k| {
            let suffix = if k > 1 {
                format!("-stopped-{k}")
            } else {
                "-stopped".to_string()
            };
            let room = NAME_MAX.saturating_sub(suffix.len() + ext.map_or(0, |e| e.len() + 1));
            // As bytes, not text: a name that is not UTF-8 keeps its bytes.
            let mut name = cut_to(stem, room);
            name.push(suffix);
            if let Some(ext) = ext {
                name.push(".");
                name.push(ext);
            }
            output.with_file_name(name)
        })
        .find(|p| p.symlink_metadata().is_err() && !is_side(p))
        .unwrap_or_else(|| output.to_path_buf())
}

/// Refuses a `--dump` folder that is not a folder, or that is, or would
/// write into, one of the run's other files (`named`: what each is, and
/// its name), before any work.
fn check_dump_folder<'a>(
    dir: &Path,
    styles: usize,
    named: impl Iterator<Item = (&'static str, &'a Path)> + Clone,
) -> Result<(), Error> {
    let refuse = |msg: String| Err(Error::parameter("dump", msg));
    // A folder: `-` would be made as one (before: it was).
    if dir.as_os_str() == "-" {
        return refuse("-: a dump is a folder of files, not standard output: name a folder".into());
    }
    if dir.metadata().is_ok_and(|m| !m.is_dir()) {
        return refuse(format!("{}: a file is there; name a folder", dir.display()));
    }
    for (what, file) in named.clone() {
        if crate::output_check::one_written_file(dir, file) {
            return refuse(format!(
                "{} is also {what}; the dump is a folder of its own: name another",
                dir.display()
            ));
        }
    }
    for name in stylize::dump::file_names(styles) {
        let written = dir.join(&name);
        for (what, file) in named.clone() {
            if crate::output_check::one_written_file(&written, file) {
                return refuse(format!(
                    "{} would write {name}, which is {what} ({}): name another folder",
                    dir.display(),
                    file.display()
                ));
            }
        }
    }
    Ok(())
}

/// The longest file name most file systems take, in bytes.
const NAME_MAX: usize = 255;

/// `stem` cut to at most `room` bytes, at a character's boundary where it
/// is text.
fn cut_to(stem: &std::ffi::OsStr, room: usize) -> std::ffi::OsString {
    if stem.len() <= room {
        return stem.to_os_string();
    }
    if let Some(text) = stem.to_str() {
        let end = (0..=room)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        return text[..end].into();
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::OsStr::from_bytes(&stem.as_bytes()[..room]).to_os_string()
    }
    #[cfg(not(unix))]
    {
        stem.to_os_string()
    }
}

/// Runs the job: everything a user can get wrong is checked before the
/// long part; the output (and the log and plot) appear only when complete.
///
/// # Errors
/// Any [`Error`], for `main` to print.
pub fn run(cli: &ImageArgs, quiet: bool, interrupt: &Interrupt, console: &Console) -> JobResult {
    let say = |msg: String| {
        if !quiet {
            note!("{msg}");
        }
    };
    // Everything a user can get wrong is checked before the long part.
    crate::setup::refuse_style_folder(&cli.common.style)?;
    refuse_standard_output(&cli.output)?;
    // A folder is said as such before its (missing) extension.
    check_output_file(&cli.output)?;
    output_format(&cli.output)?;
    let init_file = init_file(&cli.common);
    let inputs = || {
        std::iter::once(cli.content.as_path())
            .chain(cli.common.style.iter().map(PathBuf::as_path))
            .chain(init_file)
            .chain(cli.mask.as_deref())
    };
    check_not_an_input(&cli.output, inputs(), cli.overwrite)?;
    // Nor the weights (an output that is a link to them, say).
    check_not_a_program_file("output", &cli.output, &cli.common)?;
    if let Some(every) = cli.save_every {
        check_snapshots(
            &cli.output,
            every as usize,
            inputs(),
            cli.overwrite,
            &cli.common,
            false,
        )?;
    }
    for (flag, file) in [("loss-log", &cli.loss_log), ("plot", &cli.plot)] {
        // A `-` log goes to standard output (a `-` plot is refused below).
        if let Some(file) = file.as_ref().filter(|f| f.as_os_str() != "-") {
            check_side_file(flag, file, &cli.output, inputs())?;
            check_not_a_program_file(flag, file, &cli.common)?;
            // Said as the flag's: the output's own check reads the same.
            check_output_file(file).map_err(|e| Error::parameter(flag, e.to_string()))?;
        }
    }
    if let (Some(log), Some(plot)) = (&cli.loss_log, &cli.plot) {
        if crate::output_check::one_written_file(log, plot) {
            return Err(Error::parameter(
                "plot",
                format!(
                    "{} is also the loss log; choose another file",
                    plot.display()
                ),
            )
            .into());
        }
    }
    if let Some(plot) = &cli.plot {
        let ext = plot.extension().map(|e| e.to_ascii_lowercase());
        if ext.as_deref() != Some("png".as_ref()) {
            return Err(Error::parameter(
                "plot",
                format!("{}: the plot is a PNG; name it *.png", plot.display()),
            )
            .into());
        }
    }
    crate::setup::check_input("content", &cli.content)?;
    // The photo, the mask and an --init image are each refused before
    // they are decoded when that alone would not fit (the whole run's
    // estimate comes once the network is known).
    let mut config = build_config(
        &cli.common,
        Preset::Seed,
        None,
        crate::setup::Workers::of_run(&cli.common),
    )?;
    // The run's last iteration, at most (automatic scales may skip coarse
    // ones): the snapshots it can write.
    let last = config
        .iterations
        .saturating_mul(config.scales.sizes(config.size).len());
    if let Some(every) = cli.save_every {
        for (flag, file) in [("loss-log", &cli.loss_log), ("plot", &cli.plot)] {
            if let Some(file) = file.as_ref().filter(|f| f.as_os_str() != "-") {
                check_not_a_snapshot(flag, file, &cli.output, every as usize, last)?;
            }
        }
    }
    let limit = config.max_memory;
    crate::setup::check_decoded("content", &cli.content, limit)?;
    crate::setup::check_photo(&cli.content, limit, &config)?;
    let content = load_image(&cli.content)?;
    check_output_size(&cli.output, (content.width(), content.height()))?;
    let mask = cli
        .mask
        .as_deref()
        .map(|m| {
            let photo = (content.width(), content.height());
            crate::setup::load_mask(m, photo, "the photo", limit, say)
        })
        .transpose()?;
    // Said before the run, not only when the result is saved. (Painted
    // as it shows, on white: a photo transparent everywhere gives a white
    // JPEG, any other output a transparent one.)
    if let Some(w) = crate::setup::transparency_warning(&cli.content, &content, &cli.output) {
        say(format!("warning: {w}"));
    }
    let fast_init = cli.common.init.as_deref().is_some_and(is_fast_init);
    let mut inert = crate::setup::inert_flags(&cli.common, &config, fast_init);
    inert.extend(crate::setup::save_every_inert(cli.save_every, &config));
    if cli.recursive {
        inert.push("--recursive (--content is one photo, not a folder)".to_string());
    }
    let (save_options, quality_inert) =
        crate::setup::save_options(cli.jpeg_quality, [cli.output.as_path()]);
    inert.extend(quality_inert);
    if !inert.is_empty() {
        say(format!("warning: this run ignores {}", inert.join("; ")));
    }
    if let Some(warning) = crate::setup::start_warning(&config) {
        say(warning);
    }
    if let (stylize::Init::Image(start), Some(file)) = (&config.init, init_file) {
        // Stretched to the photo's shape: said when the shapes differ.
        if let Some(warning) = crate::setup::stretch_warning(
            "init",
            file,
            (start.width(), start.height()),
            "the photo",
            (content.width(), content.height()),
        ) {
            say(warning);
        }
    }
    if cli.dump.is_some() && config.scales != Scales::Fixed(1) {
        return Err(
            Error::parameter("dump", "--dump records a single-scale run; drop --scales").into(),
        );
    }
    // Where the dump goes, `..` after a folder not made yet taken as the
    // making will (`new/../dd` is `dd`: before, not seen as the loss
    // log's folder, and `new` made on the way).
    let dump = cli.dump.as_deref().map(|d| {
        if d.as_os_str() == "-" {
            d.to_path_buf()
        } else {
            crate::output_check::resolved_beyond(d)
        }
    });
    if let Some(dir) = &dump {
        let outputs = [
            ("the output", Some(cli.output.as_path())),
            ("the plot", cli.plot.as_deref()),
            ("the loss log", cli.loss_log.as_deref()),
        ];
        let named = outputs
            .into_iter()
            .filter_map(|(what, file)| Some((what, file?)))
            .chain(inputs().map(|file| ("an input", file)));
        check_dump_folder(dir, cli.common.style.len(), named)?;
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    config.validate()?;
    if let Some(every) = cli.save_every {
        // The snapshots' names are the output's and 5 bytes or more, the
        // last the longest: one the file system cannot hold is found out
        // now (before: counted as if at 16 scales, and a 700-iteration
        // run's name refused for its 11200th).
        let last = last.max(every as usize);
        check_output_dir(&crate::progress::snapshot_path(&cli.output, last))?;
    }
    let side_files = [cli.plot.as_deref(), cli.loss_log.as_deref()];
    if cli.output.metadata().is_ok_and(|m| m.is_file()) {
        // Where Ctrl-C would write: a name the file system cannot hold is
        // found out now, not with the image so far in hand.
        check_output_dir(&stopped_beside(&cli.output, &side_files))?;
    }
    // The paintings' headers, and the networks of `--init fast`, before
    // the weights (which a first run downloads): a mistyped painting or
    // missing models are said at once.
    crate::setup::painting_sizes(&cli.common)?;
    let fast = std::cell::OnceCell::new();
    crate::fast_cmd::load_for_init(&cli.common, &fast)?;
    let (stylizer, weights) = load_stylizer(&cli.common, &config, quiet, interrupt, console)?;
    let loaded = std::cell::OnceCell::new();
    let styles = styles_and_start(
        &cli.common,
        &stylizer,
        &content,
        &mut config,
        &fast,
        &loaded,
    )?;
    if let Some(spec) = cli.common.init.as_deref().filter(|i| is_fast_init(i)) {
        say(format!(
            "starting from the feed-forward network's painting ({spec})"
        ));
    }
    let (pw, ph) = (content.width(), content.height());
    let (ww, wh) = stylize::working_size(pw, ph, config.size);
    say(format!(
        "optimizer {} (step {}), {} iteration(s) per scale, painting at {ww}x{wh} px",
        config.optimizer,
        config.effective_learning_rate(),
        config.iterations
    ));
    if let Some(note) = crate::setup::enlargement_note((pw, ph), config.size, "the photo's") {
        say(note);
    }
    let estimate = stylizer.estimate_memory(&content, styles, &config)?;
    log::info!(
        "estimated peak memory {} (limit {})",
        stylize::memory::human(estimate),
        config
            .max_memory
            .map_or_else(|| "none".to_string(), stylize::memory::human)
    );
    if let Some(dir) = &dump {
        let problem = stylizer.problem(&content, styles, &config)?;
        stylize::dump::write_start(dir, &problem, &config, &weights)?;
    }
    // The engine keeps its own copy of the kernels: the file's copy (about
    // 60 MB for VGG16) is not held through the run.
    drop(weights);
    let title = format!(
        "{} in the style of {}",
        file_name(&cli.content),
        cli.common
            .style
            .iter()
            .map(|p| file_name(p))
            .collect::<Vec<_>>()
            .join(" + ")
    );
    let show_bars = !quiet && crate::progress::bars_drawn();
    let mut observer = CliObserver::new(
        show_bars,
        console,
        cli.loss_log.as_deref(),
        cli.save_every.map(|n| (n as usize, cli.output.clone())),
        save_options,
    )?
    .with_plot(cli.plot.as_deref(), title)
    .with_unreached_snapshots_said(config.scales == Scales::Auto)
    .with_plain_lines(!quiet && !show_bars)
    .with_interrupt(interrupt.clone());
    // A painting already at the output (an earlier run's, a file: not a
    // device or a pipe) is not replaced by an unfinished one: the image so
    // far of a stopped run goes beside it.
    let output_existed = cli.output.metadata().is_ok_and(|m| m.is_file());
    let start = Instant::now();
    let mut result = match stylizer.stylize(&content, styles, &config, &mut observer) {
        Ok(result) => result,
        // Ctrl-C before the first iteration: nothing painted to keep.
        Err(stylize::Error::Stopped) => {
            observer.abandon();
            note!(
                "interrupted during the set-up: nothing painted yet, nothing written{}",
                if output_existed {
                    format!(" ({} is left as it was)", cli.output.display())
                } else {
                    String::new()
                }
            );
            return Ok(Outcome::Interrupted);
        }
        Err(e) => return Err(e.into()),
    };
    // The photo kept where the mask says (the image so far too).
    if let Some(mask) = &mask {
        result.image = mask.apply(&result.image, &content)?;
    }
    // The painting first: a plot, log or snapshot that fails to write
    // then costs only itself, and the message says the painting is there.
    let interrupted = result.stopped && interrupt.requested();
    let target = if interrupted && output_existed {
        stopped_beside(&cli.output, &side_files)
    } else {
        cli.output.clone()
    };
    // With it, the earlier run's log and plot stay too (before: replaced
    // by the stopped run's, the kept painting's record lost).
    let moved = if target == cli.output {
        Vec::new()
    } else {
        // Each name chosen is taken for the next (long names cut alike
        // gave the log and the plot one name, the plot written over it).
        let mut taken: Vec<PathBuf> = [Some(&target), cli.plot.as_ref(), cli.loss_log.as_ref()]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        observer.beside_earlier(|p| {
            let sides: Vec<Option<&Path>> = taken.iter().map(|t| Some(t.as_path())).collect();
            let at = stopped_beside(p, &sides);
            taken.push(at.clone());
            at
        })
    };
    // (A JPEG's lost transparency was said before the run.)
    result.image = crate::progress::flattened_for(&target, result.image);
    // Beside the output, a file that came meanwhile is not replaced.
    let saved = save_image_with(
        &result.image,
        &target,
        &save_options.keeping_existing(target != cli.output),
    );
    // The log and the plot are written even when the painting cannot be.
    let side_outputs = observer.finish();
    if let Err(e) = saved {
        if let Err(side) = side_outputs {
            note!("warning: {side}");
        }
        // Not lost with the error: kept elsewhere, and said where.
        return Err(crate::rescue::rescued(&e, &result.image, &target).into());
    }
    if let Some(dir) = &dump {
        stylize::dump::write_final(dir, &result)?;
    }
    let costs = result.final_costs;
    let (c, s, t) = (costs.content, costs.style, costs.total);
    // The costs are the painting's; the file keeps the photo where the
    // mask is black, and costs more (before: given as the file's).
    let of = if mask.is_some() {
        " (the painting's, before the mask kept the photo)"
    } else {
        ""
    };
    if interrupted {
        let kept = if target == cli.output {
            String::new()
        } else {
            let also: Vec<String> = moved.iter().map(|p| p.display().to_string()).collect();
            let also = if also.is_empty() {
                String::new()
            } else {
                format!(
                    "; its costs to {} (beside the earlier run's)",
                    also.join(", ")
                )
            };
            format!("{also}; {} is left as it was", cli.output.display())
        };
        // Said even when quiet: it explains the exit status (130), and
        // where the image so far went (beside an existing output).
        note!(
            "interrupted after iteration {}: wrote the image so far to {} ({}x{}); its cost {t:.4e}{of}{kept}",
            result.iterations,
            target.display(),
            result.image.width(),
            result.image.height(),
        );
        if let Err(e) = side_outputs {
            note!("error: not all of what was asked beside it was written: {e}");
        }
        return Ok(Outcome::Interrupted);
    }
    if let Err(e) = side_outputs {
        note!(
            "wrote {} ({}x{}) after {} iterations; but not all of what was asked beside it:",
            cli.output.display(),
            result.image.width(),
            result.image.height(),
            result.iterations,
        );
        return Err(e.into());
    }
    say(format!(
        "wrote {} ({}x{}) after {} iterations ({} evaluations) in {:.1} s; final cost {t:.4e} (content {c:.4e}, style {s:.4e}){of}",
        cli.output.display(),
        result.image.width(),
        result.image.height(),
        result.iterations,
        result.evaluations,
        start.elapsed().as_secs_f64()
    ));
    std::io::stderr().flush().ok();
    Ok(Outcome::Done)
}

/// The run's paintings for a photo `content`, decoded once the run is
/// found to fit in memory, and with `--init fast` the network's painting
/// of the photo set as `config`'s start (the networks loaded into `fast`
/// the first time).
///
/// # Errors
/// As [`load_styles_that_fit`], and the network's for `--init fast`. The
/// paintings are decoded into `styles` the first time, and taken from it
/// after: a folder run paints every photo with the paintings as they were
/// when its first photo was painted, not with a file replaced (or still
/// being copied) part-way through.
pub fn styles_and_start<'a>(
    common: &crate::args::CommonArgs,
    stylizer: &stylize::Stylizer,
    content: &image::DynamicImage,
    config: &mut stylize::StyleConfig,
    fast: &std::cell::OnceCell<stylize_feedforward::FastStylizer>,
    styles: &'a std::cell::OnceCell<Vec<image::DynamicImage>>,
) -> Result<&'a [image::DynamicImage], Box<dyn std::error::Error + Send + Sync>> {
    let photo = (content.width(), content.height());
    let styles = match styles.get() {
        Some(loaded) => {
            let sizes: Vec<(u32, u32)> = loaded.iter().map(|s| (s.width(), s.height())).collect();
            stylizer.check_memory(photo, &sizes, config)?;
            loaded
        }
        None => {
            let loaded = load_styles_that_fit(common, stylizer, photo, config)?;
            styles.get_or_init(|| loaded)
        }
    };
    if let Some(spec) = common.init.as_deref().filter(|i| is_fast_init(i)) {
        config.init = crate::fast_cmd::initial_image(spec, content, styles, config, common, fast)?;
    }
    Ok(styles)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name beside a long one fits in 255 bytes, cut at a character.
    #[test]
    fn the_stopped_name_fits_in_255_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let long = format!("{}éb.png", "a".repeat(242));
        let beside = stopped_beside(&dir.path().join(&long), &[]);
        let name = beside.file_name().unwrap().to_str().unwrap();
        assert!(name.len() <= 255, "{}", name.len());
        assert_eq!(name, format!("{}-stopped.png", "a".repeat(242)));
        let short = stopped_beside(&dir.path().join("out.png"), &[]);
        assert_eq!(short, dir.path().join("out-stopped.png"));
        // The run's own plot is not where the image so far goes.
        let plot = dir.path().join("out-stopped.png");
        let beside = stopped_beside(&dir.path().join("out.png"), &[None, Some(&plot)]);
        assert_eq!(beside, dir.path().join("out-stopped-2.png"));
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let mut odd = vec![0xffu8; 251];
            odd.extend_from_slice(b".png");
            let odd = std::ffi::OsStr::from_bytes(&odd);
            let beside = stopped_beside(&dir.path().join(odd), &[]);
            let name = beside.file_name().unwrap().as_bytes();
            assert_eq!(name.len(), 255);
            assert!(name.ends_with(b"-stopped.png"));
        }
    }
}
