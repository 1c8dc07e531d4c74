//! The `image` job: one photo in the style of one or more paintings.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use stylize::{
    load_image, load_vgg_weights, output_format, parse_style_layers, resolve_weights, save_image,
    ComputeDevice, Error, Init, Optimizer, Preprocess, Scales, StyleConfig, Stylizer,
    WeightsOrigin,
};

use crate::args::{DeviceArg, ImageArgs};
use crate::progress::{CliObserver, DownloadBar};

/// Runs the job: everything a user can get wrong is checked before the
/// long part; the output (and the log and plot) appear only when complete.
///
/// # Errors
/// Any [`Error`], for `main` to print.
pub fn run(cli: &ImageArgs, quiet: bool) -> Result<(), Error> {
    let say = |msg: String| {
        if !quiet {
            eprintln!("{msg}");
        }
    };
    // Everything a user can get wrong is checked before the long part.
    output_format(&cli.output)?;
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

    let show_bars = !quiet && std::io::stderr().is_terminal();
    let (weights_path, origin) =
        resolve_weights(cli.weights.as_deref(), &mut DownloadBar::new(show_bars))?;
    let preprocess = cli.preprocess.map(Preprocess::from);
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

    let mut stylizer = match Stylizer::with_device(&weights, device, cli.engine) {
        // `auto` settles for the CPU when the GPU it found fails to start.
        Err(e @ Error::Backend(_))
            if cli.device == DeviceArg::Auto && device != ComputeDevice::Cpu =>
        {
            log::warn!("{e}; using the CPU");
            Stylizer::with_device(&weights, ComputeDevice::Cpu, cli.engine)?
        }
        r => r?,
    };
    if let Some(t) = cli.threads {
        stylizer = stylizer.with_threads(t as usize)?;
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
fn build_config(cli: &ImageArgs) -> Result<StyleConfig, Error> {
    let mut config = StyleConfig::preset(cli.preset);
    if let Some(s) = cli.similarity {
        if config.style_layers.is_some() {
            return Err(Error::parameter(
                "similarity",
                format!(
                    "the {} preset sets its own style layers; use --style-layers instead",
                    cli.preset
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
