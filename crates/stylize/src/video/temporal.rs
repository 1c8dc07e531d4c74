//! What the earlier frames of a shot contribute to a new frame: its
//! starting image (the previous result warped where the flow is
//! consistent, the content elsewhere) and the temporal cost terms.

use std::sync::Arc;

use image::imageops::FilterType;
use image::{ImageBuffer, Luma, Rgb32FImage};
use stylize_flow::{consistency, warp_bilinear, DisFlow, Flow, GrayImage};

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

/// A flow field and weights computed at the source frames' size, taken to
/// the working size: vectors resampled bilinearly and scaled, weights
/// averaged (so they become fractions in [0, 1] along edges of regions).
fn to_working(flow: &Flow, c: &[f32], (w, h): (u32, u32)) -> Result<(Flow, Vec<f32>)> {
    let (sw, sh) = (flow.width as u32, flow.height as u32);
    if (sw, sh) == (w, h) {
        return Ok((flow.clone(), c.to_vec()));
    }
    let resize = |v: &[f32], k: f32| -> Result<Vec<f32>> {
        let img: ImageBuffer<Luma<f32>, Vec<f32>> = ImageBuffer::from_raw(sw, sh, v.to_vec())
            .ok_or_else(|| Error::Backend("flow field size".into()))?;
        Ok(image::imageops::resize(&img, w, h, FilterType::Triangle)
            .into_raw()
            .into_iter()
            .map(|x| x * k)
            .collect())
    };
    let (kx, ky) = (w as f32 / sw as f32, h as f32 / sh as f32);
    let small = Flow::new(
        w as usize,
        h as usize,
        resize(&flow.u, kx)?,
        resize(&flow.v, ky)?,
    )?;
    Ok((small, resize(c, 1.0)?))
}

/// Links `content` (RGB at the working size; grey at the source size, where
/// the flow is computed) to the shot so far.
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
    let (Some(_), Some(shot_cost)) = (history.latest(), history.shot_cost()) else {
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
        let c_source = consistency(&here_to_past, &past_to_here)?;
        let source_consistent =
            c_source.iter().map(|v| f64::from(*v)).sum::<f64>() / c_source.len().max(1) as f64;
        let (here_to_past, c) = to_working(&here_to_past, &c_source, (w, h))?;
        let state: Vec<f32> =
            to_planar(&image::DynamicImage::ImageRgb8(past.state.clone()).to_rgb32f());
        let warped = warp_bilinear(&state, 3, &here_to_past)?;
        if j == 0 {
            first_consistent = source_consistent;
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
        let weight = config.temporal_weight * shot_cost;
        terms.push(Arc::new(WeightedDistance::new(target, weights, weight)?));
    }
    let init = init.ok_or_else(|| Error::Backend("no previous frame to start from".into()))?;
    Ok(Link::Continue(Continuation {
        init,
        terms,
        consistent: first_consistent,
    }))
}
