//! Checks a GPU against the CPU: one evaluation of the objective (costs and
//! gradient, [`stylize::Problem::evaluate`]) on the same problem on both,
//! their relative differences, and the seconds per evaluation on each. Used
//! by `bench/gpu-check`.
//!
//! ```text
//! cargo run --release --features cuda --example device_check -- WEIGHTS
//!     [--device cuda|cuda:N|wgpu] [--size 256] [--preset seed|gatys] [--steps 5]
//!     [--content IMG] [--style IMG] [--cost-tolerance 1e-3] [--grad-tolerance 1e-2]
//! ```
//!
//! The CPU runs one evaluation (the compared one, `cpu_seconds`) and then
//! `--steps` timed ones; the GPU runs one (the compared one, timed as
//! `gpu_first_seconds`: it includes compiling the kernels) and then `--steps`
//! timed ones. Both evaluate the CPU problem's initial image, the CPU on the
//! default engine (the fast one). Prints one JSON line; exits non-zero when
//! a cost (content, style, TV or total) differs by more than
//! `--cost-tolerance` (relative) or the gradient by more than
//! `--grad-tolerance` (relative L2). The defaults, 1e-3 and 1e-2, are loose:
//! float32 over a deep network summing in different orders is around 1e-5
//! and 1e-4 (`scripts/check-wgpu` asks for 1e-4 and 1e-3).
//!
//! `device_check --backends` instead prints the devices this build has
//! (`cpu`, then `cuda` and `wgpu` where compiled in), one a line, so that a
//! script can tell what a prebuilt binary was built with.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use serde_json::json;
use stylize::{load_image, load_vgg_weights, ComputeDevice, CostValues, StyleConfig, Stylizer};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage: device_check --backends\n\
                     \x20      device_check WEIGHTS [--device cuda|cuda:N|wgpu] [--size N] \
                     [--preset seed|gatys] [--steps N] [--content IMG] [--style IMG] \
                     [--cost-tolerance X] [--grad-tolerance X]";

/// Default tolerances (relative) beyond which the check fails.
const COST_TOLERANCE: f64 = 1e-3;
const GRAD_TOLERANCE: f64 = 1e-2;

