//! What the earlier frames of a shot contribute to a new frame: its
//! starting image (the previous result warped where the flow is
//! consistent, the content elsewhere) and the temporal cost terms.

use std::sync::Arc;

use image::Rgb32FImage;
use stylize_flow::{carried_consistency, DisFlow, Flow, GrayImage};

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
/// the working size: each working pixel averages the source pixels it
/// covers (vectors then scaled to working pixels), so the weights become
/// fractions in [0, 1] along the edges of inconsistent regions.
pub(crate) fn to_working(flow: &Flow, c: &[f32], (w, h): (u32, u32)) -> Result<(Flow, Vec<f32>)> {
    let (sw, sh) = (flow.width, flow.height);
    let (w, h) = (w as usize, h as usize);
    if (sw, sh) == (w, h) {
        return Ok((flow.clone(), c.to_vec()));
    }
    // `image`'s resampling clamps f32 pixels to [0, 1]: not for vectors.
    let area = |v: &[f32], k: f32| -> Vec<f32> {
        let mut out = vec![0.0f32; w * h];
        for y in 0..h {
            let (y0, y1) = (y * sh / h, ((y + 1) * sh).div_ceil(h).min(sh));
            for x in 0..w {
                let (x0, x1) = (x * sw / w, ((x + 1) * sw).div_ceil(w).min(sw));
                let mut sum = 0.0f32;
                for sy in y0..y1 {
                    sum += v[sy * sw + x0..sy * sw + x1].iter().sum::<f32>();
                }
                let n = ((y1 - y0) * (x1 - x0)).max(1) as f32;
                out[y * w + x] = k * sum / n;
            }
        }
        out
    };
    let (kx, ky) = (w as f32 / sw as f32, h as f32 / sh as f32);
    let small = Flow::new(w, h, area(&flow.u, kx), area(&flow.v, ky))?;
    Ok((small, area(c, 1.0)))
}

/// Points the flow's vectors that leave the frame back into it, mirrored
/// at the edge they cross: a strip of new scene coming in at an edge then
/// starts from the painting beside that edge, mirrored, instead of its
/// border row or column repeated, which the few iterations of a
/// continuing frame left as streaks (bikes, frames 1-6: pink and brown
/// vertical stripes along the top). Such pixels are inconsistent (`c = 0`),
/// so the temporal cost does not pull toward what they start from; on the
/// edge rows and columns a consistent vector may end up to about half a
/// pixel outside (the working size's averaging, the symmetric flow), and
/// is mirrored by as little.
pub(crate) fn reflect_into_frame(flow: &mut Flow) {
    let (w, h) = (flow.width, flow.height);
    // The vector from `at` that ends at `at + d`, mirrored into
    // [0, n - 1] when it ends outside (vectors inside are left as they
    // are, to the bit).
    let mirror = |at: usize, d: &mut f32, n: usize| {
        let last = n.saturating_sub(1) as f32;
        let p = at as f32 + *d;
        if (0.0..=last).contains(&p) {
            return;
        }
        let p = if p < 0.0 { -p } else { p };
        let p = if p > last { 2.0 * last - p } else { p };
        *d = p.clamp(0.0, last) - at as f32;
    };
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            mirror(x, &mut flow.u[i], w);
            mirror(y, &mut flow.v[i], h);
        }
    }
}

