//! Which input frames a video run paints (`--frames`, `--fps`), and those
//! frames read from a source.

use std::time::Duration;

use stylize_frames::FrameSource;

/// A frame rate as a fraction: the simplest within a billionth of `f`
/// (continued fractions: NTSC's 29.97... read from a clip's 30000/1001 is
/// written back as 30000/1001, not 2997/100; 12.5 as 25/2), else the
/// closest with a denominator up to a million, else over 1000 (at least
/// 1/1000).
pub(crate) fn fps_rational(f: f64) -> (u32, u32) {
    let max = f64::from(u32::MAX);
    if f.is_finite() && f > 0.0 && f <= max {
        // Convergents h/k of f's continued fraction.
        let (mut h0, mut h1, mut k0, mut k1) = (0.0f64, 1.0f64, 1.0f64, 0.0f64);
        let mut x = f;
        for _ in 0..40 {
            let a = x.floor();
            let (h2, k2) = (a * h1 + h0, a * k1 + k0);
            if h2 > max || k2 > 1_000_000.0 {
                break;
            }
            (h0, h1, k0, k1) = (h1, h2, k1, k2);
            if h1 >= 1.0 && ((h1 / k1) / f - 1.0).abs() < 1e-9 {
                return (h1 as u32, k1 as u32);
            }
            let rest = x - a;
            if rest <= 0.0 {
                break;
            }
            x = 1.0 / rest;
        }
        // The last convergent: the closest fraction with a denominator
        // that small (before: rounded to thousandths, 13/1000 for 1/80).
        if h1 >= 1.0 {
            return (h1 as u32, k1 as u32);
        }
    }
    ((f * 1000.0).round().clamp(1.0, max) as u32, 1000)
}

/// Whether two frame rates are one as a user writes it: within 0.1%
/// (`29.97` for NTSC's 30000/1001, as stylize prints it, is not a rate a
/// frame lower).
pub(crate) fn same_rate(a: f64, b: f64) -> bool {
    (a / b - 1.0).abs() < 1e-3
}

/// Which input frames are painted: `--frames A..B`, then `--fps` below the
/// input's rate keeps frames evenly.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    first: usize,
    last: Option<usize>,
    /// Keep one input frame in `step` (fractional).
    step: f64,
}

impl Selection {
    pub(crate) fn new(
        frames: Option<(usize, Option<usize>)>,
        in_fps: Option<f64>,
        out_fps: Option<f64>,
    ) -> Self {
        let (first, last) = frames.unwrap_or((1, None));
        let step = match (in_fps, out_fps) {
            (Some(i), Some(o)) if !same_rate(i, o) && o < i => i / o,
            _ => 1.0,
        };
        Selection { first, last, step }
    }

    /// The display times of the frames painted, of the input's `times`.
    pub(crate) fn times(&self, times: &[Duration]) -> Vec<Duration> {
        let kept = times.iter().enumerate().filter(|&(i, _)| self.keeps(i));
        kept.map(|(_, &t)| t).collect()
    }

    /// Whether 0-based input frame `i` is painted.
    fn keeps(&self, i: usize) -> bool {
        let n = i + 1;
        if n < self.first || self.last.is_some_and(|l| n > l) {
            return false;
        }
        let k = (n - self.first) as f64;
        (k / self.step).floor() != ((k - 1.0) / self.step).floor() || k == 0.0
    }

    /// Frames painted out of `n` input frames, without visiting them (a
    /// video's header may claim any length). Of the `m` frames from
    /// `first` on, `keeps` takes the first and one more each time
    /// `floor(k / step)` steps up, which it does by at most 1 (`step >=
    /// 1`): `floor((m - 1) / step) + 1` in all.
    pub(crate) fn count(&self, n: usize) -> usize {
        let end = self.last.map_or(n, |l| n.min(l));
        let m = (end + 1).saturating_sub(self.first);
        if m == 0 {
            0
        } else {
            ((m - 1) as f64 / self.step).floor() as usize + 1
        }
    }

