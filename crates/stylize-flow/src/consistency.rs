//! Forward/backward consistency weights (Ruder et al. 2016, "Artistic
//! style transfer for videos", section 3.1).

use rayon::prelude::*;

use crate::error::FlowError;
use crate::flow::{same_size, Flow};
use crate::image::{sample_clamped, GrayImage};

/// Per-pixel weights on frame A's grid: 1 where `forward` (A to B) can be
/// trusted, 0 where it cannot. With `w` the forward flow at `x` and
/// `w~ = backward(x + w(x))` (the B-to-A flow, bilinearly sampled), a pixel
/// gets 0 when
///
/// - `x + w(x)` lies outside the frame;
/// - `|w + w~|^2 > 0.01 (|w|^2 + |w~|^2) + 0.5` (disocclusion: the flows
///   do not cancel);
/// - `|grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002` (motion boundary;
///   central differences, one-sided at the border);
///
/// and 1 otherwise. Row-major, `width * height` values.
///
/// # Errors
/// [`FlowError::BufferLength`] or [`FlowError::InvalidParams`] when a flow
/// is inconsistent with its size ([`Flow::check`]);
/// [`FlowError::SizeMismatch`] when the two flows differ in size.
pub fn consistency(forward: &Flow, backward: &Flow) -> Result<Vec<f32>, FlowError> {
    forward.check()?;
    backward.check()?;
    same_size(forward, backward)?;
    let (w, h) = (forward.width, forward.height);
    let mut out = vec![0.0f32; w * h];
    if w == 0 || h == 0 {
        return Ok(out);
    }
    let (fu, fv) = (&forward.u, &forward.v);
    out.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for (x, o) in row.iter_mut().enumerate() {
            let q = y * w + x;
            let (u, v) = (fu[q], fv[q]);
            let Some((bu, bv)) = backward_at_target(backward, (x, y), (u, v)) else {
                *o = 0.0;
                continue;
            };
            let w2 = u * u + v * v;
            let occluded = !cancel((u, v), (bu, bv));
            let (ux, uy) = (diff(fu, x, y, w, h, true), diff(fu, x, y, w, h, false));
            let (vx, vy) = (diff(fv, x, y, w, h, true), diff(fv, x, y, w, h, false));
            let boundary = ux * ux + uy * uy + vx * vx + vy * vy > 0.01 * w2 + 0.002;
            *o = if occluded || boundary { 0.0 } else { 1.0 };
        }
    });
    Ok(out)
}

/// The largest difference of grey levels (on the 0..255 scale of
/// [`GrayImage`]) between a pixel and where the flow takes it that
/// [`carried_consistency`] still trusts.
///
/// A cut or fade to black or white, a flash, changes most pixels by far
/// more. Within a shot a pixel changes by less, except where the flow is
/// wrong: in the real clips' shots (`bikes.mp4`, `bigbuckbunny.mp4`,
/// `carphone_pristine.mp4`, `examples/cut_fractions.rs`) this test alone
/// turns down under 1% of the pixels the flow tests trust in any pair,
/// about 0.05% on average.
pub const BRIGHTNESS_TOLERANCE: f32 = 40.0;

/// [`consistency`], with one more test on the frames themselves: a pixel
/// of `a` also gets 0 where its grey level and `b`'s where the forward
/// flow takes it (bilinearly sampled) differ by more than
/// [`BRIGHTNESS_TOLERANCE`]. What is carried from `b` to `a` along the
/// flow is trusted only where it looks the same: between two frames
/// without texture (a cut or fade to black, a flat sky turning white) DIS
/// finds no motion either way, which the flow tests alone take for a
/// still scene.
///
/// # Errors
/// As [`consistency`]; [`FlowError::SizeMismatch`] when a frame is not the
/// flows' size.
pub fn carried_consistency(
    a: &GrayImage,
    b: &GrayImage,
    forward: &Flow,
    backward: &Flow,
) -> Result<Vec<f32>, FlowError> {
    let mut c = consistency(forward, backward)?;
    let (w, h) = (forward.width, forward.height);
    for image in [a, b] {
        if (image.width(), image.height()) != (w, h) {
            return Err(FlowError::SizeMismatch {
                a_width: w,
                a_height: h,
                b_width: image.width(),
                b_height: image.height(),
            });
        }
    }
    let (fu, fv) = (&forward.u, &forward.v);
    let (a, b) = (a.data(), b.data());
    c.par_chunks_mut(w.max(1)).enumerate().for_each(|(y, row)| {
        for (x, o) in row.iter_mut().enumerate() {
            if *o == 0.0 {
                continue;
            }
            let q = y * w + x;
            let there = sample_clamped(b, w, h, x as f32 + fu[q], y as f32 + fv[q]);
            if (a[q] - there).abs() > BRIGHTNESS_TOLERANCE {
                *o = 0.0;
            }
        }
    });
    Ok(c)
}

