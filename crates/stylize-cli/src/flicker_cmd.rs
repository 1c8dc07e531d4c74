//! The `flicker` job: how coherent a stylised clip is from frame to frame,
//! measured on the original clip's flow; and the same figures for
//! `video --report`, a frame at a time.

use std::borrow::Cow;
use std::path::Path;

use image::RgbImage;
use indicatif::ProgressBar;
use serde_json::json;
use stylize_flow::{FlickerMeter, WarpOptions};
use stylize_frames::{ffmpeg_from_env, open_source, FileIdentity, FrameSource, SourceOptions};

use crate::args::FlickerArgs;
use crate::console::Console;
use crate::interrupt::Interrupt;
use crate::{JobResult, Outcome};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The flicker figures of a clip and its stylised version as JSON, fed a
/// frame pair at a time ([`FlickerMeter`]): memory for a few frames,
/// whatever the clip's length. Every frame is measured at the first
/// original frame's size (a stylised frame of another size is resized).
pub(crate) struct FlickerReport {
    meter: Option<(FlickerMeter, (u32, u32))>,
    /// Whether a stylised frame of another shape was warned about.
    told_shape: bool,
}

impl FlickerReport {
    pub(crate) fn new() -> Self {
        Self {
            meter: None,
            told_shape: false,
        }
    }

    /// Measures the next pair of frames.
    pub(crate) fn push(
        &mut self,
        original: &RgbImage,
        stylized: &RgbImage,
    ) -> Result<(), BoxError> {
        let (meter, (w, h)) = match &mut self.meter {
            Some(m) => m,
            None => {
                let (ow, oh) = original.dimensions();
                // An H.264 or VP9 clip of odd-sized frames lost its last
                // row or column (4:2:0): measured on what both show, the
                // originals cut alike (before: "another shape", and every
                // frame stretched by a pixel).
                let (w, h) = match stylized.dimensions() {
                    (sw, sh) if (sw, sh) == (ow & !1, oh & !1) && sw > 0 && sh > 0 => (sw, sh),
                    _ => (ow, oh),
                };
                let meter = FlickerMeter::new(w as usize, h as usize, &WarpOptions::default())?;
                self.meter.insert((meter, (w, h)))
            }
        };
        let (w, h) = (*w, *h);
        let cut;
        let original = if original.dimensions() != (w, h)
            && original.width() >= w
            && original.height() >= h
            && original.width() - w <= 1
            && original.height() - h <= 1
        {
            cut = image::imageops::crop_imm(original, 0, 0, w, h).to_image();
            &cut
        } else {
            original
        };
        // A smaller painting of the same clip is expected (the working
        // size); another shape means the clips do not match.
        let (sw, sh) = stylized.dimensions();
        let shape = |a: u32, b: u32| f64::from(a) / f64::from(b.max(1));
        if !self.told_shape && (shape(sw, sh) / shape(w, h) - 1.0).abs() > 0.02 {
            self.told_shape = true;
            log::warn!(
                "the stylized frames are {sw}x{sh} and the originals {w}x{h}, another shape: they \
                 are stretched to the originals' size to be measured (are they the same clip?)"
            );
        }
        let planar = |img: &RgbImage| {
            let img = if img.dimensions() == (w, h) {
                Cow::Borrowed(img)
            } else {
                Cow::Owned(image::imageops::resize(
                    img,
                    w,
                    h,
                    image::imageops::FilterType::Triangle,
                ))
            };
            stylize_flow::planar_from_rgb8(w as usize, h as usize, img.as_raw())
        };
        meter.push(planar(original)?, planar(stylized)?)?;
        Ok(())
    }

    /// `E_warp` of the stylised clip and of the original on the flow of
    /// the original, the long-term figures, and the carried figure.
    pub(crate) fn finish(self) -> Result<serde_json::Value, BoxError> {
        let (meter, (w, h)) = self.meter.ok_or("the original clip has no frames")?;
        let f = meter.finish()?;
        let (o, s) = (&f.original, &f.stylised);
        let long =
            |c: &stylize_flow::ClipFlicker| c.long_term.as_ref().map_or(f64::NAN, |l| l.mean);
        let (lo, ls) = (long(o), long(s));
        let (eo, es) = (&o.short_term, &s.short_term);
        Ok(json!({
            "frames": f.frames,
            "size": [w, h],
            // Frames counted from 1, as `--frames` and the messages do.
            "cuts": f.cuts.iter().map(|c| c + 1).collect::<Vec<_>>(),
            "e_warp": { "stylized": es.mean, "original": eo.mean, "ratio": es.mean / eo.mean },
            "e_warp_within_shots": {
                "stylized": es.mean_within_shots,
                "original": eo.mean_within_shots,
                "ratio": es.mean_within_shots / eo.mean_within_shots,
            },
            "long_term": { "stylized": ls, "original": lo, "ratio": ls / lo },
            // E_warp within shots if each stylized frame were its
            // predecessor carried along the flow: how much of the figure the
            // resampling and the flow themselves account for.
            "carried": {
                "stylized": f.carried,
                "ratio": f.carried / eo.mean_within_shots,
            },
            "per_pair": { "stylized": es.per_pair, "original": eo.per_pair },
        }))
    }
}

