//! `stylize`: paint a photo in the style of a painting. A thin shell over the
//! `stylize` library: it parses flags, draws progress and prints errors.

mod plot;
mod progress;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use stylize::config::{ColorPreservation, Init, LineSearch, Optimizer, Pooling, Preset, Scales};
use stylize::weights::default::{resolve_weights, WeightsOrigin};
use stylize::{
    image_io, load_image, load_vgg_weights, parse_style_layers, save_image, ComputeDevice, Engine,
    Error, Preprocess, Similarity, StyleConfig, Stylizer,
};

use crate::progress::{CliObserver, DownloadBar};

/// Paint a photo in the style of a painting (Gatys, Ecker & Bethge 2015).
///
/// The default preset `seed` reproduces the seed program: VGG19, content
/// layer block5_conv4, style layers block1_conv1..block5_conv1, alpha 10,
/// beta 30, Adam at learning rate 0.01 for 500 iterations at 400 px, from
/// the content plus noise of amplitude 0.25. `--preset gatys` is the
/// paper's: content relu4_2, style relu1_1..relu5_1 with equal weights,
/// alpha 4194.304 (the paper's alpha/beta = 1e-3, see the README), beta 1,
/// L-BFGS for 300 iterations at 512 px from the content image. Any flag
/// overrides the preset.
#[derive(Debug, Parser)]
#[command(name = "stylize", version, about, long_about)]
struct Cli {
    /// Content image: the photo whose layout is kept.
    #[arg(long, short = 'c', value_name = "IMAGE")]
    content: PathBuf,

    /// Style image: the painting whose textures and colours are used.
    /// Repeat for several, blended by --style-blend.
    #[arg(long, short = 's', value_name = "IMAGE", required = true)]
    style: Vec<PathBuf>,

    /// Blend weights of several style images, one per --style, e.g.
    /// `0.7,0.3` (normalised to sum to 1). Default: equal.
    #[arg(
        long,
        value_name = "W,W,...",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    style_blend: Option<Vec<f32>>,

    /// Scale style images to this fraction of the working size (their
    /// longer side = size * F): smaller gives finer brush strokes.
    #[arg(long, value_name = "F", value_parser = positive, allow_negative_numbers = true)]
    style_scale: Option<f32>,

    /// Set of defaults: `seed` (the seed program) or `gatys` (the paper).
    #[arg(long, value_enum, default_value_t = PresetArg::Seed)]
    preset: PresetArg,

    /// Optimiser on the pixels. Default: the preset's (seed adam, gatys
    /// lbfgs).
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerArg>,

    /// L-BFGS line search (L-BFGS only).
    #[arg(long, value_enum)]
    line_search: Option<LineSearchArg>,

    /// L-BFGS history size.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    lbfgs_history: Option<u32>,

    /// Initial image: content, noise (uniform in [0, 1]), style (the first
    /// style image, stretched), or an image file.
    #[arg(long, value_name = "content|noise|style|FILE")]
    init: Option<String>,

    /// Amplitude a of the noise U(-a, a) added to the initial image.
    /// Default: the preset's (seed 0.25, gatys 0).
    #[arg(long, value_name = "A", value_parser = non_negative, allow_negative_numbers = true)]
    init_noise: Option<f32>,

    /// Weight of the total-variation (smoothness) cost. Default 0.
    #[arg(long, value_name = "W", value_parser = non_negative, allow_negative_numbers = true)]
    tv_weight: Option<f32>,

    /// Pooling between VGG blocks; avg gives smoother results.
    #[arg(long, value_enum)]
    pooling: Option<PoolingArg>,

    /// Keep the content's colours: `luminance` transfers only the
    /// luminance; `histogram` first maps the style's colours onto the
    /// content's.
    #[arg(long, value_enum)]
    preserve_colors: Option<ColorArg>,

    /// Coarse-to-fine: the number of scales, each sqrt(2) larger than the
    /// last and ending at --size, or `auto` (from about 128 px). Each scale
    /// runs --epochs iterations.
    #[arg(long, value_name = "N|auto")]
    scales: Option<String>,

    /// Draw the costs against iteration to this PNG file at the end.
    #[arg(long, value_name = "FILE.png")]
    plot: Option<PathBuf>,

    /// Write the working-size images, the initial image, the costs and
    /// gradient at it, and the final image as .npy/.json into DIR (for the
    /// PyTorch reference comparison in reference/).
    #[arg(long, value_name = "DIR", hide = true)]
    dump: Option<PathBuf>,

