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
use crate::progress::{snapshot_path, DownloadBar};
use stylize_feedforward::StyleMix;
use stylize_frames::FileIdentity;

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
             (--max-memory; by default what this machine, container or `ulimit -v` allows): scale it \
             down",
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
             {needed}, more than the memory limit of {limit} (--max-memory; by default what \
             this machine, container or `ulimit -v` allows), whatever --size: scale the photo \
             down",
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

/// The worker threads `--threads` (`threads`) asks for, else rayon's count.
fn asked_threads(threads: Option<u32>) -> usize {
    threads.map_or_else(rayon::current_num_threads, |t| t as usize)
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
    let limit = memory_limit(cli.max_memory, cli.threads, workers)?;
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
    for (what, flag, given) in [
        ("line search", "--line-search", cli.line_search.is_some()),
        (
            "L-BFGS bounds",
            "--lbfgs-bounds",
            cli.lbfgs_bounds.is_some(),
        ),
        (
            "L-BFGS history",
            "--lbfgs-history",
            cli.lbfgs_history.is_some(),
        ),
    ] {
        if given && config.optimizer != Optimizer::Lbfgs {
            return Err(Error::parameter(
                what,
                format!("{flag} applies to --optimizer lbfgs only"),
            ));
        }
    }
    config.max_memory = limit;
    // Give the count mismatch in terms of flags (no --style: `video
    // --builtin`, which clap allows only with no --style).
    if !cli.style.is_empty() {
        config.blend_weights(cli.style.len())?;
    }
    if config.init == Init::Style && cli.style.is_empty() {
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

/// The files a run reads besides its pictures, which a side file
/// (`--report`, `--loss-log`) must not replace: the weights (`--weights`,
/// else `$STYLIZE_WEIGHTS`) and the fast network's model files (in
/// `--models`, else the default folder).
fn program_files(common: &CommonArgs) -> Vec<PathBuf> {
    program_files_with(common.weights.as_deref(), common.models.as_deref())
}

/// [`program_files`] from `--weights` and `--models` as given.
fn program_files_with(weights: Option<&Path>, models: Option<&Path>) -> Vec<PathBuf> {
    let weights = weights
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("STYLIZE_WEIGHTS").map(PathBuf::from));
    let models = models
        .map(Path::to_path_buf)
        .unwrap_or_else(stylize_feedforward::default_models_dir);
    weights
        .into_iter()
        .chain(
            stylize_feedforward::MODEL_FILES
                .iter()
                .map(|f| models.join(f)),
        )
        .collect()
}

/// Refuses a side file `file` (given as `--flag`) that is one of
/// [`program_files`], or an existing file in the download cache (the
/// default weights), whatever `--overwrite` says.
///
/// # Errors
/// [`Error::Parameter`] naming the file.
pub fn check_not_a_program_file(flag: &str, file: &Path, common: &CommonArgs) -> Result<(), Error> {
    refuse_program_files(flag, &[file], &program_files(common))
}

/// [`check_not_a_program_file`] for `stylize fast`'s outputs, which has
/// no [`CommonArgs`]: the model files in `models` (else the default
/// folder) and the weights of `$STYLIZE_WEIGHTS`.
///
/// # Errors
/// [`Error::Parameter`] naming the first such file.
pub fn check_not_model_files<P: AsRef<Path>>(
    flag: &str,
    files: &[P],
    models: Option<&Path>,
) -> Result<(), Error> {
    refuse_program_files(flag, files, &program_files_with(None, models))
}

/// Refuses any of `files` that is (or leads to) one of `programs` or a
/// file in the download cache (those looked up once for all of them).
fn refuse_program_files<P: AsRef<Path>>(
    flag: &str,
    files: &[P],
    programs: &[PathBuf],
) -> Result<(), Error> {
    // The download cache holds the default weights (and the clips and
    // models the scripts fetch): nothing a side file should replace.
    // By identity: another spelling of a name on a case-insensitive disk,
    // or a hard link, is the file.
    let cache = stylize::default_cache_dir().and_then(|c| FileIdentity::of(&c));
    let programs: Vec<FileIdentity> = programs
        .iter()
        .filter_map(|p| FileIdentity::of(p))
        .collect();
    for file in files {
        let file = file.as_ref();
        let Ok(written) = std::fs::canonicalize(file) else {
            continue; // does not exist yet
        };
        let in_cache = cache.is_some()
            && written
                .parent()
                .is_some_and(|folder| FileIdentity::of(folder) == cache);
        if !in_cache && !FileIdentity::of(&written).is_some_and(|w| programs.contains(&w)) {
            continue;
        }
        return Err(Error::parameter(
            flag,
            format!(
                "{} is a weights or model file stylize reads (--weights, $STYLIZE_WEIGHTS, \
                 the fast models, or a file in its download cache); choose another file",
                file.display()
            ),
        ));
    }
    Ok(())
}

/// Fails early, before any painting, when a file cannot be written where
/// `output` names it: its folder missing, not a folder, or not writable
/// (a trial temporary file there, removed at once). `output` itself may be
/// a folder still to be made (a video's frames).
///
/// # Errors
/// [`Error::Io`] naming the folder and what is wrong with it.
pub fn check_output_dir(output: &Path) -> Result<(), Error> {
    refuse_standard_output(output)?;
    // This process's own standard output or error: whatever the shell
    // connected, written through it.
    if stylize::OutputFile::is_own_standard_stream(output) {
        return Ok(());
    }
    // Where the bytes will go ([`stylize::OutputFile`]): a link is
    // followed; a device or a pipe is written into, not beside. A folder
    // here is a video's frame folder.
    let target = if output.is_dir() {
        output.to_path_buf()
    } else {
        match stylize::OutputFile::target_of(output).map_err(|e| Error::io(output, e))? {
            Some(target) => target,
            None => {
                use std::os::unix::fs::FileTypeExt;
                let kind = std::fs::metadata(output).map(|m| m.file_type());
                if kind.as_ref().is_ok_and(|k| k.is_socket()) {
                    return Err(Error::io(
                        output,
                        std::io::Error::other("a socket is there; name a file"),
                    ));
                }
                if kind.is_ok_and(|k| k.is_fifo()) {
                    log::warn!(
                        "{} is a named pipe: writing to it waits until something reads it",
                        output.display()
                    );
                }
                return Ok(());
            }
        }
    };
    if std::fs::metadata(&target).is_ok_and(|m| m.is_file() && m.permissions().readonly()) {
        return Err(Error::io(
            output,
            std::io::Error::other("the file is read-only; make it writable or name another"),
        ));
    }
    let dir = folder_of(&target);
    let refuse = |why: &str| Error::io(dir, std::io::Error::other(why.to_string()));
    if !dir.exists() {
        return Err(refuse(
            "the folder to write into does not exist (it is not made for one file): make it, \
             or name another",
        ));
    }
    if !dir.is_dir() {
        return Err(refuse("not a folder"));
    }
    // The trial file's name is as long as the output's (when that is
    // longer than its prefix and suffix), so a name the file system
    // cannot hold is found out now.
    let name_len = target.file_name().map_or(0, |n| n.len());
    let (prefix, suffix) = (".stylize-check-", ".part");
    let random = name_len.saturating_sub(prefix.len() + suffix.len()).max(6);
    tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .rand_bytes(random)
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidFilename {
                // ENAMETOOLONG (wrapped by tempfile with the path): the
                // name, or, for a short name, the whole path the trial
                // file's took (PATH_MAX, 4096 bytes on Linux).
                let whole = std::path::absolute(dir).map_or(0, |d| {
                    d.as_os_str().len() + 1 + name_len.max(prefix.len() + 6 + suffix.len())
                });
                // The whole path past the system's limit (PATH_MAX: 4096
                // bytes on Linux, 1024 on macOS), else the name past the
                // file system's (255 bytes; fewer on some, such as
                // eCryptfs's 143).
                let path_max = if cfg!(target_os = "linux") {
                    4096
                } else {
                    1024
                };
                let why = if !cfg!(unix) {
                    // (Windows says the same of a character it refuses.)
                    "the file system does not take this name (too long, or a character it \
                     refuses)"
                        .to_string()
                } else if whole >= path_max {
                    format!(
                        "its path is too long for the system ({whole} bytes from the root, with \
                         the temporary name written first): write it in a folder nearer the root"
                    )
                } else {
                    format!("its name is too long for the file system ({name_len} bytes)")
                };
                Error::io(output, std::io::Error::other(why))
            } else {
                // The system's reason, without the trial file's own name
                // (tempfile appends ` at path "..."`), of no use to the user.
                let text = e.to_string();
                let reason = text.split(" at path \"").next().unwrap_or(&text);
                // A folder that is there and still "not found" for a new
                // file: a file system that makes none (`/proc`, `/sys`).
                let reason = if e.kind() == std::io::ErrorKind::NotFound {
                    format!("no file can be made in this folder ({reason})")
                } else {
                    // (`rot: Read-only file system` said which file.)
                    let name = target.file_name().map_or_else(
                        || target.display().to_string(),
                        |n| n.to_string_lossy().into_owned(),
                    );
                    format!("cannot write {name} into this folder: {reason}")
                };
                Error::io(dir, std::io::Error::new(e.kind(), reason))
            }
        })
}