/// The backward flow bilinearly sampled where the forward flow `(u, v)`
/// takes pixel `(x, y)`; `None` when that target lies outside the frame.
pub(crate) fn backward_at_target(
    backward: &Flow,
    (x, y): (usize, usize),
    (u, v): (f32, f32),
) -> Option<(f32, f32)> {
    let (w, h) = (backward.width, backward.height);
    let (tx, ty) = (x as f32 + u, y as f32 + v);
    let inside = tx >= 0.0 && ty >= 0.0 && tx <= (w - 1) as f32 && ty <= (h - 1) as f32;
    inside.then(|| {
        (
            sample_clamped(&backward.u, w, h, tx, ty),
            sample_clamped(&backward.v, w, h, tx, ty),
        )
    })
}

/// Whether a forward flow vector `w` and the backward flow `w~` at its
/// target cancel within Ruder et al.'s tolerance: `|w + w~|^2 <= 0.01
/// (|w|^2 + |w~|^2) + 0.5`. Where they do not, the pixel is disoccluded
/// (or one of the flows is wrong).
pub(crate) fn cancel((u, v): (f32, f32), (bu, bv): (f32, f32)) -> bool {
    let sum2 = (u + bu) * (u + bu) + (v + bv) * (v + bv);
    sum2 <= 0.01 * (u * u + v * v + bu * bu + bv * bv) + 0.5
}