    /// Output image; the format follows the extension (.jpg, .png, .webp).
    #[arg(long, short = 'o', value_name = "IMAGE")]
    output: PathBuf,

    /// Style layer weights (seed preset): deep layers (content), even
    /// (balanced), shallow layers (style).
    #[arg(long, value_enum)]
    similarity: Option<SimilarityArg>,

    /// Optimisation steps (per scale). Default: the preset's (seed 500,
    /// gatys 300).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    epochs: Option<u64>,

    /// Working size: the longer side of the image while optimising, in
    /// pixels. The result is resized back to the content's original size.
    /// Default: the preset's (seed 400, gatys 512).
    #[arg(long, value_parser = clap::value_parser!(u32).range(16..=16384))]
    size: Option<u32>,

    /// Content weight. Default: the preset's (seed 10, gatys 4194.304).
    #[arg(long, value_parser = non_negative, allow_negative_numbers = true)]
    alpha: Option<f32>,

    /// Style weight. Default: the preset's (seed 30, gatys 1).
    #[arg(long, value_parser = non_negative, allow_negative_numbers = true)]
    beta: Option<f32>,

    /// Step size: Adam's learning rate on pixel values in [0, 1] (default
    /// 0.01), or L-BFGS's step scale (default 1).
    #[arg(long, value_parser = positive, allow_negative_numbers = true)]
    lr: Option<f32>,

    /// Seed for the initial noise; the same seed and thread count give the
    /// same output bit for bit.
    #[arg(long)]
    seed: Option<u64>,

    /// VGG16/VGG19 weights file (.pth, .h5, .safetensors). Default:
    /// $STYLIZE_WEIGHTS, else ImageNet VGG19 downloaded once to the cache.
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,

    /// Input preprocessing the weights expect; detected from the file when
    /// not given.
    #[arg(long, value_enum)]
    preprocess: Option<PreprocessArg>,

    /// Style layers and weights, e.g. `relu1_1:0.2,block2_conv1:0.2`;
    /// overrides --similarity.
    #[arg(long, value_name = "NAME:W,...")]
    style_layers: Option<String>,

    /// Content layer, e.g. `block5_conv4`, `relu4_2`, `conv4_2` (pre-ReLU).
    #[arg(long, value_name = "NAME")]
    content_layer: Option<String>,

    /// Also save the image every N iterations, as OUTPUT-stem.ITER.ext.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    save_every: Option<u64>,

    /// Write the costs of every iteration to this CSV file
    /// (iteration,content,style,total,seconds).
    #[arg(long, value_name = "FILE.csv")]
    loss_log: Option<PathBuf>,

    /// Refuse a run whose estimated peak memory exceeds this (e.g. 8G,
    /// 512M), before any work; the message says what --size fits. Default:
    /// the machine's memory.
    #[arg(long, value_name = "SIZE", value_parser = memory_size)]
    max_memory: Option<u64>,

    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: Option<u32>,

    /// Where to compute: cpu, cuda (cuda:N for the N-th GPU), wgpu, or
    /// auto: the first CUDA GPU, else a wgpu GPU, else the CPU, among the
    /// backends this binary was built with (cargo features `cuda`, `wgpu`).
    #[arg(long, value_name = "auto|cpu|cuda|wgpu", default_value = "auto", value_parser = device_arg)]
    device: DeviceArg,

    /// How the network runs on the CPU: fast (Winograd convolutions and a
    /// hand-written backward pass; the default) or burn (burn's operators
    /// and autodiff: the reference, and what GPUs use).
    #[arg(long, value_name = "fast|burn", value_parser = engine_arg)]
    engine: Option<Engine>,

    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,

