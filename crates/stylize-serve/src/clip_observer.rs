//! The observer of a video job: each iteration as for a photo (progress,
//! cancellation), and each finished frame as the job's preview.

use std::ops::ControlFlow;

use stylize::video::{FrameResult, VideoObserver};
use stylize::{Iteration, Observer};

use crate::job_observer::JobObserver;

pub(crate) struct ClipObserver {
    pub(crate) inner: JobObserver,
    pub(crate) frames_done: usize,
}

impl VideoObserver for ClipObserver {
    fn iteration(&mut self, _frame: usize, it: &Iteration<'_>) -> ControlFlow<()> {
        self.inner.iteration(it)
    }

    fn frame_done(&mut self, result: &FrameResult) -> ControlFlow<()> {
        self.frames_done += 1;
        self.inner.frame_preview(self.frames_done, &result.image);
        if self.inner.cancel.load(std::sync::atomic::Ordering::Relaxed) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}
