//! The `fast` job: pretrained feed-forward networks, one pass per image.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use image::{DynamicImage, Rgb32FImage};
use indicatif::{ProgressBar, ProgressStyle};
use stylize::{load_image, output_format, save_image_with, Error, SaveOptions};
use stylize_feedforward::{
    builtin_sheet, default_models_dir, painting_sheet, resize_longest_image, FastNetworks,
    FastOptions, FastStyle, FastStylizer, Isa, StyleMix, StyleVector, BUILTIN_STYLES, MIN_SIDE,
};

use crate::args::FastArgs;
use crate::console::Console;
use crate::interrupt::Interrupt;
use crate::output_check::{check_not_an_input, check_output_file, refuse_standard_output};
use crate::photo_folder::PhotoFolder;
use crate::setup::Workers;
use crate::{JobResult, Outcome};

/// The output's longer side when --size is not given.
const DEFAULT_SIZE: u32 = 512;
/// A sheet tile's longer side when --size is not given.
const DEFAULT_TILE: u32 = 256;

/// Runs the job. Errors a user can cause (a missing model, a bad mix, an
/// unreadable image) are reported before any output is written; each output
/// appears only when complete.
pub fn run(cli: &FastArgs, quiet: bool, interrupt: &Interrupt, console: &Console) -> JobResult {
    let say = |msg: String| {
        if !quiet {
            note!("{msg}");
        }
    };
    if !(0.0..=1.0).contains(&cli.strength) {
        return Err(
            Error::parameter("strength", format!("{} is not in [0, 1]", cli.strength)).into(),
        );
    }
    let options = FastOptions {
        strength: cli.strength,
        style_size: cli.style_size.unwrap_or(FastOptions::default().style_size),
        // Ctrl-C ends a photo's pass between the network's stages (seconds
        // at thousands of pixels).
        stop: Some(interrupt.stop_signal()),
    };
    // Flags that would change nothing are said, not silently dropped.
    let mut ignored = Vec::new();
    if cli.style_size.is_some() && cli.style.is_empty() {
        ignored.push("--style-size (it sizes --style paintings)");
    }
    if cli.sheet && cli.preserve_colors.is_some() {
        ignored.push("--preserve-colors (--sheet shows each style's own colours)");
    }
    if cli.sheet && cli.mask.is_some() {
        ignored.push("--mask (--sheet shows each style on the whole photo)");
    }
    // (A --content that is not there is said as such, below.)
    if cli.recursive && cli.content.is_file() {
        ignored.push("--recursive (--content is one photo, not a folder)");
    }
    if !ignored.is_empty() {
        say(format!("warning: this run ignores {}", ignored.join(", ")));
    }
    let builtin = cli
        .builtin
        .as_deref()
        .map(|b| crate::setup::parse_builtin(b, say))
        .transpose()?;
    // A folder of paintings is tried painting by painting on a sheet.
    let painting_files = painting_files(&cli.style, cli.sheet, &cli.output, cli.overwrite)?;
    let painting_sheet = cli.sheet && !painting_files.is_empty();
    // Checked before anything is read: one weight per painting.
    let weights = if cli.style.is_empty() || cli.sheet {
        Vec::new()
    } else {
        let blend = stylize::StyleConfig {
            style_blend: cli.style_blend.clone(),
            ..stylize::StyleConfig::default()
        };
        blend_weights(&blend, cli.style.len())?
    };
    let folder = cli.content.is_dir();
    if folder && cli.mask.is_some() {
        return Err(crate::setup::one_photo_only("mask", "a mask is", &cli.content).into());
    }
    if folder && cli.sheet {
        return Err(Error::parameter(
            "sheet",
            format!(
                "{} is a folder; --sheet paints one photo: name a file",
                cli.content.display()
            ),
        )
        .into());
    }
    refuse_standard_output(&cli.output)?;
    // (A `-` painting is refused as the paintings load, below.)
    crate::setup::check_input("content", &cli.content)?;
    let mut photos = None;
    let jobs = if folder {
        let listed = PhotoFolder::list(
            &cli.content,
            &cli.output,
            &painting_files,
            cli.overwrite,
            cli.recursive,
        )?;
        listed.check_replaced_inside(&cli.content, cli.overwrite)?;
        if !cli.overwrite {
            listed.check_outputs_stay_inside(&listed.jobs)?;
        }
        let outputs: Vec<&Path> = listed.jobs.iter().map(|(_, o)| o.as_path()).collect();
        crate::output_check::check_not_model_files("output", &outputs, cli.models.as_deref())?;
        let jobs = listed.jobs.clone();
        photos = Some(listed);
        jobs
    } else {
        check_output_file(&cli.output)?;
        output_format(&cli.output)?;
        check_not_an_input(
            &cli.output,
            std::iter::once(cli.content.as_path())
                .chain(painting_files.iter().map(PathBuf::as_path))
                .chain(cli.mask.as_deref()),
            cli.overwrite,
        )?;
        crate::output_check::check_not_model_files(
            "output",
            &[&cli.output],
            cli.models.as_deref(),
        )?;
        vec![(cli.content.clone(), cli.output.clone())]
    };
    let (save, quality_inert) =
        crate::setup::save_options(cli.jpeg_quality, jobs.iter().map(|(_, o)| o.as_path()));
    if let Some(why) = quality_inert {
        say(format!("warning: this run ignores {why}"));
    }
    // The paintings' headers are read before the models: a wrong path is
    // the likelier mistake and the cheaper to report. Each painting is
    // decoded only once the models have loaded, one at a time, and let go
    // once its style vector is made (a sheet's as its tile's turn comes):
    // sixteen 4000x4000 paintings were all held decoded through the run.
    // What the memory allows, before the models load: each image of a
    // folder is checked as its turn comes.
    let limit = crate::setup::memory_limit_said(cli.max_memory, cli.threads, Workers::Networks)?;
    let style_sizes = painting_files
        .iter()
        .map(|p| {
            // Each refused before it is decoded when that alone would not
            // fit (not on a sheet: its tiles' check says the same).
            if !painting_sheet {
                crate::setup::check_decoded("style", p, limit)?;
            }
            crate::setup::painting_size(p)
        })
        .collect::<Result<Vec<_>, _>>()?;
    // A painting too small for the style network, named before any work.
    check_painting_sizes(&painting_files, &style_sizes)?;
    let size = cli.size.unwrap_or(if cli.sheet {
        DEFAULT_TILE
    } else {
        DEFAULT_SIZE
    });
    // The styles a sheet shows.
    let sheet_styles = match (cli.sheet, painting_sheet) {
        (false, _) => None,
        (true, false) => Some(BUILTIN_STYLES),
        (true, true) => Some(painting_files.len()),
    };
    // One photo's size, from its header: for the memory, a sheet's and a
    // mask's checks (a folder's photos are checked as their turn comes).
    let photo_size = if folder {
        None
    } else {
        Some(stylize::image_size(&cli.content)?)
    };
    // A folder's photos come later, but what the paintings take does not
    // depend on them: a run that would not fit even for the smallest photo
    // is refused now, before the style network runs at --style-size
    // (before: 1.5 GB under a 300 MiB limit, then every photo refused).
    // (The fewest pixels a photo has at --size: a strip.)
    let least_photo = (size.max(MIN_SIDE), MIN_SIDE);
    check_memory(
        &cli.content,
        photo_size.unwrap_or(least_photo),
        (size, options.style_size),
        &style_sizes,
        sheet_styles,
        limit,
    )?;
    // A sheet wider than its format holds (WebP: 16384 px) is said now,
    // not after every tile is painted.
    if let (Some(styles), Some(photo)) = (sheet_styles, photo_size) {
        let tile = stylize_feedforward::longest_size(photo, size);
        let dims = stylize_feedforward::sheet_size(tile, styles).ok_or_else(|| {
            Error::parameter(
                "size",
                format!(
                    "a sheet of {} tiles at --size {size} is too large",
                    styles + 1
                ),
            )
        })?;
        stylize::check_output_size(&cli.output, dims)?;
    }
    // Read before the models, with the photo's header for its shape.
    let mask = match (cli.mask.as_deref().filter(|_| !cli.sheet), photo_size) {
        (Some(path), Some(photo)) => Some(crate::setup::load_mask(
            path,
            photo,
            "the photo",
            limit,
            say,
        )?),
        _ => None,
    };
    let start = Instant::now();
    // Only the networks of the run's kind of style are read.
    let networks = if (cli.sheet && !painting_sheet) || builtin.is_some() {
        FastNetworks::Builtin
    } else {
        FastNetworks::Arbitrary
    };
    let fast = load_fast(cli.models.as_deref(), cli.threads, networks)?;

    if cli.sheet {
        // A sheet stops between its tiles (`tile_done`), each one small:
        // a stop inside one would be an error there.
        let options = FastOptions {
            stop: None,
            ..options.clone()
        };
        let sheet = SheetRun {
            fast: &fast,
            options: &options,
            size,
            save: &save,
            quiet,
            interrupt,
            console,
        };
        return if painting_sheet {
            sheet.paintings(&cli.content, &painting_files, &cli.output)
        } else {
            sheet.builtins(&cli.content, &cli.output)
        };
    }

    let style = match builtin {
        Some(mix) => FastStyle::Builtin(mix),
        None => paintings_style(&fast, &painting_files, &weights, options.style_size)?,
    };
    // The output folder is made only now, once the styles and the models
    // have loaded, and removed again if no image could be painted into it.
    if let Some(photos) = &mut photos {
        photos.make_output(interrupt)?;
    }
    let settings = Settings {
        style: &style,
        options: &options,
        size,
        preserve_colors: cli.preserve_colors.is_some(),
        mask: mask.as_ref(),
        save,
    };
    let bar = bar(!quiet && folder, console, jobs.len() as u64, "images");
    let (mut failed, mut written) = (0usize, 0usize);
    let skipped_note = match photos.as_ref().map_or(0, |p| p.skipped) {
        0 => String::new(),
        1 => "; 1 other entry of the folder skipped (see above)".to_owned(),
        k => format!("; {k} other entries of the folder skipped (see above)"),
    };
    for (n, (input, output)) in jobs.iter().enumerate() {
        if interrupt.requested() {
            bar.finish_and_clear();
            // Said even when quiet, as the exit status (130) is.
            note!("interrupted: the images written so far are kept");
            return Ok(Outcome::Interrupted);
        }
        let t = Instant::now();
        let checked = if folder {
            stylize::image_size(input)
                .and_then(|photo| {
                    let sizes = (size, options.style_size);
                    check_memory(input, photo, sizes, &style_sizes, None, limit)
                })
                .map_err(Into::into)
        } else {
            Ok(())
        };
        match checked.and_then(|()| paint(&fast, input, output, &settings)) {
            // Ctrl-C during the network's pass: that photo is not written.
            Err(e) if matches!(e.downcast_ref(), Some(stylize_feedforward::Error::Stopped)) => {
                bar.finish_and_clear();
                note!(
                    "interrupted: {} not written{}",
                    output.display(),
                    if folder {
                        "; the images written so far are kept"
                    } else {
                        ""
                    }
                );
                return Ok(Outcome::Interrupted);
            }
            Ok((w, h)) => {
                written += 1;
                if folder {
                    // Where no bar shows the count (standard error is not
                    // a terminal: a log), each line does.
                    let count = if bar.is_hidden() {
                        format!("[{}/{}] ", n + 1, jobs.len())
                    } else {
                        String::new()
                    };
                    let msg = format!(
                        "{count}wrote {} ({w}x{h}) in {:.2} s",
                        output.display(),
                        t.elapsed().as_secs_f64()
                    );
                    note(&bar, quiet, msg);
                } else {
                    // The painting's own time, and the run's with the
                    // models' loading and the style's vector.
                    say(format!(
                        "wrote {} ({w}x{h}): painted in {:.2} s, {:.2} s with the models and \
                         the style",
                        output.display(),
                        t.elapsed().as_secs_f64(),
                        start.elapsed().as_secs_f64()
                    ));
                }
            }
            // In a folder, one bad file does not stop the others.
            Err(e) if folder => {
                failed += 1;
                // Most errors name the file already.
                // With its causes and a setting put as its flag, as
                // `main` prints a single image's.
                let text = crate::in_flags(&crate::with_causes(&*e), &*e, "fast");
                let named = e.to_string().contains(&input.display().to_string());
                let msg = if named {
                    format!("error: {text}")
                } else {
                    format!("error: {}: {text}", input.display())
                };
                note(&bar, false, msg);
                // A full disk or a read-only one fails every photo after
                // this one too, once each has been painted.
                if crate::rescue::fails_every_write(&*e) {
                    bar.finish_and_clear();
                    return Err(format!(
                        "stopped: {} takes no more files (see above: a full or read-only disk, \
                         or a file-size limit); {written} of {} images written, {failed} failed, \
                         the other {} not painted{skipped_note}",
                        cli.output.display(),
                        jobs.len(),
                        jobs.len() - (n + 1)
                    )
                    .into());
                }
            }
            Err(e) => return Err(e),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if failed > 0 {
        return Err(format!(
            "{failed} of {} images failed (see above); {written} written into {}{skipped_note}",
            jobs.len(),
            cli.output.display()
        )
        .into());
    }
    if folder {
        say(format!(
            "painted {} image{} into {} in {:.1} s{skipped_note}",
            jobs.len(),
            if jobs.len() == 1 { "" } else { "s" },
            cli.output.display(),
            start.elapsed().as_secs_f64()
        ));
    }
    Ok(Outcome::Done)
}

/// Refuses to paint `input` at `size` (its tiles, for a `sheet`) with
/// paintings of `styles` sizes, each seen at `style_size`, when the run's
/// estimated peak memory is over `limit`, naming the `--size` (or the
/// `--style-size`) that fits; `content` is the image's size (from its
/// header).
///
/// # Errors
/// [`Error::Parameter`] (`size`) when it does not fit.
fn check_memory(
    input: &Path,
    content: (u32, u32),
    (size, style_size): (u32, u32),
    styles: &[(u32, u32)],
    sheet: Option<usize>,
    limit: Option<u64>,
) -> Result<(), Error> {
    let Some(limit) = limit else {
        return Ok(());
    };
    // The paintings are decoded one at a time (a sheet's too), each let
    // go once its style vector is made.
    let need = |size: u32, style_size: u32| {
        let paintings = stylize_feedforward::Paintings::one_at_a_time(styles, style_size);
        let run = stylize_feedforward::estimate_memory_with(content, size, paintings).total;
        match sheet {
            Some(styles) => {
                let tile = stylize_feedforward::longest_size(content, size);
                run.saturating_add(stylize_feedforward::sheet_bytes(tile, styles))
            }
            None => run,
        }
    };
    // The style size is said where it counts (above the default's).
    let subject = format!(
        "{}: painting it at --size {size}{}{}",
        input.display(),
        if need(size, style_size) > need(size, LEAST_STYLE_SIZE) {
            format!(" with --style-size {style_size}")
        } else {
            String::new()
        },
        match sheet {
            Some(styles) => format!(" (a sheet of {} tiles)", styles.saturating_add(1)),
            None => String::new(),
        }
    );
    // Too narrow at any size: that is said when the photo is sized, and
    // no memory advice would help.
    let Some(least) = stylize_feedforward::least_longest(content, 16, crate::args::FAST_MAX_SIZE)
    else {
        return Ok(());
    };
    refuse_over_memory(
        &subject,
        (least, size),
        // Only paintings are seen at --style-size.
        (!styles.is_empty()).then_some(style_size),
        limit,
        need,
        "scale the image (or the paintings) down",
    )
}

/// The least `--style-size`.
const LEAST_STYLE_SIZE: u32 = 64;

/// Refuses a run at `size` (and `style_size`, where the run's paintings
/// are seen at a `--style-size`) whose estimated peak memory,
/// `need(size, style_size)` (growing with either), is over `limit`,
/// saying `subject` ("PHOTO: painting it at --size N") and the largest
/// `--size` from `least` (the least the networks take for the image's
/// shape) that fits, or the largest `--style-size` that alone would, or
/// both together; when none does, `smaller` (what to scale down).
///
/// # Errors
/// [`Error::Parameter`] (`size`, or `style_size` where only a smaller
/// one fits) when it does not fit.
pub fn refuse_over_memory(
    subject: &str,
    (least, size): (u32, u32),
    style_size: Option<u32>,
    limit: u64,
    need: impl Fn(u32, u32) -> u64,
    smaller: &str,
) -> Result<(), Error> {
    let style = style_size.unwrap_or(LEAST_STYLE_SIZE);
    let needed = need(size, style);
    if needed <= limit {
        return Ok(());
    }
    use stylize_feedforward::largest_size_within as within;
    let fits_size = within(limit, least, size, |s| need(s, style));
    // A --style-size over what the memory allows (the style predictor's
    // square: 1.5 GB at 2048) is said as such: a smaller --size would not
    // help it.
    let styles_within = |size: u32| {
        style_size.and_then(|style| within(limit, LEAST_STYLE_SIZE, style, |t| need(size, t)))
    };
    let advice = match (fits_size, styles_within(size)) {
        (Some(fits), Some(style)) => {
            format!("use --size {fits} or less, or --style-size {style} or less")
        }
        (Some(fits), None) => format!("use --size {fits} or less"),
        (None, Some(style)) => format!("use --style-size {style} or less"),
        (None, None) => match (style_size, styles_within(least)) {
            (Some(_), Some(style)) => format!(
                "use --size {least} (the least this image takes) and --style-size {style} or less"
            ),
            _ => {
                // The least --style-size, where it lowers the need.
                let least_need = need(least, LEAST_STYLE_SIZE.min(style));
                let with_style = if least_need < need(least, style) {
                    format!(" with --style-size {LEAST_STYLE_SIZE}")
                } else {
                    String::new()
                };
                let (least_need, limit) = stylize::memory::human_apart(least_need, limit);
                format!(
                    "even --size {least} (the least this image takes){with_style} needs about \
                     {least_need}, over {limit}: {smaller}, or allow more memory"
                )
            }
        },
    };
    // The flag to lower, where that is --style-size alone.
    let flag = match (fits_size, styles_within(size)) {
        (None, Some(_)) => "style_size",
        _ => "size",
    };
    let (needed, limit) = stylize::memory::human_apart(needed, limit);
    Err(Error::parameter(
        flag,
        format!(
            "{subject} needs about {needed} of memory, more than the limit of {limit} \
             (--max-memory; {}); {advice}",
            crate::setup::DEFAULT_LIMIT
        ),
    ))
}

/// Refuses a photo `input` of `own` size that, at `--size size`, is
/// `working` with a side under the networks' least, saying which `--size`
/// would do.
///
/// # Errors
/// [`Error::Parameter`] (`size`).
fn check_working_size(
    input: &Path,
    own: (u32, u32),
    (w, h): (u32, u32),
    size: u32,
) -> Result<(), Error> {
    if w.min(h) >= MIN_SIDE {
        return Ok(());
    }
    let advice = match stylize_feedforward::least_longest(own, size, crate::args::FAST_MAX_SIZE) {
        Some(needed) => format!("use --size {needed} or more"),
        None => "it is too narrow at any --size".to_string(),
    };
    Err(Error::parameter(
        "size",
        format!(
            "{} is {w}x{h} at --size {size}; the networks need at least {MIN_SIDE} px on each \
             side: {advice}",
            input.display()
        ),
    ))
}

/// Refuses a painting (of `paths`, whose sizes are `sizes`) too small for
/// the style network, naming it.
///
/// # Errors
/// [`Error::Parameter`] (`style`).
pub(crate) fn check_painting_sizes(paths: &[PathBuf], sizes: &[(u32, u32)]) -> Result<(), Error> {
    match paths
        .iter()
        .zip(sizes)
        .find(|(_, (w, h))| (*w).min(*h) < MIN_SIDE)
    {
        Some((path, (w, h))) => Err(Error::parameter(
            "style",
            format!(
                "{} is {w}x{h} px; the style network needs a painting of at least {MIN_SIDE} px \
                 on each side",
                path.display()
            ),
        )),
        None => Ok(()),
    }
}

/// What every image of a run is painted and written with.
struct Settings<'a> {
    style: &'a FastStyle,
    options: &'a FastOptions,
    /// The output's longer side.
    size: u32,
    preserve_colors: bool,
    /// Where to keep the photo (one photo only).
    mask: Option<&'a stylize::PaintMask>,
    save: SaveOptions,
}

/// One image: decode, size, paint, keep colours if asked, write.
fn paint(
    fast: &FastStylizer,
    input: &Path,
    output: &Path,
    settings: &Settings,
) -> Result<(u32, u32), Box<dyn std::error::Error + Send + Sync>> {
    let &Settings {
        style,
        options,
        size,
        preserve_colors,
        mask,
        save,
    } = settings;
    // The decoded photo is let go once it is read, a row at a time, to
    // the working size (the memory check counts it).
    let (photo, alpha, (width, height)) = {
        let image = load_image(input)?;
        // Transparency is kept, as `stylize image` keeps it, and said
        // where it shows nothing or a JPEG output loses it.
        if let Some(w) = crate::setup::transparency_warning(input, &image, output) {
            log::warn!("{w}");
        }
        let alpha = stylize::alpha_channel(&image);
        // Sized as asked (a small photo is enlarged, as a sheet's tiles
        // and `stylize image` enlarge it); the working size is checked.
        let photo = fast.install(|| resize_longest_image(&image, size));
        (photo, alpha, (image.width(), image.height()))
    };
    check_working_size(input, (width, height), photo.dimensions(), size)?;
    let mut out: Rgb32FImage = fast.stylize(&photo, style, options)?;
    if preserve_colors {
        out = stylize::combine_luminance(&out, &photo)?;
    }
    let dims = out.dimensions();
    let out = DynamicImage::ImageRgb32F(out);
    let rgb = match mask {
        Some(mask) => mask
            .apply(&out, &DynamicImage::ImageRgb32F(photo))?
            .to_rgb8(),
        None => out.to_rgb8(),
    };
    // (Its loss in a JPEG was said above.)
    let painted =
        crate::progress::flattened_for(output, stylize::with_alpha_over_white(rgb, alpha.as_ref()));
    save_image_with(&painted, output, &save)?;
    Ok(dims)
}

/// Prints `msg` above the bar, or on stderr where there is no bar (unless
/// `quiet`).
fn note(bar: &ProgressBar, quiet: bool, msg: String) {
    if !bar.is_hidden() {
        bar.println(crate::console::printable(&msg));
    } else if !quiet {
        note!("{msg}");
    }
}

/// A bar over `total` items, drawn on `console` only on a terminal when
/// `show`.
fn bar(show: bool, console: &Console, total: u64, unit: &str) -> ProgressBar {
    if !show || !crate::progress::bars_drawn() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:30.cyan/blue}} {{pos}}/{{len}} {unit} | ETA {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    console.draw(bar)
}

