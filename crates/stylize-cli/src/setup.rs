//! What every job does first: the settings from the flags, the style
//! images, the weights and the network.

use std::path::{Path, PathBuf};

use image::DynamicImage;
use stylize::{
    load_image, load_vgg_weights, parse_style_layers, resolve_weights, ComputeDevice, Error, Init,
    Optimizer, Preprocess, Preset, Scales, StyleConfig, Stylizer, VggWeights, WeightsOrigin,
};

use crate::args::{CommonArgs, DeviceArg};
use crate::console::Console;
use crate::interrupt::Interrupt;
use crate::progress::DownloadBar;
use stylize_feedforward::StyleMix;

/// The style images, decoded.
///
/// # Errors
/// The first image that cannot be read.
pub fn load_styles(cli: &CommonArgs) -> Result<Vec<DynamicImage>, Error> {
    cli.style.iter().map(|p| load_painting(p)).collect()
}

/// The `--style` paintings, decoded only once the optimiser's run on a
/// photo (or frame) of `photo` pixels is found to fit in memory from the
/// paintings' headers: one painting may decode to gigabytes, and the run
/// would otherwise be refused only after all of them were.
///
/// # Errors
/// As [`Stylizer::check_memory`](stylize::Stylizer::check_memory), then as
/// [`load_painting`].
pub fn load_styles_that_fit(
    cli: &CommonArgs,
    stylizer: &Stylizer,
    photo: (u32, u32),
    config: &StyleConfig,
) -> Result<Vec<DynamicImage>, Error> {
    stylizer.check_memory(photo, &painting_sizes(cli)?, config)?;
    load_styles(cli)
}

/// The upright size of each `--style` painting, from its file's header
/// alone (a bundled painting, small, is decoded).
///
/// # Errors
/// As [`load_painting`], for a painting whose header cannot be read.
pub fn painting_sizes(cli: &CommonArgs) -> Result<Vec<(u32, u32)>, Error> {
    cli.style.iter().map(|p| painting_size(p)).collect()
}

/// The upright size of one painting (a file, or a bundled one by name),
/// from its file's header alone (a bundled painting, small, is decoded).
///
/// # Errors
/// As [`load_painting`], for a painting whose header cannot be read.
pub fn painting_size(path: &Path) -> Result<(u32, u32), Error> {
    if path.is_file() {
        stylize::image_size(path)
    } else {
        load_painting(path).map(|i| (i.width(), i.height()))
    }
}

/// The refusal of a flag that belongs to one photo (`--mask`,
/// `--loss-log`, ...) in a run over the folder `content`: `what` says
/// what it is (`a mask is`).
pub fn one_photo_only(flag: &'static str, what: &str, content: &Path) -> Error {
    Error::parameter(
        flag,
        format!(
            "{what} one photo's, and --content {} is a folder: drop --{flag}, or paint one \
             photo at a time",
            content.display()
        ),
    )
}

/// A `--style` image: the file, or where no file has that name, a painting
/// bundled with the binary by its name (`starry_night`, `great_wave`,
/// `udnie`: what the web page's commands name).
///
/// # Errors
/// `-`, or a file that cannot be read (naming the bundled paintings when
/// it does not exist).
pub fn load_painting(path: &Path) -> Result<DynamicImage, Error> {
    refuse_standard_input("style", path)?;
    if path.exists() {
        return load_image(path);
    }
    let name = path
        .to_str()
        .filter(|n| !n.contains(std::path::MAIN_SEPARATOR));
    if let Some(bytes) = name.and_then(stylize_serve::bundled_painting) {
        return image::load_from_memory(bytes).map_err(|e| Error::ImageDecode {
            path: path.to_path_buf(),
            reason: "the bundled painting does not decode".into(),
            source: Some(e),
        });
    }
    load_image(path).map_err(|e| match e {
        Error::Io { path, error } if error.kind() == std::io::ErrorKind::NotFound => {
            let names: Vec<&str> = stylize_serve::bundled_painting_names().collect();
            Error::io(
                path,
                std::io::Error::new(
                    error.kind(),
                    format!(
                        "no such file (nor a bundled painting: {})",
                        names.join(", ")
                    ),
                ),
            )
        }
        other => other,
    })
}

