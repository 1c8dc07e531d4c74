//! The `image` job over a folder of photos: each one painted by the
//! optimiser in turn, with the weights and the settings loaded once, into
//! an output folder; a run that was stopped continues where it stopped.

use std::path::{Path, PathBuf};
use std::time::Instant;

use stylize::{check_output_size, load_image, save_image_with, Error, Preset, SaveOptions};

use crate::args::ImageArgs;
use crate::console::Console;
use crate::interrupt::Interrupt;
use crate::output_check::{check_snapshots, refuse_standard_output};
use crate::photo_folder::PhotoFolder;
use crate::progress::CliObserver;
use crate::setup::{build_config, init_file, is_fast_init, load_stylizer};
use crate::{JobResult, Outcome};

/// Runs the job on the folder `cli.content`. Everything that concerns
/// the whole run is checked before the weights load; a photo that cannot
/// be painted (unreadable, too large for the memory) is reported and the
/// others are painted. Photos whose output is already there are skipped,
/// so the same command run again continues an interrupted run; each
/// output appears only when its photo is finished.
///
/// # Errors
/// Any [`Error`] of the run's checks or of loading the weights; at the
/// end, how many photos failed.
pub fn run(cli: &ImageArgs, quiet: bool, interrupt: &Interrupt, console: &Console) -> JobResult {
    let say = |msg: String| {
        if !quiet {
            note!("{msg}");
        }
    };
    crate::setup::refuse_style_folder(&cli.common.style)?;
    // What records one run: each photo's would need a name of its own.
    let single: [(&'static str, &str, bool); 5] = [
        ("mask", "a mask is", cli.mask.is_some()),
        ("loss-log", "a cost log is", cli.loss_log.is_some()),
        ("plot", "a cost plot is", cli.plot.is_some()),
        ("dump", "a run's record is", cli.dump.is_some()),
        ("init", "a start image is", init_file(&cli.common).is_some()),
    ];
    if let Some((flag, what, _)) = single.iter().find(|(_, _, given)| *given) {
        return Err(crate::setup::one_photo_only(flag, what, &cli.content).into());
    }
    refuse_standard_output(&cli.output)?;
    let same = stylize_frames::same_file(&cli.content, &cli.output);
    if same {
        return Err(Error::parameter(
            "output",
            format!(
                "{} is also the input folder: the paintings go into another folder (a run \
                 stopped half-way could not tell the photos painted from those not yet)",
                cli.output.display()
            ),
        )
        .into());
    }
    let mut photos =
        // A painting already there is skipped, never replaced, so an
        // output that is an input (a painting named like a photo) is too:
        // nothing of the user's can be written over.
        PhotoFolder::list(&cli.content, &cli.output, &cli.common.style, true, cli.recursive)?;
    // A photo whose painting is there was done by an earlier run.
    let (done, todo): (Vec<_>, Vec<_>) = photos
        .jobs
        .iter()
        .cloned()
        .partition(|(_, output)| output.exists());
    // A painting goes where its folder's links lead: only inside the
    // output folder (every output: one reached through a link may be the
    // photo itself, which would pass for its painting), and not through a
    // link under its own name that leads nowhere yet.
    let through_links = photos
        .check_outputs_stay_inside(&photos.jobs)
        .and_then(|()| crate::photo_folder::check_no_output_is_a_link(&todo));
    let no_links = through_links.is_ok();
    if !cli.overwrite {
        through_links?;
    }
    // The snapshots of the photos still to paint (a finished photo's stay
    // as they are: a run continued after a stop is not refused for them).
    if let Some(every) = cli.save_every {
        let strangers = photos.folders_nested(&cli.content);
        for (input, output) in &todo {
            let inputs = std::iter::once(input.as_path())
                .chain(cli.common.style.iter().map(PathBuf::as_path));
            check_snapshots(
                output,
                every as usize,
                inputs,
                cli.overwrite,
                &cli.common,
                strangers,
            )?;
        }
    }
    if !done.is_empty() {
        say(format!(
            "{} of {} photos already have a painting in {}: skipping them (delete a painting \
             to paint its photo again)",
            done.len(),
            photos.jobs.len(),
            cli.output.display()
        ));
    }
    if todo.is_empty() {
        // What a run killed while writing a painting left beside it goes
        // (as it would with the next painting written there).
        let folders: std::collections::BTreeSet<&Path> =
            done.iter().filter_map(|(_, o)| o.parent()).collect();
        for folder in folders {
            stylize::sweep_output_temporaries(folder);
        }
        say(format!(
            "nothing to do: every photo of {} is painted in {}",
            cli.content.display(),
            cli.output.display()
        ));
        return Ok(Outcome::Done);
    }
    let config = build_config(
        &cli.common,
        Preset::Seed,
        None,
        crate::setup::Workers::of_run(&cli.common),
    )?;
    if let Some(every) = cli.save_every {
        // Snapshots are numbered on through the scales.
        let last = config.iterations * config.scales.sizes(config.size).len();
        crate::output_check::check_snapshots_apart(&todo, &photos.jobs, every as usize, last)?;
    }
    let fast_init = cli.common.init.as_deref().is_some_and(is_fast_init);
    let mut inert = crate::setup::inert_flags(&cli.common, &config, fast_init);
    inert.extend(crate::setup::save_every_inert(cli.save_every, &config));
    let (save, quality_inert) =
        crate::setup::save_options(cli.jpeg_quality, todo.iter().map(|(_, o)| o.as_path()));
    inert.extend(quality_inert);
    // (With --save-every it lets a snapshot replace a file of its name,
    // and it lets a painting go through a link the checks above refuse.)
    if cli.overwrite && cli.save_every.is_none() && no_links {
        inert.push(
            "--overwrite (a painting already in the output folder is skipped, never replaced)"
                .to_string(),
        );
    }
    if !inert.is_empty() {
        say(format!("warning: this run ignores {}", inert.join("; ")));
    }
    if let Some(warning) = crate::setup::start_warning(&config) {
        say(warning);
    }
    config.validate()?;
    // The paintings' headers, before the weights: a mistyped or
    // unreadable painting is the run's error, not each photo's.
    crate::setup::painting_sizes(&cli.common)?;
    let fast = std::cell::OnceCell::new();
    crate::fast_cmd::load_for_init(&cli.common, &fast)?;
    let (stylizer, weights) = load_stylizer(&cli.common, &config, quiet, interrupt, console)?;
    drop(weights);
    say(format!(
        "optimizer {} (step {}), {} iteration(s) per scale, each photo painted at {} px on its \
         longer side",
        config.optimizer,
        config.effective_learning_rate(),
        config.iterations,
        config.size
    ));
    // Made only now, once the weights have loaded; removed again if no
    // photo could be painted into it.
    photos.make_output(interrupt)?;
    let run = PhotoRun {
        cli,
        stylizer: &stylizer,
        config: &config,
        save,
        quiet,
        interrupt,
        console,
        fast,
        styles: std::cell::OnceCell::new(),
    };
    let start = Instant::now();
    let mut failed = 0usize;
    let mut painted = 0usize;
    // Skipped as painted by another run meanwhile: no time of this run's.
    let mut skipped = 0usize;
    for (i, (input, output)) in todo.iter().enumerate() {
        // Ctrl-C as a photo ends: the next one is not begun.
        if interrupt.requested() {
            note!(
                "interrupted: {painted} painted in this run; the same command continues with \
                 {}",
                input.display()
            );
            return Ok(Outcome::Interrupted);
        }
        // Painted by another run into the same folder since this one
        // listed what was done: skipped, as at the start.
        if output.exists() {
            say(format!(
                "{} is there now (another run painted it?): skipping {}",
                output.display(),
                input.display()
            ));
            skipped += 1;
            continue;
        }
        let left = todo.len() - i;
        // The time left, from the photos this run has tried so far.
        let eta = (painted > 0).then(|| {
            let each = start.elapsed().as_secs_f64() / ((i - skipped) as f64);
            format!(
                " (about {} left for the folder)",
                crate::progress::human_duration(each * left as f64)
            )
        });
        say(format!(
            "[{}/{}] {}{}",
            i + 1,
            todo.len(),
            input.display(),
            eta.unwrap_or_default()
        ));
        match run.paint(input, output) {
            Ok(Painted::Written(msg)) => {
                painted += 1;
                say(msg);
            }
            Ok(Painted::Taken(msg)) => note!("{msg}"),
            Ok(Painted::Stopped) => {
                // Said even when quiet, as the exit status (130) is.
                note!(
                    "interrupted: {} not written; {painted} painted in this run. The same \
                     command continues with it",
                    output.display()
                );
                // (An output folder made and left empty goes with `photos`.)
                return Ok(Outcome::Interrupted);
            }
            Err(e) if e.downcast_ref::<DiskFull>().is_some() => {
                let earlier = if failed > 0 {
                    format!(", {failed} failed before it (see above)")
                } else {
                    String::new()
                };
                return Err(format!(
                    "{e}\n  the output takes no more files (a full or read-only disk, or a \
                     file-size limit): the run stops here ({painted} painted in this \
                     run{earlier}); put that right and the same command continues with {}",
                    input.display()
                )
                .into());
            }
            Err(e) => {
                failed += 1;
                // A setting put as its flag, as `main` prints it.
                let text = crate::in_flags(&crate::with_causes(&*e), &*e, "image");
                if text.contains(&input.display().to_string()) {
                    note!("error: {text}");
                } else {
                    note!("error: {}: {text}", input.display());
                }
            }
        }
    }
    if failed > 0 {
        return Err(format!(
            "{failed} of {} photos failed (see above); the same command paints those again",
            todo.len()
        )
        .into());
    }
    say(format!(
        "painted {painted} photo{} into {} in {}",
        if painted == 1 { "" } else { "s" },
        cli.output.display(),
        crate::progress::human_duration(start.elapsed().as_secs_f64())
    ));
    Ok(Outcome::Done)
}

/// What every photo of the run is painted with.
struct PhotoRun<'a> {
    cli: &'a ImageArgs,
    stylizer: &'a stylize::Stylizer,
    config: &'a stylize::StyleConfig,
    save: SaveOptions,
    quiet: bool,
    interrupt: &'a Interrupt,
    console: &'a Console,
    /// The feed-forward networks for `--init fast`, loaded before the
    /// weights and kept for every photo.
    fast: std::cell::OnceCell<stylize_feedforward::FastStylizer>,
    /// The paintings, decoded for the first photo and kept for the others
    /// (`image_cmd::styles_and_start`).
    styles: std::cell::OnceCell<Vec<image::DynamicImage>>,
}