/// The starting image of `stylize image --init fast` (or `fast:MIX`): the
/// content at the run's working size painted by the arbitrary network in
/// the run's style(s) (vectors blended by the run's style weights), or by
/// the built-in mix.
///
/// The networks are loaded into `loaded` the first time and used from
/// there after (a folder of photos loads them once).
pub fn initial_image(
    spec: &str,
    content: &DynamicImage,
    styles: &[DynamicImage],
    config: &stylize::StyleConfig,
    common: &crate::args::CommonArgs,
    loaded: &std::cell::OnceCell<FastStylizer>,
) -> Result<stylize::Init, Box<dyn std::error::Error + Send + Sync>> {
    let mix = spec
        .strip_prefix("fast:")
        .map(str::parse::<StyleMix>)
        .transpose()
        .map_err(|e| Error::parameter("init", format!("{spec}: {e}")))?;
    load_for_init(common, loaded)?;
    let fast = loaded
        .get()
        .ok_or_else(|| Error::parameter("init", format!("{spec}: the networks did not load")))?;
    // At the run's working size (the start is stretched to it), but no
    // side under what the networks take: a narrow photo's painting is
    // made a little larger and scaled down with the rest.
    let own = (content.width(), content.height());
    let (w, h) = stylize::working_size(own.0, own.1, config.size);
    let longest = stylize_feedforward::least_longest(own, w.max(h), 16384).ok_or_else(|| {
        Error::parameter(
            "init",
            format!(
                "{spec}: the photo ({}x{} px) is too narrow for the networks at any size (they \
                 take at least {MIN_SIDE} px on a side); start from the photo instead (drop \
                 --init)",
                own.0, own.1
            ),
        )
    })?;
    let photo = fast.install(|| resize_longest_image(content, longest));
    let style = match mix {
        Some(mix) => FastStyle::Builtin(mix),
        None => {
            // A painting the style network cannot read is named, and so
            // is why it is read at all.
            if let Some((path, p)) = common
                .style
                .iter()
                .zip(styles)
                .find(|(_, p)| p.width().min(p.height()) < MIN_SIDE)
            {
                return Err(Error::parameter(
                    "init",
                    format!(
                        "{spec}: the style network reads each painting, and {} is {}x{} px, \
                         under its least of {MIN_SIDE} px on a side; start from the photo \
                         instead (drop --init), or use a larger painting",
                        path.display(),
                        p.width(),
                        p.height()
                    ),
                )
                .into());
            }
            run_style(fast, styles, config)?
        }
    };
    let out = fast.stylize(&photo, &style, &FastOptions::default())?;
    Ok(stylize::Init::Image(DynamicImage::ImageRgb32F(out)))
}