/// Derivative of `f` at `(x, y)` along x (`along_x`) or y: central
/// difference inside, one-sided at the border, 0 across a single pixel.
fn diff(f: &[f32], x: usize, y: usize, w: usize, h: usize, along_x: bool) -> f32 {
    let (pos, len, step) = if along_x { (x, w, 1) } else { (y, h, w) };
    if len < 2 {
        return 0.0;
    }
    let q = y * w + x;
    let lo = if pos > 0 { q - step } else { q };
    let hi = if pos + 1 < len { q + step } else { q };
    let span = if pos > 0 && pos + 1 < len { 2.0 } else { 1.0 };
    (f[hi] - f[lo]) / span
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A square moving right by 4 px over a still background.
    fn moving_square() -> (Flow, Flow) {
        let (w, h) = (32, 24);
        let mut fwd = Flow::zeros(w, h);
        let mut bwd = Flow::zeros(w, h);
        for y in 8..16 {
            for x in 8..16 {
                fwd.u[y * w + x] = 4.0;
                bwd.u[y * w + x + 4] = -4.0;
            }
        }
        (fwd, bwd)
    }

    /// A bright square on a darker background, at `x0..x0 + 8` and rows
    /// `8..16`, on `moving_square`'s grid.
    fn square_frame(x0: usize, background: f32) -> GrayImage {
        let (w, h) = (32, 24);
        let data = (0..w * h)
            .map(|q| {
                let (x, y) = (q % w, q / w);
                if (8..16).contains(&y) && (x0..x0 + 8).contains(&x) {
                    200.0
                } else {
                    background
                }
            })
            .collect();
        GrayImage::new(w, h, data).unwrap()
    }

    #[test]
    fn carried_consistency_also_turns_down_changed_grey_levels() {
        let (fwd, bwd) = moving_square();
        let flows_alone = consistency(&fwd, &bwd).unwrap();
        // Frames that move as the flows say: the flow tests decide.
        let (a, b) = (square_frame(8, 50.0), square_frame(12, 50.0));
        assert_eq!(
            carried_consistency(&a, &b, &fwd, &bwd).unwrap(),
            flows_alone
        );
        // The background of B darker by less than the tolerance: the same.
        let dim = square_frame(12, 50.0 - (BRIGHTNESS_TOLERANCE - 5.0));
        assert_eq!(
            carried_consistency(&a, &dim, &fwd, &bwd).unwrap(),
            flows_alone
        );
        // By more: the background is not carried, the square still is.
        let dark = square_frame(12, 50.0 - (BRIGHTNESS_TOLERANCE + 5.0));
        let c = carried_consistency(&a, &dark, &fwd, &bwd).unwrap();
        let w = fwd.width;
        assert_eq!(c[2 * w + 2], 0.0);
        assert_eq!(c[12 * w + 12], 1.0);
        // Two frames without texture, one black and one white: no motion
        // either way, which the flow tests alone trust everywhere.
        let still = Flow::zeros(w, fwd.height);
        let flat = |v: f32| GrayImage::new(w, fwd.height, vec![v; w * fwd.height]).unwrap();
        assert!(consistency(&still, &still)
            .unwrap()
            .iter()
            .all(|v| *v == 1.0));
        let cut = carried_consistency(&flat(0.0), &flat(255.0), &still, &still).unwrap();
        assert!(cut.iter().all(|v| *v == 0.0));
        // A frame of another size than the flows is refused.
        let small = GrayImage::new(4, 4, vec![0.0; 16]).unwrap();
        assert!(matches!(
            carried_consistency(&a, &small, &fwd, &bwd),
            Err(FlowError::SizeMismatch { .. })
        ));
    }

    /// `flow` with its axes swapped: the same motion, downward instead of
    /// to the right.
    fn transposed(flow: &Flow) -> Flow {
        let (w, h) = (flow.width, flow.height);
        let mut out = Flow::zeros(h, w);
        for y in 0..h {
            for x in 0..w {
                out.u[x * h + y] = flow.v[y * w + x];
                out.v[x * h + y] = flow.u[y * w + x];
            }
        }
        out
    }

    #[test]
    fn marks_disocclusion_boundaries_and_consistent_regions() {
        let (fwd, bwd) = moving_square();
        // The square moving right, then the same moving down (each test
        // on `u` then on `v`).
        for down in [false, true] {
            let (fwd, bwd) = if down {
                (transposed(&fwd), transposed(&bwd))
            } else {
                (fwd.clone(), bwd.clone())
            };
            let c = consistency(&fwd, &bwd).unwrap();
            // The value at (x, y) of the square moving right.
            let at = |x: usize, y: usize| {
                if down {
                    c[x * fwd.width + y]
                } else {
                    c[y * fwd.width + x]
                }
            };
            // Far from the square: consistent.
            assert_eq!(at(2, 2), 1.0, "down {down}");
            assert_eq!(at(28, 20), 1.0, "down {down}");
            // Inside the square, away from its edges: consistent.
            assert_eq!(at(12, 12), 1.0, "down {down}");
            // Background A pixels at x = 16..20 are covered by the square
            // in B: the backward flow there is -4, the forward 0 ->
            // occluded.
            for x in 17..20 {
                assert_eq!(at(x, 12), 0.0, "x {x}, down {down}");
            }
            // Square's edges: motion boundary (the one at x = 8 only
            // there: its pixels are not covered in B).
            assert_eq!(at(8, 12), 0.0, "down {down}");
            assert_eq!(at(15, 12), 0.0, "down {down}");
            assert_eq!(at(12, 8), 0.0, "down {down}");
        }
    }

    #[test]
    fn leaving_the_frame_is_inconsistent() {
        let mut fwd = Flow::zeros(10, 10);
        fwd.u.fill(3.0);
        let mut bwd = Flow::zeros(10, 10);
        bwd.u.fill(-3.0);
        let c = consistency(&fwd, &bwd).unwrap();
        assert_eq!(c[5 * 10 + 3], 1.0);
        assert_eq!(c[5 * 10 + 7], 0.0);
    }

    #[test]
    fn size_mismatch_is_an_error() {
        assert!(matches!(
            consistency(&Flow::zeros(4, 4), &Flow::zeros(4, 5)),
            Err(FlowError::SizeMismatch { .. })
        ));
    }
}
