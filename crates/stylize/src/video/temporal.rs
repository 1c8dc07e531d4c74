//! What the earlier frames of a shot contribute to a new frame: its
//! starting image (the previous result warped where the flow is
//! consistent, the content elsewhere) and the temporal cost terms.

use std::sync::Arc;

use image::Rgb32FImage;
use stylize_flow::{consistency, warp_bilinear, DisFlow, GrayImage};

use super::config::{InconsistentStart, VideoConfig};
use super::history::History;
use crate::error::{Error, Result};
use crate::image_io::{from_planar, to_planar};
use crate::pixel_term::{PixelTerm, WeightedDistance};

/// A frame's link to its shot.
pub(crate) struct Continuation {
    /// The starting image at the working size.
    pub(crate) init: Rgb32FImage,
    /// The temporal terms, nearest frame first.
    pub(crate) terms: Vec<Arc<dyn PixelTerm>>,
    /// Share of pixels consistent with the previous frame.
    pub(crate) consistent: f64,
}

/// The decision for one frame.
pub(crate) enum Link {
    /// The first frame of the clip or of a shot: start fresh.
    Fresh {
        /// Share of pixels consistent with the previous frame, when there
        /// was one (a scene cut).
        consistent: Option<f64>,
    },
    /// Continue the shot.
    Continue(Continuation),
}

/// Links `content` (grey and RGB at the working size) to the shot so far.
///
/// # Errors
/// [`Error::Flow`] when the flow fails (sizes differ: a broken invariant).
pub(crate) fn link(
    flow: &mut DisFlow,
    content_grey: &GrayImage,
    content: &Rgb32FImage,
    history: &History,
    config: &VideoConfig,
) -> Result<Link> {
    let Some(previous) = history.latest() else {
        return Ok(Link::Fresh { consistent: None });
    };
    if config.independent {
        return Ok(Link::Fresh { consistent: None });
    }
    let (w, h) = content.dimensions();
    let plane = (w * h) as usize;
    let content_planar = to_planar(content);
    let mut covered = vec![0.0f32; plane];
    let mut terms: Vec<Arc<dyn PixelTerm>> = Vec::new();
    let mut init = None;
    let mut first_consistent = 0.0;
    for (j, past) in history.iter().enumerate().take(config.long_term) {
        // For pixel x of this frame, where it was in the earlier one; and
        // back, for the consistency check.
        let here_to_past = flow.calc(content_grey, &past.content)?;
        let past_to_here = flow.calc(&past.content, content_grey)?;
        let c = consistency(&here_to_past, &past_to_here)?;
        let state: Vec<f32> =
            to_planar(&image::DynamicImage::ImageRgb8(past.state.clone()).to_rgb32f());
        let warped = warp_bilinear(&state, 3, &here_to_past)?;
        if j == 0 {
            first_consistent = c.iter().map(|v| f64::from(*v)).sum::<f64>() / plane as f64;
            if first_consistent < config.cut_threshold {
                return Ok(Link::Fresh {
                    consistent: Some(first_consistent),
                });
            }
            // The warped previous result (where consistent, or everywhere;
            // see `InconsistentStart`).
            let mut start = content_planar.clone();
            for (ch, dst) in start.chunks_mut(plane).enumerate() {
                let warped = &warped[ch * plane..(ch + 1) * plane];
                for ((d, ci), wv) in dst.iter_mut().zip(&c).zip(warped) {
                    *d = match config.inconsistent_start {
                        InconsistentStart::Warped => *wv,
                        InconsistentStart::Content => ci * wv + (1.0 - ci) * *d,
                    };
                }
            }
            init = Some(from_planar(&start, w, h)?);
        }
        // Long-term: only where no nearer frame already covers the pixel.
        let weights: Vec<f32> = c
            .iter()
            .zip(&covered)
            .map(|(cj, cov)| (cj - cov).max(0.0))
            .collect();
        for (cov, cj) in covered.iter_mut().zip(&c) {
            *cov += cj;
        }
        if weights.iter().all(|v| *v == 0.0) {
            continue;
        }
        let target = from_planar(&warped, w, h)?;
        let weight = config.temporal_weight * previous.cost;
        terms.push(Arc::new(WeightedDistance::new(target, weights, weight)?));
    }
    let init = init.ok_or_else(|| Error::Backend("no previous frame to start from".into()))?;
    Ok(Link::Continue(Continuation {
        init,
        terms,
        consistent: first_consistent,
    }))
}
