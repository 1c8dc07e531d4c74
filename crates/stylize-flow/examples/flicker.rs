//! Temporal consistency of a clip and a stylised version of it: the
//! warping error `E_warp` (Lai et al. 2018) of both with flows and masks
//! computed once on the original frames, their ratio, the long-term error
//! against the first frame of each shot, and the scene cuts found.
//!
//! ```text
//! cargo run -p stylize-flow --release --example flicker -- ORIG_DIR [STYLISED_DIR] \
//!     [--json] [--preset ultrafast|fast|medium] [--threads N] [--frames N] \
//!     [--cut-threshold 0.5] [--no-long-term] [--per-pair] [--carried]
//! ```
//!
//! `--carried` also gives the `E_warp` a stylised clip would score if each
//! of its frames were its predecessor carried along the flow, with no
//! repainting at all ([`WarpReference::carried_e_warp`]): how much of the
//! figure the resampling of the painted texture and the flow themselves
//! account for.
//!
//! `--per-pair` adds to the `--json` output each pair's figures (a
//! `per_pair` list in `original` and in `stylised`) and each pair's share
//! of consistent pixels (`consistent_fractions`, at the top level); the
//! text output does not show them.
//!
//! Both folders hold the frames as PNG (or JPEG) files, taken in file-name
//! order; the stylised frames must have the originals' size (resize them
//! first) and count. Without `STYLISED_DIR` only the original is measured.
//! `reference/flicker/e_warp.py` computes the same figures with OpenCV.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};
use stylize_flow::{planar_from_rgb8, DisParams, FlowError, Preset, WarpOptions, WarpReference};

/// Width, height and planar RGB frames.
type Clip = (usize, usize, Vec<Vec<f32>>);

/// Planar RGB frames in [0, 1] from the image files of `dir`, in name
/// order, and their size.
fn read_frames(dir: &Path, limit: Option<usize>) -> Result<Clip, Box<dyn Error>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
    });
    paths.sort();
    if let Some(n) = limit {
        paths.truncate(n);
    }
    let mut size = None;
    let mut frames = Vec::with_capacity(paths.len());
    for p in &paths {
        let img = image::open(p)?.to_rgb8();
        let (w, h) = (img.width() as usize, img.height() as usize);
        match size {
            None => size = Some((w, h)),
            Some(s) if s != (w, h) => {
                return Err(format!(
                    "{}: {w}x{h}, the first frame is {}x{}",
                    p.display(),
                    s.0,
                    s.1
                )
                .into())
            }
            Some(_) => {}
        }
        frames.push(planar_from_rgb8(w, h, img.as_raw())?);
    }
    let (w, h) = size.ok_or_else(|| format!("{}: no PNG or JPEG frames", dir.display()))?;
    Ok((w, h, frames))
}

