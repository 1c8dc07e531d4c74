//! Times one style-transfer step: a forward and backward pass of the whole
//! objective ([`stylize::Problem::evaluate`]) at the working size, as the
//! optimisers run it each iteration. Used by `bench/compare`, which runs the
//! same step in PyTorch (`bench/torch_step.py`).
//!
//! ```text
//! cargo run --release --example bench_step -- WEIGHTS SIZE STEPS WARMUP THREADS PRESET
//!     [--content IMG] [--style IMG] [--square] [--engine fast|burn]
//!     [--save-inputs DIR] [--device cpu|cuda|wgpu]
//! cargo run --release --example bench_step -- sgemm THREADS [N]
//! ```
//!
//! - PRESET is `gatys` or `seed` ([`StyleConfig::gatys`] / [`StyleConfig::seed`]
//!   at SIZE px, the content image's longer side).
//! - The content and style default to `assets/images/chelsea.jpg` (451x300,
//!   upsampled beyond that) and `assets/images/starry_night.jpg`.
//! - `--square` crops the content to its centre square first, so that the
//!   working size is SIZE x SIZE.
//! - `--engine` picks the implementation (default: the fast engine on the
//!   CPU, [`stylize::Engine`]).
//! - `sgemm THREADS [N]` instead times faer's `N x N` float32 matrix product
//!   (default 2048, best of 5) on THREADS threads: the peak the fast engine's
//!   products run at. Prints `{"impl": "sgemm-faer", "gflops": ...}`.
//! - `--save-inputs DIR` writes the working-size images the network sees
//!   (`content.npy`, `style_0.npy`, `init.npy`, float32 `[1, 3, H, W]`), the
//!   first step's gradient (`grad.npy`) and `start.json` (layers, weights,
//!   preprocessing), with
//!   [`stylize::dump::write_start`] as the CLI's `--dump` does, so that
//!   PyTorch can run exactly the same step.
//!   With STEPS = WARMUP = 0 nothing is timed: a plan.
//! - `--device` (default `cpu`) runs on a GPU where the example was built
//!   with the backend's feature (`--features cuda`); THREADS then sizes a
//!   CPU pool that the GPU does not use.
//!
//! Prints one JSON line on stdout: `impl`, `size`, `width`, `height`,
//! `seconds_per_step` (each timed step), `median`, `peak_rss_bytes` (VmHWM),
//! `rss_before_steps_bytes` (VmRSS once the problem is built), plus the
//! problem's description and the costs and gradient norm of the first
//! evaluation.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;
use stylize::{load_image, load_vgg_weights, ComputeDevice, Engine, StyleConfig, Stylizer};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage: bench_step WEIGHTS SIZE STEPS WARMUP THREADS PRESET(gatys|seed) \
                     [--content IMG] [--style IMG] [--square] [--engine fast|burn] \
                     [--save-inputs DIR] [--device cpu|cuda|wgpu]\n\
                     \x20      bench_step sgemm THREADS [N]";

