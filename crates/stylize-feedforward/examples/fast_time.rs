//! Times stylize-feedforward as `bench/fast_ort.py` times onnxruntime, on
//! the same inputs: `bench/fast` runs the two interleaved.
//!
//!     cargo run --release -p stylize-feedforward --example fast_time -- \
//!         --kind arbitrary|builtin --size S [--reps N] [--threads T]
//!
//! The content is assets/images/chelsea.jpg with its longer side S (both
//! sides rounded to a multiple of 4, Lanczos); `arbitrary` uses
//! assets/images/starry_night.jpg as the style and times style vector +
//! transform, as a user waits for them; `builtin` times style 0. One
//! warm-up run (it also plans for the size), then N timed runs. Prints one
//! JSON line like the Python script's.

use std::path::Path;
use std::time::Instant;

use image::imageops::FilterType;
use stylize_feedforward::{default_models_dir, FastOptions, FastStyle, FastStylizer, StyleMix};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut kind = String::from("builtin");
    let (mut size, mut reps, mut threads) = (512u32, 5usize, 2usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--kind" => kind = value()?,
            "--size" => size = value()?.parse()?,
            "--reps" => reps = value()?.parse()?,
            "--threads" => threads = value()?.parse()?,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/images");
    let photo = image::open(assets.join("chelsea.jpg"))?.to_rgb8();
    let (w, h) = photo.dimensions();
    let scale = size as f64 / w.max(h) as f64;
    let round4 = |v: f64| (((v / 4.0).round() as u32) * 4).max(4);
    let (nw, nh) = (round4(w as f64 * scale), round4(h as f64 * scale));
    let content = image::DynamicImage::ImageRgb8(image::imageops::resize(
        &photo,
        nw,
        nh,
        FilterType::Lanczos3,
    ))
    .to_rgb32f();
    let painting = image::open(assets.join("starry_night.jpg"))?.to_rgb32f();

    let fast = FastStylizer::load(&default_models_dir(), threads)?;
    let options = FastOptions::default();
    // (total, style vector) seconds of one run.
    let once = || -> Result<(f64, f64), Box<dyn std::error::Error>> {
        let t = Instant::now();
        let style = if kind == "arbitrary" {
            FastStyle::Arbitrary(fast.style_vector(&painting, 256)?)
        } else {
            FastStyle::Builtin(StyleMix::single(0)?)
        };
        let predict = t.elapsed().as_secs_f64();
        let out = fast.stylize(&content, &style, &options)?;
        std::hint::black_box(out);
        Ok((t.elapsed().as_secs_f64(), predict))
    };
    once()?;
    let mut times = Vec::with_capacity(reps);
    let mut predict_times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let (total, predict) = once()?;
        times.push(total);
        predict_times.push(predict);
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let list = |v: &[f64]| {
        v.iter()
            .map(|t| format!("{t:.6}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let predict = if kind == "arbitrary" {
        format!(", \"predict_times\": [{}]", list(&predict_times))
    } else {
        String::new()
    };
    println!(
        "{{\"kind\": \"{kind}\", \"size\": [{nw}, {nh}], \"threads\": {threads}, \"times\": [{}]{predict}, \"median\": {median:.6}}}",
        list(&times)
    );
    Ok(())
}
