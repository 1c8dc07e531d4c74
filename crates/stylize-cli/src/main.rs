//! `stylize`: paint a photo in the style of a painting. A thin shell over the
//! `stylize` library: it parses flags, draws progress and prints errors.

mod progress;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use stylize::weights::default::{resolve_weights, WeightsOrigin};
use stylize::{
    image_io, load_image, load_vgg_weights, parse_style_layers, save_image, Error, Preprocess,
    Similarity, StyleConfig, Stylizer,
};

use crate::progress::{CliObserver, DownloadBar};

/// Paint a photo in the style of a painting (Gatys, Ecker & Bethge 2015).
///
/// Defaults reproduce the seed program: VGG19, content layer block5_conv4,
/// style layers block1_conv1..block5_conv1, alpha 10, beta 30, Adam at
/// learning rate 0.01 for 500 iterations at 400 px.
#[derive(Debug, Parser)]
#[command(name = "stylize", version, about, long_about)]
struct Cli {
    /// Content image: the photo whose layout is kept.
    #[arg(long, short = 'c', value_name = "IMAGE")]
    content: PathBuf,

    /// Style image: the painting whose textures and colours are used.
    #[arg(long, short = 's', value_name = "IMAGE")]
    style: PathBuf,

    /// Output image; the format follows the extension (.jpg, .png, .webp).
    #[arg(long, short = 'o', value_name = "IMAGE")]
    output: PathBuf,

    /// Style layer weights preset: deep layers (content), even (balanced),
    /// shallow layers (style).
    #[arg(long, value_enum, default_value_t = SimilarityArg::Balanced)]
    similarity: SimilarityArg,

    /// Optimisation steps.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    epochs: u64,

    /// Working size: the longer side of the image while optimising, in
    /// pixels. The result is resized back to the content's original size.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u32).range(16..=16384))]
    size: u32,

    /// Content weight.
    #[arg(long, default_value_t = 10.0, value_parser = non_negative, allow_negative_numbers = true)]
    alpha: f32,

    /// Style weight.
    #[arg(long, default_value_t = 30.0, value_parser = non_negative, allow_negative_numbers = true)]
    beta: f32,

    /// Adam learning rate on pixel values in [0, 1].
    #[arg(long, default_value_t = 0.01, value_parser = positive, allow_negative_numbers = true)]
    lr: f32,

    /// Seed for the initial noise; the same seed and thread count give the
    /// same output bit for bit.
    #[arg(long, default_value_t = 0)]
    seed: u64,

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

    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: Option<u32>,

    /// Print nothing but errors.
    #[arg(long, short = 'q')]
    quiet: bool,

    /// More detail (-v, -vv); STYLIZE_LOG overrides.
    #[arg(long, short = 'v', action = clap::ArgAction::Count)]
    verbose: u8,
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
    let content = load_image(&cli.content)?;
    let style = load_image(&cli.style)?;
    let mut config = StyleConfig {
        similarity: match cli.similarity {
            SimilarityArg::Content => Similarity::Content,
            SimilarityArg::Balanced => Similarity::Balanced,
            SimilarityArg::Style => Similarity::Style,
        },
        alpha: cli.alpha,
        beta: cli.beta,
        learning_rate: cli.lr,
        iterations: usize::try_from(cli.epochs)
            .map_err(|_| Error::parameter("epochs", "too large"))?,
        size: cli.size,
        seed: cli.seed,
        content_layer: cli.content_layer.clone(),
        ..StyleConfig::default()
    };
    if let Some(spec) = &cli.style_layers {
        config.style_layers = Some(parse_style_layers(spec)?);
    }
    config.validate()?;

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

    let mut stylizer = Stylizer::new(&weights);
    if let Some(t) = cli.threads {
        stylizer = stylizer.with_threads(t as usize)?;
    }
    let mut observer = CliObserver::new(
        show_bars,
        cli.loss_log.as_deref(),
        cli.save_every.map(|n| (n as usize, cli.output.clone())),
    )?;
    let start = Instant::now();
    let result = stylizer.stylize(&content, &style, &config, &mut observer)?;
    observer.finish()?;
    save_image(&result.image, &cli.output)?;
    let (c, s, t) = result.final_costs;
    say(format!(
        "wrote {} ({}x{}) after {} iterations in {:.1} s; final cost {t:.4e} (content {c:.4e}, style {s:.4e})",
        cli.output.display(),
        result.image.width(),
        result.image.height(),
        result.iterations,
        start.elapsed().as_secs_f64()
    ));
    std::io::stderr().flush().ok();
    Ok(())
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