/// `--builtin TEXT` as a mix of the network's built-in styles. A bundled
/// painting's name is answered with the flag that takes it; a single
/// style with a weight (`3:0.2`) is warned about, since the weights are
/// normalised (it is style 3 in full).
///
/// # Errors
/// The mix's own error, with `--style NAME` named for a bundled painting.
pub fn parse_builtin(
    text: &str,
    say: impl Fn(String),
) -> Result<StyleMix, Box<dyn std::error::Error + Send + Sync>> {
    match text.parse::<StyleMix>() {
        Ok(mix) => {
            let items: Vec<&str> = text.split(',').collect();
            if let [item] = items[..] {
                if item
                    .split_once(':')
                    .is_some_and(|(_, w)| w.trim().parse() != Ok(1.0f32))
                {
                    say(format!(
                        "warning: --builtin {item}: the weights of a mix are normalised to sum \
                         to 1, so one style alone is painted in full; --strength mixes it with \
                         the photo"
                    ));
                }
            }
            Ok(mix)
        }
        Err(e) if stylize_serve::bundled_painting(text.trim()).is_some() => Err(Error::parameter(
            "builtin",
            format!(
                "{e}; `{}` is a bundled painting, which --style takes by name (`--style {}`)",
                text.trim(),
                text.trim()
            ),
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// Refuses `-` where an image file is read (unless a file of that name
/// exists): only `video --input -` reads standard input.
///
/// # Errors
/// [`Error::Parameter`] naming `flag`.
pub fn refuse_standard_input(flag: &str, path: &Path) -> Result<(), Error> {
    if path.as_os_str() == "-" && !path.exists() {
        return Err(Error::parameter(
            flag,
            "`-` (standard input) is read only by `video --input -`; name an image file",
        ));
    }
    Ok(())
}

/// Refuses an input `path` given with `--flag` that is `-` (as
/// [`refuse_standard_input`]) or is not there, naming the flag: a
/// mistyped name is said as the option's, not as a bare system error.
///
/// # Errors
/// [`Error::Parameter`] naming `flag`.
pub fn check_input(flag: &str, path: &Path) -> Result<(), Error> {
    refuse_standard_input(flag, path)?;
    let why = match std::fs::metadata(path) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if path.symlink_metadata().is_ok() {
                "a link to nothing".to_string()
            } else {
                "no such file".to_string()
            }
        }
        // Permission denied, a file where a folder was named (...): the
        // system's reason.
        Err(e) => e.to_string(),
    };
    Err(Error::parameter(flag, format!("{}: {why}", path.display())))
}

/// The `--mask` image at `path`, for `what` (`the photo`, `the frames`)
/// of `photo` pixels: read and checked before the long part. A mask of
/// another shape (stretched to theirs) or one that paints nothing is
/// warned about through `say`.
///
/// # Errors
/// `-`, or an image that cannot be read (naming the file).
pub fn load_mask(
    path: &Path,
    photo: (u32, u32),
    what: &str,
    limit: Option<u64>,
    say: impl Fn(String),
) -> Result<stylize::PaintMask, Error> {
    check_input("mask", path)?;
    check_decoded("mask", path, limit)?;
    let mask = stylize::PaintMask::from_image(&load_image(path)?);
    if let Some(warning) = stretch_warning("mask", path, mask.dimensions(), what, photo) {
        say(warning);
    }
    if mask.coverage() == 0.0 {
        say(format!(
            "warning: --mask {} is black (or transparent) everywhere: nothing of {what} will be \
             painted",
            path.display()
        ));
    }
    Ok(mask)
}

/// The warning that the picture `file`, given as `--flag`, of `size`, is
/// stretched to `what` (`the photo`, `the frames`) of `target` pixels;
/// none when the shapes agree.
pub fn stretch_warning(
    flag: &str,
    file: &Path,
    (width, height): (u32, u32),
    what: &str,
    target: (u32, u32),
) -> Option<String> {
    stylize::stretch_distorts((width, height), target).then(|| {
        format!(
            "warning: --{flag} {} is {width}x{height}, {what} {}x{}: it is stretched to that shape",
            file.display(),
            target.0,
            target.1
        )
    })
}

/// Refuses the image `path` (given as `--flag`) when decoded at its own
/// size it would take more than `limit` bytes (none: no check), from its
/// header, before it is decoded: a small file can hold a huge image, and
/// decoding past the memory there is aborts the process.
///
/// # Errors
/// [`Error::Parameter`] (`flag`) when it does not fit (a header that
/// cannot be read, or a pipe, is left to decoding to refuse).
pub fn check_decoded(flag: &'static str, path: &Path, limit: Option<u64>) -> Result<(), Error> {
    // A pipe (`<(curl ...)`) is refused by decoding, in its words.
    let Some(limit) = limit.filter(|_| path.metadata().is_ok_and(|m| m.is_file())) else {
        return Ok(());
    };
    // A header that cannot be read is for decoding to say, in its words
    // (a file cut short, not an image).
    let Ok(bytes) = stylize::image_decoded_bytes(path) else {
        return Ok(());
    };
    if bytes <= limit {
        return Ok(());
    }
    let (w, h) = stylize::image_size(path)?;
    let (needed, limit) = stylize::memory::human_apart(bytes, limit);
    Err(Error::parameter(
        flag,
        format!(
            "{} is {w}x{h} px: decoded it takes {needed}, more than the memory limit of {limit} \
             (--max-memory; {DEFAULT_LIMIT}): scale it down",
            path.display()
        ),
    ))
}

/// Refuses the photo `path` (`--content`) from its header, before it is
/// decoded, when the buffers a run keeps at the photo's own size (the
/// decoded photo, the result resized back to it) alone pass `limit`: a
/// few kilobytes of JPEG can claim 30000x30000 px, and the run's whole
/// estimate, which says the same, comes only once it is decoded (seconds,
/// gigabytes).
///
/// # Errors
/// [`Error::Parameter`] (`content`) naming the photo's size.
pub fn check_photo(path: &Path, limit: Option<u64>, config: &StyleConfig) -> Result<(), Error> {
    let Some(limit) = limit.filter(|_| path.metadata().is_ok_and(|m| m.is_file())) else {
        return Ok(());
    };
    // A header that cannot be read is for decoding to say.
    let Ok((w, h)) = stylize::image_size(path) else {
        return Ok(());
    };
    let bytes = stylize::memory::full_size_bytes((w, h), config);
    if bytes <= limit {
        return Ok(());
    }
    let (needed, limit) = stylize::memory::human_apart(bytes, limit);
    Err(Error::parameter(
        "content",
        format!(
            "{} is {w}x{h} px: the result's buffers at the photo's own size take about \
             {needed}, more than the memory limit of {limit} (--max-memory; {DEFAULT_LIMIT}), \
             whatever --size: scale the photo down",
            path.display()
        ),
    ))
}

/// Refuses a folder given as `--style` to a job that blends its
/// paintings (`image`, `video`), saying how to try each painting in it
/// instead: `stylize fast --sheet`, which paints a tile per painting in
/// about a second.
///
/// # Errors
/// [`Error::Parameter`] (`style`) for the first folder.
pub fn refuse_style_folder(styles: &[PathBuf]) -> Result<(), Error> {
    let Some(folder) = styles.iter().find(|p| p.is_dir()) else {
        return Ok(());
    };
    Err(Error::parameter(
        "style",
        format!(
            "{}: it is a folder, not an image file; the paintings named with --style are \
             blended, so name each one. To see how each painting of the folder looks on the \
             photo first, `stylize fast --sheet --content PHOTO --style {} --output sheet.png` \
             paints one tile per painting (the feed-forward network, about a second in all)",
            folder.display(),
            folder.display()
        ),
    ))
}

/// Finds and reads the weights and loads them on the device and engine
/// asked for, saying what it uses (unless `quiet`).
///
/// # Errors
/// Weights that cannot be found or read, a device that is missing.
pub fn load_stylizer(
    cli: &CommonArgs,
    config: &StyleConfig,
    quiet: bool,
    interrupt: &Interrupt,
    console: &Console,
) -> Result<(Stylizer, VggWeights), Error> {
    let say = |msg: String| {
        if !quiet {
            note!("{msg}");
        }
    };
    // Before the weights, which may be downloaded: a device this binary
    // was built without is a user error.
    let device = match cli.device {
        DeviceArg::Auto => ComputeDevice::best_available(),
        DeviceArg::Exact(d) => {
            d.check()?;
            d
        }
    };

    // A mistyped weights file is said as the option's.
    if let Some(path) = cli.weights.as_deref() {
        check_input("weights", path)?;
    }
    let show_bars = !quiet && crate::progress::bars_drawn();
    let (weights_path, origin) = resolve_weights(
        cli.weights.as_deref(),
        &mut DownloadBar::new(show_bars, console, interrupt),
    )?;
    let preprocess = cli.preprocess.map(Preprocess::from);
    let weights = load_vgg_weights(&weights_path, preprocess)?;
    let layers = config.resolve_layers(weights.arch)?;
    // A style layer named twice (under one name or two) counts twice.
    for (i, (layer, _)) in layers.style.iter().enumerate() {
        if layers.style[..i].iter().any(|(l, _)| l == layer) {
            say(format!(
                "warning: style layer {layer} is named more than once in --style-layers; \
                 it counts once for each, its weights adding up"
            ));
        }
    }
    let origin = match origin {
        WeightsOrigin::Explicit => "",
        WeightsOrigin::Environment => " (from STYLIZE_WEIGHTS)",
        WeightsOrigin::Cache => " (default, cached)",
    };
    say(format!(
        "weights: {}{origin}: {}, {}",
        weights_path.display(),
        weights.arch,
        weights.format
    ));
    say(format!(
        "preprocessing: {} ({})",
        weights.preprocess, weights.preprocess_reason
    ));
    if layers.content_substituted {
        say(format!(
            "note: {} has no block5_conv4 (the seed's content layer); using its last conv layer {}",
            weights.arch, layers.content
        ));
    }
    let style_desc: Vec<String> = layers
        .style
        .iter()
        .map(|(l, w)| format!("{l}:{w}"))
        .collect();
    say(format!(
        "content layer {}; style layers {}",
        layers.content,
        style_desc.join(",")
    ));

    let mut stylizer = match Stylizer::with_device(&weights, device, cli.engine) {
        // `auto` settles for the CPU when the GPU it found fails to start.
        Err(e @ Error::Device { .. })
            if cli.device == DeviceArg::Auto && device != ComputeDevice::Cpu =>
        {
            log::warn!("{e}; using the CPU");
            Stylizer::with_device(&weights, ComputeDevice::Cpu, cli.engine)?
        }
        r => r?,
    };
    let threads = worker_threads(cli.threads, Workers::of_run(cli), |m| {
        say(format!("note: {m}"));
    });
    if let Some(t) = threads {
        stylizer = stylizer.with_threads(t)?;
    }
    say(format!("device: {}", device_line(&stylizer, threads)));
    Ok((stylizer, weights))
}

/// Which code the worker threads run, for what each reserves of an
/// address-space limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    /// The optimiser's engine: matrix products, whose buffers are large
    /// ([`stylize::memory::matrix_buffers_per_thread`]).
    Optimiser,
    /// The feed-forward networks: a thread's stack and malloc arena only.
    Networks,
    /// Both, each with its own pool of as many threads (the web page,
    /// which keeps the optimiser and the networks loaded side by side).
    Both,
}

impl Workers {
    /// An optimiser run's: with `--init fast`, the networks' pool too
    /// (it paints the start, and its threads' reserves stay).
    pub fn of_run(cli: &CommonArgs) -> Self {
        if cli.init.as_deref().is_some_and(is_fast_init) {
            Workers::Both
        } else {
            Workers::Optimiser
        }
    }

    fn per_thread(self) -> u64 {
        match self {
            Workers::Optimiser => stylize::memory::optimiser_thread_reserve(),
            Workers::Networks => stylize::memory::THREAD_RESERVE,
            Workers::Both => Workers::Optimiser.per_thread() + Workers::Networks.per_thread(),
        }
    }
}

/// Where `stylizer` runs, for the run's header: its device and backend,
/// and on the CPU what a timing depends on (and a bug report needs): the
/// instruction set the kernels run and the worker threads (`threads`, else
/// one per core), as `cpu (fast engine); avx512, 2 thread(s)`.
pub fn device_line(stylizer: &Stylizer, threads: Option<usize>) -> String {
    let cpu = stylizer.simd_level().map_or_else(String::new, |level| {
        format!(
            "; {}, {} thread(s)",
            level.effective(),
            threads.unwrap_or_else(rayon::current_num_threads)
        )
    });
    format!("{}{cpu}", stylizer.device_description())
}

/// The worker threads `--threads` (`threads`) asks for, else rayon's
/// default count (`RAYON_NUM_THREADS`, else the CPUs this process may
/// use), worked out without building rayon's pool: `current_num_threads`
/// would start its threads, and each reserves its memory (its malloc
/// arena) when it gets to it, after the limit has been measured, so that
/// under `ulimit -v` what the measure said was left no longer was (`info`
/// aborted reading the fast networks).
pub(crate) fn asked_threads(threads: Option<u32>) -> usize {
    threads.map_or_else(
        || {
            std::env::var("RAYON_NUM_THREADS")
                .ok()
                // As rayon reads it: untrimmed (" 3" is no number to it).
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        },
        |t| t as usize,
    )
}

/// Where reserving memory is limited (`ulimit -v`, or strict overcommit),
/// the worker threads that fit beside a run of `threads` and what is left
/// for the run: each thread reserves a share of the limit, and a run past
/// it would abort. `None` without such a limit.
fn address_space(threads: Option<u32>, workers: Workers) -> Option<stylize::memory::AddressSpace> {
    stylize::memory::address_space(asked_threads(threads), workers.per_thread())
}

/// The worker threads to give the stylizer: `--threads` (`threads`), or
/// fewer where a limit on reserving memory cannot hold what they reserve
/// beside the run ([`address_space`]), said through `say`; `None` for
/// rayon's default.
pub fn worker_threads(
    threads: Option<u32>,
    workers: Workers,
    say: impl Fn(String),
) -> Option<usize> {
    let asked = asked_threads(threads);
    match stylize::memory::address_space(asked, workers.per_thread()) {
        Some(space) if space.threads < asked => {
            say(format!(
                "reserving memory is limited here (ulimit -v, or strict overcommit; {} left), \
                 and each worker thread reserves {}: using {} thread(s) instead of {asked}",
                stylize::memory::human(space.room),
                stylize::memory::human(space.per_thread),
                space.threads
            ));
            Some(space.threads)
        }
        _ => threads.map(|t| t as usize),
    }
}

/// What sets the default memory limit, for messages: Linux's container
/// and address-space limits are read too, other systems' are not.
pub const DEFAULT_LIMIT: &str = if cfg!(target_os = "linux") {
    "by default what this machine, container or `ulimit -v` allows"
} else {
    "by default what this machine has"
};

/// The memory limit a run is checked against: `--max-memory`, else what
/// this process may use ([`stylize::memory::machine_memory`]); where
/// reserving memory is limited, never more than the limit leaves once the
/// worker threads' reserves are set aside ([`address_space`]), since past
/// it the process aborts.
///
/// # Errors
/// [`Error::Parameter`] (`memory limit`) when such a limit cannot hold even
/// one worker thread's reserve: no run fits, whatever its size, and the
/// message says why (not that the photo is too large for a limit of 0).
pub fn memory_limit(
    max_memory: Option<u64>,
    threads: Option<u32>,
    workers: Workers,
) -> Result<Option<u64>, Error> {
    let limit = max_memory.or_else(stylize::memory::machine_memory);
    let space = address_space(threads, workers);
    if let Some(space) = space.filter(|s| s.room <= s.per_thread) {
        return Err(Error::parameter(
            "memory limit",
            format!(
                "no run fits: reserving memory is limited here (`ulimit -v`, or strict overcommit): {} is \
                 left, and one worker thread reserves {} of it before any image (its stack, \
                 its malloc arena and, for the optimiser, the buffers of its matrix products, \
                 sized by the CPU's caches); raise or lift `ulimit -v` (under strict overcommit: \
                 free memory)",
                stylize::memory::human(space.room),
                stylize::memory::human(space.per_thread)
            ),
        ));
    }
    Ok(match (limit, space) {
        (Some(l), Some(space)) => Some(l.min(space.left)),
        (None, Some(space)) => Some(space.left),
        (l, None) => l,
    })
}

/// [`memory_limit`], said once for a run: a `--max-memory` above what a
/// limit on reserving memory leaves is lowered to that, and a refusal
/// naming the lower limit is then understood.
///
/// # Errors
/// As [`memory_limit`].
pub fn memory_limit_said(
    max_memory: Option<u64>,
    threads: Option<u32>,
    workers: Workers,
) -> Result<Option<u64>, Error> {
    let limit = memory_limit(max_memory, threads, workers)?;
    if let (Some(asked), Some(space)) = (max_memory, address_space(threads, workers)) {
        if space.left < asked {
            log::warn!(
                "--max-memory {} is more than reserving memory allows here (`ulimit -v`, or \
                 strict overcommit): {} is left once the {} worker thread(s) set aside {} each, \
                 and that is the limit",
                stylize::memory::human(asked),
                stylize::memory::human(space.left),
                space.threads,
                stylize::memory::human(space.per_thread)
            );
        }
    }
    Ok(limit)
}

/// The note that a result of `(width, height)`, painted at the working
/// size `size` (its longer side), is scaled up 2x or more: a phone's photo
/// at the default size comes out soft, and the user should know why and
/// what to change. `whose` names it ("the photo's", "the clip's").
pub fn enlargement_note((width, height): (u32, u32), size: u32, whose: &str) -> Option<String> {
    stylize::enlargement((width, height), size).map(|enlarged| {
        format!(
            "note: the result is scaled up {enlarged:.1}x to {whose} {width}x{height}; a larger \
             --size paints finer detail (time and memory grow with its square)"
        )
    })
}

/// What is said, before it is painted, of a photo's transparency: a
/// photo transparent everywhere shows nothing, and neither will its
/// painting, whatever the output (a JPEG of it is white); a partly
/// transparent one loses that in a JPEG output. `None` for an opaque
/// photo, or a partly transparent one into an output that keeps it.
pub fn transparency_warning(photo: &Path, image: &DynamicImage, output: &Path) -> Option<String> {
    let alpha = stylize::alpha_channel(image)?;
    if alpha.as_raw().iter().all(|&v| v == 0) {
        return Some(format!(
            "{} is transparent everywhere: it shows nothing, and neither will its painting; to \
             paint the colours its transparency hides, remove that first (e.g. `magick {} -alpha \
             off opaque.png`)",
            photo.display(),
            photo.display()
        ));
    }
    (stylize::output_format(output).ok() == Some(image::ImageFormat::Jpeg)).then(|| {
        format!(
            "{} is partly transparent, and a JPEG output cannot keep that: name a .png, .webp \
             or .tiff output to keep it",
            photo.display()
        )
    })
}

/// A path's file name, for messages.
pub fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The preset's settings with every given flag applied on top.
///
/// `workers`: whose threads the run keeps (its memory limit sets theirs
/// aside under `ulimit -v`): the optimiser's ([`Workers::of_run`]), or
/// the networks' alone for `video --method fast`.
pub fn build_config(
    cli: &CommonArgs,
    default_preset: Preset,
    default_size: Option<u32>,
    workers: Workers,
) -> Result<StyleConfig, Error> {
    let limit = memory_limit_said(cli.max_memory, cli.threads, workers)?;
    let preset = cli.preset.unwrap_or(default_preset);
    let mut config = StyleConfig::preset(preset);
    if let Some(size) = default_size {
        config.size = size;
    }
    if let Some(s) = cli.similarity {
        if config.style_layers.is_some() {
            return Err(Error::parameter(
                "similarity",
                format!(
                    "the {} preset sets its own style layers; use --style-layers instead",
                    preset
                ),
            ));
        }
        config.similarity = s;
    }
    if let Some(v) = cli.epochs {
        config.iterations =
            usize::try_from(v).map_err(|_| Error::parameter("epochs", "too large"))?;
    }
    if let Some(v) = cli.size {
        config.size = v;
    }
    if let Some(v) = cli.alpha {
        config.alpha = v;
    }
    if let Some(v) = cli.beta {
        config.beta = v;
    }
    if let Some(v) = cli.seed {
        config.seed = v;
    }
    if let Some(v) = &cli.content_layer {
        config.content_layer = Some(v.clone());
    }
    if let Some(spec) = &cli.style_layers {
        config.style_layers = Some(parse_style_layers(spec)?);
    }
    if let Some(o) = cli.optimizer {
        config.optimizer = o;
    }
    config.learning_rate = cli.lr;
    if let Some(l) = cli.line_search {
        config.line_search = l;
    }
    if let Some(b) = cli.lbfgs_bounds {
        config.lbfgs_bounds = b;
    }
    if let Some(n) = cli.lbfgs_history {
        config.lbfgs_history = n as usize;
    }
    if let Some(init) = &cli.init {
        config.init = match init.as_str() {
            "content" => Init::Content,
            "noise" => Init::Noise,
            "style" => Init::Style,
            // Needs the content and styles: `fast_cmd::initial_image` sets
            // it. A mistyped mix is said now, before the weights load.
            spec if is_fast_init(spec) => {
                if let Some(mix) = spec.strip_prefix("fast:") {
                    mix.parse::<StyleMix>()
                        .map_err(|e| Error::parameter("init", format!("{spec}: {e}")))?;
                }
                Init::Content
            }
            // A word that is no file: most likely a mistyped keyword.
            path if !Path::new(path).exists() => {
                return Err(Error::parameter(
                    "init",
                    format!(
                        "`{path}` is not content, noise, style, fast or fast:N, \
                         and no file of that name exists"
                    ),
                ))
            }
            path => {
                check_decoded("init", Path::new(path), limit)?;
                Init::Image(load_image(Path::new(path))?)
            }
        };
    }
    if let Some(v) = cli.init_noise {
        config.init_noise = v;
    }
    if let Some(v) = cli.tv_weight {
        config.tv_weight = v;
    }
    if let Some(p) = cli.pooling {
        config.pooling = p;
    }
    if let Some(c) = cli.preserve_colors {
        config.preserve_colors = Some(c);
    }
    if let Some(spec) = &cli.scales {
        config.scales = if spec.eq_ignore_ascii_case("auto") {
            Scales::Auto
        } else {
            Scales::Fixed(spec.trim().parse().map_err(|_| {
                Error::parameter("scales", format!("`{spec}` (a number 1..=16, or auto)"))
            })?)
        };
    }
    if let Some(v) = cli.style_scale {
        config.style_scale = v;
    }
    if let Some(b) = &cli.style_blend {
        config.style_blend = Some(b.clone());
    }
    // Named as the flags are, so that the message says `invalid
    // --line-search: ...` as for any other flag (before: `invalid line
    // search: ...`).
    for (what, given) in [
        ("line_search", cli.line_search.is_some()),
        ("lbfgs_bounds", cli.lbfgs_bounds.is_some()),
        ("lbfgs_history", cli.lbfgs_history.is_some()),
    ] {
        if given && config.optimizer != Optimizer::Lbfgs {
            return Err(Error::parameter(
                what,
                format!(
                    "--{} applies to --optimizer lbfgs only, and this run's optimiser is Adam",
                    what.replace('_', "-")
                ),
            ));
        }
    }
    config.max_memory = limit;
    // Give the count mismatch in terms of flags (no --style: `video
    // --builtin`, which clap allows only with no --style).
    if !cli.style.is_empty() {
        config.blend_weights(cli.style.len())?;
    }
    // (With no --style, a run of `video --method fast --builtin`, which
    // ignores --init and says so.)
    if config.init == Init::Style && cli.style.is_empty() && workers != Workers::Networks {
        return Err(Error::parameter("init", "--init style needs a --style"));
    }
    Ok(config)
}

/// The optimiser's flags that this run's other settings leave without
/// effect, each with the reason, so that a run says so instead of dropping
/// them silently. `uses_models` is whether anything in the run reads
/// `--models` (`--init fast`, `video --method fast`).
pub fn inert_flags(cli: &CommonArgs, config: &StyleConfig, uses_models: bool) -> Vec<String> {
    let mut inert = Vec::new();
    let noise = matches!(config.init, Init::Noise);
    if cli.seed.is_some() && !noise && config.init_noise <= 0.0 {
        inert.push(
            "--seed (it seeds the initial noise, and this start has none: add --init-noise A \
             or --init noise)"
                .to_string(),
        );
    }
    if noise && cli.init_noise.is_some() {
        inert.push("--init-noise (--init noise starts from noise alone)".to_string());
    }
    if cli.similarity.is_some() && cli.style_layers.is_some() {
        inert.push("--similarity (--style-layers gives the style layers' weights)".to_string());
    }
    if cli.models.is_some() && !uses_models {
        inert.push(
            "--models (only the feed-forward networks read it: `image --init fast`, \
             `video --method fast`)"
                .to_string(),
        );
    }
    inert
}

/// `--save-every N` past the run's iterations (all scales together),
/// which saves no snapshot, for the run's "ignores" warning (before: said
/// nothing).
pub fn save_every_inert(save_every: Option<u64>, config: &StyleConfig) -> Option<String> {
    let every = save_every?;
    // Automatic scales are planned with the image: said then (see
    // `CliObserver::with_unreached_snapshots_said`; before: counted with
    // the coarse ones a long strip skips, 9 iterations for 6).
    if config.scales == stylize::Scales::Auto {
        return None;
    }
    let total = config.iterations * config.scales.sizes(config.size).len();
    (every > total as u64).then(|| {
        format!("--save-every {every} (the run has {total} iterations, so no snapshot is saved)")
    })
}

/// A warning for a start from noise or from the painting with the seed
/// preset's content layer (`block5`, the network's deepest): that cost
/// holds too little of the photo's layout to draw it out of a start with
/// none of it, so the result is the painting's texture alone (chelsea with
/// starry_night at 256 px, after 150 and after 500 iterations: no cat).
/// The paper's content layer (`--preset gatys`) brings the photo back.
pub fn start_warning(config: &StyleConfig) -> Option<String> {
    let start = match config.init {
        Init::Noise => "noise",
        Init::Style => "the painting",
        _ => return None,
    };
    config.content_layer.is_none().then(|| {
        format!(
            "warning: this run starts from {start}, with no trace of the photo, and the seed \
             preset's content layer (the network's deepest) holds too little of the photo's \
             layout to draw it back: expect the painting's texture without the photo; \
             --preset gatys (or --content-layer block4_conv2) brings the photo out"
        )
    })
}

/// How the run's images are encoded (`--jpeg-quality`), and, when the
/// flag is given but none of `outputs` is a JPEG, the reason it changes
/// nothing, for the run's "ignores" warning.
pub fn save_options<'a>(
    jpeg_quality: Option<u8>,
    outputs: impl IntoIterator<Item = &'a Path>,
) -> (stylize::SaveOptions, Option<String>) {
    let Some(q) = jpeg_quality else {
        return (stylize::SaveOptions::default(), None);
    };
    let jpeg = |p: &Path| stylize::output_format(p).ok() == Some(image::ImageFormat::Jpeg);
    let inert = (!outputs.into_iter().any(jpeg)).then(|| {
        "--jpeg-quality (no output is a .jpg; PNG, WebP and TIFF are lossless)".to_string()
    });
    (
        stylize::SaveOptions {
            jpeg_quality: q,
            ..stylize::SaveOptions::default()
        },
        inert,
    )
}

/// Whether an `--init` value asks for the feed-forward network's result
/// (`fast`, or `fast:MIX` for built-in styles).
pub fn is_fast_init(init: &str) -> bool {
    init == "fast" || init.starts_with("fast:")
}

/// The file `--init` names, if it names one (not `content`, `noise`,
/// `style` or the network's painting): an input the run must not overwrite.
pub fn init_file(common: &CommonArgs) -> Option<&Path> {
    common
        .init
        .as_deref()
        .filter(|i| !matches!(*i, "content" | "noise" | "style") && !is_fast_init(i))
        .map(Path::new)
}
