//! Runs stylize-flow's DIS on the pairs written by
//! `reference/flow/make_synthetic.py` and reports the end-point error
//! against the ground truth and the time per pair.
//!
//! ```text
//! cargo run -p stylize-flow --release --example flow_bench -- DATA_DIR \
//!     [--threads 2] [--rounds 5] [--warmup 3] [--preset ultrafast|fast|medium] \
//!     [--finest-scale N] [--json OUT.json] [--save-flow] [--symmetric]
//! ```
//!
//! EPE and timing follow `reference/flow/opencv_dis.py`: EPE averaged over
//! the pixels whose ground-truth target lies inside frame B ("valid") and
//! over all pixels; time is the median over rounds of `DisFlow::calc`
//! alone (the grey images are made beforehand); `--warmup` untimed passes
//! over all pairs come first, then `--rounds` timed passes over all pairs.
//!
//! `--symmetric` also computes, untimed, each pair's flow from B to A and
//! reports the EPE of [`symmetric_flow`](stylize_flow::symmetric_flow)
//! (the forward flow averaged with the reversed backward one where they
//! agree), the flow `stylize video` carries paintings along.
//!
//! `--finest-scale N` overrides the preset's finest pyramid level (medium:
//! 1, half resolution; 0 runs the patch search at full resolution).

use std::error::Error;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::time::Instant;

use stylize_flow::{symmetric_flow, DisFlow, DisParams, Flow, GrayImage, Preset};

fn grey(path: &Path) -> Result<GrayImage, Box<dyn Error>> {
    let img = image::open(path)?.to_rgb8();
    let (w, h) = img.dimensions();
    Ok(GrayImage::from_rgb8(w as usize, h as usize, img.as_raw())?)
}

/// Mean EPE over pixels whose ground-truth target is inside the frame, and
/// over all pixels.
fn epe(f: &Flow, gt: &Flow) -> (f64, f64) {
    let (w, h) = (gt.width, gt.height);
    let (mut valid, mut n_valid, mut all) = (0.0f64, 0usize, 0.0f64);
    for y in 0..h {
        for x in 0..w {
            let q = y * w + x;
            let e = f64::from(((f.u[q] - gt.u[q]).powi(2) + (f.v[q] - gt.v[q]).powi(2)).sqrt());
            all += e;
            let (tx, ty) = (x as f32 + gt.u[q], y as f32 + gt.v[q]);
            if tx >= 0.0 && ty >= 0.0 && tx <= (w - 1) as f32 && ty <= (h - 1) as f32 {
                valid += e;
                n_valid += 1;
            }
        }
    }
    (valid / n_valid.max(1) as f64, all / (w * h).max(1) as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let (mut threads, mut rounds, mut warmup, mut preset) =
        (2usize, 5usize, 3usize, Preset::Medium);
    let (mut json, mut save, mut symmetric) = (None, false, false);
    let mut finest_scale = None;
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--threads" => threads = value()?.parse()?,
            "--rounds" => rounds = value()?.parse()?,
            "--warmup" => warmup = value()?.parse()?,
            "--preset" => {
                preset = match value()?.as_str() {
                    "ultrafast" => Preset::UltraFast,
                    "fast" => Preset::Fast,
                    "medium" => Preset::Medium,
                    p => return Err(format!("unknown preset {p}").into()),
                }
            }
            "--finest-scale" => finest_scale = Some(value()?.parse()?),
            "--json" => json = Some(value()?),
            "--save-flow" => save = true,
            "--symmetric" => symmetric = true,
            _ if dir.is_none() && !a.starts_with("--") => dir = Some(a),
            _ => return Err(format!("unexpected argument {a}").into()),
        }
    }
    let dir =
        dir.ok_or("usage: flow_bench DATA_DIR [--threads N] [--rounds N] [--preset P] [--finest-scale N] [--json F]")?;
    let dir = Path::new(&dir);
    let list: serde_json::Value =
        serde_json::from_reader(BufReader::new(File::open(dir.join("pairs.json"))?))?;
    let pairs = list["pairs"].as_array().ok_or("pairs.json: no pairs")?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    // One flow computer for the whole run, like one cv2 DIS object: buffers
    // are reused between pairs.
    let mut params = DisParams::preset(preset);
    if let Some(s) = finest_scale {
        params.finest_scale = s;
    }
    let mut dis = DisFlow::new(params.clone())?;

    let mut data = Vec::new();
    for p in pairs {
        let field = |k: &str| p[k].as_str().ok_or(format!("pairs.json: missing {k}"));
        let name = field("name")?.to_string();
        let a = grey(&dir.join(field("a")?))?;
        let b = grey(&dir.join(field("b")?))?;
        let gt = Flow::read_flo(BufReader::new(File::open(dir.join(field("gt")?))?))?;
        data.push((name, a, b, gt));
    }
    // Warm-up passes over all pairs, then timed passes over all pairs.
    let mut flows = Vec::new();
    let mut times = vec![Vec::new(); data.len()];
    pool.install(|| -> Result<(), stylize_flow::FlowError> {
        for _ in 0..warmup.max(1) {
            flows = data
                .iter()
                .map(|(_, a, b, _)| dis.calc(a, b))
                .collect::<Result<_, _>>()?;
        }
        for _ in 0..rounds {
            for (k, (_, a, b, _)) in data.iter().enumerate() {
                let t = Instant::now();
                flows[k] = dis.calc(a, b)?;
                times[k].push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        Ok(())
    })?;
    let mut results = Vec::new();
    for (((name, a, b, gt), flow), times) in data.iter().zip(&flows).zip(times) {
        let (e_valid, e_all) = epe(flow, gt);
        let e_symmetric = if symmetric {
            let backward = pool.install(|| dis.calc(b, a))?;
            Some(epe(&symmetric_flow(flow, &backward)?, gt).0)
        } else {
            None
        };
        if save {
            flow.write_flo(BufWriter::new(File::create(
                dir.join(format!("{name}_stylize.flo")),
            )?))?;
        }
        let ms = median(times);
        let sym_text = e_symmetric.map_or(String::new(), |e| format!("  symmetric EPE {e:.3} px"));
        println!("{name:12} EPE {e_valid:.3} px (all {e_all:.3})  {ms:.2} ms{sym_text}");
        results.push(
            serde_json::json!({"name": name, "epe": e_valid, "epe_all": e_all, "ms": ms,
            "epe_symmetric": e_symmetric}),
        );
    }
    let mean_of = |key: &str| {
        results.iter().filter_map(|r| r[key].as_f64()).sum::<f64>() / results.len().max(1) as f64
    };
    let mean_epe = mean_of("epe");
    let median_ms = median(results.iter().filter_map(|r| r["ms"].as_f64()).collect());
    println!("mean EPE {mean_epe:.3} px, median {median_ms:.2} ms/pair");
    if symmetric {
        println!("mean symmetric EPE {:.3} px", mean_of("epe_symmetric"));
    }
    if let Some(path) = json {
        let out = serde_json::json!({
            "impl": "stylize-flow", "preset": format!("{preset:?}").to_lowercase(),
            "finest_scale": params.finest_scale, "threads": threads,
            "pairs": results, "mean_epe": mean_epe, "median_ms": median_ms,
        });
        serde_json::to_writer_pretty(BufWriter::new(File::create(path)?), &out)?;
    }
    Ok(())
}