fn main() -> ExitCode {
    // The library's warnings (a software adapter, say) on stderr.
    env_logger::Builder::from_env(env_logger::Env::new().filter_or("STYLIZE_LOG", "warn"))
        .format_timestamp(None)
        .init();
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("device_check: the GPU differs from the CPU beyond tolerance");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("device_check: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> BoxResult<bool> {
    let assets = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/images");
    let mut content_path = assets.join("chelsea.jpg");
    let mut style_path = assets.join("starry_night.jpg");
    let mut device = ComputeDevice::Cuda(0);
    let mut size = 256u32;
    let mut preset = "seed".to_string();
    let mut steps = 5usize;
    let mut cost_tolerance = COST_TOLERANCE;
    let mut grad_tolerance = GRAD_TOLERANCE;
    let mut weights_path = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--device" => device = value()?.parse()?,
            "--size" => size = value()?.parse()?,
            "--preset" => preset = value()?,
            "--steps" => steps = value()?.parse()?,
            "--content" => content_path = PathBuf::from(value()?),
            "--style" => style_path = PathBuf::from(value()?),
            "--cost-tolerance" => cost_tolerance = value()?.parse()?,
            "--grad-tolerance" => grad_tolerance = value()?.parse()?,
            "--backends" => {
                println!("cpu");
                for d in [ComputeDevice::Cuda(0), ComputeDevice::Wgpu] {
                    if d.is_compiled() {
                        println!("{}", d.backend());
                    }
                }
                return Ok(true);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(true);
            }
            _ if a.starts_with("--") => return Err(format!("unknown option {a}\n{USAGE}").into()),
            _ if weights_path.is_none() => weights_path = Some(PathBuf::from(a)),
            _ => return Err(USAGE.into()),
        }
    }
    let weights_path = weights_path.ok_or(USAGE)?;
    let config = match preset.as_str() {
        "gatys" => StyleConfig::gatys(),
        "seed" => StyleConfig::seed(),
        p => return Err(format!("unknown preset {p} (gatys|seed)").into()),
    }
    .with_size(size);

    let weights = load_vgg_weights(Path::new(&weights_path), None)?;
    let content = load_image(&content_path)?;
    let style = load_image(&style_path)?;
    let styles = std::slice::from_ref(&style);

    let cpu = Stylizer::with_device(&weights, ComputeDevice::Cpu, None)?;
    let cpu_problem = cpu.problem(&content, styles, &config)?;
    let image = &cpu_problem.init;
    let t = Instant::now();
    let (cpu_costs, cpu_grad) = cpu_problem.evaluate(image)?;
    let cpu_seconds = t.elapsed().as_secs_f64();
    let mut cpu_times = Vec::with_capacity(steps);
    for _ in 0..steps {
        let t = Instant::now();
        cpu_problem.evaluate(image)?;
        cpu_times.push(t.elapsed().as_secs_f64());
    }

    let t = Instant::now();
    let gpu = Stylizer::with_device(&weights, device, None)?;
    let gpu_start_seconds = t.elapsed().as_secs_f64();
    let gpu_problem = gpu.problem(&content, styles, &config)?;
    let t = Instant::now();
    let (gpu_costs, gpu_grad) = gpu_problem.evaluate(image)?;
    let gpu_first_seconds = t.elapsed().as_secs_f64();
    let mut times = Vec::with_capacity(steps);
    for _ in 0..steps {
        let t = Instant::now();
        gpu_problem.evaluate(image)?;
        times.push(t.elapsed().as_secs_f64());
    }

    let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(f64::MIN_POSITIVE);
    let grad = grad_difference(&cpu_grad, &gpu_grad)?;
    let costs = |c: &CostValues| json!({"content": c.content, "style": c.style, "tv": c.tv, "total": c.total});
    let rel_costs = [
        rel(gpu_costs.content, cpu_costs.content),
        rel(gpu_costs.style, cpu_costs.style),
        rel(gpu_costs.tv, cpu_costs.tv),
        rel(gpu_costs.total, cpu_costs.total),
    ];
    let [rel_content, rel_style, rel_tv, rel_total] = rel_costs;
    let ok = rel_costs.iter().all(|r| *r <= cost_tolerance) && grad.rel_l2 <= grad_tolerance;
    let (width, height) = cpu_problem.content.dimensions();
    let out = json!({
        "device": gpu.device_description(),
        "cpu": cpu.device_description(),
        "preset": preset,
        "size": size,
        "width": width,
        "height": height,
        "cpu_costs": costs(&cpu_costs),
        "gpu_costs": costs(&gpu_costs),
        "rel_content": rel_content,
        "rel_style": rel_style,
        "rel_tv": rel_tv,
        "rel_total": rel_total,
        "grad_rel_l2": grad.rel_l2,
        "grad_rel_max": grad.rel_max,
        "grad_cosine": grad.cosine,
        "cpu_seconds": cpu_seconds,
        "cpu_seconds_per_eval": cpu_times,
        "cpu_median": median(&cpu_times),
        "gpu_start_seconds": gpu_start_seconds,
        "gpu_first_seconds": gpu_first_seconds,
        "gpu_seconds_per_eval": times,
        "gpu_median": median(&times),
        "cost_tolerance": cost_tolerance,
        "grad_tolerance": grad_tolerance,
        "ok": ok,
    });
    println!("{out}");
    Ok(ok)
}

struct GradDifference {
    /// `|g_gpu - g_cpu| / |g_cpu|` (L2).
    rel_l2: f64,
    /// `max |g_gpu - g_cpu| / max |g_cpu|`.
    rel_max: f64,
    cosine: f64,
}

fn grad_difference(cpu: &[f32], gpu: &[f32]) -> BoxResult<GradDifference> {
    if cpu.len() != gpu.len() {
        return Err(format!("gradients of {} and {} values", cpu.len(), gpu.len()).into());
    }
    let (mut diff2, mut cpu2, mut gpu2, mut dot) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let (mut diff_max, mut cpu_max) = (0.0f64, 0.0f64);
    for (&c, &g) in cpu.iter().zip(gpu) {
        let (c, g) = (f64::from(c), f64::from(g));
        diff2 += (g - c).powi(2);
        cpu2 += c * c;
        gpu2 += g * g;
        dot += c * g;
        diff_max = diff_max.max((g - c).abs());
        cpu_max = cpu_max.max(c.abs());
    }
    let tiny = f64::MIN_POSITIVE;
    Ok(GradDifference {
        rel_l2: diff2.sqrt() / cpu2.sqrt().max(tiny),
        rel_max: diff_max / cpu_max.max(tiny),
        cosine: dot / (cpu2.sqrt() * gpu2.sqrt()).max(tiny),
    })
}

fn median(v: &[f64]) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(s[n / 2]),
        _ => Some(0.5 * (s[n / 2 - 1] + s[n / 2])),
    }
}
