//! Dense optical flow for video style transfer.
//!
//! - [`dis_flow`] (or [`DisFlow`], which keeps its buffers between
//!   frames): Dense Inverse Search (Kroeger et al. 2016, "Fast
//!   Optical Flow using Dense Inverse Search"): patch inverse search on a
//!   coarse-to-fine pyramid, densification and variational refinement,
//!   with OpenCV's presets ([`DisParams::preset`]).
//! - [`warp_bilinear`], [`warp_bicubic`] and [`warp_spline`] (cubic
//!   B-spline, what `stylize video` carries a painting with by default):
//!   sample an image at `x + w(x)` (warp the previous stylised frame onto
//!   the current one).
//! - [`symmetric_flow`]: a flow refined with its reverse (the mean of the
//!   two estimates where they agree), for carrying a painting along.
//! - [`consistency`]: forward/backward consistency weights (Ruder et al.
//!   2016): 0 at disocclusions, motion boundaries and pixels leaving the
//!   frame, 1 elsewhere. [`carried_consistency`] also sets 0 where the
//!   frames' grey levels disagree along the flow (a cut or fast fade to
//!   black, which the flow tests alone trust): what `stylize video` carries
//!   a painting by.
//! - [`WarpReference`]: temporal-consistency measures of a clip and its
//!   stylised versions: the warping error `E_warp` of Lai et al. 2018
//!   (short-term), a long-term error against the first frame of each
//!   shot, and scene-cut detection ([`is_cut`]) from the flow tests'
//!   consistency masks (the measure's own, kept as it was defined).
//! - [`FlickerMeter`]: the same figures for one stylised clip, fed a frame
//!   at a time, in memory for a few frames whatever the clip's length.
//!
//! Flow convention everywhere: a [`Flow`] from frame A to frame B maps
//! pixel `x` of A to `x + w(x)` in B.
//!
//! # Relation to OpenCV's `DISOpticalFlow`
//!
//! Written from the paper; the presets, the pyramid depth rule, spatial
//! propagation in fixed stripes, the forward/backward sweeps, the rejection
//! of patch updates moving further than a patch size, the densification
//! weights and the variational refinement's constants follow OpenCV so
//! that results are comparable. Deliberate differences:
//!
//! - Gauss-Newton uses true derivatives (3x3 Sobel / 8) and, with mean
//!   normalisation, the mean-free Hessian plus a small ridge; a patch stops
//!   when its step falls below 0.01 px. (OpenCV's unnormalised Sobel
//!   gradients make each of its steps 1/8 of a Gauss-Newton step.)
//! - The variational refinement's derivatives are central differences
//!   `(I(x+1) - I(x-1)) / 2` (OpenCV's `[-1, 0, 1]` kernel is twice that,
//!   which halves its data-term correction), with Neumann borders.
//! - Pyramids are `f32` (no rounding to 8 bits) and flows are upsampled
//!   with exact pixel-centre alignment.
//!
//! On 640x360 photos warped by smooth flows (reference/flow/) the medium
//! preset's end-point error is a little lower than OpenCV's.
//!
//! ```
//! use stylize_flow::{dis_flow, warp_bilinear, DisParams, GrayImage};
//!
//! let (w, h) = (64, 48);
//! let pattern = |x: f32, y: f32| 128.0 + 60.0 * (0.3 * x).sin() * (0.25 * y).cos();
//! let a: Vec<f32> = (0..w * h).map(|i| pattern((i % w) as f32, (i / w) as f32)).collect();
//! // b is a shifted 1.5 px to the right: a(x) = b(x + 1.5)
//! let b: Vec<f32> = (0..w * h).map(|i| pattern((i % w) as f32 - 1.5, (i / w) as f32)).collect();
//! let (a, b) = (GrayImage::new(w, h, a)?, GrayImage::new(w, h, b)?);
//! let flow = dis_flow(&a, &b, &DisParams::default())?;
//! let centre = (h / 2) * w + w / 2;
//! assert!((flow.u[centre] - 1.5).abs() < 0.1);
//! // b warped by the flow lines up with a
//! let b_on_a = warp_bilinear(b.data(), 1, &flow)?;
//! assert!((b_on_a[centre] - a.data()[centre]).abs() < 2.0);
//! # Ok::<(), stylize_flow::FlowError>(())
//! ```

mod consistency;
mod densify;
mod dis;
mod error;
mod flicker_meter;
mod flow;
mod image;
mod inverse_search;
mod params;
mod symmetric;
mod variational;
mod warp;
mod warp_error;
mod workspace;

pub use consistency::{carried_consistency, consistency, BRIGHTNESS_TOLERANCE};
pub use dis::{dis_flow, DisFlow};
pub use error::FlowError;
pub use flicker_meter::{ClipFlicker, Flicker, FlickerMeter};
pub use flow::Flow;
pub use image::GrayImage;
pub use params::{DisParams, Preset};
pub use stylize_matmul::Isa;
pub use symmetric::symmetric_flow;
pub use warp::{warp_bicubic, warp_bilinear, warp_spline};
pub use warp_error::{
    consistent_fraction, is_cut, masked_warp_error, planar_from_rgb8, rgb8_from_planar,
    LongTermError, LongTermTerm, MaskedFlow, WarpError, WarpOptions, WarpReference, CUT_THRESHOLD,
};
