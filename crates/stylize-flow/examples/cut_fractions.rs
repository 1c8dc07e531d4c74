//! The share of each consecutive pair's pixels that a painting may be
//! carried over (see `consistency` and `carried_consistency`), with the
//! flow tests alone and with the brightness test too, for a folder of
//! frames: how far the brightness test lowers the shares within a shot
//! (where a share below `CUT_THRESHOLD` would split it) and at the cuts.
//!
//! ```text
//! cargo run -p stylize-flow --release --example cut_fractions -- FRAMES_DIR [--per-pair]
//! ```
//!
//! The frames are PNG (or JPEG) files taken in name order; the flow is
//! DIS with its default settings in each direction, as `stylize video`
//! computes it.

use std::error::Error;
use std::path::PathBuf;

use stylize_flow::{
    carried_consistency, consistency, consistent_fraction, DisFlow, DisParams, GrayImage,
    CUT_THRESHOLD,
};

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .ok_or("usage: cut_fractions FRAMES_DIR [--per-pair]")?;
    let per_pair = args.iter().any(|a| a == "--per-pair");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
    });
    paths.sort();
    let mut greys = Vec::with_capacity(paths.len());
    for p in &paths {
        let img = image::open(p)?.to_rgb8();
        let (w, h) = (img.width() as usize, img.height() as usize);
        greys.push(GrayImage::from_rgb8(w, h, img.as_raw())?);
    }
    let mut flow = DisFlow::new(DisParams::default())?;
    // Within shots (pairs the flow tests keep) and at cuts (pairs they
    // split): the lowest share of each kind, with and without brightness.
    let (mut shot_min, mut shot_min_bright) = (f64::INFINITY, f64::INFINITY);
    let (mut shot_mean, mut shot_mean_bright, mut shot_pairs) = (0.0, 0.0, 0usize);
    let (mut new_cuts, mut cuts) = (0usize, 0usize);
    for (i, pair) in greys.windows(2).enumerate() {
        let (here, past) = (&pair[1], &pair[0]);
        let here_to_past = flow.calc(here, past)?;
        let past_to_here = flow.calc(past, here)?;
        let flows = consistent_fraction(&consistency(&here_to_past, &past_to_here)?);
        let bright = consistent_fraction(&carried_consistency(
            here,
            past,
            &here_to_past,
            &past_to_here,
        )?);
        if per_pair {
            println!(
                "{}: flow tests {flows:.3}, with brightness {bright:.3}",
                i + 2
            );
        }
        if flows < CUT_THRESHOLD {
            cuts += 1;
        } else {
            shot_min = shot_min.min(flows);
            shot_min_bright = shot_min_bright.min(bright);
            shot_mean += flows;
            shot_mean_bright += bright;
            shot_pairs += 1;
            if bright < CUT_THRESHOLD {
                new_cuts += 1;
            }
        }
    }
    let n = shot_pairs.max(1) as f64;
    println!(
        "{} frames; within shots ({shot_pairs} pairs): mean share {:.3} with the flow tests, {:.3} \
         with brightness too; lowest {shot_min:.3} and {shot_min_bright:.3}; cuts by the flow tests \
         {cuts}, pairs the brightness test adds as cuts {new_cuts}",
        greys.len(),
        shot_mean / n,
        shot_mean_bright / n,
    );
    Ok(())
}