/// How a measure shows its progress and hears a stop.
pub(crate) struct Measuring<'a> {
    /// Frames to measure, when known.
    pub(crate) total: Option<usize>,
    /// Whether to draw a progress bar, and where.
    pub(crate) show: bool,
    pub(crate) console: Console,
    pub(crate) interrupt: &'a Interrupt,
}

impl Measuring<'_> {
    fn bar(&self) -> ProgressBar {
        if !self.show {
            return ProgressBar::hidden();
        }
        crate::progress::bar_or_spinner(
            &self.console,
            self.total.map(|n| n as u64),
            "{bar:30.cyan/blue} frame {pos}/{len} | measuring flicker | {elapsed} | ETA {eta}",
            "{spinner} frame {pos} | measuring flicker | {elapsed}",
        )
    }
}

/// A progress bar that clears itself however the measure ends.
struct ClearOnDrop(ProgressBar);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Two clips of fewer than two frames each (their count): the warping
/// error compares each frame with the one before.
#[derive(Debug)]
pub(crate) struct TooFewFrames(pub(crate) usize);

impl std::fmt::Display for TooFewFrames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0;
        write!(
            f,
            "the clips have {n} frame{} each; the warping error compares each frame with the \
             one before, so it needs at least two",
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for TooFewFrames {}

/// Two clips of different lengths: the original's frames, the stylized
/// one's.
#[derive(Debug)]
pub(crate) struct FrameCounts(pub(crate) usize, pub(crate) usize);

impl std::fmt::Display for FrameCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the clips have {} and {} frames; they must have the same number",
            self.0, self.1
        )
    }
}

impl std::error::Error for FrameCounts {}

/// Measures two frame sequences in step; `None` when a signal stopped it.
/// Different lengths are an error that gives both counts (the longer one
/// is read to its end to count it).
pub(crate) fn measure_in_step<A, B>(
    original: A,
    stylized: B,
    measuring: &Measuring<'_>,
) -> Result<Option<serde_json::Value>, BoxError>
where
    A: IntoIterator<Item = Result<RgbImage, BoxError>>,
    B: IntoIterator<Item = Result<RgbImage, BoxError>>,
{
    let (mut original, mut stylized) = (original.into_iter(), stylized.into_iter());
    let mut report = FlickerReport::new();
    let mut n = 0usize;
    let bar = ClearOnDrop(measuring.bar());
    let stop = || measuring.interrupt.requested();
    loop {
        if stop() {
            return Ok(None);
        }
        match (original.next().transpose()?, stylized.next().transpose()?) {
            (Some(o), Some(s)) => {
                report.push(&o, &s)?;
                n += 1;
                bar.0.inc(1);
            }
            (None, None) if n < 2 => return Err(Box::new(TooFewFrames(n))),
            (None, None) => return report.finish().map(Some),
            (o, _) => {
                // One of the two had a frame more: count the rest of it.
                let counted = if o.is_some() {
                    count_rest(n + 1, original, stop)?.map(|no| (no, n))
                } else {
                    count_rest(n + 1, stylized, stop)?.map(|ns| (n, ns))
                };
                let Some((no, ns)) = counted else {
                    return Ok(None);
                };
                return Err(Box::new(FrameCounts(no, ns)));
            }
        }
    }
}

/// `counted` plus the frames left in `rest`; `None` when `stop` says so
/// first.
fn count_rest<I>(
    mut counted: usize,
    rest: I,
    stop: impl Fn() -> bool,
) -> Result<Option<usize>, BoxError>
where
    I: Iterator<Item = Result<RgbImage, BoxError>>,
{
    for frame in rest {
        if stop() {
            return Ok(None);
        }
        frame?;
        counted += 1;
    }
    Ok(Some(counted))
}