    /// More detail (-v, -vv); STYLIZE_LOG overrides.
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PresetArg {
    Seed,
    Gatys,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OptimizerArg {
    Adam,
    Lbfgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LineSearchArg {
    None,
    StrongWolfe,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PoolingArg {
    Max,
    Avg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ColorArg {
    Luminance,
    Histogram,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SimilarityArg {
    Content,
    Balanced,
    Style,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PreprocessArg {
    /// RGB 0..255 to BGR minus Keras/Caffe ImageNet means.
    Caffe,
    /// Caffe style with HED's means.
    Hed,
    /// torchvision: RGB 0..1, ImageNet mean/std.
    Torch,
}

fn non_negative(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{s} must be a finite number >= 0"))
    }
}

/// `--device`: `auto`, or a device named as [`ComputeDevice`] reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum DeviceArg {
    Auto,
    Exact(ComputeDevice),
}

fn device_arg(s: &str) -> Result<DeviceArg, String> {
    if s.eq_ignore_ascii_case("auto") {
        return Ok(DeviceArg::Auto);
    }
    s.parse()
        .map(DeviceArg::Exact)
        .map_err(|_| format!("`{s}` is not auto, cpu, cuda, cuda:N or wgpu"))
}

fn engine_arg(s: &str) -> Result<Engine, String> {
    s.parse().map_err(|_| format!("`{s}` is not fast or burn"))
}

fn memory_size(s: &str) -> Result<u64, String> {
    stylize::memory::parse_size(s)
}

fn positive(s: &str) -> Result<f32, String> {
    let v = non_negative(s)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{s} must be > 0"))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    // wgpu logs its failed probes of graphics APIs it then does not use
    // (EGL on a machine without a GPU) as errors: only with -v.
    let level = match cli.verbose {
        0 => format!("{level},wgpu_hal=off"),
        _ => level.to_string(),
    };
    env_logger::Builder::from_env(env_logger::Env::new().filter_or("STYLIZE_LOG", level))
        .format_timestamp(None)
        .init();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), Error> {
    let say = |msg: String| {
        if !cli.quiet {
            eprintln!("{msg}");
        }
    };
    // Everything a user can get wrong is checked before the long part.
    image_io::output_format(&cli.output)?;
    check_output_dir(&cli.output)?;
    if let Some(plot) = &cli.plot {
        check_output_dir(plot)?;
        let ext = plot.extension().map(|e| e.to_ascii_lowercase());
        if ext.as_deref() != Some("png".as_ref()) {
            return Err(Error::parameter(
                "plot",
                format!("{}: the plot is a PNG; name it *.png", plot.display()),
            ));
        }
    }
    let content = load_image(&cli.content)?;
    let styles = cli
        .style
        .iter()
        .map(|p| load_image(p))
        .collect::<Result<Vec<_>, _>>()?;
    let config = build_config(cli)?;
    if cli.dump.is_some() && config.scales != Scales::Fixed(1) {
        return Err(Error::parameter(
            "dump",
            "--dump records a single-scale run; drop --scales",
        ));
    }
    if let Some(dir) = &cli.dump {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    config.validate()?;
    // Before the weights, which may be downloaded: a device this binary
    // was built without is a user error.
    let device = match cli.device {
        DeviceArg::Auto => ComputeDevice::best_available(),
        DeviceArg::Exact(d) => {
            d.check()?;
            d
        }
    };

    let show_bars = !cli.quiet && std::io::stderr().is_terminal();
    let (weights_path, origin) =
        resolve_weights(cli.weights.as_deref(), &mut DownloadBar::new(show_bars))?;
    let preprocess = cli.preprocess.map(|p| match p {
        PreprocessArg::Caffe => Preprocess::KERAS_CAFFE,
        PreprocessArg::Hed => Preprocess::HED,
        PreprocessArg::Torch => Preprocess::TORCH,
    });
    let weights = load_vgg_weights(&weights_path, preprocess)?;
    let layers = config.resolve_layers(weights.arch)?;
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

    let mut stylizer = match Stylizer::with_device(&weights, device) {
        // `auto` settles for the CPU when the GPU it found fails to start.
        Err(e) if cli.device == DeviceArg::Auto && device != ComputeDevice::Cpu => {
            log::warn!("{e}; using the CPU");
            Stylizer::new(&weights)
        }
        r => r?,
    };
    if let Some(t) = cli.threads {
        stylizer = stylizer.with_threads(t as usize)?;
    }
    if let Some(engine) = cli.engine {
        stylizer = stylizer.with_engine(engine)?;
    }
    say(format!("device: {}", stylizer.device_description()));
    say(format!(
        "optimizer {} (step {}), {} iteration(s) per scale",
        config.optimizer,
        config.effective_learning_rate(),
        config.iterations
    ));
    let estimate = stylizer.estimate_memory(&content, &styles, &config)?;
    log::info!(
        "estimated peak memory {} (limit {})",
        stylize::memory::human(estimate),
        config
            .max_memory
            .map_or_else(|| "none".to_string(), stylize::memory::human)
    );
    if let Some(dir) = &cli.dump {
        let problem = stylizer.problem(&content, &styles, &config)?;
        stylize::dump::write_start(dir, &problem, &config, &weights)?;
    }
    let title = format!(
        "{} in the style of {}",
        file_name(&cli.content),
        cli.style
            .iter()
            .map(|p| file_name(p))
            .collect::<Vec<_>>()
            .join(" + ")
    );
    let mut observer = CliObserver::new(
        show_bars,
        cli.loss_log.as_deref(),
        cli.save_every.map(|n| (n as usize, cli.output.clone())),
    )?
    .with_plot(cli.plot.as_deref(), title);
    let start = Instant::now();
    let result = stylizer.stylize(&content, &styles, &config, &mut observer)?;
    observer.finish()?;
    save_image(&result.image, &cli.output)?;
    if let Some(dir) = &cli.dump {
        stylize::dump::write_final(dir, &result)?;
    }
    let costs = result.final_costs;
    let (c, s, t) = (costs.content, costs.style, costs.total);
    say(format!(
        "wrote {} ({}x{}) after {} iterations ({} evaluations) in {:.1} s; final cost {t:.4e} (content {c:.4e}, style {s:.4e})",
        cli.output.display(),
        result.image.width(),
        result.image.height(),
        result.iterations,
        result.evaluations,
        start.elapsed().as_secs_f64()
    ));
    std::io::stderr().flush().ok();
    Ok(())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The preset's settings with every given flag applied on top.
fn build_config(cli: &Cli) -> Result<StyleConfig, Error> {
    let mut config = StyleConfig::preset(match cli.preset {
        PresetArg::Seed => Preset::Seed,
        PresetArg::Gatys => Preset::Gatys,
    });
    if let Some(s) = cli.similarity {
        if config.style_layers.is_some() {
            return Err(Error::parameter(
                "similarity",
                format!(
                    "the {} preset sets its own style layers; use --style-layers instead",
                    cli.preset.name()
                ),
            ));
        }
        config.similarity = match s {
            SimilarityArg::Content => Similarity::Content,
            SimilarityArg::Balanced => Similarity::Balanced,
            SimilarityArg::Style => Similarity::Style,
        };
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
        config.optimizer = match o {
            OptimizerArg::Adam => Optimizer::Adam,
            OptimizerArg::Lbfgs => Optimizer::Lbfgs,
        };
    }
    config.learning_rate = cli.lr;
    if let Some(l) = cli.line_search {
        config.line_search = match l {
            LineSearchArg::None => LineSearch::None,
            LineSearchArg::StrongWolfe => LineSearch::StrongWolfe,
        };
    }
    if let Some(n) = cli.lbfgs_history {
        config.lbfgs_history = n as usize;
    }
    if let Some(init) = &cli.init {
        config.init = match init.as_str() {
            "content" => Init::Content,
            "noise" => Init::Noise,
            "style" => Init::Style,
            path => Init::Image(load_image(Path::new(path))?),
        };
    }
    if let Some(v) = cli.init_noise {
        config.init_noise = v;
    }
    if let Some(v) = cli.tv_weight {
        config.tv_weight = v;
    }
    if let Some(p) = cli.pooling {
        config.pooling = match p {
            PoolingArg::Max => Pooling::Max,
            PoolingArg::Avg => Pooling::Avg,
        };
    }
    if let Some(c) = cli.preserve_colors {
        config.preserve_colors = Some(match c {
            ColorArg::Luminance => ColorPreservation::Luminance,
            ColorArg::Histogram => ColorPreservation::Histogram,
        });
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
    if cli.line_search.is_some() && config.optimizer != Optimizer::Lbfgs {
        return Err(Error::parameter(
            "line search",
            "--line-search applies to --optimizer lbfgs only",
        ));
    }
    config.max_memory = cli.max_memory.or_else(stylize::memory::machine_memory);
    // Give the count mismatch in terms of flags.
    config.blend_weights(cli.style.len())?;
    if config.init == Init::Style && cli.style.is_empty() {
        return Err(Error::parameter("init", "--init style needs a --style"));
    }
    Ok(config)
}

impl PresetArg {
    fn name(self) -> &'static str {
        match self {
            PresetArg::Seed => "seed",
            PresetArg::Gatys => "gatys",
        }
    }
}

/// Fails early when the output's folder does not exist.
fn check_output_dir(output: &Path) -> Result<(), Error> {
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => return Ok(()),
    };
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the output's folder does not exist",
            ),
        ))
    }
}
