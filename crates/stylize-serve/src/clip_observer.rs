//! The observer of a video job: each iteration as for a photo (progress,
//! cancellation) but timed as the whole clip, and each finished frame as
//! the job's preview.

use std::ops::ControlFlow;
use std::time::Instant;

use stylize::video::{FrameResult, VideoObserver};
use stylize::{Iteration, Observer};

use crate::board::JobClock;
use crate::job_observer::JobObserver;

pub(crate) struct ClipObserver {
    pub(crate) inner: JobObserver,
    pub(crate) frames_done: usize,
    /// When the clip started painting.
    pub(crate) start: Instant,
    /// Frames in the clip, when known.
    pub(crate) frames: Option<usize>,
    /// Iterations of a frame that continues a shot.
    pub(crate) later_iterations: usize,
    /// Iterations of the frames finished.
    pub(crate) iterations_done: u64,
    /// The current frame's iterations.
    pub(crate) current: usize,
}

impl ClipObserver {
    /// The clip's time so far, and its time left: the iterations still
    /// planned (the rest of this frame, then each later frame's) at the
    /// clip's rate so far. A scene cut's extra iterations are not foreseen.
    fn clock(&self, it: &Iteration<'_>) -> JobClock {
        let elapsed_s = self.start.elapsed().as_secs_f64();
        let done = self.iterations_done + it.iteration as u64;
        let eta_s = self.frames.and_then(|n| {
            let rest_of_frame = it.iterations.saturating_sub(it.iteration) as u64;
            let later = n.saturating_sub(self.frames_done + 1) as u64;
            let left = rest_of_frame + later * self.later_iterations as u64;
            (done > 0 && elapsed_s > 0.0).then(|| left as f64 * elapsed_s / done as f64)
        });
        JobClock { elapsed_s, eta_s }
    }
}

impl VideoObserver for ClipObserver {
    fn stop_signal(&self) -> Option<stylize::StopSignal> {
        self.inner.stop_signal()
    }

    fn iteration(&mut self, _frame: usize, it: &Iteration<'_>) -> ControlFlow<()> {
        self.current = it.iterations;
        self.inner.clock = Some(self.clock(it));
        self.inner.iteration(it)
    }

    fn frame_done(&mut self, result: &FrameResult) -> ControlFlow<()> {
        self.frames_done += 1;
        self.iterations_done += std::mem::take(&mut self.current) as u64;
        self.inner.frame_preview(self.frames_done, &result.image);
        if self.inner.cancel.load(std::sync::atomic::Ordering::Relaxed) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}
