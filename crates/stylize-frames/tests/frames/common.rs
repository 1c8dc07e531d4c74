//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use stylize_frames::{create_sink, open_source, Frame, FrameSource, SinkOptions, SourceOptions};

pub const W: u32 = 32;
pub const H: u32 = 24;

/// A smooth test frame that moves with `k`: every channel a ramp, no
/// wrap-around (sharp edges would make lossy formats' errors depend on
/// where they fall).
pub fn frame(k: u32) -> Frame {
    Frame::from_fn(W, H, |x, y| {
        image::Rgb([
            (x * 7 + k * 4) as u8,
            (y * 9 + k * 2) as u8,
            (96 + x * 2 + y * 3) as u8,
        ])
    })
}

/// A frame of one colour.
pub fn flat(w: u32, h: u32, rgb: [u8; 3]) -> Frame {
    Frame::from_pixel(w, h, image::Rgb(rgb))
}

pub fn frames(n: u32) -> Vec<Frame> {
    (0..n).map(frame).collect()
}

/// Writes `frames` to `output` with `options`.
pub fn write(output: &Path, frames: &[Frame], options: &SinkOptions) -> stylize_frames::Result<()> {
    let mut sink = create_sink(output, options)?;
    for f in frames {
        sink.write_frame(f)?;
    }
    sink.finish()
}

/// Every frame of `input`.
pub fn read_all(input: &Path) -> stylize_frames::Result<(stylize_frames::VideoInfo, Vec<Frame>)> {
    read_all_with(input, &SourceOptions::default())
}

pub fn read_all_with(
    input: &Path,
    options: &SourceOptions,
) -> stylize_frames::Result<(stylize_frames::VideoInfo, Vec<Frame>)> {
    let mut source: Box<dyn FrameSource> = open_source(input, options)?;
    let info = *source.info();
    let mut out = Vec::new();
    while let Some(f) = source.next_frame()? {
        out.push(f);
    }
    Ok((info, out))
}

/// Mean absolute difference per channel value.
pub fn mae(a: &Frame, b: &Frame) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

/// Largest absolute difference of any channel value.
pub fn max_diff(a: &Frame, b: &Frame) -> u8 {
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| x.abs_diff(y))
        .max()
        .unwrap_or(0)
}

/// The names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `ffmpeg` when it runs, else prints the skip line and returns `None`.
pub fn ffmpeg_or_skip(test: &str) -> Option<PathBuf> {
    let ffmpeg = stylize_frames::ffmpeg_from_env();
    match Command::new(&ffmpeg).arg("-version").output() {
        Ok(out) if out.status.success() => Some(ffmpeg),
        _ => {
            println!("SKIPPED {test}: ffmpeg not found");
            None
        }
    }
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The mean of each channel.
fn channel_means(f: &Frame) -> [f64; 3] {
    let mut sum = [0.0; 3];
    for p in f.pixels() {
        for c in 0..3 {
            sum[c] += f64::from(p[c]);
        }
    }
    let n = f64::from(f.width() * f.height());
    sum.map(|s| s / n)
}

/// Fails unless the frames of `back` step from one to the next as those
/// of `input` do, in the mean of their red channel (the test frames step 4
/// levels), by at least a quarter of the step: a frame dropped, repeated
/// or out of place breaks the run. A bound on each frame's error alone
/// would not see it, as consecutive frames differ by less than a lossy
/// format's error per pixel; and nearest-frame matching does not work
/// either, as a clip-wide palette pulls the first and last frames' means
/// toward the middle (measured on a GIF: 110.7 and 126.4 for 108.5 and
/// 128.5).
pub fn assert_in_order(what: &str, input: &[Frame], back: &[Frame]) {
    assert_eq!(back.len(), input.len(), "{what}: frame count");
    let red = |f: &Frame| channel_means(f)[0];
    for i in 1..input.len() {
        let step = red(&input[i]) - red(&input[i - 1]);
        let got = red(&back[i]) - red(&back[i - 1]);
        assert!(
            got * step > 0.0 && got.abs() >= step.abs() / 4.0,
            "{what}: frames {} to {} step {got:.2} in red, the originals {step:.2}",
            i,
            i + 1
        );
    }
}