/// Loads into `loaded` the networks `--init fast` (or `fast:MIX`) needs,
/// when `common` asks for it: before the VGG weights, so that missing
/// models are said at once, not after a download.
///
/// # Errors
/// The mix's, and the models' ([`load_fast`]).
pub fn load_for_init(
    common: &crate::args::CommonArgs,
    loaded: &std::cell::OnceCell<FastStylizer>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let Some(spec) = common
        .init
        .as_deref()
        .filter(|i| crate::setup::is_fast_init(i))
    else {
        return Ok(());
    };
    let networks = if spec.starts_with("fast:") {
        FastNetworks::Builtin
    } else {
        FastNetworks::Arbitrary
    };
    if loaded.get().is_none() {
        let fast = load_fast(common.models.as_deref(), common.threads, networks)?;
        loaded.get_or_init(|| fast);
    }
    Ok(())
}

/// The `networks`, from `models` (default: `$STYLIZE_FAST_MODELS`, else the
/// cache), on `threads` threads (default: one per core).
pub fn load_fast(
    models: Option<&Path>,
    threads: Option<u32>,
    networks: FastNetworks,
) -> Result<FastStylizer, stylize_feedforward::Error> {
    let dir = models.map_or_else(default_models_dir, Path::to_path_buf);
    let threads = crate::setup::worker_threads(threads, Workers::Networks, |m| {
        log::warn!("{m}");
    })
    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let start = Instant::now();
    let fast = FastStylizer::load_networks(&dir, threads, Isa::from_env(), networks)?;
    log::info!(
        "loaded the models from {} in {:.2} s",
        dir.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(fast)
}

/// The paintings of `--style`: each path as given, except that with
/// `sheet` a folder stands for its images (natural order, as a frame
/// folder is read). Without `sheet` a folder is refused, saying what it
/// could mean.
///
/// # Errors
/// [`Error::Parameter`] (`style`) for a folder without `sheet`, or one
/// holding no images; [`Error::Io`] when a folder cannot be listed.
///
/// With `overwrite`, a folder's file that is the output (`-s paintings -o
/// paintings/sheet.png`, run again) is to be replaced, not painted as one
/// of its tiles too (before: the old sheet became tile 1); without it, it
/// is an input, which the output check refuses.
fn painting_files(
    styles: &[PathBuf],
    sheet: bool,
    output: &Path,
    overwrite: bool,
) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::with_capacity(styles.len());
    for path in styles {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        if !sheet {
            return Err(Error::parameter(
                "style",
                format!(
                    "{} is a folder: --sheet tries each painting in it on the photo, one tile \
                     each; to blend paintings, name each with --style",
                    path.display()
                ),
            ));
        }
        let mut inside = stylize_frames::frame_files(path).map_err(|e| match e {
            stylize_frames::FramesError::Io { error, .. } => Error::io(path, error),
            other => Error::parameter("style", other.to_string()),
        })?;
        if overwrite {
            inside.retain(|f| f != output && !stylize_frames::same_file(f, output));
        }
        if inside.is_empty() {
            return Err(Error::parameter(
                "style",
                format!(
                    "{} holds no paintings (PNG, JPEG, WebP, GIF, BMP or TIFF files)",
                    path.display()
                ),
            ));
        }
        files.extend(inside);
    }
    Ok(files)
}

