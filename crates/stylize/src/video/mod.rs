//! Video: stylize the frames of a clip so that the painting holds still
//! where the scene does (Ruder, Dosovitskiy & Brox 2016, "Artistic style
//! transfer for videos").
//!
//! For each frame after the first of a shot:
//! 1. optical flow between it and the previous frame, both ways
//!    ([`stylize_flow`], DIS), and consistency weights `c` (0 at
//!    disocclusions, motion boundaries and pixels that leave the frame);
//! 2. the previous stylized frame warped onto this one starts the
//!    optimisation (where `c = 0` too, by default: see
//!    [`InconsistentStart`]);
//! 3. a temporal cost [`crate::WeightedDistance`]
//!    `J_t = w / D * sum_k c_k (x_k - warped_k)^2` joins the objective,
//!    and with long-term consistency the same against frames `t-2..t-J`,
//!    each weighted only where no nearer frame covers the pixel;
//! 4. fewer iterations: the warm start is most of the way there.
//!
//! A frame mostly inconsistent with the previous one is a scene cut and
//! starts fresh. Each finished frame is written to a work folder
//! ([`WorkDir`]); a run started again with the same settings continues
//! after the last finished frame, with the same bits as an uninterrupted
//! run (every frame depends only on the source frames, the settings, and
//! the stored 8-bit results of earlier frames).

mod config;
mod driver;
mod history;
mod temporal;
mod workdir;

pub use config::{InconsistentStart, VideoConfig, WarpFlow, WarpInterpolation, MAX_LONG_TERM};
pub use driver::{
    check_video_memory, stylize_video, FrameInfo, FrameResult, ResumedFrame, VideoObserver,
    VideoSummary,
};
pub use workdir::WorkDir;
