//! The observer of a running job: records each iteration, publishes
//! progress (at most ten times a second) and previews (see
//! [`crate::ServeConfig::preview_interval`]), and stops the run when the
//! job is cancelled.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use image::DynamicImage;
use stylize::{Iteration, Observer};

use crate::board::{Board, JobClock};
use crate::job::{CostRow, Costs};

const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
/// A preview waits at least this many times its own cost.
const PREVIEW_COST_FACTOR: u32 = 10;

pub(crate) struct JobObserver {
    pub(crate) board: Arc<Board>,
    pub(crate) id: u64,
    pub(crate) cancel: Arc<AtomicBool>,
    pub(crate) preview_interval: Duration,
    pub(crate) preview_side: u32,
    last_progress: Option<Instant>,
    next_preview: Option<Instant>,
    /// Previews of the image being painted (a video job shows its
    /// finished frames instead).
    previews: bool,
    /// The whole job's time for the next iteration, when the run is one
    /// of several (a clip's frame); set by [`crate::clip_observer`].
    pub(crate) clock: Option<JobClock>,
}

impl JobObserver {
    pub(crate) fn new(
        board: Arc<Board>,
        id: u64,
        cancel: Arc<AtomicBool>,
        preview_interval: Duration,
        preview_side: u32,
    ) -> Self {
        JobObserver {
            board,
            id,
            cancel,
            preview_interval,
            preview_side,
            last_progress: None,
            next_preview: None,
            previews: true,
            clock: None,
        }
    }

    /// No previews during the iterations.
    pub(crate) fn without_previews(mut self) -> Self {
        self.previews = false;
        self
    }

    fn send_preview(&mut self, it: &Iteration<'_>) {
        let start = Instant::now();
        match it.image().map(|img| preview_jpeg(&img, self.preview_side)) {
            Ok(Ok(jpeg)) => self.board.preview(self.id, jpeg, it.iteration),
            Ok(Err(e)) => log::warn!("job {}: preview not encoded: {e}", self.id),
            Err(e) => log::warn!("job {}: preview not read: {e}", self.id),
        }
        let cost = start.elapsed();
        let now = Instant::now();
        match now.checked_add(self.preview_interval.max(cost * PREVIEW_COST_FACTOR)) {
            Some(next) => self.next_preview = Some(next),
            // An interval past any clock (`Duration::MAX`): no more.
            None => self.previews = false,
        }
    }
}

impl Observer for JobObserver {
    /// A cancel during the set-up (seconds at a large size) stops it
    /// there.
    fn stop_signal(&self) -> Option<stylize::StopSignal> {
        Some(stylize::StopSignal::new(Arc::clone(&self.cancel)))
    }

    fn iteration(&mut self, it: &Iteration<'_>) -> ControlFlow<()> {
        let now = Instant::now();
        let last = it.iteration >= it.iterations;
        let row = CostRow {
            iteration: it.iteration,
            scale: it.scale,
            costs: Costs {
                total: it.total,
                content: it.content,
                style: it.style,
                tv: it.tv,
            },
            elapsed_s: it.elapsed.as_secs_f64(),
        };
        let publish = last
            || it.iteration == 1
            || self
                .last_progress
                .is_none_or(|t| now.duration_since(t) >= PROGRESS_INTERVAL);
        if publish {
            self.last_progress = Some(now);
        }
        self.board.iteration(
            self.id,
            row,
            it.iterations,
            it.scales,
            publish,
            self.clock.take(),
        );
        let cancelled = self.cancel.load(Ordering::Relaxed);
        // The first preview comes with the first iteration; the final image
        // is the result itself.
        if self.previews && !last && !cancelled && self.next_preview.is_none_or(|t| now >= t) {
            self.send_preview(it);
        }
        if cancelled {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

impl JobObserver {
    /// A clip's `frames_done`-th finished frame as the job's preview.
    pub(crate) fn frame_preview(&self, frames_done: usize, frame: &DynamicImage) {
        match preview_jpeg(frame, self.preview_side) {
            Ok(jpeg) => self.board.frame_done(self.id, frames_done, jpeg),
            Err(e) => log::warn!("job {}: frame preview not encoded: {e}", self.id),
        }
    }
}

/// A JPEG of `img` at most `side` pixels on its longer side.
pub(crate) fn preview_jpeg(img: &DynamicImage, side: u32) -> Result<Vec<u8>, image::ImageError> {
    let rgb = if img.width().max(img.height()) > side {
        img.resize(side, side, image::imageops::FilterType::Triangle)
            .to_rgb8()
    } else {
        img.to_rgb8()
    };
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    rgb.write_with_encoder(encoder)?;
    Ok(out)
}
