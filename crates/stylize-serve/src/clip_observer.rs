//! The observer of a video job: each iteration as for a photo (progress,
//! cancellation), and each finished frame as the job's preview.

use std::ops::ControlFlow;

use stylize::video::{FrameResult, VideoObserver};
use stylize::{Iteration, Observer};

use crate::job_observer::{preview_jpeg, JobObserver};

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
        match preview_jpeg(&result.image, self.inner.preview_side) {
            Ok(jpeg) => self
                .inner
                .board
                .frame_done(self.inner.id, self.frames_done, jpeg),
            Err(e) => log::warn!("job {}: frame preview not encoded: {e}", self.inner.id),
        }
        if self.inner.cancel.load(std::sync::atomic::Ordering::Relaxed) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}
