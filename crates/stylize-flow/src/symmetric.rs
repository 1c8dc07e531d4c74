//! A flow refined by its reverse: the mean of the two estimates of the
//! same motion.

use rayon::prelude::*;

use crate::consistency::{backward_at_target, cancel};
use crate::error::FlowError;
use crate::flow::{same_size, Flow};

/// The flow from A to B refined with the flow from B to A: at pixel `x` of
/// A, with `w = forward(x)` and `w~ = backward(x + w)` (bilinearly
/// sampled), the result is `(w - w~) / 2` where the two cancel within
/// [`consistency`](crate::consistency)'s disocclusion tolerance, and `w`
/// unchanged elsewhere (disocclusions, targets outside the frame).
///
/// `forward` and `backward` are two independent estimates of one motion
/// (DIS run in each direction), so where both are valid their errors
/// partly cancel in the mean. On the synthetic pairs of
/// `reference/flow/make_synthetic.py` (known smooth flow, mean 5 px,
/// medium preset) the end-point error drops by 8-19% (chelsea_0 0.130 to
/// 0.106 px; `reference/flow/README.md`). A painting carried along it
/// flickers less (`docs/VIDEO.md`).
///
/// # Errors
/// [`FlowError`] when a flow is inconsistent with its size or the sizes
/// differ.
pub fn symmetric_flow(forward: &Flow, backward: &Flow) -> Result<Flow, FlowError> {
    forward.check()?;
    backward.check()?;
    same_size(forward, backward)?;
    let (w, h) = (forward.width, forward.height);
    let mut u = forward.u.clone();
    let mut v = forward.v.clone();
    if w == 0 || h == 0 {
        return Flow::new(w, h, u, v);
    }
    u.par_chunks_mut(w)
        .zip(v.par_chunks_mut(w))
        .enumerate()
        .for_each(|(y, (row_u, row_v))| {
            for (x, (ou, ov)) in row_u.iter_mut().zip(row_v.iter_mut()).enumerate() {
                let (fu, fv) = (*ou, *ov);
                let Some((bu, bv)) = backward_at_target(backward, (x, y), (fu, fv)) else {
                    continue;
                };
                if cancel((fu, fv), (bu, bv)) {
                    *ou = 0.5 * (fu - bu);
                    *ov = 0.5 * (fv - bv);
                }
            }
        });
    Flow::new(w, h, u, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` pseudo-random values in [-amplitude, amplitude] (an LCG).
    fn noise(n: usize, seed: u64, amplitude: f32) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                amplitude * (2.0 * (state >> 40) as f32 / (1u64 << 24) as f32 - 1.0)
            })
            .collect()
    }

    #[test]
    fn exact_inverses_come_through_unchanged() {
        // A uniform translation and its exact reverse.
        let (w, h) = (20, 12);
        let forward = Flow::new(w, h, vec![1.5; w * h], vec![-0.5; w * h]).unwrap();
        let backward = Flow::new(w, h, vec![-1.5; w * h], vec![0.5; w * h]).unwrap();
        let s = symmetric_flow(&forward, &backward).unwrap();
        for q in 0..w * h {
            assert!((s.u[q] - 1.5).abs() < 1e-6 && (s.v[q] + 0.5).abs() < 1e-6);
        }
    }

    #[test]
    fn independent_errors_partly_cancel() {
        // A true translation by (2, 1) (whole pixels, so the backward
        // flow is sampled exactly); each direction's estimate off by its
        // own random error of up to 0.3 px per component.
        let (w, h) = (40, 30);
        let n = w * h;
        let shift = |base: f32, e: Vec<f32>| e.into_iter().map(|e| base + e).collect::<Vec<_>>();
        let forward = Flow::new(
            w,
            h,
            shift(2.0, noise(n, 1, 0.3)),
            shift(1.0, noise(n, 2, 0.3)),
        )
        .unwrap();
        let backward = Flow::new(
            w,
            h,
            shift(-2.0, noise(n, 3, 0.3)),
            shift(-1.0, noise(n, 4, 0.3)),
        )
        .unwrap();
        let truth = Flow::new(w, h, vec![2.0; w * h], vec![1.0; w * h]).unwrap();
        let s = symmetric_flow(&forward, &backward).unwrap();
        let (e_one, e_sym) = (forward.epe(&truth).unwrap(), s.epe(&truth).unwrap());
        assert!(e_sym < 0.8 * e_one, "symmetric {e_sym}, one way {e_one}");
    }

    #[test]
    fn disocclusions_and_targets_outside_keep_the_forward_flow() {
        let (w, h) = (16, 8);
        let mut forward = Flow::new(w, h, vec![3.0; w * h], vec![0.0; w * h]).unwrap();
        // The backward flow does not come back at all at (4, 4)'s target.
        let mut backward = Flow::new(w, h, vec![-2.9; w * h], vec![0.0; w * h]).unwrap();
        backward.u[4 * w + 7] = 5.0;
        forward.u[4 * w + 4] = 3.0;
        let s = symmetric_flow(&forward, &backward).unwrap();
        assert_eq!(s.u[4 * w + 4], 3.0, "disoccluded");
        // (14, 2) + 3 leaves the frame.
        assert_eq!(s.u[2 * w + 14], 3.0, "outside");
        // Elsewhere the mean of 3 and 2.9.
        assert!((s.u[2 * w + 2] - 2.95).abs() < 1e-6, "{}", s.u[2 * w + 2]);
    }

    #[test]
    fn sizes_must_agree() {
        let a = Flow::zeros(4, 4);
        let b = Flow::zeros(5, 4);
        assert!(symmetric_flow(&a, &b).is_err());
    }
}