    /// The input's frame number (from 1, as `--frames` counts) of the
    /// painted frame `j` (from 0); `None` where every input frame is
    /// painted from the first, so the two numbers are one.
    pub(crate) fn input_number(&self, j: usize) -> Option<usize> {
        if self.first == 1 && self.step == 1.0 {
            return None;
        }
        // The `j`-th kept frame: the least `k` at which `floor(k / step)`
        // reaches `j` (as `keeps` takes them).
        let mut k = ((j as f64) * self.step).floor() as usize;
        while k > 0 && ((k - 1) as f64 / self.step).floor() >= j as f64 {
            k -= 1;
        }
        while ((k as f64) / self.step).floor() < j as f64 {
            k += 1;
        }
        Some(self.first + k)
    }

    fn past_end(&self, i: usize) -> bool {
        self.last.is_some_and(|l| i + 1 > l)
    }
}

/// The selected frames of a source, as the library takes them.
pub(crate) struct Frames<'a> {
    pub(crate) source: Box<dyn FrameSource>,
    pub(crate) selection: &'a Selection,
    pub(crate) index: usize,
    /// Say it, once, when a clip whose length was not known ends before
    /// `--frames`' last frame (one of known length is said before the
    /// run). `false` for a second read of the same clip.
    pub(crate) tell_short: bool,
    /// The input, for what is said.
    pub(crate) input: &'a std::path::Path,
}

impl<'a> Frames<'a> {
    /// The frames of `source` (the input `input`) that `selection` keeps,
    /// from its first; a clip that ends before `--frames`' end is said
    /// where its length was not known beforehand.
    pub(crate) fn new(
        source: Box<dyn FrameSource>,
        selection: &'a Selection,
        input: &'a std::path::Path,
    ) -> Self {
        let tell_short = source.info().frames.is_none();
        Frames {
            source,
            selection,
            index: 0,
            tell_short,
            input,
        }
    }
}

/// A frame of the input that could not be read: its number, from 1 in
/// the input's own count (before `--frames` and `--fps` select), and why.
#[derive(Debug)]
struct BadFrame {
    number: usize,
    /// The first frame selected, when it comes before this one: the
    /// frames before this one can still be painted.
    first: Option<usize>,
    source: stylize_frames::FramesError,
}