/// Refuses `-` as an output: `-` reads standard input where an input is
/// named, but every output here is a file (or a video's frame folder,
/// which a run continues from its work folder next to it), so a `-`
/// would otherwise become a file or folder of that name.
///
/// # Errors
/// [`Error::Io`] naming `-`.
pub fn refuse_standard_output(output: &Path) -> Result<(), Error> {
    if output.as_os_str() == "-" {
        return Err(Error::io(
            output,
            std::io::Error::other(
                "standard output cannot take this output: name a file (for a video, a file such \
                 as out.y4m or out.mp4, or a folder of frames)",
            ),
        ));
    }
    Ok(())
}

/// [`check_output_dir`] for an output that is a file: one that is an
/// existing folder is refused too.
///
/// # Errors
/// [`Error::Io`] naming the file or its folder.
pub fn check_output_file(output: &Path) -> Result<(), Error> {
    let refuse = |why: &str| Err(Error::io(output, std::io::Error::other(why.to_string())));
    if output.is_dir() {
        return refuse("a folder is there; name a file");
    }
    if output.as_os_str().as_encoded_bytes().ends_with(b"/") {
        return refuse("a name ending in `/` is a folder's; name a file");
    }
    check_output_dir(output)
}

/// Refuses an `output` that is one of `inputs` (the same file, whatever
/// the spelling), unless `overwrite`: a user's photo is never replaced by
/// accident.
///
/// # Errors
/// [`Error::Parameter`] naming the file.
pub fn check_not_an_input<'a>(
    output: &Path,
    inputs: impl IntoIterator<Item = &'a Path>,
    overwrite: bool,
) -> Result<(), Error> {
    check_written_file("output", "an input", output, inputs, overwrite)
}