impl PhotoRun<'_> {
    /// Paints `input` into `output`.
    fn paint(
        &self,
        input: &Path,
        output: &Path,
    ) -> Result<Painted, Box<dyn std::error::Error + Send + Sync>> {
        let cli = self.cli;
        // Refused before it is decoded when that alone would not fit.
        crate::setup::check_decoded("content", input, self.config.max_memory)?;
        crate::setup::check_photo(input, self.config.max_memory, self.config)?;
        let content = load_image(input)?;
        check_output_size(output, (content.width(), content.height()))?;
        if let Some(w) = crate::setup::transparency_warning(input, &content, output) {
            log::warn!("{w}");
        }
        let mut config = self.config.clone();
        let styles = crate::image_cmd::styles_and_start(
            &cli.common,
            self.stylizer,
            &content,
            &mut config,
            &self.fast,
            &self.styles,
        )?;
        if let Some(note) = crate::setup::enlargement_note(
            (content.width(), content.height()),
            config.size,
            "the photo's",
        ) {
            log::info!("{}: {note}", input.display());
        }
        let show_bars = !self.quiet && crate::progress::bars_drawn();
        let mut observer = CliObserver::new(
            show_bars,
            self.console,
            None,
            cli.save_every.map(|n| (n as usize, output.to_path_buf())),
            self.save,
        )?
        .with_plain_lines(!self.quiet && !show_bars)
        .with_unreached_snapshots_said(self.config.scales == stylize::Scales::Auto)
        .with_interrupt(self.interrupt.clone());
        let start = Instant::now();
        let result = match self
            .stylizer
            .stylize(&content, styles, &config, &mut observer)
        {
            Ok(result) => result,
            // Ctrl-C before the first iteration: nothing to write.
            Err(stylize::Error::Stopped) => {
                observer.abandon();
                return Ok(Painted::Stopped);
            }
            Err(e) => return Err(e.into()),
        };
        let side = observer.finish();
        if result.stopped && self.interrupt.requested() {
            // An unfinished painting is not written under the photo's
            // name: the next run would take it for done.
            return Ok(Painted::Stopped);
        }
        let (width, height) = (result.image.width(), result.image.height());
        // Flattened here for a JPEG: the folder run warned once already.
        let image = crate::progress::flattened_for(output, result.image);
        // Made again when another run that made it has removed it (a run
        // stopped before its first painting removes the folder it made).
        // Where it cannot be, the save below fails and says why, and the
        // painting is kept elsewhere.
        if let Some(folder) = output.parent().filter(|f| !f.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(folder);
        }
        // Not over a painting another run wrote there meanwhile.
        let save = self.save.keeping_existing(true);
        if let Err(e) = save_image_with(&image, output, &save) {
            if matches!(&e, stylize::Error::Io { error, .. } if error.kind() == std::io::ErrorKind::AlreadyExists)
            {
                return Ok(Painted::Taken(format!(
                    "{} was written by another run while this one painted {}: it is left as it \
                     was, and {}",
                    output.display(),
                    input.display(),
                    crate::rescue::rescue(&image, output)
                )));
            }
            // Not lost with the error: kept elsewhere, and said where.
            let text = crate::rescue::rescued(&e, &image, output);
            // A full or read-only disk fails every photo after: the run
            // stops.
            if crate::rescue::fails_every_write(&e) {
                return Err(Box::new(DiskFull(text)));
            }
            return Err(text.into());
        }
        // Snapshots that could not be written cost only themselves.
        if let Err(e) = side {
            log::warn!("{}: {e}", input.display());
        }
        Ok(Painted::Written(format!(
            "wrote {} ({width}x{height}) after {} iterations in {:.1} s; final cost {:.4e}",
            output.display(),
            result.iterations,
            start.elapsed().as_secs_f64(),
            result.final_costs.total
        )))
    }
}

/// How painting one photo of the folder ended.
enum Painted {
    /// Written: the line to print.
    Written(String),
    /// Interrupted: nothing written but the snapshots so far.
    Stopped,
    /// Not written, as another run wrote the painting meanwhile: what to
    /// say (where this one was kept instead).
    Taken(String),
}

/// A painting not written for a full or read-only disk, or a file-size
/// limit (its message says where it was kept instead): the folder's run
/// stops, as every photo after would fail.
#[derive(Debug)]
struct DiskFull(String);

impl std::fmt::Display for DiskFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DiskFull {}