impl std::fmt::Display for BadFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read frame {} of the input", self.number)?;
        if let Some(first) = self.first {
            // A video run continues its work folder with another end.
            write!(
                f,
                " (`--frames {first}..{}` paints the frames before it)",
                self.number - 1
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for BadFrame {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Iterator for Frames<'_> {
    type Item = Result<image::DynamicImage, stylize::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.selection.past_end(self.index) {
                return None;
            }
            // A frame not painted is passed over, not decoded where the
            // source need not (a folder's file; before: read, and a damaged
            // one stopped `--frames` that left it out). (An empty stand-in.)
            let read = if self.selection.keeps(self.index) {
                self.source.next_frame()
            } else {
                let skipped = self.source.skip_frame();
                skipped.map(|there| there.then(|| stylize_frames::Frame::new(0, 0)))
            };
            let frame = match read {
                Ok(Some(f)) => f,
                Ok(None) => {
                    let last = self.selection.last.filter(|&l| self.index < l);
                    if let Some(last) = last.filter(|_| self.tell_short) {
                        self.tell_short = false;
                        let first = self.selection.first;
                        if self.index >= first {
                            log::warn!(
                                "--frames {first}..{last}: {} ends after frame {}; painted \
                                 {first}..{}",
                                self.input.display(),
                                self.index,
                                self.index
                            );
                        }
                    }
                    return None;
                }
                Err(source) => {
                    let bad = BadFrame {
                        number: self.index + 1,
                        first: Some(self.selection.first).filter(|&f| f <= self.index),
                        source,
                    };
                    return Some(Err(stylize::Error::FrameSource(Box::new(bad))));
                }
            };
            let i = self.index;
            self.index += 1;
            if self.selection.keeps(i) {
                return Some(Ok(image::DynamicImage::ImageRgb8(frame)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clip's exact rate is written back exactly; a typed one as typed.
    #[test]
    fn frame_rates_are_written_as_their_simplest_fraction() {
        let ntsc = 30000.0 / 1001.0;
        assert_eq!(fps_rational(ntsc), (30000, 1001));
        assert_eq!(fps_rational(24000.0 / 1001.0), (24000, 1001));
        assert_eq!(fps_rational(60000.0 / 1001.0), (60000, 1001));
        assert_eq!(fps_rational(25.0), (25, 1));
        assert_eq!(fps_rational(12.5), (25, 2));
        assert_eq!(fps_rational(29.97), (2997, 100));
        assert_eq!(fps_rational(0.01), (1, 100));
        // Slow rates as typed, not to the nearest thousandth (13/1000 for
        // 0.0125, 4% fast).
        assert_eq!(fps_rational(0.0125), (1, 80));
        assert_eq!(fps_rational(0.0175), (7, 400));
        // None within a billionth below a million in the denominator: the
        // closest such convergent, not 12/1000 (2.8% off).
        for x in [0.012_345_678_9, 0.017_320_508_075_688_77] {
            let (n, d) = fps_rational(x);
            assert!(
                (f64::from(n) / f64::from(d) / x - 1.0).abs() < 1e-6,
                "{n}/{d}"
            );
            assert!(d <= 1_000_000, "{n}/{d}");
        }
        // Any rate comes back within a billionth.
        let (n, d) = fps_rational(std::f64::consts::PI);
        assert!((f64::from(n) / f64::from(d) / std::f64::consts::PI - 1.0).abs() < 1e-9);
        assert!(d <= 1_000_000, "{n}/{d}");
    }

    /// A painted frame's input number is the one `keeps` took.
    #[test]
    fn painted_frames_know_their_input_numbers() {
        assert_eq!(Selection::new(None, Some(25.0), None).input_number(3), None);
        for (frames, i, o) in [
            (Some((3, None)), 25.0, 25.0),
            (None, 30.0, 12.0),
            (Some((5, Some(90))), 30000.0 / 1001.0, 10.0),
        ] {
            let s = Selection::new(frames, Some(i), Some(o));
            let kept: Vec<usize> = (0..100).filter(|&k| s.keeps(k)).map(|k| k + 1).collect();
            for (j, &n) in kept.iter().enumerate() {
                assert_eq!(s.input_number(j), Some(n), "{frames:?} {i} {o}: {j}");
            }
        }
    }

    /// The count without visiting the frames is the count of `keeps`,
    /// and a header claiming 10^15 frames is counted at once.
    #[test]
    fn frame_counts_match_the_selection() {
        for frames in [None, Some((1, None)), Some((4, None)), Some((3, Some(17)))] {
            for (i, o) in [
                (None, None),
                (Some(25.0), Some(10.0)),
                (Some(29.97), Some(12.5)),
                (Some(30.0), Some(7.0)),
            ] {
                let s = Selection::new(frames, i, o);
                for n in 0..80 {
                    let visited = (0..n).filter(|&i| s.keeps(i)).count();
                    assert_eq!(s.count(n), visited, "{frames:?} {i:?}->{o:?} n={n}");
                }
            }
        }
        let s = Selection::new(None, Some(30.0), Some(10.0));
        assert_eq!(s.count(1_000_000_000_000_000), 333_333_333_333_334);
    }

    #[test]
    fn frame_selection() {
        let s = Selection::new(Some((3, Some(6))), None, None);
        let kept: Vec<usize> = (0..10).filter(|&i| s.keeps(i)).collect();
        assert_eq!(kept, vec![2, 3, 4, 5]);
        assert!(s.past_end(6));
        // 30 fps in, 10 out: every third frame.
        let s = Selection::new(None, Some(30.0), Some(10.0));
        let kept: Vec<usize> = (0..9).filter(|&i| s.keeps(i)).collect();
        assert_eq!(kept, vec![0, 3, 6]);
        assert_eq!(s.count(30), 10);
        // A higher output rate keeps everything.
        assert_eq!(Selection::new(None, Some(10.0), Some(30.0)).count(7), 7);
        // NTSC's rate as printed keeps every frame.
        let ntsc = 30000.0 / 1001.0;
        assert_eq!(Selection::new(None, Some(ntsc), Some(29.97)).count(30), 30);
        assert_eq!(
            Selection::new(None, Some(ntsc), Some(29.9)).count(1000),
            997
        );
    }
}