/// [`check_not_an_input`] for a file the run writes beside its output
/// (`--report`, `--loss-log`, `--plot`), named by its flag: it may be
/// neither an input nor the output, whatever `--overwrite` says (that
/// lets the output replace an input; a log or report written over the
/// user's photo or clip is never what was meant).
///
/// # Errors
/// [`Error::Parameter`] naming the flag and the file.
pub fn check_side_file<'a>(
    flag: &str,
    file: &Path,
    output: &'a Path,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<(), Error> {
    if one_written_file(file, output) {
        return Err(Error::parameter(
            flag,
            format!("{} is also the output; choose another file", file.display()),
        ));
    }
    if writes_over(file, inputs) {
        return Err(Error::parameter(
            flag,
            format!(
                "{} is also an input; choose another file (--overwrite lets only the output \
                 replace an input)",
                file.display()
            ),
        ));
    }
    Ok(())
}

/// Refuses a `--save-every` run whose snapshots (`OUT-stem.NNNN.ext`, every
/// `every` iterations; [`snapshot_path`]) would replace one of `inputs`,
/// unless `overwrite`. An input is at risk when its name (as given, or
/// after following links) has a snapshot's shape with a number that is a
/// multiple of `every`, and that snapshot is the same file; the run's
/// length is not consulted, so a number it never reaches is refused too.
/// A snapshot already there is refused as well when it is (or leads to)
/// a weights or model file of `common`'s, whatever `--overwrite` says;
/// and, unless `overwrite`, when it is a symbolic link (it leads to some
/// other file), or at all when `strangers` (the output folder holds the
/// photos' folder or lies inside it: a file of a snapshot's name there
/// may be a photo, or this command's own from a run that stopped).
///
/// # Errors
/// [`Error::Parameter`] naming `--save-every` and the file.
pub fn check_snapshots<'a, I>(
    output: &Path,
    every: usize,
    inputs: I,
    overwrite: bool,
    common: &CommonArgs,
    strangers: bool,
) -> Result<(), Error>
where
    I: IntoIterator<Item = &'a Path> + Clone,
{
    let there = existing_snapshots(output, every);
    refuse_program_files("save-every", &there, &program_files(common))?;
    for snapshot in &there {
        // One already there (a link, say) that leads to an input.
        check_written_file(
            "save-every",
            "an input",
            snapshot,
            inputs.clone(),
            overwrite,
        )?;
        if overwrite {
            continue;
        }
        let link = std::fs::symlink_metadata(snapshot).is_ok_and(|m| m.file_type().is_symlink());
        let why = if link {
            "is a symbolic link: the snapshot would replace the file it leads to"
        } else if strangers {
            "is already there, and the output folder holds the photos' folder or lies \
             inside it: it may be a photo (if it is a snapshot of this command's, from a run \
             that stopped, --overwrite lets the run continue)"
        } else {
            continue;
        };
        return Err(Error::parameter(
            "save-every",
            format!(
                "{} {why}; remove it, choose another output, or pass --overwrite to replace it",
                snapshot.display()
            ),
        ));
    }
    for input in inputs.clone() {
        let resolved = std::fs::canonicalize(input).ok();
        let names = [
            input.file_name(),
            resolved.as_deref().and_then(Path::file_name),
        ];
        for n in names.into_iter().filter_map(snapshot_number) {
            if n > 0 && n.is_multiple_of(every.max(1)) {
                check_written_file(
                    "save-every",
                    "an input",
                    &snapshot_path(output, n),
                    inputs.clone(),
                    overwrite,
                )?;
            }
        }
    }
    Ok(())
}