/// `E_warp` and the long-term error of one clip as JSON.
fn measure(
    r: &WarpReference,
    w: usize,
    h: usize,
    frames: &[Vec<f32>],
    long_term: bool,
    per_pair: bool,
) -> Result<Value, FlowError> {
    let e = r.e_warp(w, h, frames)?;
    let mut v = json!({
        "e_warp": e.mean,
        "e_warp_within_shots": e.mean_within_shots,
    });
    if long_term {
        v["long_term"] = json!(r.long_term(w, h, frames)?.mean);
    }
    if per_pair {
        v["per_pair"] = json!(e.per_pair);
    }
    Ok(v)
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let mut dirs = Vec::new();
    let (mut as_json, mut long_term, mut per_pair, mut with_carried) = (false, true, false, false);
    let (mut threads, mut limit) = (None, None);
    let mut options = WarpOptions::default();
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--json" => as_json = true,
            "--no-long-term" => long_term = false,
            "--per-pair" => per_pair = true,
            "--carried" => with_carried = true,
            "--threads" => threads = Some(value()?.parse::<usize>()?),
            "--frames" => limit = Some(value()?.parse::<usize>()?),
            "--cut-threshold" => options.cut_threshold = value()?.parse()?,
            "--preset" => {
                options.params = DisParams::preset(match value()?.as_str() {
                    "ultrafast" => Preset::UltraFast,
                    "fast" => Preset::Fast,
                    "medium" => Preset::Medium,
                    p => return Err(format!("unknown preset {p}").into()),
                })
            }
            _ if !a.starts_with("--") && dirs.len() < 2 => dirs.push(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument {a}").into()),
        }
    }
    options.long_term = long_term;
    let orig_dir = dirs
        .first()
        .ok_or("usage: flicker ORIG_DIR [STYLISED_DIR] [--json] [--preset P] [--threads N] [--frames N] [--cut-threshold F] [--no-long-term] [--per-pair] [--carried]")?;
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        pool = pool.num_threads(n);
    }
    let pool = pool.build()?;

    let (w, h, orig) = read_frames(orig_dir, limit)?;
    let styl = dirs.get(1).map(|d| read_frames(d, limit)).transpose()?;
    let t0 = Instant::now();
    let r = pool.install(|| WarpReference::with_options(w, h, &orig, &options))?;
    let flow_s = t0.elapsed().as_secs_f64();
    let original = pool.install(|| measure(&r, w, h, &orig, long_term, per_pair))?;
    let stylised = match &styl {
        Some((sw, sh, s)) => Some(pool.install(|| measure(&r, *sw, *sh, s, long_term, per_pair))?),
        None => None,
    };
    let ratio = |key: &str| {
        stylised
            .as_ref()
            .and_then(|s| Some(s[key].as_f64()? / original[key].as_f64()?))
    };
    let mut out = json!({
        "frames": r.frames(),
        "width": w,
        "height": h,
        "cut_threshold": options.cut_threshold,
        "cuts": r.cuts(),
        "shots": r.shots().iter().map(|s| [s.start, s.end]).collect::<Vec<_>>(),
        "original": original,
        "flow_seconds": flow_s,
    });
    if per_pair {
        out["consistent_fractions"] = json!(r.consistent_fractions());
    }
    if let (true, Some((sw, sh, s))) = (with_carried, &styl) {
        if (*sw, *sh) != (w, h) {
            return Err("--carried needs stylised frames of the originals' size".into());
        }
        let f = pool.install(|| r.carried_e_warp(&orig, s, &options.params))?;
        out["carried"] = json!(f);
        out["carried_ratio"] =
            json!(f / original["e_warp_within_shots"].as_f64().unwrap_or(f64::NAN));
    }
    if let Some(s) = &stylised {
        out["stylised"] = s.clone();
        out["ratio"] = json!(ratio("e_warp"));
        if long_term {
            out["long_term_ratio"] = json!(ratio("long_term"));
        }
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} frames {w}x{h}, flows and masks in {flow_s:.2} s; cuts before frames {:?}",
        r.frames(),
        r.cuts()
    );
    let show = |name: &str, v: &Value| {
        print!(
            "{name:9} E_warp {:.6}  (within shots {:.6})",
            v["e_warp"].as_f64().unwrap_or(f64::NAN),
            v["e_warp_within_shots"].as_f64().unwrap_or(f64::NAN)
        );
        if let Some(l) = v.get("long_term").and_then(Value::as_f64) {
            print!("  long-term {l:.6}");
        }
        println!();
    };
    show("original", &out["original"]);
    if let Some(f) = out.get("carried").and_then(Value::as_f64) {
        println!(
            "carried   E_warp {f:.6}  (each frame its predecessor carried along the flow; {:.2}x the original's)",
            out["carried_ratio"].as_f64().unwrap_or(f64::NAN)
        );
    }
    if let Some(s) = &stylised {
        show("stylised", s);
        println!(
            "ratio     E_warp {:.3}{}",
            ratio("e_warp").unwrap_or(f64::NAN),
            if long_term {
                format!("  long-term {:.3}", ratio("long_term").unwrap_or(f64::NAN))
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
