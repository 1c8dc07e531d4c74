//! Progress reporting for long runs, through an observer that can also stop
//! the run early. Only the binary draws a progress bar.

use std::ops::ControlFlow;
use std::time::Duration;

use image::DynamicImage;

use crate::error::Result;
use crate::StopSignal;

/// Facts about a run, sent once before the first iteration.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Iterations planned, over all scales.
    pub iterations: usize,
    /// Working size of the generated image at the last (finest) scale,
    /// `(width, height)`.
    pub working_size: (u32, u32),
    /// Working size of each style image at the last scale.
    pub style_sizes: Vec<(u32, u32)>,
    /// Working size of the generated image at each scale, coarse to fine.
    pub scales: Vec<(u32, u32)>,
    /// Size of the result, the content's original size.
    pub output_size: (u32, u32),
}

/// One finished iteration.
pub struct Iteration<'a> {
    /// 1-based iteration number, counted over all scales.
    pub iteration: usize,
    /// Iterations planned, over all scales.
    pub iterations: usize,
    /// 1-based scale number (1 when there is a single scale).
    pub scale: usize,
    /// Number of scales.
    pub scales: usize,
    /// `alpha * J_content` of the image this step started from.
    pub content: f64,
    /// `beta * J_style` of the image this step started from.
    pub style: f64,
    /// `tv_weight * TV` of the image this step started from.
    pub tv: f64,
    /// The caller's pixel-space terms (0 without any) of that image.
    pub extra: f64,
    /// `content + style + tv + extra`.
    pub total: f64,
    /// Evaluations of the network (forward and backward) this iteration
    /// took: 1 for Adam; for L-BFGS, those of the line search, plus one
    /// when clipping to [0, 1] moved the previous iterate.
    pub evaluations: usize,
    /// Time since the optimisation started: after the images are planned,
    /// including each scale's set-up (the content and style targets), so
    /// the first iteration's share is larger than the others'.
    pub elapsed: Duration,
    pub(crate) image: &'a dyn Fn() -> Result<DynamicImage>,
}

/// Every number; the image is shown as `..` (it is made on demand by
/// [`Iteration::image`]).
impl std::fmt::Debug for Iteration<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iteration")
            .field("iteration", &self.iteration)
            .field("iterations", &self.iterations)
            .field("scale", &self.scale)
            .field("scales", &self.scales)
            .field("content", &self.content)
            .field("style", &self.style)
            .field("tv", &self.tv)
            .field("extra", &self.extra)
            .field("total", &self.total)
            .field("evaluations", &self.evaluations)
            .field("elapsed", &self.elapsed)
            .finish_non_exhaustive()
    }
}

impl Iteration<'_> {
    /// The current image (after this step), at the output size, as the
    /// run would return it (colours recombined, alpha attached). Costs a
    /// read-back and a resize: call it only when needed.
    ///
    /// # Errors
    /// [`crate::Error::Device`] if the tensor cannot be read.
    pub fn image(&self) -> Result<DynamicImage> {
        (self.image)()
    }
}

/// Receives progress; returning `ControlFlow::Break(())` from
/// [`Observer::iteration`] stops the run after that iteration, and the
/// result so far is returned.
pub trait Observer: Send {
    /// Called once, when the images are planned, before each scale's
    /// set-up (the network reading the photo and the paintings) and the
    /// first iteration.
    fn started(&mut self, _info: &RunInfo) {}
    /// Called after every iteration.
    fn iteration(&mut self, _it: &Iteration<'_>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// A flag the run checks while it sets up each scale: the fast
    /// engine between the network's layers, the burn engine before and
    /// after its passes. Set (from a signal handler, a cancel button), it
    /// stops the run there: before the first iteration with
    /// [`Error::Stopped`](crate::Error::Stopped), at a later scale with
    /// the result so far. The set-up takes seconds at large sizes (about
    /// 30 s at 2048 px on 2 cores), where [`Observer::iteration`] is not
    /// called. Default: none.
    fn stop_signal(&self) -> Option<StopSignal> {
        None
    }
}

/// An observer that ignores everything (of a video run's progress too:
/// it is a [`crate::video::VideoObserver`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {}