/// The snapshots of `output` (every `every` iterations) already there,
/// whatever they are (a file, a link, a folder).
fn existing_snapshots(output: &Path, every: usize) -> Vec<PathBuf> {
    let dir = folder_of(output);
    let (Some(stem), Ok(entries)) = (output.file_stem(), std::fs::read_dir(dir)) else {
        return Vec::new();
    };
    let prefix = format!("{}.", stem.to_string_lossy());
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let ours = name.to_string_lossy().starts_with(&prefix);
            let n = snapshot_number(Some(&name))
                .filter(|&n| ours && n > 0 && n.is_multiple_of(every.max(1)))?;
            let snapshot = snapshot_path(output, n);
            (snapshot.file_name() == Some(name.as_os_str())).then_some(snapshot)
        })
        .collect()
}

/// Refuses a folder run in which a photo's `--save-every` snapshot would
/// be named like another photo's painting (`a.jpg`'s snapshot after
/// iteration 1, `a.0001.jpg`, and the painting of the photo
/// `a.0001.jpg`): one would replace the other, and the next run would take
/// the snapshot for a finished painting. `todo` are the (photo, painting)
/// pairs this run paints (only they take snapshots, every `every`
/// iterations up to `last`), `all` every pair of the folder (painted
/// before or not). Both files are the run's own, so `--overwrite` does not
/// change this.
///
/// # Errors
/// [`Error::Parameter`] naming both photos and the file.
pub fn check_snapshots_apart(
    todo: &[(PathBuf, PathBuf)],
    all: &[(PathBuf, PathBuf)],
    every: usize,
    last: usize,
) -> Result<(), Error> {
    let painting_of: std::collections::HashMap<&Path, &Path> = todo
        .iter()
        .map(|(photo, painting)| (painting.as_path(), photo.as_path()))
        .collect();
    for (photo, painting) in all {
        let Some(n) = snapshot_number(painting.file_name()) else {
            continue;
        };
        if n == 0 || n > last || !n.is_multiple_of(every.max(1)) {
            continue;
        }
        // The painting whose snapshot would have this name: the name
        // without its number.
        let (Some(stem), Some(ext)) = (painting.file_stem(), painting.extension()) else {
            continue;
        };
        let stem = stem.to_string_lossy();
        let Some((base, _number)) = stem.rsplit_once('.') else {
            continue;
        };
        let other = painting.with_file_name(format!("{base}.{}", ext.to_string_lossy()));
        let Some(other_photo) = painting_of.get(other.as_path()) else {
            continue;
        };
        if snapshot_path(&other, n) == *painting {
            return Err(Error::parameter(
                "save-every",
                format!(
                    "the snapshot of {}'s painting after iteration {n} would be {}, the \
                     painting of {}: rename one of the photos, or leave out --save-every",
                    other_photo.display(),
                    painting.display(),
                    photo.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a side file (`--loss-log`, `--plot`, named by `flag`) that one
/// of the run's `--save-every` snapshots would replace, or that would
/// replace one: both are written by the run, so `--overwrite` does not
/// change this.
///
/// # Errors
/// [`Error::Parameter`] naming the flag and the file.
pub fn check_not_a_snapshot(
    flag: &str,
    file: &Path,
    output: &Path,
    every: usize,
) -> Result<(), Error> {
    let Some(n) =
        snapshot_number(file.file_name()).filter(|&n| n > 0 && n.is_multiple_of(every.max(1)))
    else {
        return Ok(());
    };
    if one_written_file(file, &snapshot_path(output, n)) {
        return Err(Error::parameter(
            flag,
            format!(
                "{} is also the snapshot --save-every writes after iteration {n}; choose another file",
                file.display()
            ),
        ));
    }
    Ok(())
}

/// The number in a snapshot-shaped name (`stem.NNNN.ext`).
fn snapshot_number(name: Option<&std::ffi::OsStr>) -> Option<usize> {
    let name = name?.to_str()?;
    let (rest, _ext) = name.rsplit_once('.')?;
    let (_stem, digits) = rest.rsplit_once('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Refuses `written` (named `name` in the message) when it is one of
/// `others` (described as `what`), unless `overwrite`.
fn check_written_file<'a>(
    name: &str,
    what: &str,
    written: &Path,
    others: impl IntoIterator<Item = &'a Path>,
    overwrite: bool,
) -> Result<(), Error> {
    if overwrite || !writes_over(written, others) {
        return Ok(());
    }
    Err(Error::parameter(
        name,
        format!(
            "{} is also {what}; choose another file, or pass --overwrite to replace it",
            written.display(),
        ),
    ))
}

/// Whether writing `written` would replace one of `others` (the same
/// file, however either is spelled; links followed; by identity where the
/// file is already there, so that `img.jpg` is `IMG.JPG` on a
/// case-insensitive disk).
fn writes_over<'a>(written: &Path, others: impl IntoIterator<Item = &'a Path>) -> bool {
    let Some(out) = written_at(written) else {
        return false;
    };
    let identity = FileIdentity::of(&out);
    others.into_iter().any(|other| {
        std::fs::canonicalize(other).is_ok_and(|i| i == out)
            || identity.is_some() && FileIdentity::of(other) == identity
    })
}

/// Whether writing `a` and writing `b` would write one file, neither need
/// exist yet: compared where the bytes go (links followed), and names in
/// one folder that differ only in letter case (`r.png`, `R.PNG`) count as
/// one, since on a case-insensitive disk (an SD card, a Mac's, a Windows
/// laptop's) they are, and one output would replace the other.
pub fn one_written_file(a: &Path, b: &Path) -> bool {
    let (Some(a), Some(b)) = (written_at(a), written_at(b)) else {
        return false;
    };
    if a == b {
        return true;
    }
    let folders = match (a.parent(), b.parent()) {
        (Some(x), Some(y)) => x == y || stylize_frames::same_file(x, y),
        _ => false,
    };
    let folded = |p: &Path| p.file_name().map(|n| n.to_string_lossy().to_lowercase());
    folders && folded(&a) == folded(&b)
}

/// Where writing `path` puts the bytes, as one spelling (absolute, the
/// folder's links resolved), for telling whether two names are one file:
/// links are followed as [`stylize::OutputFile`] follows them, and the
/// file need not exist yet. `None` when it cannot be told.
pub fn written_at(path: &Path) -> Option<PathBuf> {
    let at = match stylize::OutputFile::target_of(path) {
        Ok(Some(at)) => at,
        // A device or a descriptor: what it is, if anything.
        Ok(None) => return std::fs::canonicalize(path).ok(),
        Err(_) => path.to_path_buf(),
    };
    let name = at.file_name()?;
    let dir = folder_of(&at);
    Some(std::fs::canonicalize(dir).ok()?.join(name))
}

/// The folder a file `path` is in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}