/// The flow that carries a past frame's result onto `here` (for each pixel
/// of `here`, its place in `past`; refined as `config.warp_flow` says) and
/// the consistency weights of the two one-way flows and of the frames'
/// grey levels ([`carried_consistency`]), both at the frames' own size.
///
/// # Errors
/// [`Error::Flow`] when the flow fails (sizes differ: a broken invariant).
pub(crate) fn carrying_flow(
    flow: &mut DisFlow,
    here: &GrayImage,
    past: &GrayImage,
    config: &VideoConfig,
) -> Result<(Flow, Vec<f32>)> {
    let here_to_past = flow.calc(here, past)?;
    let past_to_here = flow.calc(past, here)?;
    let c = carried_consistency(here, past, &here_to_past, &past_to_here)?;
    Ok((config.warp_flow.resolve(here_to_past, &past_to_here)?, c))
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
        let (here_to_past, c_source) = carrying_flow(flow, content_grey, &past.content, config)?;
        let source_consistent =
            c_source.iter().map(|v| f64::from(*v)).sum::<f64>() / c_source.len().max(1) as f64;
        let (mut here_to_past, c) = to_working(&here_to_past, &c_source, (w, h))?;
        reflect_into_frame(&mut here_to_past);
        let state: Vec<f32> =
            to_planar(&image::DynamicImage::ImageRgb8(past.state.clone()).to_rgb32f());
        let warped = config.warp.warp(&state, 3, &here_to_past)?;
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
    let init = init.ok_or_else(|| Error::Internal("no previous frame to start from".into()))?;
    Ok(Link::Continue(Continuation {
        init,
        terms,
        consistent: first_consistent,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn vectors_leaving_the_frame_are_mirrored_back_into_it() {
        // 4x3: from (0, 0) up 1.5 and left 1; from (3, 2) right 1.5; one
        // inside; one so long it is clamped after its mirroring.
        let mut flow = Flow::zeros(4, 3);
        flow.u[0] = -1.0;
        flow.v[0] = -1.5;
        flow.u[11] = 1.5;
        flow.u[5] = 0.75;
        flow.v[5] = -0.5;
        flow.u[4] = -20.0;
        super::reflect_into_frame(&mut flow);
        // Ends at (1, 1.5) instead of (-1, -1.5).
        assert_eq!((flow.u[0], flow.v[0]), (1.0, 1.5));
        // (4.5, 2) mirrored at x = 3: (1.5, 2).
        assert_eq!((flow.u[11], flow.v[11]), (-1.5, 0.0));
        assert_eq!((flow.u[5], flow.v[5]), (0.75, -0.5));
        // (-20, 1) mirrored at each edge in turn is (-14, 1): clamped, (0, 1).
        assert_eq!((flow.u[4], flow.v[4]), (0.0, 0.0));
    }

    use super::*;

    #[test]
    fn flows_are_averaged_and_scaled_to_the_working_size() {
        // 8x4 source, a uniform 2 px motion right and 1 px down; the left
        // half consistent.
        let (sw, sh) = (8, 4);
        let flow = Flow::new(sw, sh, vec![2.0; sw * sh], vec![-1.0; sw * sh]).unwrap();
        let c: Vec<f32> = (0..sw * sh)
            .map(|i| if i % sw < 4 { 1.0 } else { 0.0 })
            .collect();
        let (small, cs) = to_working(&flow, &c, (4, 2)).unwrap();
        assert_eq!((small.width, small.height), (4, 2));
        assert!(
            small.u.iter().all(|u| (*u - 1.0).abs() < 1e-6),
            "{:?}",
            small.u
        );
        assert!(
            small.v.iter().all(|v| (*v + 0.5).abs() < 1e-6),
            "{:?}",
            small.v
        );
        assert_eq!(cs, vec![1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        // 3 source columns to 2: the middle one is shared.
        let flow = Flow::new(3, 1, vec![-3.0, 0.0, 3.0], vec![0.0; 3]).unwrap();
        let (small, _) = to_working(&flow, &[1.0, 1.0, 0.0], (2, 1)).unwrap();
        assert!(small.u[0] < 0.0 && small.u[1] > 0.0, "{:?}", small.u);
    }

    use super::super::config::InconsistentStart;
    use super::super::history::Past;
    use crate::planar::Planar;
    use image::{Rgb, RgbImage};
    use stylize_flow::DisParams;

    /// The frames' side (source and working size alike).
    const SIDE: usize = 64;
    /// Every past frame's painting: one flat colour, so that the previous
    /// result warped along any flow inside the frame is that colour.
    const STATE: [u8; 3] = [200, 40, 90];
    /// The new frame's content (RGB; the flow sees `background`).
    const CONTENT: [f32; 3] = [0.1, 0.8, 0.3];

    /// A smooth texture (grey 78..178) that the flow finds still.
    fn background() -> GrayImage {
        let data = (0..SIDE * SIDE)
            .map(|i| {
                let (x, y) = ((i % SIDE) as f32, (i / SIDE) as f32);
                128.0 + 50.0 * (0.45 * x).sin() * (0.35 * y).cos()
            })
            .collect();
        GrayImage::new(SIDE, SIDE, data).unwrap()
    }

    /// The background with a flat white square over (24..40, 24..40): at
    /// least 77 grey levels from what it hides, beyond the consistency's
    /// brightness tolerance (40).
    fn with_square() -> GrayImage {
        let mut data = background().data().to_vec();
        for y in 24..40 {
            data[y * SIDE + 24..y * SIDE + 40].fill(255.0);
        }
        GrayImage::new(SIDE, SIDE, data).unwrap()
    }

    /// Settings holding a frame to `long_term` earlier ones, with a weight
    /// that makes each term's `k = weight / (3 * pixels)` 0.5 (the shot's
    /// cost is 1): its gradient is `c (x - t)`.
    fn config(long_term: usize, start: InconsistentStart) -> VideoConfig {
        VideoConfig {
            long_term,
            temporal_weight: 1.5 * (SIDE * SIDE) as f64,
            cut_threshold: 0.0,
            inconsistent_start: start,
            ..VideoConfig::default()
        }
    }

    /// `background()` linked to a shot whose earlier frames are `frames`
    /// (nearest first), each painted `STATE`.
    fn continued(frames: Vec<GrayImage>, config: &VideoConfig) -> Continuation {
        let mut history = History::new(frames.len());
        for content in frames.into_iter().rev() {
            history.push(Past {
                content,
                state: RgbImage::from_pixel(SIDE as u32, SIDE as u32, Rgb(STATE)),
                cost: 1.0,
            });
        }
        let mut flow = DisFlow::new(DisParams::default()).unwrap();
        let content = Rgb32FImage::from_pixel(SIDE as u32, SIDE as u32, Rgb(CONTENT));
        match link(&mut flow, &background(), &content, &history, config).unwrap() {
            Link::Continue(c) => c,
            Link::Fresh { consistent } => panic!("started fresh ({consistent:?})"),
        }
    }

    /// A term's weight at each pixel, read from its behaviour: under
    /// `config` its gradient is `c (x - t)`, so the gradient at x = 1 less
    /// that at x = 0 is `c`.
    fn weights_of(term: &dyn PixelTerm) -> Vec<f32> {
        let n = SIDE * SIDE;
        let gradient_at = |v: f32| {
            let x = vec![v; 3 * n];
            let mut g = vec![0.0f32; 3 * n];
            let image = Planar::new(&x, (SIDE as u32, SIDE as u32)).unwrap();
            term.evaluate(image, Some(&mut g)).unwrap();
            g
        };
        let (g0, g1) = (gradient_at(0.0), gradient_at(1.0));
        (0..n).map(|i| g1[i] - g0[i]).collect()
    }

    #[test]
    fn older_frames_are_held_to_only_where_nearer_ones_do_not_cover() {
        let near = |c: f32, want: f32| (c - want).abs() < 1e-3;
        let at = |x: usize, y: usize| y * SIDE + x;
        // A still scene: t-1 covers every pixel, so t-2 and t-3 weigh
        // nothing and add no term.
        let frames = vec![background(), background(), background()];
        let still = continued(frames, &config(3, InconsistentStart::Warped));
        assert_eq!(still.terms.len(), 1);
        let c = weights_of(&*still.terms[0]);
        assert!(c.iter().all(|c| near(*c, 1.0)), "{c:?}");
        // A square over the scene in t-1 only: what it hid is not covered
        // by t-1 and is by t-2; t-3, the same as t-2, adds nothing.
        let frames = vec![with_square(), background(), background()];
        let passing = continued(frames, &config(3, InconsistentStart::Warped));
        assert_eq!(passing.terms.len(), 2);
        let (c1, c2) = (
            weights_of(&*passing.terms[0]),
            weights_of(&*passing.terms[1]),
        );
        // Behind the square t-2 alone; far from it t-1 alone.
        assert!(near(c1[at(32, 32)], 0.0) && near(c2[at(32, 32)], 1.0));
        assert!(near(c1[at(4, 4)], 1.0) && near(c2[at(4, 4)], 0.0));
        // Each pixel weighed once in all.
        let uncovered = c1.iter().filter(|c| near(**c, 0.0)).count();
        assert!(uncovered >= 16 * 16, "{uncovered} pixels uncovered by t-1");
        for (i, (a, b)) in c1.iter().zip(&c2).enumerate() {
            assert!(near(a + b, 1.0), "pixel {i}: {a} + {b}");
        }
    }

    #[test]
    fn inconsistent_pixels_start_from_the_content_or_the_warped_painting() {
        let painted = STATE.map(|v| f32::from(v) / 255.0);
        // t-1 had a square over the scene: inconsistent there (c = 0),
        // consistent far from it (c = 1).
        let content = continued(vec![with_square()], &config(1, InconsistentStart::Content));
        let c = weights_of(&*content.terms[0]);
        let zeros = c.iter().filter(|c| c.abs() < 1e-3).count();
        let ones = c.iter().filter(|c| (*c - 1.0).abs() < 1e-3).count();
        assert!(
            zeros >= 16 * 16 && ones >= SIDE * SIDE / 2,
            "{zeros}, {ones}"
        );
        for (i, p) in content.init.pixels().enumerate() {
            for ch in 0..3 {
                let want = c[i] * painted[ch] + (1.0 - c[i]) * CONTENT[ch];
                assert!((p[ch] - want).abs() < 1e-3, "pixel {i}: {p:?}, c {}", c[i]);
            }
        }
        // Under the square the content, far from it the painting.
        let (under, far) = (content.init.get_pixel(32, 32), content.init.get_pixel(4, 4));
        for ch in 0..3 {
            assert!((under[ch] - CONTENT[ch]).abs() < 1e-3, "{under:?}");
            assert!((far[ch] - painted[ch]).abs() < 1e-3, "{far:?}");
        }
        // `Warped`: the painting everywhere, where c = 0 too.
        let warped = continued(vec![with_square()], &config(1, InconsistentStart::Warped));
        for (i, p) in warped.init.pixels().enumerate() {
            for ch in 0..3 {
                assert!((p[ch] - painted[ch]).abs() < 1e-3, "pixel {i}: {p:?}");
            }
        }
    }
}
