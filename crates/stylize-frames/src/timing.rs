//! When each frame of an animation (GIF, APNG, WebP) is shown: at one
//! rate, or for each frame's own time where an input's is kept (a title
//! frame shown for a second, a pause before a loop starts again).

use std::time::Duration;

use crate::frame::Fps;

/// The times an animation's frames start at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Timing {
    fps: Fps,
    /// Where each kept frame ends, in milliseconds from the start (the
    /// running sum of their delays); frames after them follow at `fps`.
    ends_ms: Vec<f64>,
}

impl Timing {
    /// Frames at `fps`, the first `times.len()` of them each shown for
    /// its own time instead.
    pub(crate) fn new(fps: Fps, times: Option<&[Duration]>) -> Self {
        let mut end = 0.0;
        let ends_ms = times
            .unwrap_or_default()
            .iter()
            .map(|d| {
                end += d.as_secs_f64() * 1000.0;
                end
            })
            .collect();
        Timing {
            fps: (fps.0.max(1), fps.1.max(1)),
            ends_ms,
        }
    }

    /// The rate of frames past the kept delays.
    pub(crate) fn fps(&self) -> Fps {
        self.fps
    }

    /// Whether every frame is shown at the rate.
    pub(crate) fn is_constant(&self) -> bool {
        self.ends_ms.is_empty()
    }

    /// When frame `k` starts (frame `k - 1` ends), in units of
    /// `1 / units_per_second` s, rounded: rounding never accumulates, so
    /// the total is right to half a unit.
    pub(crate) fn start(&self, k: u64, units_per_second: u64) -> u64 {
        let kept = self.ends_ms.len() as u64;
        let (head_ms, k) = match k.checked_sub(1) {
            None => return 0,
            Some(i) if i < kept => (self.ends_ms[i as usize], 0),
            Some(_) => (self.ends_ms.last().copied().unwrap_or(0.0), k - kept),
        };
        // round(k * d / n s + head) in units, as integers where it can be.
        let (n, d) = (u128::from(self.fps.0), u128::from(self.fps.1));
        let units = u128::from(units_per_second);
        let head = head_ms * units_per_second as f64 / 1000.0;
        if head == 0.0 {
            let num = 2 * u128::from(k) * d * units + n;
            return u64::try_from(num / (2 * n)).unwrap_or(u64::MAX);
        }
        let tail = k as f64 * self.fps.1 as f64 * units_per_second as f64 / self.fps.0 as f64;
        // `as` saturates: an absurd total is u64::MAX, not a wrap.
        (head + tail).round() as u64
    }

    /// The duration of frame `k` in units of `1 / units_per_second` s
    /// (see [`Timing::start`]).
    pub(crate) fn duration(&self, k: u64, units_per_second: u64) -> u64 {
        self.start(k + 1, units_per_second)
            .saturating_sub(self.start(k, units_per_second))
    }

    /// The durations of frames `0..count` (see [`Timing::duration`]).
    pub(crate) fn durations(&self, units_per_second: u64, count: u64) -> Vec<u64> {
        (0..count)
            .map(|k| self.duration(k, units_per_second))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_keeps_the_total_right() {
        let at = |fps| Timing::new(fps, None);
        assert_eq!(at((10, 1)).durations(100, 3), vec![10, 10, 10]);
        let ntsc = at((30000, 1001)).durations(100, 30);
        assert_eq!(ntsc.iter().sum::<u64>(), 100); // 30 frames = 1.001 s
        assert!(ntsc.iter().all(|&d| d == 3 || d == 4));
        assert_eq!(at((3, 1)).durations(1000, 3), vec![333, 334, 333]);
        assert!(at((3, 1)).is_constant());
    }

    #[test]
    fn kept_delays_come_first_then_the_rate() {
        let ms = |v: &[f64]| -> Vec<Duration> {
            v.iter()
                .map(|&m| Duration::from_secs_f64(m / 1000.0))
                .collect()
        };
        // A title frame of 1 s, two of 40 ms, then 25 fps for the rest.
        let t = Timing::new((25, 1), Some(&ms(&[1000.0, 40.0, 40.0])));
        assert!(!t.is_constant());
        assert_eq!(t.durations(100, 5), vec![100, 4, 4, 4, 4]);
        assert_eq!(t.durations(1000, 5), vec![1000, 40, 40, 40, 40]);
        // Fractional delays (an APNG's 1/30 s) add up without drift.
        let third = 1000.0 / 30.0;
        let t = Timing::new((30, 1), Some(&ms(&[third; 30])));
        let cs = t.durations(100, 30);
        assert_eq!(cs.iter().sum::<u64>(), 100);
        assert!(cs.iter().all(|&d| d == 3 || d == 4));
        // Zero delays (a GIF's unset ones) stay 0; an absurd one
        // saturates, never panics.
        let t = Timing::new((25, 1), Some(&ms(&[0.0, 20.0])));
        assert_eq!(t.durations(1000, 3), vec![0, 20, 40]);
        let t = Timing::new((25, 1), Some(&[Duration::MAX, Duration::MAX]));
        assert_eq!(t.durations(1000, 3)[0], u64::MAX);
        // Fewer frames than delays: only theirs.
        let t = Timing::new((25, 1), Some(&ms(&[500.0, 100.0, 100.0])));
        assert_eq!(t.durations(1000, 2), vec![500, 100]);
    }
}