/// What a sheet run paints with and where it reports.
struct SheetRun<'a> {
    fast: &'a FastStylizer,
    options: &'a FastOptions,
    /// A tile's longer side.
    size: u32,
    save: &'a SaveOptions,
    quiet: bool,
    interrupt: &'a Interrupt,
    console: &'a Console,
}

impl SheetRun<'_> {
    /// The photo `content`, then the 26 built-in styles on it, numbered
    /// 0 to 25, written to `output` once complete.
    fn builtins(&self, content: &Path, output: &Path) -> JobResult {
        let photo = self.photo(content)?;
        let bar = bar(!self.quiet, self.console, BUILTIN_STYLES as u64, "styles");
        let sheet = builtin_sheet(self.fast, &photo, self.options, |_| self.tile_done(&bar))?;
        self.write(
            sheet,
            &bar,
            output,
            "the photo, then built-in styles 0 to 25 (use --builtin N)",
            &[],
        )
    }

    /// The photo `content`, then each of `paintings` on it, numbered from
    /// 1, written to `output` once complete; the numbers' legend is
    /// printed.
    fn paintings(&self, content: &Path, paintings: &[PathBuf], output: &Path) -> JobResult {
        let photo = self.photo(content)?;
        let bar = bar(
            !self.quiet,
            self.console,
            paintings.len() as u64,
            "paintings",
        );
        let sheet = painting_sheet(
            self.fast,
            &photo,
            self.options,
            paintings.len(),
            |i| -> Result<DynamicImage, Box<dyn std::error::Error + Send + Sync>> {
                Ok(crate::setup::load_painting(&paintings[i])?)
            },
            |_| self.tile_done(&bar),
        )?;
        self.write(
            sheet,
            &bar,
            output,
            "the photo, then each painting by number (the painting in its tile's corner):",
            paintings,
        )
    }

    /// The photo at a tile's size.
    fn photo(&self, content: &Path) -> Result<Rgb32FImage, Error> {
        let full = load_image(content)?;
        let photo = self.fast.install(|| resize_longest_image(&full, self.size));
        let own = (full.width(), full.height());
        check_working_size(content, own, photo.dimensions(), self.size)?;
        Ok(photo)
    }

    /// Counts a finished tile; Ctrl-C stops the sheet there.
    fn tile_done(&self, bar: &ProgressBar) -> ControlFlow<()> {
        bar.inc(1);
        if self.interrupt.requested() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Writes a finished `sheet` to `output` and says so (`what` it shows,
    /// then `legend`, numbered from 1); a sheet stopped by Ctrl-C (`None`)
    /// is not written.
    fn write(
        &self,
        sheet: Option<Rgb32FImage>,
        bar: &ProgressBar,
        output: &Path,
        what: &str,
        legend: &[PathBuf],
    ) -> JobResult {
        bar.finish_and_clear();
        let Some(sheet) = sheet else {
            if !self.quiet {
                note!("interrupted: no sheet written");
            }
            return Ok(Outcome::Interrupted);
        };
        let (width, height) = sheet.dimensions();
        // Converted to 8 bits as it goes, not copied first: the sheet is
        // many times the tile.
        save_image_with(
            &DynamicImage::ImageRgb8(DynamicImage::ImageRgb32F(sheet).into_rgb8()),
            output,
            self.save,
        )?;
        if !self.quiet {
            note!("wrote {} ({width}x{height}): {what}", output.display());
            for (i, path) in legend.iter().enumerate() {
                note!("  {:>3}  {}", i + 1, path.display());
            }
        }
        Ok(Outcome::Done)
    }
}

/// The normalised weights of `n` paintings by `config`'s `style_blend`
/// (equal without it), as the style vectors take them; the library's
/// checks (one per painting, each >= 0, not all 0).
fn blend_weights(config: &stylize::StyleConfig, n: usize) -> Result<Vec<f32>, stylize::Error> {
    Ok(config.blend_weights(n)?.iter().map(|w| *w as f32).collect())
}

/// The paintings' style vectors (each seen at `style_size`) blended by
/// `weights`.
fn painting_style(
    fast: &FastStylizer,
    paintings: &[DynamicImage],
    weights: &[f32],
    style_size: u32,
) -> Result<FastStyle, stylize_feedforward::Error> {
    let parts: Vec<(&DynamicImage, f32)> = paintings.iter().zip(weights.iter().copied()).collect();
    fast.blended_style(&parts, style_size)
}

/// The style of the paintings `paths`, blended by `weights`: each decoded
/// in turn, seen at `style_size`, and let go once its vector is made (the
/// memory check counts one at a time).
fn paintings_style(
    fast: &FastStylizer,
    paths: &[PathBuf],
    weights: &[f32],
    style_size: u32,
) -> Result<FastStyle, Box<dyn std::error::Error + Send + Sync>> {
    let vectors = paths
        .iter()
        .map(|path| {
            let painting = crate::setup::load_painting(path)?;
            Ok(fast.painting_vector(&painting, style_size)?)
        })
        .collect::<Result<Vec<_>, Box<dyn std::error::Error + Send + Sync>>>()?;
    let parts: Vec<(&StyleVector, f32)> = vectors.iter().zip(weights.iter().copied()).collect();
    Ok(FastStyle::Arbitrary(StyleVector::blend(&parts)?))
}

/// An optimiser run's styles as one arbitrary style: their vectors
/// blended by the run's `--style-blend` weights, each seen at the default
/// style size.
pub fn run_style(
    fast: &FastStylizer,
    styles: &[DynamicImage],
    config: &stylize::StyleConfig,
) -> Result<FastStyle, Box<dyn std::error::Error + Send + Sync>> {
    let weights = blend_weights(config, styles.len())?;
    Ok(painting_style(
        fast,
        styles,
        &weights,
        FastOptions::default().style_size,
    )?)
}