fn main() -> ExitCode {
    // The fast engine's per-stage profile (STYLIZE_PROFILE=1) is logged at
    // `info` under the target `stylize::profile`.
    env_logger::Builder::from_env(
        env_logger::Env::new().filter_or("STYLIZE_LOG", "warn,stylize::profile=info"),
    )
    .format_timestamp(None)
    .init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_step: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> BoxResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let assets = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/images");
    let mut content_path = assets.join("chelsea.jpg");
    let mut style_path = assets.join("starry_night.jpg");
    let mut save: Option<PathBuf> = None;
    let mut device = ComputeDevice::Cpu;
    let mut square = false;
    let mut engine: Option<Engine> = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--content" => content_path = PathBuf::from(value()?),
            "--style" => style_path = PathBuf::from(value()?),
            "--save-inputs" => save = Some(PathBuf::from(value()?)),
            "--device" => device = value()?.parse()?,
            "--engine" => engine = Some(value()?.parse()?),
            "--square" => square = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ if a.starts_with("--") => return Err(format!("unknown option {a}\n{USAGE}").into()),
            _ => positional.push(a),
        }
    }
    if positional.first().map(String::as_str) == Some("sgemm") {
        return sgemm(&positional[1..]);
    }
    let [weights_path, size, steps, warmup, threads, preset] = positional.as_slice() else {
        return Err(USAGE.into());
    };
    let size: u32 = size.parse()?;
    let steps: usize = steps.parse()?;
    let warmup: usize = warmup.parse()?;
    let threads: usize = threads.parse()?;
    let config = match preset.as_str() {
        "gatys" => StyleConfig::gatys(),
        "seed" => StyleConfig::seed(),
        p => return Err(format!("unknown preset {p} (gatys|seed)").into()),
    }
    .with_size(size);

    let t0 = Instant::now();
    let weights = load_vgg_weights(Path::new(weights_path), None)?;
    let stylizer = Stylizer::with_device(&weights, device, engine)?.with_threads(threads)?;
    let mut content = load_image(&content_path)?;
    if square {
        let side = content.width().min(content.height());
        content = content.crop_imm(
            (content.width() - side) / 2,
            (content.height() - side) / 2,
            side,
            side,
        );
    }
    let style = load_image(&style_path)?;
    let problem = stylizer.problem(&content, std::slice::from_ref(&style), &config)?;
    let setup_seconds = t0.elapsed().as_secs_f64();
    let (width, height) = problem.content.dimensions();
    let (style_width, style_height) = problem.styles[0].dimensions();

    if let Some(dir) = &save {
        std::fs::create_dir_all(dir)?;
        stylize::dump::write_start(dir, &problem, &config, &weights)?;
    }

    let rss_before_steps = status_bytes("VmRSS:");
    let mut times = Vec::with_capacity(steps);
    let mut first = None;
    for i in 0..warmup + steps {
        let t = Instant::now();
        let (costs, grad) = problem.evaluate(&problem.init)?;
        let dt = t.elapsed().as_secs_f64();
        if first.is_none() {
            let l2 = grad
                .iter()
                .map(|&g| f64::from(g).powi(2))
                .sum::<f64>()
                .sqrt();
            first = Some((costs, l2));
        }
        if i >= warmup {
            times.push(dt);
        }
    }
    let out = json!({
        "impl": "stylize",
        "device": stylizer.device_description(),
        // The fast engine's kernels; burn's own are not ours to name.
        "simd": (stylizer.engine() == Engine::Fast).then(|| stylize::SimdLevel::from_env().effective()),
        "preset": preset,
        "size": size,
        "width": width,
        "height": height,
        "style_width": style_width,
        "style_height": style_height,
        "threads": threads,
        "warmup": warmup,
        "steps": steps,
        "seconds_per_step": times,
        "median": median(&times),
        "peak_rss_bytes": status_bytes("VmHWM:"),
        "rss_before_steps_bytes": rss_before_steps,
        "setup_seconds": setup_seconds,
        "architecture": weights.arch.to_string(),
        "content_layer": problem.layers.content.to_string(),
        "style_layers": style_layer_json(&problem.layers.style),
        "cost_total": first.map(|(c, _)| c.total),
        "grad_l2": first.map(|(_, g)| g),
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{out}")?;
    Ok(())
}

fn style_layer_json(layers: &[(stylize::Layer, f32)]) -> serde_json::Value {
    layers
        .iter()
        .map(|(l, w)| json!([l.to_string(), w]))
        .collect()
}

/// The median (mean of the middle two for an even count); `None` when empty.
fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    })
}

/// A `kB` field of `/proc/self/status` in bytes: `VmHWM:` (the peak
/// resident set) or `VmRSS:` (the current one).
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `sgemm THREADS [N]`: faer's float32 `N x N` product on THREADS threads,
/// best of 5 after a warm-up.
fn sgemm(args: &[String]) -> BoxResult<()> {
    use faer::{Accum, MatMut, MatRef, Par};
    let threads: usize = args.first().ok_or(USAGE)?.parse()?;
    let n: usize = args.get(1).map_or(Ok(2048), |v| v.parse())?;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 13) as f32 * 0.01).collect();
    let b = a.clone();
    let mut c = vec![0.0f32; n * n];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let mut times = Vec::new();
    pool.install(|| {
        for _ in 0..6 {
            let t = Instant::now();
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut c, n, n),
                Accum::Replace,
                MatRef::from_row_major_slice(&a, n, n),
                MatRef::from_row_major_slice(&b, n, n),
                1.0f32,
                Par::rayon(threads),
            );
            times.push(t.elapsed().as_secs_f64());
        }
    });
    let best = times[1..].iter().copied().fold(f64::INFINITY, f64::min);
    let gflops = 2.0 * (n as f64).powi(3) / best / 1e9;
    println!(
        "{}",
        json!({"impl": "sgemm-faer", "n": n, "threads": threads, "seconds": best, "gflops": gflops})
    );
    Ok(())
}