/// Every frame of `source`, as RGB.
fn frames(mut source: Box<dyn FrameSource>) -> impl Iterator<Item = Result<RgbImage, BoxError>> {
    std::iter::from_fn(move || source.next_frame().map_err(BoxError::from).transpose())
}

/// Runs `stylize flicker`.
///
/// # Errors
/// Unreadable clips, different frame counts.
pub fn run(cli: &FlickerArgs, quiet: bool, interrupt: &Interrupt, console: &Console) -> JobResult {
    // Standard input holds one clip; reading it twice would wait forever.
    if cli.original.as_os_str() == "-" && cli.stylized.as_os_str() == "-" {
        return Err(stylize::Error::parameter(
            "stylized",
            "standard input (`-`) can be only one of --original and --stylized",
        )
        .into());
    }
    // So does a pipe (or another stream) named twice, however spelled
    // (`-` and `/dev/stdin`, a named pipe): each clip would get part of
    // its bytes.
    let stream = |p: &Path| {
        let p = if p.as_os_str() == "-" && cfg!(unix) {
            Path::new("/dev/stdin")
        } else {
            p
        };
        std::fs::metadata(p)
            .is_ok_and(|m| !m.is_file() && !m.is_dir())
            .then(|| FileIdentity::of(p))
            .flatten()
    };
    if let Some(id) = stream(&cli.original) {
        if stream(&cli.stylized) == Some(id) {
            return Err(stylize::Error::parameter(
                "stylized",
                format!(
                    "--original and --stylized are the same stream ({}): a pipe is read only \
                     once, so it can be only one of them",
                    cli.stylized.display()
                ),
            )
            .into());
        }
    }
    let options = SourceOptions {
        ffmpeg: ffmpeg_from_env(),
        ..SourceOptions::default()
    };
    // The sources are opened where they are read: in the pool.
    let run = || {
        let original = open_source(&cli.original, &options)?;
        let stylized = open_source(&cli.stylized, &options)?;
        let measuring = Measuring {
            total: original.total_frames().map(|n| n as usize),
            show: !quiet && crate::progress::bars_drawn(),
            console: console.clone(),
            interrupt,
        };
        measure_in_step(frames(original), frames(stylized), &measuring).map_err(|e| {
            let (o, s) = (cli.original.display(), cli.stylized.display());
            // Which clips, where the message does not say.
            let text = if let Some(few) = e.downcast_ref::<TooFewFrames>() {
                format!("{o} and {s}: {few}")
            } else if let Some(FrameCounts(no, ns)) = e.downcast_ref::<FrameCounts>() {
                format!("{o} has {no} frames and {s} {ns}; they must have the same number")
            } else {
                let said = crate::with_causes(e.as_ref());
                if said.contains(&o.to_string()) || said.contains(&s.to_string()) {
                    return e;
                }
                format!("measuring {o} against {s}: {said}")
            };
            text.into()
        })
    };
    let figures = match cli.threads {
        Some(t) => rayon::ThreadPoolBuilder::new()
            .num_threads(t as usize)
            .build()?
            .install(run)?,
        None => run()?,
    };
    let Some(figures) = figures else {
        note!("stopped: nothing measured");
        return Ok(Outcome::Interrupted);
    };
    let text = if cli.json {
        serde_json::to_string_pretty(&figures)?
    } else {
        // A figure with no pairs to measure (every pair a cut) is `null`
        // in the JSON: "n/a" here.
        let f = |a: &str, b: &str, digits: usize| {
            figures[a][b]
                .as_f64()
                .filter(|v| v.is_finite())
                .map_or_else(|| "n/a".to_string(), |v| format!("{v:.digits$}"))
        };
        // `[3, 17]` as "cuts before frames 3, 17", none as "no cuts".
        let cuts = match figures["cuts"].as_array() {
            Some(c) if !c.is_empty() => format!(
                "cuts before frames {}",
                c.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => "no cuts".to_string(),
        };
        format!(
            "E_warp: stylized {}, original {}, ratio {}; within shots {} vs {}; long-term {} vs {}; carried along the flow {} (ratio {}); {} frames, {cuts}",
            f("e_warp", "stylized", 6),
            f("e_warp", "original", 6),
            f("e_warp", "ratio", 2),
            f("e_warp_within_shots", "stylized", 6),
            f("e_warp_within_shots", "original", 6),
            f("long_term", "stylized", 6),
            f("long_term", "original", 6),
            f("carried", "stylized", 6),
            f("carried", "ratio", 2),
            figures["frames"],
        )
    };
    // A full disk is an error to report, not a panic; a reader gone, no
    // error.
    crate::completions_cmd::write_stdout(format!("{text}\n").as_bytes())?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use std::cell::Cell;

    use super::*;

    /// Odd-sized originals against an mp4's frames, a row and a column
    /// short: measured on what both show, the originals cut (before:
    /// stretched, and said to be "another shape").
    #[test]
    fn an_even_crop_of_odd_frames_is_measured_as_the_same_clip() {
        let frame = |k: u32, (w, h): (u32, u32)| {
            RgbImage::from_fn(w, h, |x, y| {
                let v = ((x + 2 * k) * 7 + y * 13) % 256;
                image::Rgb([v as u8, (v / 2) as u8, 90])
            })
        };
        let mut report = FlickerReport::new();
        for k in 0..3 {
            report
                .push(&frame(k, (33, 17)), &frame(k, (32, 16)))
                .unwrap();
        }
        assert!(!report.told_shape);
        let r = report.finish().unwrap();
        assert_eq!(r["size"], json!([32, 16]));
        // The same pixels: the same figure for both clips.
        let e = &r["e_warp"];
        assert!(
            (e["stylized"].as_f64().unwrap() - e["original"].as_f64().unwrap()).abs() < 1e-12,
            "{r}"
        );
    }

    /// `n` frames of a texture panning right by a pixel a frame.
    fn clip(n: usize) -> Vec<RgbImage> {
        (0..n)
            .map(|t| {
                RgbImage::from_fn(48, 32, |x, y| {
                    let u = x as f32 - t as f32;
                    let v = 127.0 + 100.0 * (0.4 * u).sin() * (0.3 * y as f32).cos();
                    image::Rgb([v as u8, (255.0 - v) as u8, 128])
                })
            })
            .collect()
    }

    /// `frames` in order; asks `interrupt` for a stop as it hands out
    /// frame `stop_at` (1-based); `taken` counts the frames handed out.
    fn frames_until<'a>(
        frames: &'a [RgbImage],
        stop_at: usize,
        interrupt: &'a Interrupt,
        taken: &'a Cell<usize>,
    ) -> impl Iterator<Item = Result<RgbImage, BoxError>> + 'a {
        frames.iter().map(move |f| {
            taken.set(taken.get() + 1);
            if taken.get() == stop_at {
                interrupt.request();
            }
            Ok(f.clone())
        })
    }

    fn measuring(interrupt: &Interrupt) -> Measuring<'_> {
        Measuring {
            total: None,
            show: false,
            console: Console::new(),
            interrupt,
        }
    }

    #[test]
    fn a_stop_ends_the_measure_after_the_current_frame() {
        let six = clip(6);
        let in_step = || six.iter().cloned().map(Ok);

        // Uninterrupted: the figures of six frames.
        let interrupt = Interrupt::default();
        let taken = Cell::new(0);
        let figures = measure_in_step(
            frames_until(&six, usize::MAX, &interrupt, &taken),
            in_step(),
            &measuring(&interrupt),
        )
        .unwrap()
        .unwrap();
        assert_eq!(figures["frames"], 6);
        assert_eq!(taken.get(), 6);

        // A stop as frame 3 is read: nothing after it is read, and no
        // figures come back.
        let interrupt = Interrupt::default();
        let taken = Cell::new(0);
        let stopped = measure_in_step(
            frames_until(&six, 3, &interrupt, &taken),
            in_step(),
            &measuring(&interrupt),
        )
        .unwrap();
        assert!(stopped.is_none());
        assert_eq!(taken.get(), 3);

        // Clips of 6 and 3 frames: an error giving both counts, after the
        // longer one is counted to its end...
        let three = &six[..3];
        let interrupt = Interrupt::default();
        let taken = Cell::new(0);
        let error = measure_in_step(
            frames_until(&six, usize::MAX, &interrupt, &taken),
            three.iter().cloned().map(Ok),
            &measuring(&interrupt),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the clips have 6 and 3 frames; they must have the same number"
        );
        assert_eq!(taken.get(), 6);

        // ...which a stop ends too (here as frame 5 is counted).
        let interrupt = Interrupt::default();
        let taken = Cell::new(0);
        let stopped = measure_in_step(
            frames_until(&six, 5, &interrupt, &taken),
            three.iter().cloned().map(Ok),
            &measuring(&interrupt),
        )
        .unwrap();
        assert!(stopped.is_none());
        assert_eq!(taken.get(), 5);
    }
}
