//! How long a GIF of a clip takes to write, on one thread (as before
//! 2026-12-06, when frames were mapped and compressed one after another)
//! and on every core: medians of interleaved runs, their ratio, and
//! whether the two files are the same bytes.
//!
//! `cargo run --release -p stylize-frames --example gif_speed [FRAMES [WIDTH HEIGHT]]`
//! (default 250 frames of 640x272, the size of the README's clip).

use std::time::Instant;

use stylize_frames::image::RgbImage;
use stylize_frames::{create_sink, SinkOptions};

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let frames = args.first().copied().unwrap_or(250);
    let (w, h) = match args[..] {
        [_, w, h] => (w, h),
        _ => (640, 272),
    };
    // A painted-looking clip: smooth colour fields moving, with grain.
    let clip: Vec<RgbImage> = (0..frames)
        .map(|k| {
            RgbImage::from_fn(w, h, |x, y| {
                let (fx, fy) = (x as f32 + 3.0 * k as f32, y as f32);
                let grain = ((x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ k) % 23) as f32;
                let r = 128.0 + 100.0 * (fx / 37.0).sin() + grain;
                let g = 128.0 + 90.0 * (fy / 23.0 + fx / 91.0).cos() + grain;
                let b = 128.0 + 80.0 * ((fx + fy) / 53.0).sin() - grain;
                stylize_frames::image::Rgb([r as u8, g as u8, b as u8])
            })
        })
        .collect();
    let dir = tempfile::tempdir()?;
    let write = |name: &str| -> Result<(f64, Vec<u8>), Box<dyn std::error::Error + Send + Sync>> {
        let path = dir.path().join(name);
        let start = Instant::now();
        let mut sink = create_sink(&path, &SinkOptions::default())?;
        for frame in &clip {
            sink.write_frame(frame)?;
        }
        sink.finish()?;
        let seconds = start.elapsed().as_secs_f64();
        Ok((seconds, std::fs::read(&path)?))
    };
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let all = rayon::ThreadPoolBuilder::new().build()?;
    let (mut t1, mut tn) = (Vec::new(), Vec::new());
    let mut same = true;
    for round in 0..3 {
        let (a, bytes_one) = one.install(|| write("one.gif"))?;
        let (b, bytes_all) = all.install(|| write("all.gif"))?;
        same &= bytes_one == bytes_all;
        println!(
            "round {round}: 1 thread {a:.2} s, {} threads {b:.2} s",
            all.current_num_threads()
        );
        t1.push(a);
        tn.push(b);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (m1, mn) = (median(&mut t1), median(&mut tn));
    println!(
        "{frames} frames of {w}x{h}: median 1 thread {m1:.2} s, {} threads {mn:.2} s, ratio {:.2}; same bytes: {same}",
        all.current_num_threads(),
        m1 / mn
    );
    Ok(())
}
