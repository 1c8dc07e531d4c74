//! Bilinear warping of planar images by a flow.

use rayon::prelude::*;

use crate::error::{check_len, FlowError};
use crate::flow::Flow;
use crate::image::sample_clamped;

/// Samples `image` at `x + w(x)`: `out_c(x, y) = image_c(x + u(x, y),
/// y + v(x, y))`, bilinearly, positions outside the image clamped to its
/// border.
///
/// `image` is planar (`channels` planes of `flow.width * flow.height`
/// values, e.g. stylize's RGB layout). With `flow` the flow from frame A to
/// frame B (as [`dis_flow`](crate::dis_flow)`(a, b)` returns) and `image`
/// an image aligned with frame B, the result is aligned with frame A. For
/// video style transfer (Ruder et al. 2016): to start frame `t + 1` from
/// the stylised frame `t`, compute the flow from frame `t + 1` to frame `t`
/// and warp the stylised frame `t` with it.
pub fn warp_bilinear(image: &[f32], channels: usize, flow: &Flow) -> Result<Vec<f32>, FlowError> {
    flow.check()?;
    check_len(image.len(), flow.width, flow.height, channels)?;
    let (w, h) = (flow.width, flow.height);
    let mut out = vec![0.0f32; image.len()];
    if w == 0 || h == 0 {
        return Ok(out);
    }
    out.par_chunks_mut(w).enumerate().for_each(|(row, o)| {
        let (c, y) = (row / h, row % h);
        let plane = &image[c * w * h..][..w * h];
        for (x, o) in o.iter_mut().enumerate() {
            let q = y * w + x;
            *o = sample_clamped(plane, w, h, x as f32 + flow.u[q], y as f32 + flow.v[q]);
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_flow_is_a_shift() {
        let (w, h) = (6, 5);
        let img: Vec<f32> = (0..2 * w * h).map(|i| (i * 7 % 13) as f32).collect();
        let mut flow = Flow::zeros(w, h);
        flow.u.fill(2.0);
        flow.v.fill(-1.0);
        let out = warp_bilinear(&img, 2, &flow).unwrap();
        for c in 0..2 {
            for y in 1..h {
                for x in 0..w - 2 {
                    let got = out[c * w * h + y * w + x];
                    let want = img[c * w * h + (y - 1) * w + x + 2];
                    assert_eq!(got, want, "c {c} x {x} y {y}");
                }
            }
        }
    }

    #[test]
    fn half_pixel_flow_averages() {
        let img = [0.0, 10.0, 20.0, 30.0];
        let mut flow = Flow::zeros(4, 1);
        flow.u.fill(0.5);
        let out = warp_bilinear(&img, 1, &flow).unwrap();
        assert_eq!(out, vec![5.0, 15.0, 25.0, 30.0]);
    }

    #[test]
    fn wrong_sizes_are_errors() {
        let flow = Flow::zeros(3, 3);
        assert!(matches!(
            warp_bilinear(&[0.0; 26], 3, &flow),
            Err(FlowError::BufferLength {
                expected: 27,
                actual: 26
            })
        ));
        let bad = Flow {
            width: 3,
            height: 3,
            u: vec![0.0; 9],
            v: vec![0.0; 8],
        };
        assert!(warp_bilinear(&[0.0; 9], 1, &bad).is_err());
    }
}
